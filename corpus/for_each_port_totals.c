/* A periodic summary over a port table: bpf_for_each_map_elem walks every
 * element of the array and the callback adds each port's counter into a
 * context struct on the caller's stack, stopping early once the sum passes a
 * limit (return 1). The callback gets (map, key, value, ctx) as the kernel
 * passes them; the key is read-only, the value writable. */
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
    u32 busiest_port;
    u32 visited;
};

static long add_port(void *map, u32 *port, u64 *packets, struct totals *totals)
{
    totals->visited += 1;
    if (*packets > totals->packets)
        totals->busiest_port = *port;
    totals->packets += *packets;
    *packets = 0; /* the summary drains the counter */
    return totals->packets > (1ull << 40) ? 1 : 0;
}

SEC("tc")
int summarize_ports(struct __sk_buff *skb)
{
    struct totals totals = {};
    long walked = bpf_for_each_map_elem(&port_packets, add_port, &totals, 0);
    if (walked < 0)
        return TC_ACT_OK;
    skb->mark = totals.busiest_port;
    return totals.visited > 64 ? TC_ACT_SHOT : TC_ACT_OK;
}

LICENSE_GPL;
