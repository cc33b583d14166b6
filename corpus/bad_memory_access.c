/* Reject (memory-access): dereferences a number as if it were a pointer.
 * The value is a scalar (a random number); no memory region is known for it.
 * Kernel: "R0 invalid mem access 'scalar'". */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_scalar_dereference(struct xdp_md *ctx)
{
    u64 address = bpf_get_prandom_u32();
    return *(u32 *)address == 0 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
