#include "tools/counterexample_replay.hpp"

#include "analyzer/helper_table.hpp"
#include "runtime/runtime.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <utility>

namespace bpfvet::tools {
namespace {

constexpr size_t ForcedSlots = 16;  // distinct helpers one counterexample may force

// What the substituted helpers read through RunContext::host_state.
struct ReplayState {
    std::deque<analyzer::HelperOutcome> calls;
    std::array<int32_t, ForcedSlots> slot_helper{};
    std::array<runtime::HelperFunction, ForcedSlots> real{};
    std::string divergence;  // the run called helpers in another order than the path
};

// A lookup forced to "found": the real lookup's value, created (zeroed) when
// absent, holding the counterexample's bytes.
uint64_t forced_lookup(const analyzer::HelperOutcome& outcome, runtime::HelperFunction real, uint64_t r1, uint64_t r2,
                       uint64_t r3, uint64_t r4, uint64_t r5, runtime::RunContext* context) {
    uint64_t value = real(r1, r2, r3, r4, r5, context);
    auto* map = reinterpret_cast<runtime::Map*>(r1);
    bool known = std::find(context->maps.begin(), context->maps.end(), map) != context->maps.end();
    if (value == 0 && known && !context->fault) {
        std::vector<uint8_t> zero(map->definition().value_size, 0);
        (void)map->update(reinterpret_cast<const void*>(r2), zero.data(), 0, context->cpu);
        value = reinterpret_cast<uint64_t>(map->lookup(reinterpret_cast<const void*>(r2), context->cpu));
    }
    if (value != 0 && known) {
        size_t size = std::min<size_t>(outcome.value.size(), map->definition().value_size);
        std::memcpy(reinterpret_cast<void*>(value), outcome.value.data(), size);
    }
    return value;
}

template <size_t Slot>
uint64_t forced_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, runtime::RunContext* context) {
    auto& state = *static_cast<ReplayState*>(context->host_state);
    const int32_t helper = state.slot_helper[Slot];
    runtime::HelperFunction real = state.real[Slot];
    if (state.calls.empty() || state.calls.front().helper != helper) {
        if (state.divergence.empty()) state.divergence = fmt::format("the run called helper {} off the path", helper);
        return real(r1, r2, r3, r4, r5, context);
    }
    analyzer::HelperOutcome outcome = std::move(state.calls.front());
    state.calls.pop_front();
    const analyzer::HelperPrototype* prototype = analyzer::helper_prototype(helper);
    auto returns = prototype ? prototype->returns : analyzer::ReturnKind::Integer;
    if (returns == analyzer::ReturnKind::MapValueOrNull)
        return outcome.result == 0 ? 0 : forced_lookup(outcome, real, r1, r2, r3, r4, r5, context);
    uint64_t actual = real(r1, r2, r3, r4, r5, context);
    return returns == analyzer::ReturnKind::Integer ? outcome.result : actual;
}

template <size_t... Slots>
constexpr std::array<runtime::HelperFunction, sizeof...(Slots)> forced_table(std::index_sequence<Slots...>) {
    return {&forced_helper<Slots>...};
}

}  // namespace

ReplayOutcome replay_counterexample(const ir::Object& object, size_t program_index, const analyzer::Diagnostic& alarm) {
    if (!alarm.counterexample) return {false, "no counterexample"};
    const analyzer::Counterexample& input = *alarm.counterexample;

    ReplayState state;
    state.calls.assign(input.calls.begin(), input.calls.end());
    runtime::RuntimeOptions options;
    static constexpr auto forced = forced_table(std::make_index_sequence<ForcedSlots>{});
    size_t slots = 0;
    for (const auto& call : input.calls) {
        if (std::find(state.slot_helper.begin(), state.slot_helper.begin() + slots, call.helper) !=
            state.slot_helper.begin() + slots)
            continue;
        const runtime::HelperDefinition* real = options.helpers.find(call.helper);
        if (real == nullptr) return {false, fmt::format("the runtime has no helper {}", call.helper)};
        if (slots == ForcedSlots) return {false, "too many distinct helpers to force"};
        state.slot_helper[slots] = call.helper;
        state.real[slots] = real->function;
        options.helpers.set(call.helper, real->name, forced[slots]);
        ++slots;
    }
    auto loaded = runtime::LoadedObject::create(object, options);
    if (!loaded) return {false, fmt::format("cannot load the object: {}", loaded.error().message)};
    auto program = (*loaded)->program_at(program_index);
    if (!program) return {false, fmt::format("cannot link the program: {}", program.error().message)};

    runtime::RunInput run_input;
    runtime::ContextKind kind = runtime::context_kind_for((*program)->type);
    if (kind == runtime::ContextKind::Xdp || kind == runtime::ContextKind::Skb) run_input.packet = input.packet;
    if (!input.context.empty()) run_input.context = input.context;
    auto prepared = runtime::ProgramInput::create(kind, run_input);
    if (!prepared) return {false, fmt::format("the input does not fit: {}", prepared.error())};

    runtime::RunContext context;
    context.environment = &(*loaded)->environment();
    context.trace = &(*loaded)->trace();
    context.programs = &(*loaded)->programs();
    context.maps = (*loaded)->maps();
    context.host_state = &state;
    std::array<uint64_t, 2> arguments = (*prepared)->prepare(context);
    auto result = runtime::interpret(**program, context, {arguments[0], arguments[1], 0, 0, 0},
                                     runtime::InterpreterOptions{true, 1'000'000});
    for (const auto& [address, size] : context.reservations)
        runtime::RingBuffer::commit_record(reinterpret_cast<void*>(address), true);
    if (result) {
        std::string why = fmt::format("the replay returned {} without a fault", result->return_value);
        if (!state.divergence.empty()) why += fmt::format(" ({})", state.divergence);
        return {false, why};
    }
    const runtime::Fault& fault = result.error();
    bool same_place = fault.pc == alarm.pc && fault.section == (*program)->section;
    if (!same_place)
        return {false, fmt::format("the replay faulted elsewhere: {}", fault.to_string())};
    return {true, fault.to_string()};
}

void confirm_counterexamples(const ir::Object& object, size_t program_index, analyzer::AnalysisResult& result) {
    for (auto& error : result.errors) {
        if (!error.counterexample) continue;
        ReplayOutcome outcome = replay_counterexample(object, program_index, error);
        error.counterexample->replayed_fault = outcome.fault;
        if (outcome.confirmed) {
            error.status = analyzer::AlarmStatus::Confirmed;
            error.status_reason = "the counterexample replays to this fault in the checked interpreter";
        } else {
            error.status = analyzer::AlarmStatus::Undecided;
            error.status_reason = fmt::format("Z3 found an input, but its replay did not confirm the fault: {}",
                                              outcome.fault);
        }
    }
}

}  // namespace bpfvet::tools
