#include "analyzer/explorer.hpp"

#include "analyzer/engine.hpp"
#include "analyzer/pruning.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

namespace {

// The kernel drops a stored state that keeps failing to prune (miss_cnt >
// hit_cnt * 3 + 3): it only costs comparisons.
bool unhelpful(uint32_t hits, uint32_t misses) { return misses > hits * 3 + 3; }

// A structural hash of a state: equal states (as stored, same representation)
// hash the same; used only to find candidates for AbstractState::equals.
uint64_t fingerprint_of(const AbstractState& state, uint32_t pc) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ pc;
    auto mix = [&](uint64_t v) { h = (h ^ v) * 0x100000001b3ull; h ^= h >> 29; };
    auto value = [&](const Value& v) {
        mix(uint64_t(v.kind) | uint64_t(v.pointer) << 8 | uint64_t(v.maybe_null) << 16 | uint64_t(v.region) << 32);
        mix(uint64_t(v.id) | uint64_t(uint32_t(v.delta)) << 32);
        if (v.is_scalar() || v.is_pointer()) {
            mix(v.number.umin());
            mix(v.number.umax());
            mix(uint64_t(v.number.smin()));
            mix(uint64_t(v.number.smax()));
            mix(v.number.tnum().mask());
            mix(v.number.tnum().value());
        }
    };
    for (size_t f = 0; f < state.frame_count(); ++f) {
        const Frame& frame = state.frame(f);
        mix(frame.function | uint64_t(frame.callsite) << 32);
        for (const Value& v : frame.registers) value(v);
        for (const Spill& spill : frame.spills) {
            mix(uint64_t(uint16_t(spill.offset)) | uint64_t(spill.width) << 16);
            value(spill.value);
        }
        for (const StackObject& object : frame.objects)  // depth left out: equals decides
            mix(uint64_t(uint16_t(object.offset)) | uint64_t(object.state) << 16 | uint64_t(object.id) << 32);
    }
    for (const PacketBase& base : state.packet_bases()) mix(base.id ^ uint64_t(base.range) << 32);
    // Finalize (splitmix64's mixer): the table picks buckets by the low bits,
    // which the multiplications above leave poorly mixed, and a loop that only
    // moves a counter would otherwise pile all its states into a few buckets.
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

// Whether r1 (the argument of the iterator `next` about to run) points to an
// iterator that may still give elements.
bool iterator_active(const AbstractState& state) {
    const Value& r1 = state.reg(1);
    const auto offset = r1.number.constant_value();
    if (!r1.is_pointer(PointerKind::Stack) || !offset || r1.region >= state.frame_count()) return false;
    for (const StackObject& object : state.frame(r1.region).objects)
        if (object.offset == int64_t(*offset) && object.kind == StackObjectKind::Iterator)
            return object.state == IteratorState::Active;
    return false;
}

bool calls_back(const ir::Instruction& insn) {
    const HelperPrototype* helper = helper_prototype(insn.imm);
    return helper != nullptr &&
           std::find(helper->arguments.begin(), helper->arguments.end(), ArgumentKind::Callback) != helper->arguments.end();
}

}  // namespace

AbstractState Engine::analyze_function(uint32_t function, const AbstractState& entry) {
    Explorer explorer(*this, entry.frame_count());
    return explorer.run(program_.functions[function].start, entry);
}

Explorer::Explorer(Engine& engine, size_t base_frames)
    : engine_(engine),
      base_frames_(base_frames),
      explored_(engine.program_.instructions.size()),
      in_progress_at_(engine.program_.instructions.size(), 0) {}

AbstractState Explorer::run(uint32_t pc, const AbstractState& entry) {
    // The root stands for everything before this exploration; it is never compared with.
    Checkpoint& root = checkpoints_.emplace_back();
    root.pc = pc;
    Path first;
    first.pc = pc;
    first.state = entry;
    first.parent = &root;
    stack_.push_back(std::move(first));
    // Explorations nest (global functions, callbacks): errors take the innermost path.
    const Explorer* outer = engine_.explorer_;
    engine_.explorer_ = this;
    while (!stack_.empty() && !engine_.aborted_) {
        Path path = std::move(stack_.back());
        stack_.pop_back();
        running_ = &path;
        run_path(path);
        running_ = nullptr;
    }
    engine_.explorer_ = outer;
    return returns_;
}

std::vector<PathStep> Explorer::failing_path(uint32_t pc) const {
    std::vector<PathStep> steps;
    if (running_ == nullptr) return steps;
    std::vector<const Segment*> segments{&running_->segment};
    for (const Checkpoint* c = running_->parent; c != nullptr; c = c->parent) segments.push_back(&c->segment);
    for (auto segment = segments.rbegin(); segment != segments.rend(); ++segment)
        for (const Step& step : (*segment)->steps) steps.push_back(PathStep{step.pc, step.frame, step.opaque, step.stack_frame != Step::NoStack});
    const size_t frames = running_->state.frame_count();
    steps.push_back(PathStep{pc, uint8_t(frames > 0 ? frames - 1 : steps.empty() ? 0 : steps.back().frame), false, false});
    return steps;
}

