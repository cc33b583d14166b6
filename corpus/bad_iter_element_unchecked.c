/* Reject (null-dereference): the element bpf_iter_num_next returns is read
 * without checking it against NULL (the end of the iteration). */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_iter_unchecked(struct xdp_md *ctx)
{
    struct bpf_iter_num it;
    u32 sum = 0;

    bpf_iter_num_new(&it, 0, 4);
    sum += *bpf_iter_num_next(&it);
    bpf_iter_num_destroy(&it);
    return sum & 1 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
