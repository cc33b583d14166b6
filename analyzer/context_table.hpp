// What a program may do with its context (r1 at entry), per program type: the
// context's size, its fields with access sizes and writability, which fields
// load pointers (packet data, packet end, sockets), and the allowed return values.
// The layouts are the kernel's UAPI structs (x86-64 for pt_regs).
#pragma once

#include "ir/program_type.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace bpfvet::analyzer {

// What a read of a context field puts into the destination register.
enum class ContextLoad : uint8_t {
    Scalar,
    PacketStart,        // __sk_buff.data, xdp_md.data, sk_msg_md.data, bpf_sock_ops.skb_data
    PacketEnd,          // ... data_end
    PacketMeta,         // ... data_meta
    SocketOrNull,       // a struct bpf_sock pointer that may be null
    SockCommonOrNull,   // __sk_buff.sk: a struct sock_common (or null), not yet a full socket
};

struct ContextField {
    std::string_view name;
    uint16_t offset = 0;
    uint16_t size = 0;
    bool writable = false;
    // Reads of 1, 2 or 4 aligned bytes inside the field are allowed (the kernel's
    // narrow loads); otherwise only the whole field.
    bool narrow_read = true;
    // Any aligned access inside the field, reads and (if writable) writes, e.g. cb[].
    bool any_aligned = false;
    ContextLoad load = ContextLoad::Scalar;
};

struct ReturnRange {
    int64_t min = 0;
    int64_t max = 0;
    // Only the low 32 bits are checked, as signed (lsm hooks return int).
    bool low_32_bits = false;
};

struct ContextDescriptor {
    std::string_view struct_name;  // "__sk_buff", "xdp_md", ...
    uint32_t size = 0;
    // Field list; empty means "any aligned read inside [0, size)" (pt_regs,
    // tracepoint records, raw tracepoint and BTF argument arrays).
    std::span<const ContextField> fields;
    bool uniform_readonly = false;
    // Uniform contexts whose accesses must be whole 8-byte slots (u64 argument arrays).
    bool uniform_u64 = false;
    std::optional<ReturnRange> return_range;
    // Bytes before this offset are not the program's (a tracepoint record's
    // first 8 bytes, which the kernel keeps for itself).
    uint32_t first_readable = 0;
};

// nullopt for program types we do not model (the check then rejects clearly).
[[nodiscard]] std::optional<ContextDescriptor> context_descriptor(ir::ProgramType type,
                                                                  std::string_view attach_target = {});

// What a socket pointer may read: struct bpf_sock for a full socket, without
// type, protocol, mark and priority for a sock_common (the kernel's
// bpf_sock_common_is_valid_access).
[[nodiscard]] ContextDescriptor socket_descriptor(bool full_socket);

struct ContextAccessAllowed {
    ContextLoad load = ContextLoad::Scalar;
    std::string_view field;
};

// Checks an access of `size` bytes at `offset` of the context. Returns what the
// access loads, or a message in plain words explaining why it is refused.
//   check_context_access(xdp, 0, 4, false)  -> PacketStart ("data")
//   check_context_access(xdp, 0, 8, false)  -> "xdp_md.data must be accessed with size 4"
[[nodiscard]] std::variant<ContextAccessAllowed, std::string> check_context_access(
    const ContextDescriptor& context, int64_t offset, int size, bool is_write);

}  // namespace bpfvet::analyzer
