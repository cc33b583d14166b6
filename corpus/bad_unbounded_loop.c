/* Reject (unbounded-loop): waits for a context field to change, which it
 * never will: the loop has no bound. The kernel finds the loop head in an
 * identical state twice. Kernel: "infinite loop detected at insn 1". */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_unbounded_loop(struct xdp_md *ctx)
{
    asm volatile(
        "1:\n"
        "r0 = *(u32 *)(r1 + 16);\n"   /* rx_queue_index */
        "if r0 != 7 goto 1b;\n"       /* spin until it is 7 */
        "r0 = 2;\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
