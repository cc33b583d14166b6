/* LRU hash flow table: per-5-tuple packet and byte counts for IPv4 TCP/UDP,
 * with the least recently used flows evicted when the table is full. The key
 * is assembled on the stack (padding zeroed) and passed to the map helpers. */
#include "bpfvet_corpus.h"

struct flow_key {
    u32 source_address;
    u32 destination_address;
    u16 source_port;
    u16 destination_port;
    u8 protocol;
    u8 padding[3];
};

struct flow_stats {
    u64 packets;
    u64 bytes;
    u64 last_seen_ns;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct flow_key);
    __type(value, struct flow_stats);
} flows SEC(".maps");

SEC("xdp")
int xdp_flow_table(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);

    if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
        return XDP_PASS;

    /* TCP and UDP both start with the two ports. */
    struct udphdr *ports = (void *)ip + ip->ihl * 4;
    if ((void *)(ports + 1) > data_end)
        return XDP_PASS;

    struct flow_key key = {};
    key.source_address = ip->saddr;
    key.destination_address = ip->daddr;
    key.source_port = ports->source;
    key.destination_port = ports->dest;
    key.protocol = ip->protocol;

    u64 now = bpf_ktime_get_ns();
    u64 length = data_end - data;
    struct flow_stats *stats = bpf_map_lookup_elem(&flows, &key);
    if (stats) {
        __sync_fetch_and_add(&stats->packets, 1);
        __sync_fetch_and_add(&stats->bytes, length);
        stats->last_seen_ns = now;
    } else {
        struct flow_stats fresh = {.packets = 1, .bytes = length, .last_seen_ns = now};
        bpf_map_update_elem(&flows, &key, &fresh, BPF_ANY);
    }
    return XDP_PASS;
}

LICENSE_GPL;
