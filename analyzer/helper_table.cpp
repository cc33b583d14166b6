#include "analyzer/helper_table.hpp"

#include <array>
#include <initializer_list>

namespace bpfvet::analyzer {
namespace {

using A = ArgumentKind;
using R = ReturnKind;
using enum ir::ProgramType;

constexpr ProgramTypeSet bit(ir::ProgramType type) { return type_bit(type); }
constexpr ProgramTypeSet types(std::initializer_list<ir::ProgramType> list) {
    ProgramTypeSet set = 0;
    for (auto type : list) set |= type_bit(type);
    return set;
}

// Traits, short for the rows below.
constexpr uint8_t C = trait::capability, G = trait::gpl, P = trait::packet, S = trait::sleeps;

// Program-type families, following the kernel's *_func_proto functions; each
// row's set was checked against the Linux 6.18 kernel by loading a call of the
// helper in every program type (where the kernel offers a helper only to some
// attach types of a program type, it is left out: the analyzer does not know
// the attach type).
constexpr ProgramTypeSet every_type = ~ProgramTypeSet(0);  // bpf_base_func_proto
constexpr ProgramTypeSet no_type = 0;
constexpr ProgramTypeSet kprobe_like = types({Kprobe, Tracepoint, PerfEvent, RawTracepoint, RawTracepointWritable});
constexpr ProgramTypeSet tracing_family = types({Tracing, Lsm, Syscall});  // tracing_prog_func_proto
constexpr ProgramTypeSet tracers = kprobe_like | tracing_family;           // bpf_tracing_func_proto
constexpr ProgramTypeSet tc = types({SchedCls, SchedAct});
constexpr ProgramTypeSet tc_lwt_xmit = tc | bit(LwtXmit);
constexpr ProgramTypeSet xdp = bit(Xdp);
constexpr ProgramTypeSet tc_xdp = tc | xdp;
constexpr ProgramTypeSet lwt = types({LwtIn, LwtOut, LwtXmit, LwtSeg6local});
// perf_event_output: every type but these.
constexpr ProgramTypeSet event_output =
    every_type & ~types({LircMode2, SkReuseport, FlowDissector, Netfilter, StructOps, Ext});
// bpf_sk_lookup_* and bpf_skc_lookup_tcp.
constexpr ProgramTypeSet socket_lookups = tc_xdp | types({CgroupSkb, SkSkb, CgroupSockAddr});
// bpf_skc_to_*: bpf_sk_base_func_proto's users and the tracing programs.
constexpr ProgramTypeSet socket_casts =
    tc_xdp | lwt | tracing_family |
    types({SocketFilter, CgroupSkb, SockOps, SkSkb, SkMsg, CgroupSockAddr, FlowDissector, SkLookup});

constexpr HelperPrototype helpers[] = {
    // ---- bpf_base_func_proto: every program type ----
    {1, "bpf_map_lookup_elem", R::MapValueOrNull, {A::MapPointer, A::MapKey}, every_type, P},
    {2, "bpf_map_update_elem", R::Integer, {A::MapPointer, A::MapKey, A::MapValue, A::Anything}, every_type, P},
    {3, "bpf_map_delete_elem", R::Integer, {A::MapPointer, A::MapKey}, every_type, P},
    {4, "bpf_probe_read", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, tracers, G},
    {5, "bpf_ktime_get_ns", R::Integer, {}, every_type},
    {6, "bpf_trace_printk", R::Integer, {A::ReadableMemory, A::Size}, every_type, C | G},
    {7, "bpf_get_prandom_u32", R::Integer, {}, every_type},
    {8, "bpf_get_smp_processor_id", R::Integer, {}, every_type},
    {9, "bpf_skb_store_bytes", R::Integer, {A::Context, A::Anything, A::ReadableMemory, A::Size, A::Anything},
     tc_lwt_xmit | bit(SkSkb)},
    {10, "bpf_l3_csum_replace", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything, A::Anything},
     tc_lwt_xmit},
    {11, "bpf_l4_csum_replace", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything, A::Anything},
     tc_lwt_xmit},
    {12, "bpf_tail_call", R::Void, {A::Context, A::ProgramArray, A::Anything}, every_type},
    {13, "bpf_clone_redirect", R::Integer, {A::Context, A::Anything, A::Anything}, tc_lwt_xmit},
    {14, "bpf_get_current_pid_tgid", R::Integer, {}, every_type},
    {15, "bpf_get_current_uid_gid", R::Integer, {}, every_type},
    {16, "bpf_get_current_comm", R::Integer, {A::WritableMemory, A::Size}, every_type, C},
    // tc and lwt read the skb's classid (the context); the others the current task's, without arguments.
    {17, "bpf_get_cgroup_classid", R::Integer, {A::Context}, every_type, C},
    {18, "bpf_skb_vlan_push", R::Integer, {A::Context, A::Anything, A::Anything}, tc},
    {19, "bpf_skb_vlan_pop", R::Integer, {A::Context}, tc},
    {20, "bpf_skb_get_tunnel_key", R::Integer, {A::Context, A::WritableMemory, A::Size, A::Anything}, tc_lwt_xmit},
    {21, "bpf_skb_set_tunnel_key", R::Integer, {A::Context, A::ReadableMemory, A::Size, A::Anything}, tc_lwt_xmit},
    {22, "bpf_perf_event_read", R::Integer, {A::MapPointer, A::Anything}, every_type, C | G},
    {23, "bpf_redirect", R::Integer, {A::Anything, A::Anything}, tc_xdp | bit(LwtXmit)},
    {24, "bpf_get_route_realm", R::Integer, {A::Context}, tc | lwt},
    {25, "bpf_perf_event_output", R::Integer,
     {A::Context, A::MapPointer, A::Anything, A::ReadableMemory, A::SizeOrZero}, event_output, G},
    {26, "bpf_skb_load_bytes", R::Integer, {A::Context, A::Anything, A::WritableMemory, A::Size},
     tc | lwt | types({SocketFilter, CgroupSkb, SkSkb, SkReuseport, FlowDissector})},
    {27, "bpf_get_stackid", R::Integer, {A::Context, A::MapPointer, A::Anything}, tracers, G},
    {28, "bpf_csum_diff", R::Integer,
     {A::ReadableMemoryOrNull, A::SizeOrZero, A::ReadableMemoryOrNull, A::SizeOrZero, A::Anything}, tc_xdp | lwt, P},
    {29, "bpf_skb_get_tunnel_opt", R::Integer, {A::Context, A::WritableMemory, A::Size}, tc_lwt_xmit},
    {30, "bpf_skb_set_tunnel_opt", R::Integer, {A::Context, A::ReadableMemory, A::Size}, tc_lwt_xmit},
    {31, "bpf_skb_change_proto", R::Integer, {A::Context, A::Anything, A::Anything}, tc},
    {32, "bpf_skb_change_type", R::Integer, {A::Context, A::Anything}, tc},
    {33, "bpf_skb_under_cgroup", R::Integer, {A::Context, A::MapPointer, A::Anything}, tc | lwt},
    {34, "bpf_get_hash_recalc", R::Integer, {A::Context}, tc | lwt},
    {35, "bpf_get_current_task", R::Integer, {}, every_type, C | G},
    // Offered only to CAP_SYS_ADMIN outside lockdown: the oracle kernel refuses it.
    {36, "bpf_probe_write_user", R::Integer, {A::Anything, A::ReadableMemory, A::Size}, no_type, G},
    {37, "bpf_current_task_under_cgroup", R::Integer, {A::MapPointer, A::Anything}, every_type, C},
    {38, "bpf_skb_change_tail", R::Integer, {A::Context, A::Anything, A::Anything}, tc_lwt_xmit | bit(SkSkb)},
    {39, "bpf_skb_pull_data", R::Integer, {A::Context, A::Anything}, tc | lwt | bit(SkSkb)},
    {40, "bpf_csum_update", R::Integer, {A::Context, A::Anything}, tc_lwt_xmit},
    {41, "bpf_set_hash_invalid", R::Integer, {A::Context}, tc_lwt_xmit},
    {42, "bpf_get_numa_node_id", R::Integer, {}, every_type},
    {43, "bpf_skb_change_head", R::Integer, {A::Context, A::Anything, A::Anything}, tc_lwt_xmit | bit(SkSkb)},
    {44, "bpf_xdp_adjust_head", R::Integer, {A::Context, A::Anything}, xdp},
    {45, "bpf_probe_read_str", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, tracers, G},
    // Tracing programs have a variant taking a BTF socket, not modelled.
    {46, "bpf_get_socket_cookie", R::Integer, {A::Context},
     tc | types({SocketFilter, CgroupSkb, CgroupSock, SockOps, SkSkb, CgroupSockAddr, SkReuseport})},
    {47, "bpf_get_socket_uid", R::Integer, {A::Context}, tc | types({SocketFilter, CgroupSkb, SkSkb})},
    {48, "bpf_set_hash", R::Integer, {A::Context, A::Anything}, tc},
    // cgroup_sockopt programs get one of the two depending on their attach
    // type, which the analyzer does not know: neither.
    {49, "bpf_setsockopt", R::Integer, {A::Context, A::Anything, A::Anything, A::ReadableMemory, A::Size},
     types({SockOps, CgroupSockAddr})},
    {50, "bpf_skb_adjust_room", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything}, tc | bit(SkSkb)},
    {51, "bpf_redirect_map", R::Integer, {A::MapPointer, A::Anything, A::Anything}, xdp},
    {52, "bpf_sk_redirect_map", R::Integer, {A::Context, A::MapPointer, A::Anything, A::Anything}, bit(SkSkb)},
    {53, "bpf_sock_map_update", R::Integer, {A::Context, A::MapPointer, A::MapKey, A::Anything}, bit(SockOps)},
    {54, "bpf_xdp_adjust_meta", R::Integer, {A::Context, A::Anything}, xdp},
    {55, "bpf_perf_event_read_value", R::Integer, {A::MapPointer, A::Anything, A::WritableMemory, A::Size},
     every_type, C | G},
    {56, "bpf_perf_prog_read_value", R::Integer, {A::Context, A::WritableMemory, A::Size}, bit(PerfEvent), G},
    {57, "bpf_getsockopt", R::Integer, {A::Context, A::Anything, A::Anything, A::WritableMemory, A::Size},
     types({SockOps, CgroupSockAddr})},
    // Needs CONFIG_BPF_KPROBE_OVERRIDE, which the oracle kernel lacks.
    {58, "bpf_override_return", R::Integer, {A::Context, A::Anything}, no_type, G},
    {59, "bpf_sock_ops_cb_flags_set", R::Integer, {A::Context, A::Anything}, bit(SockOps)},
    {60, "bpf_msg_redirect_map", R::Integer, {A::Context, A::MapPointer, A::Anything, A::Anything}, bit(SkMsg)},
    {61, "bpf_msg_apply_bytes", R::Integer, {A::Context, A::Anything}, bit(SkMsg)},
    {62, "bpf_msg_cork_bytes", R::Integer, {A::Context, A::Anything}, bit(SkMsg)},
    {63, "bpf_msg_pull_data", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything}, bit(SkMsg)},
    // Only cgroup_sock_addr's connect attach types, which the analyzer does not tell apart.
    {64, "bpf_bind", R::Integer, {A::Context, A::ReadableMemory, A::Size}, no_type},
    {65, "bpf_xdp_adjust_tail", R::Integer, {A::Context, A::Anything}, xdp},
    {66, "bpf_skb_get_xfrm_state", R::Integer, {A::Context, A::Anything, A::WritableMemory, A::Size, A::Anything},
     tc},
    {67, "bpf_get_stack", R::Integer, {A::Context, A::WritableMemory, A::SizeOrZero, A::Anything}, tracers, G},
    {68, "bpf_skb_load_bytes_relative", R::Integer,
     {A::Context, A::Anything, A::WritableMemory, A::Size, A::Anything},
     tc | types({SocketFilter, CgroupSkb, SkReuseport})},
    {69, "bpf_fib_lookup", R::Integer, {A::Context, A::WritableMemory, A::Size, A::Anything}, tc_xdp, G},
    {70, "bpf_sock_hash_update", R::Integer, {A::Context, A::MapPointer, A::MapKey, A::Anything}, bit(SockOps)},
    {71, "bpf_msg_redirect_hash", R::Integer, {A::Context, A::MapPointer, A::MapKey, A::Anything}, bit(SkMsg)},
    {72, "bpf_sk_redirect_hash", R::Integer, {A::Context, A::MapPointer, A::MapKey, A::Anything}, bit(SkSkb)},
    {73, "bpf_lwt_push_encap", R::Integer, {A::Context, A::Anything, A::ReadableMemory, A::Size},
     types({LwtIn, LwtXmit})},
    // The seg6local helpers need CONFIG_IPV6_SEG6_BPF, which the oracle kernel lacks.
    {74, "bpf_lwt_seg6_store_bytes", R::Integer, {A::Context, A::Anything, A::ReadableMemory, A::Size}, no_type},
    {75, "bpf_lwt_seg6_adjust_srh", R::Integer, {A::Context, A::Anything, A::Anything}, no_type},
    {76, "bpf_lwt_seg6_action", R::Integer, {A::Context, A::Anything, A::ReadableMemory, A::Size}, no_type},
    {77, "bpf_rc_repeat", R::Integer, {A::Context}, bit(LircMode2)},
    {78, "bpf_rc_keydown", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything}, bit(LircMode2)},
    {79, "bpf_skb_cgroup_id", R::Integer, {A::Context}, tc | bit(CgroupSkb)},
    {80, "bpf_get_current_cgroup_id", R::Integer, {}, every_type, C},
    {81, "bpf_get_local_storage", R::MapValue, {A::MapPointer, A::Anything},
     types({CgroupSkb, CgroupSock, SockOps, CgroupDevice, CgroupSockAddr, CgroupSysctl, CgroupSockopt})},
    {82, "bpf_sk_select_reuseport", R::Integer, {A::Context, A::MapPointer, A::MapKey, A::Anything},
     bit(SkReuseport)},
    {83, "bpf_skb_ancestor_cgroup_id", R::Integer, {A::Context, A::Anything}, tc | bit(CgroupSkb)},
    // Socket lookups take a reference the program must give back with
    // bpf_sk_release (the kernel's acquire/release functions).
    {84, "bpf_sk_lookup_tcp", R::SocketOrNull, {A::Context, A::ReadableMemory, A::Size, A::Anything, A::Anything},
     socket_lookups, P},
    {85, "bpf_sk_lookup_udp", R::SocketOrNull, {A::Context, A::ReadableMemory, A::Size, A::Anything, A::Anything},
     socket_lookups, P},
    {86, "bpf_sk_release", R::Integer, {A::SocketReference}, socket_lookups | bit(SkLookup)},
    {87, "bpf_map_push_elem", R::Integer, {A::MapPointer, A::MapValue, A::Anything}, every_type, P},
    {88, "bpf_map_pop_elem", R::Integer, {A::MapPointer, A::MapValueOutput}, every_type},
    {89, "bpf_map_peek_elem", R::Integer, {A::MapPointer, A::MapValueOutput}, every_type},
    {90, "bpf_msg_push_data", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything}, bit(SkMsg)},
    {91, "bpf_msg_pop_data", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything}, bit(SkMsg)},
    {92, "bpf_rc_pointer_rel", R::Integer, {A::Context, A::Anything, A::Anything}, bit(LircMode2)},
    {93, "bpf_spin_lock", R::Void, {A::SpinLock}, every_type, C},
    {94, "bpf_spin_unlock", R::Void, {A::SpinLock}, every_type, C},
    {95, "bpf_sk_fullsock", R::SocketOrNullUnreferenced, {A::SocketCommon}, tc | bit(CgroupSkb)},
    {96, "bpf_tcp_sock", R::TcpSockOrNull, {A::SocketCommon}, tc | types({CgroupSkb, SockOps, CgroupSockopt})},
    {97, "bpf_skb_ecn_set_ce", R::Integer, {A::Context}, tc | bit(CgroupSkb)},
    {98, "bpf_get_listener_sock", R::SocketOrNullUnreferenced, {A::SocketCommon}, tc | bit(CgroupSkb)},
    {99, "bpf_skc_lookup_tcp", R::SockCommonOrNull, {A::Context, A::ReadableMemory, A::Size, A::Anything, A::Anything},
     socket_lookups, P},
    {100, "bpf_tcp_check_syncookie", R::Integer,
     {A::SocketCommon, A::ReadableMemory, A::Size, A::ReadableMemory, A::Size}, tc_xdp, G | P},
    {101, "bpf_sysctl_get_name", R::Integer, {A::Context, A::WritableMemory, A::Size, A::Anything},
     bit(CgroupSysctl)},
    {102, "bpf_sysctl_get_current_value", R::Integer, {A::Context, A::WritableMemory, A::Size}, bit(CgroupSysctl)},
    {103, "bpf_sysctl_get_new_value", R::Integer, {A::Context, A::WritableMemory, A::Size}, bit(CgroupSysctl)},
    {104, "bpf_sysctl_set_new_value", R::Integer, {A::Context, A::ReadableMemory, A::Size}, bit(CgroupSysctl)},
    {105, "bpf_strtol", R::Integer, {A::ReadableMemory, A::Size, A::Anything, A::FixedOutput}, every_type, 0,
     {0, 0, 0, 8}},
    {106, "bpf_strtoul", R::Integer, {A::ReadableMemory, A::Size, A::Anything, A::FixedOutput}, every_type, 0,
     {0, 0, 0, 8}},
    // Tracing programs have a variant taking a BTF socket, not modelled.
    {107, "bpf_sk_storage_get", R::MapValueOrNull, {A::MapPointer, A::SocketCommon, A::MapValueOrNull, A::Anything},
     tc | types({CgroupSkb, CgroupSock, SockOps, SkMsg, CgroupSockAddr, CgroupSockopt})},
    {108, "bpf_sk_storage_delete", R::Integer, {A::MapPointer, A::SocketCommon},
     tc | types({CgroupSkb, SockOps, SkMsg, CgroupSockAddr, CgroupSockopt})},
    {109, "bpf_send_signal", R::Integer, {A::Anything}, every_type, C},
    {110, "bpf_tcp_gen_syncookie", R::Integer,
     {A::SocketCommon, A::ReadableMemory, A::Size, A::ReadableMemory, A::Size}, tc_xdp, G | P},
    {111, "bpf_skb_output", R::Integer,
     {A::KernelObject, A::MapPointer, A::Anything, A::ReadableMemory, A::SizeOrZero}, tracing_family, G},
    {112, "bpf_probe_read_user", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, every_type, C | G},
    {113, "bpf_probe_read_kernel", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, every_type, C | G},
    {114, "bpf_probe_read_user_str", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, every_type,
     C | G},
    {115, "bpf_probe_read_kernel_str", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, every_type,
     C | G},
    {116, "bpf_tcp_send_ack", R::Integer, {A::KernelObject, A::Anything}, bit(StructOps)},
    {117, "bpf_send_signal_thread", R::Integer, {A::Anything}, every_type, C},
    {118, "bpf_jiffies64", R::Integer, {}, every_type, C},
    {119, "bpf_read_branch_records", R::Integer, {A::Context, A::WritableMemoryOrNull, A::SizeOrZero, A::Anything},
     bit(PerfEvent), G},
    {120, "bpf_get_ns_current_pid_tgid", R::Integer, {A::Anything, A::Anything, A::WritableMemory, A::Size},
     every_type},
    {121, "bpf_xdp_output", R::Integer,
     {A::KernelObject, A::MapPointer, A::Anything, A::ReadableMemory, A::SizeOrZero}, tracing_family, G},
    {122, "bpf_get_netns_cookie", R::Integer, {A::ContextOrNull},
     tc | types({SocketFilter, CgroupSkb, CgroupSock, SockOps, SkMsg, CgroupSockAddr, CgroupSockopt})},
    {123, "bpf_get_current_ancestor_cgroup_id", R::Integer, {A::Anything}, every_type, C},
    // sk_lookup programs have a variant that needs a full socket or null, not modelled.
    {124, "bpf_sk_assign", R::Integer, {A::Context, A::SocketCommon, A::Anything}, tc},
    {125, "bpf_ktime_get_boot_ns", R::Integer, {}, every_type},
    {126, "bpf_seq_printf", R::Integer,
     {A::KernelObject, A::ReadableMemory, A::Size, A::ReadableMemoryOrNull, A::SizeOrZero}, bit(Tracing), G},
    {127, "bpf_seq_write", R::Integer, {A::KernelObject, A::ReadableMemory, A::SizeOrZero}, bit(Tracing), G},
    {128, "bpf_sk_cgroup_id", R::Integer, {A::SocketCommon}, bit(CgroupSkb)},
    {129, "bpf_sk_ancestor_cgroup_id", R::Integer, {A::SocketCommon, A::Anything}, bit(CgroupSkb)},
    {130, "bpf_ringbuf_output", R::Integer, {A::MapPointer, A::ReadableMemory, A::SizeOrZero, A::Anything},
     every_type},
    {131, "bpf_ringbuf_reserve", R::RingbufMemoryOrNull, {A::MapPointer, A::ConstantSize, A::Anything}, every_type},
    {132, "bpf_ringbuf_submit", R::Void, {A::RingbufMemory, A::Anything}, every_type},
    {133, "bpf_ringbuf_discard", R::Void, {A::RingbufMemory, A::Anything}, every_type},
    {134, "bpf_ringbuf_query", R::Integer, {A::MapPointer, A::Anything}, every_type},
    {135, "bpf_csum_level", R::Integer, {A::Context, A::Anything}, tc_lwt_xmit},
    {136, "bpf_skc_to_tcp6_sock", R::KernelObject, {A::SocketCommon}, socket_casts, C},
    {137, "bpf_skc_to_tcp_sock", R::KernelObject, {A::SocketCommon}, socket_casts, C},
    {138, "bpf_skc_to_tcp_timewait_sock", R::KernelObject, {A::SocketCommon}, socket_casts, C},
    {139, "bpf_skc_to_tcp_request_sock", R::KernelObject, {A::SocketCommon}, socket_casts, C},
    {140, "bpf_skc_to_udp6_sock", R::KernelObject, {A::SocketCommon}, socket_casts, C},
    {141, "bpf_get_task_stack", R::Integer, {A::KernelObject, A::WritableMemory, A::SizeOrZero, A::Anything},
     every_type, C},
    {142, "bpf_load_hdr_opt", R::Integer, {A::Context, A::WritableMemory, A::Size, A::Anything}, bit(SockOps)},
    {143, "bpf_store_hdr_opt", R::Integer, {A::Context, A::ReadableMemory, A::Size, A::Anything}, bit(SockOps)},
    {144, "bpf_reserve_hdr_opt", R::Integer, {A::Context, A::Anything, A::Anything}, bit(SockOps)},
    {145, "bpf_inode_storage_get", R::MapValueOrNull,
     {A::MapPointer, A::KernelObject, A::MapValueOrNull, A::Anything}, bit(Lsm)},
    {146, "bpf_inode_storage_delete", R::Integer, {A::MapPointer, A::KernelObject}, bit(Lsm)},
    {147, "bpf_d_path", R::Integer, {A::KernelObject, A::WritableMemory, A::SizeOrZero}, tracing_family},
    {148, "bpf_copy_from_user", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, every_type, C | S},
    {149, "bpf_snprintf_btf", R::Integer, {A::WritableMemory, A::Size, A::ReadableMemory, A::Size, A::Anything},
     every_type, C},
    {150, "bpf_seq_printf_btf", R::Integer, {A::KernelObject, A::ReadableMemory, A::SizeOrZero, A::Anything},
     bit(Tracing)},
    {151, "bpf_skb_cgroup_classid", R::Integer, {A::Context}, tc},
    {152, "bpf_redirect_neigh", R::Integer, {A::Anything, A::ReadableMemoryOrNull, A::SizeOrZero, A::Anything}, tc},
    {153, "bpf_per_cpu_ptr", R::KernelObject, {A::PerCpuKernelObject, A::Anything}, every_type, C},
    {154, "bpf_this_cpu_ptr", R::KernelObject, {A::PerCpuKernelObject}, every_type, C},
    {155, "bpf_redirect_peer", R::Integer, {A::Anything, A::Anything}, tc},
    {156, "bpf_task_storage_get", R::MapValueOrNull, {A::MapPointer, A::KernelObject, A::MapValueOrNull, A::Anything},
     every_type, C},
    {157, "bpf_task_storage_delete", R::Integer, {A::MapPointer, A::KernelObject}, every_type, C},
    {158, "bpf_get_current_task_btf", R::KernelObject, {}, every_type, C | G},
    {159, "bpf_bprm_opts_set", R::Integer, {A::KernelObject, A::Anything}, bit(Lsm)},
    {160, "bpf_ktime_get_coarse_ns", R::Integer, {},
     tc_xdp | lwt |
         types({SocketFilter, CgroupSkb, CgroupSock, SockOps, SkSkb, SkMsg, CgroupSockAddr, SkReuseport,
                FlowDissector, CgroupSysctl, SkLookup})},
    {161, "bpf_ima_inode_hash", R::Integer, {A::KernelObject, A::WritableMemory, A::Size}, bit(Lsm)},
    {162, "bpf_sock_from_file", R::KernelObject, {A::KernelObject}, tracing_family},
    {163, "bpf_check_mtu", R::Integer, {A::Context, A::Anything, A::FixedInOut, A::Anything, A::Anything}, tc_xdp, G,
     {0, 0, 4}},
    {164, "bpf_for_each_map_elem", R::Integer, {A::MapPointer, A::MapCallback, A::StackOrNull, A::Anything},
     every_type, C},
    {165, "bpf_snprintf", R::Integer,
     {A::WritableMemoryOrNull, A::SizeOrZero, A::ConstString, A::ReadableMemoryOrNull, A::SizeOrZero}, every_type,
     C | G},
    {166, "bpf_sys_bpf", R::Integer, {A::Anything, A::ReadableMemory, A::Size}, bit(Syscall)},
    {167, "bpf_btf_find_by_name_kind", R::Integer, {A::ReadableMemory, A::Size, A::Anything, A::Anything},
     bit(Syscall)},
    {168, "bpf_sys_close", R::Integer, {A::Anything}, bit(Syscall)},
    {169, "bpf_timer_init", R::Integer, {A::Timer, A::MapPointer, A::Anything}, every_type, C | G},
    {170, "bpf_timer_set_callback", R::Integer, {A::Timer, A::MapCallback}, every_type, C | G},
    {171, "bpf_timer_start", R::Integer, {A::Timer, A::Anything, A::Anything}, every_type, C | G},
    {172, "bpf_timer_cancel", R::Integer, {A::Timer}, every_type, C | G},
    {173, "bpf_get_func_ip", R::Integer, {A::Context}, kprobe_like | bit(Syscall), G},
    {174, "bpf_get_attach_cookie", R::Integer, {A::Context}, kprobe_like},
    {175, "bpf_task_pt_regs", R::KernelObject, {A::KernelObject}, every_type, C | G},
    {176, "bpf_get_branch_snapshot", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, every_type, C | G},
    {177, "bpf_trace_vprintk", R::Integer, {A::ReadableMemory, A::Size, A::ReadableMemoryOrNull, A::SizeOrZero},
     every_type, C | G},
    {178, "bpf_skc_to_unix_sock", R::KernelObject, {A::SocketCommon}, socket_casts, C},
    {179, "bpf_kallsyms_lookup_name", R::Integer, {A::ReadableMemory, A::Size, A::Anything, A::FixedOutput},
     bit(Syscall), 0, {0, 0, 0, 8}},
    {180, "bpf_find_vma", R::Integer, {A::KernelObject, A::Anything, A::MapCallback, A::StackOrNull, A::Anything},
     every_type, C},
    // bpf_loop(nr_loops, callback(index, ctx), ctx, flags): the callback is
    // analysed where it is called (Engine::execute_loop_callback).
    {181, "bpf_loop", R::Integer, {A::Anything, A::Callback, A::StackOrNull, A::Anything}, every_type, C},
    {182, "bpf_strncmp", R::Integer, {A::ReadableMemory, A::Size, A::ConstString}, every_type},
    // Only with a trampoline (fentry, fexit, ...), which the analyzer does not tell
    // apart from tp_btf and iterators: offered to none.
    {183, "bpf_get_func_arg", R::Integer, {A::Context, A::Anything, A::FixedOutput}, no_type, 0, {0, 0, 8}},
    {184, "bpf_get_func_ret", R::Integer, {A::Context, A::FixedOutput}, no_type, 0, {0, 8}},
    {185, "bpf_get_func_arg_cnt", R::Integer, {A::Context}, no_type},
    {186, "bpf_get_retval", R::Integer, {}, types({CgroupSock, CgroupSockopt})},
    {187, "bpf_set_retval", R::Integer, {A::Anything}, types({CgroupSock, CgroupSockopt})},
    {188, "bpf_xdp_get_buff_len", R::Integer, {A::Context}, xdp},
    {189, "bpf_xdp_load_bytes", R::Integer, {A::Context, A::Anything, A::WritableMemory, A::Size}, xdp},
    {190, "bpf_xdp_store_bytes", R::Integer, {A::Context, A::Anything, A::ReadableMemory, A::Size}, xdp},
    {191, "bpf_copy_from_user_task", R::Integer,
     {A::WritableMemory, A::SizeOrZero, A::Anything, A::KernelObject, A::Anything}, every_type, C | G | S},
    {192, "bpf_skb_set_tstamp", R::Integer, {A::Context, A::Anything, A::Anything}, tc},
    {193, "bpf_ima_file_hash", R::Integer, {A::KernelObject, A::WritableMemory, A::Size}, bit(Lsm)},
    {194, "bpf_kptr_xchg", R::KernelObject, {A::Kptr, A::KernelObject}, every_type, C},
    {195, "bpf_map_lookup_percpu_elem", R::MapValueOrNull, {A::MapPointer, A::MapKey, A::Anything}, every_type, P},
    {196, "bpf_skc_to_mptcp_sock", R::KernelObject, {A::SocketCommon}, socket_casts, C},
    {197, "bpf_dynptr_from_mem", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything, A::Dynptr}, every_type,
     C},
    {198, "bpf_ringbuf_reserve_dynptr", R::Integer, {A::MapPointer, A::Anything, A::Anything, A::Dynptr},
     every_type, C},
    {199, "bpf_ringbuf_submit_dynptr", R::Void, {A::Dynptr, A::Anything}, every_type, C},
    {200, "bpf_ringbuf_discard_dynptr", R::Void, {A::Dynptr, A::Anything}, every_type, C},
    {201, "bpf_dynptr_read", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Dynptr, A::Anything, A::Anything},
     every_type, C},
    {202, "bpf_dynptr_write", R::Integer, {A::Dynptr, A::Anything, A::ReadableMemory, A::SizeOrZero, A::Anything},
     every_type, C},
    {203, "bpf_dynptr_data", R::MemoryOrNull, {A::Dynptr, A::Anything, A::ConstantSize}, every_type, C},
    // struct iphdr is 20 bytes, struct ipv6hdr 40, struct tcphdr 20.
    {204, "bpf_tcp_raw_gen_syncookie_ipv4", R::Integer, {A::FixedReadable, A::ReadableMemory, A::SizeOrZero},
     tc_xdp, G | P, {20}},
    {205, "bpf_tcp_raw_gen_syncookie_ipv6", R::Integer, {A::FixedReadable, A::ReadableMemory, A::SizeOrZero},
     tc_xdp, G | P, {40}},
    {206, "bpf_tcp_raw_check_syncookie_ipv4", R::Integer, {A::FixedReadable, A::FixedReadable}, tc_xdp, G | P,
     {20, 20}},
    {207, "bpf_tcp_raw_check_syncookie_ipv6", R::Integer, {A::FixedReadable, A::FixedReadable}, tc_xdp, G | P,
     {40, 20}},
    {208, "bpf_ktime_get_tai_ns", R::Integer, {}, every_type},
    {209, "bpf_user_ringbuf_drain", R::Integer, {A::MapPointer, A::MapCallback, A::StackOrNull, A::Anything},
     every_type, C},
    {210, "bpf_cgrp_storage_get", R::MapValueOrNull, {A::MapPointer, A::KernelObject, A::MapValueOrNull, A::Anything},
     every_type, C},
    {211, "bpf_cgrp_storage_delete", R::Integer, {A::MapPointer, A::KernelObject}, every_type, C},
};

