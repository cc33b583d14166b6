/* Needs path refinement: a flag carried around a bounded loop.
 *
 * Each of the loop's four passes compares the same packet byte with 15 and
 * sets the flag when it is small enough; after the loop the flag guards the
 * indexed access. The loop's passes join the two outcomes (same shape:
 * numbers only), so the flag is [0, 1] and the byte [0, 255] after the loop.
 * Split at the comparison inside the loop, each pass keeps the outcome it
 * took. The kernel unrolls the loop path by path and accepts.
 *
 * C equivalent:
 *     u64 index = data[16], seen = 0;
 *     for (int i = 0; i < 4; i++)
 *         if (index <= 15) seen = 1;
 *     if (seen) table->slot[index] += 1; */
#include "bpfvet_corpus.h"

struct sixteen_slots {
    u64 slot[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, struct sixteen_slots);
} loop_table SEC(".maps");

SEC("xdp")
__naked int xdp_loop_flag(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r4 = r2;\n"
        "r4 += 17;\n"
        "if r4 > r3 goto 3f;\n"
        "r6 = *(u8 *)(r2 + 16);\n"   /* index: 0..255 */
        "r8 = 0;\n"                  /* seen */
        "r7 = 0;\n"                  /* i */
        "1:\n"                       /* loop head */
        "if r7 >= 4 goto 4f;\n"
        "if r6 > 15 goto 2f;\n"
        "r8 = 1;\n"
        "2:\n"
        "r7 += 1;\n"
        "goto 1b;\n"
        "4:\n"
        "r1 = 0;\n"
        "*(u32 *)(r10 - 4) = r1;\n"
        "r2 = r10;\n"
        "r2 += -4;\n"
        "r1 = %[loop_table] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "if r0 == 0 goto 3f;\n"
        "if r8 == 0 goto 3f;\n"
        "r6 <<= 3;\n"                /* 0..120 only because seen == 1 */
        "r0 += r6;\n"
        "r1 = *(u64 *)(r0 + 0);\n"
        "r1 += 1;\n"
        "*(u64 *)(r0 + 0) = r1;\n"
        "3:\n"
        "r0 = 2;\n"
        "exit;\n"
        :
        : __imm_addr(loop_table), __imm(bpf_map_lookup_elem)
        : __clobber_all);
}

LICENSE_GPL;
