// Loads, stores and atomics: every access goes through access_memory, which
// knows the bounds and rules of each kind of region.
#include "analyzer/engine.hpp"

#include <fmt/format.h>
#include <array>
#include <functional>

namespace bpfvet::analyzer::detail {

namespace {

constexpr int64_t huge = int64_t(1) << 40;

// The numbers a load of `size` bytes can give: built once (each is a reduced
// product, costly to build on every load).
const Scalar& bounded_by_size(int64_t size) {
    auto below = [](int bytes) { return Scalar::unsigned_range(0, (uint64_t(1) << (8 * bytes)) - 1); };
    static const Scalar top = Scalar::top();
    static const std::array<Scalar, 8> narrow = {below(0), below(1), below(2), below(3),
                                                 below(4), below(5), below(6), below(7)};
    if (size >= 8 || size < 0) return top;
    return narrow[size_t(size)];
}

int64_t clamp(int64_t v) { return std::max(-huge, std::min(huge, v)); }

std::string range_text(int64_t lo, int64_t hi) {
    return lo + 1 == hi ? fmt::format("byte {}", lo) : fmt::format("bytes [{}, {})", lo, hi);
}

bool overlaps(const Spill& spill, int64_t lo, int64_t hi) {
    return spill.offset < hi && spill.offset + spill.width > lo;
}

}  // namespace

bool Engine::check_stack_depth(uint32_t pc, AbstractState& state) {
    int64_t total = 0;
    // Each frame counts rounded up to 16 bytes, as the kernel counts it when
    // the program is JIT-compiled (always, where the JIT is enabled: the
    // interpreter's 32-byte rounding applies only without it), so a frame
    // that uses no stack counts nothing: 488 bytes and a callee's 8 make
    // 496 + 16 = 512, accepted.
    for (size_t f = 0; f < state.frame_count(); ++f) total += (state.frame(f).depth + 15) / 16 * 16;
    if (total <= StackBytes) return true;
    report(state, ErrorCode::StackDepth, pc,
           fmt::format("the combined stack of {} nested calls is {} bytes, more than the 512 allowed",
                       state.frame_count(), total),
           {});
    return false;
}

void Engine::check_call_chain_depth() {
    constexpr int MaxCallDepth = 8;  // MAX_CALL_FRAMES
    auto function_at = [&](int64_t slot) -> std::optional<uint32_t> {
        for (uint32_t f = 0; f < program_.functions.size(); ++f)
            if (program_.functions[f].start == slot) return f;
        return std::nullopt;
    };
    // Example: main touches 512 bytes after calling f, which touches 8: the
    // chain is 512 + 16 = 528 bytes, refused, though at the call main had
    // used only 40 ("combined stack size of 2 calls is 528. Too large").
    std::function<bool(uint32_t, int64_t, size_t, uint32_t)> walk = [&](uint32_t f, int64_t above, size_t frames,
                                                                         uint32_t callsite) {
        const int64_t total = above + (int64_t(function_depths_[f]) + 15) / 16 * 16;
        if (total > StackBytes) {
            AbstractState none = AbstractState::bottom();
            report(none, ErrorCode::StackDepth, callsite,
                   fmt::format("the combined stack of {} nested calls is {} bytes, more than the 512 allowed (each "
                               "function counts the most stack it uses anywhere, rounded up to 16 bytes)",
                               frames, total),
                   {});
            return false;
        }
        const ir::Function& function = program_.functions[f];
        for (uint32_t pc = function.start; pc < function.end && pc < program_.instructions.size(); ++pc) {
            const ir::Instruction& insn = program_.instructions[pc];
            const bool callback = insn.is_lddw() && insn.src == uint8_t(ir::LddwKind::Function);
            if (!insn.is_local_call() && !callback) continue;
            auto callee = function_at(int64_t(pc) + insn.imm + 1);
            // Recursion and chains past the frame limit are refused by their own rules.
            if (!callee || *callee == f || frames >= size_t(MaxCallDepth)) continue;
            if (!walk(*callee, total, frames + 1, pc)) return false;
        }
        return true;
    };
    if (!program_.functions.empty()) (void)walk(0, 0, 1, 0);
}

std::optional<Value> Engine::access_memory(uint32_t pc, AbstractState& state, int reg, int64_t offset, int64_t size,
                                           Access access, const Value* stored, bool variable_size) {
    if (!require_initialized(pc, state, reg)) return std::nullopt;
    const Value pointer = state.reg(reg);
    const char* verb = access == Access::Read ? "read" : "write";
    if (pointer.is_scalar()) {
        std::string why;
        if (btf_kind_ && !btf_attach_ && pointer.region != 0) {
            why = btf_untyped_reason_ == "no kernel BTF"
                      ? fmt::format(" (no kernel BTF: argument {} of {} is untyped; pass --kernel-btf)",
                                    pointer.region - 1, program_.section)
                      : fmt::format(" (argument {} of {} is untyped: {})", pointer.region - 1, program_.section,
                                    btf_untyped_reason_);
        }
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("r{} is a number, not a pointer, so it cannot be used to {} memory{}", reg, verb, why),
               {reg});
        return std::nullopt;
    }
    if (pointer.kind == ValueKind::Mixed) {
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("r{} is a pointer on some paths and something else on others; it cannot be dereferenced",
                           reg),
               {reg});
        return std::nullopt;
    }
    if (pointer.maybe_null) {
        report(state, ErrorCode::NullDereference, pc,
               fmt::format("r{} may be null here; compare it with 0 before the {}", reg, verb), {reg});
        return std::nullopt;
    }
    const Scalar& off = pointer.number;
    const bool constant = off.constant_value().has_value() && !variable_size;
    const int64_t lo = clamp(off.smin()) + offset;
    const int64_t hi = clamp(off.smax()) + offset + size;

    auto check_stored_pointer = [&](std::string_view where) {
        if (stored && !stored->is_scalar() && options_.unprivileged) {
            report(state, ErrorCode::PointerLeak, pc,
                   fmt::format("storing a pointer into {} would leak a kernel address", where), {reg});
            return false;
        }
        return true;
    };

    if (pointer.pointer == PointerKind::Context && btf_kind_)
        return access_btf_context(pc, state, reg, offset, size, access, variable_size);

    switch (pointer.pointer) {
    case PointerKind::BtfObject: return access_btf_object(pc, state, reg, offset, size, access, variable_size);
    case PointerKind::Stack: {
        if (lo < -StackBytes || hi > 0) {
            report(state, ErrorCode::StackOutOfBounds, pc,
                   fmt::format("the {} of {} bytes at stack offset {} falls outside the stack frame [-512, 0)", verb,
                               size, off.smin() == off.smax() ? fmt::format("{}", lo) : fmt::format("{}..{}", lo, clamp(off.smax()) + offset)),
                   {reg});
            return std::nullopt;
        }
        Frame& frame = state.frame(pointer.region);
        if (const StackObject* object = frame.object_overlapping(lo, hi)) {
            // The kernel refuses direct access to STACK_ITER slots: the
            // iterator's state is the kernel's, and its kfuncs trust it.
            report(state, ErrorCode::MemoryAccess, pc,
                   fmt::format("the {} of {} bytes at {} touches fp{}..fp{}, which hold an open-coded iterator "
                               "(id {}): only its kfuncs may read or write those bytes",
                               verb, size, range_text(lo, hi), object->offset, object->offset + object->size,
                               object->id),
                   {reg});
            return std::nullopt;
        }
        frame.depth = std::max<int32_t>(frame.depth, int32_t(-lo));
        if (frame.function < function_depths_.size())
            function_depths_[frame.function] = std::max(function_depths_[frame.function], frame.depth);
        if (!check_stack_depth(pc, state)) return std::nullopt;
        auto byte = [](int64_t o) { return size_t(o + StackBytes); };
        stack_accesses_.push_back(StackAccess{pointer.region, lo, hi, access == Access::Write, !constant});
        auto first_uninitialized = [&]() -> std::optional<int64_t> {
            for (int64_t o = lo; o < hi; ++o)
                if (!frame.initialized.test(byte(o))) return o;
            return std::nullopt;
        };
        if (access == Access::Read) {
            if (constant) {
                for (const auto& spill : frame.spills) {
                    if (spill.offset == lo && spill.width == size) return spill.value;
                    // The kernel's narrowing fill (bpf_stack_narrow_access_ok): the low
                    // bytes of a number spilled at a slot start, on a little-endian
                    // machine, are that number truncated; the copy link is broken.
                    if (spill.offset == lo && size < spill.width && lo % 8 == 0 && spill.value.is_scalar()) {
                        const auto op = size == 1   ? domains::UnaryOp::ZeroExtend8
                                        : size == 2 ? domains::UnaryOp::ZeroExtend16
                                                    : domains::UnaryOp::ZeroExtend32;
                        return Value::scalar(domains::apply(op, spill.value.number, domains::OperandWidth::Full));
                    }
                }
                for (const auto& spill : frame.spills) {
                    if (overlaps(spill, lo, hi) && !spill.value.is_scalar()) {
                        report(state, ErrorCode::MemoryAccess, pc,
                               fmt::format("the read of {} bytes at fp{} takes only part of a spilled pointer", size, lo),
                               {reg});
                        return std::nullopt;
                    }
                }
            }
            // A privileged loader may read uninitialized stack (the kernel's
            // allow_uninit_stack for CAP_PERFMON): the bytes are an unknown number.
            if (auto missing = first_uninitialized(); missing && options_.unprivileged) {
                report(state, ErrorCode::UninitializedStack, pc,
                       fmt::format("stack byte fp{} is read before anything was written to it (the {} covers {})",
                                   *missing, verb, range_text(lo, hi)),
                       {reg});
                return std::nullopt;
            }
            return Value::scalar(bounded_by_size(size));
        }
        // Write.
        std::erase_if(frame.spills, [&](const Spill& s) { return overlaps(s, lo, hi); });
        if (!constant) {
            if (options_.unprivileged) {
                if (auto missing = first_uninitialized()) {
                    report(state, ErrorCode::UninitializedStack, pc,
                           fmt::format("a variable-offset stack write may touch uninitialized byte fp{}", *missing),
                           {reg});
                    return std::nullopt;
                }
            }
            for (int64_t o = lo; o < hi; ++o) frame.initialized.set(byte(o));
            return Value::uninitialized();
        }
        for (int64_t o = lo; o < hi; ++o) frame.initialized.set(byte(o));
        if (stored) {
            if (size == 8 && !stored->is_uninitialized()) {
                Spill spill{int16_t(lo), 8, *stored};
                frame.spills.insert(std::upper_bound(frame.spills.begin(), frame.spills.end(), spill,
                                                     [](const Spill& a, const Spill& b) { return a.offset < b.offset; }),
                                    spill);
            } else if (stored->is_scalar()) {
                // As the kernel: a narrow spill keeps its number only at the
                // start of an 8-byte slot (elsewhere the bytes are just
                // written, STACK_MISC), or when it is zero (STACK_ZERO).
                if (lo % 8 != 0 && !stored->is_constant(0)) return Value::uninitialized();
                domains::UnaryOp narrow = size == 1 ? domains::UnaryOp::ZeroExtend8
                                          : size == 2 ? domains::UnaryOp::ZeroExtend16 : domains::UnaryOp::ZeroExtend32;
                Spill spill{int16_t(lo), uint8_t(size),
                            Value::scalar(domains::apply(narrow, stored->number, domains::OperandWidth::Full))};
                // A number that fits the slot is stored unchanged: it keeps its loop ghost and its links.
                if (stored->number.umax() >> (8 * size) == 0) {
                    spill.value.origin = stored->origin;
                    spill.value.step_min = stored->step_min;
                    spill.value.step_max = stored->step_max;
                    spill.value.id = stored->id;
                    spill.value.delta = stored->delta;
                    spill.value.delta_half = stored->delta_half;
                }
                frame.spills.insert(std::upper_bound(frame.spills.begin(), frame.spills.end(), spill,
                                                     [](const Spill& a, const Spill& b) { return a.offset < b.offset; }),
                                    spill);
            } else if (options_.unprivileged) {
                report(state, ErrorCode::PointerLeak, pc, "storing part of a pointer on the stack is not allowed",
                       {reg});
                return std::nullopt;
            } else if (stored->is_pointer() && constant) {
                // The kernel spills a pointer only whole, even for root
                // (check_stack_write_fixed_off: "invalid size of register spill").
                report(state, ErrorCode::MemoryAccess, pc,
                       fmt::format("a pointer is spilled to the stack only whole: this {}-byte store of one is "
                                   "refused by the kernel",
                                   size),
                       {reg});
                return std::nullopt;
            }
        }
        return Value::uninitialized();
    }
    case PointerKind::MapValue:
    case PointerKind::RingbufMemory:
    case PointerKind::Memory: {
        const bool is_map = pointer.pointer == PointerKind::MapValue;
        const ir::MapDefinition* map = is_map && pointer.region < object_.maps.size() ? &object_.maps[pointer.region] : nullptr;
        int64_t region_size = is_map ? (map ? map->value_size : 0) : pointer.region;
        bool read_only = false;
        if (is_map) {
            // Several possible maps: the access must fit the smallest value.
            for (uint32_t index : maps_of(pointer)) {
                const ir::MapDefinition& candidate = object_.maps[index];
                if (int64_t(candidate.value_size) <= region_size) {
                    region_size = candidate.value_size;
                    map = &candidate;
                }
                read_only = read_only || candidate.read_only || (candidate.flags & 0x80) != 0;
            }
        }
        if (lo < 0 || hi > region_size) {
            std::string where = is_map ? fmt::format("the {}-byte value of map '{}'", region_size, map ? map->name : "?")
                                : pointer.pointer == PointerKind::Memory
                                    ? fmt::format("the {} bytes the argument's BTF type gives", region_size)
                                    : fmt::format("the {}-byte ring buffer record", region_size);
            std::string offsets = off.constant_value() ? fmt::format("offset {}", lo)
                                                       : fmt::format("offsets {}..{}", lo, clamp(off.smax()) + offset);
            report(state, is_map ? ErrorCode::MapValueOutOfBounds : ErrorCode::MemoryAccess, pc,
                   fmt::format("the {} of {} bytes at {} may fall outside {}", verb, size, offsets, where), {reg});
            return std::nullopt;
        }
        // The kernel's check_map_access: locks, timers and other special
        // fields are touched only by their helpers (helpers' memory arguments included).
        if (is_map) {
            for (uint32_t index : maps_of(pointer)) {
                for (const ir::SpecialField& field : object_.maps[index].special_fields) {
                    if (lo >= int64_t(field.offset + field.size) || int64_t(field.offset) >= hi) continue;
                    report(state, field.kind == ir::SpecialField::Kind::SpinLock ? ErrorCode::SpinLock
                                                                                  : ErrorCode::MemoryAccess,
                           pc,
                           fmt::format("the {} of bytes [{}, {}) of map '{}''s value touches its {} at offset {}: "
                                       "{} cannot be accessed directly by load/store",
                                       verb, lo, hi, object_.maps[index].name, ir::special_field_name(field.kind),
                                       field.offset, ir::special_field_name(field.kind)),
                           {reg});
                    return std::nullopt;
                }
            }
        }
        if (access == Access::Write) {
            if (read_only) {
                report(state, ErrorCode::ReadOnlyWrite, pc,
                       fmt::format("map '{}' is read-only for the program", map->name), {reg});
                return std::nullopt;
            }
            if (!check_stored_pointer("a map value")) return std::nullopt;
            return Value::uninitialized();
        }
        if (map && pointer.maps == 0 && map->is_global_data && map->read_only && constant &&
            lo + size <= int64_t(map->initial_value.size())) {
            // .rodata is frozen before the program loads: its bytes are known.
            uint64_t value = 0;
            for (int64_t i = size - 1; i >= 0; --i) value = value << 8 | map->initial_value[size_t(lo + i)];
            return Value::constant(value);
        }
        return Value::scalar(bounded_by_size(size));
    }
    case PointerKind::Packet: {
        const PacketBase* base = state.packet_base(pointer.region);
        const int64_t range = base ? base->range : 0;
        Scalar from_start = state.packet_offset_from_start(pointer);
        if (clamp(from_start.smin()) + offset < 0) {
            report(state, ErrorCode::PacketOutOfBounds, pc,
                   fmt::format("the packet {} may start before the beginning of the packet (offset {})", verb,
                               from_start.to_compact_string()),
                   {reg});
            return std::nullopt;
        }
        if (hi > range) {
            std::string from = pointer.region == 0 ? std::string("the packet start")
                                                   : fmt::format("its variable base #{}", pointer.region);
            report(state, ErrorCode::PacketOutOfBounds, pc,
                   fmt::format("the packet {} reaches {} bytes past {}, but only {} are proven to be inside the "
                               "packet by a comparison with data_end",
                               verb, hi, from, range),
                   {reg});
            return std::nullopt;
        }
        if (access == Access::Write) {
            if (!can_write_packet()) {
                report(state, ErrorCode::ReadOnlyWrite, pc,
                       fmt::format("programs of type {} cannot write into the packet",
                                   ir::program_type_name(type_)),
                       {reg});
                return std::nullopt;
            }
            if (!check_stored_pointer("the packet")) return std::nullopt;
            return Value::uninitialized();
        }
        return Value::scalar(bounded_by_size(size));
    }
    case PointerKind::PacketMeta: {
        if (lo < 0 || hi > state.meta_range()) {
            report(state, ErrorCode::PacketOutOfBounds, pc,
                   fmt::format("the metadata {} reaches {} bytes past data_meta, but only {} are proven to be "
                               "before data",
                               verb, hi, state.meta_range()),
                   {reg});
            return std::nullopt;
        }
        if (access == Access::Write) {
            if (!can_write_packet()) {
                report(state, ErrorCode::ReadOnlyWrite, pc, "this program type cannot write packet metadata", {reg});
                return std::nullopt;
            }
            return Value::uninitialized();
        }
        return Value::scalar(bounded_by_size(size));
    }
    case PointerKind::Context:
    case PointerKind::Socket: {
        const bool is_context = pointer.pointer == PointerKind::Context;
        std::optional<ContextDescriptor> layout =
            is_context ? context_ : std::optional(socket_descriptor(pointer.region != SocketCommon));
        const ErrorCode code = is_context ? ErrorCode::ContextAccess : ErrorCode::MemoryAccess;
        if (!layout) {
            report(state, code, pc, "the context of this program type is not modelled", {reg});
            return std::nullopt;
        }
        if (!off.constant_value() || (is_context && *off.constant_value() != 0)) {
            report(state, code, pc,
                   fmt::format("r{} points {} past the start of the {}; the kernel only allows accesses through the "
                               "unmodified pointer",
                               reg, off.to_compact_string(), layout->struct_name),
                   {reg});
            return std::nullopt;
        }
        if (variable_size) {
            report(state, code, pc, fmt::format("the {} cannot be passed as memory to a helper", layout->struct_name),
                   {reg});
            return std::nullopt;
        }
        auto allowed = check_context_access(*layout, int64_t(*off.constant_value()) + offset, int(size),
                                            access == Access::Write);
        if (auto* message = std::get_if<std::string>(&allowed)) {
            report(state, code, pc, *message, {reg});
            return std::nullopt;
        }
        if (access == Access::Write) {
            if (!is_context) {
                report(state, ErrorCode::ReadOnlyWrite, pc, "sockets are read-only", {reg});
                return std::nullopt;
            }
            if (!check_stored_pointer("the context")) return std::nullopt;
            return Value::uninitialized();
        }
        switch (std::get<ContextAccessAllowed>(allowed).load) {
        case ContextLoad::PacketStart: {
            // A fresh load has no proven range, whatever checks proved for the
            // pointers loaded before it (the kernel's new register has r=0);
            // checks from now on prove bytes for both.
            const PacketBase* start = state.packet_base(0);
            if (start == nullptr || start->range == 0)
                return Value::make_pointer(PointerKind::Packet, 0, Scalar::constant(0));
            const uint32_t id = fresh_id(state, pc, IdTag::PacketBase);
            state.add_packet_base(PacketBase{id, Scalar::constant(0), 0});
            return Value::make_pointer(PointerKind::Packet, id, Scalar::constant(0));
        }
        case ContextLoad::PacketEnd: return Value::make_pointer(PointerKind::PacketEnd, 0, Scalar::constant(0));
        case ContextLoad::PacketMeta: return Value::make_pointer(PointerKind::PacketMeta, 0, Scalar::constant(0));
        case ContextLoad::SocketOrNull:
            return Value::make_pointer(PointerKind::Socket, 0, Scalar::constant(0), true,
                                       fresh_id(state, pc, IdTag::Socket));
        case ContextLoad::SockCommonOrNull:
            return Value::make_pointer(PointerKind::Socket, SocketCommon, Scalar::constant(0), true,
                                       fresh_id(state, pc, IdTag::Socket));
        case ContextLoad::Scalar: return Value::scalar(bounded_by_size(size));
        }
        return Value::unknown_scalar();
    }
    case PointerKind::MapKey: {
        const ir::MapDefinition& map = object_.maps[pointer.region];
        if (access == Access::Write) {
            report(state, ErrorCode::ReadOnlyWrite, pc,
                   fmt::format("r{} points to the key of map '{}' the callback was handed, which it may not change "
                               "(the kernel: write to change key R{} not allowed)",
                               reg, map.name, reg),
                   {reg});
            return std::nullopt;
        }
        if (lo < 0 || hi > int64_t(map.key_size)) {
            report(state, ErrorCode::MemoryAccess, pc,
                   fmt::format("the {} of {} bytes at offset {} may fall outside the {}-byte key of map '{}'", verb,
                               size, lo, map.key_size, map.name),
                   {reg});
            return std::nullopt;
        }
        return Value::scalar(bounded_by_size(size));
    }
    case PointerKind::MapPointer:
    case PointerKind::PacketEnd:
    case PointerKind::Function:
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("r{} is a {} pointer, which cannot be dereferenced", reg,
                           pointer_kind_name(pointer.pointer)),
               {reg});
        return std::nullopt;
    }
    return std::nullopt;
}

