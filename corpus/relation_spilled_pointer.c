/* Relation: pointers spilled to the stack and filled back keep their type.
 *
 * A context pointer, a packet pointer (with its verified range) and a map
 * value pointer are each stored to an 8-byte stack slot, the registers are
 * clobbered by a helper call, and the pointers are reloaded and dereferenced.
 * The kernel records a full 64-bit spill of a pointer as STACK_SPILL with
 * the register state; a sound analyzer must do the same, or it would see the
 * fills as unknown scalars and reject the dereferences.
 *
 * C equivalent (what clang emits under register pressure):
 *     struct xdp_md *saved_ctx = ctx; void *saved_data = data; u64 *saved_value = value;
 *     bpf_get_prandom_u32();           // clobbers r1-r5
 *     return saved_ctx->ingress_ifindex + *(u8 *)saved_data + *saved_value ... */
#include "bpfvet_corpus.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, u64);
} seed SEC(".maps");

SEC("xdp")
__naked int xdp_spilled_pointers(struct xdp_md *ctx)
{
    asm volatile(
        "*(u64 *)(r10 - 8) = r1;\n"    /* spill ctx */
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r4 = r2;\n"
        "r4 += 1;\n"
        "r0 = 2;\n"
        "if r4 > r3 goto 1f;\n"        /* at least one byte of packet */
        "*(u64 *)(r10 - 16) = r2;\n"   /* spill the checked packet pointer */
        "r1 = 0;\n"
        "*(u32 *)(r10 - 20) = r1;\n"
        "r2 = r10;\n"
        "r2 += -20;\n"
        "r1 = %[seed] ll;\n"
        "call %[bpf_map_lookup_elem];\n"
        "r1 = r0;\n"
        "r0 = 2;\n"
        "if r1 == 0 goto 1f;\n"
        "*(u64 *)(r10 - 32) = r1;\n"   /* spill the map value pointer */
        "call %[bpf_get_prandom_u32];\n" /* clobbers r0-r5 */
        "r1 = *(u64 *)(r10 - 8);\n"    /* fill ctx */
        "r6 = *(u32 *)(r1 + 12);\n"    /* ctx->ingress_ifindex */
        "r2 = *(u64 *)(r10 - 16);\n"   /* fill packet pointer */
        "r7 = *(u8 *)(r2 + 0);\n"      /* first packet byte */
        "r3 = *(u64 *)(r10 - 32);\n"   /* fill map value pointer */
        "r8 = *(u64 *)(r3 + 0);\n"
        "r8 += r7;\n"
        "r8 += r6;\n"
        "*(u64 *)(r3 + 0) = r8;\n"
        "r0 = 2;\n"
        "1:\n"
        "exit;\n"
        :
        : __imm_addr(seed), __imm(bpf_map_lookup_elem), __imm(bpf_get_prandom_u32)
        : __clobber_all);
}

LICENSE_GPL;
