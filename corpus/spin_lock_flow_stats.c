/* Per-protocol traffic counters shared by every CPU: each map value holds a
 * struct bpf_spin_lock that guards its two counters, so packets and bytes
 * always move together. The tc program takes the lock through the value
 * bpf_map_lookup_elem returned, updates both fields and releases it before
 * anything else (no helper call while it is held). */
#include "bpfvet_corpus.h"
#include <linux/pkt_cls.h>

static void (*bpf_spin_lock)(struct bpf_spin_lock *lock) = (void *)93;
static void (*bpf_spin_unlock)(struct bpf_spin_lock *lock) = (void *)94;

struct flow_stats {
    u64 packets;
    struct bpf_spin_lock lock;
    u32 largest;
    u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, u32);
    __type(value, struct flow_stats);
} stats_by_protocol SEC(".maps");

SEC("tc")
int count_flow(struct __sk_buff *skb)
{
    u32 protocol = skb->protocol;
    struct flow_stats *stats = bpf_map_lookup_elem(&stats_by_protocol, &protocol);
    if (!stats) {
        struct flow_stats fresh = {};
        bpf_map_update_elem(&stats_by_protocol, &protocol, &fresh, BPF_NOEXIST);
        return TC_ACT_OK;
    }
    u32 length = skb->len;
    bpf_spin_lock(&stats->lock);
    stats->packets += 1;
    stats->bytes += length;
    if (length > stats->largest)
        stats->largest = length;
    bpf_spin_unlock(&stats->lock);
    return TC_ACT_OK;
}

LICENSE_GPL;