// The context of fentry/fexit/fmod_ret/tp_btf/lsm programs: the attach
// target's arguments, one u64 slot each. Typed by the kernel BTF when it
// resolved the target; otherwise every slot is a number that remembers its
// argument, so that dereferencing it can say why it is untyped.
std::optional<Value> Engine::access_btf_context(uint32_t pc, AbstractState& state, int reg, int64_t offset,
                                                int64_t size, Access access, bool variable_size) {
    const Value& pointer = state.reg(reg);
    const std::string_view label = program_.section;
    if (!pointer.number.constant_value() || *pointer.number.constant_value() != 0) {
        report(state, ErrorCode::ContextAccess, pc,
               fmt::format("r{} points {} past the start of the arguments of {}; the kernel only allows accesses "
                           "through the unmodified context pointer",
                           reg, pointer.number.to_compact_string(), label),
               {reg});
        return std::nullopt;
    }
    if (variable_size) {
        report(state, ErrorCode::ContextAccess, pc,
               fmt::format("the arguments of {} cannot be passed as memory to a helper", label), {reg});
        return std::nullopt;
    }
    if (access == Access::Write) {
        report(state, ErrorCode::ContextAccess, pc, fmt::format("the arguments of {} are read-only", label), {reg});
        return std::nullopt;
    }
    if (offset < 0 || offset + size > 96) {
        report(state, ErrorCode::ContextAccess, pc,
               fmt::format("offset {} size {} is outside the 12 argument slots (96 bytes) of {}", offset, size, label),
               {reg});
        return std::nullopt;
    }
    if (offset % size != 0) {
        report(state, ErrorCode::ContextAccess, pc,
               fmt::format("offset {} is not aligned to the access size {}", offset, size), {reg});
        return std::nullopt;
    }
    if (!btf_attach_) {
        if (size != 8) {
            report(state, ErrorCode::ContextAccess, pc,
                   fmt::format("the arguments of {} must be read 8 bytes at a time while they are untyped ({})",
                               label, btf_untyped_reason_),
                   {reg});
            return std::nullopt;
        }
        Value number = Value::unknown_scalar();
        number.region = uint32_t(offset / 8) + 1;
        return number;
    }
    auto read = btf_context_read(*options_.kernel_btf, *btf_attach_, offset, int(size));
    if (auto* message = std::get_if<std::string>(&read)) {
        report(state, ErrorCode::ContextAccess, pc, *message, {reg});
        return std::nullopt;
    }
    const BtfLoad& load = std::get<BtfLoad>(read);
    if (!load.pointer && load.range) return Value::scalar(Scalar::signed_range(load.range->min, load.range->max));
    if (!load.pointer) return Value::scalar(bounded_by_size(size));
    Value result = Value::make_pointer(PointerKind::BtfObject, load.struct_id, Scalar::constant(0), load.maybe_null,
                                       load.maybe_null ? fresh_id(state, pc, IdTag::Lookup) : 0);
    result.memory_tag = load.memory_tag;
    // The kernel trusts the arguments of tp_btf and iterator programs
    // (prog_args_trusted), not those of fentry/fexit; LSM hooks are left
    // untrusted here (the kernel trusts all but a few, which we do not list).
    result.trusted = btf_attach_->kind == BtfAttachKind::RawTracepoint || btf_attach_->kind == BtfAttachKind::Iterator;
    return result;
}

