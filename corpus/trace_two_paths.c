/* Accept: r0 is 7 on one path and 9 on the other when they meet at the
 * return. `check --trace --line trace_two_paths.c:16` shows each path's
 * constant, which the join ([7, 9]) loses; tests/tools/check_trace_test.cpp. */
#include "bpfvet_corpus.h"

SEC("socket")
int two_paths(struct __sk_buff *skb)
{
    int result;
    if (skb->len > 100)
        result = 7;
    else
        result = 9;
    /* Keep the branch: a barrier stops clang from folding it into arithmetic. */
    asm volatile("" : "+r"(result));
    return result;
}

LICENSE_GPL;
