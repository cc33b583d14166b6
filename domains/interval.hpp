#pragma once
// Intervals of unsigned and of signed Bits-wide values, wrap-around aware: an operation that may
// overflow for some members gives a sound result (often top), never a wrapped wrong range.
//
// As in tnum.hpp the algorithms (u_* for unsigned, s_* for signed) are templates over a word type so
// the proof test can run them on Z3 terms; they take non-empty intervals. For branch refinement see
// branch.hpp.
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "domains/word.hpp"

namespace bpfvet::domains {

// [lo, hi], compared unsigned by the u_* functions and signed by the s_* functions.
template <class W>
struct IntervalParts {
  W lo;
  W hi;
};

template <class W>
IntervalParts<W> u_top_like(const W& w) { return {zero_like(w), ones_like(w)}; }
template <class W>
IntervalParts<W> s_top_like(const W& w) { return {signed_min_like(w), signed_max_like(w)}; }

template <class W>
IntervalParts<W> choose(const typename W::Bool& c, const IntervalParts<W>& a, const IntervalParts<W>& b) {
  return {select(c, a.lo, b.lo), select(c, a.hi, b.hi)};
}

template <class W>
typename W::Bool u_contains(const IntervalParts<W>& a, const W& x) { return ule(a.lo, x) && ule(x, a.hi); }
template <class W>
typename W::Bool s_contains(const IntervalParts<W>& a, const W& x) { return sle(a.lo, x) && sle(x, a.hi); }
template <class W>
typename W::Bool u_empty(const IntervalParts<W>& a) { return ult(a.hi, a.lo); }
template <class W>
typename W::Bool s_empty(const IntervalParts<W>& a) { return slt(a.hi, a.lo); }

template <class W>
IntervalParts<W> u_meet(const IntervalParts<W>& a, const IntervalParts<W>& b) { return {umax(a.lo, b.lo), umin(a.hi, b.hi)}; }
template <class W>
IntervalParts<W> s_meet(const IntervalParts<W>& a, const IntervalParts<W>& b) { return {smax(a.lo, b.lo), smin(a.hi, b.hi)}; }
template <class W>
IntervalParts<W> u_join(const IntervalParts<W>& a, const IntervalParts<W>& b) { return {umin(a.lo, b.lo), umax(a.hi, b.hi)}; }
template <class W>
IntervalParts<W> s_join(const IntervalParts<W>& a, const IntervalParts<W>& b) { return {smin(a.lo, b.lo), smax(a.hi, b.hi)}; }

// ---- Unsigned arithmetic ----

// Sound when the two end sums carry alike: then every sum carries alike and the wrapped sums stay
// ordered. Example (8 bits): [250, 255] + [10, 10] -> both ends wrap -> [4, 9]; [250, 255] + [0, 10]
// -> only the top end wraps -> top.
template <class W>
IntervalParts<W> u_add(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W lo = a.lo + b.lo;
  const W hi = a.hi + b.hi;
  return choose(ult(lo, a.lo) == ult(hi, a.hi), IntervalParts<W>{lo, hi}, u_top_like(lo));
}

template <class W>
IntervalParts<W> u_sub(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W lo = a.lo - b.hi;
  const W hi = a.hi - b.lo;
  return choose(ult(a.lo, b.hi) == ult(a.hi, b.lo), IntervalParts<W>{lo, hi}, u_top_like(lo));
}

template <class W>
IntervalParts<W> u_mul(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  return choose(!umul_overflows(a.hi, b.hi), IntervalParts<W>{a.lo * b.lo, a.hi * b.hi}, u_top_like(a.lo));
}

// x / 0 = 0 and x / y <= x, so a divisor that may be 0 gives [0, a.hi].
template <class W>
IntervalParts<W> u_div(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const W one = constant_like(zero, 1);
  const W safe_lo = select(b.lo == zero, one, b.lo);
  return choose(b.lo == zero, IntervalParts<W>{zero, a.hi}, IntervalParts<W>{udiv(a.lo, b.hi), udiv(a.hi, safe_lo)});
}

// x % 0 = x; x % y < y; x % y = x when x < y.
template <class W>
IntervalParts<W> u_mod(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const IntervalParts<W> below_divisor{zero, umin(a.hi, b.hi - constant_like(zero, 1))};
  return choose(ult(a.hi, b.lo), a, choose(b.lo == zero, IntervalParts<W>{zero, a.hi}, below_divisor));
}

// x & y <= min(x, y); x | y >= max(x, y) and stays below the next power of two; so does x ^ y.
template <class W>
IntervalParts<W> u_and(const IntervalParts<W>& a, const IntervalParts<W>& b) { return {zero_like(a.lo), umin(a.hi, b.hi)}; }
template <class W>
IntervalParts<W> u_or(const IntervalParts<W>& a, const IntervalParts<W>& b) { return {umax(a.lo, b.lo), smear_right(a.hi | b.hi)}; }
template <class W>
IntervalParts<W> u_xor(const IntervalParts<W>& a, const IntervalParts<W>& b) { return {zero_like(a.lo), smear_right(a.hi | b.hi)}; }

// Shifts by an amount in the unsigned interval k. Amounts past the width are masked by the ISA, so
// the precise rules need k.hi < width; otherwise fall back.
template <class W>
typename W::Bool shift_in_range(const IntervalParts<W>& k) { return ult(k.hi, constant_like(k.hi, W::bits)); }

template <class W>
IntervalParts<W> u_lsh(const IntervalParts<W>& a, const IntervalParts<W>& k) {
  const auto no_overflow = lshr(shl(a.hi, k.hi), k.hi) == a.hi;
  return choose(shift_in_range(k) && no_overflow, IntervalParts<W>{shl(a.lo, k.lo), shl(a.hi, k.hi)}, u_top_like(a.lo));
}
template <class W>
IntervalParts<W> u_rsh(const IntervalParts<W>& a, const IntervalParts<W>& k) {
  return choose(shift_in_range(k), IntervalParts<W>{lshr(a.lo, k.hi), lshr(a.hi, k.lo)}, IntervalParts<W>{zero_like(a.lo), a.hi});
}

// -x: [-hi, -lo] unless the interval holds 0 and something else (then it wraps around).
template <class W>
IntervalParts<W> u_neg(const IntervalParts<W>& a) {
  const W zero = zero_like(a.lo);
  return choose(a.lo != zero, IntervalParts<W>{-a.hi, -a.lo}, choose(a.hi == zero, a, u_top_like(zero)));
}

// ---- Signed arithmetic ----

// Positive overflow of x + y: both non-negative, sum negative; negative overflow: the opposite.
// Sound when both ends overflow the same way (or not at all), as for unsigned.
template <class W>
IntervalParts<W> s_add(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const W lo = a.lo + b.lo;
  const W hi = a.hi + b.hi;
  auto positive = [&](const W& x, const W& y, const W& r) { return sle(zero, x) && sle(zero, y) && slt(r, zero); };
  auto negative = [&](const W& x, const W& y, const W& r) { return slt(x, zero) && slt(y, zero) && sle(zero, r); };
  const auto same = (positive(a.lo, b.lo, lo) == positive(a.hi, b.hi, hi)) && (negative(a.lo, b.lo, lo) == negative(a.hi, b.hi, hi));
  return choose(same, IntervalParts<W>{lo, hi}, s_top_like(zero));
}

template <class W>
IntervalParts<W> s_sub(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const W lo = a.lo - b.hi;
  const W hi = a.hi - b.lo;
  auto positive = [&](const W& x, const W& y, const W& r) { return sle(zero, x) && slt(y, zero) && slt(r, zero); };
  auto negative = [&](const W& x, const W& y, const W& r) { return slt(x, zero) && sle(zero, y) && sle(zero, r); };
  const auto same = (positive(a.lo, b.hi, lo) == positive(a.hi, b.lo, hi)) && (negative(a.lo, b.hi, lo) == negative(a.hi, b.lo, hi));
  return choose(same, IntervalParts<W>{lo, hi}, s_top_like(zero));
}

// The extremes of x * y are among the four corner products, provided none of them overflows.
template <class W>
IntervalParts<W> s_mul(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W p1 = a.lo * b.lo, p2 = a.lo * b.hi, p3 = a.hi * b.lo, p4 = a.hi * b.hi;
  const auto overflow = smul_overflows(a.lo, b.lo) || smul_overflows(a.lo, b.hi) || smul_overflows(a.hi, b.lo) ||
                        smul_overflows(a.hi, b.hi);
  const IntervalParts<W> corners{smin(smin(p1, p2), smin(p3, p4)), smax(smax(p1, p2), smax(p3, p4))};
  return choose(!overflow, corners, s_top_like(p1));
}

// |x / y| <= |x| (and x / 0 = 0), so the quotient lies in [-M, M] with M = max(|lo|, |hi|); MIN / -1
// = MIN falls outside, hence top when MIN is possible. Non-negative by positive divides unsigned.
template <class W>
IntervalParts<W> s_div(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const W one = constant_like(zero, 1);
  const W magnitude = smax(select(slt(a.lo, zero), -a.lo, a.lo), select(slt(a.hi, zero), -a.hi, a.hi));
  const IntervalParts<W> coarse = choose(a.lo == signed_min_like(zero), s_top_like(zero), IntervalParts<W>{-magnitude, magnitude});
  const auto both_positive = sle(zero, a.lo) && sle(one, b.lo);
  return choose(both_positive, IntervalParts<W>{udiv(a.lo, b.hi), udiv(a.hi, select(both_positive, b.lo, one))}, coarse);
}

// x % y has the sign of x and |x % y| <= |x| (x % 0 = x, MIN % -1 = 0).
template <class W>
IntervalParts<W> s_mod(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  return {smin(a.lo, zero), smax(a.hi, zero)};
}

// x & y with y >= 0 lies in [0, y]; two negatives give a negative no larger than either.
template <class W>
IntervalParts<W> s_and(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const W minus_one = ones_like(zero);
  const auto a_nonneg = sle(zero, a.lo), b_nonneg = sle(zero, b.lo);
  const auto both_negative = slt(a.hi, zero) && slt(b.hi, zero);
  // An operand in [-1, 0] is all ones or all zeros (`x s>> 63`): the result is
  // the other operand or 0. Example: [-1, 0] & -134 is in [-134, 0].
  const auto a_mask = sle(minus_one, a.lo) && sle(a.hi, zero), b_mask = sle(minus_one, b.lo) && sle(b.hi, zero);
  return choose(a_nonneg && b_nonneg, IntervalParts<W>{zero, smin(a.hi, b.hi)},
                choose(a_mask, IntervalParts<W>{smin(zero, b.lo), smax(zero, b.hi)},
                       choose(b_mask, IntervalParts<W>{smin(zero, a.lo), smax(zero, a.hi)},
                              choose(a_nonneg, IntervalParts<W>{zero, a.hi},
                                     choose(b_nonneg, IntervalParts<W>{zero, b.hi},
                                            choose(both_negative, IntervalParts<W>{signed_min_like(zero), smin(a.hi, b.hi)},
                                                   s_top_like(zero)))))));
}

// x | y >= max(x, y) when both have the same sign; a negative operand makes the result negative.
template <class W>
IntervalParts<W> s_or(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const W minus_one = ones_like(zero);
  const auto both_nonneg = sle(zero, a.lo) && sle(zero, b.lo);
  const auto a_negative = slt(a.hi, zero), b_negative = slt(b.hi, zero);
  return choose(both_nonneg, IntervalParts<W>{smax(a.lo, b.lo), smear_right(a.hi | b.hi)},
                choose(a_negative && b_negative, IntervalParts<W>{smax(a.lo, b.lo), minus_one},
                       choose(a_negative, IntervalParts<W>{a.lo, minus_one},
                              choose(b_negative, IntervalParts<W>{b.lo, minus_one}, s_top_like(zero)))));
}

template <class W>
IntervalParts<W> s_xor(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W zero = zero_like(a.lo);
  const auto both_nonneg = sle(zero, a.lo) && sle(zero, b.lo);
  const auto both_negative = slt(a.hi, zero) && slt(b.hi, zero);
  return choose(both_nonneg, IntervalParts<W>{zero, smear_right(a.hi | b.hi)},
                choose(both_negative, IntervalParts<W>{zero, signed_max_like(zero)}, s_top_like(zero)));
}

// x >> k (arithmetic) moves x toward 0 or -1 as k grows: for negative x it grows, for positive x it
// shrinks, so the extremes are at the ends of both intervals.
template <class W>
IntervalParts<W> s_arsh(const IntervalParts<W>& a, const IntervalParts<W>& k) {
  const W zero = zero_like(a.lo);
  const IntervalParts<W> precise{smin(ashr(a.lo, k.lo), ashr(a.lo, k.hi)), smax(ashr(a.hi, k.lo), ashr(a.hi, k.hi))};
  return choose(shift_in_range(k), precise, IntervalParts<W>{smin(a.lo, zero), smax(a.hi, zero)});
}

template <class W>
IntervalParts<W> s_neg(const IntervalParts<W>& a) {
  const W min = signed_min_like(a.lo);
  return choose(a.lo != min, IntervalParts<W>{-a.hi, -a.lo}, choose(a.hi == min, a, s_top_like(min)));
}

// ---------------------------------------------------------------------------------------------

// Widening thresholds: a sorted set of constants that a growing bound jumps to instead of to the
// extreme. The default holds 0, every power of two and its negation, and the INT/UINT limits of
// 8, 16, 32 and 64 bits (2^(k-1) - 1 and 2^k - 1); a bound therefore reaches an extreme in at most
// about 64 widening steps. Add the program's constants (loop bounds) with add().
class Thresholds {
 public:
  Thresholds() {
    values_.push_back(0);
    for (unsigned k = 0; k < 64; ++k) {
      const uint64_t p = uint64_t{1} << k;
      values_.push_back(p);
      values_.push_back(0 - p);
    }
    for (unsigned k : {8u, 16u, 32u, 64u}) {
      const uint64_t int_max = (uint64_t{1} << (k - 1)) - 1;
      const uint64_t uint_max = k == 64 ? ~uint64_t{0} : (uint64_t{1} << k) - 1;
      for (uint64_t v : {int_max, 0 - int_max, uint_max}) values_.push_back(v);
    }
    normalize();
  }
  static Thresholds none() { return Thresholds(std::vector<uint64_t>{}); }
  // Adds c and -c (a constant in `i < c` may bound a signed value from either side).
  void add(uint64_t c) {
    values_.push_back(c);
    values_.push_back(0 - c);
    normalize();
  }
  [[nodiscard]] const std::vector<uint64_t>& values() const { return values_; }

