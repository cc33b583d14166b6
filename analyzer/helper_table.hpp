// Helper prototypes as data: the kernel's struct bpf_func_proto of every helper
// of Linux 6.18 (enum bpf_func_id 1..211), with the program types whose
// *_func_proto offers it. Adding or fixing a helper is one row in helper_table.cpp.
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
    Anything,          // ARG_ANYTHING: any initialized value
    MapPointer,        // ARG_CONST_MAP_PTR: a map (LDDW map fd)
    ProgramArray,      // a map of type prog_array (bpf_tail_call)
    MapKey,            // ARG_PTR_TO_MAP_KEY: pointer to key_size initialized bytes
    MapValue,          // ARG_PTR_TO_MAP_VALUE: pointer to value_size initialized bytes
    MapValueOrNull,    // ARG_PTR_TO_MAP_VALUE_OR_NULL: the above, or the constant 0
    MapValueOutput,    // ARG_PTR_TO_MAP_VALUE | MEM_UNINIT: pointer to value_size writable bytes (pop/peek)
    Context,           // ARG_PTR_TO_CTX: the context pointer, unmodified
    ContextOrNull,     // ARG_PTR_TO_CTX_OR_NULL
    ReadableMemory,    // ARG_PTR_TO_MEM | MEM_RDONLY: initialized memory; the next argument is its size
    ReadableMemoryOrNull,  // the above | PTR_MAYBE_NULL: null only with a size of 0
    WritableMemory,    // ARG_PTR_TO_UNINIT_MEM or ARG_PTR_TO_MEM | MEM_WRITE; the next argument is its size
    WritableMemoryOrNull,  // the above | PTR_MAYBE_NULL: null only with a size of 0
    Size,              // ARG_CONST_SIZE: the size of the previous memory argument, > 0
    SizeOrZero,        // ARG_CONST_SIZE_OR_ZERO: the size of the previous memory argument, >= 0
    ConstantSize,      // ARG_CONST_ALLOC_SIZE_OR_ZERO: a known constant (ringbuf reserve)
    // ARG_PTR_TO_FIXED_SIZE_MEM: HelperPrototype::fixed_sizes[i] bytes.
    FixedReadable,     // | MEM_RDONLY: initialized bytes
    FixedInOut,        // | MEM_WRITE: initialized bytes the helper rewrites (bpf_check_mtu's mtu_len)
    FixedOutput,       // | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED: writable, aligned to its size (strtol's result)
    StackOrNull,       // ARG_PTR_TO_STACK_OR_NULL: a pointer into the stack, or 0 (bpf_loop's ctx)
    RingbufMemory,     // ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE: memory returned by bpf_ringbuf_reserve
    SocketCommon,      // ARG_PTR_TO_SOCK_COMMON / ARG_PTR_TO_BTF_ID_SOCK_COMMON: a non-null socket
    SocketReference,   // the above | OBJ_RELEASE: a socket from bpf_sk_lookup_*, whose reference the call releases
    Callback,          // ARG_PTR_TO_FUNC called as bpf_loop calls it: callback(index, ctx)
    // Kinds the analyzer does not model: a call with one is rejected, naming the
    // helper and the kind (argument_kind_description says which).
    MapCallback,       // ARG_PTR_TO_FUNC called with (map, key, value, ctx) or another signature
    KernelObject,      // ARG_PTR_TO_BTF_ID: a pointer to a kernel struct typed by BTF (task_struct, file, ...)
    PerCpuKernelObject,  // ARG_PTR_TO_PERCPU_BTF_ID
    FullSocketOrNull,  // ARG_PTR_TO_SOCKET_OR_NULL: a full socket (not a sock_common), or null
    SpinLock,          // ARG_PTR_TO_SPIN_LOCK: a struct bpf_spin_lock inside a map value (BTF)
    Timer,             // ARG_PTR_TO_TIMER: a struct bpf_timer inside a map value (BTF)
    Kptr,              // ARG_PTR_TO_KPTR: a kptr field of a map value (BTF)
    Dynptr,            // ARG_PTR_TO_DYNPTR: a struct bpf_dynptr on the stack
    ConstString,       // ARG_PTR_TO_CONST_STR: a NUL-terminated string in a read-only map value
};

