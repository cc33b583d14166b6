#pragma once
// Tristate numbers: a word whose every bit is known 0, known 1 or unknown, written (value; mask)
// with value & mask == 0. Bit i is unknown when mask bit i is 1, otherwise it equals value bit i.
// Example: (0b0100; 0b0011) = {0b0100, 0b0101, 0b0110, 0b0111}.
//
// The algorithms (tnum_add .. tnum_bswap) are templates over a word type (see word.hpp), so the
// proof test can run them on Z3 terms. They assume well-formed, non-bottom inputs; BasicTnum
// handles bottom before calling them.
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "domains/word.hpp"

namespace bpfvet::domains {

template <class W>
struct TnumParts {
  W value;
  W mask;
};

// x is a member: every known bit agrees.
template <class W>
typename W::Bool tnum_contains(const TnumParts<W>& a, const W& x) {
  return (x & ~a.mask) == a.value;
}

template <class W>
TnumParts<W> tnum_constant(const W& v) { return {v, zero_like(v)}; }

// The smallest tnum holding [lo, hi]: bits above the highest differing bit are known.
// Example: [0b0101, 0b0110] differ at bit 1, so the low two bits are unknown: (0b0100; 0b0011).
template <class W>
TnumParts<W> tnum_range(const W& lo, const W& hi) {
  const W unknown = smear_right(lo ^ hi);
  return {lo & ~unknown, unknown};
}

// Add the known parts; a bit is unknown where the carry could differ between the all-unknowns-zero
// sum (sv) and the all-unknowns-one sum (sv + sm). Example: (0b01; 0b00) + (0b00; 0b01):
// sv = 0b01, sigma = 0b10, chi = 0b11, so the result is (0b00; 0b11) (the sum is 1 or 2).
template <class W>
TnumParts<W> tnum_add(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W sm = a.mask + b.mask;
  const W sv = a.value + b.value;
  const W sigma = sm + sv;
  const W chi = sigma ^ sv;
  const W mu = chi | a.mask | b.mask;
  return {sv & ~mu, mu};
}

// Like add, comparing the borrow with all of a's unknowns set (alpha) and all of b's set (beta).
template <class W>
TnumParts<W> tnum_sub(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W dv = a.value - b.value;
  const W alpha = dv + a.mask;
  const W beta = dv - b.mask;
  const W chi = alpha ^ beta;
  const W mu = chi | a.mask | b.mask;
  return {dv & ~mu, mu};
}

template <class W>
TnumParts<W> tnum_neg(const TnumParts<W>& a) { return tnum_sub(tnum_constant(zero_like(a.value)), a); }

// A bit is known 1 if known 1 in both; unknown if it could be 1 in both and is not known 1.
template <class W>
TnumParts<W> tnum_and(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W alpha = a.value | a.mask;
  const W beta = b.value | b.mask;
  const W v = a.value & b.value;
  return {v, alpha & beta & ~v};
}

template <class W>
TnumParts<W> tnum_or(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W v = a.value | b.value;
  const W mu = a.mask | b.mask;
  return {v, mu & ~v};
}

template <class W>
TnumParts<W> tnum_xor(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W v = a.value ^ b.value;
  const W mu = a.mask | b.mask;
  return {v & ~mu, mu};
}

// Multiplication after Vishwanathan et al. (CGO 2022): the product of the known values is exact
// (acc_value); the uncertainty is accumulated separately, one partial product per bit of a: a
// known-1 bit of a contributes b's unknown bits, an unknown bit contributes all of b's possibly-1
// bits, a known-0 bit nothing. Example (4 bits): (0b0011; 0) * (0b0000; 0b0001) =
// acc_value 0, partial products (0;0b0001) + (0;0b0010) -> (0; 0b0011) ... result (0b0000; 0b0011)
// which is {0, 1, 2, 3} and holds the true products {0, 3}.
// The loop runs once per bit of the width (a fixed count, so it unrolls into a Z3 term); once a is
// known to be all zeros the remaining rounds add nothing and the concrete word leaves early.
template <class W>
TnumParts<W> tnum_mul(TnumParts<W> a, TnumParts<W> b) {
  const W acc_value = a.value * b.value;
  const W zero = zero_like(a.value);
  const W one = constant_like(a.value, 1);
  TnumParts<W> acc_mask{zero, zero};
  for (unsigned round = 0; round < W::bits; ++round) {
    if (known_zero(a.value | a.mask)) break;
    const W partial = select((a.value & one) != zero, b.mask,
                             select((a.mask & one) != zero, b.value | b.mask, zero));
    acc_mask = tnum_add(acc_mask, TnumParts<W>{zero, partial});
    a = {a.value >> 1, a.mask >> 1};
    b = {b.value << 1, b.mask << 1};
  }
  return tnum_add(tnum_constant(acc_value), acc_mask);
}

// Shifts by a word amount k (already masked by the caller); amounts >= width give 0 (or the sign).
template <class W>
TnumParts<W> tnum_lshift(const TnumParts<W>& a, const W& k) { return {shl(a.value, k), shl(a.mask, k)}; }
template <class W>
TnumParts<W> tnum_rshift(const TnumParts<W>& a, const W& k) { return {lshr(a.value, k), lshr(a.mask, k)}; }
// An unknown sign bit spreads as unknown, a known one as known: (0b1000; 0) >> 2 = (0b1110; 0).
template <class W>
TnumParts<W> tnum_arshift(const TnumParts<W>& a, const W& k) { return {ashr(a.value, k), ashr(a.mask, k)}; }

// Least upper bound: a bit stays known only if known and equal in both.
template <class W>
TnumParts<W> tnum_join(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W mu = (a.value ^ b.value) | a.mask | b.mask;
  return {a.value & b.value & ~mu, mu};
}

// Greatest lower bound; empty when a bit is known differently in the two (see tnum_meet_conflict).
template <class W>
TnumParts<W> tnum_meet(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W mu = a.mask & b.mask;
  return {(a.value | b.value) & ~mu, mu};
}
template <class W>
typename W::Bool tnum_meet_conflict(const TnumParts<W>& a, const TnumParts<W>& b) {
  return ((a.value ^ b.value) & ~(a.mask | b.mask)) != zero_like(a.value);
}

// Shift by an unknown amount: the join of the shifts by every amount the tnum s allows once
// masked to the ISA's shift mask. Example (8 bits): (0b1; 0) << (0b000; 0b001) joins 1<<0 and 1<<1
// into (0b00; 0b11).
template <class W, class Shift>
TnumParts<W> tnum_shift_by_tnum(const TnumParts<W>& a, const TnumParts<W>& s, Shift shift_by) {
  const W amount_mask = constant_like(a.value, shift_amount_mask<W::bits>);
  const TnumParts<W> amount{s.value & amount_mask, s.mask & amount_mask};
  if (known_zero(amount.mask)) return shift_by(a, amount.value);
  TnumParts<W> result = shift_by(a, amount.value);
  for (uint64_t k = 0; k <= shift_amount_mask<W::bits>; ++k) {
    const W kw = constant_like(a.value, k);
    const auto possible = tnum_contains(amount, kw);
    const TnumParts<W> joined = tnum_join(result, shift_by(a, kw));
    result = {select(possible, joined.value, result.value), select(possible, joined.mask, result.mask)};
  }
  return result;
}

// Unsigned division and remainder never exceed the dividend (x/0 = 0, x%0 = x in BPF), so the
// result keeps a's leading known zeros: coarse but sound. A remainder by a known power of two
// 2^k is exact: the low k bits of a.
template <class W>
TnumParts<W> tnum_udiv(const TnumParts<W>& a, const TnumParts<W>& b) {
  return {zero_like(a.value), smear_right(a.value | a.mask)};
}
template <class W>
TnumParts<W> tnum_umod(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W zero = zero_like(a.value);
  const W low_bits = b.value - constant_like(zero, 1);
  const auto power_of_two = b.mask == zero && b.value != zero && (b.value & low_bits) == zero;
  const TnumParts<W> coarse{zero, smear_right(a.value | a.mask)};
  const TnumParts<W> exact = tnum_and(a, tnum_constant(low_bits));
  return {select(power_of_two, exact.value, coarse.value), select(power_of_two, exact.mask, coarse.mask)};
}

// Keep the low `n` bits, zero the rest (n <= width).
template <class W>
TnumParts<W> tnum_zero_extend(const TnumParts<W>& a, unsigned n) {
  const W keep = constant_like(a.value, n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1);
  return {a.value & keep, a.mask & keep};
}
// Copy bit n-1 upward: move it to the top, then shift back arithmetically.
template <class W>
TnumParts<W> tnum_sign_extend(const TnumParts<W>& a, unsigned n) {
  const W up = constant_like(a.value, W::bits - n);
  return tnum_arshift(tnum_lshift(a, up), up);
}

// Reverse the order of the low `units` groups of `unit_bits` bits and zero the rest; at 64 bits a
// unit is a byte, so bswap16 maps 0x..aabb to 0xbbaa. A bit permutation, so exact on tnums.
template <class W>
W swap_units(const W& x, unsigned unit_bits, unsigned units) {
  const W unit_mask = constant_like(x, (uint64_t{1} << unit_bits) - 1);
  W result = zero_like(x);
  for (unsigned i = 0; i < units; ++i) {
    const W unit = (x >> (i * unit_bits)) & unit_mask;
    result = result | (unit << ((units - 1 - i) * unit_bits));
  }
  return result;
}
template <class W>
TnumParts<W> tnum_swap_units(const TnumParts<W>& a, unsigned unit_bits, unsigned units) {
  return {swap_units(a.value, unit_bits, units), swap_units(a.mask, unit_bits, units)};
}

// ---------------------------------------------------------------------------------------------
// The value type used by the verifier.

template <unsigned Bits>
class BasicTnum {
 public:
  using Word = domains::Word<Bits>;
  using Parts = TnumParts<Word>;
  static constexpr unsigned bits = Bits;
  static constexpr unsigned half_bits = Bits >= 2 ? Bits / 2 : 1;

