// The Z3 encoding of eBPF instructions (analyzer/z3_semantics.hpp) against a
// plain C++ reading of RFC 9669 on random and edge-case operands: every ALU
// and ALU64 operation (register and immediate forms, v4 sdiv/smod/movsx,
// byte swaps) and every conditional jump, 64- and 32-bit.
#include "analyzer/z3_semantics.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace bpfvet::analyzer {
namespace {

uint64_t swap(uint64_t v, int bits) {
    uint64_t out = 0;
    for (int i = 0; i < bits / 8; ++i) out |= ((v >> (i * 8)) & 0xff) << ((bits / 8 - 1 - i) * 8);
    return out;
}

// RFC 9669, section 4.1, at 64 or 32 bits.
uint64_t reference_alu(const ir::Instruction& insn, uint64_t dst, uint64_t src) {
    const bool wide = insn.cls() == ir::InstructionClass::Alu64;
    if (insn.alu_op() == ir::AluOp::End) {
        int bits = insn.imm;
        uint64_t mask = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
        bool do_swap = wide || insn.source() == ir::Source::Reg;
        return do_swap ? swap(dst & mask, bits) : dst & mask;
    }
    const unsigned bits = wide ? 64 : 32;
    const uint64_t mask = wide ? ~0ULL : 0xffffffffULL;
    uint64_t a = dst & mask, b = src & mask;
    auto sign = [&](uint64_t v) { return wide ? int64_t(v) : int64_t(int32_t(uint32_t(v))); };
    uint64_t r = 0;
    switch (insn.alu_op()) {
    case ir::AluOp::Add: r = a + b; break;
    case ir::AluOp::Sub: r = a - b; break;
    case ir::AluOp::Mul: r = a * b; break;
    case ir::AluOp::Div:
        if (b == 0) r = 0;
        else if (insn.offset == 1) r = sign(b) == -1 ? uint64_t(-sign(a)) : uint64_t(sign(a) / sign(b));
        else r = a / b;
        break;
    case ir::AluOp::Mod:
        if (b == 0) r = a;
        else if (insn.offset == 1) r = sign(b) == -1 ? 0 : uint64_t(sign(a) % sign(b));
        else r = a % b;
        break;
    case ir::AluOp::Or: r = a | b; break;
    case ir::AluOp::And: r = a & b; break;
    case ir::AluOp::Xor: r = a ^ b; break;
    case ir::AluOp::Lsh: r = a << (b & (bits - 1)); break;
    case ir::AluOp::Rsh: r = a >> (b & (bits - 1)); break;
    case ir::AluOp::Arsh: r = uint64_t(sign(a) >> (b & (bits - 1))); break;
    case ir::AluOp::Neg: r = uint64_t(-sign(a)); break;
    case ir::AluOp::Mov:
        if (insn.source() == ir::Source::Reg && insn.offset == 8) r = uint64_t(int64_t(int8_t(b)));
        else if (insn.source() == ir::Source::Reg && insn.offset == 16) r = uint64_t(int64_t(int16_t(b)));
        else if (insn.source() == ir::Source::Reg && insn.offset == 32 && wide) r = uint64_t(int64_t(int32_t(b)));
        else r = b;
        break;
    default: break;
    }
    return r & mask;
}

bool reference_jump(const ir::Instruction& insn, uint64_t dst, uint64_t src) {
    const bool wide = insn.cls() == ir::InstructionClass::Jmp;
    uint64_t a = wide ? dst : uint32_t(dst), b = wide ? src : uint32_t(src);
    int64_t sa = wide ? int64_t(a) : int32_t(uint32_t(a)), sb = wide ? int64_t(b) : int32_t(uint32_t(b));
    switch (insn.jmp_op()) {
    case ir::JmpOp::Jeq: return a == b;
    case ir::JmpOp::Jne: return a != b;
    case ir::JmpOp::Jgt: return a > b;
    case ir::JmpOp::Jge: return a >= b;
    case ir::JmpOp::Jlt: return a < b;
    case ir::JmpOp::Jle: return a <= b;
    case ir::JmpOp::Jsgt: return sa > sb;
    case ir::JmpOp::Jsge: return sa >= sb;
    case ir::JmpOp::Jslt: return sa < sb;
    case ir::JmpOp::Jsle: return sa <= sb;
    case ir::JmpOp::Jset: return (a & b) != 0;
    default: return false;
    }
}

std::vector<uint64_t> operands() {
    std::vector<uint64_t> out = {0, 1, 2, 7, 8, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
                                 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, ~0ULL, ~0ULL - 1};
    std::mt19937_64 random(7);
    for (int i = 0; i < 12; ++i) out.push_back(random());
    return out;
}

uint64_t evaluate(const z3::expr& e) {
    uint64_t value = 0;
    EXPECT_TRUE(e.simplify().is_numeral_u64(value)) << e;
    return value;
}

TEST(Z3Semantics, AluMatchesTheReference) {
    z3::context c;
    const auto values = operands();
    struct Form { ir::AluOp op; int16_t offset; };
    const Form forms[] = {{ir::AluOp::Add, 0}, {ir::AluOp::Sub, 0}, {ir::AluOp::Mul, 0}, {ir::AluOp::Div, 0},
                          {ir::AluOp::Div, 1}, {ir::AluOp::Mod, 0}, {ir::AluOp::Mod, 1}, {ir::AluOp::Or, 0},
                          {ir::AluOp::And, 0}, {ir::AluOp::Xor, 0}, {ir::AluOp::Lsh, 0}, {ir::AluOp::Rsh, 0},
                          {ir::AluOp::Arsh, 0}, {ir::AluOp::Neg, 0}, {ir::AluOp::Mov, 0}, {ir::AluOp::Mov, 8},
                          {ir::AluOp::Mov, 16}, {ir::AluOp::Mov, 32}};
    int compared = 0;
    for (auto cls : {ir::InstructionClass::Alu64, ir::InstructionClass::Alu}) {
        for (const Form& form : forms) {
            ir::Instruction insn;
            insn.opcode = uint8_t(cls) | uint8_t(form.op) | uint8_t(ir::Source::Reg);
            insn.offset = form.offset;
            for (uint64_t a : values) {
                for (uint64_t b : values) {
                    z3::expr result = alu_result(insn, c.bv_val(a, 64), c.bv_val(b, 64));
                    ASSERT_EQ(evaluate(result), reference_alu(insn, a, b))
                        << "opcode " << int(insn.opcode) << " offset " << insn.offset << " dst " << a << " src " << b;
                    ++compared;
                }
            }
        }
    }
    EXPECT_GT(compared, 20000);
}

TEST(Z3Semantics, ImmediateOperandIsSignExtended) {
    z3::context c;
    ir::Instruction insn;
    insn.opcode = uint8_t(ir::InstructionClass::Alu64) | uint8_t(ir::AluOp::Add) | uint8_t(ir::Source::Imm);
    insn.imm = -1;
    z3::expr src = operand(c, insn, c.bv_val(0, 64));
    EXPECT_EQ(evaluate(alu_result(insn, c.bv_val(5, 64), src)), 4u);
    insn.opcode = uint8_t(ir::InstructionClass::Alu) | uint8_t(ir::AluOp::Add) | uint8_t(ir::Source::Imm);
    EXPECT_EQ(evaluate(alu_result(insn, c.bv_val(0, 64), src)), 0xffffffffu);  // w0 += -1: zero-extended
}

TEST(Z3Semantics, ByteSwapsMatchTheReference) {
    z3::context c;
    for (auto cls : {ir::InstructionClass::Alu, ir::InstructionClass::Alu64}) {
        for (auto source : {ir::Source::Imm, ir::Source::Reg}) {
            if (cls == ir::InstructionClass::Alu64 && source == ir::Source::Reg) continue;
            for (int32_t bits : {16, 32, 64}) {
                ir::Instruction insn;
                insn.opcode = uint8_t(cls) | uint8_t(ir::AluOp::End) | uint8_t(source);
                insn.imm = bits;
                for (uint64_t a : operands())
                    EXPECT_EQ(evaluate(alu_result(insn, c.bv_val(a, 64), c.bv_val(0, 64))), reference_alu(insn, a, 0))
                        << int(insn.opcode) << " " << bits << " " << a;
            }
        }
    }
}

TEST(Z3Semantics, JumpsMatchTheReference) {
    z3::context c;
    const ir::JmpOp ops[] = {ir::JmpOp::Jeq, ir::JmpOp::Jne, ir::JmpOp::Jgt, ir::JmpOp::Jge, ir::JmpOp::Jlt,
                             ir::JmpOp::Jle, ir::JmpOp::Jsgt, ir::JmpOp::Jsge, ir::JmpOp::Jslt, ir::JmpOp::Jsle,
                             ir::JmpOp::Jset};
    for (auto cls : {ir::InstructionClass::Jmp, ir::InstructionClass::Jmp32}) {
        for (ir::JmpOp op : ops) {
            ir::Instruction insn;
            insn.opcode = uint8_t(cls) | uint8_t(op) | uint8_t(ir::Source::Reg);
            for (uint64_t a : operands()) {
                for (uint64_t b : operands()) {
                    z3::expr taken = jump_condition(insn, c.bv_val(a, 64), c.bv_val(b, 64)).simplify();
                    ASSERT_TRUE(taken.is_true() || taken.is_false());
                    ASSERT_EQ(taken.is_true(), reference_jump(insn, a, b)) << int(insn.opcode) << " " << a << " " << b;
                }
            }
        }
    }
}

TEST(Z3Semantics, MemoryIsLittleEndian) {
    z3::context c;
    z3::expr memory = c.constant("m", c.array_sort(c.bv_sort(64), c.bv_sort(8)));
    z3::expr address = c.bv_val(16, 64);
    z3::expr stored = store_bytes(memory, address, c.bv_val(uint64_t(0x11223344aabbccddULL), 64), 8);
    EXPECT_EQ(evaluate(load_bytes(stored, address, 8, false)), 0x11223344aabbccddULL);
    EXPECT_EQ(evaluate(load_bytes(stored, address, 1, false)), 0xddu);
    EXPECT_EQ(evaluate(load_bytes(stored, address, 2, true)), 0xffffffffffffccddULL);
    EXPECT_EQ(evaluate(load_bytes(stored, c.bv_val(20, 64), 4, false)), 0x11223344u);
}

}  // namespace
}  // namespace bpfvet::analyzer
