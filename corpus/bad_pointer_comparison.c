/* Reject (pointer-comparison): compares the context pointer with a stack
 * pointer, two unrelated regions, which reveals address layout and means
 * nothing. Unprivileged kernel: "R1 pointer comparison prohibited"; a
 * privileged kernel (allow_ptr_leaks) accepts it, so the root oracle
 * expects accept (manifest: "kernel_verdict": "accept"). */
#include "bpfvet_corpus.h"

SEC("socket")
__naked int socket_pointer_comparison(struct __sk_buff *skb)
{
    asm volatile(
        "r2 = r10;\n"
        "r2 += -8;\n"
        "r0 = 0;\n"
        "if r1 > r2 goto 1f;\n"       /* ctx vs stack */
        "r0 = 1;\n"
        "1:\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
