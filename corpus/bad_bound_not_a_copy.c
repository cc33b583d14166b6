/* Reject (map-value-out-of-bounds): the control for relation_bound_copy.c.
 * The index byte is loaded twice; the two registers hold equal values at run
 * time but are not copies of each other, so the bound learned on r8 says
 * nothing about r9. An analyzer that relates registers by value equality it
 * cannot prove would wrongly accept this.
 * Kernel: "invalid access to map value, value_size=64 off=2040 size=8". */
#include "bpfvet_corpus.h"

struct slots {
    u64 value[8];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct slots);
} slot_table SEC(".maps");

SEC("xdp")
__naked int xdp_bound_not_a_copy(struct xdp_md *ctx)
{
    asm volatile(
        "r6 = *(u32 *)(r1 + 0);\n"
        "r7 = *(u32 *)(r1 + 4);\n"
        "r1 = r6;\n"
        "r1 += 15;\n"
        "if r1 > r7 goto 1f;\n"
        "r8 = *(u8 *)(r6 + 14);\n"
        "r9 = *(u8 *)(r6 + 14);\n"     /* same byte, but a separate load */
        "if r8 > 7 goto 1f;\n"         /* bounds r8 only */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[slot_table] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 1f;\n"
        "r9 <<= 3;\n"                  /* r9 is still 0..255 */
        "r0 += r9;\n"
        "r1 = *(u64 *)(r0 + 0);\n"
        "1:\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(slot_table), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
