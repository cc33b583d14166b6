/* timer_rate_reset.c's timer set up three wrong ways: initialised with a map
 * that does not hold it, started through a pointer 8 bytes past the struct
 * bpf_timer, and given a callback that returns 1 (timer callbacks return 0). */
#include "bpfvet_corpus.h"

static long (*bpf_timer_init)(struct bpf_timer *timer, void *map, u64 flags) = (void *)169;
static long (*bpf_timer_set_callback)(struct bpf_timer *timer, void *callback) = (void *)170;
static long (*bpf_timer_start)(struct bpf_timer *timer, u64 nsecs, u64 flags) = (void *)171;

#define CLOCK_MONOTONIC 1

struct window {
    u64 packets;
    struct bpf_timer reset;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct window);
} rate_window SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct window);
} other_window SEC(".maps");

SEC("xdp")
int init_with_other_map(struct xdp_md *ctx)
{
    u32 zero = 0;
    struct window *window = bpf_map_lookup_elem(&rate_window, &zero);
    if (!window)
        return XDP_PASS;
    bpf_timer_init(&window->reset, &other_window, CLOCK_MONOTONIC);
    return XDP_PASS;
}

SEC("xdp")
int timer_at_wrong_offset(struct xdp_md *ctx)
{
    u32 zero = 0;
    struct window *window = bpf_map_lookup_elem(&rate_window, &zero);
    if (!window)
        return XDP_PASS;
    bpf_timer_start((struct bpf_timer *)((char *)&window->reset + 8), 1000, 0);
    return XDP_PASS;
}

static int reset_returns_one(void *map, u32 *key, struct window *window)
{
    window->packets = 0;
    return 1;
}

SEC("xdp")
int callback_returns_one(struct xdp_md *ctx)
{
    u32 zero = 0;
    struct window *window = bpf_map_lookup_elem(&rate_window, &zero);
    if (!window)
        return XDP_PASS;
    bpf_timer_init(&window->reset, &rate_window, CLOCK_MONOTONIC);
    bpf_timer_set_callback(&window->reset, reset_returns_one);
    return XDP_PASS;
}

LICENSE_GPL;