// Loads through a pointer to a kernel struct (the kernel's
// check_ptr_to_btf_access): constant offsets inside the struct, whole pointer
// members give further kernel objects, anything else read is a number.
std::optional<Value> Engine::access_btf_object(uint32_t pc, AbstractState& state, int reg, int64_t offset,
                                               int64_t size, Access access, bool variable_size) {
    const Value& pointer = state.reg(reg);
    if (!options_.kernel_btf) {
        report(state, ErrorCode::MemoryAccess, pc, "internal: a kernel object pointer without kernel BTF", {reg});
        return std::nullopt;
    }
    const ir::KernelBtf& btf = *options_.kernel_btf;
    const std::string name = btf_struct_label(btf, pointer.region);
    if (options_.unprivileged) {
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("reading '{}' through r{} needs CAP_PERFMON; unprivileged programs cannot", name, reg),
               {reg});
        return std::nullopt;
    }
    if (!license_is_gpl_compatible(object_.license)) {
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("the kernel lets only GPL-compatible programs read kernel '{}' (license is '{}')", name,
                           object_.license),
               {reg});
        return std::nullopt;
    }
    if (pointer.memory_tag != 0) {
        report(state, ErrorCode::MemoryAccess, pc,
               pointer.memory_tag == BtfUserMemory
                   ? fmt::format("r{} points to user memory ('{} __user'); read it with bpf_probe_read_user", reg, name)
                   : fmt::format("r{} points to per-CPU memory ('{} __percpu'); it cannot be dereferenced directly",
                                 reg, name),
               {reg});
        return std::nullopt;
    }
    if (variable_size) {
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("r{} points to kernel '{}', which cannot be passed as memory to a helper; copy it with "
                           "bpf_probe_read_kernel first",
                           reg, name),
               {reg});
        return std::nullopt;
    }
    if (access == Access::Write) {
        report(state, ErrorCode::ReadOnlyWrite, pc,
               fmt::format("r{} points to kernel '{}', which programs of type {} may only read", reg, name,
                           ir::program_type_name(type_)),
               {reg});
        return std::nullopt;
    }
    auto constant = pointer.number.constant_value();
    if (!constant) {
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("r{} points into kernel '{}' at a variable offset {}; the kernel allows only constant "
                           "offsets",
                           reg, name, pointer.number.to_compact_string()),
               {reg});
        return std::nullopt;
    }
    auto read = btf_struct_read(btf, pointer.region, int64_t(*constant) + offset, int(size));
    if (auto* message = std::get_if<std::string>(&read)) {
        report(state, ErrorCode::MemoryAccess, pc, *message, {reg});
        return std::nullopt;
    }
    const BtfLoad& load = std::get<BtfLoad>(read);
    if (!load.pointer) return Value::scalar(bounded_by_size(size));
    Value result = Value::make_pointer(PointerKind::BtfObject, load.struct_id, Scalar::constant(0));
    result.memory_tag = load.memory_tag;
    return result;
}

