/* unlink_audit_strings.c's constant strings misused: a format with three
 * conversions given two arguments, and a name compared from a writable
 * global (.data), which the kernel cannot read at load time. */
#include "bpfvet_corpus.h"

static long (*bpf_snprintf)(char *str, u32 str_size, const char *fmt, u64 *data, u32 data_len) = (void *)165;
static long (*bpf_strncmp)(const char *s1, u32 s1_sz, const char *s2) = (void *)182;

static const char label_format[] = "%u:%u:%u";
char watched[8] = "rm";

SEC("kprobe/do_unlinkat")
int format_missing_argument(void *ctx)
{
    u64 id = bpf_get_current_pid_tgid();
    u64 args[2] = {id >> 32, (u32)id};
    char label[24];
    bpf_snprintf(label, sizeof(label), label_format, args, sizeof(args));
    return label[0] == '0';
}

SEC("kprobe/do_unlinkat")
int compare_with_writable_name(void *ctx)
{
    char comm[16] = {};
    bpf_get_current_comm(comm, sizeof(comm));
    return bpf_strncmp(comm, sizeof(comm), watched) == 0;
}

LICENSE_GPL;
