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

// What is wrong with one instruction, and when the kernel notices it.
struct InstructionProblem {
    std::string message;
    Defect::Scope scope = Defect::Scope::WholeProgram;
};

// The first problem found in one instruction (nullopt when it is well formed).
// `next` is the following slot, needed for LDDW; nullptr at the end.
[[nodiscard]] std::optional<InstructionProblem> check_instruction(const Instruction& insn, const Instruction* next);

// All defects of a program: per-instruction encoding, jump and call targets
// (a jump stays in its function), LDDW pairing, and falling off the end of a
// function. Jump targets are checked only when every instruction decodes.
[[nodiscard]] std::vector<Defect> validate(const Program& program);

}  // namespace bpfvet::ir