bool Engine::check_alignment(uint32_t pc, AbstractState& state, int reg, int64_t offset, int64_t size,
                             bool atomic) {
    const Value& pointer = state.reg(reg);
    if (!pointer.is_pointer() || pointer.kind == ValueKind::Mixed) return true;  // access_memory explains
    const bool strict = atomic || pointer.pointer == PointerKind::Stack;
    if (!strict || size <= 1) return true;
    const auto place = pointer.number.tnum().add(domains::Tnum::constant(uint64_t(offset)));
    const uint64_t low = uint64_t(size) - 1;
    if ((place.value() & low) == 0 && (place.mask() & low) == 0) return true;
    report(state, ErrorCode::MisalignedAccess, pc,
           fmt::format("the {}{}-byte access at offset {} of the {} is not aligned to its size",
                       atomic ? "atomic " : "", size,
                       place.is_constant() ? fmt::format("{}", int64_t(place.value()))
                                           : pointer.number.to_compact_string() + fmt::format("{:+}", offset),
                       pointer_kind_name(pointer.pointer)),
           {reg});
    return false;
}

bool Engine::check_same_pointer_kind(uint32_t pc, AbstractState& state, int reg) {
    const Value& pointer = state.reg(reg);
    if (!pointer.is_pointer() || pointer.kind == ValueKind::Mixed || pc >= access_kinds_.size()) return true;
    const auto rewritten = [](PointerKind kind) {
        return kind == PointerKind::Context || kind == PointerKind::Socket || kind == PointerKind::BtfObject;
    };
    const uint8_t kind = uint8_t(pointer.pointer) + 1;
    uint8_t& first = access_kinds_[pc];
    if (first == 0) first = kind;
    const auto before = PointerKind(first - 1);
    if (first == kind || (!rewritten(before) && !rewritten(pointer.pointer))) return true;
    report(state, ErrorCode::MemoryAccess, pc,
           fmt::format("this instruction accesses {} through r{} here and {} on another path; the kernel rewrites "
                       "such accesses per instruction, so one instruction may serve only one of them",
                       pointer_kind_name(pointer.pointer), reg, pointer_kind_name(before)),
           {reg});
    return false;
}

