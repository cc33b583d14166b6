/* Reject (kfunc-argument): the cgroup bpf_cgroup_from_id returns may be null,
 * and bpf_task_under_cgroup (KF_RCU) is given it untested. */
#include "bpfvet_corpus.h"

SEC("tp_btf/task_newtask")
int ancestor_unchecked(u64 *ctx)
{
    struct task_struct *task = (struct task_struct *)ctx[0];
    struct cgroup *cgroup = bpf_cgroup_from_id(bpf_get_current_cgroup_id());
    long under = bpf_task_under_cgroup(task, cgroup);
    if (cgroup)
        bpf_cgroup_release(cgroup);
    return under;
}

LICENSE_GPL;
