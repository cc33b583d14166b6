/* Reject (unreleased-reference): the socket found by bpf_sk_lookup_tcp is
 * released only when it listens; on the other path the program exits holding
 * the reference. Kernel: "Unreleased reference id=N alloc_insn=M". */
#include "bpfvet_corpus.h"

static struct bpf_sock *(*bpf_sk_lookup_tcp)(void *ctx, struct bpf_sock_tuple *tuple, u32 tuple_size, u64 netns,
                                             u64 flags) = (void *)84;
static long (*bpf_sk_release)(void *sock) = (void *)86;

SEC("xdp")
int xdp_listener_leak(struct xdp_md *ctx)
{
    struct bpf_sock_tuple tuple = {};
    tuple.ipv4.daddr = bpf_htonl(0x7f000001);
    tuple.ipv4.dport = bpf_htons(80);
    struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), (u64)-1, 0);
    if (!sk)
        return XDP_PASS;
    if (sk->state == 10 /* TCP_LISTEN */) {
        bpf_sk_release(sk);
        return XDP_DROP;
    }
    return XDP_PASS;
}

LICENSE_GPL;