void Engine::execute_load(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    if (!require_initialized(pc, state, insn.src)) return;
    if (!check_same_pointer_kind(pc, state, insn.src)) return;
    if (!check_alignment(pc, state, insn.src, insn.offset, insn.access_width(), false)) return;
    auto loaded = access_memory(pc, state, insn.src, insn.offset, insn.access_width(), Access::Read, nullptr);
    if (!loaded) return;
    Value value = *loaded;
    if (insn.mem_mode() == ir::MemMode::MemSx && value.is_pointer()) {
        // The kernel refuses to sign-extend a field it rewrites into a pointer
        // load (data, data_end, data_meta): "invalid bpf_context access".
        report(state, ErrorCode::ContextAccess, pc,
               fmt::format("a sign-extending load cannot read a field that holds a pointer ({}); read it with an "
                           "unsigned load of its size",
                           describe_value(value, &object_)),
               {insn.src});
        return;
    }
    if (insn.mem_mode() == ir::MemMode::MemSx && value.is_scalar()) {
        domains::UnaryOp op = insn.access_width() == 1 ? domains::UnaryOp::SignExtend8
                              : insn.access_width() == 2 ? domains::UnaryOp::SignExtend16
                                                         : domains::UnaryOp::SignExtend32;
        value = Value::scalar(domains::apply(op, value.number, domains::OperandWidth::Full));
    }
    state.reg(insn.dst) = value;
}

