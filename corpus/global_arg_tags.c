/* Global functions whose parameters carry libbpf's __arg_* tags, which the
 * kernel reads from BTF decl tags when it verifies each global function on
 * its own:
 *  - __arg_nonnull: the pointer is never null, the callee needs no check (and
 *    every caller must pass a valid pointer);
 *  - __arg_ctx: a `void *` parameter is the program's context. */
#include "bpfvet_corpus.h"

__noinline int doubled(int *value __arg_nonnull)
{
    return *value * 2; /* no null check needed */
}

SEC("tc")
int tc_nonnull_argument(struct __sk_buff *skb)
{
    int length = skb->len;
    return doubled(&length) > 100 ? 2 : 0;
}

__noinline int packet_length(void *ctx __arg_ctx)
{
    struct __sk_buff *skb = ctx;
    return skb->len;
}

SEC("tc")
int tc_context_argument(struct __sk_buff *skb)
{
    return packet_length(skb) > 1000 ? 2 : 0;
}

LICENSE_GPL;
