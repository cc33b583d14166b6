/* Atomic operations on a map value: fetch-and-add (whose result is used, so
 * it needs BPF_FETCH: cpu v3 or later), or, and, xor, exchange and
 * compare-and-exchange. Keeps a packet counter, a high-water mark of frame
 * sizes and a bitmap of seen EtherType classes. */
#include "bpfvet_corpus.h"

struct link_state {
    u64 packets;
    u64 largest_frame;
    u64 seen_classes; /* bit 0: IPv4, bit 1: IPv6, bit 2: other */
    u64 last_length;
    u32 generation;
    u32 flags;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct link_state);
} link SEC(".maps");

SEC("xdp")
int xdp_atomic_stats(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    u32 zero = 0;
    struct link_state *state = bpf_map_lookup_elem(&link, &zero);
    if (!state)
        return XDP_ABORTED;

    u64 length = data_end - data;
    u64 previous_count = __sync_fetch_and_add(&state->packets, 1);

    /* Raise the high-water mark with a compare-and-exchange. */
    u64 largest = state->largest_frame;
    if (length > largest)
        __sync_val_compare_and_swap(&state->largest_frame, largest, length);

    u64 class_bit = 4;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) <= data_end) {
        if (eth->h_proto == bpf_htons(ETH_P_IP))
            class_bit = 1;
        else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
            class_bit = 2;
    }
    __sync_fetch_and_or(&state->seen_classes, class_bit);
    __sync_fetch_and_xor(&state->flags, 1);          /* toggles every packet */
    __sync_fetch_and_and(&state->generation, 0xffff); /* keeps it 16-bit */
    __sync_lock_test_and_set(&state->last_length, length); /* exchange */
    if (previous_count == ~0ULL)
        return XDP_ABORTED; /* the counter wrapped: report it */
    return XDP_PASS;
}

LICENSE_GPL;
