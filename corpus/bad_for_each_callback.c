/* for_each_port_totals.c's callback written two wrong ways: one returns the
 * port number as a verdict (the kernel wants 0 to go on, 1 to stop), the
 * other clears the key it was handed, which the kernel keeps read-only. */
#include "bpfvet_corpus.h"
#include <linux/pkt_cls.h>

static long (*bpf_for_each_map_elem)(void *map, void *callback, void *ctx, u64 flags) = (void *)164;

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, u32);
    __type(value, u64);
} port_packets SEC(".maps");

struct totals {
    u64 packets;
};

static long add_port_bad_return(void *map, u32 *port, u64 *packets, struct totals *totals)
{
    totals->packets += *packets;
    return *port; /* anything up to 63, not 0 or 1 */
}

SEC("tc")
int callback_return_out_of_range(struct __sk_buff *skb)
{
    struct totals totals = {};
    bpf_for_each_map_elem(&port_packets, add_port_bad_return, &totals, 0);
    return totals.packets ? TC_ACT_SHOT : TC_ACT_OK;
}

static long add_port_clear_key(void *map, u32 *port, u64 *packets, struct totals *totals)
{
    totals->packets += *packets;
    *port = 0;
    return 0;
}

SEC("tc")
int callback_writes_key(struct __sk_buff *skb)
{
    struct totals totals = {};
    bpf_for_each_map_elem(&port_packets, add_port_clear_key, &totals, 0);
    return totals.packets ? TC_ACT_SHOT : TC_ACT_OK;
}

LICENSE_GPL;
