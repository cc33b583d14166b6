/* bpfvet_corpus.h: the one header every corpus program includes.
 *
 * It stands in for libbpf's bpf_helpers.h / bpf_endian.h so the corpus builds
 * from clang-19 and the uapi headers in /usr/include/linux alone:
 *
 *   clang-19 -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
 *            -Icorpus/include -c corpus/xdp_parser.c
 *
 * Helpers are declared by their kernel id (enum bpf_func_id), the way the
 * kernel's own samples did before libbpf: calling a pointer whose value is the
 * id makes clang emit `call <id>`. */
#ifndef BPFVET_CORPUS_H
#define BPFVET_CORPUS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

/* ---- Sections, maps, attributes (libbpf conventions) ---- */

#define SEC(name) __attribute__((section(name), used))
/* BTF-defined maps: the loader reads these fields from the BTF of the
 * variable's type, e.g. `int (*max_entries)[64]` means max_entries = 64. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val) *name
#define __array(name, val) __typeof__(val) *name[]

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#define __noinline __attribute__((noinline))
#define __naked __attribute__((naked))
/* Tags on a global function's parameters, as libbpf's bpf_helpers.h has them:
 * they override what the kernel derives from the parameter's type. */
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))

#define LICENSE_GPL char _license[] SEC("license") = "GPL"

/* Kernel functions (kfuncs): `extern ... __ksym` declarations, which BTF
 * records with extern linkage and the loader resolves by name against the
 * kernel's BTF, as libbpf does. */
#define __ksym __attribute__((section(".ksyms")))
struct task_struct;
struct cgroup;
struct cpumask;
struct bpf_cpumask;
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern struct cgroup *bpf_cgroup_from_id(u64 cgid) __ksym;
extern struct cgroup *bpf_cgroup_ancestor(struct cgroup *cgrp, int level) __ksym;
extern void bpf_cgroup_release(struct cgroup *cgrp) __ksym;
extern long bpf_task_under_cgroup(struct task_struct *task, struct cgroup *ancestor) __ksym;
extern struct bpf_cpumask *bpf_cpumask_create(void) __ksym;
extern void bpf_cpumask_release(struct bpf_cpumask *cpumask) __ksym;
extern void bpf_cpumask_set_cpu(u32 cpu, struct bpf_cpumask *cpumask) __ksym;
extern _Bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __ksym;
extern u32 bpf_cpumask_weight(const struct cpumask *cpumask) __ksym;

/* Open-coded iterators: a struct on the stack that its _new kfunc creates, its
 * _next kfunc advances (NULL at the end) and its _destroy kfunc ends, as the
 * kernel declares them (struct sizes from the kernel's BTF). */
struct bpf_iter_num {
    u64 __opaque[1];
} __attribute__((aligned(8)));
struct bpf_iter_bits {
    u64 __opaque[2];
} __attribute__((aligned(8)));
extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;
extern int bpf_iter_bits_new(struct bpf_iter_bits *it, const u64 *unsafe_ptr__ign, u32 nr_words) __ksym;
extern int *bpf_iter_bits_next(struct bpf_iter_bits *it) __ksym;
extern void bpf_iter_bits_destroy(struct bpf_iter_bits *it) __ksym;

/* The loop macros of libbpf's bpf_helpers.h, written out here with the same
 * shape, so that clang compiles them as it compiles real code: the iterator
 * lives in the for-init with a cleanup() destructor (destroy runs on every
 * way out of the loop), _new is called once through a dummy pointer, and
 * each test calls _next. bpf_for also checks the element against the range,
 * which gives the verifier its bounds. */
