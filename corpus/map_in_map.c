/* Map in map: an array of maps whose slots hold per-tenant hash maps of
 * allowed destination ports. Two lookups, each null-checked: the outer one
 * yields a map pointer (CONST_PTR_TO_MAP) usable as the inner lookup's map. */
#include "bpfvet_corpus.h"

struct allowed_ports {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, u16);
    __type(value, u8);
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 8);
    __type(key, u32);
    __array(values, struct allowed_ports);
} tenants SEC(".maps");

SEC("xdp")
int xdp_tenant_ports(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct tcphdr *tcp = (void *)(ip + 1);

    if ((void *)(tcp + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_TCP)
        return XDP_PASS;

    u32 tenant = ctx->rx_queue_index & 7; /* one tenant per queue */
    void *ports = bpf_map_lookup_elem(&tenants, &tenant);
    if (!ports)
        return XDP_PASS; /* no policy for this tenant */
    u16 port = bpf_ntohs(tcp->dest);
    u8 *allowed = bpf_map_lookup_elem(ports, &port);
    return allowed && *allowed ? XDP_PASS : XDP_DROP;
}

LICENSE_GPL;
