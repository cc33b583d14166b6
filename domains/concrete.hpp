#pragma once
// The concrete meaning of every ALU operation and comparison at a width of Bits bits: what the
// abstract domains must over-approximate, what the constant fast path computes, and what the
// exhaustive tests compare against. BPF ISA semantics (RFC 9669): x / 0 = 0, x % 0 = x,
// MIN / -1 = MIN, MIN % -1 = 0, shift amounts masked to width - 1.
//
// Widths below 64 scale the ISA: a "byte" is Bits/8 bits (at least one), so at 8 bits
// ZeroExtend8 keeps 1 bit, ZeroExtend16 2 bits and ZeroExtend32 4 bits (half the width), and the
// byte swaps reverse groups of one bit. A Half (32-bit ALU) operation works on the low Bits/2 bits
// and zero-extends its result. A Half Bswap64 is treated as Bswap32 (the 32-bit ALU has no 64-bit
// swap); Half SignExtend8/16 sign-extend into the low half (as movsx32 does).
#include <cstdint>

#include "domains/word.hpp"

namespace bpfvet::domains {

enum class OperandWidth { Full, Half };
enum class BinaryOp { Add, Sub, Mul, UDiv, UMod, SDiv, SMod, And, Or, Xor, Lsh, Rsh, Arsh };
enum class UnaryOp {
  Neg, Bswap16, Bswap32, Bswap64,
  ZeroExtend8, ZeroExtend16, ZeroExtend32,
  SignExtend8, SignExtend16, SignExtend32
};
// Set means (a & b) != 0.
enum class Comparison { Eq, Ne, Ugt, Uge, Ult, Ule, Sgt, Sge, Slt, Sle, Set };

inline constexpr BinaryOp all_binary_ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::UDiv, BinaryOp::UMod,
                                              BinaryOp::SDiv, BinaryOp::SMod, BinaryOp::And, BinaryOp::Or, BinaryOp::Xor,
                                              BinaryOp::Lsh, BinaryOp::Rsh, BinaryOp::Arsh};
inline constexpr UnaryOp all_unary_ops[] = {UnaryOp::Neg, UnaryOp::Bswap16, UnaryOp::Bswap32, UnaryOp::Bswap64,
                                            UnaryOp::ZeroExtend8, UnaryOp::ZeroExtend16, UnaryOp::ZeroExtend32,
                                            UnaryOp::SignExtend8, UnaryOp::SignExtend16, UnaryOp::SignExtend32};
inline constexpr Comparison all_comparisons[] = {Comparison::Eq, Comparison::Ne, Comparison::Ugt, Comparison::Uge,
                                                 Comparison::Ult, Comparison::Ule, Comparison::Sgt, Comparison::Sge,
                                                 Comparison::Slt, Comparison::Sle, Comparison::Set};

const char* name(BinaryOp op);
const char* name(UnaryOp op);
const char* name(Comparison c);

// Bits in one scaled "byte" for a domain of width Bits (8 at 64 bits).
template <unsigned Bits>
inline constexpr unsigned unit_bits = Bits >= 8 ? Bits / 8 : 1;

// How many bits ZeroExtendN / SignExtendN keep and how many units a swap reverses, capped at the
// width of the word operated on (which is Bits/2 for a Half operation).
constexpr unsigned extension_bits(UnaryOp op, unsigned unit, unsigned width) {
  unsigned n = width;
  switch (op) {
    case UnaryOp::ZeroExtend8: case UnaryOp::SignExtend8: n = unit; break;
    case UnaryOp::ZeroExtend16: case UnaryOp::SignExtend16: n = 2 * unit; break;
    case UnaryOp::ZeroExtend32: case UnaryOp::SignExtend32: n = 4 * unit; break;
    default: break;
  }
  return n < width ? n : width;
}
constexpr unsigned swap_unit_count(UnaryOp op, unsigned unit, unsigned width) {
  unsigned units = op == UnaryOp::Bswap16 ? 2 : op == UnaryOp::Bswap32 ? 4 : 8;
  return units * unit <= width ? units : width / unit;
}

