/* Reject (invalid-instruction): a 64-bit shift by the constant 64. The
 * kernel refuses constant shift amounts outside [0, width) ("invalid shift
 * 64"); only a register amount is masked. */
#include "bpfvet_corpus.h"

SEC("xdp")
__naked int xdp_shift_too_far(void *ctx)
{
    asm volatile("r0 = 1;"
                 "r0 <<= 63;" /* the widest allowed */
                 "r0 <<= 64;"
                 "r0 = 2;"
                 "exit;" ::: __clobber_all);
}

LICENSE_GPL;
