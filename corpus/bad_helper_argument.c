/* Reject (helper-argument): bpf_map_lookup_elem's first argument must be a
 * map pointer (ARG_CONST_MAP_PTR); this passes the context instead.
 * Kernel: "R1 type=ctx expected=map_ptr". */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_helper_argument(struct xdp_md *ctx)
{
    u32 key = 0;
    void *value = bpf_map_lookup_elem((void *)ctx, &key);
    return value ? XDP_PASS : XDP_DROP;
}

LICENSE_GPL;
