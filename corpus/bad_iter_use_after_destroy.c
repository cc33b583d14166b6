/* Reject (kfunc-argument): the iterator is advanced once more after it was
 * destroyed: its stack slots no longer hold an iterator. */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_iter_after_destroy(struct xdp_md *ctx)
{
    struct bpf_iter_num it;
    int *v;

    bpf_iter_num_new(&it, 0, 4);
    bpf_iter_num_destroy(&it);
    v = bpf_iter_num_next(&it);
    return v ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
