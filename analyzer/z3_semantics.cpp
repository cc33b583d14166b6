#include "analyzer/z3_semantics.hpp"

namespace bpfvet::analyzer {
namespace {

z3::expr low32(const z3::expr& e) { return e.extract(31, 0); }

// Reverses the bytes of the low `bits` of e: 0x1122 (16) -> 0x2211.
z3::expr swap_bytes(const z3::expr& e, unsigned bits) {
    z3::expr out = e.extract(7, 0);
    for (unsigned byte = 1; byte < bits / 8; ++byte) out = z3::concat(out, e.extract(byte * 8 + 7, byte * 8));
    return out;
}

z3::expr extend_to_64(const z3::expr& e) {
    return e.get_sort().bv_size() == 64 ? e : z3::zext(e, 64 - e.get_sort().bv_size());
}

// One ALU operation at the width of its operands (32 or 64 bits).
z3::expr operate(const ir::Instruction& insn, const z3::expr& a, const z3::expr& b, unsigned bits) {
    z3::context& c = a.ctx();
    z3::expr zero = c.bv_val(0, bits);
    const bool is_signed = insn.offset == 1;  // v4 sdiv / smod
    switch (insn.alu_op()) {
    case ir::AluOp::Add: return a + b;
    case ir::AluOp::Sub: return a - b;
    case ir::AluOp::Mul: return a * b;
    case ir::AluOp::Div: return z3::ite(b == zero, zero, is_signed ? a / b : z3::udiv(a, b));
    case ir::AluOp::Mod: return z3::ite(b == zero, a, is_signed ? z3::srem(a, b) : z3::urem(a, b));
    case ir::AluOp::Or: return a | b;
    case ir::AluOp::And: return a & b;
    case ir::AluOp::Xor: return a ^ b;
    case ir::AluOp::Lsh: return z3::shl(a, b & c.bv_val(bits - 1, bits));
    case ir::AluOp::Rsh: return z3::lshr(a, b & c.bv_val(bits - 1, bits));
    case ir::AluOp::Arsh: return z3::ashr(a, b & c.bv_val(bits - 1, bits));
    case ir::AluOp::Neg: return -a;
    case ir::AluOp::Mov:
        // v4 movsx: offset 8, 16 or 32 names the source width to sign-extend.
        if (insn.source() == ir::Source::Reg && (insn.offset == 8 || insn.offset == 16 || insn.offset == 32) &&
            unsigned(insn.offset) < bits)
            return z3::sext(b.extract(unsigned(insn.offset) - 1, 0), bits - unsigned(insn.offset));
        return b;
    case ir::AluOp::End: break;
    }
    return a;
}

}  // namespace

z3::expr operand(z3::context& context, const ir::Instruction& insn, const z3::expr& source_register) {
    if (insn.source() == ir::Source::Reg) return source_register;
    return context.bv_val(uint64_t(int64_t(insn.imm)), 64);
}

z3::expr alu_result(const ir::Instruction& insn, const z3::expr& dst, const z3::expr& src) {
    const bool wide = insn.cls() == ir::InstructionClass::Alu64;
    if (insn.alu_op() == ir::AluOp::End) {
        unsigned bits = insn.imm == 16 || insn.imm == 32 || insn.imm == 64 ? unsigned(insn.imm) : 64;
        // ALU64 End (v4) swaps unconditionally; ALU End to big-endian swaps on
        // our little-endian target; to little-endian only truncates.
        bool swap = wide || insn.source() == ir::Source::Reg;
        z3::expr part = dst.extract(bits - 1, 0);
        return extend_to_64(swap ? swap_bytes(part, bits) : part);
    }
    if (wide) return operate(insn, dst, src, 64);
    return z3::zext(operate(insn, low32(dst), low32(src), 32), 32);
}

z3::expr jump_condition(const ir::Instruction& insn, const z3::expr& dst, const z3::expr& src) {
    const bool wide = insn.cls() == ir::InstructionClass::Jmp;
    z3::expr a = wide ? dst : low32(dst);
    z3::expr b = wide ? src : low32(src);
    z3::context& c = dst.ctx();
    switch (insn.jmp_op()) {
    case ir::JmpOp::Jeq: return a == b;
    case ir::JmpOp::Jne: return a != b;
    case ir::JmpOp::Jgt: return z3::ugt(a, b);
    case ir::JmpOp::Jge: return z3::uge(a, b);
    case ir::JmpOp::Jlt: return z3::ult(a, b);
    case ir::JmpOp::Jle: return z3::ule(a, b);
    case ir::JmpOp::Jsgt: return a > b;
    case ir::JmpOp::Jsge: return a >= b;
    case ir::JmpOp::Jslt: return a < b;
    case ir::JmpOp::Jsle: return a <= b;
    case ir::JmpOp::Jset: return (a & b) != c.bv_val(0, wide ? 64 : 32);
    default: return c.bool_val(true);
    }
}

z3::expr load_bytes(const z3::expr& memory, const z3::expr& address, int width, bool sign_extend) {
    z3::context& c = memory.ctx();
    z3::expr out = z3::select(memory, address);
    for (int i = 1; i < width; ++i) out = z3::concat(z3::select(memory, address + c.bv_val(i, 64)), out);
    unsigned bits = unsigned(width) * 8;
    if (bits == 64) return out;
    return sign_extend ? z3::sext(out, 64 - bits) : z3::zext(out, 64 - bits);
}

z3::expr store_bytes(const z3::expr& memory, const z3::expr& address, const z3::expr& value, int width) {
    z3::context& c = memory.ctx();
    z3::expr out = memory;
    for (int i = 0; i < width; ++i)
        out = z3::store(out, address + c.bv_val(i, 64), value.extract(unsigned(i) * 8 + 7, unsigned(i) * 8));
    return out;
}

}  // namespace bpfvet::analyzer
