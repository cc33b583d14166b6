/* Kprobe counter: counts calls to do_unlinkat per process in a hash map.
 * The classic lookup / insert-if-missing / increment pattern; the value
 * pointer from bpf_map_lookup_elem must be null-checked before use. */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, u32);   /* tgid */
    __type(value, u64); /* calls */
} unlink_calls SEC(".maps");

SEC("kprobe/do_unlinkat")
int count_unlinkat(struct pt_regs_x86_64 *regs)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    u64 *calls = bpf_map_lookup_elem(&unlink_calls, &tgid);
    if (calls) {
        *calls += 1;
        return 0;
    }
    u64 first = 1;
    bpf_map_update_elem(&unlink_calls, &tgid, &first, BPF_NOEXIST);
    return 0;
}

LICENSE_GPL;
