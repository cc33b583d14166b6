/* Reject (map-value-out-of-bounds), with a counterexample: the correlated
 * index of refine_correlated_index.c, but the flag is set for index <= 16,
 * one past the 16 slots. Z3 finds the input (packet byte 14 = 16) and the
 * checked interpreter faults on the read of slot 16 (offset 128).
 *
 * C equivalent:
 *     u64 index = data[14];
 *     int in_range = index <= 16;          // off by one
 *     if (in_range) histogram->bucket[index] += 1; */
#include "bpfvet_corpus.h"

struct histogram16 {
    u64 bucket[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct histogram16);
} off_by_one SEC(".maps");

SEC("xdp")
__naked int xdp_index_off_by_one(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r4 = r2;\n"
        "r4 += 15;\n"
        "if r4 > r3 goto 3f;\n"
        "r6 = *(u8 *)(r2 + 14);\n"
        "r8 = 0;\n"
        "if r6 > 16 goto 1f;\n"      /* wrong bound: 16 slots are 0..15 */
        "r8 = 1;\n"
        "1:\n"
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[off_by_one] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 3f;\n"
        "if r8 == 0 goto 3f;\n"
        "r6 <<= 3;\n"
        "r0 += r6;\n"
        "r1 = *(u64 *)(r0 + 0);\n"   /* faults for index 16 */
        "r1 += 1;\n"
        "*(u64 *)(r0 + 0) = r1;\n"
        "3:\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(off_by_one), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