AbstractState Explorer::trimmed(const AbstractState& state, uint32_t pc) const {
    AbstractState out = state;
    const size_t frames = out.frame_count();
    for (size_t f = 0; f < frames; ++f) {
        // The innermost frame runs pc; a caller's registers matter from its return point on, where r0..r5 are new.
        const RegisterSet live = f + 1 == frames ? engine_.live_before_[pc]
                                                 : RegisterSet(engine_.live_before_[out.frame(f + 1).callsite + 1] &
                                                               0b1111000000);
        Frame& frame = out.frame(f);
        for (int r = 0; r < 10; ++r)
            if (((live >> r) & 1) == 0) frame.registers[size_t(r)] = Value::uninitialized();
    }
    out.forget_unused_packet_bases();
    return out;
}

Step Explorer::step_of(const Path& path, const ir::Instruction& insn) const {
    Step step;
    step.pc = path.pc;
    step.frame = uint8_t(path.state.frame_count() - 1);
    // Spills and fills: a value carried through a stack slot, which
    // backtracking follows. Any other stack access (a read of bytes no spill
    // describes, a narrow store that leaves only bytes) carries no value: the
    // read gives an unknown number, and nothing reads the stored value back.
    const bool load = insn.cls() == ir::InstructionClass::Ldx;
    const bool store = insn.cls() == ir::InstructionClass::St || insn.cls() == ir::InstructionClass::Stx;
    const int address = load ? insn.src : store ? insn.dst : -1;
    if (address < 0 || address >= 11) return step;
    const Value& pointer = path.state.reg(address);
    if (!pointer.is_pointer(PointerKind::Stack) || pointer.region >= path.state.frame_count()) return step;
    const auto offset = pointer.number.constant_value();
    if (!offset) return step;
    const int64_t at = int64_t(*offset) + insn.offset;
    const int width = insn.access_width();
    if (at < -StackBytes || at + width > 0) return step;
    bool carries_value = true;
    if (load) {
        const auto& spills = path.state.frame(pointer.region).spills;
        carries_value = std::any_of(spills.begin(), spills.end(),
                                    [&](const Spill& s) { return s.offset == at && s.width == width; });
    } else if (insn.mem_mode() != ir::MemMode::Atomic && width != 8) {
        // As access_memory: a narrow spill keeps a number at the start of a slot, or a zero anywhere.
        const Value stored = insn.cls() == ir::InstructionClass::St ? Value::constant(uint64_t(int64_t(insn.imm)))
                                                                    : path.state.reg(insn.src);
        carries_value = stored.is_scalar() && (at % 8 == 0 || stored.is_constant(0));
    }
    if (carries_value) {
        step.stack_frame = uint8_t(pointer.region);
        step.stack_offset = int16_t(at);
    }
    return step;
}

void Explorer::record_links(Path& path, Step& step, const ir::Instruction& insn) const {
    // Copies of a compared number (same id) are refined with it: if backtracking
    // later needs one of them, it needs the comparison's operands too.
    std::vector<uint32_t> ids;
    const Value& left = path.state.reg(insn.dst);
    if (left.is_scalar() && left.id != 0) ids.push_back(left.id);
    if (insn.source() == ir::Source::Reg) {
        const Value& right = path.state.reg(insn.src);
        if (right.is_scalar() && right.id != 0) ids.push_back(right.id);
    }
    if (ids.empty()) return;
    Marks linked;
    for (size_t f = 0; f < path.state.frame_count() && f < linked.frames.size(); ++f) {
        const Frame& frame = path.state.frame(f);
        for (int r = 0; r < 11; ++r)
            if (std::find(ids.begin(), ids.end(), frame.registers[size_t(r)].id) != ids.end() &&
                frame.registers[size_t(r)].is_scalar())
                linked.add_register(f, r);
        for (const Spill& spill : frame.spills)
            if (spill.value.is_scalar() && std::find(ids.begin(), ids.end(), spill.value.id) != ids.end())
                linked.frames[f].slots |= Marks::slots_of(spill.offset, spill.width);
    }
    const size_t f = path.state.frame_count() - 1;
    linked.add_register(f, insn.dst);
    if (insn.source() == ir::Source::Reg) linked.add_register(f, insn.src);
    path.segment.links.push_back(linked);
    step.links = uint32_t(path.segment.links.size());
}

