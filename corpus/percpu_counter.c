/* Per-CPU array counter: packets and bytes per IP protocol family, in a
 * BPF_MAP_TYPE_PERCPU_ARRAY so each CPU updates its own copy without atomics. */
#include "bpfvet_corpus.h"

struct traffic {
    u64 packets;
    u64 bytes;
};

enum { FAMILY_OTHER, FAMILY_IPV4, FAMILY_IPV6, FAMILY_SLOTS };

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FAMILY_SLOTS);
    __type(key, u32);
    __type(value, struct traffic);
} traffic_by_family SEC(".maps");

SEC("xdp")
int xdp_count_families(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ethhdr *eth = data;
    u32 family = FAMILY_OTHER;

    if ((void *)(eth + 1) <= data_end) {
        if (eth->h_proto == bpf_htons(ETH_P_IP))
            family = FAMILY_IPV4;
        else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
            family = FAMILY_IPV6;
    }
    struct traffic *counters = bpf_map_lookup_elem(&traffic_by_family, &family);
    if (!counters)
        return XDP_ABORTED;
    counters->packets += 1;
    counters->bytes += data_end - data;
    return XDP_PASS;
}

LICENSE_GPL;
