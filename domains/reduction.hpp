#pragma once
// The reduction of the product tnum x unsigned x signed x unsigned-half x signed-half: each
// component tightens the others. One round is a fixed sequence of sound steps; BasicScalar repeats
// rounds until nothing changes. Like the other algorithms it is generic over the word type, and the
// proof test shows that a round never removes a concrete member.
#include "domains/interval.hpp"
#include "domains/tnum.hpp"

namespace bpfvet::domains {

template <class W>
struct ScalarParts {
  using Half = typename W::Half;
  TnumParts<W> tnum;
  IntervalParts<W> u;      // unsigned, full width
  IntervalParts<W> s;      // signed, full width
  IntervalParts<Half> u_half;  // unsigned, low half
  IntervalParts<Half> s_half;  // signed, low half
  typename W::Bool empty;  // a step found the components contradict each other
};

template <class W>
typename W::Bool scalar_contains(const ScalarParts<W>& p, const W& x) {
  const auto low = low_half(x);
  return !p.empty && tnum_contains(p.tnum, x) && u_contains(p.u, x) && s_contains(p.s, x) &&
         u_contains(p.u_half, low) && s_contains(p.s_half, low);
}

namespace reduction_steps {

// Unsigned bounds of a tnum are its all-unknowns-0 and all-unknowns-1 members; signed ones put an
// unknown sign bit to 1 for the minimum and to 0 for the maximum.
// Example (4 bits): (0b0001; 0b1010) -> u [1, 11], s [0b1001 = -7, 0b0011 = 3].
template <class W>
IntervalParts<W> unsigned_bounds_of(const TnumParts<W>& t) { return {t.value, t.value | t.mask}; }
template <class W>
IntervalParts<W> signed_bounds_of(const TnumParts<W>& t) {
  const W unknown_sign = t.mask & signed_min_like(t.mask);
  return {t.value | unknown_sign, (t.value | t.mask) & ~unknown_sign};
}

template <class W>
void bounds_from_tnum(ScalarParts<W>& p) {
  using H = typename W::Half;
  p.u = u_meet(p.u, unsigned_bounds_of(p.tnum));
  p.s = s_meet(p.s, signed_bounds_of(p.tnum));
  const TnumParts<H> low{low_half(p.tnum.value), low_half(p.tnum.mask)};
  p.u_half = u_meet(p.u_half, unsigned_bounds_of(low));
  p.s_half = s_meet(p.s_half, signed_bounds_of(low));
}

// A signed interval whose ends share the sign bit is also a contiguous unsigned interval, and vice
// versa. Example (8 bits): u [3, 100] -> s [3, 100]; s [-5, -1] -> u [251, 255].
template <class W>
void cross_signedness(IntervalParts<W>& u, IntervalParts<W>& s) {
  const W sign = signed_min_like(u.lo);
  const auto u_one_sign = (u.lo & sign) == (u.hi & sign);
  s = choose(u_one_sign, s_meet(s, u), s);
  const auto s_one_sign = (s.lo & sign) == (s.hi & sign);
  u = choose(s_one_sign, u_meet(u, s), u);
}

// When the ends of a full-width interval agree in the upper half, the low halves of its members
// form the interval of the ends' low halves. Example: u [0x1'0000'0005, 0x1'0000'0010] ->
// u_half [5, 16]. This holds for a signed interval too (same upper half: same order).
// Likewise for the signed low half, whose order breaks where the low half passes its sign bit
// (k * 2^Bits/2 + 2^(Bits/2 - 1)), not at k * 2^Bits/2: shift by half the block and compare upper
// halves, provided the shift does not wrap one end and not the other. Example: s [-4, 3] ->
// s_half [-4, 3].
template <class W>
void half_from_full(ScalarParts<W>& p) {
  using H = typename W::Half;
  const W upper = ~zero_extend_to<W>(ones_like(low_half(p.u.lo)));
  const W half_sign = zero_extend_to<W>(signed_min_like(low_half(p.u.lo)));
  for (const bool is_signed : {false, true}) {
    const IntervalParts<W>& full = is_signed ? p.s : p.u;
    const IntervalParts<H> low{low_half(full.lo), low_half(full.hi)};
    const auto same_upper = (full.lo & upper) == (full.hi & upper);
    p.u_half = choose(same_upper, u_meet(p.u_half, low), p.u_half);
    const W lo = full.lo + half_sign, hi = full.hi + half_sign;
    const auto wraps_alike = is_signed ? slt(lo, full.lo) == slt(hi, full.hi) : ult(lo, full.lo) == ult(hi, full.hi);
    const auto same_signed_block = wraps_alike && (lo & upper) == (hi & upper);
    p.s_half = choose(same_signed_block, s_meet(p.s_half, low), p.s_half);
  }
}

// The low half bounds the full interval's ends within their upper halves. Example (64 bits):
// u [0, 0x1'0000'0003] with u_half [10, 20]: the top end's low half 3 is below 10, so no member has
// upper half 1 and the top end drops to 0x0'0000'0014 (= 20). Signed intervals order their members
// the same way (upper half signed, low half unsigned), so the rule is shared; `Signed` only moves
// where the upper half may not step.
template <bool Signed, class W>
IntervalParts<W> full_from_half(const IntervalParts<W>& full, const IntervalParts<typename W::Half>& half) {
  const W half_ones = zero_extend_to<W>(ones_like(half.lo));
  const W block = half_ones + constant_like(half_ones, 1);
  const W upper_lo = full.lo & ~half_ones;
  const W upper_hi = full.hi & ~half_ones;
  const W half_lo = zero_extend_to<W>(half.lo);
  const W half_hi = zero_extend_to<W>(half.hi);
  const W last_block = Signed ? signed_max_like(half_ones) & ~half_ones : ~half_ones;
  const W first_block = Signed ? signed_min_like(half_ones) : zero_like(half_ones);
  // The low end: inside its block it can only rise to half.lo; if its low half is past half.hi the
  // next block is the first with members.
  const auto skip_up = ult(half_hi, full.lo & half_ones) && upper_lo != last_block;
  const W lo = select(skip_up, (upper_lo + block) | half_lo,
                      select(ult(full.lo & half_ones, half_lo), upper_lo | half_lo, full.lo));
  const auto skip_down = ult(full.hi & half_ones, half_lo) && upper_hi != first_block;
  const W hi = select(skip_down, (upper_hi - block) | half_hi,
                      select(ult(half_hi, full.hi & half_ones), upper_hi | half_hi, full.hi));
  return {lo, hi};
}

// A tnum from bounds: the common leading bits of the ends are known (and the low half's ones).
template <class W>
void tnum_from_bounds(ScalarParts<W>& p) {
  using H = typename W::Half;
  const W sign = signed_min_like(p.u.lo);
  auto narrow_by = [&](const TnumParts<W>& t) {
    p.empty = p.empty || tnum_meet_conflict(p.tnum, t);
    p.tnum = tnum_meet(p.tnum, t);
  };
  narrow_by(tnum_range(p.u.lo, p.u.hi));
  const auto s_one_sign = (p.s.lo & sign) == (p.s.hi & sign);
  const TnumParts<W> from_signed = tnum_range(p.s.lo, p.s.hi);
  narrow_by({select(s_one_sign, from_signed.value, zero_like(sign)), select(s_one_sign, from_signed.mask, ones_like(sign))});
  const W upper_unknown = ~zero_extend_to<W>(ones_like(p.u_half.lo));
  const TnumParts<H> low = tnum_range(p.u_half.lo, p.u_half.hi);
  narrow_by({zero_extend_to<W>(low.value), zero_extend_to<W>(low.mask) | upper_unknown});
}

template <class W>
void check_empty(ScalarParts<W>& p) {
  p.empty = p.empty || u_empty(p.u) || s_empty(p.s) || u_empty(p.u_half) || s_empty(p.s_half);
}

}  // namespace reduction_steps

// One round. Each step keeps every member (see the proof test); later steps use earlier results.
template <class W>
ScalarParts<W> reduce_round(ScalarParts<W> p) {
  using namespace reduction_steps;
  bounds_from_tnum(p);
  cross_signedness(p.u, p.s);
  half_from_full(p);
  cross_signedness(p.u_half, p.s_half);
  p.u = full_from_half<false>(p.u, p.u_half);
  p.s = full_from_half<true>(p.s, p.u_half);
  cross_signedness(p.u, p.s);
  check_empty(p);
  tnum_from_bounds(p);
  bounds_from_tnum(p);
  check_empty(p);
  return p;
}

}  // namespace bpfvet::domains