enum class ReturnKind : uint8_t {
    Integer,           // RET_INTEGER: any scalar
    Void,              // RET_VOID: r0 is left uninitialized
    MapValue,          // RET_PTR_TO_MAP_VALUE: the map argument's value, never null (bpf_get_local_storage)
    MapValueOrNull,    // RET_PTR_TO_MAP_VALUE_OR_NULL: pointer into the map argument's value, or null
    RingbufMemoryOrNull,  // RET_PTR_TO_RINGBUF_MEM_OR_NULL, a reference to release
    SocketOrNull,      // RET_PTR_TO_SOCKET_OR_NULL / SOCK_COMMON_OR_NULL, a reference to release (lookups)
    SockCommonOrNull,  // RET_PTR_TO_SOCK_COMMON_OR_NULL: a struct sock_common to release (bpf_skc_lookup_tcp)
    SocketOrNullUnreferenced,  // RET_PTR_TO_SOCKET_OR_NULL without a reference (bpf_sk_fullsock)
    // Results the analyzer does not model: a call is rejected, naming the helper.
    TcpSockOrNull,     // RET_PTR_TO_TCP_SOCK_OR_NULL: a struct bpf_tcp_sock
    KernelObject,      // RET_PTR_TO_BTF_ID(_OR_NULL / _TRUSTED), RET_PTR_TO_MEM_OR_BTF_ID, kptrs
    MemoryOrNull,      // RET_PTR_TO_DYNPTR_MEM_OR_NULL
};

// Sets of program types as bit masks over ir::ProgramType values.
using ProgramTypeSet = uint64_t;
[[nodiscard]] constexpr ProgramTypeSet type_bit(ir::ProgramType type) { return ProgramTypeSet(1) << unsigned(type); }

// The bpf_func_proto flags and privilege gates the verifier reads (HelperPrototype::traits).
namespace trait {
enum : uint8_t {
    // Offered only to loaders with CAP_BPF or CAP_PERFMON (bpf_base_func_proto
    // after its bpf_token_capable checks, and bpf_sk_base_func_proto's skc_to_*):
    // refused with --unprivileged.
    capability = 1 << 0,
    gpl = 1 << 1,      // .gpl_only: only for GPL-compatible licenses
    packet = 1 << 2,   // .pkt_access: its memory arguments may point into the packet
    sleeps = 1 << 3,   // .might_sleep: only in sleepable programs
};
}  // namespace trait

struct HelperPrototype {
    int32_t id = 0;
    std::string_view name;
    ReturnKind returns = ReturnKind::Integer;
    std::array<ArgumentKind, 5> arguments{};
    ProgramTypeSet allowed = 0;
    uint8_t traits = 0;  // trait:: bits
    // Bytes of each Fixed* argument (the proto's argN_size).
    std::array<uint8_t, 5> fixed_sizes{};
    // Variable-argument helpers such as bpf_trace_printk only need their fixed arguments.

    [[nodiscard]] bool needs_cap_bpf() const { return (traits & trait::capability) != 0; }
    [[nodiscard]] bool has(uint8_t bits) const { return (traits & bits) == bits; }
};

[[nodiscard]] const HelperPrototype* helper_prototype(int32_t id);
// Helpers that may move or resize packet data (the kernel's
// bpf_helper_changes_pkt_data): every packet pointer is stale after them.
[[nodiscard]] bool helper_changes_packet_data(int32_t id);
// Whether a map of `type` may be passed to helper `id` (the kernel's
// check_map_func_compatibility), e.g. a prog_array only to bpf_tail_call.
[[nodiscard]] bool map_allowed_for_helper(int32_t id, uint32_t map_type);
[[nodiscard]] bool helper_allowed(const HelperPrototype& helper, ir::ProgramType type);
// Whether a packet pointer may be a (non-ARG_ANYTHING) argument of `helper` in
// a program of `type`: the kernel's may_access_direct_pkt_data with the
// helper's pkt_access flag.
[[nodiscard]] bool helper_accepts_packet(const HelperPrototype& helper, ir::ProgramType type);
// For kinds and results the analyzer does not model: what the kernel expects,
// for the rejection message; empty for modelled ones.
[[nodiscard]] std::string_view unmodelled_argument(ArgumentKind kind);
[[nodiscard]] std::string_view unmodelled_result(ReturnKind kind);
// The licenses the kernel deems GPL-compatible (license_is_gpl_compatible):
// only they may call gpl_only helpers or read kernel memory.
[[nodiscard]] bool license_is_gpl_compatible(std::string_view license);

}  // namespace bpfvet::analyzer
