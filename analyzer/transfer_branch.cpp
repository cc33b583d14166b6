// Conditional jumps: each side gets the state refined by the condition.
// Numbers are refined by the domains; a pointer compared with 0 is a null
// check (for every copy of the lookup result); a packet pointer compared with
// the packet end proves a range (for every pointer on the same base).
#include "analyzer/engine.hpp"
#include "domains/branch.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

using domains::Comparison;
using ir::JmpOp;

namespace {

std::optional<Comparison> comparison_of(JmpOp op) {
    switch (op) {
    case JmpOp::Jeq: return Comparison::Eq;
    case JmpOp::Jne: return Comparison::Ne;
    case JmpOp::Jgt: return Comparison::Ugt;
    case JmpOp::Jge: return Comparison::Uge;
    case JmpOp::Jlt: return Comparison::Ult;
    case JmpOp::Jle: return Comparison::Ule;
    case JmpOp::Jsgt: return Comparison::Sgt;
    case JmpOp::Jsge: return Comparison::Sge;
    case JmpOp::Jslt: return Comparison::Slt;
    case JmpOp::Jsle: return Comparison::Sle;
    case JmpOp::Jset: return Comparison::Set;
    default: return std::nullopt;
    }
}

// The comparison with its operands swapped: `a > b` is `b < a`.
JmpOp swapped(JmpOp op) {
    switch (op) {
    case JmpOp::Jgt: return JmpOp::Jlt;
    case JmpOp::Jge: return JmpOp::Jle;
    case JmpOp::Jlt: return JmpOp::Jgt;
    case JmpOp::Jle: return JmpOp::Jge;
    case JmpOp::Jsgt: return JmpOp::Jslt;
    case JmpOp::Jsge: return JmpOp::Jsle;
    case JmpOp::Jslt: return JmpOp::Jsgt;
    case JmpOp::Jsle: return JmpOp::Jsge;
    default: return op;
    }
}

// For `pointer OP end`, whether the taken side (true) or the fall-through side
// (false) implies pointer <= end. E.g. `if p > end goto drop` proves p <= end
// when not taken.
std::optional<bool> side_proving_in_bounds(JmpOp op) {
    switch (op) {
    case JmpOp::Jgt: return false;  // !(p > end)  => p <= end
    case JmpOp::Jge: return false;  // !(p >= end) => p < end
    case JmpOp::Jlt: return true;   // p < end
    case JmpOp::Jle: return true;   // p <= end
    default: return std::nullopt;
    }
}

// `p < end` proves one byte more than `p <= end`: p + 1 <= end.
bool strict_in_bounds(JmpOp op) { return op == JmpOp::Jge || op == JmpOp::Jlt; }

// What the other side learns: `p > end` taken, or `p <= end` not taken: p is
// past the end; `p >= end` taken or `p < end` not taken: at the end or past it.
EndRelation end_relation_learned(JmpOp op) {
    return op == JmpOp::Jgt || op == JmpOp::Jle ? EndRelation::Past : EndRelation::AtOrPast;
}

// `p OP end` for a pointer known to be at or past the end: taken (true), not
// taken (false), or either. The kernel's is_pkt_ptr_branch_taken.
std::optional<bool> decided_by_end_relation(JmpOp op, EndRelation known) {
    switch (op) {
    case JmpOp::Jgt:
    case JmpOp::Jle:
        if (known == EndRelation::Past) return op == JmpOp::Jgt;
        return std::nullopt;
    case JmpOp::Jge:
    case JmpOp::Jlt:
        if (known != EndRelation::Unknown) return op == JmpOp::Jge;
        return std::nullopt;
    default: return std::nullopt;
    }
}

// A number compared is now known to be `known`: every value linked to it
// (same id) learns what that implies (analyzer/value.hpp, Value::delta).
// false when one of them turns out to be empty (the side is infeasible).
bool sync_linked(AbstractState& state, const Value& compared, const Scalar& known) {
    if (compared.id == 0) return true;
    bool feasible = true;
    state.update_copies(compared.id, [&](Value& v) {
        if (!v.is_scalar()) return;
        if (auto implied = linked_range(known, compared, v)) {
            Scalar met = v.number.meet(*implied);
            if (met.is_bottom()) feasible = false;
            else v.number = met;
        }
    });
    return feasible;
}

}  // namespace

