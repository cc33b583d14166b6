/* Reject (kfunc-argument): the cgroup is released twice on the path where
 * its id is the root's. */
#include "bpfvet_corpus.h"

SEC("tp_btf/task_newtask")
int release_cgroup_twice(u64 *ctx)
{
    u64 id = bpf_get_current_cgroup_id();
    struct cgroup *cgroup = bpf_cgroup_from_id(id);
    if (!cgroup)
        return 0;
    if (id == 1)
        bpf_cgroup_release(cgroup);
    bpf_cgroup_release(cgroup);
    return 0;
}

LICENSE_GPL;