#define BPFVET_ITER_SETUP(type, it, ...)                                                     \
    struct bpf_iter_##type it __attribute__((aligned(8), cleanup(bpf_iter_##type##_destroy))), \
        *it##_once __attribute__((unused)) =                                                 \
            (bpf_iter_##type##_new(&it, __VA_ARGS__), (void)bpf_iter_##type##_destroy, (void *)0)
#define bpf_for_each(type, cur, ...) \
    for (BPFVET_ITER_SETUP(type, ___it, __VA_ARGS__); ((cur) = bpf_iter_##type##_next(&___it));)
#define bpf_for(i, start, end)                                                  \
    for (BPFVET_ITER_SETUP(num, ___it, (start), (end));                         \
         ({                                                                     \
             int *___element = bpf_iter_num_next(&___it);                       \
             ___element && ((i) = *___element, (i) >= (start) && (i) < (end)); \
         });)
#define bpf_repeat(n) for (BPFVET_ITER_SETUP(num, ___it, 0, (n)); bpf_iter_num_next(&___it);)

/* The kernel's loop budget (bpf_experimental.h): may_goto jumps out once the
 * program has spent it, so a loop with no bound the verifier can prove still ends. */
#define cond_break                                                   \
    ({                                                               \
        __label__ l_break, l_continue;                               \
        asm volatile goto("may_goto %l[l_break]" :::: l_break);      \
        goto l_continue;                                             \
    l_break:                                                         \
        break;                                                       \
    l_continue:;                                                     \
    })

/* For programs written in BPF assembly (asm volatile in a __naked function),
 * as the kernel's verifier selftests do: %[name] operands. */
#define __imm(name) [name] "i"(name)
#define __imm_const(name, value) [name] "i"(value)
#define __imm_addr(name) [name] "i"(&name)
#define __clobber_all "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"

/* Keeps the compiler from folding a value it could otherwise prove, so that
 * the check we want the verifier to see survives -O2. */
#define barrier_var(var) asm volatile("" : "+r"(var))
#define barrier() asm volatile("" ::: "memory")

#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif

/* ---- Byte order (the BPF target here is little-endian) ---- */

#define bpf_htons(x) ((__be16)__builtin_bswap16(x))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16(x))
#define bpf_htonl(x) ((__be32)__builtin_bswap32(x))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32(x))

/* ---- Helpers, by id ---- */

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)6;
static u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static long (*bpf_skb_store_bytes)(void *skb, u32 offset, const void *from, u32 len, u64 flags) = (void *)9;
static long (*bpf_tail_call)(void *ctx, void *prog_array_map, u32 index) = (void *)12;
static u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static u64 (*bpf_get_current_cgroup_id)(void) = (void *)80;
static u64 (*bpf_get_current_uid_gid)(void) = (void *)15;
static long (*bpf_get_current_comm)(void *buf, u32 size_of_buf) = (void *)16;
static long (*bpf_perf_event_output)(void *ctx, void *map, u64 flags, void *data, u64 size) = (void *)25;
static long (*bpf_skb_load_bytes)(const void *skb, u32 offset, void *to, u32 len) = (void *)26;
static long (*bpf_probe_read_kernel)(void *dst, u32 size, const void *unsafe_ptr) = (void *)113;
static long (*bpf_probe_read_user_str)(void *dst, u32 size, const void *unsafe_ptr) = (void *)114;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, u64 size, u64 flags) = (void *)130;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, u64 size, u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, u64 flags) = (void *)132;
static void (*bpf_ringbuf_discard)(void *data, u64 flags) = (void *)133;

/* ---- Contexts the uapi headers do not give us ---- */

/* struct pt_regs of x86-64 as a kprobe program sees it (arch/x86 uapi
 * layout; asm/ptrace.h would give the i386 one under -target bpf). */
struct pt_regs_x86_64 {
    u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
    u64 ax, cx, dx, si, di;
    u64 orig_ax, ip, cs, flags, sp, ss;
};
#define PT_REGS_PARM1(regs) ((regs)->di)
#define PT_REGS_PARM2(regs) ((regs)->si)
#define PT_REGS_PARM3(regs) ((regs)->dx)

/* The record of the syscalls:sys_enter_* tracepoints: an 8-byte common header,
 * the syscall number, then each argument widened to 8 bytes
 * (see events/syscalls/sys_enter_openat/format in tracefs). */
struct trace_event_raw_sys_enter_openat {
    u16 common_type;
    u8 common_flags;
    u8 common_preempt_count;
    s32 common_pid;
    s32 syscall_nr;
    u32 pad;
    u64 dfd;
    const char *filename;
    u64 flags;
    u64 mode;
};

/* ---- Packet access ---- */

#define PACKET_START(ctx) ((void *)(long)(ctx)->data)
#define PACKET_END(ctx) ((void *)(long)(ctx)->data_end)

#endif /* BPFVET_CORPUS_H */
