/* Reject (return-value): cgroup_skb programs must return 0 (drop) or 1
 * (allow); this one returns 2. Kernel: "At program exit the register R0 has
 * smin=2 smax=2 should have been in [0, 1]". */
#include "bpfvet_corpus.h"

SEC("cgroup_skb/ingress")
int cgroup_skb_bad_return(struct __sk_buff *skb)
{
    return skb->len > 1500 ? 0 : 2;
}

LICENSE_GPL;
