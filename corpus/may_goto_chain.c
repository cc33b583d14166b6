/* Follows a chain of slots in a map (next = table[next]) until it reaches 0:
 * nothing bounds the number of steps the verifier could prove, so the loop
 * carries cond_break (may_goto): the kernel's loop budget ends it. The step
 * count is only stored (a count the program branched on would need an exact
 * value per iteration, and the exploration would not converge). Frames whose
 * chain did not end (the budget ran out) are dropped. */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u32[64]);
} chain SEC(".maps");

SEC("xdp")
int xdp_follow_chain(struct xdp_md *ctx)
{
    unsigned char *data = PACKET_START(ctx);
    unsigned char *data_end = PACKET_END(ctx);
    u32 zero = 0, steps = 0, next;
    u32 *table;

    if (data + 1 > data_end)
        return XDP_PASS;
    table = bpf_map_lookup_elem(&chain, &zero);
    if (!table)
        return XDP_ABORTED;
    next = data[0] & 63;
    while (next != 0) {
        cond_break;
        next = table[next & 63];
        steps++;
    }
    table[0] = steps;
    return next != 0 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
