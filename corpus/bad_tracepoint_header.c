/* Reject (context-access): a tracepoint program reads common_pid, in the
 * first 8 bytes of its record. The kernel keeps those bytes for itself
 * (tp_prog_is_valid_access allows [8, 8192)); the pid comes from
 * bpf_get_current_pid_tgid. Kernel: "invalid bpf_context access off=4 size=4". */
#include "bpfvet_corpus.h"

SEC("tracepoint/syscalls/sys_enter_openat")
int trace_openat_pid(struct trace_event_raw_sys_enter_openat *ctx)
{
    return ctx->common_pid == 1;
}

LICENSE_GPL;
