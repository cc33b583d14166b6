#include "jit/jit_runner.hpp"

#include <fmt/format.h>

namespace bpfvet::jit {
namespace {

runtime::Fault setup_fault(const runtime::LoadedProgram& program, std::string message) {
    runtime::Fault fault;
    fault.kind = runtime::FaultKind::InvalidInstruction;
    fault.section = program.section;
    fault.message = std::move(message);
    return fault;
}

}  // namespace

std::expected<void, std::string> JitEngine::prepare(const runtime::LoadedProgram& program) {
    if (last_program_ == &program) return {};
    auto found = facts_.find(&program);
    auto entry = compiler_.compile(program, found == facts_.end() ? nullptr : &found->second);
    if (!entry) return std::unexpected(entry.error());
    last_program_ = &program;
    last_entry_ = *entry;
    counting_ = found == facts_.end();
    return {};
}

std::expected<runtime::ExecutionResult, runtime::Fault>
JitEngine::execute(const runtime::LoadedProgram& program, runtime::RunContext& context,
                   const std::array<uint64_t, 2>& arguments, const runtime::InterpreterOptions& options) {
    budget_ = options.instruction_budget;  // native code has no checked mode; unverified code counts loops
    if (last_program_ != &program)
        if (auto prepared = prepare(program); !prepared) return std::unexpected(setup_fault(program, "JIT: " + prepared.error()));
    context.checked = false;
    context.control = runtime::Control::Continue;
    if (context.fault) context.fault.reset();
    // Left set after the run: the context's later runs on this engine
    // (run_prepared) need it, and nothing else reads it.
    context.engine_state = &state_;
    context.invoke_callback = &invoke_jit_callback;
    return run_prepared(context, arguments);
}

std::expected<runtime::ExecutionResult, runtime::Fault> JitEngine::stopped(runtime::RunContext& context, uint64_t r0) {
    if (context.fault) {
        runtime::Fault fault = std::move(*context.fault);
        context.fault.reset();
        if (fault.section.empty()) fault.section = last_program_->section;
        return std::unexpected(std::move(fault));
    }
    if (context.control == runtime::Control::Stop) r0 = context.stop_value;
    context.control = runtime::Control::Continue;
    return runtime::ExecutionResult{r0, 0};
}

std::expected<ProgramFacts, std::string> verify_for_jit(const runtime::LoadedObject& object,
                                                        const runtime::LoadedProgram& program,
                                                        analyzer::AnalysisOptions options) {
    const auto& programs = object.object().programs;
    if (program.id >= programs.size() || programs[program.id].instructions != program.instructions)
        return std::unexpected(fmt::format("section {}: the program is not the object's program {}", program.section,
                                           program.id));
    options.record_facts = true;
    auto result = analyzer::analyze_program(object.object(), programs[program.id], options);
    if (!result.accepted) {
        std::string message = fmt::format("section {}: rejected by the verifier", program.section);
        for (const auto& error : result.errors) message += "\n" + error.to_text();
        return std::unexpected(message);
    }
    return std::move(result.facts);
}

JitRunner::JitRunner(runtime::LoadedObject& object, const runtime::LoadedProgram& program, JitCompiler& compiler,
                     unsigned cpu, const ProgramFacts* facts)
    : program_(program),
      engine_(std::make_unique<JitEngine>(compiler)),
      runner_(std::make_unique<runtime::Runner>(object, program, cpu, engine_.get())) {
    if (facts) engine_->set_facts(program, *facts);
}

std::expected<runtime::ExecutionResult, runtime::Fault> JitRunner::run_through_runner(bool restore_input) {
    runtime::RunOptions options;
    options.checked = false;
    options.restore_input = restore_input;
    return runner_->run_fast(options);
}

runtime::RunOutcome JitRunner::run(bool restore_input) {
    runtime::RunOptions options;
    options.checked = false;
    options.restore_input = restore_input;
    return runner_->run(options);
}

}  // namespace bpfvet::jit
