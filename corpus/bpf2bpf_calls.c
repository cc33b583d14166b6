/* BPF-to-BPF calls: the parser is split into static noinline functions that
 * take packet pointers and write through a pointer into the caller's stack,
 * so each call is a real `call` (src = 1) with its own frame.
 * Counts TCP SYNs by dropping those to port 8080 (a toy SYN-flood guard). */
#include "bpfvet_corpus.h"

#define GUARDED_PORT 8080

/* Returns the offset of the IPv4 header, or -1; stores the protocol. */
static __noinline int parse_ethernet(void *data, void *data_end, u16 *ether_type)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return -1;
    *ether_type = bpf_ntohs(eth->h_proto);
    return sizeof(*eth);
}

/* Returns 1 when `tcp` is a SYN (without ACK) to the guarded port. */
static __noinline int is_guarded_syn(struct tcphdr *tcp, void *data_end)
{
    if ((void *)(tcp + 1) > data_end)
        return 0;
    return tcp->syn && !tcp->ack && tcp->dest == bpf_htons(GUARDED_PORT);
}

static __noinline int classify_ipv4(struct iphdr *ip, void *data_end)
{
    if ((void *)(ip + 1) > data_end)
        return XDP_PASS;
    if (ip->protocol != IPPROTO_TCP || ip->ihl != 5)
        return XDP_PASS;
    return is_guarded_syn((void *)(ip + 1), data_end) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_syn_guard(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    u16 ether_type = 0;

    int offset = parse_ethernet(data, data_end, &ether_type);
    if (offset < 0)
        return XDP_DROP;
    if (ether_type != ETH_P_IP)
        return XDP_PASS;
    return classify_ipv4(data + sizeof(struct ethhdr), data_end);
}

LICENSE_GPL;
