#pragma once
// Scalar: what the verifier knows about a register holding a number. The reduced product of a
// tnum, unsigned and signed intervals at full width and unsigned and signed intervals of the low
// half (64 -> 32-bit subregister ranges), kept reduced: every constructor and operation ends with
// the reduction of reduction.hpp repeated until stable.
//
// Example: after `r1 &= 0xff; r1 += 1` a Scalar is umin=1 umax=256 var_off=(0x0; 0x1ff); the tnum
// alone would allow 0..511, the interval alone would know nothing of the bit pattern.
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "domains/concrete.hpp"
#include "domains/interval.hpp"
#include "domains/reduction.hpp"
#include "domains/tnum.hpp"

namespace bpfvet::domains {

template <unsigned Bits>
class BasicScalar {
 public:
  static constexpr unsigned bits = Bits;
  static constexpr unsigned half_bits = Bits >= 2 ? Bits / 2 : 1;
  using TnumType = BasicTnum<Bits>;
  using Unsigned = BasicUnsignedInterval<Bits>;
  using Signed = BasicSignedInterval<Bits>;
  using UnsignedHalf = BasicUnsignedInterval<half_bits>;
  using SignedHalf = BasicSignedInterval<half_bits>;
  using Word = domains::Word<Bits>;
  using Parts = ScalarParts<Word>;
  // uint32_t / int32_t at 64 bits.
  using HalfUnsigned = StorageFor<half_bits>;
  using HalfSigned = std::make_signed_t<HalfUnsigned>;
  // Reduction rounds before giving up on a fixpoint (the result is sound either way).
  static constexpr int max_reduction_rounds = 8;

  static BasicScalar top() { return BasicScalar(TnumType::top(), Unsigned::top(), Signed::top(), UnsignedHalf::top(), SignedHalf::top()); }
  static BasicScalar bottom() {
    return BasicScalar(TnumType::bottom(), Unsigned::bottom(), Signed::bottom(), UnsignedHalf::bottom(), SignedHalf::bottom());
  }
  static BasicScalar constant(uint64_t v) {
    v &= all_ones<Bits>;
    return BasicScalar(TnumType::constant(v), Unsigned::constant(v), Signed::constant(v), UnsignedHalf::constant(v),
                       SignedHalf::constant(v));
  }
  static BasicScalar unsigned_range(uint64_t lo, uint64_t hi) {
    return from_components(TnumType::top(), Unsigned::make(lo & all_ones<Bits>, hi & all_ones<Bits>), Signed::top(),
                           UnsignedHalf::top(), SignedHalf::top());
  }
  static BasicScalar signed_range(int64_t lo, int64_t hi) {
    return from_components(TnumType::top(), Unsigned::top(), Signed::make(lo, hi), UnsignedHalf::top(), SignedHalf::top());
  }
  static BasicScalar from_tnum(TnumType t) {
    return from_components(t, Unsigned::top(), Signed::top(), UnsignedHalf::top(), SignedHalf::top());
  }
  // Any combination; the result is reduced (and bottom if the components contradict).
  static BasicScalar from_components(TnumType t, Unsigned u, Signed s, UnsignedHalf u_half, SignedHalf s_half) {
    if (t.is_bottom() || u.is_bottom() || s.is_bottom() || u_half.is_bottom() || s_half.is_bottom()) return bottom();
    return reduced(BasicScalar(t, u, s, u_half, s_half).parts());
  }
  // Unreduced parts in, reduced scalar out.
  static BasicScalar reduced(Parts p);
  // The components as given, without the reduction: sound (the meaning is still the intersection)
  // but possibly less precise; for callers whose components are already consistent, such as the
  // halves of a reduced Scalar.
  static BasicScalar from_components_unreduced(TnumType t, Unsigned u, Signed s, UnsignedHalf u_half, SignedHalf s_half) {
    if (t.is_bottom() || u.is_bottom() || s.is_bottom() || u_half.is_bottom() || s_half.is_bottom()) return bottom();
    return BasicScalar(t, u, s, u_half, s_half);
  }