// A check proved `bytes` from the packet start: every base at a known offset
// from the start gains them, as the kernel's packet pointers of id 0 all take
// the range find_good_pkt_pointers proves (a pointer loaded later starts
// without, see the context's PacketStart load).
static void prove_from_packet_start(AbstractState& state, int64_t bytes) {
    std::vector<uint32_t> ids;
    for (const PacketBase& base : state.packet_bases()) ids.push_back(base.id);
    for (uint32_t id : ids) {
        PacketBase& base = state.packet_base_or_start(id);
        const auto offset = base.offset.constant_value();
        if (!offset || int64_t(*offset) < 0 || int64_t(*offset) >= bytes) continue;
        base.range = std::max(base.range, bytes - int64_t(*offset));
    }
}

BranchStates Engine::branch(uint32_t pc, const AbstractState& in) {
    const ir::Instruction& insn = program_.instructions[pc];
    const bool uses_register = insn.source() == ir::Source::Reg;
    const domains::OperandWidth width =
        insn.cls() == ir::InstructionClass::Jmp32 ? domains::OperandWidth::Half : domains::OperandWidth::Full;
    if (insn.is_may_goto()) return {in, in};  // the loop budget may or may not have run out
    AbstractState state = in;
    if (!require_initialized(pc, state, insn.dst)) return {state, state};
    if (uses_register && !require_initialized(pc, state, insn.src)) return {state, state};
    const Value left = state.reg(insn.dst);
    const Value right = uses_register ? state.reg(insn.src) : Value::constant(uint64_t(int64_t(insn.imm)));
    const JmpOp op = insn.jmp_op();
    auto comparison = comparison_of(op);
    if (!comparison) {
        report(state, ErrorCode::InvalidInstruction, pc, "unknown conditional jump", {});
        return {state, state};
    }

    // Numbers.
    if (left.is_scalar() && right.is_scalar()) {
        // Only the sides that can happen are built; the last one takes `state` itself.
        BranchStates out{AbstractState::bottom(), AbstractState::bottom()};
        auto side = [&](AbstractState& s, bool taken) {
            auto refined = domains::refine(*comparison, left.number, right.number, width, taken);
            if (!refined || refined->left.is_bottom() || refined->right.is_bottom()) {
                s = AbstractState::bottom();
                return;
            }
            const Scalar l = refined->left, r = refined->right;
            s.reg(insn.dst).number = l;
            if (!sync_linked(s, left, l)) {
                s = AbstractState::bottom();
                return;
            }
            if (uses_register) {
                s.reg(insn.src).number = r;
                if (!sync_linked(s, right, r)) {
                    s = AbstractState::bottom();
                    return;
                }
            }
        };
        const domains::BranchOutcome outcome = domains::evaluate(*comparison, left.number, right.number, width);
        if (outcome != domains::BranchOutcome::Never) {
            out.taken = outcome == domains::BranchOutcome::Always ? std::move(state) : state;
            side(out.taken, true);
        }
        if (outcome != domains::BranchOutcome::Always) {
            out.fallthrough = std::move(state);
            side(out.fallthrough, false);
        }
        return out;
    }

    // A 32-bit comparison involving a pointer teaches the kernel nothing: no
    // null check (mark_ptr_or_null_regs needs a 64-bit JEQ/JNE), no packet
    // range (try_match_pkt_pointers skips JMP32). Only a pointer known not to
    // be null, against 0, decides the branch (is_branch_taken).
    if (width == domains::OperandWidth::Half && (left.is_pointer() || right.is_pointer())) {
        if (options_.unprivileged) {
            report(state, ErrorCode::PointerComparison, pc,
                   "a 32-bit comparison of a pointer is not allowed for unprivileged programs",
                   uses_register ? std::vector<int>{insn.dst, insn.src} : std::vector<int>{insn.dst});
            return {state, state};
        }
        BranchStates out{state, state};
        const Value& pointer = left.is_pointer() ? left : right;
        const Value& other = left.is_pointer() ? right : left;
        if (other.is_constant(0) && !pointer.maybe_null && pointer.pointer != PointerKind::BtfObject &&
            (op == JmpOp::Jeq || op == JmpOp::Jne))
            (op == JmpOp::Jeq ? out.taken : out.fallthrough) = AbstractState::bottom();
        return out;
    }

    // Null checks: a pointer against the immediate 0. As in the kernel, a
    // register that holds 0 tells nothing about the pointer.
    const bool left_pointer = left.is_pointer();
    const Value& pointer = left_pointer ? left : right;
    const Value& other = left_pointer ? right : left;
    const int pointer_reg = left_pointer ? insn.dst : (uses_register ? insn.src : -1);
    if (pointer.is_pointer() && !uses_register && other.is_constant(0) && (op == JmpOp::Jeq || op == JmpOp::Jne) &&
        pointer_reg >= 0) {
        BranchStates out{state, state};
        AbstractState& equal = op == JmpOp::Jeq ? out.taken : out.fallthrough;
        AbstractState& not_equal = op == JmpOp::Jeq ? out.fallthrough : out.taken;
        if (!pointer.maybe_null) {
            // Only the kinds of the kernel's reg_not_null decide the test (sockets,
            // map values and keys, maps, memory, trusted kernel objects); for the
            // others (the context, the stack, packet pointers, untrusted kernel
            // objects) it explores both ways, and so do we.
            const bool known_not_null =
                pointer.pointer == PointerKind::Socket || pointer.pointer == PointerKind::MapValue ||
                pointer.pointer == PointerKind::RingbufMemory || pointer.pointer == PointerKind::Memory ||
                pointer.pointer == PointerKind::MapKey || pointer.pointer == PointerKind::MapPointer ||
                (pointer.pointer == PointerKind::BtfObject && pointer.trusted);
            if (known_not_null) equal = AbstractState::bottom();
            return out;
        }
        equal.reg(pointer_reg) = Value::constant(0);
        equal.update_copies(pointer.id, [](Value& v) { v = Value::constant(0); });
        // A lookup that found nothing holds no reference.
        if (pointer.id != 0) equal.release_reference(pointer.id);
        not_equal.reg(pointer_reg).maybe_null = false;
        // Once known not null, copies need no shared id any more (the kernel
        // resets it too, so that states prune); a reference keeps it for its release.
        // So does a map value holding a bpf_spin_lock: the id names its lock.
        const bool keep_id =
            pointer.id != 0 && (not_equal.holds_reference(pointer.id) || not_equal.is_derived(pointer.id) ||
                                may_point_to_spin_lock(pointer));
        not_equal.update_copies(pointer.id, [&](Value& v) {
            v.maybe_null = false;
            if (!keep_id) v.id = 0;
        });
        if (!keep_id) not_equal.reg(pointer_reg).id = 0;
        return out;
    }

    // Packet pointer against the packet end.
    if (uses_register && left.is_pointer() && right.is_pointer()) {
        const bool packet_vs_end = left.is_pointer(PointerKind::Packet) && right.is_pointer(PointerKind::PacketEnd);
        const bool end_vs_packet = left.is_pointer(PointerKind::PacketEnd) && right.is_pointer(PointerKind::Packet);
        if (packet_vs_end || end_vs_packet) {
            const Value& packet = packet_vs_end ? left : right;
            const int packet_reg = packet_vs_end ? insn.dst : insn.src;
            JmpOp normalized = packet_vs_end ? op : swapped(op);
            BranchStates out{state, state};
            if (auto decided = decided_by_end_relation(normalized, packet.end_relation)) {
                (*decided ? out.fallthrough : out.taken) = AbstractState::bottom();
                return out;
            }
            if (auto side = side_proving_in_bounds(normalized)) {
                AbstractState& proven = *side ? out.taken : out.fallthrough;
                const bool strict = strict_in_bounds(normalized);
                // As the kernel's find_good_pkt_pointers: `p < end` at offset 0 proves nothing.
                const uint64_t low = packet.number.umin();
                int64_t bytes = int64_t(std::min<uint64_t>(low + (strict ? 1 : 0), uint64_t(1) << 30));
                if (packet.number.smin() >= 0 && !(strict && low == 0)) {
                    PacketBase& base = proven.packet_base_or_start(packet.region);
                    if (base.id == packet.region) {
                        base.range = std::max(base.range, bytes);
                        if (auto from_start = base.offset.constant_value())
                            prove_from_packet_start(proven, bytes + int64_t(*from_start));
                    }
                }
                AbstractState& past = *side ? out.fallthrough : out.taken;
                past.reg(packet_reg).end_relation = end_relation_learned(normalized);
            }
            return out;
        }
        const bool meta_vs_packet = left.is_pointer(PointerKind::PacketMeta) && right.is_pointer(PointerKind::Packet);
        const bool packet_vs_meta = left.is_pointer(PointerKind::Packet) && right.is_pointer(PointerKind::PacketMeta);
        if (meta_vs_packet || packet_vs_meta) {
            const Value& meta = meta_vs_packet ? left : right;
            const Value& data = meta_vs_packet ? right : left;
            JmpOp normalized = meta_vs_packet ? op : swapped(op);
            BranchStates out{state, state};
            auto side = side_proving_in_bounds(normalized);
            if (side && data.region == 0 && data.number.constant_value() == 0 && meta.number.smin() >= 0) {
                AbstractState& proven = *side ? out.taken : out.fallthrough;
                proven.set_meta_range(std::max(proven.meta_range(), int64_t(meta.number.umin())));
            }
            return out;
        }
    }

    // Two pointers compared for equality, exactly one of them possibly null:
    // where they are equal, that one is not null (the kernel's
    // check_cond_jmp_op, 64-bit only, not for BTF-typed kernel objects). Only
    // that register learns it, not its copies, as mark_ptr_not_null_reg.
    if (uses_register && !options_.unprivileged && (op == JmpOp::Jeq || op == JmpOp::Jne) && left.is_pointer() &&
        right.is_pointer() && left.maybe_null != right.maybe_null && left.pointer != PointerKind::BtfObject &&
        right.pointer != PointerKind::BtfObject) {
        BranchStates out{state, state};
        AbstractState& equal = op == JmpOp::Jeq ? out.taken : out.fallthrough;
        equal.reg(left.maybe_null ? insn.dst : insn.src).maybe_null = false;
        return out;
    }

    // Any other comparison involving a pointer: allowed for privileged loaders, both ways possible.
    if (options_.unprivileged) {
        report(state, ErrorCode::PointerComparison, pc,
               "comparing a pointer with anything but 0, or packet pointers with each other, is not allowed for "
               "unprivileged programs",
               uses_register ? std::vector<int>{insn.dst, insn.src} : std::vector<int>{insn.dst});
        return {state, state};
    }
    return {state, state};
}

