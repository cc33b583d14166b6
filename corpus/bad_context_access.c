/* Reject (context-access): a write to xdp_md->rx_queue_index; XDP programs
 * may only read their context. Kernel: "invalid bpf_context access off=16 size=4". */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_context_write(struct xdp_md *ctx)
{
    ctx->rx_queue_index = 0; /* pretend to steer the packet to queue 0 */
    return XDP_PASS;
}

LICENSE_GPL;
