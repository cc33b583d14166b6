/* Reject (map-value-out-of-bounds): the value has 4 slots of 8 bytes, but
 * the index comes from the packet and is only checked against 8, so offsets
 * up to 56 + 8 are possible. Kernel: "invalid access to map value,
 * value_size=32 off=... size=8" (or "R0 unbounded memory access"). */
#include "bpfvet_corpus.h"

struct four_slots {
    u64 slot[4];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct four_slots);
} table SEC(".maps");

SEC("xdp")
int xdp_map_value_out_of_bounds(struct xdp_md *ctx)
{
    unsigned char *data = PACKET_START(ctx);
    unsigned char *data_end = PACKET_END(ctx);
    if (data + 1 > data_end)
        return XDP_PASS;
    u32 index = data[0];
    if (index >= 8) /* wrong bound: the value has 4 slots */
        return XDP_PASS;

    u32 zero = 0;
    struct four_slots *value = bpf_map_lookup_elem(&table, &zero);
    if (!value)
        return XDP_PASS;
    value->slot[index] += 1;
    return XDP_PASS;
}

LICENSE_GPL;
