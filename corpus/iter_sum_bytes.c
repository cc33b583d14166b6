/* Sums the first 16 bytes of the frame with bpf_for (an open-coded iterator
 * over numbers): the verifier explores the loop body until the state at
 * bpf_iter_num_next repeats, and the element's range check in bpf_for bounds
 * the index into the stack array. Heavy frames (sum above 2040) are dropped. */
#include "bpfvet_corpus.h"

#define BYTES 16

SEC("xdp")
int xdp_iter_sum(struct xdp_md *ctx)
{
    unsigned char *data = PACKET_START(ctx);
    unsigned char *data_end = PACKET_END(ctx);
    u32 bytes[BYTES];
    u32 sum = 0;
    int i;

    if (data + BYTES > data_end)
        return XDP_PASS;
    __builtin_memset(bytes, 0, sizeof(bytes));
#pragma clang loop unroll(full)
    for (int k = 0; k < BYTES; k++)
        bytes[k] = data[k];
    bpf_for(i, 0, BYTES)
        sum += bytes[i];
    return sum > 255 * BYTES / 2 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
