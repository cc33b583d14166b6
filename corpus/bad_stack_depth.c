/* Reject (stack-depth): each frame fits in 512 bytes, but the chain
 * xdp_stack_depth -> fill_outer -> fill_inner uses 3 x 256 bytes together,
 * over the 512-byte limit for the whole call chain. Each frame writes the
 * deepest byte it reads, so the depth is the one error. In BPF assembly,
 * because clang shrinks arrays that are only partly used.
 * Kernel: "combined stack size of 3 calls is 768. Too large". */
#include "bpfvet_corpus.h"

static __naked __noinline __attribute__((used)) int fill_inner(void)
{
    asm volatile(
        "*(u64 *)(r10 - 256) = r1;\n"  /* uses 256 bytes of its frame */
        "r0 = *(u64 *)(r10 - 256);\n"
        "exit;\n"
        ::: __clobber_all);
}

static __naked __noinline __attribute__((used)) int fill_outer(void)
{
    asm volatile(
        "*(u64 *)(r10 - 256) = r1;\n"
        "call fill_inner;\n"
        "r0 = *(u64 *)(r10 - 256);\n"
        "exit;\n"
        ::: __clobber_all);
}

SEC("xdp")
__naked int xdp_stack_depth(struct xdp_md *ctx)
{
    asm volatile(
        "r1 = 0;\n"
        "*(u64 *)(r10 - 256) = r1;\n"
        "call fill_outer;\n"
        "r0 = 2;\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
