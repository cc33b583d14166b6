/* Reject (unreachable-instruction): two instructions after the exit that no
 * jump reaches. Kernel: "unreachable insn 2". */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_unreachable_instruction(struct xdp_md *ctx)
{
    asm volatile(
        "r0 = 2;\n"
        "exit;\n"
        "r0 = 1;\n"   /* dead code */
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
