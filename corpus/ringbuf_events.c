/* Ring buffer output, both ways:
 *  - exec_event_reserve: bpf_ringbuf_reserve a record in place, fill it,
 *    then submit it (or discard it); the reserved pointer may be null and
 *    must be released exactly once on every path;
 *  - exec_event_output: build the record on the stack and copy it with
 *    bpf_ringbuf_output. */
#include "bpfvet_corpus.h"

struct exec_event {
    u32 pid;
    u32 uid;
    u64 timestamp;
    char comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("kprobe/do_execveat_common")
int exec_event_reserve(struct pt_regs_x86_64 *regs)
{
    struct exec_event *event = bpf_ringbuf_reserve(&events, sizeof(*event), 0);
    if (!event)
        return 0;
    event->pid = bpf_get_current_pid_tgid() >> 32;
    event->uid = (u32)bpf_get_current_uid_gid();
    event->timestamp = bpf_ktime_get_ns();
    if (bpf_get_current_comm(event->comm, sizeof(event->comm)) < 0) {
        bpf_ringbuf_discard(event, 0);
        return 0;
    }
    bpf_ringbuf_submit(event, 0);
    return 0;
}

SEC("kprobe/do_execveat_common")
int exec_event_output(struct pt_regs_x86_64 *regs)
{
    struct exec_event event = {};
    event.pid = bpf_get_current_pid_tgid() >> 32;
    event.uid = (u32)bpf_get_current_uid_gid();
    event.timestamp = bpf_ktime_get_ns();
    bpf_get_current_comm(event.comm, sizeof(event.comm));
    bpf_ringbuf_output(&events, &event, sizeof(event), 0);
    return 0;
}

LICENSE_GPL;
