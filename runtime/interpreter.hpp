// The reference interpreter: RFC 9669 semantics, instruction by instruction.
//
// Checked mode (the default for `bpfvet run` and for replaying counterexamples)
// checks every load, store and atomic against the regions the run may touch
// and stops at the first violation with a located Fault. Unchecked mode trusts
// the verifier and is the fast path. Both bound the number of instructions.
#pragma once

#include "runtime/loaded_program.hpp"
#include "runtime/memory.hpp"
#include "runtime/run_context.hpp"

#include <array>
#include <cstdint>
#include <expected>
#include <vector>

namespace bpfvet::runtime {

struct InterpreterOptions {
    bool checked = true;
    uint64_t instruction_budget = 100'000'000;  // instructions per run, tail calls and callbacks included
    // Checked mode: (*executed)[pc] = 1 for each slot of the entry program that
    // runs (sized to its instructions by the caller), so a test can compare the
    // instructions a run reached with those the analyzer reached.
    std::vector<uint8_t>* executed = nullptr;
};

struct ExecutionResult {
    uint64_t return_value = 0;
    uint64_t instructions = 0;  // executed, for budgets and statistics
};

// Runs `program` with r1..r5 = `arguments` and r10 at the top of a fresh
// 512-byte frame (MaxCallFrames frames in all).
[[nodiscard]] std::expected<ExecutionResult, Fault>
interpret(const LoadedProgram& program, RunContext& context, const std::array<uint64_t, 5>& arguments,
          const InterpreterOptions& options = {});

}  // namespace bpfvet::runtime
