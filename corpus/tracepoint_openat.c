/* Tracepoint program on syscalls:sys_enter_openat: reads the record the
 * tracepoint passes (its own context layout), copies the user-space file name
 * to the stack with bpf_probe_read_user_str and counts opens, creating opens
 * and opens under /etc in a three-slot array. */
#include "bpfvet_corpus.h"

#define O_CREAT_FLAG 0100 /* octal, as in fcntl.h */

enum { OPENS_ALL, OPENS_CREATE, OPENS_ETC, OPENS_SLOTS };

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, OPENS_SLOTS);
    __type(key, u32);
    __type(value, u64);
} open_counts SEC(".maps");

static __always_inline void count(u32 slot)
{
    u64 *value = bpf_map_lookup_elem(&open_counts, &slot);
    if (value)
        __sync_fetch_and_add(value, 1);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat(struct trace_event_raw_sys_enter_openat *ctx)
{
    count(OPENS_ALL);
    if (ctx->flags & O_CREAT_FLAG)
        count(OPENS_CREATE);

    char name[64];
    long length = bpf_probe_read_user_str(name, sizeof(name), ctx->filename);
    if (length >= 5 && name[0] == '/' && name[1] == 'e' && name[2] == 't' && name[3] == 'c' && name[4] == '/')
        count(OPENS_ETC);
    return 0;
}

LICENSE_GPL;
