// Helpers of networking programs beyond the packet basics in helpers.cpp:
// routing (fib_lookup), resizing an skb (change_tail/head/proto), VLAN tags,
// socket options of sock_ops programs, and cgroup membership of an skb.
// Each follows the kernel's argument checks and error codes; what user space
// lacks (routes, sockets) comes from the Environment or the run's own state.
#include "runtime/helper_support.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace bpfvet::runtime::helper_support {
namespace {

constexpr long NotSupported = 524;  // the kernel's ENOTSUPP (not ENOTSUP): "operation not supported"

__sk_buff* skb_of(RunContext& context) {
    return context.context_kind == ContextKind::Skb ? reinterpret_cast<__sk_buff*>(context.context) : nullptr;
}


// ---------------------------------------------------------------- fib_lookup

// Whether the first `bits` bits of `address` equal those of `prefix`.
// Example: 10.1.2.3 matches 10.1.0.0/16 (the first two bytes agree).
bool prefix_matches(const uint8_t* address, const std::array<uint8_t, 16>& prefix, unsigned bits) {
    unsigned whole = bits / 8, rest = bits % 8;
    if (std::memcmp(address, prefix.data(), whole) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = uint8_t(0xff << (8 - rest));
    return (address[whole] & mask) == (prefix[whole] & mask);
}

const FibRoute* longest_match(const Environment& environment, uint8_t family, const uint8_t* destination) {
    const FibRoute* best = nullptr;
    const unsigned max_bits = family == AF_INET ? 32 : 128;
    for (const auto& route : environment.routes) {
        if (route.family != family || route.prefix_length > max_bits) continue;
        if (!prefix_matches(destination, route.prefix, route.prefix_length)) continue;
        if (!best || route.prefix_length > best->prefix_length) best = &route;
    }
    return best;
}

}  // namespace

uint64_t fib_lookup(uint64_t, uint64_t params_address, uint64_t length, uint64_t flags, uint64_t,
                    RunContext* context) {
    constexpr uint64_t KnownFlags = BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_SKIP_NEIGH |
                                    BPF_FIB_LOOKUP_TBID | BPF_FIB_LOOKUP_SRC;
    if (int32_t(length) < int32_t(sizeof(bpf_fib_lookup))) return error(-EINVAL);
    if (flags & ~KnownFlags) return error(-EINVAL);
    if (!writable(*context, params_address, sizeof(bpf_fib_lookup), "fib_lookup params")) return error(-EINVAL);
    auto* params = as_pointer<bpf_fib_lookup>(params_address);
    if (params->family != AF_INET && params->family != AF_INET6) return error(-EAFNOSUPPORT);
    const auto* destination = params->family == AF_INET ? reinterpret_cast<const uint8_t*>(&params->ipv4_dst)
                                                        : reinterpret_cast<const uint8_t*>(params->ipv6_dst);
    const FibRoute* route = longest_match(*context->environment, params->family, destination);
    if (!route) return BPF_FIB_LKUP_RET_NOT_FWDED;
    if (params->tot_len > route->mtu) {
        params->mtu_result = route->mtu;
        return BPF_FIB_LKUP_RET_FRAG_NEEDED;
    }
    params->ifindex = route->ifindex;
    params->rt_metric = 0;
    if (flags & BPF_FIB_LOOKUP_SKIP_NEIGH) return BPF_FIB_LKUP_RET_SUCCESS;
    if (!route->neighbour_mac) return BPF_FIB_LKUP_RET_NO_NEIGH;
    std::memcpy(params->smac, route->source_mac.data(), 6);
    std::memcpy(params->dmac, route->neighbour_mac->data(), 6);
    return BPF_FIB_LKUP_RET_SUCCESS;
}

// ---------------------------------------------------------------- resizing an skb

namespace {

// Moves the packet's end to `length` bytes after data; new bytes are zero.
// The kernel reallocates a short skb; our buffers carry a fixed tailroom,
// and asking for more is refused as the kernel refuses lengths above its
// maximum.
long resize_tail(RunContext& context, uint64_t length) {
    auto& packet = context.packet;
    uint8_t* end = packet.data + length;
    if (end > packet.buffer_end) return -NotSupported;
    if (end > packet.data_end) std::memset(packet.data_end, 0, size_t(end - packet.data_end));
    packet.data_end = end;
    sync_packet_fields(context);
    return 0;
}

// Inserts `amount` zero bytes at `offset` from data (amount > 0), or removes
// -amount bytes there, moving the bytes before `offset` (the MAC header).
long move_head(RunContext& context, uint64_t offset, int64_t amount) {
    auto& packet = context.packet;
    uint8_t* data = packet.data - amount;
    if (data < packet.buffer_begin || data + offset > packet.data_end) return -NotSupported;
    if (amount < 0 && offset - amount > uint64_t(packet.data_end - packet.data)) return -NotSupported;
    std::memmove(data, packet.data, size_t(offset));
    if (amount > 0) std::memset(data + offset, 0, size_t(amount));
    packet.data = data;
    packet.data_meta = data;
    sync_packet_fields(context);
    return 0;
}

}  // namespace

uint64_t skb_change_tail(uint64_t, uint64_t length, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    if (!skb_of(*context) || !has_packet(*context)) return error(-EINVAL);
    if (flags != 0) return error(-EINVAL);
    // __bpf_skb_min_len: at least the MAC header must remain.
    if (uint32_t(length) != length || length < uint64_t(EthernetHeader) || length > 0xffff)
        return error(-NotSupported);
    return error(resize_tail(*context, length));
}

uint64_t skb_change_head(uint64_t, uint64_t head_room, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    if (!skb_of(*context) || !has_packet(*context)) return error(-EINVAL);
    if (flags != 0) return error(-EINVAL);
    if (head_room > 0xffff) return error(-NotSupported);
    return error(move_head(*context, 0, int64_t(head_room)));
}

// IPv4 <-> IPv6: room for the larger header is made (or removed) right
// after the MAC header; the program writes the new header itself.
uint64_t skb_change_proto(uint64_t, uint64_t protocol, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    __sk_buff* skb = skb_of(*context);
    if (!skb || !has_packet(*context)) return error(-EINVAL);
    if (flags != 0) return error(-EINVAL);
    constexpr int64_t Growth = 40 - 20;  // sizeof(ipv6hdr) - sizeof(iphdr)
    const uint16_t from = uint16_t(skb->protocol), to = uint16_t(protocol);
    const uint16_t ipv4 = htons(ETH_P_IP), ipv6 = htons(ETH_P_IPV6);
    long result;
    if (from == ipv4 && to == ipv6) result = move_head(*context, EthernetHeader, Growth);
    else if (from == ipv6 && to == ipv4) result = move_head(*context, EthernetHeader, -Growth);
    else if (from == to && (to == ipv4 || to == ipv6)) result = 0;
    else return error(-NotSupported);
    if (result == 0) skb->protocol = to;
    return error(result);
}

// ---------------------------------------------------------------- VLAN tags

namespace {

// A VLAN tag in the bytes sits after the MAC addresses: protocol, then TCI.
constexpr uint64_t VlanTagOffset = 12, VlanTagSize = 4;

bool is_vlan_protocol(uint16_t protocol) { return protocol == htons(ETH_P_8021Q) || protocol == htons(ETH_P_8021AD); }

}  // namespace

// The skb keeps its outer tag "accelerated" (in vlan_present/vlan_tci/
// vlan_proto, not in the bytes); pushing a second tag moves the first into
// the packet, after the MAC addresses.
uint64_t skb_vlan_push(uint64_t, uint64_t vlan_proto, uint64_t vlan_tci, uint64_t, uint64_t, RunContext* context) {
    __sk_buff* skb = skb_of(*context);
    if (!skb || !has_packet(*context)) return error(-EINVAL);
    const uint16_t proto = uint16_t(vlan_proto);
    if (!is_vlan_protocol(proto)) return error(-EINVAL);
    if (skb->vlan_present) {
        if (long result = move_head(*context, VlanTagOffset, VlanTagSize); result != 0) return error(result);
        uint8_t* tag = context->packet.data + VlanTagOffset;
        const uint16_t outer_proto = uint16_t(skb->vlan_proto), outer_tci = htons(uint16_t(skb->vlan_tci));
        std::memcpy(tag, &outer_proto, 2);
        std::memcpy(tag + 2, &outer_tci, 2);
    }
    skb->vlan_present = 1;
    skb->vlan_proto = proto;
    skb->vlan_tci = uint16_t(vlan_tci);
    return 0;
}

// Drops the accelerated tag; a tag in the packet's bytes becomes the new one.
uint64_t skb_vlan_pop(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    __sk_buff* skb = skb_of(*context);
    if (!skb || !has_packet(*context)) return error(-EINVAL);
    skb->vlan_present = 0;
    skb->vlan_tci = 0;
    skb->vlan_proto = 0;
    auto& packet = context->packet;
    if (uint64_t(packet.data_end - packet.data) < VlanTagOffset + VlanTagSize + 2) return 0;
    uint16_t inner_proto, inner_tci;
    std::memcpy(&inner_proto, packet.data + VlanTagOffset, 2);
    std::memcpy(&inner_tci, packet.data + VlanTagOffset + 2, 2);
    if (!is_vlan_protocol(inner_proto)) return 0;
    if (long result = move_head(*context, VlanTagOffset, -int64_t(VlanTagSize)); result != 0) return error(result);
    skb->vlan_present = 1;
    skb->vlan_proto = inner_proto;
    skb->vlan_tci = htons(inner_tci);
    return 0;
}

// ---------------------------------------------------------------- socket options

namespace {

constexpr int TcpBpfInitialWindow = 1001, TcpBpfSendCwndClamp = 1002, TcpBpfDelackMax = 1003,
              TcpBpfRtoMin = 1004, TcpBpfSyn = 1005;
constexpr uint32_t TcpCongestionNameMax = 16;  // TCP_CA_NAME_MAX

struct SocketOption {
    int level;
    int name;
    uint32_t size;        // exact optlen; 0: a string of at most TcpCongestionNameMax bytes
    bool readable;        // bpf_getsockopt supports it too
    std::array<uint8_t, 16> initial;  // what getsockopt answers before any setsockopt
};

constexpr std::array<uint8_t, 16> int_value(uint32_t v) {
    return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
}

// The options __bpf_setsockopt / __bpf_getsockopt accept (Linux 6.x).
constexpr SocketOption SocketOptions[] = {
    {SOL_SOCKET, SO_REUSEADDR, 4, true, {}},        {SOL_SOCKET, SO_SNDBUF, 4, true, int_value(16384)},
    {SOL_SOCKET, SO_RCVBUF, 4, true, int_value(131072)}, {SOL_SOCKET, SO_KEEPALIVE, 4, true, {}},
    {SOL_SOCKET, SO_PRIORITY, 4, true, {}},         {SOL_SOCKET, SO_REUSEPORT, 4, true, {}},
    {SOL_SOCKET, SO_RCVLOWAT, 4, true, int_value(1)}, {SOL_SOCKET, SO_MARK, 4, true, {}},
    {SOL_SOCKET, SO_MAX_PACING_RATE, 4, true, int_value(~0u)}, {SOL_SOCKET, SO_BINDTOIFINDEX, 4, true, {}},
    {IPPROTO_TCP, TCP_NODELAY, 4, true, {}},        {IPPROTO_TCP, TCP_MAXSEG, 4, true, int_value(536)},
    {IPPROTO_TCP, TCP_KEEPIDLE, 4, true, int_value(7200)}, {IPPROTO_TCP, TCP_KEEPINTVL, 4, true, int_value(75)},
    {IPPROTO_TCP, TCP_KEEPCNT, 4, true, int_value(9)}, {IPPROTO_TCP, TCP_SYNCNT, 4, true, int_value(6)},
    {IPPROTO_TCP, TCP_WINDOW_CLAMP, 4, true, {}},   {IPPROTO_TCP, TCP_USER_TIMEOUT, 4, true, {}},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, 4, true, int_value(~0u)}, {IPPROTO_TCP, TCP_SAVE_SYN, 4, true, {}},
    {IPPROTO_TCP, TCP_CONGESTION, 0, true, {'c', 'u', 'b', 'i', 'c'}},
    {IPPROTO_TCP, TcpBpfInitialWindow, 4, false, {}}, {IPPROTO_TCP, TcpBpfSendCwndClamp, 4, false, {}},
    {IPPROTO_TCP, TcpBpfDelackMax, 4, false, {}},   {IPPROTO_TCP, TcpBpfRtoMin, 4, false, {}},
    {IPPROTO_TCP, TcpBpfSyn, 4, false, {}},
    {IPPROTO_IP, IP_TOS, 4, true, {}},
    {IPPROTO_IPV6, IPV6_TCLASS, 4, true, {}},
};

const SocketOption* find_option(uint64_t level, uint64_t name) {
    for (const auto& option : SocketOptions)
        if (uint64_t(int64_t(option.level)) == level && uint64_t(int64_t(option.name)) == name) return &option;
    return nullptr;
}

bool length_fits(const SocketOption& option, uint64_t length) {
    return option.size ? length == option.size : length >= 1 && length <= TcpCongestionNameMax;
}

}  // namespace