// bpf_helper_changes_pkt_data of Linux 6.18. bpf_tail_call is not one: a
// tail call that returns leaves the packet as it was (a subprogram that
// tail-calls is another matter, handled where calls are).
constexpr int32_t packet_changing_helpers[] = {9,  10, 11, 13, 18, 19, 31, 38, 39, 43, 44,
                                               50, 54, 63, 65, 73, 74, 75, 76, 90, 91, 143};

using ir::MapType;

// Map types that only some helpers accept, with those helpers.
struct MapTypeRule {
    MapType type;
    std::array<int32_t, 8> helpers;  // 0-terminated
};
constexpr MapTypeRule map_type_rules[] = {
    {MapType::ProgArray, {{12}}},
    {MapType::PerfEventArray, {{22, 25, 55, 111}}},
    {MapType::Ringbuf, {{130, 131, 134}}},
    {MapType::StackTrace, {{27}}},
    {MapType::CgroupArray, {{33, 37}}},
    {MapType::Devmap, {{51, 1}}},
    {MapType::DevmapHash, {{51, 1}}},
    {MapType::Cpumap, {{51}}},
    {MapType::Xskmap, {{51, 1}}},
    {MapType::Sockmap, {{52, 53, 60, 1, 3, 2, 82}}},
    {MapType::Sockhash, {{70, 71, 72, 1, 3, 2, 82}}},
    {MapType::CgroupStorage, {{81}}},
    {MapType::PercpuCgroupStorage, {{81}}},
    {MapType::Queue, {{87, 88, 89}}},
    {MapType::Stack, {{87, 88, 89}}},
    {MapType::BloomFilter, {{87, 89}}},
    {MapType::UserRingbuf, {{209}}},
    {MapType::SkStorage, {{107, 108}}},
    {MapType::InodeStorage, {{145, 146}}},
    {MapType::TaskStorage, {{156, 157}}},
    {MapType::CgrpStorage, {{210, 211}}},
};

