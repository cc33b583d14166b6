// What every helper implementation needs: turning register values back into
// pointers and maps, checking the memory a helper is given (checked mode), and
// the kernel's negative errno as a register value. Shared by helpers.cpp and
// the helper files grouped by area (network_helpers.cpp, tracing_helpers.cpp).
#pragma once

#include "runtime/helpers.hpp"
#include "runtime/map.hpp"
#include "runtime/run_context.hpp"

#include <algorithm>
#include <cstdint>

namespace bpfvet::runtime::helper_support {

template <typename T = void>
T* as_pointer(uint64_t value) { return reinterpret_cast<T*>(value); }

// The map a program passed, or nullptr (and a fault in checked mode) when it is
// not one of the object's maps. Unchecked runs trust the verifier.
inline Map* as_map(RunContext& context, uint64_t value) {
    Map* map = as_pointer<Map>(value);
    if (!context.checked) return map;
    if (std::find(context.maps.begin(), context.maps.end(), map) != context.maps.end()) return map;
    if (!context.fault) {
        Fault fault;
        fault.kind = FaultKind::HelperViolation;
        fault.address = value;
        fault.region = "none";
        fault.message = "argument is not a map";
        context.fault = fault;
    }
    return nullptr;
}

inline bool readable(RunContext& context, uint64_t address, uint64_t length, const char* what) {
    return context.check_helper_access(address, length, false, what);
}
inline bool writable(RunContext& context, uint64_t address, uint64_t length, const char* what) {
    return context.check_helper_access(address, length, true, what);
}

// -EINVAL as r0 holds it: the 64-bit two's complement of the errno.
inline uint64_t error(long code) { return uint64_t(int64_t(code)); }

inline bool has_packet(const RunContext& context) { return context.packet.data != nullptr; }

// Rewrites the context's packet fields (xdp_md / __sk_buff data, data_end,
// data_meta, len) after a helper moved the packet's bounds.
void sync_packet_fields(RunContext& context);

// The bytes bpf_probe_read_kernel may copy from [address, address + length),
// or nullptr (the read would fault).
const uint8_t* probe_kernel_source(const RunContext& context, uint64_t address, uint64_t length);

inline constexpr int64_t EthernetHeader = 14;  // ETH_HLEN

// Helpers defined outside helpers.cpp, listed in its table.
#define BPFVET_DECLARE_HELPER(name) \
    uint64_t name(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* context)
// network_helpers.cpp
BPFVET_DECLARE_HELPER(fib_lookup);
BPFVET_DECLARE_HELPER(skb_change_tail);
BPFVET_DECLARE_HELPER(skb_change_head);
BPFVET_DECLARE_HELPER(skb_change_proto);
BPFVET_DECLARE_HELPER(skb_vlan_push);
BPFVET_DECLARE_HELPER(skb_vlan_pop);
BPFVET_DECLARE_HELPER(setsockopt);
BPFVET_DECLARE_HELPER(getsockopt);
BPFVET_DECLARE_HELPER(skb_under_cgroup);
BPFVET_DECLARE_HELPER(sk_lookup);
BPFVET_DECLARE_HELPER(sk_release);
// tracing_helpers.cpp
BPFVET_DECLARE_HELPER(get_stackid);
BPFVET_DECLARE_HELPER(get_stack);
BPFVET_DECLARE_HELPER(perf_event_read);
BPFVET_DECLARE_HELPER(perf_event_read_value);
BPFVET_DECLARE_HELPER(override_return);
BPFVET_DECLARE_HELPER(probe_write_user);
BPFVET_DECLARE_HELPER(current_task_under_cgroup);
#undef BPFVET_DECLARE_HELPER

}  // namespace bpfvet::runtime::helper_support
