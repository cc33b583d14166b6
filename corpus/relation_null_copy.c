/* Relation: a null check on a map lookup result holds for its copy.
 *
 * r6 = r0 copies the maybe-null map value pointer; the null check is on r0
 * and the dereference through r6. The kernel marks both as the same
 * map_value_or_null id and mark_ptr_or_null_regs converts all of them.
 *
 * C equivalent:
 *     u64 *value = bpf_map_lookup_elem(&counters, &key), *copy = value;
 *     if (!value) return 0;
 *     *copy += 1; */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, u32);
    __type(value, u64);
} counters SEC(".maps");

SEC("kprobe/do_sys_openat2")
__naked int kprobe_null_check_copy(void *ctx)
{
    asm volatile(
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[counters] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "r6 = r0;\n"                 /* copy of the maybe-null pointer */
        "if r0 == 0 goto 1f;\n"      /* checked on the original */
        "r1 = *(u64 *)(r6 + 0);\n"   /* used through the copy */
        "r1 += 1;\n"
        "*(u64 *)(r6 + 0) = r1;\n"
        "1:\n"
        "r0 = 0;\n"
        "exit;\n"
        :
        : __imm_addr(counters), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
