/* Reject (null-dereference): a lookup result tested with a 32-bit compare
 * (`if w0 == 0`). The kernel learns nullness only from a 64-bit JEQ/JNE
 * against 0, so the pointer may still be null after it. Kernel:
 * "R0 invalid mem access 'map_value_or_null'". */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, u32);
    __type(value, u64);
} counters SEC(".maps");

SEC("xdp")
__naked int xdp_null_check_low_half(void *ctx)
{
    asm volatile("r1 = 0;"
                 "*(u32 *)(r10 - 4) = r1;"
                 "r2 = r10;"
                 "r2 += -4;"
                 "r1 = %[counters] ll;"
                 "call 1;"
                 "if w0 == 0 goto 1f;"
                 "r0 = *(u64 *)(r0 + 0);"
                 "1: r0 = 2;"
                 "exit;" :: __imm_addr(counters) : __clobber_all);
}

LICENSE_GPL;
