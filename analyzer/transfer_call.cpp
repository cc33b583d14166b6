// Calls: helpers are checked against their prototype (helper_table.cpp);
// local functions are analysed with the caller's argument state, one frame
// deeper, and their exit states flow back to the call site.
#include "analyzer/engine.hpp"

#include "ir/helper_names.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

namespace {

constexpr uint64_t max_memory_size = uint64_t(1) << 29;
constexpr int32_t map_lookup_helper = 1;
constexpr int32_t tail_call_helper = 12;
constexpr int32_t spin_unlock_helper = 94;
constexpr int32_t sk_fullsock_helper = 95;
// Returns the current task, trusted and never null (RET_PTR_TO_BTF_ID_TRUSTED):
// modelled when the kernel BTF names struct task_struct.
constexpr int32_t current_task_btf_helper = 158;

std::string helper_label(const HelperPrototype& helper) { return fmt::format("{}#{}", helper.name, helper.id); }

}  // namespace

// An unprivileged loader may not hand a helper stack bytes that hold a spilled
// pointer: map_update_elem would store it in a map, perf_event_output would
// send it to user space (the kernel's "invalid indirect read from stack").
bool Engine::check_no_spilled_pointer(uint32_t pc, AbstractState& state, int reg, int64_t size,
                                      const HelperPrototype& helper) {
    const Value& pointer = state.reg(reg);
    if (!options_.unprivileged || !pointer.is_pointer() || pointer.pointer != PointerKind::Stack) return true;
    const int64_t lo = pointer.number.smin(), hi = pointer.number.smax() + size;
    for (const Spill& spill : state.frame(pointer.region).spills) {
        if (spill.value.is_scalar() || spill.offset + spill.width <= lo || spill.offset >= hi) continue;
        report(state, ErrorCode::PointerLeak, pc,
               fmt::format("r{} points at stack fp{} holding a spilled pointer; passing it to {} would leak a kernel "
                           "address",
                           reg, spill.offset, helper_label(helper)),
               {reg});
        return false;
    }
    return true;
}

// The prototype's gates before any argument: known, modelled, offered to this
// program type, license and privileges.
bool Engine::check_helper_gates(uint32_t pc, AbstractState& state, const HelperPrototype& helper) {
    for (size_t i = 0; i < helper.arguments.size(); ++i) {
        std::string_view what = unmodelled_argument(helper.arguments[i]);
        if (what.empty()) continue;
        report(state, ErrorCode::UnmodelledHelper, pc,
               fmt::format("argument {} of {} is {}, which this analyzer does not model", i + 1, helper_label(helper),
                           what),
               {});
        return false;
    }
    const bool typed_current_task =
        helper.id == current_task_btf_helper && options_.kernel_btf &&
        options_.kernel_btf->find(ir::BtfKind::Struct, "task_struct");
    if (std::string_view what = unmodelled_result(helper.returns); !what.empty() && !typed_current_task) {
        report(state, ErrorCode::UnmodelledHelper, pc,
               fmt::format("{} returns {}, which this analyzer does not model", helper_label(helper), what), {});
        return false;
    }
    if (helper.needs_cap_bpf() && options_.unprivileged) {
        report(state, ErrorCode::HelperNotAllowed, pc,
               fmt::format("{} needs CAP_BPF: an unprivileged loader cannot call it", helper_label(helper)), {});
        return false;
    }
    if (!helper_allowed(helper, type_)) {
        report(state, ErrorCode::HelperNotAllowed, pc,
               fmt::format("programs of type {} cannot call {}", ir::program_type_name(type_), helper_label(helper)),
               {});
        return false;
    }
    // An object without a license section is taken as GPL, as the corpora's loaders take it.
    if (helper.has(trait::gpl) && !object_.license.empty() && !license_is_gpl_compatible(object_.license)) {
        report(state, ErrorCode::HelperNotAllowed, pc,
               fmt::format("cannot call GPL-restricted function {} from a program with license '{}'",
                           helper_label(helper), object_.license),
               {});
        return false;
    }
    if (helper.has(trait::sleeps)) {
        report(state, ErrorCode::HelperNotAllowed, pc,
               fmt::format("{} might sleep: the kernel allows it only in sleepable programs, which this analyzer "
                           "does not model",
                           helper_label(helper)),
               {});
        return false;
    }
    return true;
}

