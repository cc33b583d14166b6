// Arithmetic and moves: numbers go to the domains; pointers follow the kernel's
// rules (only pointer +/- bounded number; pointer - pointer gives a number for
// privileged loaders).
#include "analyzer/engine.hpp"

#include <fmt/format.h>

#include <limits>

namespace bpfvet::analyzer::detail {

using domains::BinaryOp;
using domains::OperandWidth;
using domains::UnaryOp;
using ir::AluOp;

namespace {

std::optional<BinaryOp> binary_op(const ir::Instruction& insn) {
    bool is_signed = insn.offset == 1;  // v4 sdiv/smod
    switch (insn.alu_op()) {
    case AluOp::Add: return BinaryOp::Add;
    case AluOp::Sub: return BinaryOp::Sub;
    case AluOp::Mul: return BinaryOp::Mul;
    case AluOp::Div: return is_signed ? BinaryOp::SDiv : BinaryOp::UDiv;
    case AluOp::Mod: return is_signed ? BinaryOp::SMod : BinaryOp::UMod;
    case AluOp::Or: return BinaryOp::Or;
    case AluOp::And: return BinaryOp::And;
    case AluOp::Xor: return BinaryOp::Xor;
    case AluOp::Lsh: return BinaryOp::Lsh;
    case AluOp::Rsh: return BinaryOp::Rsh;
    case AluOp::Arsh: return BinaryOp::Arsh;
    default: return std::nullopt;
    }
}

// The byte-order instruction as a unary operation, e.g. `r1 = be16 r1` is Bswap16
// on our little-endian model and `r1 = le32 r1` just truncates to 32 bits.
std::optional<UnaryOp> byte_order_op(const ir::Instruction& insn) {
    bool swap = insn.cls() == ir::InstructionClass::Alu64 || insn.source() == ir::Source::Reg;
    switch (insn.imm) {
    case 16: return swap ? UnaryOp::Bswap16 : UnaryOp::ZeroExtend16;
    case 32: return swap ? UnaryOp::Bswap32 : UnaryOp::ZeroExtend32;
    case 64: return swap ? std::optional(UnaryOp::Bswap64) : std::nullopt;
    default: return std::nullopt;
    }
}

constexpr int64_t max_variable_offset = int64_t(1) << 29;  // the kernel's BPF_MAX_VAR_OFF

// `r7 += 54` on a linked number keeps it linked, 54 from its base (one
// constant per link, as the kernel allows: a second addition ends the link).
void link_constant_add(const Value& before, const Value& amount, bool subtract, OperandWidth width, Value& result) {
    const auto k = amount.number.constant_value();
    if (before.id == 0 || !k || before.delta != 0 || before.delta_half) return;
    const int64_t value = subtract ? -int64_t(*k) : int64_t(*k);
    if (value == 0 || value <= std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max())
        return;
    result.id = before.id;
    result.delta = int32_t(value);
    result.delta_half = width == OperandWidth::Half;
}

}  // namespace

void Engine::execute_alu(uint32_t pc, const ir::Instruction& insn, AbstractState& state) {
    const OperandWidth width = insn.cls() == ir::InstructionClass::Alu64 ? OperandWidth::Full : OperandWidth::Half;
    const int dst = insn.dst;
    Value src;
    if (insn.source() == ir::Source::Reg && insn.alu_op() != AluOp::Neg && insn.alu_op() != AluOp::End) {
        if (!require_initialized(pc, state, insn.src)) return;
        src = state.reg(insn.src);
    } else {
        src = Value::constant(uint64_t(int64_t(insn.imm)));
    }
    const bool shift = insn.alu_op() == AluOp::Lsh || insn.alu_op() == AluOp::Rsh || insn.alu_op() == AluOp::Arsh;
    const int bits = width == OperandWidth::Full ? 64 : 32;
    if (shift && insn.source() == ir::Source::Imm && (insn.imm < 0 || insn.imm >= bits)) {
        // The kernel's check_alu_op: "invalid shift N" (a register amount is masked instead).
        report(state, ErrorCode::InvalidInstruction, pc,
               fmt::format("a {}-bit shift by the constant {} is refused by the kernel: the amount must be in [0, {})",
                           bits, insn.imm, bits),
               {});
        return;
    }

    if (insn.alu_op() == AluOp::Mov) {
        if (insn.offset != 0 && insn.source() == ir::Source::Reg) {  // movsx
            if (!src.is_scalar()) {
                report(state, ErrorCode::PointerArithmetic, pc, "sign-extending a pointer is not allowed", {insn.src});
                return;
            }
            UnaryOp op = insn.offset == 8 ? UnaryOp::SignExtend8
                         : insn.offset == 16 ? UnaryOp::SignExtend16 : UnaryOp::SignExtend32;
            state.reg(dst) = Value::scalar(domains::apply(op, src.number, width));
            return;
        }
        if (width == OperandWidth::Full) {
            if (src.is_scalar() && insn.source() == ir::Source::Reg && src.id == 0 && !src.number.constant_value()) {
                // Remember that both registers hold the same number.
                uint32_t id = fresh_id(state, pc, IdTag::Copy);
                state.reg(insn.src).id = id;
                src.id = id;
            }
            state.reg(dst) = src;
            return;
        }
        if (!src.is_scalar()) {
            if (options_.unprivileged) {
                report(state, ErrorCode::PointerLeak, pc, "copying the low half of a pointer leaks a kernel address",
                       {insn.src});
                return;
            }
            state.reg(dst) = Value::scalar(Scalar::unsigned_range(0, 0xffffffff));
            return;
        }
        // A 32-bit copy of a number that fits in 32 bits is the same number:
        // it stays linked to the source (the kernel links them too).
        if (insn.source() == ir::Source::Reg && src.number.umax() <= 0xffffffff && !src.number.constant_value()) {
            if (src.id == 0) {
                src.id = fresh_id(state, pc, IdTag::Copy);
                src.delta = 0;
                src.delta_half = false;
                state.reg(insn.src).id = src.id;
            }
            state.reg(dst) = src;
            return;
        }
        state.reg(dst) = Value::scalar(domains::truncate_to_half(src.number));
        return;
    }

    if (!require_initialized(pc, state, dst)) return;
    Value& target = state.reg(dst);

    if (insn.alu_op() == AluOp::Neg || insn.alu_op() == AluOp::End) {
        if (!target.is_scalar()) {
            // The kernel refuses it only where pointers may not leak; for root
            // the register becomes an unknown number (check_alu_op: DST_OP).
            if (options_.unprivileged) {
                report(state, ErrorCode::PointerArithmetic, pc, "this operation is not allowed on a pointer", {dst});
                return;
            }
            target = Value::scalar(Scalar::top());
            return;
        }
        if (insn.alu_op() == AluOp::Neg) {
            target = Value::scalar(domains::apply(UnaryOp::Neg, target.number, width));
            return;
        }
        auto op = byte_order_op(insn);
        if (op) target = Value::scalar(domains::apply(*op, target.number, OperandWidth::Full));
        else target.id = 0;
        return;
    }

    auto op = binary_op(insn);
    if (!op) {
        report(state, ErrorCode::InvalidInstruction, pc, "unknown arithmetic operation", {});
        return;
    }
    if (target.is_scalar() && src.is_scalar()) {
        if (shift && src.number.umax() >= uint64_t(bits)) {
            // An amount that may reach the width: the kernel gives up on the
            // result (is_safe_to_compute_dst_reg_range: an unknown 64-bit
            // number, 32-bit shifts included) though the hardware masks the
            // amount; we do the same, so what it refuses after, we refuse.
            target = Value::scalar(Scalar::top());
            return;
        }
        const Value before = target;
        target = Value::scalar(domains::apply(*op, target.number, src.number, width));
        if (*op == BinaryOp::Add || *op == BinaryOp::Sub) {
            step_origin(before, src.number, *op == BinaryOp::Sub, width == OperandWidth::Half, target);
            link_constant_add(before, src, *op == BinaryOp::Sub, width, target);
        }
        return;
    }
    if (target.kind == ValueKind::Mixed || src.kind == ValueKind::Mixed) {
        target = Value::mixed();
        return;
    }
    pointer_arithmetic(pc, insn, state, src);
}

void Engine::pointer_arithmetic(uint32_t pc, const ir::Instruction& insn, AbstractState& state, const Value& src) {
    const int dst = insn.dst;
    const int src_reg = insn.source() == ir::Source::Reg ? insn.src : -1;
    auto regs = [&]() { return src_reg >= 0 ? std::vector<int>{dst, src_reg} : std::vector<int>{dst}; };
    Value& target = state.reg(dst);
    const AluOp op = insn.alu_op();
    if (op == AluOp::Sub && (target.is_pointer() || src.is_pointer()) && !options_.unprivileged &&
        insn.cls() != ir::InstructionClass::Alu64) {
        // A 32-bit subtraction involving a pointer (pointer - pointer, pointer
        // - number, number - pointer) gives privileged loaders an unknown
        // number (the kernel's adjust_ptr_min_max_vals); other 32-bit
        // arithmetic on pointers is refused below.
        target = Value::scalar(Scalar::unsigned_range(0, 0xffffffff));
        return;
    }
    if (insn.cls() != ir::InstructionClass::Alu64) {
        report(state, ErrorCode::PointerArithmetic, pc, "32-bit arithmetic on a pointer is not allowed", regs());
        return;
    }
    if (target.is_pointer() && src.is_pointer()) {
        if (op != AluOp::Sub) {
            report(state, ErrorCode::PointerArithmetic, pc,
                   fmt::format("{} of two pointers is not allowed", op == AluOp::Add ? "addition" : "this operation"),
                   regs());
            return;
        }
        if (options_.unprivileged) {
            report(state, ErrorCode::PointerComparison, pc, "subtracting pointers is not allowed for unprivileged programs",
                   regs());
            return;
        }
        // The kernel makes any pointer difference an unknown number
        // (adjust_reg_min_max_vals), even `data_end - data`: a bound checked
        // on it bounds nothing the kernel can see, so it bounds nothing here.
        target = Value::unknown_scalar();
        return;
    }
    if (target.is_scalar() && src.is_pointer()) {
        if (op != AluOp::Add) {
            report(state, ErrorCode::PointerArithmetic, pc,
                   op == AluOp::Sub ? "subtracting a pointer from a number is not allowed"
                                    : "this operation is not allowed with a pointer operand",
                   regs());
            return;
        }
        Value result = src;
        Scalar amount = target.number;
        if (!add_to_pointer(pc, state, result, amount, false, dst)) return;
        state.reg(dst) = result;
        return;
    }
    // pointer op number
    if (op != AluOp::Add && op != AluOp::Sub) {
        report(state, ErrorCode::PointerArithmetic, pc,
               fmt::format("only addition and subtraction are allowed on pointers (r{} is a pointer)", dst), regs());
        return;
    }
    if (op == AluOp::Sub && target.is_pointer(PointerKind::Stack)) {
        // The kernel refuses any subtraction from a stack pointer (JITs may not
        // handle it), even of a constant: clang always writes `r += -8`.
        report(state, ErrorCode::PointerArithmetic, pc,
               fmt::format("subtracting from the stack pointer r{} is not allowed; add a negative offset instead", dst),
               regs());
        return;
    }
    Value result = target;
    if (!add_to_pointer(pc, state, result, src.number, op == AluOp::Sub, dst)) return;
    state.reg(dst) = result;
}

bool Engine::add_to_pointer(uint32_t pc, AbstractState& state, Value& pointer, const Scalar& amount, bool subtract,
                            int reg) {
    switch (pointer.pointer) {
    case PointerKind::MapPointer:
    case PointerKind::PacketEnd:
    case PointerKind::Socket:
    case PointerKind::Function:
        report(state, ErrorCode::PointerArithmetic, pc,
               fmt::format("arithmetic on a {} pointer is not allowed", pointer_kind_name(pointer.pointer)), {reg});
        return false;
    default: break;
    }
    if (pointer.maybe_null) {
        report(state, ErrorCode::PointerArithmetic, pc,
               "arithmetic on a pointer that may be null is not allowed; test it against 0 first", {reg});
        return false;
    }
    if (amount.smin() == std::numeric_limits<int64_t>::min() || amount.smin() <= -max_variable_offset ||
        (amount.constant_value() && amount.smax() >= max_variable_offset)) {
        report(state, ErrorCode::PointerArithmetic, pc,
               fmt::format("adding {} to a pointer is not allowed: the offset is unbounded or too large",
                           amount.to_compact_string()),
               {reg});
        return false;
    }
    const BinaryOp op = subtract ? BinaryOp::Sub : BinaryOp::Add;
    if (pointer.pointer == PointerKind::Packet && !amount.constant_value()) {
        // A variable offset: start a new base at the resulting address, so a
        // later comparison with data_end proves bytes from exactly there.
        Scalar from_start = domains::apply(op, state.packet_offset_from_start(pointer), amount, domains::OperandWidth::Full);
        uint32_t id = fresh_id(state, pc, IdTag::PacketBase);
        state.add_packet_base(PacketBase{id, from_start, 0});
        pointer.region = id;
        pointer.number = Scalar::constant(0);
        pointer.id = 0;
        pointer.end_relation = EndRelation::Unknown;
        pointer.origin = 0;  // measured from a new base: no longer comparable
        return true;
    }
    const Value before = pointer;
    pointer.number = domains::apply(op, pointer.number, amount, domains::OperandWidth::Full);
    // A moved pointer is no copy any more, except as the name of the lock in
    // its map value: `&v->lock` is the lock of the element v was looked up as.
    if (!may_point_to_spin_lock(pointer)) pointer.id = 0;
    // Past the end it stays past the end only when it moves forward.
    if (subtract ? amount.smax() > 0 : amount.smin() < 0) pointer.end_relation = EndRelation::Unknown;
    step_origin(before, amount, subtract, false, pointer);
    if (pointer.number.smin() <= -max_variable_offset || pointer.number.smax() >= max_variable_offset) {
        if (pointer.number.smin() <= -max_variable_offset) {
            report(state, ErrorCode::PointerArithmetic, pc,
                   fmt::format("the pointer's offset {} may leave the range the kernel allows",
                               pointer.number.to_compact_string()),
                   {reg});
            return false;
        }
    }
    return true;
}

}  // namespace bpfvet::analyzer::detail
