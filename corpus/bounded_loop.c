/* A bounded loop that stays a loop in the bytecode: it scans at most the first
 * 64 bytes of the packet, checking each byte against data_end, and drops
 * frames that begin with 64 zero bytes (or are all zeros when shorter).
 * Unrolling is disabled, so the verifier (kernel >= 5.3) has to handle a back
 * edge whose trip count is bounded by `i < 64`. */
#include "bpfvet_corpus.h"

#define SCAN_LIMIT 64

SEC("xdp")
int xdp_zero_frame_filter(struct xdp_md *ctx)
{
    unsigned char *data = PACKET_START(ctx);
    unsigned char *data_end = PACKET_END(ctx);
    u32 nonzero = 0;

#pragma clang loop unroll(disable)
    for (u32 i = 0; i < SCAN_LIMIT; i++) {
        if (data + i + 1 > data_end)
            break;
        nonzero |= data[i];
    }
    return nonzero ? XDP_PASS : XDP_DROP;
}

LICENSE_GPL;
