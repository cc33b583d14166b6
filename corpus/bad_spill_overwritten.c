/* Reject (map-value-out-of-bounds): the control for the spill/fill case of
 * relation_bound_copy.c. The bounded index is spilled, then one byte of the
 * slot is overwritten with a packet byte before the fill, so the filled value
 * is no longer the checked one. The analyzer must forget a spilled value when
 * part of its slot is written.
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
__naked int xdp_spill_overwritten(struct xdp_md *ctx)
{
    asm volatile(
        "r6 = *(u32 *)(r1 + 0);\n"
        "r7 = *(u32 *)(r1 + 4);\n"
        "r1 = r6;\n"
        "r1 += 16;\n"
        "if r1 > r7 goto 1f;\n"
        "r8 = *(u8 *)(r6 + 14);\n"
        "if r8 > 7 goto 1f;\n"
        "*(u64 *)(r10 - 16) = r8;\n"   /* spill the bounded index (0..7) */
        "r2 = *(u8 *)(r6 + 15);\n"
        "*(u8 *)(r10 - 16) = r2;\n"    /* overwrite its low byte: 0..255 again */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[slot_table] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 1f;\n"
        "r9 = *(u64 *)(r10 - 16);\n"   /* fill: not the bounded value */
        "r9 &= 255;\n"                 /* 0..255 (0..7 had the spill survived) */
        "r9 <<= 3;\n"
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