// Helpers that only accept some map types.
struct HelperMapRule {
    int32_t helper;
    std::array<MapType, 4> types;  // Unspecified-terminated
};
constexpr HelperMapRule helper_map_rules[] = {
    {12, {{MapType::ProgArray}}},
    {81, {{MapType::CgroupStorage, MapType::PercpuCgroupStorage}}},
    {107, {{MapType::SkStorage}}},
    {108, {{MapType::SkStorage}}},
    {111, {{MapType::PerfEventArray}}},
    {121, {{MapType::PerfEventArray}}},
    {195, {{MapType::PercpuArray, MapType::PercpuHash, MapType::LruPercpuHash}}},
    {22, {{MapType::PerfEventArray}}},
    {25, {{MapType::PerfEventArray}}},
    {55, {{MapType::PerfEventArray}}},
    {27, {{MapType::StackTrace}}},
    {33, {{MapType::CgroupArray}}},
    {37, {{MapType::CgroupArray}}},
    {51, {{MapType::Devmap, MapType::DevmapHash, MapType::Cpumap, MapType::Xskmap}}},
    {52, {{MapType::Sockmap}}},
    {53, {{MapType::Sockmap}}},
    {70, {{MapType::Sockhash}}},
    {130, {{MapType::Ringbuf}}},
    {131, {{MapType::Ringbuf}}},
    {134, {{MapType::Ringbuf}}},
    {87, {{MapType::Queue, MapType::Stack, MapType::BloomFilter}}},
    {88, {{MapType::Queue, MapType::Stack}}},
    {89, {{MapType::Queue, MapType::Stack, MapType::BloomFilter}}},
};

}  // namespace

