// Strict encoding checks for a linked program (RFC 9669): every error names
// the instruction index and what is wrong, so bad bytecode never reaches the
// analyzer, the interpreter or the JIT.
#pragma once

#include "ir/program.hpp"

#include <span>
#include <vector>

namespace bpfvet::ir {

// Splits raw bytecode into 8-byte slots. Fails when the size is not a multiple of 8.
[[nodiscard]] std::expected<std::vector<Instruction>, std::string> decode_bytes(std::span<const uint8_t> bytes);

struct ValidationError {
    size_t pc = 0;
    std::string message;
};

// The first problem found in one instruction (nullopt when it is well formed).
// `next` is the following slot, needed for LDDW; nullptr at the end.
[[nodiscard]] std::optional<std::string> check_instruction(const Instruction& insn, const Instruction* next);

// All problems of a program: per-instruction encoding, jump and call targets,
// LDDW pairing, and falling off the end of a function.
[[nodiscard]] std::vector<ValidationError> validate(const Program& program);

}  // namespace bpfvet::ir
