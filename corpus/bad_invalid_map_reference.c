/* Reject (invalid-map-reference): an LDDW with src = BPF_PSEUDO_MAP_FD whose
 * immediate names no map: the object defines no maps and no relocation
 * covers the instruction, so its imm (7) is not a map of the object, and to
 * the kernel not an open map fd. Kernel: "fd 7 is not pointing to valid
 * bpf_map" (EBADF). The instruction is written as raw bytes because the
 * assembler only emits map LDDWs through relocations. */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_invalid_map_reference(struct xdp_md *ctx)
{
    asm volatile(
        /* r1 = map[7] ll: opcode 0x18, dst r1, src 1 (map fd), imm 7 */
        ".byte 0x18, 0x11, 0, 0, 7, 0, 0, 0;\n"
        ".byte 0, 0, 0, 0, 0, 0, 0, 0;\n"
        "r0 = 2;\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
