// The JIT as an execution engine of the runtime (runtime::ExecutionEngine),
// and JitRunner, a runtime::Runner that runs on it: same context and packet
// set-up (ProgramInput), same per-CPU random stream, same outcome type as an
// interpreter run. The JIT trusts the verifier: there is no checked mode
// (ExecutionResult::instructions is 0), so it runs programs the analyzer
// accepted (verify_for_jit), with the facts it proved. Code compiled without
// facts counts loop iterations and call depth against the run's instruction
// budget (LoweringOptions::count_back_edges): a loop without end stops.
//
//   auto facts = verify_for_jit(*object, *program);         // error: rejected
//   JitEngine engine(*compiler);
//   engine.set_facts(*program, std::move(*facts));
//   runtime::Runner runner(*object, *program, 0, &engine);  // as for the interpreter
#pragma once

#include "analyzer/analyzer.hpp"
#include "jit/compiler.hpp"
#include "runtime/runtime.hpp"

#include <array>
#include <expected>
#include <map>
#include <memory>
#include <string>

namespace bpfvet::jit {

class JitEngine final : public runtime::ExecutionEngine {
public:
    explicit JitEngine(JitCompiler& compiler) : compiler_(compiler) { state_.compiler = &compiler; }
    // The analyzer's facts for `program`, used when it is compiled (so: before
    // the first run). Only facts of an accepted analysis: see verify_for_jit.
    void set_facts(const runtime::LoadedProgram& program, ProgramFacts facts) { facts_[&program] = std::move(facts); }

    [[nodiscard]] std::string_view name() const override { return "jit"; }
    [[nodiscard]] std::expected<void, std::string> prepare(const runtime::LoadedProgram& program) override;
    [[nodiscard]] std::expected<runtime::ExecutionResult, runtime::Fault>
    execute(const runtime::LoadedProgram& program, runtime::RunContext& context, const std::array<uint64_t, 2>& arguments,
            const runtime::InterpreterOptions& options) override;

    // The last prepared program's code on a `context` that execute already
    // set up for this engine (after a run, the control and fault fields are
    // back at Continue and empty): for a loop of runs of one program, inline,
    // with nothing but the call and the test for a stop.
    [[nodiscard]] std::expected<runtime::ExecutionResult, runtime::Fault>
    run_prepared(runtime::RunContext& context, const std::array<uint64_t, 2>& arguments) {
        if (counting_) [[unlikely]] {  // code compiled without the verifier's facts counts its loops
            context.back_edges_left = budget_;
            context.call_depth = 0;
        }
        uint64_t r0 = last_entry_(arguments[0], arguments[1], &context);
        if (context.fault || context.control != runtime::Control::Continue) [[unlikely]]
            return stopped(context, r0);
        return runtime::ExecutionResult{r0, 0};
    }
    [[nodiscard]] bool prepared_for(const runtime::LoadedProgram& program) const { return last_program_ == &program; }

private:
    // A run that ended by a fault or a stop (bpf_tail_call's bookkeeping, a
    // helper asking to end the run).
    std::expected<runtime::ExecutionResult, runtime::Fault> stopped(runtime::RunContext& context, uint64_t r0);

    JitCompiler& compiler_;
    JitRunState state_;
    std::map<const runtime::LoadedProgram*, ProgramFacts> facts_;
    // The last program run and its code: repeated runs skip the compiler's cache.
    const runtime::LoadedProgram* last_program_ = nullptr;
    EntryFunction last_entry_ = nullptr;
    bool counting_ = false;    // last_entry_ was compiled without facts: it counts against budget_
    uint64_t budget_ = 0;      // the run's instruction budget (InterpreterOptions)
};

// Runs the analyzer on `program` of `object` (with `options`, facts recorded):
// its facts when accepted, the diagnostics as text when rejected.
[[nodiscard]] std::expected<ProgramFacts, std::string>
verify_for_jit(const runtime::LoadedObject& object, const runtime::LoadedProgram& program,
               analyzer::AnalysisOptions options = {});

// A Runner on a JitEngine of its own (tests, benchmarks): without facts
// unless given; the caller vouches that they come from an accepted analysis.
class JitRunner {
public:
    JitRunner(runtime::LoadedObject& object, const runtime::LoadedProgram& program, JitCompiler& compiler,
              unsigned cpu = 0, const ProgramFacts* facts = nullptr);
    // Fails for an input the context cannot hold (see ProgramInput::create).
    [[nodiscard]] std::expected<void, std::string> set_input(runtime::RunInput input) {
        return runner_->set_input(std::move(input));
    }
    // Compiles now (runs compile on first use otherwise), to keep compile time out of measurements.
    [[nodiscard]] std::expected<void, std::string> prepare() { return runner_->prepare(); }
    runtime::RunOutcome run(bool restore_input = true);
    // Cheapest repeated run (benchmarks): only r0. Without restore_input, after
    // a first run, straight to the native code (the Runner's resets inline).
    std::expected<runtime::ExecutionResult, runtime::Fault> run_fast(bool restore_input = true) {
        if (restore_input || !runner_->armed() || !engine_->prepared_for(program_)) [[unlikely]]
            return run_through_runner(restore_input);
        return run_armed();
    }

private:
    // One named result and one return: built in the caller's slot, not copied
    // there (a copy cost a store-forwarding stall, ~4 ns a run).
    std::expected<runtime::ExecutionResult, runtime::Fault> run_armed() {
        std::expected<runtime::ExecutionResult, runtime::Fault> result =
            engine_->run_prepared(runner_->rearm(), runner_->arguments());
        runner_->settle();
        return result;
    }
    std::expected<runtime::ExecutionResult, runtime::Fault> run_through_runner(bool restore_input);

    const runtime::LoadedProgram& program_;
    std::unique_ptr<JitEngine> engine_;
    std::unique_ptr<runtime::Runner> runner_;
};

}  // namespace bpfvet::jit
