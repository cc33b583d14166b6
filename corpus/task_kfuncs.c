/* Task, cgroup and cpumask kfuncs from a tp_btf program, as a scheduler
 * observer would use them: every reference a kfunc acquires is released on
 * every path, results that may be null are tested first, and the task the
 * tracepoint hands over (trusted by the kernel) is passed where a trusted
 * pointer is required. */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, u64);
} seen SEC(".maps");

static __always_inline void count(u32 slot)
{
    u64 *value = bpf_map_lookup_elem(&seen, &slot);
    if (value)
        __sync_fetch_and_add(value, 1);
}

/* tp_btf/task_newtask(struct task_struct *task, u64 clone_flags) */
SEC("tp_btf/task_newtask")
int track_new_task(u64 *ctx)
{
    struct task_struct *task = (struct task_struct *)ctx[0];
    struct task_struct *held = bpf_task_acquire(task);
    if (!held)
        return 0;
    struct cgroup *root = bpf_cgroup_from_id(1);
    if (root) {
        if (bpf_task_under_cgroup(held, root))
            count(0);
        bpf_cgroup_release(root);
    }
    bpf_task_release(held);

    struct task_struct *init = bpf_task_from_pid(1);
    if (init) {
        count(1);
        bpf_task_release(init);
    }
    return 0;
}

/* A cpumask built, queried and released. */
SEC("tp_btf/task_newtask")
int build_cpumask(u64 *ctx)
{
    struct bpf_cpumask *mask = bpf_cpumask_create();
    if (!mask)
        return 0;
    bpf_cpumask_set_cpu(0, mask);
    if (bpf_cpumask_test_cpu(0, (const struct cpumask *)mask))
        count(2);
    if (bpf_cpumask_weight((const struct cpumask *)mask) == 1)
        count(3);
    bpf_cpumask_release(mask);
    return 0;
}

LICENSE_GPL;
