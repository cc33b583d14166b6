/* Reject: the element of an iterator indexes a 16-entry stack array without
 * a range check (bpf_for's own check is what a correct program relies on):
 * the element may be any number the iterator was given. */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_iter_unbounded(struct xdp_md *ctx)
{
    struct bpf_iter_num it;
    u32 counts[16];
    int *v;

    __builtin_memset(counts, 0, sizeof(counts));
    bpf_iter_num_new(&it, 0, 16);
    while ((v = bpf_iter_num_next(&it)))
        counts[*v] += 1;
    bpf_iter_num_destroy(&it);
    return counts[3] ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
