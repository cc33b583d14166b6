/* Reject (unbounded-loop): the same loop as widened_loop_map_bound.c without
 * the clamp: the count read from the map may be anything up to 2^32 - 1, so
 * nothing bounds the iterations within the kernel's budget. The kernel walks
 * iterations until it gives up: "BPF program is too large". */
#include "bpfvet_corpus.h"

struct settings {
    u32 count;
};

struct samples {
    u32 value[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct settings);
} unbounded_settings SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct samples);
} unbounded_samples SEC(".maps");

SEC("xdp")
int xdp_sum_unbounded(struct xdp_md *ctx)
{
    u32 key = 0;
    struct settings *settings = bpf_map_lookup_elem(&unbounded_settings, &key);
    struct samples *samples = bpf_map_lookup_elem(&unbounded_samples, &key);
    if (!settings || !samples)
        return XDP_ABORTED;
    u32 count = settings->count;
    u64 sum = 0;
    /* A body of some 30 instructions: the kernel reaches its 1M limit after
     * about 30,000 iterations rather than 100,000 (and gives up sooner). */
#pragma clang loop unroll(disable)
    for (u32 i = 0; i < count; i++) {
        sum += samples->value[i & 15];
        sum ^= samples->value[(i + 3) & 15] << 1;
        sum += samples->value[(i + 7) & 15] >> 2;
        sum ^= samples->value[(i + 11) & 15] * 3;
    }
    return sum > 100 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