  [[nodiscard]] bool is_bottom() const { return tnum_.is_bottom(); }
  [[nodiscard]] bool is_top() const {
    return tnum_.is_top() && u_.is_top() && s_.is_top() && u_half_.is_top() && s_half_.is_top();
  }
  [[nodiscard]] std::optional<uint64_t> constant_value() const {
    if (is_bottom() || !tnum_.is_constant()) return std::nullopt;
    return tnum_.value();
  }
  [[nodiscard]] uint64_t umin() const { return u_.lo(); }
  [[nodiscard]] uint64_t umax() const { return u_.hi(); }
  [[nodiscard]] int64_t smin() const { return s_.lo(); }
  [[nodiscard]] int64_t smax() const { return s_.hi(); }
  // The low half's bounds (the 32-bit subregister at 64 bits).
  [[nodiscard]] HalfUnsigned u32min() const { return static_cast<HalfUnsigned>(u_half_.lo()); }
  [[nodiscard]] HalfUnsigned u32max() const { return static_cast<HalfUnsigned>(u_half_.hi()); }
  [[nodiscard]] HalfSigned s32min() const { return static_cast<HalfSigned>(s_half_.lo()); }
  [[nodiscard]] HalfSigned s32max() const { return static_cast<HalfSigned>(s_half_.hi()); }
  [[nodiscard]] TnumType tnum() const { return tnum_; }
  [[nodiscard]] const Unsigned& unsigned_interval() const { return u_; }
  [[nodiscard]] const Signed& signed_interval() const { return s_; }
  [[nodiscard]] const UnsignedHalf& unsigned_half() const { return u_half_; }
  [[nodiscard]] const SignedHalf& signed_half() const { return s_half_; }

  [[nodiscard]] bool contains(uint64_t v) const {
    return tnum_.contains(v) && u_.contains(v) && s_.contains(v) && u_half_.contains(v) && s_half_.contains(v);
  }
  [[nodiscard]] Parts parts() const {
    return {tnum_.parts(), u_.parts(), s_.parts(), u_half_.parts(), s_half_.parts(), is_bottom()};
  }

  // Component-wise (sound for gamma inclusion; both sides are reduced so it is also precise in
  // the common cases).
  [[nodiscard]] bool leq(const BasicScalar& o) const {
    if (is_bottom()) return true;
    if (o.is_bottom()) return false;
    return tnum_.leq(o.tnum_) && u_.leq(o.u_) && s_.leq(o.s_) && u_half_.leq(o.u_half_) && s_half_.leq(o.s_half_);
  }
  [[nodiscard]] BasicScalar join(const BasicScalar& o) const {
    if (is_bottom()) return o;
    if (o.is_bottom()) return *this;
    return from_components(tnum_.join(o.tnum_), u_.join(o.u_), s_.join(o.s_), u_half_.join(o.u_half_), s_half_.join(o.s_half_));
  }
  [[nodiscard]] BasicScalar meet(const BasicScalar& o) const {
    return from_components(tnum_.meet(o.tnum_), u_.meet(o.u_), s_.meet(o.s_), u_half_.meet(o.u_half_), s_half_.meet(o.s_half_));
  }
  // Intervals jump to thresholds; the tnum joins (its lattice has height Bits+1). The result is not
  // reduced: reducing after widening could undo it and break termination.
  [[nodiscard]] BasicScalar widen(const BasicScalar& next, const Thresholds& t) const {
    if (is_bottom()) return next;
    if (next.is_bottom()) return *this;
    return BasicScalar(tnum_.join(next.tnum_), u_.widen(next.u_, t), s_.widen(next.s_, t), u_half_.widen(next.u_half_, t),
                       s_half_.widen(next.s_half_, t));
  }
  [[nodiscard]] BasicScalar narrow(const BasicScalar& next) const {
    if (is_bottom() || next.is_bottom()) return next;
    return from_components(tnum_.meet(next.tnum_), u_.narrow(next.u_), s_.narrow(next.s_), u_half_.narrow(next.u_half_),
                           s_half_.narrow(next.s_half_));
  }
  friend bool operator==(const BasicScalar& a, const BasicScalar& b) {
    return a.tnum_ == b.tnum_ && a.u_ == b.u_ && a.s_ == b.s_ && a.u_half_ == b.u_half_ && a.s_half_ == b.s_half_;
  }

