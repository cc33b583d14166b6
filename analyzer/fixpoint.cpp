// The fixpoint machinery over a function's weak topological order, used where
// the path-by-path exploration (explorer.cpp) hands over a long loop: passes
// through the loop from the states at its head, merging states where paths
// meet (a few differently shaped ones kept apart), widening to an invariant,
// and a termination proof (widen_loop). Loops nested in the one being widened
// are unrolled pass by pass the same way, then widened in turn.
#include "analyzer/engine.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

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
    if (a.branch_tags != b.branch_tags) return false;  // refinement's split branches
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
    // Paths holding different references stay apart: joined, a reference
    // released on one of them would look held on both.
    return a.same_packet_ranges(b) && a.references() == b.references() && a.lock() == b.lock() &&
           a.derived() == b.derived();
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
    uint64_t tags = states_[best].branch_tags | state.branch_tags;
    states_[best] = states_[best].join(state);
    states_[best].branch_tags = tags;
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
    uint64_t tags = 0;
    for (const auto& state : states_) out = out.join(state), tags |= state.branch_tags;
    out.branch_tags = tags;
    return out;
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
    if (!found) {
        // Every block end has its edges (the validator refused falling off a
        // function), so this is an analyzer bug; dropping the state here would
        // skip the code after it silently, as a wrong edge kind once did.
        AbstractState lost = state;
        report(lost, ErrorCode::InvalidInstruction, run.cfg.graph[source].last,
               "internal error: no control-flow edge to continue on; rejected rather than leaving the code after "
               "this instruction unanalysed",
               {});
        return;
    }
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

StateSet Engine::run_pass(FunctionRun& run, const ir::WtoElement& component, const std::vector<bool>& members,
                          const StateSet& in) {
    // Edges inside the loop describe one pass; edges leaving it accumulate.
    std::erase_if(run.edges, [&](const auto& entry) {
        return members[entry.first.first] && members[entry.second.target];
    });
    run_blocks(run, component.block, in);
    run_sequence(run, component.body);
    if (aborted_) return {};
    return incoming(run, component.block, &members, true);
}

void Engine::run_component(FunctionRun& run, const ir::WtoElement& component) {
    std::vector<bool> members(boost::num_vertices(run.cfg.graph), false);
    mark_members(component, members);
    uint32_t head_pc = run.cfg.graph[component.block].first;
    StateSet in = incoming(run, component.block, &members, false);
    // A loop with several entries (irreducible control flow): paths may enter
    // it at a block other than its head. The first pass then runs even with
    // nothing at the head, so that those entries are analysed; each pass takes
    // them again (incoming() reads every edge from outside the loop).
    auto entered_elsewhere = [&] {
        for (ir::BlockId block = 0; block < members.size(); ++block) {
            if (!members[block] || block == component.block) continue;
            for (auto [it, end] = boost::in_edges(block, run.cfg.graph); it != end; ++it) {
                ir::BlockId source = boost::source(*it, run.cfg.graph);
                if (members[source]) continue;
                auto found = run.edges.find({source, run.cfg.graph[*it]});
                if (found != run.edges.end() && !found->second.states.empty()) return true;
            }
        }
        return false;
    };
    loops_.push_back(LoopRun{head_pc, 0, {}});
    bool first = true;
    while ((!in.empty() || (first && entered_elsewhere())) && !aborted_) {
        first = false;
        if (loops_.back().passes == options_.max_unrolled_passes &&
            widen_loop(run, component, members, in.joined()))
            break;
        StateSet next = run_pass(run, component, members, in);
        if (aborted_ || next.empty()) break;
        if (next.equals(in)) {
            AbstractState copy = next.states().front();
            report(copy, ErrorCode::UnboundedLoop, head_pc,
                   fmt::format("the loop at instruction {} comes back to its start in the same state after pass {}, "
                               "so nothing bounds its number of iterations",
                               head_pc, loops_.back().passes + 1),
                   {});
            break;
        }
        in = std::move(next);
        ++loops_.back().passes;
    }
    // The loop's internal edges are not needed any more; keep memory small.
    std::erase_if(run.edges, [&](const auto& entry) {
        return members[entry.first.first] && members[entry.second.target];
    });
    loops_.pop_back();
}

