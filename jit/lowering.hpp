// Lowering of a linked eBPF program to LLVM IR: one LLVM function per eBPF
// function, registers in allocas (SROA/mem2reg turn them into SSA values), one
// 512-byte stack alloca per frame with r10 at its end, helpers called directly.
//
// Entry point of the lowered module (both JIT and ahead-of-time objects):
//   uint64_t <entry_name>(uint64_t r1, uint64_t r2, RunContext* context)
// r1 is the context (or input memory), r2 the input length for raw runs. After
// it returns the caller looks at context->fault and context->control (Stop:
// the result is context->stop_value), exactly as after an interpreter run.
#pragma once

#include "analyzer/facts.hpp"
#include "runtime/loaded_program.hpp"

#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <utility>
#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace bpfvet::jit {

// How the lowered code reaches what the program references.
enum class Addressing : uint8_t {
    // In-process JIT: map handles, map values and helpers are the addresses the
    // runtime resolved at link time (LoadedProgram::resolved), as constants.
    Absolute,
    // Ahead-of-time object: they are external symbols, see docs/jit.md:
    //   void* bpfvet_maps[];        map handle of map index i (what LDDW map[i] loads)
    //   void* bpfvet_map_values[];  address of the one value of global-data map i
    //   uint64_t bpfvet_helper_<id>(r1, r2, r3, r4, r5, RunContext*);
    Symbolic,
};

// What the analyzer proved about the program, per instruction
// (analyzer/facts.hpp): known constants, ranges of loaded values, divisors
// that are never 0 or -1, alignment of stack accesses. Only sound facts belong
// here: the code is wrong, not just slow, if one is false on some run, so
// they come only from an accepted analysis (see JitEngine).
using analyzer::InstructionFacts;
using analyzer::ProgramFacts;

struct LoweringOptions {
    Addressing addressing = Addressing::Absolute;
    std::string entry_name = "bpfvet_entry";
    const ProgramFacts* facts = nullptr;  // none: assume nothing
    // For code the verifier did not prove to terminate: every back edge takes
    // one from RunContext::back_edges_left (the run's instruction budget) and
    // every local call counts its depth in RunContext::call_depth, so a loop
    // without end stops with BudgetExhausted and a recursion without end with
    // CallDepthExceeded, as in the interpreter, never a hang or a stack overflow.
    // Verified code pays nothing for it.
    bool count_back_edges = false;
};

// Names of the runtime support functions the lowered code calls (defined in
// jit/support.cpp; an AOT host links them or provides its own).
inline constexpr const char* TailCallSymbol = "bpfvet_jit_tail_call";      // (RunContext*, r1) -> r0
inline constexpr const char* CallxSymbol = "bpfvet_jit_callx";             // (r1..r5, RunContext*, program, id) -> r0
inline constexpr const char* LegacyLoadSymbol = "bpfvet_jit_legacy_load";  // (RunContext*, offset, width) -> value
inline constexpr const char* FallOffSymbol = "bpfvet_jit_fell_off";        // (RunContext*, pc) -> 0
inline constexpr const char* BudgetSymbol = "bpfvet_jit_out_of_budget";    // (RunContext*, pc, kind) -> 0

// Builds the module of `program` in `context`. Fails with a message naming the
// instruction for what cannot be lowered (e.g. a jump leaving its function, an
// atomic of width 1, an opcode no engine knows).
[[nodiscard]] std::expected<std::unique_ptr<llvm::Module>, std::string>
lower_program(const runtime::LoadedProgram& program, llvm::LLVMContext& context, const LoweringOptions& options = {});

}  // namespace bpfvet::jit