namespace concrete {

template <unsigned Bits>
uint64_t binary_full(BinaryOp op, uint64_t a, uint64_t b) {
  constexpr uint64_t ones = all_ones<Bits>;
  a &= ones;
  b &= ones;
  const int64_t sa = to_signed<Bits>(a), sb = to_signed<Bits>(b);
  const unsigned k = static_cast<unsigned>(b & shift_amount_mask<Bits>);
  uint64_t r = 0;
  switch (op) {
    case BinaryOp::Add: r = a + b; break;
    case BinaryOp::Sub: r = a - b; break;
    case BinaryOp::Mul: r = a * b; break;
    case BinaryOp::UDiv: r = b == 0 ? 0 : a / b; break;
    case BinaryOp::UMod: r = b == 0 ? a : a % b; break;
    case BinaryOp::SDiv: r = sb == 0 ? 0 : sb == -1 ? 0 - a : static_cast<uint64_t>(sa / sb); break;
    case BinaryOp::SMod: r = sb == 0 ? a : sb == -1 ? 0 : static_cast<uint64_t>(sa % sb); break;
    case BinaryOp::And: r = a & b; break;
    case BinaryOp::Or: r = a | b; break;
    case BinaryOp::Xor: r = a ^ b; break;
    case BinaryOp::Lsh: r = k >= Bits ? 0 : a << k; break;
    case BinaryOp::Rsh: r = k >= Bits ? 0 : a >> k; break;
    case BinaryOp::Arsh: r = static_cast<uint64_t>(sa >> (k >= Bits ? Bits - 1 : k)); break;
  }
  return r & ones;
}

template <unsigned Bits>
uint64_t unary_full(UnaryOp op, uint64_t a, unsigned unit) {
  a &= all_ones<Bits>;
  switch (op) {
    case UnaryOp::Neg: return (0 - a) & all_ones<Bits>;
    case UnaryOp::Bswap16: case UnaryOp::Bswap32: case UnaryOp::Bswap64: {
      const unsigned units = swap_unit_count(op, unit, Bits);
      uint64_t r = 0;
      for (unsigned i = 0; i < units; ++i)
        r |= ((a >> (i * unit)) & ((uint64_t{1} << unit) - 1)) << ((units - 1 - i) * unit);
      return r;
    }
    case UnaryOp::ZeroExtend8: case UnaryOp::ZeroExtend16: case UnaryOp::ZeroExtend32: {
      const unsigned n = extension_bits(op, unit, Bits);
      return n >= 64 ? a : a & ((uint64_t{1} << n) - 1);
    }
    case UnaryOp::SignExtend8: case UnaryOp::SignExtend16: case UnaryOp::SignExtend32: {
      const unsigned n = extension_bits(op, unit, Bits);
      const int64_t s = static_cast<int64_t>(a << (64 - n)) >> (64 - n);
      return static_cast<uint64_t>(s) & all_ones<Bits>;
    }
  }
  return 0;
}

template <unsigned Bits>
uint64_t binary(BinaryOp op, uint64_t a, uint64_t b, OperandWidth w) {
  if (w == OperandWidth::Full) return binary_full<Bits>(op, a, b);
  return binary_full<Bits / 2>(op, a, b);  // inputs truncated, result zero-extended
}

template <unsigned Bits>
uint64_t unary(UnaryOp op, uint64_t a, OperandWidth w) {
  if (w == OperandWidth::Full) return unary_full<Bits>(op, a, unit_bits<Bits>);
  if (op == UnaryOp::Bswap64) op = UnaryOp::Bswap32;
  return unary_full<Bits / 2>(op, a, unit_bits<Bits>);
}

template <unsigned Bits>
bool compare_full(Comparison c, uint64_t a, uint64_t b) {
  a &= all_ones<Bits>;
  b &= all_ones<Bits>;
  const int64_t sa = to_signed<Bits>(a), sb = to_signed<Bits>(b);
  switch (c) {
    case Comparison::Eq: return a == b;
    case Comparison::Ne: return a != b;
    case Comparison::Ugt: return a > b;
    case Comparison::Uge: return a >= b;
    case Comparison::Ult: return a < b;
    case Comparison::Ule: return a <= b;
    case Comparison::Sgt: return sa > sb;
    case Comparison::Sge: return sa >= sb;
    case Comparison::Slt: return sa < sb;
    case Comparison::Sle: return sa <= sb;
    case Comparison::Set: return (a & b) != 0;
  }
  return false;
}

template <unsigned Bits>
bool compare(Comparison c, uint64_t a, uint64_t b, OperandWidth w) {
  return w == OperandWidth::Full ? compare_full<Bits>(c, a, b) : compare_full<Bits / 2>(c, a, b);
}

}  // namespace concrete
}  // namespace bpfvet::domains
