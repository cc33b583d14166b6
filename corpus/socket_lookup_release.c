/* A socket lookup whose reference is released on every path: the XDP program
 * asks whether a TCP socket listens on 127.0.0.1:80, reads its state and
 * releases it (bpf_sk_release) before deciding. The kernel (and bpfvet) track
 * the reference from bpf_sk_lookup_tcp to the release. */
#include "bpfvet_corpus.h"

static struct bpf_sock *(*bpf_sk_lookup_tcp)(void *ctx, struct bpf_sock_tuple *tuple, u32 tuple_size, u64 netns,
                                             u64 flags) = (void *)84;
static long (*bpf_sk_release)(void *sock) = (void *)86;

SEC("xdp")
int xdp_listener_present(struct xdp_md *ctx)
{
    struct bpf_sock_tuple tuple = {};
    tuple.ipv4.daddr = bpf_htonl(0x7f000001);
    tuple.ipv4.dport = bpf_htons(80);
    struct bpf_sock *sk = bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), (u64)-1, 0);
    if (!sk)
        return XDP_PASS;
    u32 state = sk->state;
    bpf_sk_release(sk);
    return state == 10 /* TCP_LISTEN */ ? XDP_DROP : XDP_PASS;
}

LICENSE_GPL;
