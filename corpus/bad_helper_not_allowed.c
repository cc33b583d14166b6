/* Reject (helper-not-allowed): bpf_skb_store_bytes exists, but socket filters
 * may not modify the packet, so their program type does not offer it.
 * Kernel: "program of this type cannot use helper bpf_skb_store_bytes#9". */
#include "bpfvet_corpus.h"

SEC("socket")
int socket_store_bytes(struct __sk_buff *skb)
{
    u8 zero = 0;
    bpf_skb_store_bytes(skb, 0, &zero, sizeof(zero), 0);
    return skb->len;
}

LICENSE_GPL;
