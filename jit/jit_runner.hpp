// Runs a program's JIT-compiled code the way runtime::Runner runs the
// interpreter: same context and packet set-up (ProgramInput), same per-CPU
// random stream, same outcome type. The JIT trusts the verifier: there is no
// checked mode and no instruction budget (ExecutionResult::instructions is 0).
//
// Until runtime::Runner has an Engine::Jit (see docs/jit.md), callers that want
// the JIT use this class.
#pragma once

#include "jit/compiler.hpp"
#include "runtime/runtime.hpp"

#include <array>
#include <expected>
#include <memory>
#include <string>

namespace bpfvet::jit {

class JitRunner {
public:
    JitRunner(runtime::LoadedObject& object, const runtime::LoadedProgram& program, JitCompiler& compiler,
              unsigned cpu = 0);
    // Fails for an input the context cannot hold (see ProgramInput::create).
    [[nodiscard]] std::expected<void, std::string> set_input(runtime::RunInput input);
    // Compiles now (runs compile on first use otherwise), to keep compile time out of measurements.
    [[nodiscard]] std::expected<void, std::string> prepare();
    runtime::RunOutcome run(bool restore_input = true);
    // Cheapest repeated run (benchmarks): only r0.
    std::expected<runtime::ExecutionResult, runtime::Fault> run_fast(bool restore_input = true);

private:
    runtime::LoadedObject& object_;
    const runtime::LoadedProgram& program_;
    JitCompiler& compiler_;
    EntryFunction entry_ = nullptr;
    runtime::RunContext context_;
    JitRunState state_;
    std::unique_ptr<runtime::ProgramInput> input_;
    std::array<uint64_t, 2> arguments_{};
    bool prepared_ = false;
    uint64_t random_state_;
};

}  // namespace bpfvet::jit
