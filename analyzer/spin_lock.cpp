// bpf_spin_lock and bpf_spin_unlock (the kernel's process_spin_lock): the
// lock is the struct bpf_spin_lock that the map value's BTF places at the
// pointer's exact offset; one lock at a time, released by an unlock through
// the same map value. What may not happen while it is held (calls, exit,
// legacy packet loads) is checked where those happen.
#include "analyzer/engine.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

namespace {

constexpr int32_t spin_lock_helper = 93;

bool is_tracing(ir::ProgramType type) {
    using enum ir::ProgramType;
    return type == Kprobe || type == Tracepoint || type == PerfEvent || type == RawTracepoint ||
           type == RawTracepointWritable;
}

}  // namespace

bool Engine::may_point_to_spin_lock(const Value& value) const {
    if (!value.is_pointer(PointerKind::MapValue)) return false;
    for (uint32_t index : maps_of(value))
        if (object_.maps[index].special_field(ir::SpecialField::Kind::SpinLock)) return true;
    return false;
}

bool Engine::check_special_field(uint32_t pc, AbstractState& state, const HelperPrototype& helper, int reg,
                                 ir::SpecialField::Kind kind, ErrorCode code) {
    const Value& arg = state.reg(reg);
    const char* field_name = ir::special_field_name(kind);
    if (!arg.is_pointer(PointerKind::MapValue) || arg.maybe_null) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("argument {} of {}#{} must point to the struct {} of a map value, but r{} is {}", reg,
                           helper.name, helper.id, field_name, reg, describe_value(arg, &object_)),
               {reg});
        return false;
    }
    const std::optional<uint64_t> offset = arg.number.constant_value();
    if (!offset) {
        report(state, code, pc,
               fmt::format("r{} points at offsets {} of the map value; the struct {} must be at a constant offset "
                           "(the kernel: R{} doesn't have constant offset)",
                           reg, arg.number.to_compact_string(), field_name, reg),
               {reg});
        return false;
    }
    for (uint32_t index : maps_of(arg)) {
        const ir::MapDefinition& map = object_.maps[index];
        if (map.btf_value_type == 0) {
            report(state, code, pc,
                   map.is_global_data
                       ? fmt::format("the {} of global data '{}' is not found by this analyzer (it reads only the "
                                     "BTF value types of .maps)",
                                     field_name, map.name)
                       : fmt::format("map '{}' has to have BTF in order to use {}", map.name, field_name),
                   {reg});
            return false;
        }
        const ir::SpecialField* field = map.special_field(kind);
        if (field == nullptr) {
            report(state, code, pc, fmt::format("map '{}' has no valid {} in its value", map.name, field_name), {reg});
            return false;
        }
        if (field->offset != *offset) {
            report(state, code, pc,
                   fmt::format("r{} points at offset {} of map '{}''s value, but its struct {} is at offset {} (the "
                               "kernel: off {} doesn't point to 'struct {}' that is at {})",
                               reg, int64_t(*offset), map.name, field_name, field->offset, int64_t(*offset), field_name,
                               field->offset),
                   {reg});
            return false;
        }
    }
    return true;
}

bool Engine::execute_spin_lock(uint32_t pc, AbstractState& state, const HelperPrototype& helper, int reg) {
    if (!check_special_field(pc, state, helper, reg, ir::SpecialField::Kind::SpinLock, ErrorCode::SpinLock))
        return false;
    const Value& arg = state.reg(reg);
    const std::optional<HeldLock>& held = state.lock();
    if (helper.id == spin_lock_helper) {
        if (held) {
            report(state, ErrorCode::SpinLock, pc,
                   fmt::format("the bpf_spin_lock taken at instruction {} is still held: locking two bpf_spin_locks "
                               "is not allowed",
                               held->pc),
                   {reg});
            return false;
        }
        // Through a pointer that may be one of several maps, which lock is held is not known.
        state.set_lock(HeldLock{arg.region, arg.id, pc, arg.maps != 0});
        return true;
    }
    if (!held) {
        report(state, ErrorCode::SpinLock, pc, "bpf_spin_unlock without taking a lock", {reg});
        return false;
    }
    if (held->ambiguous || held->map != arg.region || held->id != arg.id || arg.maps != 0) {
        report(state, ErrorCode::SpinLock, pc,
               fmt::format("r{} ({}) may not be the bpf_spin_lock taken at instruction {} (the kernel: "
                           "bpf_spin_unlock of different lock)",
                           reg, describe_value(arg, &object_), held->pc),
               {reg});
        return false;
    }
    state.set_lock(std::nullopt);
    return true;
}

bool Engine::check_map_program_compatibility() {
    if (!is_tracing(type_) && type_ != ir::ProgramType::SocketFilter) return true;
    for (uint32_t pc = 0; pc < program_.instructions.size(); ++pc) {
        const ir::Instruction& insn = program_.instructions[pc];
        if (!insn.is_lddw() || uint32_t(insn.imm) >= object_.maps.size()) continue;
        const auto kind = ir::LddwKind(insn.src);
        if (kind != ir::LddwKind::MapFd && kind != ir::LddwKind::MapValue && kind != ir::LddwKind::MapIndex &&
            kind != ir::LddwKind::MapIndexValue)
            continue;
        const ir::MapDefinition& map = object_.maps[uint32_t(insn.imm)];
        const char* what = nullptr;
        if (map.special_field(ir::SpecialField::Kind::SpinLock) || map.special_field(ir::SpecialField::Kind::ResSpinLock))
            what = "bpf_spin_lock";
        else if (map.special_field(ir::SpecialField::Kind::Timer) && is_tracing(type_))
            what = "bpf_timer";
        if (what == nullptr) continue;
        AbstractState none = AbstractState::bottom();
        report(none, std::string_view(what) == "bpf_spin_lock" ? ErrorCode::SpinLock : ErrorCode::HelperNotAllowed, pc,
               fmt::format("map '{}' holds a {}, which {} programs cannot use (the kernel: {} progs cannot use {} yet)",
                           map.name, what, ir::program_type_name(type_),
                           type_ == ir::ProgramType::SocketFilter ? "socket filter" : "tracing", what),
               {});
        return false;
    }
    return true;
}

}  // namespace bpfvet::analyzer::detail
