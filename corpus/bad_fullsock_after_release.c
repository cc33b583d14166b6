/* A socket lookup whose full-socket view is read after the socket was
 * released: bpf_sk_fullsock returns the same socket cast, which the kernel
 * ties to the lookup's reference, so bpf_sk_release ends it too. */
#include "bpfvet_corpus.h"
#include <linux/pkt_cls.h>

static struct bpf_sock *(*bpf_sk_lookup_tcp)(void *ctx, struct bpf_sock_tuple *tuple, u32 tuple_size, u64 netns,
                                             u64 flags) = (void *)84;
static long (*bpf_sk_release)(void *sock) = (void *)86;
static struct bpf_sock *(*bpf_sk_fullsock)(struct bpf_sock *sk) = (void *)95;

SEC("tc")
int type_after_release(struct __sk_buff *skb)
{
    struct bpf_sock_tuple tuple = {};
    tuple.ipv4.daddr = bpf_htonl(0x7f000001);
    tuple.ipv4.dport = bpf_htons(80);
    struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &tuple, sizeof(tuple.ipv4), (u64)-1, 0);
    if (!sk)
        return TC_ACT_OK;
    struct bpf_sock *full = bpf_sk_fullsock(sk);
    bpf_sk_release(sk);
    if (!full)
        return TC_ACT_OK;
    return full->type == 1 /* SOCK_STREAM */ ? TC_ACT_OK : TC_ACT_SHOT;
}

LICENSE_GPL;
