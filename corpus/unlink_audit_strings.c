/* An unlink audit that works with constant strings: bpf_strncmp compares the
 * current command against a name kept in .rodata, and bpf_snprintf formats
 * "tgid:pid" into a record with a format string from .rodata. Both helpers
 * read their constant string at load time: it must sit in a frozen read-only
 * map, at a constant offset, NUL-terminated, and the format's conversions
 * must match the number of u64 arguments given. */
#include "bpfvet_corpus.h"

static long (*bpf_snprintf)(char *str, u32 str_size, const char *fmt, u64 *data, u32 data_len) = (void *)165;
static long (*bpf_strncmp)(const char *s1, u32 s1_sz, const char *s2) = (void *)182;

static const char watched[] = "rm";
static const char label_format[] = "%u:%u";

struct unlink_record {
    char label[24];
    u64 calls;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, u32);
    __type(value, struct unlink_record);
} unlinks_by_rm SEC(".maps");

SEC("kprobe/do_unlinkat")
int audit_rm_unlinks(void *ctx)
{
    char comm[16] = {};
    bpf_get_current_comm(comm, sizeof(comm));
    if (bpf_strncmp(comm, sizeof(comm), watched) != 0)
        return 0;
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    struct unlink_record record = {};
    u64 args[2] = {tgid, (u32)id};
    bpf_snprintf(record.label, sizeof(record.label), label_format, args, sizeof(args));
    record.calls = 1;
    bpf_map_update_elem(&unlinks_by_rm, &tgid, &record, BPF_NOEXIST);
    return 0;
}

LICENSE_GPL;
