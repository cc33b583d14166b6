#pragma once
// A machine word of a fixed bit width, and the small vocabulary the domain algorithms are written
// in. Every abstract operation in tnum.hpp, interval.hpp, reduction.hpp and branch.hpp is a template
// over a "word" type W that provides:
//
//   W::bits, W::Bool, W::Half                 width, truth type, half-width word type
//   + - * & | ^ ~ unary-, == !=, << >> by an unsigned constant (logical)
//   shl(a, b) lshr(a, b) ashr(a, b)           shift by a word; amounts >= bits shift everything out
//   ashr(a, k)                                arithmetic shift by a constant
//   ult ule slt sle                           comparisons giving W::Bool
//   select(c, a, b)                           c ? a : b, without branching
//   udiv urem                                 SMT-LIB semantics (x/0 = all ones, x%0 = x)
//   umul_overflows smul_overflows             does the true product leave the width?
//   constant_like(w, c)                       the constant c as a word of w's type
//   low_half(w), zero_extend_to<W>(h), sign_extend_to<W>(h)
//   known_zero(w)                             true only if w is certainly 0 (a loop-exit hint)
//
// Word<Bits> below is the concrete instance the verifier runs. The proof test instantiates the very
// same templates with a Z3 bit-vector wrapper (tests/domains/z3_word.hpp), so what is proven is the
// code we run, not a transcription of it. Hence the rule for all domain algorithms: no `if` or `?:`
// on a W::Bool, only select(); loops run a number of times fixed by W::bits.
#include <cstdint>
#include <type_traits>

namespace bpfvet::domains {

template <unsigned Bits>
inline constexpr uint64_t all_ones = Bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << Bits) - 1;

template <unsigned Bits>
inline constexpr uint64_t sign_bit = uint64_t{1} << (Bits - 1);

// Smallest unsigned integer that stores Bits bits; keeps Scalar at 64 bytes.
template <unsigned Bits>
using StorageFor = std::conditional_t<
    Bits <= 8, uint8_t,
    std::conditional_t<Bits <= 16, uint16_t, std::conditional_t<Bits <= 32, uint32_t, uint64_t>>>;

// The concrete meaning of a Bits-wide pattern read as a signed number, e.g. at 4 bits 0b1110 -> -2.
template <unsigned Bits>
constexpr int64_t to_signed(uint64_t raw) {
  if constexpr (Bits >= 64) {
    return static_cast<int64_t>(raw);
  } else {
    return static_cast<int64_t>(raw << (64 - Bits)) >> (64 - Bits);
  }
}

template <unsigned Bits>
class Word {
  static_assert(Bits >= 1 && Bits <= 64);

 public:
  static constexpr unsigned bits = Bits;
  using Bool = bool;
  using Half = Word<(Bits >= 2 ? Bits / 2 : 1)>;

  constexpr Word() = default;
  static constexpr Word from(uint64_t v) {
    Word w;
    w.raw_ = v & all_ones<Bits>;
    return w;
  }
  [[nodiscard]] constexpr uint64_t raw() const { return raw_; }
  [[nodiscard]] constexpr int64_t as_signed() const { return to_signed<Bits>(raw_); }

  friend constexpr Word operator+(Word a, Word b) { return from(a.raw_ + b.raw_); }
  friend constexpr Word operator-(Word a, Word b) { return from(a.raw_ - b.raw_); }
  friend constexpr Word operator*(Word a, Word b) { return from(a.raw_ * b.raw_); }
  friend constexpr Word operator&(Word a, Word b) { return from(a.raw_ & b.raw_); }
  friend constexpr Word operator|(Word a, Word b) { return from(a.raw_ | b.raw_); }
  friend constexpr Word operator^(Word a, Word b) { return from(a.raw_ ^ b.raw_); }
  friend constexpr Word operator~(Word a) { return from(~a.raw_); }
  friend constexpr Word operator-(Word a) { return from(0 - a.raw_); }
  friend constexpr bool operator==(Word a, Word b) { return a.raw_ == b.raw_; }
  friend constexpr bool operator!=(Word a, Word b) { return a.raw_ != b.raw_; }
  friend constexpr Word operator<<(Word a, unsigned k) { return k >= Bits ? Word{} : from(a.raw_ << k); }
  friend constexpr Word operator>>(Word a, unsigned k) { return k >= Bits ? Word{} : from(a.raw_ >> k); }

 private:
  uint64_t raw_ = 0;
};

