/* Negative: a store into a kernel object. BTF-typed programs read kernel
 * structs through their arguments but may not write them; the kernel says
 * "only read is supported". (tp_btf rather than fentry: this machine's
 * kernel refuses to load fentry programs at all, so the oracle could not
 * confirm the message.) */
#include "bpfvet_corpus.h"

struct task_struct {
    u8 _before_pid[1264];
    int pid;                  /* 1264, this kernel's offset */
};

SEC("tp_btf/sched_switch")
int forget_pid(u64 *ctx)
{
    struct task_struct *prev = (struct task_struct *)ctx[1];
    prev->pid = 0;
    return 0;
}

LICENSE_GPL;