// The numbers an instruction's checks depend on, before it runs: an offset
// added to a pointer, a helper's sizes and flags, a call's arguments checked
// against a signature, r0 leaving the explored function, a scalar compared
// with a pointer (a null check against a register holding 0).
Marks Explorer::precision_uses(const Path& path, const ir::Instruction& insn) const {
    Marks needed;
    const size_t f = path.state.frame_count() - 1;
    auto scalar = [&](int r) { return r >= 0 && r < 11 && path.state.reg(r).is_scalar(); };
    auto initialized_non_scalar = [&](int r) {
        return r >= 0 && r < 11 && !path.state.reg(r).is_uninitialized() && !path.state.reg(r).is_scalar();
    };
    switch (insn.cls()) {
    case ir::InstructionClass::Alu:
    case ir::InstructionClass::Alu64:
        if (insn.source() == ir::Source::Reg && insn.alu_op() != ir::AluOp::Mov) {
            if (scalar(insn.src) && initialized_non_scalar(insn.dst)) needed.add_register(f, insn.src);
            if (scalar(insn.dst) && initialized_non_scalar(insn.src)) needed.add_register(f, insn.dst);
        }
        break;
    case ir::InstructionClass::Ld:
        if (!insn.is_lddw() && insn.mem_mode() == ir::MemMode::Ind && scalar(insn.src))
            needed.add_register(f, insn.src);
        break;
    case ir::InstructionClass::Jmp:
    case ir::InstructionClass::Jmp32:
        if (insn.is_helper_call()) {
            const HelperPrototype* helper = helper_prototype(insn.imm);
            // A callback runs in an exploration of its own, which may read any of the caller's values.
            if (helper != nullptr && std::find(helper->arguments.begin(), helper->arguments.end(),
                                               ArgumentKind::Callback) != helper->arguments.end())
                return Marks::all(path.state.frame_count());
            // The key of an array lookup: its value decides whether the lookup can fail.
            const Value& map = path.state.reg(1);
            if (helper != nullptr && helper->returns == ReturnKind::MapValueOrNull && map.is_pointer(PointerKind::MapPointer) &&
                map.maps == 0 && map.region < engine_.object_.maps.size()) {
                if (auto slot = constant_key_slot(path.state, engine_.object_.maps[map.region]))
                    needed.frames[size_t(slot->second)].slots |= Marks::slots_of(slot->first, 4);
            }
            for (int r = 1; r <= 5; ++r) {
                // Sizes, constants, NULL where memory may be absent: the value is checked. Not "anything",
                // nor the registers past the prototype.
                const ArgumentKind kind = helper != nullptr ? helper->arguments[size_t(r - 1)] : ArgumentKind::Size;
                if (scalar(r) && kind != ArgumentKind::Anything && kind != ArgumentKind::None)
                    needed.add_register(f, r);
            }
        } else if (insn.is_call() && !insn.is_local_call()) {
            for (int r = 1; r <= 5; ++r)
                if (scalar(r)) needed.add_register(f, r);
        } else if (insn.is_exit()) {
            if (path.state.frame_count() == base_frames_ && scalar(0)) needed.add_register(f, 0);
        } else if (insn.is_conditional_jump() && insn.source() == ir::Source::Reg) {
            if (scalar(insn.src) && initialized_non_scalar(insn.dst)) needed.add_register(f, insn.src);
            if (scalar(insn.dst) && initialized_non_scalar(insn.src)) needed.add_register(f, insn.dst);
        }
        break;
    default: break;
    }
    return needed;
}

