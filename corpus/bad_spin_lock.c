/* The flow counters of spin_lock_flow_stats.c written three wrong ways, each
 * refused by the kernel: an early return that keeps the lock, a helper called
 * while the lock is held, and a read of the lock word itself. */
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

/* Jumbo frames leave before the unlock: the lock is still held at exit. */
SEC("tc")
int unlock_missing(struct __sk_buff *skb)
{
    u32 protocol = skb->protocol;
    struct flow_stats *stats = bpf_map_lookup_elem(&stats_by_protocol, &protocol);
    if (!stats)
        return TC_ACT_OK;
    u32 length = skb->len;
    bpf_spin_lock(&stats->lock);
    stats->packets += 1;
    if (length > 9000)
        return TC_ACT_SHOT;
    stats->bytes += length;
    bpf_spin_unlock(&stats->lock);
    return TC_ACT_OK;
}

/* The timestamp is taken inside the critical section: no calls while locked. */
SEC("tc")
int helper_while_locked(struct __sk_buff *skb)
{
    u32 protocol = skb->protocol;
    struct flow_stats *stats = bpf_map_lookup_elem(&stats_by_protocol, &protocol);
    if (!stats)
        return TC_ACT_OK;
    bpf_spin_lock(&stats->lock);
    stats->bytes = bpf_ktime_get_ns();
    bpf_spin_unlock(&stats->lock);
    return TC_ACT_OK;
}

/* "Is someone holding it?" read straight from the lock word. */
SEC("tc")
int lock_word_read(struct __sk_buff *skb)
{
    u32 protocol = skb->protocol;
    struct flow_stats *stats = bpf_map_lookup_elem(&stats_by_protocol, &protocol);
    if (!stats)
        return TC_ACT_OK;
    return *(volatile u32 *)&stats->lock ? TC_ACT_SHOT : TC_ACT_OK;
}

LICENSE_GPL;
