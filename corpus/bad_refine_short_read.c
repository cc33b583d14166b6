/* Reject (packet-out-of-bounds), with a counterexample: the flag of
 * refine_flag_packet_bound.c records that 4 bytes are present, but the read
 * it guards takes 8. Z3 finds a packet of 4 to 7 bytes; the checked
 * interpreter faults on the 8-byte read.
 *
 * C equivalent:
 *     int have_word = data + 4 <= data_end;
 *     if (have_word && *(u64 *)data == 0) return XDP_DROP; */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_short_read(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r5 = 0;\n"
        "r4 = r2;\n"
        "r4 += 4;\n"
        "if r4 > r3 goto 1f;\n"
        "r5 = 1;\n"
        "1:\n"
        "r0 = 2;\n"
        "if r5 == 0 goto 2f;\n"
        "r4 = *(u64 *)(r2 + 0);\n"   /* 8 bytes, only 4 checked */
        "if r4 != 0 goto 2f;\n"
        "r0 = 1;\n"
        "2:\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
