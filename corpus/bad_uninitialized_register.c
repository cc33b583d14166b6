/* Reject (uninitialized-register): r2 is read before anything writes it.
 * At entry only r1 (the context) and r10 (the frame pointer) are defined.
 * Kernel: "R2 !read_ok". */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_uninitialized_register(struct xdp_md *ctx)
{
    asm volatile(
        "r0 = r2;\n"   /* r2 was never written */
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
