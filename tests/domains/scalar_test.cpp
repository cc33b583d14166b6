// Scalar: constructors and printing, each cross-refinement of the reduced product (more precise
// than any component alone), lattice laws, and soundness of every ALU operation against the
// concrete one on sampled product values at 4, 6 and 8 bits (every member pair checked).
#include "domains/scalar.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "enumerate.hpp"

namespace bpfvet::domains {
namespace {

using testing::members;
using testing::random_scalar;

TEST(Scalar, ConstructorsAndQueries) {
  EXPECT_TRUE(Scalar::top().is_top());
  EXPECT_TRUE(Scalar::bottom().is_bottom());
  EXPECT_EQ(Scalar::constant(42).constant_value(), 42u);
  EXPECT_FALSE(Scalar::unsigned_range(1, 2).constant_value());
  EXPECT_TRUE(Scalar::unsigned_range(5, 4).is_bottom());
  const Scalar s = Scalar::signed_range(-4, 3);
  EXPECT_EQ(s.smin(), -4);
  EXPECT_EQ(s.smax(), 3);
  EXPECT_EQ(s.s32min(), -4);
  EXPECT_TRUE(s.contains(uint64_t(-4)));
  EXPECT_FALSE(s.contains(4));
  EXPECT_EQ(Scalar::from_tnum(Tnum::make(0, 0xff)).umax(), 255u);
  EXPECT_EQ(sizeof(Scalar), 64u);
}

TEST(Scalar, Printing) {
  EXPECT_EQ(Scalar::constant(42).to_string(), "42");
  EXPECT_EQ(Scalar::constant(~uint64_t{0}).to_string(), "-1");
  EXPECT_EQ(Scalar::top().to_string(), "scalar");
  EXPECT_EQ(Scalar::bottom().to_string(), "bottom");
  EXPECT_EQ(Scalar::unsigned_range(0, 255).to_string(), "umax=255 var_off=(0x0; 0xff)");
  EXPECT_EQ(Scalar::unsigned_range(1, 256).to_string(), "umin=1 umax=256 var_off=(0x0; 0x1ff)");
  EXPECT_EQ(Scalar::unsigned_range(0, 255).to_compact_string(), "[0, 255]");
  EXPECT_EQ(Scalar::constant(42).to_compact_string(), "42");
  EXPECT_EQ(Scalar::top().to_compact_string(), "scalar");
  EXPECT_EQ(Scalar::signed_range(-4, 7).to_compact_string(), "[-4, 7]");
  EXPECT_EQ(Scalar::signed_range(-5, -1).to_compact_string(), "[-5, -1]");
  EXPECT_EQ(Scalar::signed_range(-5, -1).to_string(), "umin=18446744073709551611 smin=-5 smax=-1 var_off=(0xfffffffffffffff8; 0x7)");
  EXPECT_EQ(Scalar::unsigned_range(0x100000005, 0x100000010).to_string(),
            "umin=4294967301 umax=4294967312 var_off=(0x100000000; 0x1f)");
  const std::string negative = Scalar::signed_range(-5, -1).to_string();
  EXPECT_NE(negative.find("smin=-5"), std::string::npos) << negative;
  EXPECT_NE(negative.find("var_off=(0xfffffffffffffff8; 0x7)"), std::string::npos) << negative;
}

// Each cross-refinement on a case where the component alone would know less.
TEST(Scalar, ReductionTnumToBounds) {
  // A tnum with the low 8 bits unknown bounds the value to [0x100, 0x1ff].
  const Scalar s = Scalar::from_tnum(Tnum::make(0x100, 0xff));
  EXPECT_EQ(s.umin(), 0x100u);
  EXPECT_EQ(s.umax(), 0x1ffu);
  EXPECT_EQ(s.smin(), 0x100);
  EXPECT_EQ(s.u32max(), 0x1ffu);
}
TEST(Scalar, ReductionBoundsToTnum) {
  const Scalar s = Scalar::unsigned_range(0, 100);
  EXPECT_EQ(s.tnum(), Tnum::make(0, 0x7f));
  // And the combination beats both: [0, 100] & tnum: r & 0xf0 -> bounds say <= 100, tnum says 0x?0
  const Scalar masked = apply(BinaryOp::And, s, Scalar::constant(0xf0), OperandWidth::Full);
  EXPECT_EQ(masked.tnum(), Tnum::make(0, 0x70));
  EXPECT_EQ(masked.umax(), 100u) << "interval bound kept";
  const Scalar plus = apply(BinaryOp::Add, masked, Scalar::constant(1), OperandWidth::Full);
  EXPECT_EQ(plus.umax(), 101u);
  EXPECT_EQ(plus.tnum().value() & 1, 1u) << plus.to_string();
}
TEST(Scalar, ReductionUnsignedToSigned) {
  const Scalar s = Scalar::unsigned_range(3, 100);
  EXPECT_EQ(s.smin(), 3);
  EXPECT_EQ(s.smax(), 100);
}
TEST(Scalar, ReductionSignedToUnsigned) {
  const Scalar s = Scalar::signed_range(-5, -1);
  EXPECT_EQ(s.umin(), uint64_t(-5));
  EXPECT_EQ(s.umax(), ~uint64_t{0});
  EXPECT_EQ(s.u32min(), uint32_t(-5));
}
TEST(Scalar, ReductionFullToHalf) {
  const Scalar s = Scalar::unsigned_range(0x100000005, 0x100000010);
  EXPECT_EQ(s.u32min(), 5u);
  EXPECT_EQ(s.u32max(), 16u);
  EXPECT_EQ(s.s32min(), 5);
}
TEST(Scalar, ReductionHalfToFull) {
  // u in [0, 2^32 + 3] and low half in [10, 20]: the block above 2^32 has no member.
  const Scalar s = Scalar::unsigned_range(0, 0x100000003)
                       .meet(Scalar::from_components(Tnum::top(), UnsignedInterval::top(), SignedInterval::top(),
                                                     UnsignedInterval32::make(10, 20), SignedInterval32::top()));
  EXPECT_EQ(s.umin(), 10u);
  EXPECT_EQ(s.umax(), 20u);
  // And upward: u in [2^32 - 1, 2^40], low half in [0, 5] -> at least 2^32.
  const Scalar t = Scalar::from_components(Tnum::top(), UnsignedInterval::make(0xffffffff, uint64_t{1} << 40), SignedInterval::top(),
                                           UnsignedInterval32::make(0, 5), SignedInterval32::top());
  EXPECT_EQ(t.umin(), 0x100000000u);
}
TEST(Scalar, ReductionDetectsContradiction) {
  EXPECT_TRUE(Scalar::unsigned_range(0, 10).meet(Scalar::from_tnum(Tnum::make(0x100, 0xff))).is_bottom());
  EXPECT_TRUE(Scalar::from_components(Tnum::top(), UnsignedInterval::make(5, 6), SignedInterval::top(),
                                      UnsignedInterval32::make(7, 9), SignedInterval32::top())
                  .is_bottom());
}

TEST(Scalar, ConstantFastPathAndIsaCorners) {
  const Scalar int_min = Scalar::constant(uint64_t(INT64_MIN)), minus_one = Scalar::constant(~uint64_t{0});
  EXPECT_EQ(apply(BinaryOp::SDiv, int_min, minus_one, OperandWidth::Full).constant_value(), uint64_t(INT64_MIN));
  EXPECT_EQ(apply(BinaryOp::SMod, int_min, minus_one, OperandWidth::Full).constant_value(), 0u);
  EXPECT_EQ(apply(BinaryOp::UDiv, Scalar::constant(7), Scalar::constant(0), OperandWidth::Full).constant_value(), 0u);
  EXPECT_EQ(apply(BinaryOp::UMod, Scalar::constant(7), Scalar::constant(0), OperandWidth::Full).constant_value(), 7u);
  EXPECT_EQ(apply(BinaryOp::Lsh, Scalar::constant(1), Scalar::constant(65), OperandWidth::Full).constant_value(), 2u);
  EXPECT_EQ(apply(BinaryOp::Lsh, Scalar::constant(1), Scalar::constant(33), OperandWidth::Half).constant_value(), 2u);
  EXPECT_EQ(apply(BinaryOp::Add, Scalar::constant(0xffffffff), Scalar::constant(1), OperandWidth::Half).constant_value(), 0u);
  EXPECT_EQ(apply(UnaryOp::SignExtend8, Scalar::constant(0x80), OperandWidth::Full).constant_value(), 0xffffffffffffff80u);
  EXPECT_EQ(apply(UnaryOp::SignExtend8, Scalar::constant(0x80), OperandWidth::Half).constant_value(), 0xffffff80u);
  EXPECT_EQ(apply(UnaryOp::Bswap16, Scalar::constant(0xaabb1122), OperandWidth::Full).constant_value(), 0x2211u);
  EXPECT_EQ(apply(UnaryOp::Bswap64, Scalar::constant(0x0102030405060708), OperandWidth::Full).constant_value(), 0x0807060504030201u);
  EXPECT_EQ(truncate_to_half(Scalar::constant(0x1234567890)).constant_value(), 0x34567890u);
}

TEST(Scalar, AluExamples) {
  const Scalar byte = Scalar::unsigned_range(0, 255);
  EXPECT_EQ(apply(BinaryOp::Lsh, byte, Scalar::constant(4), OperandWidth::Full).umax(), 255u << 4);
  EXPECT_EQ(apply(BinaryOp::Mul, byte, Scalar::constant(3), OperandWidth::Full).umax(), 765u);
  EXPECT_EQ(apply(BinaryOp::UDiv, byte, Scalar::unsigned_range(2, 4), OperandWidth::Full).umax(), 127u);
  EXPECT_EQ(apply(BinaryOp::UMod, Scalar::top(), Scalar::constant(16), OperandWidth::Full).umax(), 15u);
  EXPECT_EQ(apply(UnaryOp::ZeroExtend8, Scalar::top(), OperandWidth::Full).umax(), 255u);
  const Scalar sext = apply(UnaryOp::SignExtend32, Scalar::from_components(Tnum::top(), UnsignedInterval::top(), SignedInterval::top(),
                                                                           UnsignedInterval32::top(), SignedInterval32::make(-3, 9)),
                            OperandWidth::Full);
  EXPECT_EQ(sext.smin(), -3);
  EXPECT_EQ(sext.smax(), 9);
  // A Half operation zero-extends: the full value is below 2^32.
  const Scalar half = apply(BinaryOp::Add, Scalar::top(), Scalar::constant(1), OperandWidth::Half);
  EXPECT_EQ(half.umax(), 0xffffffffu);
  EXPECT_TRUE(apply(BinaryOp::Add, Scalar::bottom(), Scalar::top(), OperandWidth::Full).is_bottom());
}

TEST(Scalar, WidenAndNarrow) {
  Thresholds t;
  t.add(1000);
  Scalar i = Scalar::constant(0);
  // i = 0; loop { i += 1 } widened: reaches a threshold bound, not a growing chain.
  Scalar previous = i;
  int steps = 0;
  for (; steps < 400; ++steps) {
    const Scalar next = previous.widen(previous.join(apply(BinaryOp::Add, previous, Scalar::constant(1), OperandWidth::Full)), t);
    if (next == previous) break;
    previous = next;
  }
  std::printf("i += 1 loop: widening stable after %d steps\n", steps);
  EXPECT_LT(steps, 400);
  EXPECT_TRUE(previous.contains(0) && previous.contains(12345));
  // With the program's constant as a threshold, one step from [0, 999] to [0, 1000] lands there.
  EXPECT_EQ(Scalar::unsigned_range(0, 999).widen(Scalar::unsigned_range(0, 1000), t).umax(), 1000u);
  // Narrowing with the loop guard i < 1000 recovers the bound.
  const Scalar guarded = Scalar::unsigned_range(0, 999);
  EXPECT_EQ(Scalar::unsigned_range(0, ~uint64_t{0}).narrow(guarded).umax(), 999u);
}

// ---- Sampled soundness over product values ----

template <unsigned Bits>
void check_alu_sampled(int pairs, uint64_t seed) {
  using S = BasicScalar<Bits>;
  std::mt19937_64 rng(seed);
  uint64_t checked = 0, failures = 0;
  for (int n = 0; n < pairs; ++n) {
    const S a = random_scalar<Bits>(rng), b = random_scalar<Bits>(rng);
    const auto xs = members(a), ys = members(b);
    for (OperandWidth w : {OperandWidth::Full, OperandWidth::Half}) {
      for (BinaryOp op : all_binary_ops) {
        const S r = apply(op, a, b, w);
        for (uint64_t x : xs)
          for (uint64_t y : ys) {
            ++checked;
            const uint64_t z = concrete::binary<Bits>(op, x, y, w);
            if (!r.contains(z) && failures++ < 5)
              ADD_FAILURE() << name(op) << (w == OperandWidth::Half ? "32" : "") << " at " << Bits << " bits: " << a.to_string()
                            << " , " << b.to_string() << " -> " << r.to_string() << " misses " << x << " op " << y << " = " << z;
          }
      }
      for (UnaryOp op : all_unary_ops) {
        const S r = apply(op, a, w);
        for (uint64_t x : xs) {
          ++checked;
          const uint64_t z = concrete::unary<Bits>(op, x, w);
          if (!r.contains(z) && failures++ < 5)
            ADD_FAILURE() << name(op) << (w == OperandWidth::Half ? "32" : "") << " at " << Bits << " bits: " << a.to_string() << " -> "
                          << r.to_string() << " misses " << x << " -> " << z;
        }
      }
    }
    // Lattice: join holds both, meet holds the intersection, widen holds both.
    const S j = a.join(b), m = a.meet(b), wd = a.widen(b, Thresholds{});
    for (uint64_t x = 0; x <= all_ones<Bits>; ++x) {
      const bool ia = a.contains(x), ib = b.contains(x);
      if ((ia || ib) && !j.contains(x) && failures++ < 5) ADD_FAILURE() << "join misses " << x;
      if (ia && ib && !m.contains(x) && failures++ < 5) ADD_FAILURE() << "meet misses " << x;
      if ((ia || ib) && !wd.contains(x) && failures++ < 5) ADD_FAILURE() << "widen misses " << x;
    }
    if (a.leq(b))
      for (uint64_t x : xs)
        if (!b.contains(x) && failures++ < 5) ADD_FAILURE() << "leq but not included: " << x;
    // Truncation.
    const S t = truncate_to_half(a);
    for (uint64_t x : xs)
      if (!t.contains(x & all_ones<S::half_bits>) && failures++ < 5) ADD_FAILURE() << "truncate misses " << x;
  }
  EXPECT_EQ(failures, 0u);
  std::printf("scalar ALU %u bits: %d sampled pairs, %llu member checks, %llu unsound\n", Bits, pairs, (unsigned long long)checked,
              (unsigned long long)failures);
}

// Every 4-bit tnum, unsigned interval and signed interval as a Scalar; every pair within a family
// and every tnum x interval pair, through apply() at both widths.
TEST(Scalar, AluSoundExhaustive4Bits) {
  using S = BasicScalar<4>;
  std::vector<S> values;
  for (const auto& t : testing::all_tnums<4>()) values.push_back(S::from_tnum(t));
  for (auto [lo, hi] : testing::all_intervals<4>(false)) values.push_back(S::unsigned_range(lo, hi));
  for (auto [lo, hi] : testing::all_intervals<4>(true)) values.push_back(S::signed_range(to_signed<4>(lo), to_signed<4>(hi)));
  std::vector<std::vector<uint64_t>> member_lists;
  for (const S& v : values) member_lists.push_back(members(v));
  const size_t tnums = 81, unsigned_end = 81 + 136;
  uint64_t checked = 0, failures = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    for (OperandWidth w : {OperandWidth::Full, OperandWidth::Half})
      for (UnaryOp op : all_unary_ops) {
        const S r = apply(op, values[i], w);
        for (uint64_t x : member_lists[i])
          if (++checked, !r.contains(concrete::unary<4>(op, x, w)) && failures++ < 5)
            ADD_FAILURE() << name(op) << " " << values[i].to_string() << " -> " << r.to_string() << " misses " << x;
      }
    for (size_t j = 0; j < values.size(); ++j) {
      const bool same_family = (i < tnums) == (j < tnums) && (i < unsigned_end) == (j < unsigned_end);
      if (!same_family && (i < tnums) == (j < tnums)) continue;
      for (OperandWidth w : {OperandWidth::Full, OperandWidth::Half})
        for (BinaryOp op : all_binary_ops) {
          const S r = apply(op, values[i], values[j], w);
          for (uint64_t x : member_lists[i])
            for (uint64_t y : member_lists[j])
              if (++checked, !r.contains(concrete::binary<4>(op, x, y, w)) && failures++ < 5)
                ADD_FAILURE() << name(op) << " " << values[i].to_string() << " , " << values[j].to_string() << " -> " << r.to_string()
                              << " misses " << x << " op " << y;
        }
    }
  }
  EXPECT_EQ(failures, 0u);
  std::printf("scalar ALU 4 bits exhaustive: %zu values, %llu member checks, %llu unsound\n", values.size(), (unsigned long long)checked,
              (unsigned long long)failures);
}

TEST(Scalar, AluSoundSampled4Bits) { check_alu_sampled<4>(3000, 1); }
TEST(Scalar, AluSoundSampled6Bits) { check_alu_sampled<6>(2000, 2); }
TEST(Scalar, AluSoundSampled8Bits) { check_alu_sampled<8>(1000, 3); }
TEST(ScalarSlow, AluSoundSampled8BitsMany) {
  if (!testing::slow_tests_enabled()) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
  check_alu_sampled<8>(50000, 4);
}

// The reduction keeps every member of the unreduced product: build random (unreduced) component
// combinations, reduce, and compare membership for every value.
template <unsigned Bits>
void check_reduction_sampled(int samples) {
  using S = BasicScalar<Bits>;
  std::mt19937_64 rng(7);
  auto pair = [&](uint64_t ones) {
    uint64_t a = rng() & ones, b = rng() & ones;
    return std::pair{std::min(a, b), std::max(a, b)};
  };
  for (int n = 0; n < samples; ++n) {
    const uint64_t mask = rng() & rng() & all_ones<Bits>;
    const auto t = rng() % 4 ? BasicTnum<Bits>::make(rng() & ~mask, mask) : BasicTnum<Bits>::top();
    const auto [ul, uh] = pair(all_ones<Bits>);
    int64_t sl = to_signed<Bits>(rng()), sh = to_signed<Bits>(rng());
    if (sl > sh) std::swap(sl, sh);
    const auto [hl, hh] = pair(all_ones<S::half_bits>);
    int64_t ql = to_signed<S::half_bits>(rng()), qh = to_signed<S::half_bits>(rng());
    if (ql > qh) std::swap(ql, qh);
    const auto u = rng() % 2 ? S::Unsigned::make(ul, uh) : S::Unsigned::top();
    const auto s = rng() % 2 ? S::Signed::make(sl, sh) : S::Signed::top();
    const auto uh2 = rng() % 2 ? S::UnsignedHalf::make(hl, hh) : S::UnsignedHalf::top();
    const auto sh2 = rng() % 2 ? S::SignedHalf::make(ql, qh) : S::SignedHalf::top();
    const S reduced = S::from_components(t, u, s, uh2, sh2);
    for (uint64_t x = 0; x <= all_ones<Bits>; ++x) {
      const bool member = t.contains(x) && u.contains(x) && s.contains(x) && uh2.contains(x) && sh2.contains(x);
      ASSERT_EQ(reduced.contains(x), member) << "x=" << x << " reduced=" << reduced.to_string() << " tnum=" << t.to_string()
                                             << " u=" << u.to_string() << " s=" << s.to_string();
      if (!member) continue;
    }
  }
}
TEST(Scalar, ReductionKeepsMembersSampled) {
  check_reduction_sampled<4>(20000);
  check_reduction_sampled<8>(5000);
}

}  // namespace
}  // namespace bpfvet::domains
