/* Negative: reading past the attach target's arguments. The sched_switch
 * tracepoint passes four (preempt, prev, next, prev_state) after its hidden
 * __data pointer, so ctx[4] does not exist; the kernel refuses the read. */
#include "bpfvet_corpus.h"

SEC("tp_btf/sched_switch")
int read_fifth_argument(u64 *ctx)
{
    long fifth = (long)ctx[4];
    asm volatile("" : "+r"(fifth));
    return 0;
}

LICENSE_GPL;