  // Smallest threshold >= x among those representable at Bits, else the width's maximum.
  template <unsigned Bits>
  [[nodiscard]] uint64_t unsigned_above(uint64_t x) const {
    for (uint64_t v : values_)
      if (v <= all_ones<Bits> && v >= x) return v;
    return all_ones<Bits>;
  }
  template <unsigned Bits>
  [[nodiscard]] uint64_t unsigned_below(uint64_t x) const {
    uint64_t best = 0;
    for (uint64_t v : values_)
      if (v <= all_ones<Bits> && v <= x) best = v;
    return best;
  }
  // Same on signed readings of the thresholds (each read at Bits).
  template <unsigned Bits>
  [[nodiscard]] int64_t signed_above(int64_t x) const {
    int64_t best = to_signed<Bits>(sign_bit<Bits> - 1);
    for (uint64_t v : values_) {
      const int64_t s = to_signed<Bits>(v);
      if (s >= x && s < best) best = s;
    }
    return best;
  }
  template <unsigned Bits>
  [[nodiscard]] int64_t signed_below(int64_t x) const {
    int64_t best = to_signed<Bits>(sign_bit<Bits>);
    for (uint64_t v : values_) {
      const int64_t s = to_signed<Bits>(v);
      if (s <= x && s > best) best = s;
    }
    return best;
  }

