// Compiles linked eBPF programs to native code of the host through LLVM's ORC
// LLJIT, after the new pass manager's O2 (or O3) pipeline, one compile per
// program per compiler (a cache keyed by the program and checked against its
// code). JITLink maps code writable, then flips it to read+execute: memory is
// never writable and executable at once.
//
//   auto compiler = JitCompiler::create({});
//   auto entry = (*compiler)->compile(program);   // EntryFunction
//   uint64_t r0 = (*entry)(r1, r2, &run_context); // see JitRunner for the set-up
#pragma once

#include "jit/lowering.hpp"
#include "runtime/loaded_program.hpp"
#include "runtime/run_context.hpp"

#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace llvm::orc {
class LLJIT;
}

namespace bpfvet::jit {

// uint64_t entry(uint64_t r1, uint64_t r2, RunContext* context): see lowering.hpp.
using EntryFunction = uint64_t (*)(uint64_t r1, uint64_t r2, runtime::RunContext* context);

struct JitOptions {
    unsigned optimization_level = 2;  // 0..3 (new pass manager pipelines)
};

struct CompileStatistics {
    double lower_ms = 0;     // eBPF -> LLVM IR
    double optimize_ms = 0;  // pass pipeline
    double codegen_ms = 0;   // ORC materialisation (instruction selection, linking)
    [[nodiscard]] double total_ms() const { return lower_ms + optimize_ms + codegen_ms; }
};

class JitCompiler {
public:
    [[nodiscard]] static std::expected<std::unique_ptr<JitCompiler>, std::string> create(JitOptions options = {});
    ~JitCompiler();
    JitCompiler(const JitCompiler&) = delete;
    JitCompiler& operator=(const JitCompiler&) = delete;

    // The native entry of `program`, compiled on first use (with `facts`, the
    // analyzer's proven facts of an accepted analysis, when given; a program
    // already compiled keeps its code). Thread-safe.
    [[nodiscard]] std::expected<EntryFunction, std::string> compile(const runtime::LoadedProgram& program,
                                                                    const ProgramFacts* facts = nullptr);
    // Statistics of the compile of `program` (zeros if it was not compiled here).
    [[nodiscard]] CompileStatistics statistics(const runtime::LoadedProgram& program) const;
    [[nodiscard]] size_t compiles() const;  // how many programs were actually compiled

private:
    explicit JitCompiler(JitOptions options);
    struct Compiled {
        std::vector<ir::Instruction> instructions;  // what the cache entry was built from
        std::vector<uint64_t> resolved;
        EntryFunction entry = nullptr;
        CompileStatistics statistics;
    };
    JitOptions options_;
    std::unique_ptr<llvm::orc::LLJIT> jit_;
    mutable std::mutex lock_;
    std::unordered_map<const runtime::LoadedProgram*, Compiled> cache_;
    size_t compiles_ = 0;
};

// The (optionally optimised) LLVM IR of `program` as text, for inspection
// (`bpfvet compile --emit-llvm`) and tests.
[[nodiscard]] std::expected<std::string, std::string>
lowered_ir_text(const runtime::LoadedProgram& program, const LoweringOptions& lowering, unsigned optimization_level);

// A relocatable native object of the host for `program` (ahead-of-time), with
// symbolic addressing: see docs/jit.md for the symbols it needs.
[[nodiscard]] std::expected<std::vector<char>, std::string>
compile_object(const runtime::LoadedProgram& program, const LoweringOptions& lowering, unsigned optimization_level);

// Runtime support the lowered code calls (tail calls, callx, legacy packet
// loads, falling off a function); exported for ahead-of-time hosts.
extern "C" {
uint64_t bpfvet_jit_tail_call(runtime::RunContext* context, uint64_t r1);
uint64_t bpfvet_jit_callx(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, runtime::RunContext* context,
                          const runtime::LoadedProgram* program, uint64_t id, uint64_t pc);
uint64_t bpfvet_jit_legacy_load(runtime::RunContext* context, uint64_t offset, uint64_t width);
uint64_t bpfvet_jit_fell_off(runtime::RunContext* context, uint64_t pc);
uint8_t bpfvet_jit_fault_pending(runtime::RunContext* context);
// bpf_map_lookup_elem on a known map, unchecked: map->lookup(key, cpu).
uint64_t bpfvet_jit_map_lookup(runtime::Map* map, uint64_t key, runtime::RunContext* context);
}

// What RunContext::engine_state points to during a JIT run: how tail calls
// find the target's code.
struct JitRunState {
    JitCompiler* compiler = nullptr;
};

// RunContext::invoke_callback for JIT runs: `function` is the callback's
// native address (what the lowered LDDW of a function loads).
uint64_t invoke_jit_callback(runtime::RunContext& context, uint64_t function, uint64_t r1, uint64_t r2, uint64_t r3,
                             uint64_t r4, uint64_t r5);

}  // namespace bpfvet::jit
