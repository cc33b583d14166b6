/* Reject (unknown-helper): calls helper id 99999, which no kernel defines.
 * Kernel: "invalid func unknown#99999". */
#include "bpfvet_corpus.h"

static long (*bpf_no_such_helper)(void) = (void *)99999;

SEC("xdp")
int xdp_unknown_helper(struct xdp_md *ctx)
{
    return bpf_no_such_helper() ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
