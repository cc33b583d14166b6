/* Reject (null-dereference): the control for relation_null_copy.c. Two
 * lookups of the same key give two maybe-null pointers; the first is checked
 * and the second dereferenced. They are equal at run time, but not copies:
 * the check on one proves nothing about the other.
 * Kernel: "R7 invalid mem access 'map_value_or_null'". */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, u32);
    __type(value, u64);
} counters SEC(".maps");

SEC("kprobe/do_sys_openat2")
__naked int kprobe_null_check_other_pointer(void *ctx)
{
    asm volatile(
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[counters] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "r6 = r0;\n"                   /* first lookup */
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[counters] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "r7 = r0;\n"                   /* second lookup, same key */
        "if r6 == 0 goto 1f;\n"        /* checks the first */
        "r1 = *(u64 *)(r7 + 0);\n"     /* dereferences the second */
        "1:\n"
        "r0 = 0;\n"
        "exit;\n"
        :
        : __imm_addr(counters), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