// Memory of `bytes` bytes at the pointer in `reg` for a helper: pointers into
// the packet only for helpers that accept them, no spilled pointer leaked.
bool Engine::check_helper_memory(uint32_t pc, AbstractState& state, int reg, int64_t bytes, Access access,
                                 const HelperPrototype& helper) {
    if (bytes == 0) return true;
    if (access == Access::Read && !check_no_spilled_pointer(pc, state, reg, bytes, helper)) return false;
    return access_memory(pc, state, reg, 0, bytes, access, nullptr, true).has_value();
}

void Engine::execute_helper_call(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    if (state.lock() && insn.imm != spin_unlock_helper) {
        std::string_view name = ir::helper_name(insn.imm);
        report(state, ErrorCode::SpinLock, pc,
               fmt::format("{}#{} is called while the bpf_spin_lock taken at instruction {} is held (the kernel: "
                           "function calls are not allowed while holding a lock)",
                           name.empty() ? std::string_view("helper") : name, insn.imm, state.lock()->pc),
               {});
        return;
    }
    const HelperPrototype* helper = helper_prototype(insn.imm);
    if (helper == nullptr) {
        std::string_view name = ir::helper_name(insn.imm);
        report(state, ErrorCode::UnknownHelper, pc,
               name.empty() ? fmt::format("helper function #{} is unknown", insn.imm)
                            : fmt::format("helper {}#{} has no prototype in this analyzer", name, insn.imm),
               {});
        return;
    }
    if (helper->id == tail_call_helper && !state.references().empty()) {
        const Reference& held = state.references().front();
        report(state, ErrorCode::UnreleasedReference, pc,
               fmt::format("bpf_tail_call would leak the reference taken at instruction {} (id {}): release it "
                           "before the tail call",
                           held.pc, held.id),
               {});
        return;
    }
    if (!check_helper_gates(pc, state, *helper)) return;
    std::optional<uint32_t> map;  // the map argument, for keys, values and the return value
    std::optional<uint32_t> callback;  // the function a Callback argument names
    std::optional<uint32_t> timer_map;  // the map whose value holds a Timer argument
    std::optional<std::string_view> const_string;  // a ConstString argument's text
    std::vector<uint32_t> map_set;  // every map it may be
    for (size_t i = 0; i < helper->arguments.size(); ++i) {
        const ArgumentKind kind = helper->arguments[i];
        const int reg = int(i) + 1;
        if (kind == ArgumentKind::None) break;
        if (kind == ArgumentKind::Size || kind == ArgumentKind::SizeOrZero) continue;  // checked with its memory
        if (!require_initialized(pc, state, reg)) return;
        const Value arg = state.reg(reg);
        auto wrong = [&](std::string what) {
            report(state, ErrorCode::HelperArgument, pc,
                   fmt::format("argument {} of {} must be {}, but r{} is {}", reg, helper_label(*helper), what, reg,
                               describe_value(arg, &object_)),
                   {reg});
        };
        // The kernel's may_access_direct_pkt_data, checked before the argument's type.
        if (kind != ArgumentKind::Anything && (arg.is_pointer(PointerKind::Packet) || arg.is_pointer(PointerKind::PacketMeta)) &&
            !helper_accepts_packet(*helper, type_)) {
            report(state, ErrorCode::HelperArgument, pc,
                   fmt::format("helper access to the packet is not allowed: r{} points into the packet, which {} "
                               "does not accept in {} programs (its prototype has no pkt_access)",
                               reg, helper_label(*helper), ir::program_type_name(type_)),
                   {reg});
            return;
        }
        switch (kind) {
        case ArgumentKind::Anything:
            if (!arg.is_scalar() && options_.unprivileged) {
                report(state, ErrorCode::PointerLeak, pc,
                       fmt::format("passing a pointer as argument {} of {} leaks a kernel address", reg,
                                   helper_label(*helper)),
                       {reg});
                return;
            }
            break;
        case ArgumentKind::MapPointer:
        case ArgumentKind::ProgramArray: {
            if (!arg.is_pointer(PointerKind::MapPointer) || arg.maybe_null) {
                if (kind == ArgumentKind::ProgramArray) {
                    report(state, ErrorCode::TailCall, pc,
                           fmt::format("bpf_tail_call needs a program array map in r2, but r2 is {}",
                                       describe_value(arg, &object_)),
                           {reg});
                    return;
                }
                wrong("a map");
                return;
            }
            // bpf_timer_init(timer, map): the map holding the timer (the kernel
            // compares the map pointers, so an inner map counts as its own).
            if (timer_map && (arg.region != *timer_map || arg.maps != 0)) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("the timer in r1 is in a value of map '{}', but r{} is {} (the kernel: timer "
                                   "pointer in R1 doesn't match map pointer in R2)",
                                   object_.maps[*timer_map].name, reg, describe_value(arg, &object_)),
                       {1, reg});
                return;
            }
            map = arg.region;
            map_set = maps_of(arg);
            for (uint32_t index : map_set) {
                const ir::MapDefinition& definition = object_.maps[index];
                if (kind == ArgumentKind::ProgramArray && definition.type != ir::MapType::ProgArray) {
                    report(state, ErrorCode::TailCall, pc,
                           fmt::format("bpf_tail_call needs a program array map, but map '{}' is a {} map",
                                       definition.name, ir::map_type_name(definition.type)),
                           {reg});
                    return;
                }
                if (!map_allowed_for_helper(helper->id, uint32_t(definition.type))) {
                    report(state, ErrorCode::HelperArgument, pc,
                           fmt::format("a {} map such as '{}' cannot be passed to {}",
                                       ir::map_type_name(definition.type), definition.name, helper_label(*helper)),
                           {reg});
                    return;
                }
            }
            break;
        }
        case ArgumentKind::ContextOrNull:
            if (arg.is_constant(0)) break;
            [[fallthrough]];
        case ArgumentKind::Context:
            if (arg.is_pointer(PointerKind::Context) && arg.number.constant_value() != 0) {
                report(state, ErrorCode::ContextAccess, pc,
                       fmt::format("argument {} of {} is the context pointer moved by {}; the kernel only accepts "
                                   "the unmodified context",
                                   reg, helper_label(*helper), arg.number.to_compact_string()),
                       {reg});
                return;
            }
            if (!arg.is_pointer(PointerKind::Context)) {
                wrong(kind == ArgumentKind::Context ? "the context pointer" : "the context pointer or 0");
                return;
            }
            break;
        case ArgumentKind::StackOrNull:
            if (arg.is_constant(0)) break;
            if (!arg.is_pointer(PointerKind::Stack)) {
                wrong("a pointer into the stack or 0");
                return;
            }
            break;
        case ArgumentKind::RingbufMemory:
            if (!arg.is_pointer(PointerKind::RingbufMemory) || arg.maybe_null || arg.number.constant_value() != 0) {
                wrong("a record returned by bpf_ringbuf_reserve, tested against null");
                return;
            }
            // The record is gone after submit or discard.
            if (arg.id == 0 || !state.holds_reference(arg.id)) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("r{} is a ring buffer record that was already submitted or discarded", reg),
                       {reg});
                return;
            }
            state.release_reference(arg.id);
            state.update_copies(arg.id, [](Value& v) { v = Value::unknown_scalar(); });
            break;
        case ArgumentKind::SpinLock:
            if (!execute_spin_lock(pc, state, *helper, reg)) return;
            break;
        case ArgumentKind::ConstString:
            const_string = check_const_string(pc, state, *helper, reg);
            if (!const_string) return;
            break;
        case ArgumentKind::Timer:
            timer_map = check_timer_argument(pc, state, *helper, reg);
            if (!timer_map) return;
            break;
        case ArgumentKind::Callback:
        case ArgumentKind::MapCallback:
            if (!arg.is_pointer(PointerKind::Function)) {
                wrong("a function of the program (a callback)");
                return;
            }
            callback = arg.region;
            break;
        case ArgumentKind::SocketCommon:
            if (!arg.is_pointer(PointerKind::Socket) || arg.maybe_null || arg.number.constant_value() != 0) {
                wrong("a socket pointer tested against null");
                return;
            }
            break;
        case ArgumentKind::SocketReference:
            if (!arg.is_pointer(PointerKind::Socket) || arg.maybe_null || arg.number.constant_value() != 0) {
                wrong("a socket from bpf_sk_lookup_* tested against null");
                return;
            }
            if (!state.holds_reference(arg.id)) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("r{} is a socket whose reference is not held here (released already, or "
                                   "not from an acquiring lookup); {} would release it twice",
                                   reg, helper_label(*helper)),
                       {reg});
                return;
            }
            // The socket is gone after the release, in every copy.
            state.release_reference(arg.id);
            state.update_copies(arg.id, [](Value& v) { v = Value::unknown_scalar(); });
            break;
        case ArgumentKind::ConstantSize:
            if (!arg.is_scalar() || !arg.number.constant_value()) {
                wrong("a known constant");
                return;
            }
            break;
        case ArgumentKind::MapValueOrNull:
            if (arg.is_constant(0)) break;
            [[fallthrough]];
        case ArgumentKind::MapKey:
        case ArgumentKind::MapValue:
        case ArgumentKind::MapValueOutput: {
            if (!map) {
                wrong("a pointer after a map argument");
                return;
            }
            const bool key = kind == ArgumentKind::MapKey;
            const ir::MapDefinition& definition = object_.maps[*map];
            uint32_t size = key ? definition.key_size : definition.value_size;
            for (uint32_t index : map_set) {
                const ir::MapDefinition& other = object_.maps[index];
                uint32_t other_size = key ? other.key_size : other.value_size;
                if (other_size == 0) size = 0;
                else if (size != 0) size = std::max(size, other_size);
            }
            if (!arg.is_pointer() || arg.pointer == PointerKind::Context || arg.pointer == PointerKind::MapPointer ||
                arg.pointer == PointerKind::PacketEnd) {
                wrong(key ? "a pointer to the key" : "a pointer to the value");
                return;
            }
            if (size == 0) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("map '{}' has {}-byte {}s: an invalid zero-sized read for {}", definition.name, size,
                                   key ? "key" : "value", helper_label(*helper)),
                       {reg});
                return;
            }
            Access access = kind == ArgumentKind::MapValueOutput ? Access::Write : Access::Read;
            if (!check_helper_memory(pc, state, reg, size, access, *helper)) return;
            break;
        }
        case ArgumentKind::FixedReadable:
        case ArgumentKind::FixedInOut:
        case ArgumentKind::FixedOutput: {
            const int64_t bytes = helper->fixed_sizes[i];
            if (!arg.is_pointer()) {
                wrong(fmt::format("a pointer to {} bytes of memory", bytes));
                return;
            }
            // MEM_ALIGNED: the helper stores a whole word there.
            if (kind == ArgumentKind::FixedOutput && arg.is_pointer(PointerKind::Stack) &&
                (!arg.number.constant_value() || int64_t(*arg.number.constant_value()) % bytes != 0)) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("argument {} of {} must be aligned to {} bytes, but r{} is {}", reg,
                                   helper_label(*helper), bytes, reg, describe_value(arg, &object_)),
                       {reg});
                return;
            }
            if (kind != ArgumentKind::FixedOutput && !check_helper_memory(pc, state, reg, bytes, Access::Read, *helper))
                return;
            if (kind != ArgumentKind::FixedReadable &&
                !check_helper_memory(pc, state, reg, bytes, Access::Write, *helper))
                return;
            break;
        }
        case ArgumentKind::ReadableMemory:
        case ArgumentKind::ReadableMemoryOrNull:
        case ArgumentKind::WritableMemory:
        case ArgumentKind::WritableMemoryOrNull: {
            const int size_reg = reg + 1;
            const bool zero_allowed = i + 1 < helper->arguments.size() &&
                                      helper->arguments[i + 1] == ArgumentKind::SizeOrZero;
            const bool nullable =
                kind == ArgumentKind::ReadableMemoryOrNull || kind == ArgumentKind::WritableMemoryOrNull;
            if (!require_initialized(pc, state, size_reg)) return;
            const Value size = state.reg(size_reg);
            if (!size.is_scalar()) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("argument {} of {} must be a size, but r{} is {}", size_reg, helper_label(*helper),
                                   size_reg, describe_value(size, &object_)),
                       {size_reg});
                return;
            }
            if (size.number.smin() < 0 && size.number.umax() >= max_memory_size) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("the size in r{} may be negative ({}); bound it before the call", size_reg,
                                   size.number.to_compact_string()),
                       {size_reg});
                return;
            }
            if (size.number.umax() >= max_memory_size) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("the size in r{} is unbounded ({}); bound it with `&` or a comparison first",
                                   size_reg, size.number.to_compact_string()),
                       {size_reg});
                return;
            }
            if (size.number.umin() == 0 && !zero_allowed) {
                report(state, ErrorCode::HelperArgument, pc,
                       fmt::format("the size in r{} may be zero, which {} does not accept", size_reg,
                                   helper_label(*helper)),
                       {size_reg});
                return;
            }
            if (!arg.is_pointer()) {
                // A null buffer (PTR_MAYBE_NULL) is allowed only for a zero-byte
                // access, as the kernel's check_helper_mem_access has it.
                if (nullable && arg.is_constant(0)) {
                    if (size.number.umax() == 0) break;
                    report(state, ErrorCode::HelperArgument, pc,
                           fmt::format("argument {} of {} is null, which it accepts only with a size of 0, but the "
                                       "size in r{} may be {} (the kernel: R{} type=scalar expected=fp)",
                                       reg, helper_label(*helper), size_reg, size.number.umax(), reg),
                           {reg, size_reg});
                    return;
                }
                // Without PTR_MAYBE_NULL the kernel's type check refuses the
                // constant 0 before looking at the size, even a size of 0.
                wrong(nullable ? "a pointer to memory, or null with a size of 0" : "a pointer to memory");
                return;
            }
            Access access = kind == ArgumentKind::WritableMemory || kind == ArgumentKind::WritableMemoryOrNull
                                ? Access::Write
                                : Access::Read;
            if (!check_helper_memory(pc, state, reg, int64_t(size.number.umax()), access, *helper)) return;
            break;
        }
        default: break;
        }
    }

    if (const_string && !check_format_string(pc, state, *helper, *const_string)) return;
    if (callback) {
        std::optional<CallbackCall> call = callback_call(pc, state, *helper, timer_map);
        if (!call || !execute_callback(pc, state, *callback, *call)) return;
    }
    if (helper_changes_packet_data(helper->id)) state.invalidate_packet_pointers();

    // An acquiring call: the new reference is held until released. The same
    // call again (a loop) while the previous one is still held would lose it.
    auto acquire = [&](IdTag tag) -> std::optional<uint32_t> {
        const uint32_t id = (pc << 2 | uint32_t(tag)) + 1;  // as fresh_id gives it
        if (state.holds_reference(id)) {
            report(state, ErrorCode::UnreleasedReference, pc,
                   fmt::format("the reference taken here on an earlier iteration (id {}) is still held when {} runs "
                               "again",
                               id, helper_label(*helper)),
                   {});
            return std::nullopt;
        }
        uint32_t fresh = fresh_id(state, pc, tag);
        state.acquire_reference(Reference{fresh, pc});
        return fresh;
    };

    Value result = Value::unknown_scalar();
    switch (helper->returns) {
    case ReturnKind::Integer: break;
    case ReturnKind::Void:
        // A tail call that falls through in a subprogram leaves r0 a number
        // (the kernel's log: "R0=scalar()"); in the entry function r0 is unset ("R0 !read_ok").
        result = helper->id == tail_call_helper && state.frame_count() > 1 ? Value::unknown_scalar()
                                                                           : Value::uninitialized();
        break;
    case ReturnKind::MapValue:  // a cgroup storage: the program's own value, always there
        result = Value::make_pointer(PointerKind::MapValue, map.value_or(0), Scalar::constant(0));
        break;
    case ReturnKind::MapValueOrNull: {
        uint32_t id = fresh_id(state, pc, IdTag::Lookup);
        // What a lookup returns depends on the kind of map: values, inner maps or sockets.
        enum class Returns { Values, InnerMaps, Sockets };
        std::optional<Returns> returns;
        uint64_t inner_mask = 0;
        bool consistent = true;
        for (uint32_t index : map_set) {
            const ir::MapDefinition& definition = object_.maps[index];
            Returns r = Returns::Values;
            if (definition.type == ir::MapType::ArrayOfMaps || definition.type == ir::MapType::HashOfMaps) {
                r = Returns::InnerMaps;
                if (!definition.inner_map || *definition.inner_map >= object_.maps.size()) {
                    report(state, ErrorCode::InvalidMapReference, pc,
                           fmt::format("map-in-map '{}' has no known inner map definition", definition.name), {1});
                    return;
                }
                inner_mask |= *definition.inner_map < 64 ? uint64_t(1) << *definition.inner_map : 0;
            } else if (definition.type == ir::MapType::Sockmap || definition.type == ir::MapType::Sockhash) {
                r = Returns::Sockets;
            }
            consistent = consistent && (!returns || *returns == r);
            returns = r;
        }
        if (!consistent || !returns) {
            result = Value::mixed();
        } else if (*returns == Returns::InnerMaps) {
            if (inner_mask == 0) {
                result = Value::mixed();
                break;
            }
            result = Value::make_pointer(PointerKind::MapPointer, uint32_t(__builtin_ctzll(inner_mask)),
                                         Scalar::constant(0), true, id);
            result.maps = __builtin_popcountll(inner_mask) > 1 ? inner_mask : 0;
        } else if (*returns == Returns::Sockets) {
            // The kernel takes a reference on a socket found in a sockmap/sockhash.
            state.acquire_reference(Reference{id, pc});
            result = Value::make_pointer(PointerKind::Socket, 0, Scalar::constant(0), true, id);
        } else {
            // An array lookup with a constant key below max_entries finds a value (the kernel's
            // can_elide_value_nullness, 6.13 on).
            const bool found = helper->id == map_lookup_helper && map_set.size() == 1 &&
                               known_present_key(state, object_.maps[map_set.front()]);
            result = Value::make_pointer(PointerKind::MapValue, map.value_or(0), Scalar::constant(0), !found, id);
            // A value found for sure needs no id, unless it holds a lock: the id
            // tells its lock from another element's (the kernel gives it one too).
            if (found && !may_point_to_spin_lock(result)) result.id = 0;
            uint64_t mask = 0;
            for (uint32_t index : map_set) mask |= index < 64 ? uint64_t(1) << index : 0;
            result.maps = __builtin_popcountll(mask) > 1 ? mask : 0;
        }
        break;
    }
    case ReturnKind::RingbufMemoryOrNull: {
        uint32_t size = uint32_t(state.reg(2).number.constant_value().value_or(0));
        auto id = acquire(IdTag::Lookup);
        if (!id) return;
        result = Value::make_pointer(PointerKind::RingbufMemory, size, Scalar::constant(0), true, *id);
        break;
    }
    case ReturnKind::SocketOrNull:
    case ReturnKind::SockCommonOrNull: {
        auto id = acquire(IdTag::Socket);
        if (!id) return;
        const uint32_t region = helper->returns == ReturnKind::SockCommonOrNull ? SocketCommon : 0;
        result = Value::make_pointer(PointerKind::Socket, region, Scalar::constant(0), true, *id);
        break;
    }
    case ReturnKind::SocketOrNullUnreferenced: {
        const uint32_t id = fresh_id(state, pc, IdTag::Socket);
        result = Value::make_pointer(PointerKind::Socket, 0, Scalar::constant(0), true, id);
        // bpf_sk_fullsock casts its argument: released with it.
        const Value& parent = state.reg(1);
        if (helper->id == sk_fullsock_helper && parent.id != 0 && state.holds_reference(parent.id))
            state.derive(parent.id, id);
        break;
    }
    case ReturnKind::KernelObject: {
        if (helper->id != current_task_btf_helper) return;  // refused by check_helper_gates
        const uint32_t task = *options_.kernel_btf->find(ir::BtfKind::Struct, "task_struct");
        result = Value::make_pointer(PointerKind::BtfObject, task, Scalar::constant(0));
        result.trusted = true;
        break;
    }
    case ReturnKind::TcpSockOrNull:
    case ReturnKind::MemoryOrNull: return;  // refused by check_helper_gates
    }
    for (int r = 1; r <= 5; ++r) state.reg(r) = Value::uninitialized();
    state.reg(0) = result;
}