  static constexpr BasicTnum top() { return BasicTnum(0, all_ones<Bits>); }
  // Bottom is the one ill-formed pattern value & mask != 0 we allow: all ones in both.
  static constexpr BasicTnum bottom() { return BasicTnum(all_ones<Bits>, all_ones<Bits>); }
  static constexpr BasicTnum constant(uint64_t v) { return BasicTnum(v & all_ones<Bits>, 0); }
  // Requires value & mask == 0 (bits outside the width are dropped).
  static constexpr BasicTnum make(uint64_t value, uint64_t mask) {
    mask &= all_ones<Bits>;
    return BasicTnum(value & ~mask & all_ones<Bits>, mask);
  }
  static constexpr BasicTnum range(uint64_t lo, uint64_t hi) {
    return lo > hi ? bottom() : from_parts(tnum_range(Word::from(lo), Word::from(hi)));
  }
  static constexpr BasicTnum from_parts(const Parts& p) { return BasicTnum(p.value.raw(), p.mask.raw()); }
  [[nodiscard]] constexpr Parts parts() const { return {Word::from(value_), Word::from(mask_)}; }

  [[nodiscard]] constexpr uint64_t value() const { return value_; }
  [[nodiscard]] constexpr uint64_t mask() const { return mask_; }
  [[nodiscard]] constexpr bool is_bottom() const { return (value_ & mask_) != 0; }
  [[nodiscard]] constexpr bool is_top() const { return value_ == 0 && mask_ == all_ones<Bits>; }
  [[nodiscard]] constexpr bool is_constant() const { return mask_ == 0; }
  // Smallest and largest member, unsigned.
  [[nodiscard]] constexpr uint64_t min_value() const { return value_; }
  [[nodiscard]] constexpr uint64_t max_value() const { return value_ | mask_; }
  [[nodiscard]] constexpr bool contains(uint64_t x) const {
    return !is_bottom() && ((x & all_ones<Bits>) & ~static_cast<uint64_t>(mask_)) == value_;
  }

