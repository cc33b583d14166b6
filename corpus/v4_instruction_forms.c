/* cpu v4 instruction forms written out in BPF assembly, so each appears
 * exactly as named: LDXSB (sign-extending load), MOVSX 8->64 and 16->32,
 * BSWAP16, SDIV and SMOD by immediates (64- and 32-bit), and GOTOL (JA with a
 * 32-bit offset in imm; clang only emits it for jumps beyond 32767 slots).
 *
 * Frames of EtherType 0x88B5 carry two signed bytes a (offset 14) and b
 * (offset 15); the program computes a / -2 + b and, independently,
 * (s16)(a * 256 + b) % 3 in 32-bit arithmetic, and drops the frame when the
 * sum is negative or the remainder is negative. Other frames pass. */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_v4_instruction_forms(struct xdp_md *ctx)
{
    asm volatile(
        "r2 = *(u32 *)(r1 + 0);\n"
        "r3 = *(u32 *)(r1 + 4);\n"
        "r0 = 2;\n"                    /* XDP_PASS */
        "r4 = r2;\n"
        "r4 += 16;\n"
        "if r4 > r3 goto 3f;\n"
        "r8 = *(u16 *)(r2 + 12);\n"    /* EtherType as stored: big-endian */
        "r8 = bswap16 r8;\n"           /* BSWAP16 (v4: unconditional swap) */
        "if r8 != 0x88b5 goto 3f;\n"
        "r5 = *(s8 *)(r2 + 14);\n"     /* LDXSB: a in -128..127 */
        "r6 = *(u8 *)(r2 + 15);\n"
        "r6 = (s8)r6;\n"               /* MOVSX 8->64: b in -128..127 */
        "r7 = r5;\n"
        "r7 s/= -2;\n"                 /* SDIV64 by immediate */
        "r7 += r6;\n"                  /* a / -2 + b */
        "w9 = w5;\n"
        "w9 <<= 8;\n"
        "w4 = w6;\n"
        "w4 &= 255;\n"
        "w9 |= w4;\n"                  /* low 16 bits: a:b */
        "w9 = (s16)w9;\n"              /* MOVSX 16->32 */
        "w9 s%%= 3;\n"                  /* SMOD32 by immediate: sign of the dividend */
        "if r7 s< 0 goto 1f;\n"
        "if w9 s< 0 goto 1f;\n"
        "r0 = 2;\n"
        "gotol 3f;\n"                  /* GOTOL */
        "1:\n"
        "r0 = 1;\n"                    /* XDP_DROP */
        "3:\n"
        "exit;\n"
        ::: __clobber_all);
}

LICENSE_GPL;