namespace {

// Widening stops at the program's constants for the first rounds, then goes
// straight to the extremes (narrowing brings bounds back from there).
constexpr int threshold_rounds = 24;
constexpr int max_widening_rounds = 48;
constexpr int narrowing_rounds = 2;

StateSet single(const AbstractState& state) {
    StateSet set;
    set.add(state, 1);
    return set;
}

// A register (0..9) or a spilled slot of the loop's own frame.
struct Slot {
    int reg = -1;
    int16_t offset = 0;
    uint8_t width = 0;
};

const Value* value_at(const AbstractState& state, const Slot& slot) {
    if (slot.reg >= 0) return &state.reg(slot.reg);
    for (const auto& spill : state.current_frame().spills)
        if (spill.offset == slot.offset && spill.width == slot.width) return &spill.value;
    return nullptr;
}

std::string slot_name(const Slot& slot) {
    return slot.reg >= 0 ? fmt::format("r{}", slot.reg) : fmt::format("the stack slot fp{}", slot.offset);
}

// Gives every number and pointer of the loop's frame that no enclosing proof
// follows yet a fresh ghost tag with step 0 (see Value::origin).
void tag_values(AbstractState& state, uint32_t& next_origin) {
    auto tag = [&](Value& v) {
        if ((v.is_scalar() || v.is_pointer()) && v.origin == 0) {
            v.origin = next_origin++;
            v.step_min = v.step_max = 0;
        }
    };
    Frame& frame = state.current_frame();
    for (int r = 0; r < 10; ++r) tag(frame.registers[size_t(r)]);
    for (auto& spill : frame.spills) tag(spill.value);
}

// How the value in one slot moves from the head to every back edge.
struct Progress {
    bool followed = false;  // same origin on every back edge, with a known step at the head
    int64_t change_min = 0, change_max = 0;
    // How far apart the values the slot takes at the head lie, in the order the
    // steps are counted in (unsigned for numbers, signed for pointer offsets).
    unsigned __int128 span = 0;
};

Progress progress_of(const Value& at_head, const Slot& slot, const StateSet& back) {
    Progress p;
    if (at_head.origin == 0 || at_head.step_min != at_head.step_max) return p;
    bool first = true;
    for (const auto& state : back.states()) {
        const Value* v = value_at(state, slot);
        if (v == nullptr || v->origin != at_head.origin || v->kind != at_head.kind) return p;
        if (v->is_pointer() && (v->pointer != at_head.pointer || v->region != at_head.region)) return p;
        int64_t lo = int64_t(v->step_min) - at_head.step_min, hi = int64_t(v->step_max) - at_head.step_min;
        p.change_min = first ? lo : std::min(p.change_min, lo);
        p.change_max = first ? hi : std::max(p.change_max, hi);
        first = false;
    }
    p.followed = true;
    const Scalar& n = at_head.number;
    p.span = at_head.is_scalar() ? (unsigned __int128)(n.umax() - n.umin())
                                 : (unsigned __int128)((__int128)n.smax() - (__int128)n.smin());
    return p;
}

}  // namespace

// Widening is a shortcut for long loops, never a loss: the search for an
// invariant and the checking pass run silently; only when the checking pass
// finds no error and the termination proof holds is the loop finished from
// that invariant (one more pass, reporting and recording). Otherwise the
// caller goes on unrolling, as the kernel does, and the proof's failure is
// kept for the message if the budget runs out.
bool Engine::widen_loop(FunctionRun& run, const ir::WtoElement& component, const std::vector<bool>& members,
                        const AbstractState& start) {
    const uint32_t head_pc = run.cfg.graph[component.block].first;
    const auto saved_edges = run.edges;
    const AbstractState saved_exits = run.exits;
    const bool was_silent = silent_;
    const uint64_t errors_before = silent_errors_;
    silent_ = true;
    auto give_up = [&](std::string why) {
        silent_ = was_silent;
        silent_errors_ = errors_before;
        if (aborted_) return false;
        run.edges = saved_edges;
        run.exits = saved_exits;
        loops_.back().widening_failure = std::move(why);
        return false;
    };
    AbstractState head = start;
    bool stable = false;
    for (int round = 0; round < max_widening_rounds && !aborted_ && !stable; ++round) {
        AbstractState next = run_pass(run, component, members, single(head)).joined();
        // Through the join: a packet pointer the body moves (p = base + 2 after
        // the pass, base + 0 at the head) fits the head only once re-based (state.cpp).
        stable = head.join(next).leq(head);
        if (!stable) head = head.widen(next, round < threshold_rounds ? thresholds_ : extremes_);
    }
    if (!stable) return give_up("widening found no invariant for it");
    for (int round = 0; round < narrowing_rounds && !aborted_; ++round) {
        AbstractState next = run_pass(run, component, members, single(head)).joined();
        head = head.narrow(start.join(next));
    }
    // The checking pass: from the invariant, nothing may fail and every path
    // back must stay inside it.
    AbstractState tagged = head;
    tag_values(tagged, next_origin_);
    const uint64_t errors_at_check = silent_errors_;
    const uint64_t before = steps_ + charged_steps_;
    StateSet back = run_pass(run, component, members, single(tagged));
    const uint64_t pass_cost = std::max<uint64_t>(steps_ + charged_steps_ - before, 1);
    if (aborted_) return give_up("");
    if (silent_errors_ != errors_at_check)
        return give_up("from the widened state at its head, the body could not be proven safe");
    if (!head.join(back.joined()).leq(head)) return give_up("the widened state at its head is not an invariant");
    Termination proof = prove_termination(tagged, back);
    if (!proof.proven) return give_up(proof.reason);

    silent_ = was_silent;
    silent_errors_ = errors_before;
    run.edges = saved_edges;
    run.exits = saved_exits;
    (void)run_pass(run, component, members, single(tagged));
    if (aborted_) return true;
    // The kernel explores every iteration: count what it would spend.
    const unsigned __int128 cost = (unsigned __int128)proof.iterations * pass_cost;
    charged_steps_ = cost > options_.max_steps ? options_.max_steps + 1 : charged_steps_ + uint64_t(cost);
    if (steps_ + charged_steps_ > options_.max_steps) {
        AbstractState copy = head;
        silent_ = false;
        report(copy, ErrorCode::BudgetExceeded, head_pc,
               fmt::format("the loop at instruction {} runs up to {} more times ({}) at about {} steps each: more "
                           "than the {} instruction steps the kernel explores",
                           head_pc, proof.iterations, proof.reason, pass_cost, options_.max_steps),
               {});
        silent_ = was_silent;
        aborted_ = true;
    }
    return true;
}

