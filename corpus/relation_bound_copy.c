/* Relation: a bound learned on one register holds for its copies, both a
 * register copy (after a move) and a stack copy (after a spill and fill).
 *
 * A slot index is read from the packet (unknown, 0..255), copied, bounded on
 * the original (< 8), and the *copy* indexes a 64-byte map value as
 * value + index * 8. The kernel links scalars that share an id (a move, or a
 * spill of a full 64-bit register, keeps the id) and sync_linked_regs
 * propagates the bound to every register and spilled slot with that id.
 *
 * C equivalent (index_copy_move):
 *     u64 index = data[14], copy = index;
 *     if (index >= 8) return XDP_PASS;
 *     slots->value[copy] += 1; */
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
__naked int xdp_bound_copy_move(struct xdp_md *ctx)
{
    asm volatile(
        "r6 = *(u32 *)(r1 + 0);\n"     /* data */
        "r7 = *(u32 *)(r1 + 4);\n"     /* data_end */
        "r1 = r6;\n"
        "r1 += 15;\n"
        "if r1 > r7 goto 1f;\n"
        "r8 = *(u8 *)(r6 + 14);\n"     /* index: 0..255 */
        "r9 = r8;\n"                   /* the copy */
        "if r8 > 7 goto 1f;\n"         /* bound learned on the original */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[slot_table] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 1f;\n"
        "r9 <<= 3;\n"                  /* the copy is 0..7 here: offset 0..56 */
        "r0 += r9;\n"
        "r1 = *(u64 *)(r0 + 0);\n"
        "r1 += 1;\n"
        "*(u64 *)(r0 + 0) = r1;\n"
        "1:\n"
        "r0 = 2;\n"                    /* XDP_PASS */
        "exit;\n"
        :
        : __imm_addr(slot_table), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

/* The same with the copy made through the stack: spilled to r10 - 16 before
 * the check and filled back after it. */
SEC("xdp")
__naked int xdp_bound_copy_spill(struct xdp_md *ctx)
{
    asm volatile(
        "r6 = *(u32 *)(r1 + 0);\n"
        "r7 = *(u32 *)(r1 + 4);\n"
        "r1 = r6;\n"
        "r1 += 15;\n"
        "if r1 > r7 goto 1f;\n"
        "r8 = *(u8 *)(r6 + 14);\n"
        "*(u64 *)(r10 - 16) = r8;\n"   /* spill: the stack slot is the copy */
        "if r8 > 7 goto 1f;\n"         /* bound learned on the register */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[slot_table] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 1f;\n"
        "r9 = *(u64 *)(r10 - 16);\n"   /* fill: 0..7 */
        "r9 <<= 3;\n"
        "r0 += r9;\n"
        "r1 = *(u64 *)(r0 + 0);\n"
        "r1 += 1;\n"
        "*(u64 *)(r0 + 0) = r1;\n"
        "1:\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(slot_table), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