  [[nodiscard]] constexpr bool leq(const BasicTnum& o) const {
    if (is_bottom()) return true;
    if (o.is_bottom()) return false;
    // Every bit unknown here is unknown there, and o's known bits agree with ours.
    return (mask_ & ~o.mask_) == 0 && (value_ & ~o.mask_) == o.value_;
  }
  [[nodiscard]] constexpr BasicTnum join(const BasicTnum& o) const {
    if (is_bottom()) return o;
    if (o.is_bottom()) return *this;
    return from_parts(tnum_join(parts(), o.parts()));
  }
  [[nodiscard]] constexpr BasicTnum meet(const BasicTnum& o) const {
    if (is_bottom() || o.is_bottom() || tnum_meet_conflict(parts(), o.parts())) return bottom();
    return from_parts(tnum_meet(parts(), o.parts()));
  }
  friend constexpr bool operator==(const BasicTnum&, const BasicTnum&) = default;

  // Arithmetic; any bottom operand gives bottom.
  [[nodiscard]] BasicTnum add(const BasicTnum& o) const { return binary(o, [](auto a, auto b) { return tnum_add(a, b); }); }
  [[nodiscard]] BasicTnum sub(const BasicTnum& o) const { return binary(o, [](auto a, auto b) { return tnum_sub(a, b); }); }
  [[nodiscard]] BasicTnum mul(const BasicTnum& o) const { return binary(o, [](auto a, auto b) { return tnum_mul(a, b); }); }
  [[nodiscard]] BasicTnum udiv(const BasicTnum& o) const {
    if (is_constant() && o.is_constant()) return constant(o.value_ == 0 ? 0 : value_ / o.value_);
    return binary(o, [](auto a, auto b) { return tnum_udiv(a, b); });
  }
  [[nodiscard]] BasicTnum umod(const BasicTnum& o) const {
    if (is_constant() && o.is_constant()) return constant(o.value_ == 0 ? value_ : value_ % o.value_);
    return binary(o, [](auto a, auto b) { return tnum_umod(a, b); });
  }
  // Signed division: exact on constants, otherwise unknown (sound, coarse).
  [[nodiscard]] BasicTnum sdiv(const BasicTnum& o) const;
  [[nodiscard]] BasicTnum smod(const BasicTnum& o) const;
  [[nodiscard]] BasicTnum bit_and(const BasicTnum& o) const { return binary(o, [](auto a, auto b) { return tnum_and(a, b); }); }
  [[nodiscard]] BasicTnum bit_or(const BasicTnum& o) const { return binary(o, [](auto a, auto b) { return tnum_or(a, b); }); }
  [[nodiscard]] BasicTnum bit_xor(const BasicTnum& o) const { return binary(o, [](auto a, auto b) { return tnum_xor(a, b); }); }
  [[nodiscard]] BasicTnum neg() const { return is_bottom() ? bottom() : from_parts(tnum_neg(parts())); }