uint64_t setsockopt(uint64_t, uint64_t level, uint64_t name, uint64_t value, uint64_t length, RunContext* context) {
    const SocketOption* option = find_option(level, name);
    if (!option || !length_fits(*option, length)) return error(-EINVAL);
    if (!readable(*context, value, length, "setsockopt value")) return error(-EFAULT);
    const auto* bytes = as_pointer<const uint8_t>(value);
    auto& stored = context->socket_options[{option->level, option->name}];
    stored.assign(bytes, bytes + length);
    if (!option->size) stored.resize(TcpCongestionNameMax);  // a name, NUL-padded
    return 0;
}

uint64_t getsockopt(uint64_t, uint64_t level, uint64_t name, uint64_t value, uint64_t length, RunContext* context) {
    if (!writable(*context, value, length, "getsockopt value")) return error(-EFAULT);
    auto* out = as_pointer<uint8_t>(value);
    const SocketOption* option = find_option(level, name);
    if (!option || !option->readable || !length_fits(*option, length)) {
        std::memset(out, 0, length);
        return error(-EINVAL);
    }
    auto found = context->socket_options.find({option->level, option->name});
    std::memset(out, 0, length);
    if (found != context->socket_options.end())
        std::memcpy(out, found->second.data(), std::min<size_t>(length, found->second.size()));
    else
        std::memcpy(out, option->initial.data(), std::min<size_t>(length, option->initial.size()));
    return 0;
}

