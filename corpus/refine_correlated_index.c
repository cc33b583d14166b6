/* Needs path refinement: an array index whose bound is implied by a flag
 * set under the same condition, tested again later.
 *
 * The index (a packet byte, 0..255) is compared with 15 once; the outcome is
 * kept in r8 and the index is used after the paths have met, when an
 * interval analysis has index in [0, 255] and r8 in [0, 1]: indexing the
 * 16-slot value looks out of bounds. The kernel accepts (no join).
 *
 * C equivalent:
 *     u64 index = data[14];
 *     int in_range = index < 16;
 *     ...
 *     if (in_range) histogram->bucket[index] += 1; */
#include "bpfvet_corpus.h"

struct histogram {
    u64 bucket[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct histogram);
} histogram SEC(".maps");

SEC("xdp")
__naked int xdp_correlated_index(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r4 = r2;\n"
        "r4 += 15;\n"
        "if r4 > r3 goto 3f;\n"
        "r6 = *(u8 *)(r2 + 14);\n"   /* index: 0..255 */
        "r8 = 0;\n"                  /* in_range */
        "if r6 > 15 goto 1f;\n"
        "r8 = 1;\n"
        "1:\n"                       /* the paths meet here */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[histogram] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 3f;\n"
        "if r8 == 0 goto 3f;\n"
        "r6 <<= 3;\n"                /* 0..120 only because in_range == 1 */
        "r0 += r6;\n"
        "r1 = *(u64 *)(r0 + 0);\n"
        "r1 += 1;\n"
        "*(u64 *)(r0 + 0) = r1;\n"
        "3:\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(histogram), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
