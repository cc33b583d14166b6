/* Reject (unreleased-reference): the task bpf_task_from_pid acquires is
 * released only when its pid is even; the other path exits holding it. */
#include "bpfvet_corpus.h"

SEC("tp_btf/task_newtask")
int leak_task(u64 *ctx)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    struct task_struct *task = bpf_task_from_pid(pid);
    if (!task)
        return 0;
    if (pid & 1)
        return 1;
    bpf_task_release(task);
    return 0;
}

LICENSE_GPL;
