/* Reject (packet-out-of-bounds): the check covers the 14-byte Ethernet header
 * but the program reads the IPv4 protocol byte at offset 23 (off by the IP
 * header). Kernel: "invalid access to packet, off=23 size=1, R1(id=0,off=23,r=14)". */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_packet_out_of_bounds(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    struct iphdr *ip = (void *)(eth + 1);
    /* Missing: if ((void *)(ip + 1) > data_end) return XDP_DROP; */
    return ip->protocol == IPPROTO_TCP ? XDP_PASS : XDP_DROP;
}

LICENSE_GPL;
