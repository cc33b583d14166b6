// Iteration over each function's weak topological order. Straight-line parts
// and branches are visited once, merging states where paths meet. Loops are
// unrolled, as the kernel does: each pass through a loop starts from the state
// the previous pass left at its back edges, and the loop is done when no path
// comes back. That proves termination directly (the bound is the number of
// passes); a pass that returns to the loop head in exactly the state it started
// from can repeat forever and is rejected as unbounded, and a loop that keeps
// changing without exiting runs into the step budget.
#include "analyzer/engine.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

struct Engine::FunctionRun {
    const ir::FunctionCfg& cfg;
    AbstractState entry;
    AbstractState exits = AbstractState::bottom();
    // States on the edges leaving each block, keyed by (block, edge kind).
    std::map<std::pair<ir::BlockId, ir::EdgeKind>, EdgeState> edges;
};

namespace {

bool same_shape(const Value& a, const Value& b) {
    if (a.kind != b.kind) return false;
    if (!a.is_pointer()) return true;
    if (a.pointer != b.pointer || a.region != b.region || a.maps != b.maps || a.maybe_null != b.maybe_null)
        return false;
    // Packet pointers at different offsets stay apart: a later check against
    // data_end proves bytes for the offset of its own path only.
    return a.pointer != PointerKind::Packet || same_scalar(a.number, b.number);
}

bool same_shape(const AbstractState& a, const AbstractState& b) {
    if (a.frame_count() != b.frame_count()) return false;
    if (a.meta_range() != b.meta_range()) return false;
    for (size_t f = 0; f < a.frame_count(); ++f) {
        const Frame& fa = a.frame(f);
        const Frame& fb = b.frame(f);
        for (size_t r = 0; r < fa.registers.size(); ++r)
            if (!same_shape(fa.registers[r], fb.registers[r])) return false;
        // Spilled pointers must agree; spilled numbers may differ (or be missing
        // on one side) without keeping the paths apart.
        auto pointer_spills = [](const Frame& frame) {
            std::vector<const Spill*> out;
            for (const auto& spill : frame.spills)
                if (!spill.value.is_scalar()) out.push_back(&spill);
            return out;
        };
        auto pa = pointer_spills(fa), pb = pointer_spills(fb);
        if (pa.size() != pb.size()) return false;
        for (size_t i = 0; i < pa.size(); ++i) {
            if (pa[i]->offset != pb[i]->offset || pa[i]->width != pb[i]->width || !same_shape(pa[i]->value, pb[i]->value))
                return false;
        }
    }
    return a.same_packet_ranges(b);
}

// How many registers of the innermost frame agree in shape.
int similarity(const AbstractState& a, const AbstractState& b) {
    if (a.frame_count() != b.frame_count()) return -1;
    int score = a.same_packet_ranges(b) ? 4 : 0;
    for (int r = 0; r < 11; ++r) score += same_shape(a.reg(r), b.reg(r)) ? 1 : 0;
    return score;
}

void mark_members(const ir::WtoElement& element, std::vector<bool>& members) {
    members[element.block] = true;
    for (const auto& inner : element.body) mark_members(inner, members);
}

}  // namespace

void StateSet::add(const AbstractState& state, size_t limit) {
    if (state.is_bottom()) return;
    for (auto& existing : states_) {
        if (same_shape(existing, state)) {
            existing = existing.join(state);
            return;
        }
    }
    if (states_.size() < std::max<size_t>(limit, 1)) {
        states_.push_back(state);
        return;
    }
    size_t best = 0;
    int best_score = -2;
    for (size_t i = 0; i < states_.size(); ++i) {
        int score = similarity(states_[i], state);
        if (score > best_score) best = i, best_score = score;
    }
    states_[best] = states_[best].join(state);
}

void StateSet::add_all(const StateSet& other, size_t limit) {
    for (const auto& state : other.states_) add(state, limit);
}

bool StateSet::equals(const StateSet& other) const {
    if (states_.size() != other.states_.size()) return false;
    for (size_t i = 0; i < states_.size(); ++i)
        if (!states_[i].equals(other.states_[i])) return false;
    return true;
}

AbstractState StateSet::joined() const {
    AbstractState out = AbstractState::bottom();
    for (const auto& state : states_) out = out.join(state);
    return out;
}

AbstractState Engine::analyze_function(uint32_t function, const AbstractState& entry) {
    FunctionRun run{cfg_.functions[function], entry, AbstractState::bottom(), {}};
    run_sequence(run, run.cfg.wto);
    return run.exits;
}

