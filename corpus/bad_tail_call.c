/* Reject (tail-call): bpf_tail_call needs a BPF_MAP_TYPE_PROG_ARRAY; this
 * passes a plain array. Kernel: "cannot pass map_type 2 into func
 * bpf_tail_call#12". */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, u32);
} not_programs SEC(".maps");

SEC("xdp")
int xdp_tail_call_wrong_map(struct xdp_md *ctx)
{
    bpf_tail_call(ctx, &not_programs, 0);
    return XDP_PASS;
}

LICENSE_GPL;