void Engine::execute_store(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    Value value;
    if (insn.cls() == ir::InstructionClass::St) {
        value = Value::constant(uint64_t(int64_t(insn.imm)));
    } else {
        if (!require_initialized(pc, state, insn.src)) return;
        Value& source = state.reg(insn.src);
        const int width = insn.access_width();
        const bool fits = width == 8 || source.number.umax() >> (8 * width) == 0;
        if (state.reg(insn.dst).is_pointer(PointerKind::Stack) && source.is_scalar() && fits && source.id == 0 &&
            !source.number.constant_value()) {
            // The spill and the register are copies: a bound learned on either holds for both.
            source.id = fresh_id(state, pc, IdTag::Copy);
        }
        value = state.reg(insn.src);
    }
    if (!require_initialized(pc, state, insn.dst)) return;
    if (!check_same_pointer_kind(pc, state, insn.dst)) return;
    if (!check_alignment(pc, state, insn.dst, insn.offset, insn.access_width(), false)) return;
    (void)access_memory(pc, state, insn.dst, insn.offset, insn.access_width(), Access::Write, &value);
}

void Engine::execute_atomic(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    const int width = insn.access_width();
    if (insn.imm == ir::atomic::LoadAcquire || insn.imm == ir::atomic::StoreRelease) {
        // dst = load_acquire(src + off) and store_release(dst + off, src): a
        // load and a store with ordering, on the memory atomics may touch.
        const bool load = insn.imm == ir::atomic::LoadAcquire;
        const int base_reg = load ? insn.src : insn.dst;
        if (!require_initialized(pc, state, base_reg)) return;
        const Value& base = state.reg(base_reg);
        if (base.is_pointer() && base.pointer != PointerKind::Stack && base.pointer != PointerKind::MapValue) {
            report(state, ErrorCode::MemoryAccess, pc,
                   fmt::format("load-acquire and store-release are only allowed on the stack and map values, not on {}",
                               pointer_kind_name(base.pointer)),
                   {base_reg});
            return;
        }
        if (load) execute_load(pc, insn, state);
        else execute_store(pc, insn, state);
        return;
    }
    if (!require_initialized(pc, state, insn.src) || !require_initialized(pc, state, insn.dst)) return;
    const bool compare_exchange = insn.imm == ir::atomic::CmpXchg;
    if (compare_exchange && !require_initialized(pc, state, 0)) return;
    const Value& base = state.reg(insn.dst);
    if (base.is_pointer() && base.pointer != PointerKind::Stack && base.pointer != PointerKind::MapValue) {
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("atomic operations are only allowed on the stack and map values, not on {}",
                           pointer_kind_name(base.pointer)),
               {insn.dst});
        return;
    }
    if (!check_same_pointer_kind(pc, state, insn.dst)) return;
    if (!check_alignment(pc, state, insn.dst, insn.offset, width, true)) return;
    // The fetched old value is what a load of the same bytes gives (the
    // kernel's check_atomic_rmw loads into the register): a number spilled to
    // the stack comes back as that number.
    auto loaded = access_memory(pc, state, insn.dst, insn.offset, width, Access::Read, nullptr);
    if (!loaded) return;
    Value unknown = Value::unknown_scalar();
    if (!access_memory(pc, state, insn.dst, insn.offset, width, Access::Write, &unknown)) return;
    Scalar old = loaded->is_scalar() ? loaded->number
                                     : width == 4 ? Scalar::unsigned_range(0, 0xffffffff) : Scalar::top();
    if (compare_exchange)
        state.reg(0) = Value::scalar(old);
    else if ((insn.imm & ir::atomic::Fetch) != 0)
        state.reg(insn.src) = Value::scalar(old);
}