void Engine::add_edge(FunctionRun& run, ir::BlockId source, ir::EdgeKind kind, const AbstractState& state) {
    if (state.is_bottom()) return;
    ir::BlockId target = 0;
    bool found = false;
    for (auto [it, end] = boost::out_edges(source, run.cfg.graph); it != end; ++it) {
        if (run.cfg.graph[*it] == kind) {
            target = boost::target(*it, run.cfg.graph);
            found = true;
            break;
        }
    }
    if (!found) return;
    // Registers the target never reads are forgotten, so they do not keep
    // otherwise equal paths apart.
    AbstractState trimmed = state;
    const RegisterSet live = live_in_[run.cfg.function_index][target];
    for (int r = 0; r < 10; ++r)
        if (((live >> r) & 1) == 0) trimmed.reg(r) = Value::uninitialized();
    trimmed.forget_unused_packet_bases();
    auto key = std::make_pair(source, kind);
    auto existing = run.edges.find(key);
    if (existing == run.edges.end()) existing = run.edges.emplace(key, EdgeState{target, {}}).first;
    existing->second.states.add(trimmed, options_.max_disjuncts);
}

StateSet Engine::incoming(FunctionRun& run, ir::BlockId block, const std::vector<bool>* inside,
                          bool from_inside) {
    StateSet in;
    if (block == run.cfg.entry && !from_inside) in.add(run.entry, options_.max_disjuncts);
    for (auto [it, end] = boost::in_edges(block, run.cfg.graph); it != end; ++it) {
        ir::BlockId source = boost::source(*it, run.cfg.graph);
        if (inside != nullptr && (*inside)[source] != from_inside) continue;
        auto found = run.edges.find({source, run.cfg.graph[*it]});
        if (found != run.edges.end()) in.add_all(found->second.states, options_.max_disjuncts);
    }
    return in;
}

void Engine::run_sequence(FunctionRun& run, const std::vector<ir::WtoElement>& elements) {
    for (const auto& element : elements) {
        if (aborted_) return;
        if (element.is_component)
            run_component(run, element);
        else
            run_blocks(run, element.block, incoming(run, element.block, nullptr, false));
    }
}

void Engine::run_component(FunctionRun& run, const ir::WtoElement& component) {
    std::vector<bool> members(boost::num_vertices(run.cfg.graph), false);
    mark_members(component, members);
    uint32_t head_pc = run.cfg.graph[component.block].first;
    StateSet in = incoming(run, component.block, &members, false);
    loops_.emplace_back(head_pc, 0);
    while (!in.empty() && !aborted_) {
        // Edges inside the loop describe one pass; edges leaving it accumulate.
        std::erase_if(run.edges, [&](const auto& entry) {
            return members[entry.first.first] && members[entry.second.target];
        });
        run_blocks(run, component.block, in);
        run_sequence(run, component.body);
        if (aborted_) break;
        StateSet next = incoming(run, component.block, &members, true);
        if (next.empty()) break;
        if (next.equals(in)) {
            AbstractState copy = next.states().front();
            report(copy, ErrorCode::UnboundedLoop, head_pc,
                   fmt::format("the loop at instruction {} comes back to its start in the same state after pass {}, "
                               "so nothing bounds its number of iterations",
                               head_pc, loops_.back().second + 1),
                   {});
            break;
        }
        in = std::move(next);
        ++loops_.back().second;
    }
    // The loop's internal edges are not needed any more; keep memory small.
    std::erase_if(run.edges, [&](const auto& entry) {
        return members[entry.first.first] && members[entry.second.target];
    });
    loops_.pop_back();
}

void Engine::run_blocks(FunctionRun& run, ir::BlockId block, const StateSet& states) {
    for (const auto& state : states.states()) run_block(run, block, state);
}

void Engine::run_block(FunctionRun& run, ir::BlockId block, AbstractState state) {
    if (state.is_bottom() || aborted_) return;
    const ir::BasicBlock& bounds = run.cfg.graph[block];
    uint32_t pc = bounds.first;
    while (true) {
        if (budget_spent(pc, state)) return;
        if (options_.record_invariants) {
            auto [it, inserted] = invariants_.try_emplace(pc, state);
            if (!inserted) it->second = it->second.join(state);
        }
        const ir::Instruction& insn = program_.instructions[pc];
        if (pc == bounds.last) {
            if (insn.is_exit()) {
                check_exit(pc, state);
                if (!state.is_bottom()) run.exits = run.exits.join(state);
                return;
            }
            if (insn.is_goto()) {
                add_edge(run, block, ir::EdgeKind::Taken, state);
                return;
            }
            if (insn.is_conditional_jump()) {
                BranchStates out = branch(pc, state);
                add_edge(run, block, ir::EdgeKind::Taken, out.taken);
                add_edge(run, block, ir::EdgeKind::Fallthrough, out.fallthrough);
                return;
            }
            execute(pc, state);
            add_edge(run, block, ir::EdgeKind::Fallthrough, state);
            return;
        }
        execute(pc, state);
        if (state.is_bottom()) return;
        pc += insn.is_lddw() ? 2 : 1;
    }
}

}  // namespace bpfvet::analyzer::detail
