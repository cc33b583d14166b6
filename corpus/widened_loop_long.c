/* A loop of 60,000 iterations (unrolling disabled) summing the slots of a map
 * value through a masked index. The kernel walks every iteration (about
 * 420,000 instructions, under its 1M limit); bpfvet analyses 64 passes one by
 * one, then widens the counter to [64, 60000] at the loop head and proves
 * termination from it: the counter grows by 1 and is bounded by the exit test. */
#include "bpfvet_corpus.h"

#define ITERATIONS 60000

struct table {
    u64 slot[64];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct table);
} long_loop_table SEC(".maps");

SEC("xdp")
int xdp_long_loop(struct xdp_md *ctx)
{
    u32 key = 0;
    struct table *table = bpf_map_lookup_elem(&long_loop_table, &key);
    if (!table)
        return XDP_ABORTED;
    u64 sum = 0;
#pragma clang loop unroll(disable)
    for (u32 i = 0; i < ITERATIONS; i++)
        sum += table->slot[i & 63];
    return sum & 1 ? XDP_PASS : XDP_DROP;
}

LICENSE_GPL;
