/* Reject (uninitialized-stack): an 8-byte stack slot is read before it is
 * written. Unprivileged loads get "invalid read from stack off -8+0 size 8";
 * a privileged kernel (CAP_PERFMON, "allow_uninit_stack") reads it as an
 * unknown scalar and accepts, so the kernel oracle, running as root,
 * expects accept here (manifest: "kernel_verdict": "accept"). */
#include "bpfvet_corpus.h"

SEC("socket")
__naked int socket_uninitialized_stack(struct __sk_buff *skb)
{
    asm volatile(
        "r0 = *(u64 *)(r10 - 8);\n"   /* never stored */
        "r0 &= 1;\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
