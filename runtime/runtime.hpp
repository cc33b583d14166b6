// The host API, in the spirit of libbpf: open an object, create its maps,
// look up / update / delete / iterate keys, consume ring buffers, run programs.
//
//   auto object = LoadedObject::open("prog.o", {});          // maps created
//   auto program = (*object)->program("xdp");                // linked, helpers resolved
//   Runner runner(**object, **program, 0);                   // one per worker thread
//   runner.set_input({.packet = bytes});
//   RunOutcome outcome = runner.run({});                     // r0, packet, faults
//   (*object)->find_map("counts")->host_lookup(&key, &value);
#pragma once

#include "ir/program.hpp"
#include "runtime/environment.hpp"
#include "runtime/helpers.hpp"
#include "runtime/interpreter.hpp"
#include "runtime/loaded_program.hpp"
#include "runtime/map.hpp"
#include "runtime/map_limits.hpp"
#include "runtime/program_input.hpp"

#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::runtime {

struct PerfRecord {
    std::string map;
    uint32_t cpu = 0;
    std::vector<uint8_t> data;
};

struct RuntimeOptions {
    unsigned cpus = 1;  // per-CPU slots: one per worker thread that will run programs
    // Bytes all the maps of the object may take (see map_memory_bytes); a map
    // that would go over it is not created, with a message saying so.
    uint64_t map_memory_budget = DefaultMapMemoryBudget;
    Environment environment;
    HelperTable helpers = HelperTable::standard();
    // Where perf_event_output records go; empty: kept for take_perf_records().
    std::function<void(const Map&, uint32_t cpu, std::span<const uint8_t>)> perf_output;
};

class LoadedObject {
public:
    // Loads the ELF object and creates its maps. Programs are linked on demand
    // by program(), so one program's unsupported helper does not block the others.
    [[nodiscard]] static std::expected<std::unique_ptr<LoadedObject>, ir::LoadError>
    open(const std::string& path, RuntimeOptions options = {});
    [[nodiscard]] static std::expected<std::unique_ptr<LoadedObject>, ir::LoadError>
    create(ir::Object object, RuntimeOptions options = {});

    [[nodiscard]] const ir::Object& object() const { return object_; }
    [[nodiscard]] std::span<Map* const> maps() const { return map_pointers_; }
    [[nodiscard]] Map* map(uint32_t id) const { return id < map_pointers_.size() ? map_pointers_[id] : nullptr; }
    [[nodiscard]] Map* find_map(std::string_view name) const;
    // A map the host creates (e.g. an inner map for a map-in-map); returns its id.
    // Create maps before running programs: the map list must not grow under a run.
    [[nodiscard]] std::expected<uint32_t, std::string> create_map(const ir::MapDefinition& definition);
    // Why `definition` cannot be created after `before` bytes of other maps
    // (the kernel's size limits, then our memory budget); nothing when it can.
    [[nodiscard]] std::optional<std::string> size_problem(const ir::MapDefinition& definition, uint64_t before) const;

    // The program whose section or function name is `name`, linked.
    [[nodiscard]] std::expected<const LoadedProgram*, ir::LoadError> program(std::string_view name);
    // The program at `index` in object().programs (several may share a section).
    [[nodiscard]] std::expected<const LoadedProgram*, ir::LoadError> program_at(size_t index);
    [[nodiscard]] const ProgramTable& programs() const { return programs_; }

    [[nodiscard]] const Environment& environment() const { return options_.environment; }
    [[nodiscard]] const RuntimeOptions& options() const { return options_; }
    [[nodiscard]] TraceSink& trace() { return trace_; }
    [[nodiscard]] std::vector<PerfRecord> take_perf_records();

private:
    LoadedObject(ir::Object object, RuntimeOptions options);
    std::expected<void, ir::LoadError> create_maps();
    MapServices services();

    ir::Object object_;
    RuntimeOptions options_;
    std::deque<std::unique_ptr<Map>> owned_maps_;
    std::vector<Map*> map_pointers_;
    uint64_t map_memory_ = 0;  // map_memory_bytes of every map created, against options_.map_memory_budget
    ProgramTable programs_;
    std::vector<std::optional<ir::LoadError>> link_errors_;
    TraceSink trace_;
    std::mutex perf_lock_;
    std::vector<PerfRecord> perf_records_;
};

enum class Engine : uint8_t { Interpreter };