void Explorer::run_path(Path& path) {
    const ir::Program& program = engine_.program_;
    while (true) {
        const uint32_t pc = path.pc;
        if (pc >= program.instructions.size()) {
            engine_.report(path.state, ErrorCode::InvalidInstruction, pc, "the path runs past the last instruction",
                           {});
            finish(path);
            return;
        }
        if (engine_.budget_spent(pc, path.state)) {
            finish(path);
            return;
        }
        ++instructions_;
        Tracer* tracer = engine_.tracer_ && !engine_.silent_ && engine_.tracer_->wants(pc) ? engine_.tracer_.get() : nullptr;
        if (tracer != nullptr) tracer->visit(pc, path.state, tracer->keeps_next(pc) ? failing_path(pc) : std::vector<PathStep>{});
        if (engine_.prune_points_[pc]) {
            if (engine_.loop_heads_.contains(pc) && arrive_at_loop_head(path)) {
                if (tracer != nullptr) tracer->ended(VisitEnd::Widened);
                return;
            }
            const Checkpoint* stored_before = path.parent;
            last_cover_ = nullptr;
            if (!visit(path)) {
                if (tracer != nullptr && last_cover_ != nullptr) tracer->pruned_by(last_cover_, last_cover_->state);
                else if (tracer != nullptr) tracer->ended(VisitEnd::Stopped);
                return;
            }
            if (tracer != nullptr && path.parent != stored_before) tracer->stored_as(path.parent);
        }
        if (engine_.options_.record_invariants && !engine_.silent_) {
            auto [it, inserted] = engine_.invariants_.try_emplace(pc, path.state);
            if (!inserted) it->second = it->second.join(path.state);
        }
        if (engine_.reject_if_defective(pc, path.state)) {
            finish(path);
            return;
        }
        const ir::Instruction& insn = program.instructions[pc];
        engine_.stack_accesses_.clear();
        Step step = step_of(path, insn);
        if (insn.is_jmp()) ++jumps_;  // calls and exits count, as in the kernel's jmps_processed
        const Marks uses = precision_uses(path, insn);
        if (!uses.empty()) mark_precise(path, uses);

        if (insn.is_exit()) {
            if (!return_or_exit(path)) return;
            continue;
        }
        if (insn.is_goto()) {
            path.segment.steps.push_back(step);
            path.previous_pc = pc;
            path.pc = uint32_t(int64_t(pc) + insn.jump_offset() + 1);
            continue;
        }
        if (insn.is_may_goto()) {
            take_may_goto(path, step);
            continue;
        }
        if (insn.is_conditional_jump()) {
            record_links(path, step, insn);
            const AbstractState& before = path.state;  // unchanged until the path moves on below
            BranchStates out = engine_.branch(pc, before);
            path.segment.steps.push_back(step);
            const bool taken = !out.taken.is_bottom(), fallthrough = !out.fallthrough.is_bottom();
            if (taken != fallthrough) {
                // The values decided which way the path goes: they must be covered exactly.
                Marks decided;
                const size_t f = before.frame_count() - 1;
                if (before.reg(insn.dst).is_scalar()) decided.add_register(f, insn.dst);
                if (insn.source() == ir::Source::Reg && before.reg(insn.src).is_scalar())
                    decided.add_register(f, insn.src);
                if (!decided.empty()) mark_precise(path, decided);
            }
            const uint32_t target = uint32_t(int64_t(pc) + insn.jump_offset() + 1);
            path.previous_pc = pc;
            if (taken && fallthrough) {
                ++engine_.splits_[pc];
                push_branch(path, target, std::move(out.taken));
                path.state = std::move(out.fallthrough);
                path.pc = pc + 1;
            } else if (taken) {
                path.state = std::move(out.taken);
                path.pc = target;
            } else if (fallthrough) {
                path.state = std::move(out.fallthrough);
                path.pc = pc + 1;
            } else {
                finish(path);
                return;
            }
            continue;
        }
        if (insn.is_local_call() && !engine_.summarize_call(pc)) {
            std::optional<uint32_t> callee = engine_.enter_call(pc, insn, path.state);
            if (!callee) {
                finish(path);
                return;
            }
            // A new frame: nothing in it was there before.
            path.written.frames[path.state.frame_count() - 1].slots = ~uint64_t(0);
            path.segment.steps.push_back(step);
            path.previous_pc = UINT32_MAX;  // a new frame
            path.pc = program.functions[*callee].start;
            continue;
        }
        engine_.iterator_next_.reset();
        engine_.execute(pc, path.state);
        if (path.state.is_bottom()) {
            finish(path);
            return;
        }
        if (!(insn.is_helper_call() && calls_back(insn))) {
            note_stack_accesses(path);
        } else {
            // The callback ran in an exploration of its own and may have read any of these frames.
            Marks everything;
            for (size_t f = 0; f < path.state.frame_count(); ++f) everything.frames[f].slots = ~uint64_t(0);
            mark_read(path, everything);
        }
        path.segment.steps.push_back(step);
        if (engine_.iterator_next_) take_iterator_next(path, *engine_.iterator_next_);
        if (insn.cls() == ir::InstructionClass::Ld && !insn.is_lddw()) leave_after_failed_packet_load(path);
        path.previous_pc = pc;
        path.pc = pc + (insn.is_lddw() ? 2 : 1);
    }
}

// A legacy packet load outside the packet leaves the current function with
// r0 = 0 (the kernel's check_ld_abs): in a subprogram the caller goes on
// from the call with r0 = 0, a path of its own.
void Explorer::leave_after_failed_packet_load(Path& path) {
    AbstractState failed = path.state;
    failed.reg(0) = Value::constant(0);
    if (failed.frame_count() > base_frames_) {
        std::optional<uint32_t> back = engine_.return_from_call(path.pc, failed);
        if (!back) return;
        push_branch(path, *back, std::move(failed));
        stack_.back().previous_pc = *back - 1;
    } else if (base_frames_ > 1) {
        returns_ = returns_.join(failed);
    }
    // In the exploration's own entry function it is an exit with r0 = 0,
    // which every return-value range allows.
}

