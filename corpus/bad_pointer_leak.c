/* Reject (pointer-leak): stores a kernel address (the map value's own
 * address) into the map, where user space can read it. Unprivileged kernel:
 * "R1 leaks addr into map"; a privileged kernel (allow_ptr_leaks) accepts,
 * so the root oracle expects accept (manifest: "kernel_verdict": "accept"). */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} exported SEC(".maps");

SEC("socket")
int socket_pointer_leak(struct __sk_buff *skb)
{
    u32 zero = 0;
    u64 *value = bpf_map_lookup_elem(&exported, &zero);
    if (value)
        *value = (u64)value; /* the address escapes to user space */
    return 0;
}

LICENSE_GPL;