bool helper_changes_packet_data(int32_t id) {
    for (int32_t h : packet_changing_helpers)
        if (h == id) return true;
    return false;
}

bool map_allowed_for_helper(int32_t id, uint32_t map_type) {
    for (const auto& rule : map_type_rules) {
        if (uint32_t(rule.type) != map_type) continue;
        bool listed = false;
        for (int32_t h : rule.helpers) listed = listed || (h != 0 && h == id);
        if (!listed) return false;
    }
    for (const auto& rule : helper_map_rules) {
        if (rule.helper != id) continue;
        bool listed = false;
        for (MapType t : rule.types) listed = listed || (t != MapType::Unspecified && uint32_t(t) == map_type);
        if (!listed) return false;
    }
    return true;
}

const HelperPrototype* helper_prototype(int32_t id) {
    // Row index by helper id, built once at compile time.
    static constexpr auto index = [] {
        std::array<int16_t, 256> rows{};
        rows.fill(-1);
        for (size_t i = 0; i < std::size(helpers); ++i) rows[size_t(helpers[i].id)] = int16_t(i);
        return rows;
    }();
    if (id < 0 || size_t(id) >= index.size() || index[size_t(id)] < 0) return nullptr;
    return &helpers[size_t(index[size_t(id)])];
}

bool helper_allowed(const HelperPrototype& helper, ir::ProgramType type) {
    return (helper.allowed & type_bit(type)) != 0;
}

