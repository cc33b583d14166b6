/* Reject (stack-depth): each frame fits in 512 bytes, but the chain
 * main -> fill_outer -> fill_inner uses 3 x ~256 bytes together. Kernel:
 * "combined stack size of 3 calls is ... Too large". */
#include "bpfvet_corpus.h"

static __noinline int fill_inner(unsigned char seed)
{
    volatile unsigned char buffer[256];
    for (int i = 0; i < 256; i += 64)
        buffer[i] = seed;
    return buffer[seed & 0xc0];
}

static __noinline int fill_outer(unsigned char seed)
{
    volatile unsigned char buffer[256];
    for (int i = 0; i < 256; i += 64)
        buffer[i] = seed + 1;
    return buffer[seed & 0xc0] + fill_inner(seed);
}

SEC("xdp")
int xdp_stack_depth(struct xdp_md *ctx)
{
    volatile unsigned char buffer[256];
    unsigned char seed = ctx->rx_queue_index;
    for (int i = 0; i < 256; i += 64)
        buffer[i] = seed;
    return (buffer[seed & 0xc0] + fill_outer(seed)) ? XDP_PASS : XDP_DROP;
}

LICENSE_GPL;
