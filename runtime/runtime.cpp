#include "runtime/runtime.hpp"

#include "ir/elf_loader.hpp"

#include <fmt/format.h>

namespace bpfvet::runtime {

LoadedObject::LoadedObject(ir::Object object, RuntimeOptions options)
    : object_(std::move(object)), options_(std::move(options)) {
    if (options_.cpus == 0) options_.cpus = 1;
}

std::expected<std::unique_ptr<LoadedObject>, ir::LoadError>
LoadedObject::open(const std::string& path, RuntimeOptions options) {
    auto object = ir::load_object(path);
    if (!object) return std::unexpected(object.error());
    return create(std::move(*object), std::move(options));
}

std::expected<std::unique_ptr<LoadedObject>, ir::LoadError>
LoadedObject::create(ir::Object object, RuntimeOptions options) {
    std::unique_ptr<LoadedObject> loaded(new LoadedObject(std::move(object), std::move(options)));
    if (auto created = loaded->create_maps(); !created) return std::unexpected(created.error());
    // Link every program now (cheap); a program that fails keeps its error for program().
    for (const auto& program : loaded->object_.programs) {
        auto linked = link_program(program, loaded->map_pointers_, loaded->options_.helpers, loaded->object_.path);
        if (linked) {
            (*linked)->id = uint32_t(loaded->link_errors_.size());
            loaded->programs_.add(std::move(*linked));
            loaded->link_errors_.emplace_back();
        } else {
            loaded->programs_.add(nullptr);
            loaded->link_errors_.emplace_back(linked.error());
        }
    }
    return loaded;
}

MapServices LoadedObject::services() {
    MapServices services;
    services.find_map = [this](uint32_t id) { return map(id); };
    services.program_exists = [this](uint32_t id) { return programs_.find(id) != nullptr; };
    services.perf_output = [this](const Map& map, uint32_t cpu, std::span<const uint8_t> bytes) {
        if (options_.perf_output) return options_.perf_output(map, cpu, bytes);
        std::lock_guard guard(perf_lock_);
        perf_records_.push_back(PerfRecord{map.name(), cpu, {bytes.begin(), bytes.end()}});
    };
    return services;
}

std::expected<void, ir::LoadError> LoadedObject::create_maps() {
    // Every map is checked before any is allocated: an object over the budget
    // is refused at once, not after zeroing a gigabyte of the maps before.
    uint64_t planned = 0;
    for (const auto& definition : object_.maps) {
        if (auto problem = size_problem(definition, planned))
            return std::unexpected(ir::LoadError{object_.path, "", std::nullopt, *problem});
        planned += map_memory_bytes(definition, options_.cpus);
    }
    for (const auto& definition : object_.maps) {
        auto id = create_map(definition);
        if (!id) return std::unexpected(ir::LoadError{object_.path, "", std::nullopt, id.error()});
    }
    return {};
}

std::optional<std::string> LoadedObject::size_problem(const ir::MapDefinition& definition, uint64_t before) const {
    // The kernel's refusal says more than the budget's: it comes first.
    if (auto refusal = kernel_size_refusal(definition))
        return fmt::format("map '{}': the kernel cannot create it: {}", definition.name, *refusal);
    const uint64_t bytes = map_memory_bytes(definition, options_.cpus);
    if (bytes > options_.map_memory_budget || before > options_.map_memory_budget - bytes)
        return fmt::format("map '{}' needs {} MiB, and the maps before it {} MiB: over the budget of "
                           "{} MiB for the maps of one object",
                           definition.name, bytes >> 20, before >> 20, options_.map_memory_budget >> 20);
    return std::nullopt;
}

std::expected<uint32_t, std::string> LoadedObject::create_map(const ir::MapDefinition& definition) {
    if (auto problem = size_problem(definition, map_memory_)) return std::unexpected(*problem);
    const uint64_t bytes = map_memory_bytes(definition, options_.cpus);
    auto map = runtime::create_map(definition, options_.cpus, services());
    if (!map) return std::unexpected(map.error());
    uint32_t id = uint32_t(map_pointers_.size());
    (*map)->set_id(id);
    map_pointers_.push_back(map->get());
    owned_maps_.push_back(std::move(*map));
    map_memory_ += bytes;
    return id;
}

Map* LoadedObject::find_map(std::string_view name) const {
    for (Map* map : map_pointers_)
        if (map->name() == name) return map;
    return nullptr;
}

std::expected<const LoadedProgram*, ir::LoadError> LoadedObject::program(std::string_view name) {
    for (size_t i = 0; i < object_.programs.size(); ++i) {
        const auto& program = object_.programs[i];
        if (program.section != name && program.name != name) continue;
        if (link_errors_[i]) return std::unexpected(*link_errors_[i]);
        return programs_.at(i);
    }
    std::string known;
    for (const auto& program : object_.programs) known += (known.empty() ? "" : ", ") + program.section;
    return std::unexpected(ir::LoadError{object_.path, std::string(name), std::nullopt,
                                         fmt::format("no program with section or name '{}' (sections: {})", name,
                                                     known.empty() ? "none" : known)});
}

std::expected<const LoadedProgram*, ir::LoadError> LoadedObject::program_at(size_t index) {
    if (index >= object_.programs.size())
        return std::unexpected(ir::LoadError{object_.path, "", std::nullopt, fmt::format("no program {}", index)});
    if (link_errors_[index]) return std::unexpected(*link_errors_[index]);
    return programs_.at(index);
}

std::vector<PerfRecord> LoadedObject::take_perf_records() {
    std::lock_guard guard(perf_lock_);
    return std::exchange(perf_records_, {});
}

// ---------------------------------------------------------------- Runner

Runner::Runner(LoadedObject& object, const LoadedProgram& program, unsigned cpu, ExecutionEngine* engine)
    : object_(object), program_(program), engine_(engine) {
    context_.environment = &object.environment();
    context_.trace = &object.trace();
    context_.programs = &object.programs();
    context_.maps = object.maps();
    context_.cpu = cpu;
    random_state_ = object.environment().random_seed ^ (uint64_t(cpu + 1) * 0x9e3779b97f4a7c15ULL);
}

std::expected<void, std::string> Runner::set_input(RunInput input) {
    auto created = ProgramInput::create(context_kind_for(program_.type), std::move(input));
    if (!created) return std::unexpected(created.error());
    input_ = std::move(*created);
    prepared_ = false;
    return {};
}

std::expected<ExecutionResult, Fault> Runner::run_fast(const RunOptions& options) {
    if (!input_) {
        if (auto made = set_input({}); !made) {
            Fault fault;
            fault.kind = FaultKind::InvalidInstruction;
            fault.section = program_.section;
            fault.message = made.error();
            return std::unexpected(fault);
        }
    }
    return run_prepared(options);
}

std::expected<ExecutionResult, Fault> Runner::run_prepared(const RunOptions& options) {
    if (options.restore_input || !prepared_) {
        arguments_ = input_->prepare(context_);
        prepared_ = true;
    }
    context_.maps = object_.maps();
    rearm();
    InterpreterOptions interpreter{options.checked, options.instruction_budget, options.executed};
    auto result = engine_ ? engine_->execute(program_, context_, arguments_, interpreter)
                          : interpret(program_, context_, {arguments_[0], arguments_[1], 0, 0, 0}, interpreter);
    settle();
    return result;
}

void Runner::release_reservations() {
    for (const auto& [address, size] : context_.reservations)
        RingBuffer::commit_record(reinterpret_cast<void*>(address), true);
}

RunOutcome Runner::run(const RunOptions& options) {
    RunOutcome outcome{run_fast(options), {}, {}, {}};
    if (input_) {
        outcome.packet = input_->packet_after(context_);
        outcome.memory = input_->memory_after();
    }
    outcome.redirect = context_.redirect;
    return outcome;
}

}  // namespace bpfvet::runtime