void Engine::execute(uint32_t pc, AbstractState& state) {
    const ir::Instruction& insn = program_.instructions[pc];
    switch (insn.cls()) {
    case ir::InstructionClass::Alu:
    case ir::InstructionClass::Alu64: execute_alu(pc, insn, state); return;
    case ir::InstructionClass::Ldx: execute_load(pc, insn, state); return;
    case ir::InstructionClass::St: execute_store(pc, insn, state); return;
    case ir::InstructionClass::Stx:
        if (insn.mem_mode() == ir::MemMode::Atomic) execute_atomic(pc, insn, state);
        else execute_store(pc, insn, state);
        return;
    case ir::InstructionClass::Ld:
        if (insn.is_lddw()) execute_lddw(pc, insn, state);
        else execute_legacy_packet_load(pc, insn, state);
        return;
    case ir::InstructionClass::Jmp:
    case ir::InstructionClass::Jmp32:
        if (insn.is_helper_call()) execute_helper_call(pc, insn, state);
        else if (insn.is_local_call()) execute_local_call(pc, insn, state);
        else if (insn.is_kfunc_call()) execute_kfunc_call(pc, state);
        else if (insn.is_call()) report(state, ErrorCode::InvalidInstruction, pc, "indirect calls are not supported", {});
        return;  // goto, exit and conditional jumps are handled by the fixpoint
    }
}

}  // namespace bpfvet::analyzer::detail
