/* A rate limiter whose window is reset by a timer: the map value holds the
 * packet count of the current window and a struct bpf_timer. The first
 * packet arms the timer (bpf_timer_init on the map that holds it,
 * set_callback, start); every 100 ms the callback, handed (map, key, value),
 * zeroes the count and re-arms itself. It must return 0. */
#include "bpfvet_corpus.h"

static long (*bpf_timer_init)(struct bpf_timer *timer, void *map, u64 flags) = (void *)169;
static long (*bpf_timer_set_callback)(struct bpf_timer *timer, void *callback) = (void *)170;
static long (*bpf_timer_start)(struct bpf_timer *timer, u64 nsecs, u64 flags) = (void *)171;

#define CLOCK_MONOTONIC 1
#define WINDOW_NS 100000000ull
#define PACKETS_PER_WINDOW 10000

struct window {
    u64 packets;
    struct bpf_timer reset;
    u32 armed;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct window);
} rate_window SEC(".maps");

static int reset_window(void *map, u32 *key, struct window *window)
{
    window->packets = 0;
    bpf_timer_start(&window->reset, WINDOW_NS, 0);
    return 0;
}

SEC("xdp")
int rate_limit(struct xdp_md *ctx)
{
    u32 zero = 0;
    struct window *window = bpf_map_lookup_elem(&rate_window, &zero);
    if (!window)
        return XDP_PASS;
    if (!window->armed) {
        window->armed = 1;
        bpf_timer_init(&window->reset, &rate_window, CLOCK_MONOTONIC);
        bpf_timer_set_callback(&window->reset, reset_window);
        bpf_timer_start(&window->reset, WINDOW_NS, 0);
    }
    window->packets += 1;
    return window->packets > PACKETS_PER_WINDOW ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
