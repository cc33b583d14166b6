/* Relation: a packet range learned on one register holds for its copy.
 *
 * The bounds check is made on r3 (data + 14 vs data_end), but the Ethernet
 * header is read through r2, an earlier copy of the same packet pointer.
 * The kernel gives both registers the same id when r3 = r2 is executed, and
 * find_good_pkt_pointers widens the range of every register with that id.
 * Written in BPF assembly because clang would read through r3 itself.
 *
 * C equivalent:
 *     void *copy = data;
 *     if (data + 14 > data_end) return XDP_DROP;
 *     return ((struct ethhdr *)copy)->h_proto == htons(ETH_P_IP) ? XDP_PASS : XDP_DROP; */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_packet_range_copy(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"   /* data */
        "r4 = *(u32 *)(r1 + 4);\n"   /* data_end */
        "r3 = r2;\n"                 /* the copy shares r2's identity */
        "r3 += 14;\n"
        "r0 = 1;\n"                  /* XDP_DROP */
        "if r3 > r4 goto 1f;\n"
        "r5 = *(u16 *)(r2 + 12);\n"  /* safe: r2 + 14 <= data_end, learned on r3 */
        "if r5 != 8 goto 1f;\n"      /* h_proto == htons(ETH_P_IP) */
        "r0 = 2;\n"                  /* XDP_PASS */
        "1:\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