bool Explorer::return_or_exit(Path& path) {
    const uint32_t pc = path.pc;
    Step step = step_of(path, engine_.program_.instructions[pc]);
    if (path.state.frame_count() > base_frames_) {
        std::optional<uint32_t> back = engine_.return_from_call(pc, path.state);
        if (!back) {
            finish(path);
            return false;
        }
        path.segment.steps.push_back(step);
        // The caller resumes after its call; its own previous instruction was the call.
        path.previous_pc = *back - 1;
        path.pc = *back;
        return true;
    }
    if (base_frames_ == 1) engine_.check_exit(pc, path.state);
    if (!path.state.is_bottom() && base_frames_ > 1) returns_ = returns_.join(path.state);
    finish(path);
    return false;
}

void Explorer::push_branch(Path& path, uint32_t target, AbstractState state) {
    ++path.parent->branches;
    Path other;
    other.pc = target;
    other.state = std::move(state);
    other.parent = path.parent;
    other.segment = path.segment;
    other.written = path.written;
    other.loops = path.loops;
    other.previous_pc = path.pc;
    other.may_goto_depth = path.may_goto_depth;
    stack_.push_back(std::move(other));
}

// The kernel's widen_imprecise_scalars: numbers that changed since the
// previous iteration (the checkpoint at `pc` before the path's own) and never
// decided anything become unknown, so the next iteration can be covered by this one.
void Explorer::widen_imprecise_numbers(const Path& path, uint32_t pc, AbstractState& again) const {
    for (Checkpoint* c = path.parent; c != nullptr; c = c->parent) {
        if (c == path.parent || c->pc != pc || c->state.is_bottom()) continue;
        if (c->state.frame_count() != again.frame_count()) break;
        for (size_t f = 0; f < again.frame_count(); ++f) {
            const Frame& old_frame = c->state.frame(f);
            Frame& frame = again.frame(f);
            for (int r = 0; r < 10; ++r) {
                const Value& before = old_frame.registers[size_t(r)];
                Value& now = frame.registers[size_t(r)];
                if (before.is_scalar() && now.is_scalar() && !c->precise.has_register(f, r) &&
                    !same_value(before, now))
                    now = Value::unknown_scalar();
            }
            for (Spill& spill : frame.spills) {
                if (spill.width != 8 || !spill.value.is_scalar()) continue;
                if ((c->precise.frames[f].slots & Marks::slots_of(spill.offset, 8)) != 0) continue;
                auto old_spill = std::ranges::find_if(old_frame.spills, [&](const Spill& o) {
                    return o.offset == spill.offset && o.width == 8 && o.value.is_scalar();
                });
                if (old_spill != old_frame.spills.end() && !same_value(old_spill->value, spill.value))
                    spill.value = Value::unknown_scalar();
            }
        }
        break;
    }
}

void Explorer::take_may_goto(Path& path, Step step) {
    const uint32_t pc = path.pc;
    const ir::Instruction& insn = engine_.program_.instructions[pc];
    path.segment.steps.push_back(step);
    AbstractState again = path.state;
    widen_imprecise_numbers(path, pc, again);
    push_branch(path, pc + 1, std::move(again));
    stack_.back().may_goto_depth = path.may_goto_depth + 1;
    path.previous_pc = pc;
    path.pc = uint32_t(int64_t(pc) + insn.jump_offset() + 1);
}

void Explorer::take_iterator_next(Path& path, std::pair<size_t, int16_t> where) {
    StackObject* iterator = path.state.frame(where.first).object_at(where.second);
    if (iterator == nullptr) return;
    if (iterator->state == IteratorState::Active) {
        // One more element, one level deeper, from widened numbers (the
        // kernel's process_iter_next_call pushes this state).
        AbstractState element = path.state;
        element.frame(where.first).object_at(where.second)->depth += 1;
        element.reg(0).maybe_null = false;
        widen_imprecise_numbers(path, path.pc, element);
        push_branch(path, path.pc + 1, std::move(element));
    }
    // This path: the iterator is drained and `next` returned NULL (it stays so).
    iterator->state = IteratorState::Drained;
    path.state.reg(0) = Value::constant(0);
}

void Explorer::prune_by_loop(Path& path, Checkpoint& c) {
    // The ancestor is still being explored: what its paths will need exactly
    // is not known yet, so every number this path holds counts as needed
    // (the checkpoints on the way back keep them exact when they prune).
    Marks needed;
    for (size_t f = 0; f < path.state.frame_count() && f < needed.frames.size(); ++f) {
        const Frame& frame = path.state.frame(f);
        for (int r = 0; r < 11; ++r)
            if (frame.registers[size_t(r)].is_scalar()) needed.add_register(f, r);
        needed.frames[f].slots = ~uint64_t(0);
    }
    mark_precise(path, needed, true);
    prune_by(path, c);
}