template <unsigned Bits>
constexpr Word<Bits> constant_like(Word<Bits>, uint64_t c) { return Word<Bits>::from(c); }
template <unsigned Bits>
constexpr bool ult(Word<Bits> a, Word<Bits> b) { return a.raw() < b.raw(); }
template <unsigned Bits>
constexpr bool ule(Word<Bits> a, Word<Bits> b) { return a.raw() <= b.raw(); }
template <unsigned Bits>
constexpr bool slt(Word<Bits> a, Word<Bits> b) { return a.as_signed() < b.as_signed(); }
template <unsigned Bits>
constexpr bool sle(Word<Bits> a, Word<Bits> b) { return a.as_signed() <= b.as_signed(); }
template <unsigned Bits>
constexpr Word<Bits> select(bool c, Word<Bits> a, Word<Bits> b) { return c ? a : b; }
constexpr bool select(bool c, bool a, bool b) { return c ? a : b; }

template <unsigned Bits>
constexpr Word<Bits> shl(Word<Bits> a, Word<Bits> k) { return k.raw() >= Bits ? Word<Bits>{} : a << unsigned(k.raw()); }
template <unsigned Bits>
constexpr Word<Bits> lshr(Word<Bits> a, Word<Bits> k) { return k.raw() >= Bits ? Word<Bits>{} : a >> unsigned(k.raw()); }
template <unsigned Bits>
constexpr Word<Bits> ashr(Word<Bits> a, unsigned k) {
  const int64_t s = a.as_signed();
  return Word<Bits>::from(static_cast<uint64_t>(s >> (k >= Bits ? Bits - 1 : k)));
}
template <unsigned Bits>
constexpr Word<Bits> ashr(Word<Bits> a, Word<Bits> k) { return ashr(a, unsigned(k.raw() >= Bits ? Bits : k.raw())); }

template <unsigned Bits>
constexpr Word<Bits> udiv(Word<Bits> a, Word<Bits> b) { return b.raw() == 0 ? Word<Bits>::from(~uint64_t{0}) : Word<Bits>::from(a.raw() / b.raw()); }
template <unsigned Bits>
constexpr Word<Bits> urem(Word<Bits> a, Word<Bits> b) { return b.raw() == 0 ? a : Word<Bits>::from(a.raw() % b.raw()); }

template <unsigned Bits>
constexpr bool umul_overflows(Word<Bits> a, Word<Bits> b) {
  uint64_t product = 0;
  if (__builtin_mul_overflow(a.raw(), b.raw(), &product)) return true;
  return (product & ~all_ones<Bits>) != 0;
}
template <unsigned Bits>
constexpr bool smul_overflows(Word<Bits> a, Word<Bits> b) {
  int64_t product = 0;
  if (__builtin_mul_overflow(a.as_signed(), b.as_signed(), &product)) return true;
  return product != to_signed<Bits>(static_cast<uint64_t>(product));
}

template <unsigned Bits>
constexpr typename Word<Bits>::Half low_half(Word<Bits> a) { return Word<Bits>::Half::from(a.raw()); }
template <class W, unsigned HalfBits>
constexpr W zero_extend_to(Word<HalfBits> h) { return W::from(h.raw()); }
template <class W, unsigned HalfBits>
constexpr W sign_extend_to(Word<HalfBits> h) { return W::from(static_cast<uint64_t>(h.as_signed())); }

template <unsigned Bits>
constexpr bool known_zero(Word<Bits> a) { return a.raw() == 0; }

// ---- Helpers written once in the vocabulary above ----

template <class W>
W umin(const W& a, const W& b) { return select(ult(a, b), a, b); }
template <class W>
W umax(const W& a, const W& b) { return select(ult(a, b), b, a); }
template <class W>
W smin(const W& a, const W& b) { return select(slt(a, b), a, b); }
template <class W>
W smax(const W& a, const W& b) { return select(slt(a, b), b, a); }

// Every bit at or below the highest set bit: 0b0010'0100 -> 0b0011'1111. Used for "x < 2^k".
template <class W>
W smear_right(W x) {
  for (unsigned step = 1; step < W::bits; step *= 2) x = x | (x >> step);
  return x;
}

template <class W>
W zero_like(const W& w) { return constant_like(w, 0); }
template <class W>
W ones_like(const W& w) { return constant_like(w, ~uint64_t{0}); }
template <class W>
W signed_min_like(const W& w) { return constant_like(w, sign_bit<W::bits>); }
template <class W>
W signed_max_like(const W& w) { return constant_like(w, sign_bit<W::bits> - 1); }

// Shift amounts are masked to the next power of two minus one (63 at 64 bits, 31 at 32 bits, as
// the ISA does); at widths that are not powers of two an amount >= bits shifts everything out.
template <unsigned Bits>
inline constexpr uint64_t shift_amount_mask = [] {
  uint64_t p = 1;
  while (p < Bits) p *= 2;
  return p - 1;
}();

}  // namespace bpfvet::domains
