/* A loop bounded by a count read from a map and clamped to 1000: the index
 * `i < count <= 1000` is proven inside the 1000-slot value by the loop test
 * itself. clang-19 walks a pointer along with i (`p += 4`), a relation that
 * widening loses: bpfvet's widened state fails its check after 64 passes and
 * the analysis goes on unrolling the 1000 iterations exactly, as the kernel
 * does. A regression test for that fallback. */
#include "bpfvet_corpus.h"

#define SLOTS 1000

struct settings {
    u32 count;
};

struct samples {
    u32 value[SLOTS];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct settings);
} loop_settings SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct samples);
} loop_samples SEC(".maps");

SEC("xdp")
int xdp_sum_configured(struct xdp_md *ctx)
{
    u32 key = 0;
    struct settings *settings = bpf_map_lookup_elem(&loop_settings, &key);
    struct samples *samples = bpf_map_lookup_elem(&loop_samples, &key);
    if (!settings || !samples)
        return XDP_ABORTED;
    u32 count = settings->count;
    if (count > SLOTS)
        count = SLOTS;
    u64 sum = 0;
#pragma clang loop unroll(disable)
    for (u32 i = 0; i < count; i++)
        sum += samples->value[i];
    return sum > 100 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