 private:
  explicit Thresholds(std::vector<uint64_t> v) : values_(std::move(v)) {}
  void normalize() {
    std::sort(values_.begin(), values_.end());
    values_.erase(std::unique(values_.begin(), values_.end()), values_.end());
  }
  std::vector<uint64_t> values_;
};

// The value types. Signed is a template flag so both share the lattice code.
template <unsigned Bits, bool Signed>
class BasicInterval {
 public:
  using Word = domains::Word<Bits>;
  using Parts = IntervalParts<Word>;
  // The type a bound reads as: uint64_t or int64_t.
  using Bound = std::conditional_t<Signed, int64_t, uint64_t>;
  static constexpr unsigned bits = Bits;

  static constexpr Bound min_bound() { return Signed ? Bound(to_signed<Bits>(sign_bit<Bits>)) : Bound(0); }
  static constexpr Bound max_bound() { return Signed ? Bound(to_signed<Bits>(sign_bit<Bits> - 1)) : Bound(all_ones<Bits>); }

  static constexpr BasicInterval top() { return BasicInterval(min_bound(), max_bound()); }
  static constexpr BasicInterval bottom() { return BasicInterval(max_bound(), min_bound()); }
  static constexpr BasicInterval constant(uint64_t v) { return BasicInterval(read(v), read(v)); }
  // [lo, hi] as read at this width; lo > hi gives bottom.
  static constexpr BasicInterval make(Bound lo, Bound hi) { return lo > hi ? bottom() : BasicInterval(lo, hi); }
  static constexpr BasicInterval from_parts(const Parts& p) { return make(read(p.lo.raw()), read(p.hi.raw())); }
  [[nodiscard]] constexpr Parts parts() const { return {Word::from(uint64_t(lo())), Word::from(uint64_t(hi()))}; }