void Explorer::prune_by(Path& path, Checkpoint& c) {
    ++c.hits;
    last_cover_ = &c;
    // What the old state's paths read, this one's may read too.
    mark_read(path, c.read);
    ++engine_.exploration_.pruned;
    // What the old state's exploration needed exactly, this path's values must provide exactly.
    auto carry = [&](const Marks& marks, bool loop_only) {
        Marks needed;
        for (size_t f = 0; f < path.state.frame_count() && f < needed.frames.size(); ++f) {
            const Frame& frame = path.state.frame(f);
            for (int r = 0; r < 11; ++r)
                if (marks.has_register(f, r) && frame.registers[size_t(r)].is_scalar()) needed.add_register(f, r);
            needed.frames[f].slots = marks.frames[f].slots;
        }
        if (!needed.empty()) mark_precise(path, needed, loop_only);
    };
    carry(c.precise, false);
    carry(c.loop_precise, true);
    finish(path);
}

void Explorer::finish(Path& path) {
    for (Checkpoint* c = path.parent; c != nullptr; c = c->parent) {
        if (--c->branches > 0) break;
        c->segment = {};  // nobody backtracks through a finished checkpoint
        if (c->parent == nullptr) break;  // the root is never compared with
        // Finished: its marks are final, so it may now prune other paths.
        auto& loops = in_progress_[c->fingerprint];
        std::erase(loops, c);
        if (loops.empty()) in_progress_.erase(c->fingerprint);
        --in_progress_at_[c->pc];
        explored_[c->pc].push_back(c);
        c->listed = true;
        ++listed_;
        --in_progress_count_;
    }
    path.parent = nullptr;
    engine_.exploration_.peak_states = std::max(engine_.exploration_.peak_states, listed_ + in_progress_count_);
}

bool Explorer::visit(Path& path) {
    const uint32_t pc = path.pc;
    auto& list = explored_[pc];
    const CoverRules rules{engine_.options_.record_facts, !engine_.options_.unprivileged};
    // The state without its dead parts, and its fingerprint: needed only to
    // look for a loop back to an unfinished checkpoint here, or to store a new
    // one. Most visits end pruned before either.
    std::optional<AbstractState> current_trimmed;
    uint64_t fingerprint = 0;
    auto trim = [&] {
        if (current_trimmed) return;
        current_trimmed = trimmed(path.state, pc);
        fingerprint = fingerprint_of(*current_trimmed, pc);
    };
    // Checkpoints still being explored are ancestors of this path: it went
    // round a loop back to one. The same state again can repeat forever.
    const bool may_goto = engine_.program_.instructions[pc].is_may_goto();
    const bool iterator_next = engine_.is_iterator_next(pc);
    if (may_goto || (iterator_next && iterator_active(path.state))) {
        // An iteration of a may_goto loop, or of a loop on an iterator that
        // still gives elements, within the state of an earlier iteration
        // still being explored adds nothing: the loop budget, or the
        // iterator's contract, ends the repetition (the kernel's RANGE_WITHIN
        // check against ancestors; iterator depths are not compared).
        const Marks everything = Marks::all(path.state.frame_count());
        for (Checkpoint* c = path.parent; c != nullptr; c = c->parent) {
            if (c->pc != pc || (may_goto && c->may_goto_depth == path.may_goto_depth) || c->state.is_bottom() ||
                c->state.frame_count() != path.state.frame_count())
                continue;
            if (covers(c->state, everything, everything, path.state, rules)) {
                prune_by_loop(path, *c);
                return false;
            }
        }
    }
    // At an iterator's `next` the kernel skips its infinite-loop check: the
    // iterator's depth tells iterations apart.
    if (in_progress_at_[pc] > 0 && !iterator_next) trim();
    if (auto loops = current_trimmed ? in_progress_.find(fingerprint) : in_progress_.end(); loops != in_progress_.end()) {
        for (Checkpoint* c : loops->second) {
            // Another may_goto depth is another iteration of a bounded loop.
            if (c->pc != pc || c->may_goto_depth != path.may_goto_depth || !current_trimmed->equals(c->state)) continue;
            engine_.report(path.state, ErrorCode::UnboundedLoop, pc,
                           fmt::format("the path comes back to instruction {} in exactly the state it had there "
                                       "before, so nothing bounds the number of times the loop runs",
                                       pc),
                           {});
            finish(path);
            return false;
        }
    }
    for (Checkpoint* c : list) {
        if (covers(c->state, compared_exactly(*c), c->read, path.state, rules)) {
            prune_by(path, *c);
            return false;
        }
        ++c->misses;
    }
    // Forget states that keep failing to prune.
    std::erase_if(list, [&](Checkpoint* c) {
        if (!unhelpful(c->hits, c->misses)) return false;
        c->listed = false;
        c->state = AbstractState::bottom();
        --listed_;
        return true;
    });
    const bool force = may_goto || iterator_next;  // the kernel forces a checkpoint at both
    if (!force && !(jumps_ - jumps_at_checkpoint_ >= 2 && instructions_ - instructions_at_checkpoint_ >= 8))
        return true;
    jumps_at_checkpoint_ = jumps_;
    instructions_at_checkpoint_ = instructions_;
    trim();
    Checkpoint& c = checkpoints_.emplace_back();
    c.state = std::move(*current_trimmed);
    c.fingerprint = fingerprint;
    c.may_goto_depth = path.may_goto_depth;
    c.pc = pc;
    c.parent = path.parent;
    c.segment = std::move(path.segment);
    c.written = path.written;
    path.segment = {};
    path.written = {};
    path.parent = &c;
    in_progress_[fingerprint].push_back(&c);
    ++in_progress_at_[pc];
    ++in_progress_count_;
    ++engine_.exploration_.states;
    engine_.exploration_.peak_states = std::max(engine_.exploration_.peak_states, listed_ + in_progress_count_);
    return true;
}

