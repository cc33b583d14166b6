#include "analyzer/helper_table.hpp"

#include <array>
#include <initializer_list>

namespace bpfvet::analyzer {
namespace {

using ir::ProgramType;
using A = ArgumentKind;
using R = ReturnKind;

constexpr ProgramTypeSet set_of(std::initializer_list<ProgramType> types) {
    ProgramTypeSet set = 0;
    for (auto t : types) set |= type_bit(t);
    return set;
}

// Program-type families, following the kernel's *_func_proto functions.
constexpr ProgramTypeSet all_types = ~ProgramTypeSet(0);
constexpr ProgramTypeSet tracing = set_of({ProgramType::Kprobe, ProgramType::Tracepoint, ProgramType::RawTracepoint,
                                           ProgramType::RawTracepointWritable, ProgramType::PerfEvent,
                                           ProgramType::Tracing, ProgramType::Lsm, ProgramType::Syscall});
constexpr ProgramTypeSet tc = set_of({ProgramType::SchedCls, ProgramType::SchedAct});
constexpr ProgramTypeSet lwt = set_of({ProgramType::LwtIn, ProgramType::LwtOut, ProgramType::LwtXmit,
                                       ProgramType::LwtSeg6local});
constexpr ProgramTypeSet skb_readers =
    tc | lwt |
    set_of({ProgramType::SocketFilter, ProgramType::CgroupSkb, ProgramType::SkSkb, ProgramType::SkReuseport,
            ProgramType::FlowDissector});
constexpr ProgramTypeSet xdp = type_bit(ProgramType::Xdp);
constexpr ProgramTypeSet cgroup = set_of({ProgramType::CgroupSkb, ProgramType::CgroupSock, ProgramType::CgroupSockAddr,
                                          ProgramType::CgroupSockopt, ProgramType::CgroupSysctl,
                                          ProgramType::CgroupDevice, ProgramType::SockOps});
// perf_event_output: every type with a context the kernel can sample from.
constexpr ProgramTypeSet event_output = tracing | tc | lwt | xdp |
    set_of({ProgramType::SocketFilter, ProgramType::CgroupSkb, ProgramType::SockOps, ProgramType::SkSkb,
            ProgramType::SkMsg, ProgramType::CgroupSock, ProgramType::CgroupSockAddr});


// bpf_sk_lookup_* and bpf_sk_release: tc, XDP, sk_skb and cgroup sock_addr.
constexpr ProgramTypeSet socket_lookups =
    tc | xdp | set_of({ProgramType::SkSkb, ProgramType::CgroupSockAddr});

constexpr HelperPrototype helpers[] = {
    {1, "bpf_map_lookup_elem", R::MapValueOrNull, {A::MapPointer, A::MapKey}, all_types},
    // bpf_loop(nr_loops, callback(index, ctx), ctx, flags): the callback is
    // analysed where it is called (Engine::execute_loop_callback).
    {181, "bpf_loop", R::Integer, {A::Anything, A::Callback, A::Anything, A::Anything}, all_types, true},
    {2, "bpf_map_update_elem", R::Integer, {A::MapPointer, A::MapKey, A::MapValue, A::Anything}, all_types},
    {3, "bpf_map_delete_elem", R::Integer, {A::MapPointer, A::MapKey}, all_types},
    {4, "bpf_probe_read", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, tracing},
    {5, "bpf_ktime_get_ns", R::Integer, {}, all_types},
    {6, "bpf_trace_printk", R::Integer, {A::ReadableMemory, A::Size}, all_types},
    {7, "bpf_get_prandom_u32", R::Integer, {}, all_types},
    {8, "bpf_get_smp_processor_id", R::Integer, {}, all_types},
    {9, "bpf_skb_store_bytes", R::Integer,
     {A::Context, A::Anything, A::ReadableMemory, A::Size, A::Anything},
     tc | set_of({ProgramType::LwtXmit, ProgramType::SkSkb})},
    {10, "bpf_l3_csum_replace", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything, A::Anything},
     tc | type_bit(ProgramType::LwtXmit)},
    {11, "bpf_l4_csum_replace", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything, A::Anything},
     tc | type_bit(ProgramType::LwtXmit)},
    {12, "bpf_tail_call", R::Void, {A::Context, A::ProgramArray, A::Anything}, all_types},
    {13, "bpf_clone_redirect", R::Integer, {A::Context, A::Anything, A::Anything},
     tc | type_bit(ProgramType::LwtXmit)},
    {14, "bpf_get_current_pid_tgid", R::Integer, {}, tracing | cgroup},
    {15, "bpf_get_current_uid_gid", R::Integer, {}, tracing | cgroup},
    {16, "bpf_get_current_comm", R::Integer, {A::WritableMemory, A::Size}, all_types},
    {17, "bpf_get_cgroup_classid", R::Integer, {A::Context}, tc | lwt},
    {18, "bpf_skb_vlan_push", R::Integer, {A::Context, A::Anything, A::Anything}, tc},
    {19, "bpf_skb_vlan_pop", R::Integer, {A::Context}, tc},
    {20, "bpf_skb_get_tunnel_key", R::Integer, {A::Context, A::WritableMemory, A::Size, A::Anything},
     tc | type_bit(ProgramType::LwtXmit)},
    {21, "bpf_skb_set_tunnel_key", R::Integer, {A::Context, A::ReadableMemory, A::Size, A::Anything},
     tc | type_bit(ProgramType::LwtXmit)},
    {22, "bpf_perf_event_read", R::Integer, {A::MapPointer, A::Anything}, tracing},
    {23, "bpf_redirect", R::Integer, {A::Anything, A::Anything}, tc | xdp | type_bit(ProgramType::LwtXmit)},
    {24, "bpf_get_route_realm", R::Integer, {A::Context}, tc | lwt},
    {25, "bpf_perf_event_output", R::Integer,
     {A::Context, A::MapPointer, A::Anything, A::ReadableMemory, A::SizeOrZero}, event_output},
    {26, "bpf_skb_load_bytes", R::Integer, {A::Context, A::Anything, A::WritableMemory, A::Size}, skb_readers},
    {27, "bpf_get_stackid", R::Integer, {A::Context, A::MapPointer, A::Anything}, tracing},
    {28, "bpf_csum_diff", R::Integer,
     {A::ReadableMemoryOrNull, A::SizeOrZero, A::ReadableMemoryOrNull, A::SizeOrZero, A::Anything},
     tc | xdp | lwt | type_bit(ProgramType::SkSkb)},
    {29, "bpf_skb_get_tunnel_opt", R::Integer, {A::Context, A::WritableMemory, A::Size}, tc},
    {30, "bpf_skb_set_tunnel_opt", R::Integer, {A::Context, A::ReadableMemory, A::Size}, tc},
    {31, "bpf_skb_change_proto", R::Integer, {A::Context, A::Anything, A::Anything}, tc},
    {32, "bpf_skb_change_type", R::Integer, {A::Context, A::Anything}, tc},
    {33, "bpf_skb_under_cgroup", R::Integer, {A::Context, A::MapPointer, A::Anything}, tc},
    {34, "bpf_get_hash_recalc", R::Integer, {A::Context}, tc | lwt},
    {35, "bpf_get_current_task", R::Integer, {}, tracing},
    {36, "bpf_probe_write_user", R::Integer, {A::Anything, A::ReadableMemory, A::Size}, tracing},
    {37, "bpf_current_task_under_cgroup", R::Integer, {A::MapPointer, A::Anything}, tracing},
    {38, "bpf_skb_change_tail", R::Integer, {A::Context, A::Anything, A::Anything},
     tc | type_bit(ProgramType::SkSkb)},
    {39, "bpf_skb_pull_data", R::Integer, {A::Context, A::Anything},
     tc | type_bit(ProgramType::SkSkb) | type_bit(ProgramType::LwtXmit)},
    {40, "bpf_csum_update", R::Integer, {A::Context, A::Anything}, tc},
    {41, "bpf_set_hash_invalid", R::Integer, {A::Context}, tc},
    {42, "bpf_get_numa_node_id", R::Integer, {}, all_types},
    {43, "bpf_skb_change_head", R::Integer, {A::Context, A::Anything, A::Anything},
     tc | type_bit(ProgramType::SkSkb)},
    {44, "bpf_xdp_adjust_head", R::Integer, {A::Context, A::Anything}, xdp},
    {45, "bpf_probe_read_str", R::Integer, {A::WritableMemory, A::Size, A::Anything}, tracing},
    {46, "bpf_get_socket_cookie", R::Integer, {A::Context}, skb_readers | cgroup},
    {47, "bpf_get_socket_uid", R::Integer, {A::Context}, skb_readers},
    {48, "bpf_set_hash", R::Integer, {A::Context, A::Anything}, tc},
    {49, "bpf_setsockopt", R::Integer, {A::Context, A::Anything, A::Anything, A::ReadableMemory, A::Size},
     set_of({ProgramType::SockOps, ProgramType::CgroupSockAddr, ProgramType::CgroupSockopt})},
    {50, "bpf_skb_adjust_room", R::Integer, {A::Context, A::Anything, A::Anything, A::Anything},
     tc | type_bit(ProgramType::SkSkb)},
    {51, "bpf_redirect_map", R::Integer, {A::MapPointer, A::Anything, A::Anything}, xdp},
    {52, "bpf_sk_redirect_map", R::Integer, {A::Context, A::MapPointer, A::Anything, A::Anything},
     type_bit(ProgramType::SkSkb)},
    {53, "bpf_sock_map_update", R::Integer, {A::Context, A::MapPointer, A::MapKey, A::Anything},
     type_bit(ProgramType::SockOps)},
    {54, "bpf_xdp_adjust_meta", R::Integer, {A::Context, A::Anything}, xdp},
    {55, "bpf_perf_event_read_value", R::Integer, {A::MapPointer, A::Anything, A::WritableMemory, A::Size}, tracing},
    {56, "bpf_perf_prog_read_value", R::Integer, {A::Context, A::WritableMemory, A::Size},
     type_bit(ProgramType::PerfEvent)},
    {57, "bpf_getsockopt", R::Integer, {A::Context, A::Anything, A::Anything, A::WritableMemory, A::Size},
     set_of({ProgramType::SockOps, ProgramType::CgroupSockAddr, ProgramType::CgroupSockopt})},
    {58, "bpf_override_return", R::Integer, {A::Context, A::Anything}, type_bit(ProgramType::Kprobe)},
    {59, "bpf_sock_ops_cb_flags_set", R::Integer, {A::Context, A::Anything}, type_bit(ProgramType::SockOps)},
    {65, "bpf_xdp_adjust_tail", R::Integer, {A::Context, A::Anything}, xdp},
    {67, "bpf_get_stack", R::Integer, {A::Context, A::WritableMemory, A::SizeOrZero, A::Anything}, tracing},
    {68, "bpf_skb_load_bytes_relative", R::Integer,
     {A::Context, A::Anything, A::WritableMemory, A::Size, A::Anything}, skb_readers},
    {69, "bpf_fib_lookup", R::Integer, {A::Context, A::WritableMemory, A::Size, A::Anything}, tc | xdp},
    {70, "bpf_sock_hash_update", R::Integer, {A::Context, A::MapPointer, A::MapKey, A::Anything},
     type_bit(ProgramType::SockOps)},
    {80, "bpf_get_current_cgroup_id", R::Integer, {}, tracing | cgroup},
    // Socket lookups take a reference the program must give back with
    // bpf_sk_release (the kernel's acquire/release functions).
    {84, "bpf_sk_lookup_tcp", R::SocketOrNull,
     {A::Context, A::ReadableMemory, A::Size, A::Anything, A::Anything}, socket_lookups},
    {85, "bpf_sk_lookup_udp", R::SocketOrNull,
     {A::Context, A::ReadableMemory, A::Size, A::Anything, A::Anything}, socket_lookups},
    {86, "bpf_sk_release", R::Integer, {A::SocketReference}, socket_lookups},
    {87, "bpf_map_push_elem", R::Integer, {A::MapPointer, A::MapValue, A::Anything}, all_types},
    {88, "bpf_map_pop_elem", R::Integer, {A::MapPointer, A::MapValueOutput}, all_types},
    {89, "bpf_map_peek_elem", R::Integer, {A::MapPointer, A::MapValueOutput}, all_types},
    {95, "bpf_sk_fullsock", R::FullSocketOrNull, {A::Socket}, tc | set_of({ProgramType::CgroupSkb})},
    {99, "bpf_skc_lookup_tcp", R::SockCommonOrNull,
     {A::Context, A::ReadableMemory, A::Size, A::Anything, A::Anything}, socket_lookups},
    {112, "bpf_probe_read_user", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, tracing},
    {113, "bpf_probe_read_kernel", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, all_types},
    {114, "bpf_probe_read_user_str", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, tracing},
    {115, "bpf_probe_read_kernel_str", R::Integer, {A::WritableMemory, A::SizeOrZero, A::Anything}, all_types},
    {118, "bpf_jiffies64", R::Integer, {}, all_types},
    {125, "bpf_ktime_get_boot_ns", R::Integer, {}, all_types},
    {130, "bpf_ringbuf_output", R::Integer, {A::MapPointer, A::ReadableMemory, A::SizeOrZero, A::Anything},
     all_types},
    {131, "bpf_ringbuf_reserve", R::RingbufMemoryOrNull, {A::MapPointer, A::ConstantSize, A::Anything}, all_types},
    {132, "bpf_ringbuf_submit", R::Void, {A::RingbufMemory, A::Anything}, all_types},
    {133, "bpf_ringbuf_discard", R::Void, {A::RingbufMemory, A::Anything}, all_types},
    {134, "bpf_ringbuf_query", R::Integer, {A::MapPointer, A::Anything}, all_types},
};

constexpr int32_t packet_changing_helpers[] = {9, 10, 11, 13, 18, 19, 31, 32, 38, 39, 43, 44, 50, 54, 63, 65,
                                               73, 74, 75, 76, 90, 91};

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
};

// Helpers that only accept some map types.
struct HelperMapRule {
    int32_t helper;
    std::array<MapType, 4> types;  // Unspecified-terminated
};
constexpr HelperMapRule helper_map_rules[] = {
    {12, {{MapType::ProgArray}}},
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
    for (const auto& helper : helpers)
        if (helper.id == id) return &helper;
    return nullptr;
}

bool helper_allowed(const HelperPrototype& helper, ir::ProgramType type) {
    return (helper.allowed & type_bit(type)) != 0;
}

}  // namespace bpfvet::analyzer
