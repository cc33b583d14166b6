// Kernel functions (kfuncs) as data: for every kfunc of Linux 6.18, the flags
// its BTF_ID_FLAGS(func, name, flags) line registers and the program types its
// set is registered for (register_btf_kfunc_id_set). Prototypes are not here:
// they come from the kernel's BTF (--kernel-btf). Adding a kfunc is one row in
// kfunc_table.cpp.
//
//   bpf_task_acquire: Acquire | Rcu | ReturnsNull, callable from tracing, tc,
//   xdp, struct_ops, syscall and cgroup programs (the kernel's generic set).
#pragma once

#include "ir/program_type.hpp"

#include <cstdint>
#include <span>
#include <string_view>

namespace bpfvet::analyzer {

// The KF_* flags (include/linux/btf.h), as bits of KfuncDescription::flags.
namespace kfunc_flag {
enum : uint32_t {
    Acquire = 1 << 0,        // KF_ACQUIRE: returns a reference the program must release
    Release = 1 << 1,        // KF_RELEASE: releases the reference passed as its first pointer argument
    ReturnsNull = 1 << 2,    // KF_RET_NULL: the result may be null
    TrustedArguments = 1 << 4,  // KF_TRUSTED_ARGS: pointer arguments must be trusted (referenced or trusted by the hook)
    Sleepable = 1 << 5,      // KF_SLEEPABLE: only sleepable programs
    Destructive = 1 << 6,    // KF_DESTRUCTIVE: needs CAP_SYS_BOOT
    Rcu = 1 << 7,            // KF_RCU: pointer arguments trusted or RCU-protected
    IteratorNew = 1 << 8,    // KF_ITER_NEW
    IteratorNext = 1 << 9,   // KF_ITER_NEXT
    IteratorDestroy = 1 << 10,  // KF_ITER_DESTROY
    RcuProtected = 1 << 11,  // KF_RCU_PROTECTED: only inside bpf_rcu_read_lock
    FastCall = 1 << 12,      // KF_FASTCALL
    ArenaReturn = 1 << 13,   // KF_ARENA_RET
    ArenaArgument1 = 1 << 14,  // KF_ARENA_ARG1
    ArenaArgument2 = 1 << 15,  // KF_ARENA_ARG2
};
}

// The kernel's kfunc hooks (enum btf_kfunc_hook): a set registered for a
// program type is registered for its hook, which may serve several types.
namespace kfunc_hook {
enum : uint32_t {
    Common = 1 << 0,        // BPF_PROG_TYPE_UNSPEC: every program type
    Xdp = 1 << 1,
    Tc = 1 << 2,            // sched_cls
    StructOps = 1 << 3,
    Tracing = 1 << 4,       // tracing, tracepoint, perf_event, lsm
    Syscall = 1 << 5,
    Cgroup = 1 << 6,        // cgroup_skb, cgroup_sock, cgroup_device, cgroup_sock_addr, cgroup_sockopt, cgroup_sysctl, sock_ops
    SchedAct = 1 << 7,
    SkSkb = 1 << 8,
    SocketFilter = 1 << 9,
    Lwt = 1 << 10,          // lwt_in, lwt_out, lwt_xmit, lwt_seg6local
    Netfilter = 1 << 11,
    Kprobe = 1 << 12,
    // Registered with register_btf_fmodret_id_set only: attachable by
    // fmod_ret programs, callable by none.
    None = 0,
};
}

struct KfuncDescription {
    std::string_view name;
    uint32_t flags = 0;  // kfunc_flag bits
    uint32_t hooks = 0;  // kfunc_hook bits of the sets that hold it
};

// Every row, sorted by name.
[[nodiscard]] std::span<const KfuncDescription> kfunc_table();
// The row of `name`, nullptr when 6.18 has no such kfunc.
[[nodiscard]] const KfuncDescription* find_kfunc(std::string_view name);
// The hook a program type's kfuncs come from (bpf_prog_type_to_kfunc_hook);
// 0 for types with none (socket filters have one; raw tracepoints do not).
[[nodiscard]] uint32_t kfunc_hook_of(ir::ProgramType type);
// Whether a program of `type` may call the kfunc (its hooks include Common or the type's hook).
[[nodiscard]] bool kfunc_allowed(const KfuncDescription& kfunc, ir::ProgramType type);

}  // namespace bpfvet::analyzer
