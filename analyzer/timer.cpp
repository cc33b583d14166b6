// bpf_timer_init / set_callback / start / cancel (the kernel's
// process_timer_func): the timer is the struct bpf_timer that the map
// value's BTF places at the pointer's exact offset. bpf_timer_init's map must
// be the one holding it (checked with the map argument), and the callback is
// analysed as the async callback the kernel verifies (callbacks.cpp).
#include "analyzer/engine.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

std::optional<uint32_t> Engine::check_timer_argument(uint32_t pc, AbstractState& state,
                                                     const HelperPrototype& helper, int reg) {
    if (!check_special_field(pc, state, helper, reg, ir::SpecialField::Kind::Timer, ErrorCode::HelperArgument))
        return std::nullopt;
    const Value& arg = state.reg(reg);
    if (arg.maps != 0) {
        // The kernel tells the maps apart on separate paths; joined, which map
        // the callback walks and bpf_timer_init names is unknown.
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("r{} is a timer in a value of one of several maps ({}); which one must be known",
                           reg, describe_value(arg, &object_)),
               {reg});
        return std::nullopt;
    }
    return arg.region;
}

}  // namespace bpfvet::analyzer::detail
