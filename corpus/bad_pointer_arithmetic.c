/* Reject (pointer-arithmetic): arithmetic on a map pointer (the LDDW map
 * reference), which may only be passed to helpers as it is.
 * Kernel: "R1 pointer arithmetic on map_ptr prohibited". */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, u64);
} slots SEC(".maps");

SEC("xdp")
__naked int xdp_map_pointer_arithmetic(struct xdp_md *ctx)
{
    asm volatile(
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[slots] ll;\n"
        "r1 += 8;\n"                  /* not allowed on a map pointer */
        "call %[bpf_map_lookup_elem];\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(slots), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