std::optional<std::pair<int16_t, int16_t>> constant_key_slot(const AbstractState& state, const ir::MapDefinition& map) {
    if (map.type != ir::MapType::Array && map.type != ir::MapType::PercpuArray) return std::nullopt;
    if (map.key_size != 4) return std::nullopt;
    const Value& key = state.reg(2);
    if (!key.is_pointer(PointerKind::Stack) || key.region >= state.frame_count()) return std::nullopt;
    const auto offset = key.number.constant_value();
    if (!offset) return std::nullopt;
    return std::pair{int16_t(int64_t(*offset)), int16_t(key.region)};
}

bool Engine::known_present_key(const AbstractState& state, const ir::MapDefinition& map) const {
    auto slot = constant_key_slot(state, map);
    if (!slot) return false;
    // As the kernel: a spill of exactly the key's size holding a known number.
    for (const Spill& spill : state.frame(size_t(slot->second)).spills) {
        if (spill.offset != slot->first || spill.width != map.key_size || !spill.value.is_scalar()) continue;
        const auto value = spill.value.number.constant_value();
        return value && *value < map.max_entries;
    }
    return false;
}

std::optional<uint32_t> Engine::enter_call(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    const uint32_t target = uint32_t(int64_t(pc) + insn.imm + 1);
    std::optional<uint32_t> callee;
    for (size_t f = 0; f < program_.functions.size(); ++f)
        if (program_.functions[f].start == target) callee = uint32_t(f);
    if (!callee) {
        // A call the loader could not link names its symbol: say which, and how helpers are declared.
        if (auto undefined = std::ranges::find(program_.unresolved_calls, pc, &ir::Program::UnresolvedCall::pc);
            undefined != program_.unresolved_calls.end()) {
            const bool helper = ir::helper_id(undefined->symbol) && undefined->symbol.starts_with("bpf_");
            report(state, helper ? ErrorCode::UnknownHelper : ErrorCode::InvalidInstruction, pc,
                   ir::undefined_call_message(undefined->symbol), {});
            return std::nullopt;
        }
        report(state, ErrorCode::InvalidInstruction, pc, fmt::format("call to {} which starts no function", target), {});
        return std::nullopt;
    }
    if (state.frame_count() >= max_call_frames) {
        report(state, ErrorCode::StackDepth, pc,
               fmt::format("the call chain is deeper than {} frames", max_call_frames), {});
        return std::nullopt;
    }
    Frame frame;
    frame.function = *callee;
    frame.callsite = pc;
    for (int r = 1; r <= 5; ++r) frame.registers[size_t(r)] = state.reg(r);
    const uint32_t frame_index = uint32_t(state.frame_count());
    frame.registers[10] = Value::make_pointer(PointerKind::Stack, frame_index, Scalar::constant(0));
    state.push_frame(std::move(frame));
    if (!check_stack_depth(pc, state)) {
        state = AbstractState::bottom();
        return std::nullopt;
    }
    return callee;
}

