/* Reject (null-dereference): a global function is verified on its own, so a
 * pointer parameter may be null whatever its callers pass; __arg_nullable says
 * so explicitly, and the callee reads it without a check.
 * Kernel: "R1 invalid mem access 'mem_or_null'". */
#include "bpfvet_corpus.h"

__noinline int first_word(int *words __arg_nullable)
{
    return words[0]; /* missing: if (!words) return 0; */
}

SEC("tc")
int tc_nullable_argument(struct __sk_buff *skb)
{
    int words[2] = {skb->len, skb->protocol};
    return first_word(words) > 100 ? 2 : 0;
}

LICENSE_GPL;
