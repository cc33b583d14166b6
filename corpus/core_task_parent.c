/* CO-RE: a tp_btf program built against its own minimal declaration of
 * struct task_struct (pid at 0, tgid at 4, real_parent at 8), marked
 * preserve_access_index so that clang records a CO-RE relocation for each
 * field access. The offsets are wrong for every real kernel; applied against
 * the kernel's BTF (as libbpf does before loading, and bpfvet check before
 * analysing BTF-typed programs) they become the kernel's, and the loads
 * through prev and prev->real_parent check out. Unrelocated, the load at
 * offset 8 would read the kernel's `void *stack` member, a number, and the
 * dereference would be refused. */
#include "bpfvet_corpus.h"

struct task_struct {
    int pid;
    int tgid;
    struct task_struct *real_parent;
} __attribute__((preserve_access_index));

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, int);
    __type(value, int);
} parent_of SEC(".maps");

SEC("tp_btf/sched_switch")
int record_parent(u64 *ctx)
{
    struct task_struct *prev = (struct task_struct *)ctx[1];
    int pid = prev->pid;
    int parent = prev->real_parent->tgid;
    bpf_map_update_elem(&parent_of, &pid, &parent, BPF_ANY);
    return 0;
}

LICENSE_GPL;