  [[nodiscard]] constexpr Bound lo() const { return read(lo_); }
  [[nodiscard]] constexpr Bound hi() const { return read(hi_); }
  [[nodiscard]] constexpr bool is_bottom() const { return lo() > hi(); }
  [[nodiscard]] constexpr bool is_top() const { return lo() == min_bound() && hi() == max_bound(); }
  [[nodiscard]] constexpr bool is_constant() const { return lo() == hi(); }
  [[nodiscard]] constexpr bool contains(uint64_t x) const { return lo() <= read(x) && read(x) <= hi(); }
  [[nodiscard]] constexpr bool leq(const BasicInterval& o) const { return is_bottom() || (o.lo() <= lo() && hi() <= o.hi()); }
  [[nodiscard]] constexpr BasicInterval join(const BasicInterval& o) const {
    if (is_bottom()) return o;
    if (o.is_bottom()) return *this;
    return BasicInterval(std::min(lo(), o.lo()), std::max(hi(), o.hi()));
  }
  [[nodiscard]] constexpr BasicInterval meet(const BasicInterval& o) const {
    return make(std::max(lo(), o.lo()), std::min(hi(), o.hi()));
  }
  // A bound that moved outward jumps to the next threshold (or the extreme).
  [[nodiscard]] BasicInterval widen(const BasicInterval& next, const Thresholds& t) const {
    if (is_bottom()) return next;
    if (next.is_bottom()) return *this;
    Bound new_lo = lo(), new_hi = hi();
    if constexpr (Signed) {
      if (next.lo() < lo()) new_lo = t.signed_below<Bits>(next.lo());
      if (next.hi() > hi()) new_hi = t.signed_above<Bits>(next.hi());
    } else {
      if (next.lo() < lo()) new_lo = t.unsigned_below<Bits>(next.lo());
      if (next.hi() > hi()) new_hi = t.unsigned_above<Bits>(next.hi());
    }
    return BasicInterval(new_lo, new_hi);
  }
  // Refine the bounds widening pushed to an extreme.
  [[nodiscard]] BasicInterval narrow(const BasicInterval& next) const {
    if (is_bottom() || next.is_bottom()) return next;
    return make(lo() == min_bound() ? next.lo() : lo(), hi() == max_bound() ? next.hi() : hi());
  }
  friend constexpr bool operator==(const BasicInterval& a, const BasicInterval& b) {
    return (a.is_bottom() && b.is_bottom()) || (a.lo_ == b.lo_ && a.hi_ == b.hi_);
  }