void Engine::execute_lddw(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    const ir::Instruction& next = program_.instructions[pc + 1];
    switch (ir::LddwKind(insn.src)) {
    case ir::LddwKind::Immediate: state.reg(insn.dst) = Value::constant(ir::lddw_value(insn, next)); return;
    case ir::LddwKind::MapFd:
    case ir::LddwKind::MapIndex:
    case ir::LddwKind::MapValue:
    case ir::LddwKind::MapIndexValue: {
        uint32_t map = uint32_t(insn.imm);
        if (map >= object_.maps.size()) {
            report(state, ErrorCode::InvalidMapReference, pc, fmt::format("there is no map number {}", map), {});
            return;
        }
        bool value = ir::LddwKind(insn.src) == ir::LddwKind::MapValue ||
                     ir::LddwKind(insn.src) == ir::LddwKind::MapIndexValue;
        if (!value) {
            state.reg(insn.dst) = Value::make_pointer(PointerKind::MapPointer, map, Scalar::constant(0));
            return;
        }
        uint32_t offset = uint32_t(next.imm);
        if (offset >= object_.maps[map].value_size && object_.maps[map].value_size > 0) {
            report(state, ErrorCode::InvalidMapReference, pc,
                   fmt::format("offset {} is outside the {}-byte value of map '{}'", offset,
                               object_.maps[map].value_size, object_.maps[map].name),
                   {});
            return;
        }
        state.reg(insn.dst) = Value::make_pointer(PointerKind::MapValue, map, Scalar::constant(offset));
        return;
    }
    case ir::LddwKind::Function: {
        // A callback (bpf_loop): a pointer helpers take, nothing else may use.
        const uint32_t target = uint32_t(int64_t(pc) + insn.imm + 1);
        for (size_t f = 0; f < program_.functions.size(); ++f) {
            if (program_.functions[f].start != target) continue;
            state.reg(insn.dst) = Value::make_pointer(PointerKind::Function, uint32_t(f), Scalar::constant(0));
            return;
        }
        report(state, ErrorCode::InvalidInstruction, pc,
               fmt::format("the function address loaded here ({}) starts no function", target), {});
        return;
    }
    case ir::LddwKind::BtfId: state.reg(insn.dst) = Value::unknown_scalar(); return;
    }
    report(state, ErrorCode::InvalidInstruction, pc, "unknown kind of 64-bit load", {});
}

