// Helper prototypes as data: argument kinds, return kind, and the program types
// that may call each helper. Adding a helper is one row in helper_table.cpp.
#pragma once

#include "ir/program.hpp"
#include "ir/program_type.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bpfvet::analyzer {

enum class ArgumentKind : uint8_t {
    None,              // no more arguments
    Anything,          // any initialized value
    MapPointer,        // a map (LDDW map fd)
    ProgramArray,      // a map of type prog_array (bpf_tail_call)
    MapKey,            // pointer to key_size initialized bytes
    MapValue,          // pointer to value_size initialized bytes
    MapValueOutput,    // pointer to value_size writable bytes (pop/peek)
    Context,           // the context pointer, unmodified
    ReadableMemory,    // pointer to initialized memory; the next argument is its size
    ReadableMemoryOrNull,
    WritableMemory,    // pointer to writable (maybe uninitialized) memory; next argument is its size
    Size,              // the size of the previous memory argument, > 0
    SizeOrZero,        // the size of the previous memory argument, >= 0
    ConstantSize,      // a known constant (ringbuf reserve)
    RingbufMemory,     // memory returned by bpf_ringbuf_reserve
    Socket,            // a non-null socket pointer
    SocketReference,   // a non-null socket from bpf_sk_lookup_*, whose reference the call releases
    Callback,          // a function of the program (LDDW of a function), called by the helper
};

enum class ReturnKind : uint8_t {
    Integer,           // any scalar
    Void,              // r0 is left uninitialized
    MapValueOrNull,    // pointer into the map argument's value, or null
    RingbufMemoryOrNull,
    SocketOrNull,      // a full socket whose reference the program must release
    SockCommonOrNull,  // a struct sock_common whose reference the program must release
    FullSocketOrNull,  // bpf_sk_fullsock: the argument as a full socket, or null; no reference of its own
};

// Sets of program types as bit masks over ir::ProgramType values.
using ProgramTypeSet = uint64_t;
[[nodiscard]] constexpr ProgramTypeSet type_bit(ir::ProgramType type) { return ProgramTypeSet(1) << unsigned(type); }

struct HelperPrototype {
    int32_t id = 0;
    std::string_view name;
    ReturnKind returns = ReturnKind::Integer;
    std::array<ArgumentKind, 5> arguments{};
    ProgramTypeSet allowed = 0;
    // Offered only to loaders with CAP_BPF (the kernel's bpf_base_func_proto
    // after its bpf_token_capable check): refused with --unprivileged.
    bool needs_cap_bpf = false;
    // Variable-argument helpers such as bpf_trace_printk only need their fixed arguments.
};

[[nodiscard]] const HelperPrototype* helper_prototype(int32_t id);
// Helpers that may move or resize packet data: every packet pointer is stale after them.
[[nodiscard]] bool helper_changes_packet_data(int32_t id);
// Whether a map of `type` may be passed to helper `id` (the kernel's
// check_map_func_compatibility), e.g. a prog_array only to bpf_tail_call.
[[nodiscard]] bool map_allowed_for_helper(int32_t id, uint32_t map_type);
[[nodiscard]] bool helper_allowed(const HelperPrototype& helper, ir::ProgramType type);

}  // namespace bpfvet::analyzer
