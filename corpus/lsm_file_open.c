/* BTF-typed LSM hook and BTF tracepoint: lsm/file_open reads the opened
 * file's flags (the hook is bpf_lsm_file_open(struct file *file) in the
 * kernel's BTF; its return value follows in ctx[1]) and allows every open;
 * tp_btf/sched_switch skips the tracepoint's hidden first argument, so ctx[1]
 * is `struct task_struct *prev` and prev->pid a direct load.
 *
 * Offsets are this kernel's (Linux 6.18 x86-64), without CO-RE. */
#include "bpfvet_corpus.h"

struct file {
    u8 _before_flags[40];
    u32 f_flags;              /* 40 */
};

struct task_struct {
    u8 _before_pid[1264];
    int pid;                  /* 1264 */
    int tgid;                 /* 1268 */
};

#define O_WRONLY 01

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} writable_opens SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, int);
    __type(value, u64);
} switches_out SEC(".maps");

SEC("lsm/file_open")
int watch_open(u64 *ctx)
{
    struct file *file = (struct file *)ctx[0];
    int previous = (int)ctx[1];  /* what earlier hooks decided */
    if (previous != 0)
        return previous;
    if (file->f_flags & O_WRONLY) {
        u32 key = 0;
        u64 *count = bpf_map_lookup_elem(&writable_opens, &key);
        if (count)
            __sync_fetch_and_add(count, 1);
    }
    return 0;
}

SEC("tp_btf/sched_switch")
int count_switches(u64 *ctx)
{
    struct task_struct *prev = (struct task_struct *)ctx[1];
    int pid = prev->pid;
    u64 one = 1;
    u64 *count = bpf_map_lookup_elem(&switches_out, &pid);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&switches_out, &pid, &one, BPF_NOEXIST);
    return 0;
}

LICENSE_GPL;
