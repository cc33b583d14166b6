#include "soundness_oracle.hpp"

#include "analyzer/analyzer.hpp"
#include "jit/jit_runner.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/map_contents.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <map>
#include <random>
#include <set>

namespace bpfvet::generator {
namespace {

using runtime::ContextKind;

// Packet lengths at the edges of what parsers test (empty, one byte, around
// the Ethernet, IPv4 and TCP headers, the MTU), then random ones up to it.
constexpr std::array<size_t, 12> EdgeLengths = {0, 1, 13, 14, 15, 33, 34, 35, 53, 54, 64, 1500};
constexpr size_t Mtu = 1500;

runtime::RunInput make_input(ContextKind kind, size_t index, std::mt19937_64& random) {
    runtime::RunInput input;
    auto bytes = [&](size_t length) {
        std::vector<uint8_t> out(length);
        // Some inputs all zero or all ones: edge values for every field.
        int fill = int(random() % 8);
        for (auto& b : out) b = fill == 0 ? 0 : fill == 1 ? 0xff : uint8_t(random());
        return out;
    };
    if (kind == ContextKind::Xdp || kind == ContextKind::Skb)
        input.packet = bytes(index < EdgeLengths.size() ? EdgeLengths[index] : random() % (Mtu + 1));
    else if (kind == ContextKind::Raw)
        input.context = bytes(256);
    else
        input.memory = bytes(64);
    return input;
}

// Every map filled with random values (the same for every engine given the same seed).
void fill_maps(runtime::LoadedObject& object, uint64_t seed) {
    std::mt19937_64 random(seed);
    for (runtime::Map* map : object.maps()) {
        const auto& definition = map->definition();
        if (definition.key_size == 0 || definition.key_size > 8) continue;
        std::vector<uint8_t> value(map->host_value_size());
        for (uint32_t key = 0; key < definition.max_entries; ++key) {
            if (random() % 4 == 0) continue;  // some keys absent (hash maps)
            for (auto& b : value) b = uint8_t(random());
            uint64_t key_bytes = key;
            (void)map->host_update(&key_bytes, value.data(), 0);
        }
    }
}

using bpfvet::test::map_contents;

runtime::RuntimeOptions deterministic_runtime() {
    runtime::RuntimeOptions options;
    options.environment.monotonic_ns = [] { return uint64_t(1'000'000'000); };
    options.environment.boot_ns = [] { return uint64_t(2'000'000'000); };
    return options;
}

std::string first_error(const analyzer::AnalysisResult& result) {
    if (result.errors.empty()) return "rejected";
    const auto& error = result.errors.front();
    return fmt::format("{}@{} {}", error.code_name(), error.pc, error.message);
}

}  // namespace

const char* breach_name(Breach breach) {
    switch (breach) {
    case Breach::None: return "none";
    case Breach::Fault: return "fault";
    case Breach::Uncovered: return "uncovered";
    case Breach::JitDifference: return "jit-difference";
    }
    return "?";
}

OracleResult run_oracle(const GeneratedProgram& generated, const OracleOptions& options) {
    OracleResult result;
    auto object = build_object(generated);
    if (!object) {
        result.rejection = object.error();
        return result;
    }
    result.assembled = true;
    const ir::Program& program = object->programs.front();
    analyzer::AnalysisOptions analysis;
    analysis.max_seconds = 10;
    auto verdict = analyzer::analyze_program(*object, program, analysis);
    result.accepted = verdict.accepted;
    if (!verdict.accepted) {
        result.rejection = first_error(verdict);
        return result;
    }
    // Again with the per-instruction states (costly on a program that runs
    // out of steps, so only once it is known to be accepted).
    analysis.record_invariants = true;
    analysis.record_facts = options.jit != nullptr;
    verdict = analyzer::analyze_program(*object, program, analysis);
    if (!verdict.accepted) {
        result.breach = Breach::Uncovered;
        result.detail = "accepted, then rejected when its states are recorded: " + first_error(verdict);
        return result;
    }
    auto interpreter_object = runtime::LoadedObject::create(*object, deterministic_runtime());
    if (!interpreter_object) {
        result.rejection = "the runtime cannot load it: " + interpreter_object.error().to_string();
        return result;
    }
    auto interpreter_program = (*interpreter_object)->program(program.name);
    if (!interpreter_program) {
        result.rejection = "the runtime cannot link it: " + interpreter_program.error().to_string();
        return result;
    }
    fill_maps(**interpreter_object, generated.seed);
    runtime::Runner interpreter(**interpreter_object, **interpreter_program);

    // The JIT side: its own maps, filled the same way.
    std::unique_ptr<runtime::LoadedObject> jit_object;
    std::unique_ptr<jit::JitRunner> jit;
    bool compare_values = true;
    if (options.jit) {
        auto made = runtime::LoadedObject::create(*object, deterministic_runtime());
        if (made) jit_object = std::move(*made);
        auto jit_program = jit_object ? jit_object->program(program.name) : std::unexpected(ir::LoadError{});
        if (jit_object && jit_program) {
            fill_maps(*jit_object, generated.seed);
            jit = std::make_unique<jit::JitRunner>(*jit_object, **jit_program, *options.jit, 0, &verdict.facts);
            if (auto compiled = jit->prepare(); !compiled) {
                result.breach = Breach::JitDifference;
                result.detail = "accepted, but the JIT cannot compile it: " + compiled.error();
                return result;
            }
            // What only root may load may leak pointers into r0, maps and
            // the packet, whose values differ between engines: compare faults only.
            analyzer::AnalysisOptions unprivileged;
            unprivileged.unprivileged = true;
            unprivileged.max_seconds = 10;
            compare_values = analyzer::analyze_program(*object, program, unprivileged).accepted;
        }
    }

    std::set<uint32_t> reached;
    for (const auto& [pc, state] : verdict.invariants) reached.insert(pc);
    ContextKind kind = runtime::context_kind_for(program.type);
    std::mt19937_64 random(generated.seed ^ 0x9e3779b97f4a7c15ULL);
    std::vector<uint8_t> executed(program.instructions.size(), 0);
    for (size_t i = 0; i < options.inputs; ++i) {
        runtime::RunInput input = make_input(kind, i, random);
        std::string described = fmt::format("input {} ({} packet bytes)", i, input.packet ? input.packet->size() : 0);
        if (!interpreter.set_input(input)) continue;
        std::fill(executed.begin(), executed.end(), 0);
        runtime::RunOptions run;
        run.instruction_budget = options.instruction_budget;
        run.executed = &executed;
        auto expected = interpreter.run(run);
        ++result.executions;
        for (uint32_t pc = 0; pc < executed.size(); ++pc)
            if (executed[pc] && !reached.contains(pc)) {
                result.breach = Breach::Uncovered;
                result.detail = fmt::format("{}: instruction {} ran, but the analysis never reached it", described, pc);
                return result;
            }
        if (!expected.result) {
            result.breach = Breach::Fault;
            result.detail = fmt::format("{}: {}", described, expected.result.error().to_string());
            return result;
        }
        if (!jit || !jit->set_input(input)) continue;
        auto actual = jit->run();
        auto differ = [&](std::string what) {
            result.breach = Breach::JitDifference;
            result.detail = fmt::format("{}: {}", described, what);
            return result;
        };
        if (!actual.result) return differ("JIT fault " + actual.result.error().to_string());
        if (!compare_values) continue;  // pointers may have been written into the packet too
        if (actual.packet != expected.packet) return differ("packets differ");
        if (actual.result->return_value != expected.result->return_value)
            return differ(fmt::format("r0 {:#x} on the JIT, {:#x} in the interpreter", actual.result->return_value,
                                      expected.result->return_value));
        if (map_contents(*jit_object) != map_contents(**interpreter_object)) return differ("map contents differ");
    }
    return result;
}

GeneratedProgram minimize(GeneratedProgram program, const std::function<bool(const GeneratedProgram&)>& still_fails) {
    // ddmin over lines: remove chunks of halving size while the failure stays.
    for (size_t chunk = std::max<size_t>(program.lines.size() / 2, 1);; chunk = std::max<size_t>(chunk / 2, 1)) {
        bool removed = false;
        for (size_t start = 0; start < program.lines.size();) {
            GeneratedProgram candidate = program;
            size_t end = std::min(start + chunk, candidate.lines.size());
            candidate.lines.erase(candidate.lines.begin() + ptrdiff_t(start), candidate.lines.begin() + ptrdiff_t(end));
            if (!candidate.lines.empty() && still_fails(candidate)) {
                program = std::move(candidate);
                removed = true;
            } else {
                start += chunk;
            }
        }
        if (chunk == 1 && !removed) return program;
    }
}

}  // namespace bpfvet::generator
