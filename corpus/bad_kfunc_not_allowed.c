/* Reject (kfunc-not-allowed): the task kfuncs are registered for tracing,
 * tc, xdp, struct_ops, syscall and cgroup programs, not for kprobes. */
#include "bpfvet_corpus.h"

SEC("kprobe/do_nanosleep")
int task_in_kprobe(void *ctx)
{
    struct task_struct *task = bpf_task_from_pid(1);
    if (task)
        bpf_task_release(task);
    return 0;
}

LICENSE_GPL;
