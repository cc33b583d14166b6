/* Needs path refinement: a packet read guarded by a flag that records an
 * earlier bounds check (the pattern of ebpf-samples' dependent_read.o).
 *
 * After the two paths of the check meet, a plain interval analysis knows
 * only "flag in [0, 1]" and "packet range 0 or 4, so 0": it rejects the
 * read. The kernel walks each path separately and accepts; so does an
 * analyzer that refines the join with the correlation flag == 1 <=> range 4.
 *
 * C equivalent (clang -O2 would merge the two tests, hence the assembly):
 *     int have_word = 0;
 *     if (data + 4 <= data_end) have_word = 1;
 *     if (have_word && *(u32 *)data == 0xffffffff) return XDP_DROP;
 *     return XDP_PASS; */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_flag_packet_bound(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"   /* data */
        "r3 = *(u32 *)(r1 + 4);\n"   /* data_end */
        "r5 = 0;\n"                  /* have_word */
        "r4 = r2;\n"
        "r4 += 4;\n"
        "if r4 > r3 goto 1f;\n"
        "r5 = 1;\n"
        "1:\n"                       /* the paths meet here */
        "r0 = 2;\n"                  /* XDP_PASS */
        "if r5 == 0 goto 2f;\n"
        "r4 = *(u32 *)(r2 + 0);\n"   /* safe only because have_word == 1 */
        "if w4 != -1 goto 2f;\n"   /* 32-bit compare: the load zero-extends */
        "r0 = 1;\n"                  /* XDP_DROP */
        "2:\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