  // Kernel style: "umin=1 umax=256 var_off=(0x0; 0x1ff)"; bounds that are the type's extreme or
  // repeat an earlier one are left out; a constant prints as its (signed) value.
  [[nodiscard]] std::string to_string() const;
  // "42", "[0, 255]", "[-5, -1]" (signed when a member is negative), "var_off=(0x0; 0xf0)" or
  // "scalar" (nothing known).
  [[nodiscard]] std::string to_compact_string() const;

 private:
  BasicScalar(TnumType t, Unsigned u, Signed s, UnsignedHalf u_half, SignedHalf s_half)
      : tnum_(t), u_(u), s_(s), u_half_(u_half), s_half_(s_half) {}

  TnumType tnum_;
  Unsigned u_;
  Signed s_;
  UnsignedHalf u_half_;
  SignedHalf s_half_;
};

using Scalar = BasicScalar<64>;

template <unsigned Bits>
BasicScalar<Bits> BasicScalar<Bits>::reduced(Parts p) {
  for (int round = 0; round < max_reduction_rounds; ++round) {
    const Parts next = reduce_round(p);
    if (next.empty) return bottom();
    const bool stable = next.tnum.value == p.tnum.value && next.tnum.mask == p.tnum.mask && next.u.lo == p.u.lo &&
                        next.u.hi == p.u.hi && next.s.lo == p.s.lo && next.s.hi == p.s.hi &&
                        next.u_half.lo == p.u_half.lo && next.u_half.hi == p.u_half.hi &&
                        next.s_half.lo == p.s_half.lo && next.s_half.hi == p.s_half.hi;
    p = next;
    if (stable) break;
  }
  return BasicScalar(TnumType::from_parts(p.tnum), Unsigned::from_parts(p.u), Signed::from_parts(p.s),
                     UnsignedHalf::from_parts(p.u_half), SignedHalf::from_parts(p.s_half));
}

template <unsigned Bits>
std::string BasicScalar<Bits>::to_string() const {
  if (is_bottom()) return "bottom";
  if (auto c = constant_value()) return std::to_string(to_signed<Bits>(*c));
  if (is_top()) return "scalar";
  std::string out;
  auto put = [&](const char* name, auto value) {
    if (!out.empty()) out += ' ';
    out += fmt::format("{}={}", name, value);
  };
  const int64_t s_lo = s_.lo(), s_hi = s_.hi();
  if (u_.lo() != 0) put("umin", u_.lo());
  if (u_.hi() != Unsigned::max_bound()) put("umax", u_.hi());
  // Signed bounds repeat the unsigned ones when no member is negative.
  const bool signed_repeats = s_lo >= 0 && uint64_t(s_lo) == u_.lo() && uint64_t(s_hi) == u_.hi();
  if (!signed_repeats) {
    if (s_lo != Signed::min_bound()) put("smin", s_lo);
    if (s_hi != Signed::max_bound()) put("smax", s_hi);
  }
  // The low-half bounds repeat the full ones when the full ends share their upper half.
  constexpr uint64_t low_mask = all_ones<half_bits>;
  const bool half_repeats = (u_.lo() & ~low_mask) == (u_.hi() & ~low_mask) && u_half_.lo() == (u_.lo() & low_mask) &&
                            u_half_.hi() == (u_.hi() & low_mask);
  if (!half_repeats) {
    if (u_half_.lo() != 0) put("u32min", u_half_.lo());
    if (u_half_.hi() != UnsignedHalf::max_bound()) put("u32max", u_half_.hi());
  }
  const bool signed_half_repeats = (s_half_.lo() == s_lo && s_half_.hi() == s_hi) ||
                                   (s_half_.lo() >= 0 && uint64_t(s_half_.lo()) == u_half_.lo() && uint64_t(s_half_.hi()) == u_half_.hi());
  if (!signed_half_repeats) {
    if (s_half_.lo() != SignedHalf::min_bound()) put("s32min", s_half_.lo());
    if (s_half_.hi() != SignedHalf::max_bound()) put("s32max", s_half_.hi());
  }
  if (!tnum_.is_top()) put("var_off", tnum_.to_string());
  return out;
}

template <unsigned Bits>
std::string BasicScalar<Bits>::to_compact_string() const {
  if (is_bottom()) return "bottom";
  if (auto c = constant_value()) return std::to_string(to_signed<Bits>(*c));
  // Negative members read better signed: [-5, -1] rather than [18446744073709551611, ...].
  if (!s_.is_top() && s_.lo() < 0) return s_.to_string();
  if (!u_.is_top()) return u_.to_string();
  if (!s_.is_top()) return s_.to_string();
  if (!tnum_.is_top()) return "var_off=" + tnum_.to_string();
  if (!u_half_.is_top()) return "low half " + u_half_.to_string();
  if (!s_half_.is_top()) return "low half " + s_half_.to_string();
  return "scalar";
}

// ---------------------------------------------------------------------------------------------
// ALU operations.

// The low half as a scalar of half the width, and back (zero- or sign-extended).
template <unsigned Bits>
BasicScalar<BasicScalar<Bits>::half_bits> low_half_view(const BasicScalar<Bits>& a) {
  using H = BasicScalar<BasicScalar<Bits>::half_bits>;
  if (a.is_bottom()) return H::bottom();
  // a is reduced, so its low-half components already agree with each other; the view's own
  // quarter-width intervals stay unknown (only the precision of quarter-width results suffers).
  return H::from_components_unreduced(a.tnum().low_half(), typename H::Unsigned(a.unsigned_half()),
                                      typename H::Signed(a.signed_half()), H::UnsignedHalf::top(), H::SignedHalf::top());
}

template <unsigned Bits>
BasicScalar<Bits> zero_extend_half(const BasicScalar<Bits / 2>& h) {
  using S = BasicScalar<Bits>;
  static_assert(S::half_bits == Bits / 2);
  if (h.is_bottom()) return S::bottom();
  const auto& u = h.unsigned_interval();
  // Upper half zero: the unsigned range is also the signed one, and nothing else is left to derive
  // from a reduced h.
  return S::from_components_unreduced(S::TnumType::make(h.tnum().value(), h.tnum().mask()), S::Unsigned::make(u.lo(), u.hi()),
                                      S::Signed::make(int64_t(u.lo()), int64_t(u.hi())), u, h.signed_interval());
}

// Zero-extend the low half (the result of every Half operation).
template <unsigned Bits>
BasicScalar<Bits> truncate_to_half(const BasicScalar<Bits>& a) { return zero_extend_half<Bits>(low_half_view(a)); }

namespace detail {

template <unsigned Bits>
BasicScalar<Bits> apply_full(BinaryOp op, const BasicScalar<Bits>& a, const BasicScalar<Bits>& b) {
  using S = BasicScalar<Bits>;
  using W = typename S::Word;
  using H = typename W::Half;
  const auto pa = a.parts(), pb = b.parts();
  typename S::Parts r = S::top().parts();
  r.empty = false;
  auto set_tnum = [&](const typename S::TnumType& t) { r.tnum = t.parts(); };
  auto shift_amounts = [&](auto shift_tnum_constant, auto shift_tnum_unknown) {
    if (auto k = b.constant_value()) {
      set_tnum(shift_tnum_constant(a.tnum(), unsigned(*k & shift_amount_mask<Bits>)));
      const W amount = W::from(*k & shift_amount_mask<Bits>);
      return IntervalParts<W>{amount, amount};
    }
    set_tnum(shift_tnum_unknown(a.tnum(), b.tnum()));
    return pb.u;
  };
  switch (op) {
    case BinaryOp::Add:
      r.tnum = tnum_add(pa.tnum, pb.tnum);
      r.u = u_add(pa.u, pb.u), r.s = s_add(pa.s, pb.s);
      r.u_half = u_add(pa.u_half, pb.u_half), r.s_half = s_add(pa.s_half, pb.s_half);
      break;
    case BinaryOp::Sub:
      r.tnum = tnum_sub(pa.tnum, pb.tnum);
      r.u = u_sub(pa.u, pb.u), r.s = s_sub(pa.s, pb.s);
      r.u_half = u_sub(pa.u_half, pb.u_half), r.s_half = s_sub(pa.s_half, pb.s_half);
      break;
    case BinaryOp::Mul:
      r.tnum = tnum_mul(pa.tnum, pb.tnum);
      r.u = u_mul(pa.u, pb.u), r.s = s_mul(pa.s, pb.s);
      r.u_half = u_mul(pa.u_half, pb.u_half), r.s_half = s_mul(pa.s_half, pb.s_half);
      break;
    case BinaryOp::UDiv:
      r.tnum = tnum_udiv(pa.tnum, pb.tnum);
      r.u = u_div(pa.u, pb.u);
      break;
    case BinaryOp::UMod:
      r.tnum = tnum_umod(pa.tnum, pb.tnum);
      r.u = u_mod(pa.u, pb.u);
      break;
    case BinaryOp::SDiv: r.s = s_div(pa.s, pb.s); break;
    case BinaryOp::SMod: r.s = s_mod(pa.s, pb.s); break;
    case BinaryOp::And:
      r.tnum = tnum_and(pa.tnum, pb.tnum);
      r.u = u_and(pa.u, pb.u), r.s = s_and(pa.s, pb.s);
      r.u_half = u_and(pa.u_half, pb.u_half), r.s_half = s_and(pa.s_half, pb.s_half);
      break;
    case BinaryOp::Or:
      r.tnum = tnum_or(pa.tnum, pb.tnum);
      r.u = u_or(pa.u, pb.u), r.s = s_or(pa.s, pb.s);
      r.u_half = u_or(pa.u_half, pb.u_half), r.s_half = s_or(pa.s_half, pb.s_half);
      break;
    case BinaryOp::Xor:
      r.tnum = tnum_xor(pa.tnum, pb.tnum);
      r.u = u_xor(pa.u, pb.u), r.s = s_xor(pa.s, pb.s);
      r.u_half = u_xor(pa.u_half, pb.u_half), r.s_half = s_xor(pa.s_half, pb.s_half);
      break;
    case BinaryOp::Lsh:
      r.u = u_lsh(pa.u, shift_amounts([](auto t, unsigned k) { return t.lsh(k); }, [](auto t, auto s) { return t.lsh(s); }));
      break;
    case BinaryOp::Rsh:
      r.u = u_rsh(pa.u, shift_amounts([](auto t, unsigned k) { return t.rsh(k); }, [](auto t, auto s) { return t.rsh(s); }));
      break;
    case BinaryOp::Arsh:
      r.s = s_arsh(pa.s, shift_amounts([](auto t, unsigned k) { return t.arsh(k); }, [](auto t, auto s) { return t.arsh(s); }));
      break;
  }
  (void)sizeof(H);
  return S::reduced(r);
}

template <unsigned Bits>
BasicScalar<Bits> apply_unary_full(UnaryOp op, const BasicScalar<Bits>& a, unsigned unit) {
  using S = BasicScalar<Bits>;
  const auto pa = a.parts();
  typename S::Parts r = S::top().parts();
  r.empty = false;
  switch (op) {
    case UnaryOp::Neg:
      r.tnum = tnum_neg(pa.tnum);
      r.u = u_neg(pa.u), r.s = s_neg(pa.s), r.u_half = u_neg(pa.u_half), r.s_half = s_neg(pa.s_half);
      break;
    case UnaryOp::Bswap16: case UnaryOp::Bswap32: case UnaryOp::Bswap64:
      r.tnum = a.tnum().swap_units_of(unit, swap_unit_count(op, unit, Bits)).parts();
      break;
    case UnaryOp::ZeroExtend8: case UnaryOp::ZeroExtend16: case UnaryOp::ZeroExtend32: {
      const unsigned n = extension_bits(op, unit, Bits);
      if (n >= Bits) return a;
      const uint64_t max = (uint64_t{1} << n) - 1;
      r.tnum = a.tnum().zero_extend(n).parts();
      r.u = (a.umax() <= max ? a.unsigned_interval() : S::Unsigned::make(0, max)).parts();
      r.s = S::Signed::make(0, int64_t(max)).parts();
      if (n >= S::half_bits) r.u_half = pa.u_half, r.s_half = pa.s_half;
      if (n == S::half_bits) r.u = S::Unsigned::make(a.unsigned_half().lo(), a.unsigned_half().hi()).parts();
      break;
    }
    case UnaryOp::SignExtend8: case UnaryOp::SignExtend16: case UnaryOp::SignExtend32: {
      const unsigned n = extension_bits(op, unit, Bits);
      if (n >= Bits) return a;
      const int64_t min = -(int64_t{1} << (n - 1)), max = (int64_t{1} << (n - 1)) - 1;
      r.tnum = a.tnum().sign_extend(n).parts();
      r.s = (a.smin() >= min && a.smax() <= max ? a.signed_interval() : S::Signed::make(min, max)).parts();
      if (n >= S::half_bits) r.u_half = pa.u_half, r.s_half = pa.s_half;
      if (n == S::half_bits) r.s = S::Signed::make(a.signed_half().lo(), a.signed_half().hi()).parts();
      break;
    }
  }
  return S::reduced(r);
}

}  // namespace detail

// One ALU instruction on abstract operands. Half: on the low halves, result zero-extended.
template <unsigned Bits>
BasicScalar<Bits> apply(BinaryOp op, const BasicScalar<Bits>& a, const BasicScalar<Bits>& b, OperandWidth w) {
  using S = BasicScalar<Bits>;
  if (a.is_bottom() || b.is_bottom()) return S::bottom();
  const auto ca = a.constant_value(), cb = b.constant_value();
  if (ca && cb) return S::constant(concrete::binary<Bits>(op, *ca, *cb, w));
  if (w == OperandWidth::Full) return detail::apply_full(op, a, b);
  return zero_extend_half<Bits>(detail::apply_full(op, low_half_view(a), low_half_view(b)));
}

template <unsigned Bits>
BasicScalar<Bits> apply(UnaryOp op, const BasicScalar<Bits>& a, OperandWidth w) {
  using S = BasicScalar<Bits>;
  if (a.is_bottom()) return S::bottom();
  if (auto c = a.constant_value()) return S::constant(concrete::unary<Bits>(op, *c, w));
  if (w == OperandWidth::Full) return detail::apply_unary_full(op, a, unit_bits<Bits>);
  if (op == UnaryOp::Bswap64) op = UnaryOp::Bswap32;
  return zero_extend_half<Bits>(detail::apply_unary_full(op, low_half_view(a), unit_bits<Bits>));
}

}  // namespace bpfvet::domains