bool license_is_gpl_compatible(std::string_view license) {
    return license == "GPL" || license == "GPL v2" || license == "GPL and additional rights" ||
           license == "Dual BSD/GPL" || license == "Dual MIT/GPL" || license == "Dual MPL/GPL";
}

bool helper_accepts_packet(const HelperPrototype& helper, ir::ProgramType type) {
    switch (type) {
    // Program types with direct packet access (read-only or read-write): the
    // helper's own pkt_access flag decides.
    case LwtIn: case LwtOut: case LwtSeg6local: case SkReuseport: case FlowDissector: case CgroupSkb:
    case SchedCls: case SchedAct: case Xdp: case LwtXmit: case SkSkb: case SkMsg:
        return helper.has(trait::packet);
    case CgroupSockopt: return true;  // its "packet" is the option buffer
    default: return false;
    }
}

std::string_view unmodelled_argument(ArgumentKind kind) {
    switch (kind) {
    case A::KernelObject: return "a pointer to a kernel object typed by BTF (ARG_PTR_TO_BTF_ID)";
    case A::PerCpuKernelObject: return "a per-CPU kernel object (ARG_PTR_TO_PERCPU_BTF_ID)";
    case A::FullSocketOrNull: return "a full socket or null (ARG_PTR_TO_SOCKET_OR_NULL)";
    case A::Kptr: return "a kptr field of a map value (ARG_PTR_TO_KPTR)";
    case A::Dynptr: return "a bpf_dynptr (ARG_PTR_TO_DYNPTR)";
    default: return {};
    }
}

std::string_view unmodelled_result(ReturnKind kind) {
    switch (kind) {
    case R::TcpSockOrNull: return "a struct bpf_tcp_sock or null (RET_PTR_TO_TCP_SOCK_OR_NULL)";
    case R::KernelObject: return "a pointer to a kernel object typed by BTF";
    case R::MemoryOrNull: return "memory of a dynptr or null (RET_PTR_TO_DYNPTR_MEM_OR_NULL)";
    default: return {};
    }
}

}  // namespace bpfvet::analyzer