  // Shifts by a constant (masked like the ISA: k & 63 at 64 bits).
  [[nodiscard]] BasicTnum lsh(unsigned k) const { return shift_constant(k, [](auto a, auto s) { return tnum_lshift(a, s); }); }
  [[nodiscard]] BasicTnum rsh(unsigned k) const { return shift_constant(k, [](auto a, auto s) { return tnum_rshift(a, s); }); }
  [[nodiscard]] BasicTnum arsh(unsigned k) const { return shift_constant(k, [](auto a, auto s) { return tnum_arshift(a, s); }); }
  // Shifts by an unknown amount.
  [[nodiscard]] BasicTnum lsh(const BasicTnum& s) const { return shift_tnum(s, [](auto a, auto k) { return tnum_lshift(a, k); }); }
  [[nodiscard]] BasicTnum rsh(const BasicTnum& s) const { return shift_tnum(s, [](auto a, auto k) { return tnum_rshift(a, k); }); }
  [[nodiscard]] BasicTnum arsh(const BasicTnum& s) const { return shift_tnum(s, [](auto a, auto k) { return tnum_arshift(a, k); }); }

  [[nodiscard]] BasicTnum zero_extend(unsigned from_bits) const { return unary([&](auto a) { return tnum_zero_extend(a, from_bits); }); }
  [[nodiscard]] BasicTnum sign_extend(unsigned from_bits) const { return unary([&](auto a) { return tnum_sign_extend(a, from_bits); }); }
  // Byte swap of the low `bytes` bytes (at widths below 64 a "byte" is Bits/8 bits).
  [[nodiscard]] BasicTnum byte_swap(unsigned bytes) const { return swap_units_of(Bits >= 8 ? Bits / 8 : 1, bytes); }
  // Reverse `units` groups of `unit_bits` bits (capped at the width), zeroing the rest.
  [[nodiscard]] BasicTnum swap_units_of(unsigned unit_bits, unsigned units) const {
    if (units * unit_bits > Bits) units = Bits / unit_bits;
    return unary([&](auto a) { return tnum_swap_units(a, unit_bits, units); });
  }
  // Endianness conversion to/from big endian of n bits on a little-endian machine is a swap; to
  // little endian it is a zero-extension (truncation) to n bits.
  [[nodiscard]] BasicTnum to_big_endian(unsigned n) const { return byte_swap(n / (64 / 8)); }
  [[nodiscard]] BasicTnum to_little_endian(unsigned n) const { return zero_extend(n * Bits / 64); }
  // Keep the low `to_bits` bits (the same as a zero-extension at this width).
  [[nodiscard]] BasicTnum truncate(unsigned to_bits) const { return zero_extend(to_bits); }
  // The low half as a tnum of half the width.
  [[nodiscard]] BasicTnum<half_bits> low_half() const {
    if (is_bottom()) return BasicTnum<half_bits>::bottom();
    return BasicTnum<half_bits>::make(value_, mask_);
  }

