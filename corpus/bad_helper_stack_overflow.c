/* Reject (stack-out-of-bounds): a helper told to write 32 bytes into a
 * 16-byte stack buffer. The buffer is the frame's only object, at r10 - 16,
 * so the write would run 16 bytes past the top of the stack. A classic
 * sizeof mistake. Kernel: "invalid indirect access to stack R1 off=-16 size=32". */
#include "bpfvet_corpus.h"

#define COPY_SIZE 32

SEC("kprobe/do_sys_openat2")
int kprobe_helper_stack_overflow(struct pt_regs_x86_64 *regs)
{
    char name[16];
    /* Should be sizeof(name). */
    bpf_probe_read_user_str(name, COPY_SIZE, (const void *)PT_REGS_PARM2(regs));
    return name[0] == '/';
}

LICENSE_GPL;