  // Arithmetic through the generic algorithms (bottom in, bottom out).
  template <class F>
  [[nodiscard]] BasicInterval apply(const BasicInterval& o, F f) const {
    if (is_bottom() || o.is_bottom()) return bottom();
    return from_parts(f(parts(), o.parts()));
  }
  [[nodiscard]] BasicInterval add(const BasicInterval& o) const {
    return apply(o, [](auto a, auto b) { if constexpr (Signed) return s_add(a, b); else return u_add(a, b); });
  }
  [[nodiscard]] BasicInterval sub(const BasicInterval& o) const {
    return apply(o, [](auto a, auto b) { if constexpr (Signed) return s_sub(a, b); else return u_sub(a, b); });
  }
  [[nodiscard]] BasicInterval mul(const BasicInterval& o) const {
    return apply(o, [](auto a, auto b) { if constexpr (Signed) return s_mul(a, b); else return u_mul(a, b); });
  }
  [[nodiscard]] BasicInterval neg() const {
    if (is_bottom()) return bottom();
    if constexpr (Signed) return from_parts(s_neg(parts())); else return from_parts(u_neg(parts()));
  }

  [[nodiscard]] std::string to_string() const {
    if (is_bottom()) return "bottom";
    return fmt::format("[{}, {}]", lo(), hi());
  }

 private:
  static constexpr Bound read(uint64_t raw) {
    if constexpr (Signed) return to_signed<Bits>(raw); else return raw & all_ones<Bits>;
  }
  constexpr BasicInterval(Bound lo, Bound hi)
      : lo_(static_cast<StorageFor<Bits>>(lo)), hi_(static_cast<StorageFor<Bits>>(hi)) {}

  StorageFor<Bits> lo_;
  StorageFor<Bits> hi_;
};

template <unsigned Bits>
using BasicUnsignedInterval = BasicInterval<Bits, false>;
template <unsigned Bits>
using BasicSignedInterval = BasicInterval<Bits, true>;
using UnsignedInterval = BasicUnsignedInterval<64>;
using SignedInterval = BasicSignedInterval<64>;
using UnsignedInterval32 = BasicUnsignedInterval<32>;
using SignedInterval32 = BasicSignedInterval<32>;

}  // namespace bpfvet::domains