struct RunOptions {
    Engine engine = Engine::Interpreter;
    bool checked = true;
    uint64_t instruction_budget = 100'000'000;
    std::vector<uint8_t>* executed = nullptr;  // InterpreterOptions::executed
    bool restore_input = true;  // rebuild context and packet before the run
};

struct RunOutcome {
    std::expected<ExecutionResult, Fault> result;
    std::vector<uint8_t> packet;  // after the run (xdp, skb)
    std::vector<uint8_t> memory;  // input memory after the run (raw runs)
    std::optional<RedirectRecord> redirect;
};

// What executes a program once the runner has set up its context: the
// interpreter (InterpreterEngine) or the JIT (jit::JitEngine). The runner owns
// the set-up (context, packet, per-CPU random stream, ring buffer clean-up), so
// every engine sees the same world.
class ExecutionEngine {
public:
    virtual ~ExecutionEngine() = default;
    [[nodiscard]] virtual std::string_view name() const = 0;
    // Readies `program` (the JIT compiles it), so that runs measure running only.
    [[nodiscard]] virtual std::expected<void, std::string> prepare(const LoadedProgram& program) {
        (void)program;
        return {};
    }
    // One run with r1, r2 = `arguments` on the prepared `context`; `options`
    // carries the interpreter's checked mode and budget (an engine without
    // them ignores them).
    [[nodiscard]] virtual std::expected<ExecutionResult, Fault>
    execute(const LoadedProgram& program, RunContext& context, const std::array<uint64_t, 2>& arguments,
            const InterpreterOptions& options) = 0;
};

// The reference interpreter as an engine (the runner's default).
class InterpreterEngine final : public ExecutionEngine {
public:
    [[nodiscard]] std::string_view name() const override { return "interp"; }
    [[nodiscard]] std::expected<ExecutionResult, Fault>
    execute(const LoadedProgram& program, RunContext& context, const std::array<uint64_t, 2>& arguments,
            const InterpreterOptions& options) override {
        return interpret(program, context, {arguments[0], arguments[1], 0, 0, 0}, options);
    }
};

// Runs one program on one worker (per-CPU slot `cpu`). Not shared between
// threads: give each thread its own Runner with its own cpu index.
class Runner {
public:
    // `engine` (not owned) runs the program; null: the interpreter.
    Runner(LoadedObject& object, const LoadedProgram& program, unsigned cpu = 0, ExecutionEngine* engine = nullptr);
    // Fails for an input the context cannot hold (see ProgramInput::create).
    [[nodiscard]] std::expected<void, std::string> set_input(RunInput input);
    // Readies the engine for this program (compiles it for the JIT).
    [[nodiscard]] std::expected<void, std::string> prepare() {
        return engine_ ? engine_->prepare(program_) : std::expected<void, std::string>{};
    }
    RunOutcome run(const RunOptions& options = {});
    // Cheapest repeated run (benchmarks): only r0, no copies of the packet.
    std::expected<ExecutionResult, Fault> run_fast(const RunOptions& options);

    // For an engine's own loop of repeated runs on an unchanged input
    // (jit::JitRunner::run_fast), after at least one run_fast: rearm() resets
    // what a run may have changed, as run_fast does, and returns the context
    // to run on (with arguments()); settle() ends the run as run_fast does.
    [[nodiscard]] bool armed() const { return prepared_; }
    RunContext& rearm() {
        context_.reservations.clear();
        context_.redirect.reset();
        context_.tail_calls = 0;
        context_.random_state = random_state_;
        return context_;
    }
    [[nodiscard]] const std::array<uint64_t, 2>& arguments() const { return arguments_; }
    void settle() {
        random_state_ = context_.random_state;
        if (!context_.reservations.empty()) [[unlikely]] release_reservations();
    }

private:
    // run_fast once the input exists. One named result and one return, so the
    // result is built in the caller's slot (a copy of it cost a store-forwarding
    // stall per run, a third of the JIT's per-run overhead).
    std::expected<ExecutionResult, Fault> run_prepared(const RunOptions& options);
    // A record a faulting program still held must not block the consumer forever.
    void release_reservations();

    LoadedObject& object_;
    const LoadedProgram& program_;
    ExecutionEngine* engine_;  // null: the interpreter (a Runner stays movable)
    RunContext context_;
    std::unique_ptr<ProgramInput> input_;
    std::array<uint64_t, 2> arguments_{};
    bool prepared_ = false;
    uint64_t random_state_;
};

}  // namespace bpfvet::runtime