void Explorer::mark_read(Path& path, const Marks& slots) {
    for (size_t f = 0; f < slots.frames.size(); ++f) {
        // Slots written since the parent: the read saw that write.
        uint64_t pending = slots.frames[f].slots & ~path.written.frames[f].slots;
        for (Checkpoint* c = path.parent; c != nullptr && c->parent != nullptr && pending != 0; c = c->parent) {
            if (f >= c->state.frame_count() && !c->state.is_bottom()) break;
            // Marks already there were carried further back when they were set.
            pending &= ~c->read.frames[f].slots;
            c->read.frames[f].slots |= pending;
            pending &= ~c->written.frames[f].slots;
        }
    }
}

void Explorer::note_stack_accesses(Path& path) {
    Marks reads;
    for (const auto& access : engine_.stack_accesses_)
        if (!access.write && access.frame < reads.frames.size())
            reads.frames[access.frame].slots |= Marks::slots_of(access.lo, access.hi - access.lo);
    if (!reads.empty()) mark_read(path, reads);
    for (const auto& access : engine_.stack_accesses_) {
        if (!access.write || access.variable || access.frame >= path.written.frames.size()) continue;
        // Only whole slots count as written: a partial write leaves older bytes readable.
        for (int64_t slot_end = 0; slot_end > -StackBytes; slot_end -= 8) {
            const int64_t slot_start = slot_end - 8;
            if (access.lo <= slot_start && slot_end <= access.hi)
                path.written.frames[access.frame].slots |= Marks::slots_of(slot_start, 8);
        }
    }
}

void Explorer::mark_all_precise(Checkpoint* from, bool loop_only) {
    for (Checkpoint* c = from; c != nullptr; c = c->parent) {
        const Marks all = Marks::all(c->state.is_bottom() ? MaxFrames : c->state.frame_count());
        Marks& marks = loop_only ? c->loop_precise : c->precise;
        if (marks == all) break;
        marks = all;
    }
}

Marks Explorer::compared_exactly(const Checkpoint& c) {
    Marks marks = c.precise;
    marks.add(c.loop_precise);
    return marks;
}

void Explorer::mark_precise(Path& path, Marks needed, bool loop_only) {
    const ir::Program& program = engine_.program_;
    auto walk = [&](const Segment& segment) {
        for (size_t i = segment.steps.size(); i-- > 0 && !needed.empty();) {
            const Step& step = segment.steps[i];
            if (!backtrack(program.instructions[step.pc], step, segment, needed)) return false;
        }
        return true;
    };
    if (!walk(path.segment)) {
        mark_all_precise(path.parent, loop_only);
        return;
    }
    for (Checkpoint* c = path.parent; c != nullptr && !needed.empty(); c = c->parent) {
        if (c->parent == nullptr) break;  // the root: nothing before it is compared
        const AbstractState& state = c->state;
        for (size_t f = 0; f < needed.frames.size(); ++f) {
            FrameMarks& want = needed.frames[f];
            if (want.registers == 0 && want.slots == 0) continue;
            if (f >= state.frame_count()) {
                want = FrameMarks{};
                continue;
            }
            const Frame& frame = state.frame(f);
            FrameMarks& have = (loop_only ? c->loop_precise : c->precise).frames[f];
            // Loop marks stop where either kind was carried back already; real ones only at real ones.
            FrameMarks known = have;
            if (loop_only) {
                known.registers |= c->precise.frames[f].registers;
                known.slots |= c->precise.frames[f].slots;
            }
            for (int r = 0; r < 11; ++r) {
                if (((want.registers >> r) & 1) == 0) continue;
                // Only numbers carry precision; marks already there were carried further back when they were set.
                if (!frame.registers[size_t(r)].is_scalar() || ((known.registers >> r) & 1) != 0)
                    want.registers &= uint16_t(~(1u << r));
                else
                    have.registers |= uint16_t(1u << r);
            }
            uint64_t numbers = 0;
            for (const Spill& spill : frame.spills)
                if (spill.value.is_scalar()) numbers |= Marks::slots_of(spill.offset, spill.width);
            const uint64_t fresh = want.slots & numbers & ~known.slots;
            have.slots |= fresh;
            want.slots = fresh;
        }
        if (needed.empty()) break;
        if (!walk(c->segment)) {
            mark_all_precise(c->parent, loop_only);
            return;
        }
    }
}

