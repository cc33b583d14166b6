#include "analyzer/context_table.hpp"

#include <array>

#include <fmt/format.h>

namespace bpfvet::analyzer {
namespace {

using ir::ProgramType;
using L = ContextLoad;

// A read-only 4-byte field with narrow reads, the most common kind.
constexpr ContextField u32(std::string_view name, uint16_t offset) {
    return ContextField{name, offset, 4, false, true, false, L::Scalar};
}
constexpr ContextField u32_rw(std::string_view name, uint16_t offset) {
    return ContextField{name, offset, 4, true, true, false, L::Scalar};
}
constexpr ContextField u64(std::string_view name, uint16_t offset) {
    return ContextField{name, offset, 8, false, false, false, L::Scalar};
}
// A pointer field (__bpf_md_ptr or a u32 that the kernel rewrites into a pointer load).
constexpr ContextField pointer(std::string_view name, uint16_t offset, uint16_t size, ContextLoad load) {
    return ContextField{name, offset, size, false, false, false, load};
}
constexpr ContextField array(std::string_view name, uint16_t offset, uint16_t size, bool writable) {
    return ContextField{name, offset, size, writable, true, true, L::Scalar};
}

// struct __sk_buff (include/uapi/linux/bpf.h), one table per program-type family
// because the kernel's *_is_valid_access differ in what they allow.
enum SkbFlags : unsigned {
    SkbPacket = 1,        // data, data_end readable
    SkbMeta = 2,          // data_meta readable
    SkbSocketFields = 4,  // family .. local_port readable
    SkbTcWrites = 8,      // mark, tc_index, priority, tc_classid, queue_mapping, tstamp writable
    SkbMarkWrite = 16,    // mark and priority writable (cgroup_skb, lwt)
    SkbTcIndexWrite = 32, // tc_index and priority writable (sk_skb)
    SkbClassid = 64,      // tc_classid readable
    SkbSocketPointer = 128,
};

template <unsigned Flags>
constexpr auto sk_buff_fields() {
    constexpr bool tc = Flags & SkbTcWrites;
    constexpr bool mark_w = tc || (Flags & SkbMarkWrite);
    constexpr bool prio_w = tc || (Flags & (SkbMarkWrite | SkbTcIndexWrite));
    constexpr bool tc_index_w = tc || (Flags & SkbTcIndexWrite);
    std::array<ContextField, 40> fields{};
    size_t n = 0;
    auto add = [&](ContextField f) { fields[n++] = f; };
    add(u32("len", 0));
    add(u32("pkt_type", 4));
    add(ContextField{"mark", 8, 4, mark_w, true, false, L::Scalar});
    add(ContextField{"queue_mapping", 12, 4, tc, true, false, L::Scalar});
    add(u32("protocol", 16));
    add(u32("vlan_present", 20));
    add(u32("vlan_tci", 24));
    add(u32("vlan_proto", 28));
    add(ContextField{"priority", 32, 4, prio_w, true, false, L::Scalar});
    add(u32("ingress_ifindex", 36));
    add(u32("ifindex", 40));
    add(ContextField{"tc_index", 44, 4, tc_index_w, true, false, L::Scalar});
    add(array("cb", 48, 20, true));
    add(u32("hash", 68));
    if constexpr ((Flags & SkbClassid) != 0) add(ContextField{"tc_classid", 72, 4, tc, true, false, L::Scalar});
    if constexpr ((Flags & SkbPacket) != 0) {
        add(pointer("data", 76, 4, L::PacketStart));
        add(pointer("data_end", 80, 4, L::PacketEnd));
    }
    add(u32("napi_id", 84));
    if constexpr ((Flags & SkbSocketFields) != 0) {
        add(u32("family", 88));
        add(ContextField{"remote_ip4", 92, 4, false, false, false, L::Scalar});
        add(ContextField{"local_ip4", 96, 4, false, false, false, L::Scalar});
        add(ContextField{"remote_ip6", 100, 16, false, false, true, L::Scalar});
        add(ContextField{"local_ip6", 116, 16, false, false, true, L::Scalar});
        add(u32("remote_port", 132));
        add(u32("local_port", 136));
    }
    if constexpr ((Flags & SkbMeta) != 0) add(pointer("data_meta", 140, 4, L::PacketMeta));
    if constexpr (tc) add(ContextField{"tstamp", 152, 8, true, false, false, L::Scalar});
    if constexpr (tc) add(u32("wire_len", 160));
    add(u32("gso_segs", 164));
    if constexpr ((Flags & SkbSocketPointer) != 0) add(pointer("sk", 168, 8, L::SockCommonOrNull));
    add(u32("gso_size", 176));
    struct Result {
        std::array<ContextField, 40> fields;
        size_t count;
    };
    return Result{fields, n};
}

constexpr auto socket_filter_skb = sk_buff_fields<0>();
constexpr auto tc_skb = sk_buff_fields<SkbPacket | SkbMeta | SkbTcWrites | SkbClassid | SkbSocketPointer>();
constexpr auto cgroup_skb = sk_buff_fields<SkbPacket | SkbSocketFields | SkbMarkWrite | SkbSocketPointer>();
constexpr auto lwt_skb = sk_buff_fields<SkbPacket | SkbMarkWrite>();
constexpr auto sk_skb = sk_buff_fields<SkbPacket | SkbSocketFields | SkbTcIndexWrite>();

constexpr std::array<ContextField, 6> xdp_md{{
    pointer("data", 0, 4, L::PacketStart),
    pointer("data_end", 4, 4, L::PacketEnd),
    pointer("data_meta", 8, 4, L::PacketMeta),
    ContextField{"ingress_ifindex", 12, 4, false, false, false, L::Scalar},
    ContextField{"rx_queue_index", 16, 4, false, false, false, L::Scalar},
    ContextField{"egress_ifindex", 20, 4, false, false, false, L::Scalar},
}};

// struct bpf_sock (cgroup_sock programs).
constexpr std::array<ContextField, 14> bpf_sock{{
    u32_rw("bound_dev_if", 0), u32("family", 4), u32("type", 8), u32("protocol", 12),
    u32_rw("mark", 16), u32_rw("priority", 20), u32("src_ip4", 24), array("src_ip6", 28, 16, false),
    u32("src_port", 44), u32("dst_port", 48), u32("dst_ip4", 52), array("dst_ip6", 56, 16, false),
    u32("state", 72), u32("rx_queue_mapping", 76),
}};

// struct bpf_sock seen through a struct sock_common: type .. priority are refused.
constexpr std::array<ContextField, 10> bpf_sock_common{{
    u32("bound_dev_if", 0), u32("family", 4), u32("src_ip4", 24), array("src_ip6", 28, 16, false),
    u32("src_port", 44), u32("dst_port", 48), u32("dst_ip4", 52), array("dst_ip6", 56, 16, false),
    u32("state", 72), u32("rx_queue_mapping", 76),
}};

// struct bpf_sock_ops: only `reply` (args[0]) and sk_txhash are writable, reads are whole fields.
constexpr auto sock_ops_fields() {
    std::array<ContextField, 64> fields{};
    size_t n = 0;
    auto add = [&](ContextField f) { fields[n++] = f; };
    add(ContextField{"op", 0, 4, false, false, false, L::Scalar});
    add(ContextField{"reply", 4, 4, true, false, false, L::Scalar});
    for (uint16_t off = 8; off < 20; off += 4) add(ContextField{"args", off, 4, false, false, false, L::Scalar});
    for (uint16_t off = 20; off < 168; off += 4)
        add(ContextField{"field", off, 4, off == 164, false, false, L::Scalar});
    add(u64("bytes_received", 168));
    add(u64("bytes_acked", 176));
    add(pointer("sk", 184, 8, L::SocketOrNull));
    add(pointer("skb_data", 192, 8, L::PacketStart));
    add(pointer("skb_data_end", 200, 8, L::PacketEnd));
    add(ContextField{"skb_len", 208, 4, false, false, false, L::Scalar});
    add(ContextField{"skb_tcp_flags", 212, 4, false, false, false, L::Scalar});
    add(u64("skb_hwtstamp", 216));
    struct Result {
        std::array<ContextField, 64> fields;
        size_t count;
    };
    return Result{fields, n};
}
constexpr auto sock_ops = sock_ops_fields();

constexpr std::array<ContextField, 11> sk_msg_md{{
    pointer("data", 0, 8, L::PacketStart), pointer("data_end", 8, 8, L::PacketEnd),
    u32("family", 16), u32("remote_ip4", 20), u32("local_ip4", 24), array("remote_ip6", 28, 16, false),
    array("local_ip6", 44, 16, false), u32("remote_port", 60), u32("local_port", 64), u32("size", 68),
    pointer("sk", 72, 8, L::SocketOrNull),
}};

constexpr std::array<ContextField, 10> bpf_sock_addr{{
    u32("user_family", 0), u32_rw("user_ip4", 4), array("user_ip6", 8, 16, true), u32_rw("user_port", 24),
    u32("family", 28), u32("type", 32), u32("protocol", 36), u32_rw("msg_src_ip4", 40),
    array("msg_src_ip6", 44, 16, true), pointer("sk", 64, 8, L::SocketOrNull),
}};

template <size_t N>
constexpr std::span<const ContextField> span_of(const std::array<ContextField, N>& a, size_t count = N) {
    return std::span<const ContextField>(a.data(), count);
}

constexpr ReturnRange zero_or_one{0, 1};

// The kernel's check_return_code for sock_addr hooks: hooks that only observe an
// address (recvmsg, getpeername, getsockname) must return 1; bind may also
// return 2 and 3 (bypass the port checks); the others allow or deny.
ReturnRange sock_addr_return_range(std::string_view hook) {
    if (hook.starts_with("recvmsg") || hook.starts_with("getpeername") || hook.starts_with("getsockname"))
        return ReturnRange{1, 1};
    if (hook == "bind4" || hook == "bind6") return ReturnRange{0, 3};
    return zero_or_one;
}

}  // namespace

std::optional<ContextDescriptor> context_descriptor(ProgramType type, std::string_view attach_target) {
    switch (type) {
    case ProgramType::SocketFilter:
        return ContextDescriptor{"__sk_buff", 192, span_of(socket_filter_skb.fields, socket_filter_skb.count),
                                 false, false, std::nullopt};
    case ProgramType::SchedCls:
    case ProgramType::SchedAct:
        return ContextDescriptor{"__sk_buff", 192, span_of(tc_skb.fields, tc_skb.count), false, false, std::nullopt};
    case ProgramType::CgroupSkb: {
        // Egress programs may also return 2 and 3 (congestion notification).
        ReturnRange range = attach_target.find("egress") != std::string_view::npos ? ReturnRange{0, 3} : zero_or_one;
        return ContextDescriptor{"__sk_buff", 192, span_of(cgroup_skb.fields, cgroup_skb.count), false, false, range};
    }
    case ProgramType::LwtIn:
    case ProgramType::LwtOut:
    case ProgramType::LwtXmit:
    case ProgramType::LwtSeg6local:
        return ContextDescriptor{"__sk_buff", 192, span_of(lwt_skb.fields, lwt_skb.count), false, false, std::nullopt};
    case ProgramType::SkSkb:
        return ContextDescriptor{"__sk_buff", 192, span_of(sk_skb.fields, sk_skb.count), false, false, std::nullopt};
    case ProgramType::Xdp:
        return ContextDescriptor{"xdp_md", 24, span_of(xdp_md), false, false, std::nullopt};
    case ProgramType::CgroupSock:
        return ContextDescriptor{"bpf_sock", 80, span_of(bpf_sock), false, false, zero_or_one};
    case ProgramType::SockOps:
        return ContextDescriptor{"bpf_sock_ops", 224, span_of(sock_ops.fields, sock_ops.count), false, false,
                                 zero_or_one};
    case ProgramType::SkMsg:
        return ContextDescriptor{"sk_msg_md", 80, span_of(sk_msg_md), false, false, std::nullopt};
    case ProgramType::CgroupSockAddr:
        return ContextDescriptor{"bpf_sock_addr", 72, span_of(bpf_sock_addr), false, false,
                                 sock_addr_return_range(attach_target)};
    case ProgramType::Kprobe:
        return ContextDescriptor{"pt_regs", 168, {}, true, false, std::nullopt};
    case ProgramType::PerfEvent:
        // struct bpf_perf_event_data: pt_regs, then sample_period and addr.
        return ContextDescriptor{"bpf_perf_event_data", 184, {}, true, false, std::nullopt};
    case ProgramType::Tracepoint:
        // The record's layout depends on the tracepoint; the kernel allows reads
        // in [8, PERF_MAX_TRACE_SIZE = 8192): the first 8 bytes (common_type,
        // flags, preempt count, pid) are not the program's (tp_prog_is_valid_access).
        return ContextDescriptor{"tracepoint record", 8192, {}, true, false, std::nullopt, 8};
    case ProgramType::RawTracepoint:
    case ProgramType::RawTracepointWritable:
        return ContextDescriptor{"raw tracepoint arguments (u64[12])", 96, {}, true, true, std::nullopt};
    case ProgramType::Tracing:
        // fentry/fexit/tp_btf: u64 argument array, typed from the kernel BTF by
        // the engine (analyzer/btf_access.hpp) when a section names the target.
        return ContextDescriptor{"BTF arguments (u64[12])", 96, {}, true, true, std::nullopt};
    case ProgramType::Lsm:
        return ContextDescriptor{"BTF arguments (u64[12])", 96, {}, true, true, ReturnRange{-4095, 0, true}};
    case ProgramType::CgroupDevice:
        // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
        return ContextDescriptor{"bpf_cgroup_dev_ctx", 12, {}, true, false, zero_or_one};
    default:
        return std::nullopt;
    }
}

ContextDescriptor socket_descriptor(bool full_socket) {
    if (full_socket) return ContextDescriptor{"bpf_sock", 80, span_of(bpf_sock), false, false, std::nullopt};
    return ContextDescriptor{"bpf_sock (a sock_common)", 80, span_of(bpf_sock_common), false, false, std::nullopt};
}

std::variant<ContextAccessAllowed, std::string> check_context_access(const ContextDescriptor& context,
                                                                     int64_t offset, int size, bool is_write) {
    if (offset >= 0 && offset < int64_t(context.first_readable))
        return fmt::format("offset {} size {} touches the first {} bytes of the {}, which are not the program's",
                           offset, size, context.first_readable, context.struct_name);
    if (offset < 0 || offset + size > int64_t(context.size))
        return fmt::format("offset {} size {} is outside the {}-byte {}", offset, size, context.size,
                           context.struct_name);
    if (offset % size != 0)
        return fmt::format("offset {} is not aligned to the access size {}", offset, size);
    if (context.fields.empty()) {
        if (is_write && context.uniform_readonly)
            return fmt::format("{} is read-only", context.struct_name);
        if (context.uniform_u64 && size != 8)
            return fmt::format("{} must be read 8 bytes at a time", context.struct_name);
        return ContextAccessAllowed{};
    }
    for (const auto& field : context.fields) {
        if (offset < field.offset || offset >= field.offset + field.size) continue;
        if (offset + size > field.offset + field.size)
            return fmt::format("the access crosses the end of {}.{}", context.struct_name, field.name);
        if (is_write && !field.writable)
            return fmt::format("{}.{} is not writable by this program type", context.struct_name, field.name);
        bool whole = offset == field.offset && size == field.size;
        if (field.any_aligned) return ContextAccessAllowed{field.load, field.name};
        if (whole) return ContextAccessAllowed{field.load, field.name};
        if (!is_write && field.narrow_read && field.load == ContextLoad::Scalar && size <= 4)
            return ContextAccessAllowed{field.load, field.name};
        return fmt::format("{}.{} must be accessed with size {}", context.struct_name, field.name, field.size);
    }
    return fmt::format("offset {} of {} is not a field this program type may access", offset,
                       context.struct_name);
}

}  // namespace bpfvet::analyzer
