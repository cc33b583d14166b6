/* Reject (memory-access): the control for relation_spilled_pointer.c. A map
 * value pointer is spilled, one byte of its slot is overwritten, and the
 * filled value, no longer a pointer, is dereferenced.
 * Kernel: "R3 invalid mem access 'scalar'". */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} seed SEC(".maps");

SEC("xdp")
__naked int xdp_spilled_pointer_overwritten(struct xdp_md *ctx)
{
    asm volatile(
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[seed] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 1f;\n"
        "*(u64 *)(r10 - 16) = r0;\n"   /* spill the map value pointer */
        "r1 = 0;\n"
        "*(u8 *)(r10 - 16) = r1;\n"    /* clobber its low byte */
        "r3 = *(u64 *)(r10 - 16);\n"   /* fill: a scalar now */
        "r0 = *(u64 *)(r3 + 0);\n"
        "1:\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(seed), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
