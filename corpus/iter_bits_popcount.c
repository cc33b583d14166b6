/* Counts the set bits of the frame's first 8 bytes with bpf_for_each(bits):
 * an open-coded iterator over a u64 bitmap copied from the stack by
 * bpf_iter_bits_new. Frames with 4 or more bits set there are dropped.
 * The count stops at 4: a count compared after the loop without a bound
 * would need an exact value per iteration, and the kernel's exploration
 * would not converge (it refuses such a loop as too large). */
#include "bpfvet_corpus.h"

SEC("xdp")
int xdp_bits_popcount(struct xdp_md *ctx)
{
    unsigned char *data = PACKET_START(ctx);
    unsigned char *data_end = PACKET_END(ctx);
    u64 mask;
    int *bit;
    u32 count = 0;

    if (data + sizeof(mask) > data_end)
        return XDP_PASS;
    __builtin_memcpy(&mask, data, sizeof(mask));
    bpf_for_each(bits, bit, &mask, 1) {
        if (++count >= 4)
            break;
    }
    return count >= 4 ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
