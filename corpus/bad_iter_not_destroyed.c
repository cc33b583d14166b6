/* Reject (unreleased-reference): the iterator is created and advanced, but
 * never destroyed: the program exits still holding it. */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_iter_leak(struct xdp_md *ctx)
{
    struct bpf_iter_num it;
    int *v;
    u32 sum = 0;

    bpf_iter_num_new(&it, 0, 4);
    while ((v = bpf_iter_num_next(&it)))
        sum += *v;
    return sum & 1 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
