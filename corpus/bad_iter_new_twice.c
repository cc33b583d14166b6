/* Reject (kfunc-argument): a second bpf_iter_num_new on the same iterator,
 * before it was destroyed (the first would leak). */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_iter_new_twice(struct xdp_md *ctx)
{
    struct bpf_iter_num it;
    u32 sum = 0;
    int *v;

    bpf_iter_num_new(&it, 0, 4);
    bpf_iter_num_new(&it, 0, 8);
    while ((v = bpf_iter_num_next(&it)))
        sum += *v;
    bpf_iter_num_destroy(&it);
    return sum & 1 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
