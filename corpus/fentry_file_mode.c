/* BTF-typed tracing: fentry and fexit on vfs_read, reading the kernel's
 * struct file through the argument the way BPF_PROG(f, struct file *file)
 * does: a direct load (no bpf_probe_read_kernel), then a pointer chase to the
 * inode. The arguments are a u64 array; the kernel types ctx[0] as a pointer
 * to struct file from its BTF, and fexit's ctx[4] is vfs_read's result.
 *
 * The structs are declared with this kernel's offsets (Linux 6.18 x86-64, as
 * /sys/kernel/btf/vmlinux gives them) and without preserve_access_index, so
 * the object carries no CO-RE relocations: on another kernel the offsets may
 * land elsewhere, which the analyzer then checks against that kernel's BTF. */
#include "bpfvet_corpus.h"

struct inode {
    u16 i_mode;               /* 0 */
    u8 _before_ino[62];
    unsigned long i_ino;      /* 64 */
};

struct file {
    u32 f_lock;               /* 0 */
    u32 f_mode;               /* 4 */
    u8 _before_inode[24];
    struct inode *f_inode;    /* 32 */
    u32 f_flags;              /* 40 */
};

#define FMODE_READ 0x1

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 2);
    __type(key, u32);
    __type(value, u64);
} reads_by_mode SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} last_inode SEC(".maps");

SEC("fentry/vfs_read")
int count_reads(u64 *ctx)
{
    struct file *file = (struct file *)ctx[0];
    u32 key = (file->f_mode & FMODE_READ) ? 1 : 0;
    u64 *count = bpf_map_lookup_elem(&reads_by_mode, &key);
    if (count)
        __sync_fetch_and_add(count, 1);
    return 0;
}

SEC("fexit/vfs_read")
int record_inode(u64 *ctx)
{
    struct file *file = (struct file *)ctx[0];
    long result = (long)ctx[4];
    if (result <= 0)
        return 0;
    u32 key = 0;
    u64 *slot = bpf_map_lookup_elem(&last_inode, &key);
    if (slot)
        *slot = file->f_inode->i_ino;
    return 0;
}

LICENSE_GPL;