std::optional<uint32_t> Engine::return_from_call(uint32_t pc, AbstractState& state) {
    // A static function may return without setting r0 (the kernel's
    // prepare_func_exit copies it as it is): the caller may not read it.
    const uint32_t frame_index = uint32_t(state.frame_count() - 1);
    const uint32_t callsite = state.current_frame().callsite;
    const uint32_t callee = state.current_frame().function;
    Value result = state.reg(0);
    if (result.is_pointer(PointerKind::Stack) && result.region == frame_index) {
        report(state, ErrorCode::MemoryAccess, pc,
               fmt::format("function {} returns a pointer to its own stack, which is gone after it returns",
                           program_.functions[callee].name),
               {0});
        return std::nullopt;
    }
    state.pop_frame();
    // Pointers into the finished frame are dangling.
    state.for_each_value([&](Value& v) {
        if (v.is_pointer(PointerKind::Stack) && v.region >= frame_index) v = Value::unknown_scalar();
    });
    for (int r = 1; r <= 5; ++r) state.reg(r) = Value::uninitialized();
    state.reg(0) = result;
    // A callee that may change packet data (a tail call that fell through
    // counts) leaves the caller no packet pointer, as the kernel clears them
    // when such a subprogram returns.
    if (callee < changes_packet_data_.size() && changes_packet_data_[callee]) state.invalidate_packet_pointers();
    return callsite + 1;
}

// A call analysed on its own: the callee explored from the caller's state,
// its returns joined (inside loops being widened, where states are joined anyway).
void Engine::execute_local_call(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    if (summarize_call(pc)) {
        if (state.lock()) {
            report(state, ErrorCode::SpinLock, pc,
                   fmt::format("global function {} is called while the bpf_spin_lock taken at instruction {} is held "
                               "(the kernel: global function calls are not allowed while holding a lock, use static "
                               "function instead)",
                               program_.functions[*callee_at(pc)].name, state.lock()->pc),
                   {});
            return;
        }
        call_global_function(pc, *callee_at(pc), state);
        return;
    }
    std::optional<uint32_t> callee = enter_call(pc, insn, state);
    if (!callee) return;
    AbstractState exit = analyze_function(*callee, state);
    if (exit.is_bottom() || !return_from_call(pc, exit)) {
        state = AbstractState::bottom();
        return;
    }
    state = std::move(exit);
}

}  // namespace bpfvet::analyzer::detail
