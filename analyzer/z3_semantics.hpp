// The bit-precise meaning of eBPF instructions as Z3 bit-vector terms, for the
// path formulas of the refinement (analyzer/z3_paths.hpp). Registers are 64-bit
// terms; memory is an array from 64-bit addresses to bytes, little-endian.
//
//   alu_result(w0 += 1) on dst = 0xffffffff:  ((0xffffffff + 1) & 0xffffffff) zero-extended = 0
//   jump_condition(if r1 s> r2):               bvsgt(r1, r2)
#pragma once

#include "ir/instruction.hpp"

#include <z3++.h>

namespace bpfvet::analyzer {

// The operand of an instruction: src register's term, or the immediate
// sign-extended to 64 bits.
[[nodiscard]] z3::expr operand(z3::context& context, const ir::Instruction& insn, const z3::expr& source_register);

// dst after an ALU or ALU64 instruction (32-bit forms zero-extend their result).
// Division by zero gives 0 and modulo by zero leaves dst (32-bit: its low half), as in RFC 9669.
[[nodiscard]] z3::expr alu_result(const ir::Instruction& insn, const z3::expr& dst, const z3::expr& src);

// Whether a conditional jump (JMP or JMP32) is taken.
[[nodiscard]] z3::expr jump_condition(const ir::Instruction& insn, const z3::expr& dst, const z3::expr& src);

// `width` bytes at `address`, little-endian, extended to 64 bits.
[[nodiscard]] z3::expr load_bytes(const z3::expr& memory, const z3::expr& address, int width, bool sign_extend);
[[nodiscard]] z3::expr store_bytes(const z3::expr& memory, const z3::expr& address, const z3::expr& value,
                                   int width);

}  // namespace bpfvet::analyzer
