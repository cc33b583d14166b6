/* Tail calls through a program array: the dispatcher jumps to a per-protocol
 * handler by index; if the slot is empty bpf_tail_call returns and the
 * dispatcher falls back to XDP_PASS. The handlers are XDP programs of the
 * same object (a loader fills the array with their fds). */
#include "bpfvet_corpus.h"

enum { HANDLER_IPV4, HANDLER_IPV6, HANDLER_SLOTS };

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, HANDLER_SLOTS);
    __type(key, u32);
    __type(value, u32);
} handlers SEC(".maps");

SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    if (eth->h_proto == bpf_htons(ETH_P_IP))
        bpf_tail_call(ctx, &handlers, HANDLER_IPV4);
    else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
        bpf_tail_call(ctx, &handlers, HANDLER_IPV6);
    return XDP_PASS; /* empty slot, or not IP */
}

SEC("xdp")
int xdp_handle_ipv4(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct iphdr *ip = data + sizeof(struct ethhdr);
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    return ip->ttl <= 1 ? XDP_DROP : XDP_PASS; /* would expire in transit */
}

SEC("xdp")
int xdp_handle_ipv6(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
    if ((void *)(ip6 + 1) > data_end)
        return XDP_DROP;
    return ip6->hop_limit <= 1 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
