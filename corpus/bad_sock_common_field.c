/* Reject (memory-access): __sk_buff->sk is a struct sock_common (or null),
 * not yet a full socket: its protocol needs bpf_sk_fullsock() first (the safe
 * twin is in tests/analyzer/kernel_rules_test.cpp). Kernel: "invalid sock_common access off=12 size=4". */
#include "bpfvet_corpus.h"

SEC("tc")
int tc_socket_protocol(struct __sk_buff *skb)
{
    struct bpf_sock *sk = skb->sk;
    if (!sk)
        return 0;
    return sk->protocol == IPPROTO_TCP;
}

LICENSE_GPL;
