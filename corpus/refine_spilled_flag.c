/* Needs path refinement: an index bound recorded in a flag that is spilled
 * to the stack and reloaded after the paths have met.
 *
 * The comparison index <= 15 sets a flag; the flag goes to the stack, the
 * two paths meet (spilled numbers of the same shape are joined), and much
 * later the reloaded flag guards the indexed access. Joined, index is
 * [0, 255] and the flag [0, 1]: the access looks out of bounds. Split at the
 * comparison, each path keeps its constant flag. The kernel walks the paths
 * apart and accepts.
 *
 * C equivalent:
 *     u64 index = data[20];
 *     u64 in_range = index <= 15;   // spilled: *(u64 *)(fp - 16)
 *     ...
 *     if (in_range) table->slot[index] += 1; */
#include "bpfvet_corpus.h"

struct sixteen_slots {
    u64 slot[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct sixteen_slots);
} spilled_table SEC(".maps");

SEC("xdp")
__naked int xdp_spilled_flag(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r4 = r2;\n"
        "r4 += 21;\n"
        "if r4 > r3 goto 3f;\n"
        "r6 = *(u8 *)(r2 + 20);\n"   /* index: 0..255 */
        "r1 = 0;\n"
        "if r6 > 15 goto 1f;\n"
        "r1 = 1;\n"
        "1:\n"                       /* the paths meet here */
        "*(u64 *)(r10 - 16) = r1;\n" /* the flag lives on the stack */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[spilled_table] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 3f;\n"
        "r1 = *(u64 *)(r10 - 16);\n"
        "if r1 == 0 goto 3f;\n"
        "r6 <<= 3;\n"                /* 0..120 only because the flag is 1 */
        "r0 += r6;\n"
        "r1 = *(u64 *)(r0 + 0);\n"
        "r1 += 1;\n"
        "*(u64 *)(r0 + 0) = r1;\n"
        "3:\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(spilled_table), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
