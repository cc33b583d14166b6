#include "jit/jit_runner.hpp"

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

JitRunner::JitRunner(runtime::LoadedObject& object, const runtime::LoadedProgram& program, JitCompiler& compiler,
                     unsigned cpu)
    : object_(object), program_(program), compiler_(compiler) {
    // As runtime::Runner does, so that both engines see the same world.
    context_.environment = &object.environment();
    context_.trace = &object.trace();
    context_.programs = &object.programs();
    context_.maps = object.maps();
    context_.cpu = cpu;
    random_state_ = object.environment().random_seed ^ (uint64_t(cpu + 1) * 0x9e3779b97f4a7c15ULL);
    state_.compiler = &compiler;
}

std::expected<void, std::string> JitRunner::set_input(runtime::RunInput input) {
    auto created = runtime::ProgramInput::create(runtime::context_kind_for(program_.type), std::move(input));
    if (!created) return std::unexpected(created.error());
    input_ = std::move(*created);
    prepared_ = false;
    return {};
}

std::expected<void, std::string> JitRunner::prepare() {
    if (entry_) return {};
    auto entry = compiler_.compile(program_);
    if (!entry) return std::unexpected(entry.error());
    entry_ = *entry;
    return {};
}

std::expected<runtime::ExecutionResult, runtime::Fault> JitRunner::run_fast(bool restore_input) {
    if (auto compiled = prepare(); !compiled) return std::unexpected(setup_fault(program_, "JIT: " + compiled.error()));
    if (!input_)
        if (auto made = set_input({}); !made) return std::unexpected(setup_fault(program_, made.error()));
    if (restore_input || !prepared_) {
        arguments_ = input_->prepare(context_);
        prepared_ = true;
    }
    context_.maps = object_.maps();
    context_.reservations.clear();
    context_.redirect.reset();
    context_.tail_calls = 0;
    context_.random_state = random_state_;
    context_.checked = false;
    context_.control = runtime::Control::Continue;
    context_.fault.reset();
    context_.engine_state = &state_;
    context_.invoke_callback = &invoke_jit_callback;

    uint64_t r0 = entry_(arguments_[0], arguments_[1], &context_);

    context_.engine_state = nullptr;
    random_state_ = context_.random_state;
    for (const auto& [address, size] : context_.reservations)
        runtime::RingBuffer::commit_record(reinterpret_cast<void*>(address), true);
    if (context_.fault) {
        runtime::Fault fault = std::move(*context_.fault);
        context_.fault.reset();
        if (fault.section.empty()) fault.section = program_.section;
        return std::unexpected(std::move(fault));
    }
    if (context_.control == runtime::Control::Stop) r0 = context_.stop_value;
    context_.control = runtime::Control::Continue;
    return runtime::ExecutionResult{r0, 0};
}

runtime::RunOutcome JitRunner::run(bool restore_input) {
    runtime::RunOutcome outcome{run_fast(restore_input), {}, {}, {}};
    if (input_) {
        outcome.packet = input_->packet_after(context_);
        outcome.memory = input_->memory_after();
    }
    outcome.redirect = context_.redirect;
    return outcome;
}

}  // namespace bpfvet::jit
