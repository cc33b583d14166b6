/* Reject (context-access): a sign-extending load (cpu v4 LDSX) of
 * xdp_md->data, a field the kernel rewrites into a pointer load. Only number
 * fields may be sign-extended (ingress_ifindex here is fine). Kernel:
 * "invalid bpf_context access off=0 size=4". */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_sign_extended_data(void *ctx)
{
    asm volatile("r2 = *(s32 *)(r1 + 12);" /* ingress_ifindex: a number */
                 "r2 = *(s32 *)(r1 + 0);"  /* data: a pointer */
                 "r0 = 2;"
                 "exit;" ::: __clobber_all);
}

LICENSE_GPL;