// A widened loop terminates when some register or stack slot moves the same
// way by at least a constant on every path back to the head, without wrapping
// around, and takes a bounded set of values at the head: then the loop runs at
// most span / step + 1 more times. Example: `for (i = 0; i < n; i++)` with n
// clamped to 1000: i is in [64, 1000] at the head after 64 unrolled passes and
// grows by 1, so at most 937 more iterations; with n unbounded, i may be
// anything up to 2^32 - 1 at the head: not proven.
Engine::Termination Engine::prove_termination(const AbstractState& head, const StateSet& back) const {
    if (back.empty()) return {true, 0, "no path comes back"};
    std::vector<Slot> slots;
    for (int r = 0; r < 10; ++r) slots.push_back(Slot{r, 0, 0});
    for (const auto& spill : head.current_frame().spills) slots.push_back(Slot{-1, spill.offset, spill.width});
    const unsigned __int128 limit = options_.max_steps;
    std::optional<std::pair<Slot, unsigned __int128>> best;  // the fewest iterations
    std::optional<std::pair<Slot, Progress>> unbounded;      // moves one way but is not bounded
    for (const Slot& slot : slots) {
        const Value* at_head = value_at(head, slot);
        if (at_head == nullptr) continue;
        Progress p = progress_of(*at_head, slot, back);
        if (!p.followed) continue;
        int64_t step = p.change_min > 0 ? p.change_min : p.change_max < 0 ? -p.change_max : 0;
        if (step == 0) continue;
        unsigned __int128 iterations = p.span / (unsigned __int128)step + 1;
        if (iterations > limit) {
            if (!unbounded) unbounded = std::pair(slot, p);
            continue;
        }
        if (!best || iterations < best->second) best = std::pair(slot, iterations);
    }
    if (best) {
        const Value* v = value_at(head, best->first);
        return {true, uint64_t(best->second),
                fmt::format("{} is in {} at the loop head and moves one way each iteration", slot_name(best->first),
                            v->number.to_compact_string())};
    }
    if (unbounded) {
        const Value* v = value_at(head, unbounded->first);
        const bool grows = unbounded->second.change_min > 0;
        return {false, 0,
                fmt::format("{} {} by {} each iteration, but may be {} at the loop head, so nothing bounds the "
                            "number of iterations",
                            slot_name(unbounded->first), grows ? "grows" : "shrinks",
                            grows ? unbounded->second.change_min : -unbounded->second.change_max,
                            v->number.to_compact_string())};
    }
    return {false, 0,
            "no register or stack slot moves by a constant amount on every path back to the loop head, so nothing "
            "counts its iterations"};
}

// Refinement's split branches: the outcome replaces the branch's two tag bits,
// e.g. split_branches {7, 12}, taken at 12: tags = (tags & ~0b1100) | 0b0100.
void Engine::tag_split_branch(uint32_t pc, BranchStates& out) const {
    const auto& splits = options_.split_branches;
    auto found = std::find(splits.begin(), splits.end(), pc);
    if (found == splits.end() || found - splits.begin() >= 32) return;
    unsigned shift = unsigned(found - splits.begin()) * 2;
    uint64_t clear = ~(uint64_t(3) << shift);
    out.taken.branch_tags = (out.taken.branch_tags & clear) | uint64_t(1) << shift;
    out.fallthrough.branch_tags = (out.fallthrough.branch_tags & clear) | uint64_t(2) << shift;
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
        if (tracer_ && !silent_ && tracer_->wants(pc)) tracer_->visit_joined(pc, state);
        if (options_.record_invariants && !silent_) {
            auto [it, inserted] = invariants_.try_emplace(pc, state);
            if (!inserted) it->second = it->second.join(state);
        }
        if (reject_if_defective(pc, state)) return;
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
                tag_split_branch(pc, out);
                add_edge(run, block, ir::EdgeKind::Taken, out.taken);
                add_edge(run, block, ir::EdgeKind::Fallthrough, out.fallthrough);
                return;
            }
            execute(pc, state);
            // A local call ends its block: the callee's exit state continues on the CallReturn edge.
            add_edge(run, block, insn.is_local_call() ? ir::EdgeKind::CallReturn : ir::EdgeKind::Fallthrough, state);
            return;
        }
        execute(pc, state);
        if (state.is_bottom()) return;
        pc += insn.is_lddw() ? 2 : 1;
    }
}

}  // namespace bpfvet::analyzer::detail
