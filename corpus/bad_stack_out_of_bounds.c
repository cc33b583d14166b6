/* Reject (stack-out-of-bounds): a store 520 bytes below the frame pointer,
 * past the 512-byte stack. Kernel: "invalid write to stack R10 off=-520 size=8". */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_stack_out_of_bounds(struct xdp_md *ctx)
{
    asm volatile(
        "r0 = 0;\n"
        "*(u64 *)(r10 - 520) = r0;\n"
        "r0 = 2;\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
