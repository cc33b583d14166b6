#include "analyzer/kfunc_table.hpp"

#include <algorithm>
#include <array>

namespace bpfvet::analyzer {
namespace {

using namespace kfunc_flag;
using namespace kfunc_hook;

// The hooks of each registration, as the kernel's init functions register
// them (kernel/bpf/helpers.c kfunc_init, kernel/bpf/cpumask.c, ...).
constexpr uint32_t Generic = Tracing | Tc | Xdp | StructOps | Syscall | Cgroup;  // helpers.c generic_kfunc_set
constexpr uint32_t Cpumask = Tracing | StructOps | Syscall;                      // cpumask.c
constexpr uint32_t FileSystem = Tracing;       // fs/bpf_fs_kfuncs.c: LSM, which shares the tracing hook
constexpr uint32_t SyscallOnly = Syscall;      // crypto.c crypt_init_kfunc_set
constexpr uint32_t Crypto = Tc | SchedAct | Xdp;  // crypto.c crypt_kfunc_set
constexpr uint32_t Conntrack = Xdp | Tc;       // nf_conntrack_bpf.c, nf_nat_bpf.c
// net/core/filter.c bpf_kfunc_set_skb.
constexpr uint32_t SkbDynptr = Tc | SchedAct | SkSkb | SocketFilter | Cgroup | Lwt | Netfilter;
constexpr uint32_t TcOnly = Tc;
constexpr uint32_t XdpOnly = Xdp;
constexpr uint32_t StructOpsOnly = StructOps;  // TCP congestion control helpers (bpf_tcp_ca.c, tcp_cubic.c, ...)
constexpr uint32_t TracingOnly = Tracing;
constexpr uint32_t KprobeSession = Kprobe;     // bpf_trace.c, kprobe_multi session programs
constexpr uint32_t CgroupOnly = Cgroup;
constexpr uint32_t FmodretOnly = kfunc_hook::None;

// One row per kfunc, sorted by name (find_kfunc searches it).
constexpr auto table = std::to_array<KfuncDescription>({
    {"__bpf_trap", 0, Common},
    {"bbr_cwnd_event", 0, StructOpsOnly},
    {"bbr_init", 0, StructOpsOnly},
    {"bbr_main", 0, StructOpsOnly},
    {"bbr_min_tso_segs", 0, StructOpsOnly},
    {"bbr_set_state", 0, StructOpsOnly},
    {"bbr_sndbuf_expand", 0, StructOpsOnly},
    {"bbr_ssthresh", 0, StructOpsOnly},
    {"bbr_undo_cwnd", 0, StructOpsOnly},
    {"bpf_arena_alloc_pages", TrustedArguments | Sleepable | ArenaReturn | ArenaArgument2, Common},
    {"bpf_arena_free_pages", TrustedArguments | Sleepable | ArenaArgument2, Common},
    {"bpf_arena_reserve_pages", TrustedArguments | Sleepable | ArenaArgument2, Common},
    {"bpf_cast_to_kern_ctx", 0, Common},
    {"bpf_cgroup_acquire", Acquire | Rcu | ReturnsNull, Generic},
    {"bpf_cgroup_ancestor", Acquire | Rcu | ReturnsNull, Generic},
    {"bpf_cgroup_from_id", Acquire | ReturnsNull, Generic},
    {"bpf_cgroup_read_xattr", Rcu, FileSystem},
    {"bpf_cgroup_release", Release, Generic},
    {"bpf_copy_from_user_dynptr", Sleepable, Common},
    {"bpf_copy_from_user_str", Sleepable, Common},
    {"bpf_copy_from_user_str_dynptr", Sleepable, Common},
    {"bpf_copy_from_user_task_dynptr", Sleepable | TrustedArguments, Common},
    {"bpf_copy_from_user_task_str", Sleepable, Common},
    {"bpf_copy_from_user_task_str_dynptr", Sleepable | TrustedArguments, Common},
    {"bpf_cpumask_acquire", Acquire | TrustedArguments, Cpumask},
    {"bpf_cpumask_and", Rcu, Cpumask},
    {"bpf_cpumask_any_and_distribute", Rcu, Cpumask},
    {"bpf_cpumask_any_distribute", Rcu, Cpumask},
    {"bpf_cpumask_clear", Rcu, Cpumask},
    {"bpf_cpumask_clear_cpu", Rcu, Cpumask},
    {"bpf_cpumask_copy", Rcu, Cpumask},
    {"bpf_cpumask_create", Acquire | ReturnsNull, Cpumask},
    {"bpf_cpumask_empty", Rcu, Cpumask},
    {"bpf_cpumask_equal", Rcu, Cpumask},
    {"bpf_cpumask_first", Rcu, Cpumask},
    {"bpf_cpumask_first_and", Rcu, Cpumask},
    {"bpf_cpumask_first_zero", Rcu, Cpumask},
    {"bpf_cpumask_full", Rcu, Cpumask},
    {"bpf_cpumask_intersects", Rcu, Cpumask},
    {"bpf_cpumask_or", Rcu, Cpumask},
    {"bpf_cpumask_populate", Rcu, Cpumask},
    {"bpf_cpumask_release", Release, Cpumask},
    {"bpf_cpumask_set_cpu", Rcu, Cpumask},
    {"bpf_cpumask_setall", Rcu, Cpumask},
    {"bpf_cpumask_subset", Rcu, Cpumask},
    {"bpf_cpumask_test_and_clear_cpu", Rcu, Cpumask},
    {"bpf_cpumask_test_and_set_cpu", Rcu, Cpumask},
    {"bpf_cpumask_test_cpu", Rcu, Cpumask},
    {"bpf_cpumask_weight", Rcu, Cpumask},
    {"bpf_cpumask_xor", Rcu, Cpumask},
    {"bpf_crash_kexec", Destructive, Generic},
    {"bpf_crypto_ctx_acquire", Acquire | Rcu | ReturnsNull, SyscallOnly},
    {"bpf_crypto_ctx_create", Acquire | ReturnsNull | Sleepable, SyscallOnly},
    {"bpf_crypto_ctx_release", Release, SyscallOnly},
    {"bpf_crypto_decrypt", Rcu, Crypto},
    {"bpf_crypto_encrypt", Rcu, Crypto},
    {"bpf_ct_change_status", TrustedArguments, Conntrack},
    {"bpf_ct_change_timeout", TrustedArguments, Conntrack},
    {"bpf_ct_insert_entry", Acquire | ReturnsNull | Release, Conntrack},
    {"bpf_ct_release", Release, Conntrack},
    {"bpf_ct_set_nat_info", TrustedArguments, Conntrack},
    {"bpf_ct_set_status", TrustedArguments, Conntrack},
    {"bpf_ct_set_timeout", TrustedArguments, Conntrack},
    {"bpf_dynptr_adjust", 0, Common},
    {"bpf_dynptr_clone", 0, Common},
    {"bpf_dynptr_copy", 0, Common},
    {"bpf_dynptr_from_skb", TrustedArguments, SkbDynptr},
    {"bpf_dynptr_from_skb_meta", TrustedArguments, TcOnly},
    {"bpf_dynptr_from_xdp", 0, XdpOnly},
    {"bpf_dynptr_is_null", 0, Common},
    {"bpf_dynptr_is_rdonly", 0, Common},
    {"bpf_dynptr_memset", 0, Common},
    {"bpf_dynptr_size", 0, Common},
    {"bpf_dynptr_slice", ReturnsNull, Common},
    {"bpf_dynptr_slice_rdwr", ReturnsNull, Common},
    {"bpf_fentry_test1", 0, FmodretOnly},
    {"bpf_get_dentry_xattr", Sleepable | TrustedArguments, FileSystem},
    {"bpf_get_file_xattr", Sleepable | TrustedArguments, FileSystem},
    {"bpf_get_fsverity_digest", TrustedArguments, FileSystem},
    {"bpf_get_kmem_cache", ReturnsNull, Common},
    {"bpf_get_task_exe_file", Acquire | TrustedArguments | ReturnsNull, FileSystem},
    {"bpf_iter_bits_destroy", IteratorDestroy, Common},
    {"bpf_iter_bits_new", IteratorNew, Common},
    {"bpf_iter_bits_next", IteratorNext | ReturnsNull, Common},
    {"bpf_iter_css_destroy", IteratorDestroy, Common},
    {"bpf_iter_css_new", IteratorNew | TrustedArguments | RcuProtected, Common},
    {"bpf_iter_css_next", IteratorNext | ReturnsNull, Common},
    {"bpf_iter_css_task_destroy", IteratorDestroy, Common},
    {"bpf_iter_css_task_new", IteratorNew | TrustedArguments, Common},
    {"bpf_iter_css_task_next", IteratorNext | ReturnsNull, Common},
    {"bpf_iter_dmabuf_destroy", IteratorDestroy | Sleepable, Common},
    {"bpf_iter_dmabuf_new", IteratorNew | Sleepable, Common},
    {"bpf_iter_dmabuf_next", IteratorNext | ReturnsNull | Sleepable, Common},
    {"bpf_iter_kmem_cache_destroy", IteratorDestroy | Sleepable, Common},
    {"bpf_iter_kmem_cache_new", IteratorNew | Sleepable, Common},
    {"bpf_iter_kmem_cache_next", IteratorNext | ReturnsNull | Sleepable, Common},
    {"bpf_iter_num_destroy", IteratorDestroy, Common},
    {"bpf_iter_num_new", IteratorNew, Common},
    {"bpf_iter_num_next", IteratorNext | ReturnsNull, Common},
    {"bpf_iter_task_destroy", IteratorDestroy, Common},
    {"bpf_iter_task_new", IteratorNew | TrustedArguments | RcuProtected, Common},
    {"bpf_iter_task_next", IteratorNext | ReturnsNull, Common},
    {"bpf_iter_task_vma_destroy", IteratorDestroy, Common},
    {"bpf_iter_task_vma_new", IteratorNew | Rcu, Common},
    {"bpf_iter_task_vma_next", IteratorNext | ReturnsNull, Common},
    {"bpf_key_put", Release, Generic},
    {"bpf_kfunc_call_memb_release", Release, TcOnly},
    {"bpf_kfunc_call_test_release", Release, TcOnly},
    {"bpf_list_back", ReturnsNull, Generic},
    {"bpf_list_front", ReturnsNull, Generic},
    {"bpf_list_pop_back", Acquire | ReturnsNull, Generic},
    {"bpf_list_pop_front", Acquire | ReturnsNull, Generic},
    {"bpf_list_push_back_impl", 0, Generic},
    {"bpf_list_push_front_impl", 0, Generic},
    {"bpf_local_irq_restore", 0, Common},
    {"bpf_local_irq_save", 0, Common},
    {"bpf_lookup_system_key", Acquire | ReturnsNull, Generic},
    {"bpf_lookup_user_key", Acquire | ReturnsNull | Sleepable, Generic},
    {"bpf_map_sum_elem_count", TrustedArguments, Common},
    {"bpf_modify_return_test", 0, FmodretOnly},
    {"bpf_modify_return_test2", 0, FmodretOnly},
    {"bpf_modify_return_test_tp", 0, Common},
    {"bpf_obj_drop_impl", Release, Generic},
    {"bpf_obj_new_impl", Acquire | ReturnsNull, Generic},
    {"bpf_path_d_path", TrustedArguments, FileSystem},
    {"bpf_percpu_obj_drop_impl", Release, Generic},
    {"bpf_percpu_obj_new_impl", Acquire | ReturnsNull, Generic},
    {"bpf_preempt_disable", 0, Common},
    {"bpf_preempt_enable", 0, Common},
    {"bpf_probe_read_kernel_dynptr", 0, Common},
    {"bpf_probe_read_kernel_str_dynptr", 0, Common},
    {"bpf_probe_read_user_dynptr", 0, Common},
    {"bpf_probe_read_user_str_dynptr", 0, Common},
    {"bpf_put_file", Release, FileSystem},
    {"bpf_rbtree_add_impl", 0, Generic},
    {"bpf_rbtree_first", ReturnsNull, Generic},
    {"bpf_rbtree_left", ReturnsNull, Generic},
    {"bpf_rbtree_remove", Acquire | ReturnsNull, Generic},
    {"bpf_rbtree_right", ReturnsNull, Generic},
    {"bpf_rbtree_root", ReturnsNull, Generic},
    {"bpf_rcu_read_lock", 0, Common},
    {"bpf_rcu_read_unlock", 0, Common},
    {"bpf_rdonly_cast", 0, Common},
    {"bpf_refcount_acquire_impl", Acquire | ReturnsNull | Rcu, Generic},
    {"bpf_remove_dentry_xattr", Sleepable | TrustedArguments, FileSystem},
    {"bpf_res_spin_lock", ReturnsNull, Common},
    {"bpf_res_spin_lock_irqsave", ReturnsNull, Common},
    {"bpf_res_spin_unlock", 0, Common},
    {"bpf_res_spin_unlock_irqrestore", 0, Common},
    {"bpf_send_signal_task", TrustedArguments, Generic},
    {"bpf_session_cookie", 0, KprobeSession},
    {"bpf_session_is_return", 0, KprobeSession},
    {"bpf_set_dentry_xattr", Sleepable | TrustedArguments, FileSystem},
    {"bpf_sk_assign_tcp_reqsk", TrustedArguments, TcOnly},
    {"bpf_skb_ct_alloc", Acquire | ReturnsNull, Conntrack},
    {"bpf_skb_ct_lookup", Acquire | ReturnsNull, Conntrack},
    {"bpf_sock_addr_set_sun_path", TrustedArguments, CgroupOnly},
    {"bpf_sock_destroy", TrustedArguments, TracingOnly},
    {"bpf_sock_ops_enable_tx_tstamp", 0, CgroupOnly},
    {"bpf_strcasecmp", 0, Common},
    {"bpf_strchr", 0, Common},
    {"bpf_strchrnul", 0, Common},
    {"bpf_strcmp", 0, Common},
    {"bpf_strcspn", 0, Common},
    {"bpf_stream_vprintk_impl", TrustedArguments, Common},
    {"bpf_strlen", 0, Common},
    {"bpf_strnchr", 0, Common},
    {"bpf_strnlen", 0, Common},
    {"bpf_strnstr", 0, Common},
    {"bpf_strrchr", 0, Common},
    {"bpf_strspn", 0, Common},
    {"bpf_strstr", 0, Common},
    {"bpf_task_acquire", Acquire | Rcu | ReturnsNull, Generic},
    {"bpf_task_from_pid", Acquire | ReturnsNull, Generic},
    {"bpf_task_from_vpid", Acquire | ReturnsNull, Generic},
    {"bpf_task_get_cgroup1", Acquire | Rcu | ReturnsNull, Generic},
    {"bpf_task_release", Release, Generic},
    {"bpf_task_under_cgroup", Rcu, Generic},
    {"bpf_task_work_schedule_resume_impl", 0, Common},
    {"bpf_task_work_schedule_signal_impl", 0, Common},
    {"bpf_throw", 0, Generic},
    {"bpf_verify_pkcs7_signature", Sleepable, Generic},
    {"bpf_wq_init", 0, Common},
    {"bpf_wq_set_callback_impl", 0, Common},
    {"bpf_wq_start", 0, Common},
    {"bpf_xdp_ct_alloc", Acquire | ReturnsNull, Conntrack},
    {"bpf_xdp_ct_lookup", Acquire | ReturnsNull, Conntrack},
    {"bpf_xdp_get_xfrm_state", Acquire | ReturnsNull, XdpOnly},
    {"bpf_xdp_metadata_rx_hash", TrustedArguments, XdpOnly},
    {"bpf_xdp_metadata_rx_timestamp", TrustedArguments, XdpOnly},
    {"bpf_xdp_metadata_rx_vlan_tag", TrustedArguments, XdpOnly},
    {"bpf_xdp_pull_data", 0, XdpOnly},
    {"bpf_xdp_xfrm_state_release", Release, XdpOnly},
    {"css_rstat_flush", Sleepable, TracingOnly},
    {"css_rstat_updated", 0, TracingOnly},
    {"cubictcp_acked", 0, StructOpsOnly},
    {"cubictcp_cong_avoid", 0, StructOpsOnly},
    {"cubictcp_cwnd_event", 0, StructOpsOnly},
    {"cubictcp_init", 0, StructOpsOnly},
    {"cubictcp_recalc_ssthresh", 0, StructOpsOnly},
    {"cubictcp_state", 0, StructOpsOnly},
    {"dctcp_cwnd_event", 0, StructOpsOnly},
    {"dctcp_cwnd_undo", 0, StructOpsOnly},
    {"dctcp_init", 0, StructOpsOnly},
    {"dctcp_ssthresh", 0, StructOpsOnly},
    {"dctcp_state", 0, StructOpsOnly},
    {"dctcp_update_alpha", 0, StructOpsOnly},
    {"tcp_cong_avoid_ai", 0, StructOpsOnly},
    {"tcp_reno_cong_avoid", 0, StructOpsOnly},
    {"tcp_reno_ssthresh", 0, StructOpsOnly},
    {"tcp_reno_undo_cwnd", 0, StructOpsOnly},
    {"tcp_slow_start", 0, StructOpsOnly},
});

static_assert(std::ranges::is_sorted(table, {}, &KfuncDescription::name));

}  // namespace

std::span<const KfuncDescription> kfunc_table() { return table; }

const KfuncDescription* find_kfunc(std::string_view name) {
    auto it = std::ranges::lower_bound(table, name, {}, &KfuncDescription::name);
    return it != table.end() && it->name == name ? &*it : nullptr;
}

uint32_t kfunc_hook_of(ir::ProgramType type) {
    using ir::ProgramType;
    switch (type) {
    case ProgramType::Xdp: return Xdp;
    case ProgramType::SchedCls: return Tc;
    case ProgramType::StructOps: return StructOps;
    case ProgramType::Tracing:
    case ProgramType::Tracepoint:
    case ProgramType::PerfEvent:
    case ProgramType::Lsm: return Tracing;
    case ProgramType::Syscall: return Syscall;
    case ProgramType::CgroupSkb:
    case ProgramType::CgroupSock:
    case ProgramType::CgroupDevice:
    case ProgramType::CgroupSockAddr:
    case ProgramType::CgroupSockopt:
    case ProgramType::CgroupSysctl:
    case ProgramType::SockOps: return Cgroup;
    case ProgramType::SchedAct: return SchedAct;
    case ProgramType::SkSkb: return SkSkb;
    case ProgramType::SocketFilter: return SocketFilter;
    case ProgramType::LwtIn:
    case ProgramType::LwtOut:
    case ProgramType::LwtXmit:
    case ProgramType::LwtSeg6local: return Lwt;
    case ProgramType::Netfilter: return Netfilter;
    case ProgramType::Kprobe: return Kprobe;
    default: return 0;
    }
}

bool kfunc_allowed(const KfuncDescription& kfunc, ir::ProgramType type) {
    return (kfunc.hooks & Common) != 0 || (kfunc.hooks & kfunc_hook_of(type)) != 0;
}

}  // namespace bpfvet::analyzer