void Engine::execute_legacy_packet_load(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    using ir::ProgramType;
    if (type_ != ProgramType::SocketFilter && type_ != ProgramType::SchedCls && type_ != ProgramType::SchedAct) {
        report(state, ErrorCode::InvalidInstruction, pc,
               fmt::format("legacy packet loads (LD_ABS/LD_IND) are not allowed in {} programs",
                           ir::program_type_name(type_)),
               {});
        return;
    }
    if (state.lock()) {
        report(state, ErrorCode::SpinLock, pc,
               fmt::format("a legacy packet load may end the function while the bpf_spin_lock taken at instruction "
                           "{} is held (the kernel: BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region)",
                           state.lock()->pc),
               {});
        return;
    }
    if (!state.references().empty()) {
        // A failing load leaves the function at once: the reference would leak.
        report(state, ErrorCode::UnreleasedReference, pc,
               fmt::format("a legacy packet load may end the function while the reference taken at instruction {} "
                           "is held (the kernel's \"BPF_LD_[ABS|IND] would lead to reference leak\")",
                           state.references().front().pc),
               {});
        return;
    }
    if (!require_initialized(pc, state, 6)) return;
    if (!state.reg(6).is_pointer(PointerKind::Context)) {
        report(state, ErrorCode::MemoryAccess, pc, "legacy packet loads need the context in r6", {6});
        return;
    }
    if (insn.mem_mode() == ir::MemMode::Ind) {
        if (!require_initialized(pc, state, insn.src)) return;
        if (!state.reg(insn.src).is_scalar()) {
            report(state, ErrorCode::MemoryAccess, pc, "the index of a legacy packet load must be a number", {insn.src});
            return;
        }
    }
    for (int r = 1; r <= 5; ++r) state.reg(r) = Value::uninitialized();
    // Though the load zero-extends at most 4 bytes, the kernel (check_ld_abs)
    // makes r0 an unknown 64-bit number: a bound we knew would accept
    // programs it refuses.
    state.reg(0) = Value::scalar(Scalar::top());
}

}  // namespace bpfvet::analyzer::detail
