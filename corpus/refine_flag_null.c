/* Needs path refinement: a map value dereferenced under a flag that records
 * its earlier null check.
 *
 * After the check's two paths meet, r7 is "map value or null" and the flag
 * is [0, 1]; without the correlation (flag == 1 => r7 != null) the store
 * through r7 looks like a possible null dereference. The kernel explores the
 * paths separately and accepts.
 *
 * C equivalent:
 *     u64 *value = bpf_map_lookup_elem(&hits, &key);
 *     int found = value != 0;
 *     u64 now = bpf_ktime_get_ns();
 *     if (found) *value = now; */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, u32);
    __type(value, u64);
} hits SEC(".maps");

SEC("kprobe/do_sys_openat2")
__naked int kprobe_flag_null(void *ctx)
{
    asm volatile(
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[hits] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "r7 = r0;\n"
        "r6 = 0;\n"                  /* found */
        "if r0 == 0 goto 1f;\n"
        "r6 = 1;\n"
        "1:\n"                       /* the paths meet here */
        "call %[bpf_ktime_get_ns];\n"
        "if r6 == 0 goto 2f;\n"
        "*(u64 *)(r7 + 0) = r0;\n"   /* safe only because found == 1 */
        "2:\n"
        "r0 = 0;\n"
        "exit;\n"
        :
        : __imm_addr(hits), __imm(bpf_map_lookup_elem), __imm(bpf_ktime_get_ns)
        : __clobber_all);
}

LICENSE_GPL;
