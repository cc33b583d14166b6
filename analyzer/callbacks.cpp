// Callbacks: functions of the program that a helper calls (bpf_loop,
// bpf_for_each_map_elem, bpf_timer_set_callback). Each is analysed where the
// helper is called, with the arguments the kernel gives it (its
// set_*_callback_state functions) and the return range it checks.
#include "analyzer/engine.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

namespace {

constexpr int32_t loop_helper = 181;
constexpr int32_t for_each_map_elem_helper = 164;
constexpr int32_t timer_set_callback_helper = 170;

// The maps whose elements bpf_for_each_map_elem can walk (those with a
// map_for_each_callback in the kernel).
bool walkable(ir::MapType type) {
    using enum ir::MapType;
    return type == Hash || type == PercpuHash || type == LruHash || type == LruPercpuHash || type == Array ||
           type == PercpuArray;
}

// callback(map, key, value, ...): the key and value of some element of `map`.
void element_arguments(const ir::Object& object, uint32_t map, uint64_t maps, Frame& callee) {
    callee.registers[1] = Value::make_pointer(PointerKind::MapPointer, map, Scalar::constant(0));
    callee.registers[1].maps = maps;
    // Of several maps, the key of the one with the smallest key bounds every access.
    uint32_t key_map = map;
    for (uint32_t index = 0; index < 64 && maps != 0; ++index)
        if ((maps >> index & 1) != 0 && object.maps[index].key_size < object.maps[key_map].key_size) key_map = index;
    callee.registers[2] = Value::make_pointer(PointerKind::MapKey, key_map, Scalar::constant(0));
    callee.registers[3] = Value::make_pointer(PointerKind::MapValue, map, Scalar::constant(0));
    callee.registers[3].maps = maps;
}

}  // namespace

std::optional<CallbackCall> Engine::callback_call(uint32_t pc, AbstractState& state, const HelperPrototype& helper,
                                                  std::optional<uint32_t> timer_map) {
    switch (helper.id) {
    case loop_helper:
        // callback(index, ctx): the index below 2^23, the helper's limit on nr_loops.
        return CallbackCall{helper.name, [](const AbstractState& caller, Frame& callee) {
                                callee.registers[1] =
                                    Value::scalar(Scalar::unsigned_range(0, (uint64_t(1) << 23) - 1));
                                callee.registers[2] = caller.reg(3);
                            }};
    case for_each_map_elem_helper: {
        const Value& map = state.reg(1);
        for (uint32_t index : maps_of(map)) {
            if (walkable(object_.maps[index].type)) continue;
            report(state, ErrorCode::HelperArgument, pc,
                   fmt::format("bpf_for_each_map_elem cannot walk the {} map '{}' (the kernel: callback function "
                               "not allowed for map)",
                               ir::map_type_name(object_.maps[index].type), object_.maps[index].name),
                   {1});
            return std::nullopt;
        }
        // callback(map, key, value, ctx), any number of times; 1 stops the walk.
        return CallbackCall{helper.name, [this](const AbstractState& caller, Frame& callee) {
                                const Value& map = caller.reg(1);
                                element_arguments(object_, map.region, map.maps, callee);
                                callee.registers[4] = caller.reg(3);
                            }};
    }
    case timer_set_callback_helper: {
        if (!timer_map) return std::nullopt;
        // callback(map, key, value) of the timer's element, later; it must return 0.
        const uint32_t map = *timer_map;
        return CallbackCall{helper.name,
                            [this, map](const AbstractState&, Frame& callee) {
                                element_arguments(object_, map, 0, callee);
                            },
                            0, true};
    }
    default:
        report(state, ErrorCode::UnmodelledHelper, pc,
               fmt::format("the callback of {}#{} is called with arguments this analyzer does not model", helper.name,
                           helper.id),
               {});
        return std::nullopt;
    }
}

// The state after the call is the join of the states after 0, 1, 2, ...
// runs, computed to a fixpoint (joins for a few rounds, then widening). Each
// run gets a frame of its own with the arguments of `call`; the callback may
// write through them (a ctx pointing into the caller's stack). An async
// callback runs once from the state at the call, and the caller goes on as before.
bool Engine::execute_callback(uint32_t pc, AbstractState& state, uint32_t callback, const CallbackCall& call) {
    if (state.frame_count() >= size_t(max_call_frames)) {
        report(state, ErrorCode::StackDepth, pc, fmt::format("the call chain is deeper than {} frames", max_call_frames),
               {});
        return false;
    }
    // Joins first, then widening to the program's constants, then to the extremes.
    constexpr int joined_rounds = 4, widened_rounds = 4, max_rounds = 32;
    const uint32_t frame_index = uint32_t(state.frame_count());
    const std::string& name = program_.functions[callback].name;
    AbstractState after = state;  // no run at all
    for (int round = 0;; ++round) {
        if (round == max_rounds) {
            report(state, ErrorCode::BudgetExceeded, pc,
                   fmt::format("the state after the runs of callback {} did not settle in {} rounds", name, max_rounds),
                   {});
            return false;
        }
        AbstractState entry = after;
        Frame frame;
        frame.function = callback;
        frame.callsite = pc;
        call.arguments(entry, frame);
        frame.registers[10] = Value::make_pointer(PointerKind::Stack, frame_index, Scalar::constant(0));
        entry.push_frame(std::move(frame));
        if (!check_stack_depth(pc, entry)) {
            state = AbstractState::bottom();
            return false;
        }
        AbstractState exit = analyze_function(callback, entry);
        if (exit.is_bottom()) break;  // no run comes back: only the states before
        const Value& result = exit.reg(0);
        if (!result.is_scalar() || result.number.umax() > call.max_return) {
            report(state, ErrorCode::ReturnValue, pc,
                   fmt::format("callback {} of {} must return a number in [0, {}], but r0 is {}", name, call.helper,
                               call.max_return, describe_value(result, &object_)),
                   {});
            return false;
        }
        if (call.async) {
            // It runs on its own: what it takes, it gives back before it returns.
            if (exit.lock() && !state.lock()) {
                report(state, ErrorCode::SpinLock, pc,
                       fmt::format("callback {} of {} may return holding the bpf_spin_lock taken at instruction {}",
                                   name, call.helper, exit.lock()->pc),
                       {});
                return false;
            }
            for (const Reference& held : exit.references()) {
                if (state.holds_reference(held.id)) continue;
                report(state, ErrorCode::UnreleasedReference, pc,
                       fmt::format("callback {} of {} may return holding the reference taken at instruction {} (id "
                                   "{}); release it on every path",
                                   name, call.helper, held.pc, held.id),
                       {});
                return false;
            }
            return true;
        }
        exit.pop_frame();
        exit.for_each_value([&](Value& v) {  // pointers into the finished frame are dangling
            if (v.is_pointer(PointerKind::Stack) && v.region >= frame_index) v = Value::unknown_scalar();
        });
        AbstractState next = after.join(exit);
        if (next.leq(after)) break;
        after = round < joined_rounds                    ? next
                : round < joined_rounds + widened_rounds ? after.widen(next, thresholds_)
                                                         : after.widen(next, extremes_);
    }
    state = std::move(after);
    return true;
}

}  // namespace bpfvet::analyzer::detail