  // Kernel style "(0x5; 0xa)".
  [[nodiscard]] std::string to_string() const {
    if (is_bottom()) return "bottom";
    return fmt::format("(0x{:x}; 0x{:x})", uint64_t{value_}, uint64_t{mask_});
  }

 private:
  constexpr BasicTnum(uint64_t value, uint64_t mask)
      : value_(static_cast<StorageFor<Bits>>(value)), mask_(static_cast<StorageFor<Bits>>(mask)) {}

  template <class F>
  BasicTnum binary(const BasicTnum& o, F f) const {
    if (is_bottom() || o.is_bottom()) return bottom();
    return from_parts(f(parts(), o.parts()));
  }
  template <class F>
  BasicTnum unary(F f) const {
    if (is_bottom()) return bottom();
    return from_parts(f(parts()));
  }
  template <class F>
  BasicTnum shift_constant(unsigned k, F f) const {
    if (is_bottom()) return bottom();
    return from_parts(f(parts(), Word::from(k & shift_amount_mask<Bits>)));
  }
  template <class F>
  BasicTnum shift_tnum(const BasicTnum& s, F f) const {
    if (is_bottom() || s.is_bottom()) return bottom();
    return from_parts(tnum_shift_by_tnum(parts(), s.parts(), f));
  }

  StorageFor<Bits> value_;
  StorageFor<Bits> mask_;
};

template <unsigned Bits>
BasicTnum<Bits> BasicTnum<Bits>::sdiv(const BasicTnum& o) const {
  if (is_bottom() || o.is_bottom()) return bottom();
  if (!is_constant() || !o.is_constant()) return top();
  const int64_t a = to_signed<Bits>(value_), b = to_signed<Bits>(o.value_);
  if (b == 0) return constant(0);
  if (b == -1) return constant(0 - static_cast<uint64_t>(a));  // MIN / -1 wraps to MIN
  return constant(static_cast<uint64_t>(a / b));
}
template <unsigned Bits>
BasicTnum<Bits> BasicTnum<Bits>::smod(const BasicTnum& o) const {
  if (is_bottom() || o.is_bottom()) return bottom();
  if (!is_constant() || !o.is_constant()) return top();
  const int64_t a = to_signed<Bits>(value_), b = to_signed<Bits>(o.value_);
  if (b == 0) return *this;
  if (b == -1) return constant(0);
  return constant(static_cast<uint64_t>(a % b));
}

using Tnum = BasicTnum<64>;

}  // namespace bpfvet::domains
