/* XDP packet parser: Ethernet, IPv4 (with options) or IPv6, then TCP or UDP,
 * dropping traffic to a few blocked ports and passing everything else.
 *
 * Every header read is preceded by a `data_end` check, as the verifier
 * demands; the IPv4 header length comes from the packet (ihl * 4), so the
 * transport header sits at a variable offset that must be bounded first. */
#include "bpfvet_corpus.h"

#define BLOCKED_TCP_PORT 23 /* telnet */
#define BLOCKED_UDP_PORT 19 /* chargen */

/* Returns the verdict for a transport header at `l4` of protocol `proto`. */
static __always_inline int verdict_for_ports(void *l4, void *data_end, u8 proto)
{
    if (proto == IPPROTO_TCP) {
        struct tcphdr *tcp = l4;
        if ((void *)(tcp + 1) > data_end)
            return XDP_DROP;
        return tcp->dest == bpf_htons(BLOCKED_TCP_PORT) ? XDP_DROP : XDP_PASS;
    }
    if (proto == IPPROTO_UDP) {
        struct udphdr *udp = l4;
        if ((void *)(udp + 1) > data_end)
            return XDP_DROP;
        return udp->dest == bpf_htons(BLOCKED_UDP_PORT) ? XDP_DROP : XDP_PASS;
    }
    return XDP_PASS;
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);

    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP; /* runt frame */

    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > data_end)
            return XDP_DROP;
        u32 header_length = ip->ihl * 4; /* 0..60: bounded by the 4-bit field */
        if (header_length < sizeof(*ip))
            return XDP_DROP;
        return verdict_for_ports((void *)ip + header_length, data_end, ip->protocol);
    }
    if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end)
            return XDP_DROP;
        return verdict_for_ports(ip6 + 1, data_end, ip6->nexthdr);
    }
    return XDP_PASS; /* ARP and the rest */
}

LICENSE_GPL;
