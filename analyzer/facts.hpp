// Facts the analyzer proved about a program, per instruction and register, as
// plain data for consumers that want to exploit them (the JIT): a register
// holds a known constant, a number in an unsigned range, a pointer of a known
// kind that is never null, a divisor that is never 0.
//
// A fact holds on EVERY execution that reaches the instruction, because it is
// read from the analyzer's over-approximating states (the join of every state
// the analysis saw at that pc). Facts exist only for programs the analyzer
// accepted: for a rejected program some path was cut short, so its states
// describe nothing.
//
//   r1 = 7; r2 /= r1        -> at the div: r1 is the constant 7, divisor_nonzero
//   r0 = *(u8 *)(r2 + 0)    -> at the next pc: r0 in [0, 255]
//   r0 = map_lookup(...); if r0 == 0 goto out; *(u64 *)(r0 + 0) ...
//                           -> at the load: r0 is a map-value pointer, non_null
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>

namespace bpfvet::ir {
struct Program;
}

namespace bpfvet::analyzer {

namespace detail {
class Engine;
}

enum class FactKind : uint8_t {
    Unknown,  // uninitialized, or a number on some paths and a pointer on others
    Number,
    Pointer,
};

// Where a pointer points (mirrors the analyzer's PointerKind, as plain data).
enum class FactRegion : uint8_t {
    Context,
    Stack,
    MapValue,
    MapHandle,
    Packet,
    PacketEnd,
    PacketMeta,
    RingbufMemory,
    Socket,
};

struct RegisterFact {
    FactKind kind = FactKind::Unknown;
    // Number: the value's unsigned and signed ranges (64 bits).
    // Pointer: the offset's ranges from the start of its region (for Stack,
    // from the frame pointer; for Packet, from the packet base the analyzer
    // measures from, so only meaningful with offset_from_packet_start).
    uint64_t unsigned_min = 0;
    uint64_t unsigned_max = ~uint64_t(0);
    int64_t signed_min = INT64_MIN;
    int64_t signed_max = INT64_MAX;
    // Bits of the value (or offset) known to be 0 at the bottom: 3 means a
    // multiple of 8. Example: r1 &= -8 gives 3.
    uint8_t known_trailing_zeros = 0;
    // Pointer only.
    FactRegion region = FactRegion::Context;
    bool non_null = false;
    bool offset_from_packet_start = false;  // Packet: the offset is measured from ctx->data

    [[nodiscard]] std::optional<uint64_t> constant() const {
        if (kind == FactKind::Number && unsigned_min == unsigned_max) return unsigned_min;
        return std::nullopt;
    }
};

struct InstructionFacts {
    // The registers r0..r10 before the instruction runs.
    std::array<RegisterFact, 11> registers{};
    // div/mod by a register: the divisor at the operation's width (the low 32
    // bits for 32-bit ALU) is never 0 here, so the ISA's x/0 rule never applies.
    bool divisor_nonzero = false;
    // Signed div/mod by a register: the divisor is never -1 (no INT_MIN / -1 case).
    bool divisor_not_minus_one = false;
    // Load or store: the accessed address is a multiple of this within its
    // region (1 when unknown); a stack access is relative to the frame pointer.
    uint8_t access_alignment = 1;
};

using ProgramFacts = std::map<uint32_t, InstructionFacts>;  // by pc

// Builds the facts from the engine's recorded per-pc states (the engine ran
// with record_invariants on and accepted the program). Instructions of a
// subprogram that is entered at more than one call depth (or as a callback)
// get no facts: its recorded states join frames of different functions.
[[nodiscard]] ProgramFacts collect_facts(const detail::Engine& engine, const ir::Program& program);

}  // namespace bpfvet::analyzer
