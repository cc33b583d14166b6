/* Reject (read-only-write): writes a .rodata global. The loader creates the
 * section's map with BPF_F_RDONLY_PROG and freezes it, so the program may
 * only read it. Kernel: "write into map forbidden, value_size=4 off=0 size=4". */
#include "bpfvet_corpus.h"

const volatile u32 sample_rate = 100; /* .rodata */

SEC("xdp")
int xdp_write_rodata(struct xdp_md *ctx)
{
    *(volatile u32 *)&sample_rate = 1; /* casting away const does not make it writable */
    return XDP_PASS;
}

LICENSE_GPL;
