/* Reject (kfunc-argument): the cpumask is queried after bpf_cpumask_release
 * gave it back. */
#include "bpfvet_corpus.h"

SEC("tp_btf/task_newtask")
int query_released_mask(u64 *ctx)
{
    struct bpf_cpumask *mask = bpf_cpumask_create();
    if (!mask)
        return 0;
    bpf_cpumask_set_cpu(0, mask);
    bpf_cpumask_release(mask);
    return bpf_cpumask_test_cpu(0, (const struct cpumask *)mask);
}

LICENSE_GPL;
