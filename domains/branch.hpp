#pragma once
// Conditional jumps: is `a c b` always, never or maybe true, and what do a and b become on the edge
// where it is true (taken) or false. The component rules are generic over the word type (the proof
// test runs them on Z3 terms); the Scalar functions combine them and reduce.
#include <optional>
#include <utility>

#include "domains/scalar.hpp"

namespace bpfvet::domains {

enum class BranchOutcome { Always, Never, Maybe };

template <class W>
struct RefinedPair {
  IntervalParts<W> left;
  IntervalParts<W> right;
};

// a < b (strict) or a <= b holds: a's top end drops below b's, b's bottom end rises above a's.
// Example (8 bits, strict): a [0, 200], b [10, 50] -> a [0, 49], b [10, 50].
// When no pair can satisfy the relation the result is empty (lo > hi) on one side.
template <class W>
RefinedPair<W> u_refine_less(const IntervalParts<W>& a, const IntervalParts<W>& b, bool strict) {
  const W one = constant_like(a.lo, 1);
  const W zero = zero_like(one);
  if (!strict) return {{a.lo, umin(a.hi, b.hi)}, {umax(b.lo, a.lo), b.hi}};
  // b.hi == 0 or a.lo == max: nothing is strictly below b / above a; make that side empty.
  const W left_hi = select(b.hi == zero, zero, umin(a.hi, b.hi - one));
  const W left_lo = select(b.hi == zero, one, a.lo);
  const W right_lo = select(a.lo == ones_like(one), ones_like(one), umax(b.lo, a.lo + one));
  const W right_hi = select(a.lo == ones_like(one), zero, b.hi);
  return {{left_lo, left_hi}, {right_lo, right_hi}};
}

template <class W>
RefinedPair<W> s_refine_less(const IntervalParts<W>& a, const IntervalParts<W>& b, bool strict) {
  const W one = constant_like(a.lo, 1);
  const W min = signed_min_like(one), max = signed_max_like(one);
  if (!strict) return {{a.lo, smin(a.hi, b.hi)}, {smax(b.lo, a.lo), b.hi}};
  const W left_hi = select(b.hi == min, min, smin(a.hi, b.hi - one));
  const W left_lo = select(b.hi == min, max, a.lo);
  const W right_lo = select(a.lo == max, max, smax(b.lo, a.lo + one));
  const W right_hi = select(a.lo == max, min, b.hi);
  return {{left_lo, left_hi}, {right_lo, right_hi}};
}

// a != b where b is one value c: c can be cut off an end of a. Example: a [5, 9], c 5 -> a [6, 9].
// (An empty result means a held only c.)
template <class W>
IntervalParts<W> u_remove_end(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W one = constant_like(a.lo, 1);
  const auto single = b.lo == b.hi;
  return {select(single && a.lo == b.lo, a.lo + one, a.lo), select(single && a.hi == b.lo, a.hi - one, a.hi)};
}
// The same on signed order; a.lo + 1 cannot wrap unless a = {max} = {c}, then it becomes empty.
template <class W>
IntervalParts<W> s_remove_end(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W one = constant_like(a.lo, 1);
  const auto single = b.lo == b.hi;
  const auto only_c = single && a.lo == b.lo && a.hi == b.lo;
  const IntervalParts<W> empty{signed_max_like(one), signed_min_like(one)};
  return choose(only_c, empty,
                IntervalParts<W>{select(single && a.lo == b.lo, a.lo + one, a.lo), select(single && a.hi == b.lo, a.hi - one, a.hi)});
}
// Unsigned: the same, but a = {0} = {c} must not wrap to [1, max].
template <class W>
IntervalParts<W> u_remove_end_checked(const IntervalParts<W>& a, const IntervalParts<W>& b) {
  const W one = constant_like(a.lo, 1);
  const auto only_c = b.lo == b.hi && a.lo == b.lo && a.hi == b.lo;
  return choose(only_c, IntervalParts<W>{one, zero_like(one)}, u_remove_end(a, b));
}

// (a & b) == 0: every bit known 1 in b is 0 in a. Example: b = (0b0100; 0) clears bit 2 of a.
template <class W>
TnumParts<W> tnum_clear_known_ones(const TnumParts<W>& a, const TnumParts<W>& b) {
  return tnum_meet(a, TnumParts<W>{zero_like(a.value), ~b.value});
}
// (a & b) != 0 with b a single known bit: that bit is 1 in a.
template <class W>
TnumParts<W> tnum_set_single_bit(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W zero = zero_like(a.value);
  const auto single_bit = b.mask == zero && b.value != zero && (b.value & (b.value - constant_like(zero, 1))) == zero;
  const TnumParts<W> with_bit = tnum_meet(a, TnumParts<W>{b.value, ~b.value});
  return {select(single_bit, with_bit.value, a.value), select(single_bit, with_bit.mask, a.mask)};
}
template <class W>
typename W::Bool tnum_set_single_bit_conflict(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W zero = zero_like(a.value);
  const auto single_bit = b.mask == zero && b.value != zero && (b.value & (b.value - constant_like(zero, 1))) == zero;
  return single_bit && tnum_meet_conflict(a, TnumParts<W>{b.value, ~b.value});
}

// Outcomes from bounds alone: strict: always if a.hi < b.lo, never if a.lo >= b.hi.
template <class W>
std::pair<typename W::Bool, typename W::Bool> u_less_outcome(const IntervalParts<W>& a, const IntervalParts<W>& b, bool strict) {
  if (strict) return {ult(a.hi, b.lo), ule(b.hi, a.lo)};
  return {ule(a.hi, b.lo), ult(b.hi, a.lo)};
}
template <class W>
std::pair<typename W::Bool, typename W::Bool> s_less_outcome(const IntervalParts<W>& a, const IntervalParts<W>& b, bool strict) {
  if (strict) return {slt(a.hi, b.lo), sle(b.hi, a.lo)};
  return {sle(a.hi, b.lo), slt(b.hi, a.lo)};
}
// (a & b) != 0: always if a known-1 bit meets a known-1 bit, never if no possible-1 bits meet.
template <class W>
std::pair<typename W::Bool, typename W::Bool> tnum_set_outcome(const TnumParts<W>& a, const TnumParts<W>& b) {
  const W zero = zero_like(a.value);
  return {(a.value & b.value) != zero, ((a.value | a.mask) & (b.value | b.mask)) == zero};
}

// ---------------------------------------------------------------------------------------------

template <unsigned Bits>
struct BasicRefinedOperands {
  BasicScalar<Bits> left;
  BasicScalar<Bits> right;
};
using RefinedOperands = BasicRefinedOperands<64>;

namespace detail {

// The comparison that holds on an edge, as (relation, swap operands?) over Eq, Ne, Ult, Ule, Slt,
// Sle, Set, and "not Set".
enum class Relation { Eq, Ne, Ult, Ule, Slt, Sle, Set, Clear };
struct EdgeRelation {
  Relation relation;
  bool swapped;
};
constexpr EdgeRelation edge_relation(Comparison c, bool taken) {
  switch (c) {
    case Comparison::Eq: return {taken ? Relation::Eq : Relation::Ne, false};
    case Comparison::Ne: return {taken ? Relation::Ne : Relation::Eq, false};
    case Comparison::Ult: return taken ? EdgeRelation{Relation::Ult, false} : EdgeRelation{Relation::Ule, true};
    case Comparison::Ule: return taken ? EdgeRelation{Relation::Ule, false} : EdgeRelation{Relation::Ult, true};
    case Comparison::Ugt: return taken ? EdgeRelation{Relation::Ult, true} : EdgeRelation{Relation::Ule, false};
    case Comparison::Uge: return taken ? EdgeRelation{Relation::Ule, true} : EdgeRelation{Relation::Ult, false};
    case Comparison::Slt: return taken ? EdgeRelation{Relation::Slt, false} : EdgeRelation{Relation::Sle, true};
    case Comparison::Sle: return taken ? EdgeRelation{Relation::Sle, false} : EdgeRelation{Relation::Slt, true};
    case Comparison::Sgt: return taken ? EdgeRelation{Relation::Slt, true} : EdgeRelation{Relation::Sle, false};
    case Comparison::Sge: return taken ? EdgeRelation{Relation::Sle, true} : EdgeRelation{Relation::Slt, false};
    case Comparison::Set: return {taken ? Relation::Set : Relation::Clear, false};
  }
  return {Relation::Eq, false};
}

template <unsigned Bits>
BranchOutcome evaluate_full(Comparison c, const BasicScalar<Bits>& a, const BasicScalar<Bits>& b) {
  const auto pa = a.parts(), pb = b.parts();
  std::pair<bool, bool> always_never{false, false};
  switch (c) {
    case Comparison::Eq: case Comparison::Ne: {
      const auto ca = a.constant_value(), cb = b.constant_value();
      const bool equal = ca && cb && *ca == *cb;
      const bool disjoint = a.tnum().meet(b.tnum()).is_bottom() || a.unsigned_interval().meet(b.unsigned_interval()).is_bottom() ||
                            a.signed_interval().meet(b.signed_interval()).is_bottom() ||
                            a.unsigned_half().meet(b.unsigned_half()).is_bottom() || a.signed_half().meet(b.signed_half()).is_bottom();
      always_never = c == Comparison::Eq ? std::pair{equal, disjoint} : std::pair{disjoint, equal};
      break;
    }
    case Comparison::Ult: always_never = u_less_outcome(pa.u, pb.u, true); break;
    case Comparison::Ule: always_never = u_less_outcome(pa.u, pb.u, false); break;
    case Comparison::Ugt: always_never = u_less_outcome(pb.u, pa.u, true); break;
    case Comparison::Uge: always_never = u_less_outcome(pb.u, pa.u, false); break;
    case Comparison::Slt: always_never = s_less_outcome(pa.s, pb.s, true); break;
    case Comparison::Sle: always_never = s_less_outcome(pa.s, pb.s, false); break;
    case Comparison::Sgt: always_never = s_less_outcome(pb.s, pa.s, true); break;
    case Comparison::Sge: always_never = s_less_outcome(pb.s, pa.s, false); break;
    case Comparison::Set: always_never = tnum_set_outcome(pa.tnum, pb.tnum); break;
  }
  if (always_never.first) return BranchOutcome::Always;
  if (always_never.second) return BranchOutcome::Never;
  return BranchOutcome::Maybe;
}

template <unsigned Bits>
std::optional<BasicRefinedOperands<Bits>> refine_full(Comparison c, const BasicScalar<Bits>& a, const BasicScalar<Bits>& b, bool taken) {
  using S = BasicScalar<Bits>;
  const BranchOutcome outcome = evaluate_full(c, a, b);
  if (outcome == (taken ? BranchOutcome::Never : BranchOutcome::Always)) return std::nullopt;
  const EdgeRelation edge = edge_relation(c, taken);
  const S& left = edge.swapped ? b : a;
  const S& right = edge.swapped ? a : b;
  auto pl = left.parts(), pr = right.parts();
  switch (edge.relation) {
    case Relation::Eq: {
      const S both = a.meet(b);
      if (both.is_bottom()) return std::nullopt;
      return BasicRefinedOperands<Bits>{both, both};
    }
    case Relation::Ne: {
      const auto l_u = u_remove_end_checked(pl.u, pr.u), l_s = s_remove_end(pl.s, pr.s);
      const auto r_u = u_remove_end_checked(pr.u, pl.u), r_s = s_remove_end(pr.s, pl.s);
      pl.u = l_u, pl.s = l_s, pr.u = r_u, pr.s = r_s;
      break;
    }
    case Relation::Ult: case Relation::Ule: {
      const auto refined = u_refine_less(pl.u, pr.u, edge.relation == Relation::Ult);
      pl.u = refined.left, pr.u = refined.right;
      break;
    }
    case Relation::Slt: case Relation::Sle: {
      const auto refined = s_refine_less(pl.s, pr.s, edge.relation == Relation::Slt);
      pl.s = refined.left, pr.s = refined.right;
      break;
    }
    case Relation::Set: {
      // Both are non-zero, and a single known bit on one side is set on the other.
      if (tnum_set_single_bit_conflict(pl.tnum, pr.tnum) || tnum_set_single_bit_conflict(pr.tnum, pl.tnum)) return std::nullopt;
      const auto l_t = tnum_set_single_bit(pl.tnum, pr.tnum), r_t = tnum_set_single_bit(pr.tnum, pl.tnum);
      pl.tnum = l_t, pr.tnum = r_t;
      const auto zero = S::Unsigned::constant(0).parts();
      pl.u = u_remove_end_checked(pl.u, zero), pr.u = u_remove_end_checked(pr.u, zero);
      break;
    }
    case Relation::Clear: {
      if (tnum_meet_conflict(pl.tnum, TnumParts<typename S::Word>{zero_like(pr.tnum.value), ~pr.tnum.value}) ||
          tnum_meet_conflict(pr.tnum, TnumParts<typename S::Word>{zero_like(pl.tnum.value), ~pl.tnum.value}))
        return std::nullopt;
      const auto l_t = tnum_clear_known_ones(pl.tnum, pr.tnum), r_t = tnum_clear_known_ones(pr.tnum, pl.tnum);
      pl.tnum = l_t, pr.tnum = r_t;
      break;
    }
  }
  const S new_left = S::reduced(pl), new_right = S::reduced(pr);
  if (new_left.is_bottom() || new_right.is_bottom()) return std::nullopt;
  return edge.swapped ? BasicRefinedOperands<Bits>{new_right, new_left} : BasicRefinedOperands<Bits>{new_left, new_right};
}

// a restricted to the members whose low half lies in `low` (a refined view of a's low half).
template <unsigned Bits>
BasicScalar<Bits> with_low_half(const BasicScalar<Bits>& a, const BasicScalar<BasicScalar<Bits>::half_bits>& low) {
  using S = BasicScalar<Bits>;
  constexpr uint64_t upper = all_ones<Bits> & ~all_ones<S::half_bits>;
  const auto t = S::TnumType::make(low.tnum().value(), low.tnum().mask() | upper);
  return S::from_components(a.tnum().meet(t), a.unsigned_interval(), a.signed_interval(),
                            a.unsigned_half().meet(low.unsigned_interval()), a.signed_half().meet(low.signed_interval()));
}

}  // namespace detail

// Three-valued: Always / Never when every / no pair of members satisfies `a c b`.
template <unsigned Bits>
BranchOutcome evaluate(Comparison c, const BasicScalar<Bits>& a, const BasicScalar<Bits>& b, OperandWidth w) {
  if (a.is_bottom() || b.is_bottom()) return BranchOutcome::Never;
  if (w == OperandWidth::Full) return detail::evaluate_full(c, a, b);
  return detail::evaluate_full(c, low_half_view(a), low_half_view(b));
}

// Both operands on the edge where `a c b` is `taken`; nullopt when that edge cannot happen.
// Half compares the low halves (JMP32); what is learnt about them narrows the full values.
template <unsigned Bits>
std::optional<BasicRefinedOperands<Bits>> refine(Comparison c, const BasicScalar<Bits>& a, const BasicScalar<Bits>& b,
                                                 OperandWidth w, bool taken) {
  if (a.is_bottom() || b.is_bottom()) return std::nullopt;
  if (w == OperandWidth::Full) return detail::refine_full(c, a, b, taken);
  const auto low = detail::refine_full(c, low_half_view(a), low_half_view(b), taken);
  if (!low) return std::nullopt;
  const auto left = detail::with_low_half(a, low->left), right = detail::with_low_half(b, low->right);
  if (left.is_bottom() || right.is_bottom()) return std::nullopt;
  return BasicRefinedOperands<Bits>{left, right};
}

}  // namespace bpfvet::domains
