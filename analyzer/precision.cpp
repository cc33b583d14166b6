#include "analyzer/precision.hpp"

namespace bpfvet::analyzer::detail {

namespace {

constexpr uint16_t call_clobbered = 0b111111;  // r0..r5

// Atomic read-modify-write on memory: which registers it writes and whether
// the memory's new value depends on the source register.
bool is_load_acquire(const ir::Instruction& insn) { return insn.imm == ir::atomic::LoadAcquire; }
bool is_store_release(const ir::Instruction& insn) { return insn.imm == ir::atomic::StoreRelease; }

}  // namespace

void Marks::add(const Marks& other) {
    for (size_t f = 0; f < frames.size(); ++f) {
        frames[f].registers |= other.frames[f].registers;
        frames[f].slots |= other.frames[f].slots;
    }
}

Marks Marks::all(size_t count) {
    Marks marks;
    for (size_t f = 0; f < count && f < marks.frames.size(); ++f) marks.frames[f] = FrameMarks{0x3ff, ~uint64_t(0)};
    return marks;
}

bool backtrack(const ir::Instruction& insn, const Step& step, const Segment& segment, Marks& needed) {
    using ir::InstructionClass;
    if (step.opaque) return false;
    const size_t f = step.frame;
    FrameMarks& frame = needed.frames[f];
    const uint64_t stack_slots = step.stack_frame == Step::NoStack
                                     ? 0
                                     : Marks::slots_of(step.stack_offset, insn.access_width());
    FrameMarks* stack = step.stack_frame == Step::NoStack ? nullptr : &needed.frames[step.stack_frame];
    // A store of all 8 bytes of one slot at a constant offset replaces it.
    const bool whole_slot = stack != nullptr && insn.access_width() == 8 && (step.stack_offset % 8) == 0;

    switch (insn.cls()) {
    case InstructionClass::Alu:
    case InstructionClass::Alu64: {
        if (!needed.has_register(f, insn.dst)) return true;
        const ir::AluOp op = insn.alu_op();
        if (op == ir::AluOp::Mov) {
            needed.remove_register(f, insn.dst);
            if (insn.source() == ir::Source::Reg) needed.add_register(f, insn.src);
        } else if (op != ir::AluOp::Neg && op != ir::AluOp::End && insn.source() == ir::Source::Reg) {
            needed.add_register(f, insn.src);  // dst = dst op src: both
        }
        return true;
    }
    case InstructionClass::Ldx:
        if (!needed.has_register(f, insn.dst)) return true;
        needed.remove_register(f, insn.dst);
        if (stack != nullptr) stack->slots |= stack_slots;  // a fill: the slot's value
        return true;
    case InstructionClass::St:
        if (stack != nullptr && (stack->slots & stack_slots) != 0 && whole_slot) stack->slots &= ~stack_slots;
        return true;
    case InstructionClass::Stx: {
        if (insn.mem_mode() != ir::MemMode::Atomic) {
            if (stack == nullptr || (stack->slots & stack_slots) == 0) return true;
            if (whole_slot) stack->slots &= ~stack_slots;  // partial stores keep the rest of the slot needed
            needed.add_register(f, insn.src);
            return true;
        }
        if (is_load_acquire(insn)) {  // dst = *(src + off)
            if (!needed.has_register(f, insn.dst)) return true;
            needed.remove_register(f, insn.dst);
            if (stack != nullptr) stack->slots |= stack_slots;
            return true;
        }
        if (is_store_release(insn)) {  // *(dst + off) = src
            if (stack == nullptr || (stack->slots & stack_slots) == 0) return true;
            if (whole_slot) stack->slots &= ~stack_slots;
            needed.add_register(f, insn.src);
            return true;
        }
        // Read-modify-write: the new memory depends on the old and on src; the
        // fetching forms put the old memory into src (or r0 for cmpxchg).
        const bool cmpxchg = insn.imm == ir::atomic::CmpXchg;
        const bool fetch = (insn.imm & ir::atomic::Fetch) != 0;
        const int result_reg = cmpxchg ? 0 : insn.src;
        bool memory_needed = stack != nullptr && (stack->slots & stack_slots) != 0;
        const bool result_needed = fetch && needed.has_register(f, result_reg);
        if (result_needed) needed.remove_register(f, result_reg);
        if (memory_needed) {
            needed.add_register(f, insn.src);
            if (cmpxchg) needed.add_register(f, 0);
        }
        if (result_needed && stack != nullptr) stack->slots |= stack_slots;
        return true;
    }
    case InstructionClass::Ld:
        if (insn.is_lddw()) needed.remove_register(f, insn.dst);
        else frame.registers &= uint16_t(~call_clobbered);  // legacy packet loads: r0 is the packet's
        return true;
    case InstructionClass::Jmp:
    case InstructionClass::Jmp32: {
        if (insn.is_exit()) {
            // A callee returning to frame f - 1: the caller's r0 is the callee's.
            if (f == 0) return true;
            FrameMarks& caller = needed.frames[f - 1];
            const bool r0 = caller.registers & 1;
            caller.registers &= uint16_t(~call_clobbered);
            if (r0) needed.add_register(f, 0);
            return true;
        }
        if (insn.is_call()) {
            frame.registers &= uint16_t(~call_clobbered);
            if (insn.is_local_call() && f + 1 < needed.frames.size()) {
                // The callee's arguments are the caller's r1..r5; its stack did not exist yet.
                FrameMarks& callee = needed.frames[f + 1];
                frame.registers |= uint16_t(callee.registers & 0b111110);
                callee = FrameMarks{};
            }
            return true;
        }
        if (insn.is_conditional_jump()) {
            const bool reg_reg = insn.source() == ir::Source::Reg;
            if (reg_reg && (needed.has_register(f, insn.dst) || needed.has_register(f, insn.src))) {
                needed.add_register(f, insn.dst);
                needed.add_register(f, insn.src);
            }
            if (step.links != 0 && step.links <= segment.links.size()) {
                // Copies refined together: if one is needed, all are.
                const Marks& linked = segment.links[step.links - 1];
                bool any = false;
                for (size_t g = 0; g < needed.frames.size(); ++g)
                    any = any || (needed.frames[g].registers & linked.frames[g].registers) != 0 ||
                          (needed.frames[g].slots & linked.frames[g].slots) != 0;
                if (any) needed.add(linked);
            }
        }
        return true;
    }
    }
    return true;
}

}  // namespace bpfvet::analyzer::detail
