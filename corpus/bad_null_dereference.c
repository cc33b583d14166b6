/* Reject (null-dereference): the map lookup result is used without the null
 * check. A hash lookup returns NULL for a missing key.
 * Kernel: "R0 invalid mem access 'map_value_or_null'". */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, u32);
    __type(value, u64);
} per_pid SEC(".maps");

SEC("kprobe/do_unlinkat")
int kprobe_null_dereference(struct pt_regs_x86_64 *regs)
{
    u32 pid = bpf_get_current_pid_tgid();
    u64 *count = bpf_map_lookup_elem(&per_pid, &pid);
    *count += 1; /* missing: if (!count) return 0; */
    return 0;
}

LICENSE_GPL;
