/* Safe, but the kernel rejects it, and so does the default analysis: the
 * index is compared with a length before the length itself is bounded. The
 * comparison `index < length` bounds the index by the length's bound at that
 * moment (255); bounding the length to 16 afterwards does not reach back to
 * the index, because neither the kernel nor our domains keep the relation
 * between two unknown numbers. Z3 sees both comparisons on the one path to
 * the access and proves index < 16: refinement says "safe, but the kernel
 * will reject it", and `--verdict safety` accepts it.
 *
 * C equivalent:
 *     u8 index = data[14], length = data[15];
 *     if (index >= length) return XDP_PASS;
 *     if (length > 16) return XDP_PASS;
 *     histogram->bucket[index] += 1;    // index < length <= 16
 * Rewritten so that both accept it: test `length > 16` first. */
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
__naked int xdp_relational_bound(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r4 = r2;\n"
        "r4 += 16;\n"
        "if r4 > r3 goto 3f;\n"
        "r6 = *(u8 *)(r2 + 14);\n"   /* index: 0..255 */
        "r7 = *(u8 *)(r2 + 15);\n"   /* length: 0..255 */
        "if r6 >= r7 goto 3f;\n"     /* index < length: index <= 254 */
        "if r7 > 16 goto 3f;\n"      /* length <= 16, the index keeps [0, 254] */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[histogram] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 3f;\n"
        "r6 <<= 3;\n"
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