bool Explorer::arrive_at_loop_head(Path& path) {
    const auto& head = engine_.loop_heads_.at(path.pc);
    const size_t frame = path.state.frame_count() - 1;
    if (path.state.current_frame().function != head.function) return false;
    auto visit = std::find_if(path.loops.begin(), path.loops.end(),
                              [&](const LoopVisit& v) { return v.head_pc == path.pc && v.frame == frame; });
    const bool from_inside = path.previous_pc != UINT32_MAX && path.previous_pc < engine_.cfg_.block_of.size() &&
                             engine_.cfg_.block_of[path.previous_pc] >= 0 &&
                             engine_.cfg_.function_of[path.previous_pc] == head.function &&
                             head.members[size_t(engine_.cfg_.block_of[path.previous_pc])];
    if (visit == path.loops.end()) {
        path.loops.push_back(LoopVisit{path.pc, frame, 0});
        visit = path.loops.end() - 1;
    }
    visit->visits = from_inside ? visit->visits + 1 : 0;
    if (visit->visits > engine_.hot_loop_visits_) {
        engine_.hot_loop_visits_ = visit->visits;
        engine_.hot_loop_pc_ = path.pc;
    }
    if (visit->visits != engine_.options_.max_unrolled_passes) return false;
    return widen(path, visit->visits);
}

bool Explorer::widen(Path& path, uint64_t visits) {
    const auto& head = engine_.loop_heads_.at(path.pc);
    Engine::FunctionRun run{engine_.cfg_.functions[head.function], AbstractState::bottom(), AbstractState::bottom(), {}};
    engine_.loops_.push_back(Engine::LoopRun{path.pc, visits, {}});
    const bool widened = engine_.widen_loop(run, *head.component, head.members, path.state);
    if (!widened) engine_.widening_failures_[path.pc] = engine_.loops_.back().widening_failure;
    engine_.loops_.pop_back();
    if (!widened || engine_.aborted_) return widened;
    ++engine_.widened_loops_;
    // The loop's reads are not followed one by one: every slot counts as read before it.
    Marks everything;
    for (size_t f = 0; f < path.state.frame_count(); ++f) everything.frames[f].slots = ~uint64_t(0);
    mark_read(path, everything);
    // Continue from every edge leaving the loop, and from returns inside it.
    // Backtracking cannot see through the loop: the continuations start opaque.
    Segment opaque;
    opaque.steps.push_back(Step{path.pc, uint8_t(path.state.frame_count() - 1), Step::NoStack, 0, 0, true});
    auto continue_at = [&](uint32_t pc, AbstractState state, uint32_t previous) {
        ++path.parent->branches;
        Path next;
        next.pc = pc;
        next.state = std::move(state);
        next.parent = path.parent;
        next.segment = opaque;
        next.loops = path.loops;
        next.previous_pc = previous;
        stack_.push_back(std::move(next));
    };
    for (auto& [key, edge] : run.edges) {
        if (head.members[edge.target]) continue;
        const uint32_t target_pc = run.cfg.graph[edge.target].first;
        const uint32_t source_pc = run.cfg.graph[key.first].last;
        for (const auto& state : edge.states.states()) continue_at(target_pc, state, source_pc);
    }
    if (!run.exits.is_bottom()) {
        // The function returned inside the loop: resume as its exit instruction would.
        const uint32_t exit_pc = run.cfg.graph[*std::find_if(run.cfg.exits.begin(), run.cfg.exits.end(), [&](auto b) {
                                                   return head.members[b];
                                               })].last;
        AbstractState state = run.exits;
        if (path.state.frame_count() > base_frames_) {
            if (auto back = engine_.return_from_call(exit_pc, state)) continue_at(*back, std::move(state), *back - 1);
        } else if (base_frames_ > 1) {
            returns_ = returns_.join(state);
        }
    }
    finish(path);
    return true;
}

}  // namespace bpfvet::analyzer::detail