// ---------------------------------------------------------------- socket lookups

// The runtime has no socket table: every lookup finds nothing (NULL), as the
// kernel's does when no socket matches the tuple.
uint64_t sk_lookup(uint64_t, uint64_t tuple, uint64_t tuple_size, uint64_t, uint64_t, RunContext* context) {
    (void)readable(*context, tuple, tuple_size, "socket tuple");  // checked mode: a bad tuple is a fault
    return 0;
}

uint64_t sk_release(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return 0; }

// ---------------------------------------------------------------- cgroups

namespace {

// 1 when the task's cgroup is the one in `map`'s slot `index` or below it,
// 0 when not; -E2BIG past the end, -EAGAIN for an empty slot.
uint64_t task_under_cgroup(RunContext& context, uint64_t map_value, uint64_t index) {
    Map* map = as_map(context, map_value);
    if (!map || map->type() != ir::MapType::CgroupArray) return error(-EINVAL);
    if (index >= map->definition().max_entries) return error(-E2BIG);
    uint32_t key = uint32_t(index);
    const auto* slot = static_cast<const uint32_t*>(map->lookup(&key, context.cpu));
    if (!slot) return error(-EAGAIN);
    const TaskInfo& task = context.environment->task;
    if (task.cgroup_id == *slot) return 1;
    for (uint64_t ancestor : task.ancestor_cgroup_ids)
        if (ancestor == *slot) return 1;
    return 0;
}

}  // namespace

// The skb belongs to the current task's socket.
uint64_t skb_under_cgroup(uint64_t, uint64_t map, uint64_t index, uint64_t, uint64_t, RunContext* context) {
    if (!skb_of(*context)) return error(-EINVAL);
    return task_under_cgroup(*context, map, index);
}

uint64_t current_task_under_cgroup(uint64_t map, uint64_t index, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return task_under_cgroup(*context, map, index);
}

}  // namespace bpfvet::runtime::helper_support
