// Intervals: worked examples, widening with thresholds, and exhaustive soundness of every
// unsigned and signed operation over every pair of intervals at 4 and 5 bits.
#include "domains/interval.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "domains/concrete.hpp"
#include "enumerate.hpp"

namespace bpfvet::domains {
namespace {

using testing::all_intervals;
using testing::interval_members;

TEST(Interval, WrapAroundExamples) {
  using U = BasicUnsignedInterval<8>;
  using S = BasicSignedInterval<8>;
  EXPECT_EQ(U::make(250, 255).add(U::constant(10)), U::make(4, 9));  // both ends wrap
  EXPECT_TRUE(U::make(250, 255).add(U::make(0, 10)).is_top());     // only one end wraps
  EXPECT_EQ(U::make(10, 20).sub(U::make(1, 5)), U::make(5, 19));
  EXPECT_TRUE(U::make(0, 20).sub(U::make(1, 5)).is_top());
  EXPECT_EQ(S::make(100, 110).add(S::constant(10)), S::make(110, 120));
  EXPECT_TRUE(S::make(100, 120).add(S::constant(10)).is_top());  // 130 overflows
  EXPECT_TRUE(S::make(100, 127).add(S::constant(10)).is_top());
  EXPECT_EQ(S::make(-128, -120).sub(S::constant(10)), S::make(118, 126));  // both wrap negative
  EXPECT_EQ(S::make(-3, 4).mul(S::make(-2, 5)), S::make(-15, 20));
  EXPECT_EQ(U::make(3, 5).neg(), U::make(251, 253));
  EXPECT_TRUE(U::make(0, 5).neg().is_top());
  EXPECT_EQ(S::make(-128, -128).neg(), S::make(-128, -128));
}

TEST(Interval, LatticeAndBottom) {
  using U = UnsignedInterval;
  EXPECT_TRUE(U::make(5, 4).is_bottom());
  EXPECT_TRUE(U::make(1, 3).meet(U::make(4, 9)).is_bottom());
  EXPECT_EQ(U::make(1, 3).join(U::make(7, 9)), U::make(1, 9));
  EXPECT_TRUE(U::make(2, 3).leq(U::make(1, 9)));
  EXPECT_FALSE(U::make(0, 3).leq(U::make(1, 9)));
  EXPECT_TRUE(U::bottom().leq(U::make(1, 1)));
  EXPECT_EQ(U::bottom().join(U::constant(4)), U::constant(4));
  EXPECT_EQ(SignedInterval::make(-5, 7).to_string(), "[-5, 7]");
}

TEST(Interval, WideningJumpsToThresholds) {
  Thresholds t;
  using U = UnsignedInterval;
  using S = SignedInterval;
  EXPECT_EQ(U::make(0, 1).widen(U::make(0, 2), t), U::make(0, 2));  // 2 is a power of two
  EXPECT_EQ(U::make(0, 4).widen(U::make(0, 5), t), U::make(0, 8));
  EXPECT_EQ(U::make(0, 200).widen(U::make(0, 250), t), U::make(0, 255));  // UINT8_MAX
  EXPECT_EQ(U::make(0, 10).widen(U::make(0, 11), t), U::make(0, 16));
  t.add(100);
  EXPECT_EQ(U::make(0, 10).widen(U::make(0, 40), t), U::make(0, 64));
  EXPECT_EQ(U::make(0, 64).widen(U::make(0, 65), t), U::make(0, 100));
  EXPECT_EQ(U::make(5, 10).widen(U::make(3, 10), t), U::make(2, 10));
  EXPECT_EQ(S::make(-1, 0).widen(S::make(-2, 0), t), S::make(-2, 0));
  EXPECT_EQ(S::make(-1, 0).widen(S::make(-5, 0), t), S::make(-8, 0));
  EXPECT_EQ(S::make(0, 100).widen(S::make(0, 130), t), S::make(0, 255));  // UINT8_MAX
  EXPECT_EQ(U::make(0, 10).widen(U::make(0, 11), Thresholds::none()), U::make(0, ~uint64_t{0}));
  // Narrowing recovers a bound that widening pushed to the extreme.
  EXPECT_EQ(U::make(0, ~uint64_t{0}).narrow(U::make(0, 99)), U::make(0, 99));
  EXPECT_EQ(U::make(0, 200).narrow(U::make(0, 99)), U::make(0, 200));
  // Widening terminates: a chain of ever-larger intervals stabilises within 2 * 64 + 2 steps.
  U x = U::constant(0);
  int steps = 0;
  for (uint64_t hi = 1; steps < 200; hi = hi * 3 + 1, ++steps) {
    const U next = x.widen(x.join(U::make(0, hi)), t);
    if (next == x && hi > (uint64_t{1} << 62)) break;
    x = next;
  }
  EXPECT_LT(steps, 200);
}

template <unsigned Bits>
using PartsOf = IntervalParts<Word<Bits>>;

template <unsigned Bits>
struct IntervalCase {
  const char* name;
  bool is_signed;
  BinaryOp op;
  std::function<PartsOf<Bits>(const PartsOf<Bits>&, const PartsOf<Bits>&)> abstract;
};

template <unsigned Bits>
std::vector<IntervalCase<Bits>> interval_cases() {
  using P = PartsOf<Bits>;
  return {
      {"u_add", false, BinaryOp::Add, [](const P& a, const P& b) { return u_add(a, b); }},
      {"u_sub", false, BinaryOp::Sub, [](const P& a, const P& b) { return u_sub(a, b); }},
      {"u_mul", false, BinaryOp::Mul, [](const P& a, const P& b) { return u_mul(a, b); }},
      {"u_div", false, BinaryOp::UDiv, [](const P& a, const P& b) { return u_div(a, b); }},
      {"u_mod", false, BinaryOp::UMod, [](const P& a, const P& b) { return u_mod(a, b); }},
      {"u_and", false, BinaryOp::And, [](const P& a, const P& b) { return u_and(a, b); }},
      {"u_or", false, BinaryOp::Or, [](const P& a, const P& b) { return u_or(a, b); }},
      {"u_xor", false, BinaryOp::Xor, [](const P& a, const P& b) { return u_xor(a, b); }},
      {"u_lsh", false, BinaryOp::Lsh, [](const P& a, const P& b) { return u_lsh(a, b); }},
      {"u_rsh", false, BinaryOp::Rsh, [](const P& a, const P& b) { return u_rsh(a, b); }},
      {"s_add", true, BinaryOp::Add, [](const P& a, const P& b) { return s_add(a, b); }},
      {"s_sub", true, BinaryOp::Sub, [](const P& a, const P& b) { return s_sub(a, b); }},
      {"s_mul", true, BinaryOp::Mul, [](const P& a, const P& b) { return s_mul(a, b); }},
      {"s_div", true, BinaryOp::SDiv, [](const P& a, const P& b) { return s_div(a, b); }},
      {"s_mod", true, BinaryOp::SMod, [](const P& a, const P& b) { return s_mod(a, b); }},
      {"s_and", true, BinaryOp::And, [](const P& a, const P& b) { return s_and(a, b); }},
      {"s_or", true, BinaryOp::Or, [](const P& a, const P& b) { return s_or(a, b); }},
      {"s_xor", true, BinaryOp::Xor, [](const P& a, const P& b) { return s_xor(a, b); }},
  };
}

template <unsigned Bits>
bool member_of(const PartsOf<Bits>& r, uint64_t z, bool is_signed) {
  return is_signed ? s_contains(r, Word<Bits>::from(z)) : u_contains(r, Word<Bits>::from(z));
}

// The shift amount of the interval shift rules is the unsigned interval of the right operand,
// for both the unsigned (lsh, rsh) and the signed (arsh) left operand.
template <unsigned Bits>
void check_intervals_exhaustively() {
  using W = Word<Bits>;
  for (bool is_signed : {false, true}) {
    const auto intervals = all_intervals<Bits>(is_signed);
    const auto amounts = all_intervals<Bits>(false);
    std::vector<std::vector<uint64_t>> member_lists, amount_members;
    for (auto [lo, hi] : intervals) member_lists.push_back(interval_members<Bits>(lo, hi));
    for (auto [lo, hi] : amounts) amount_members.push_back(interval_members<Bits>(lo, hi));
    auto cases = interval_cases<Bits>();
    if (is_signed)
      cases.push_back({"s_arsh", true, BinaryOp::Arsh, [](const PartsOf<Bits>& a, const PartsOf<Bits>& b) { return s_arsh(a, b); }});
    for (const auto& c : cases) {
      if (c.is_signed != is_signed) continue;
      const bool shift = c.op == BinaryOp::Lsh || c.op == BinaryOp::Rsh || c.op == BinaryOp::Arsh;
      const auto& rights = shift ? amounts : intervals;
      const auto& right_members = shift ? amount_members : member_lists;
      uint64_t checked = 0, failures = 0;
      for (size_t i = 0; i < intervals.size(); ++i)
        for (size_t j = 0; j < rights.size(); ++j) {
          const PartsOf<Bits> a{W::from(intervals[i].first), W::from(intervals[i].second)};
          const PartsOf<Bits> b{W::from(rights[j].first), W::from(rights[j].second)};
          const auto r = c.abstract(a, b);
          for (uint64_t x : member_lists[i])
            for (uint64_t y : right_members[j]) {
              ++checked;
              const uint64_t z = concrete::binary_full<Bits>(c.op, x, y);
              if (!member_of<Bits>(r, z, is_signed) && failures++ < 3)
                ADD_FAILURE() << c.name << " at " << Bits << " bits: [" << intervals[i].first << ", " << intervals[i].second << "] , ["
                              << rights[j].first << ", " << rights[j].second << "] -> [" << r.lo.raw() << ", " << r.hi.raw()
                              << "] misses " << x << " op " << y << " = " << z;
            }
        }
      EXPECT_EQ(failures, 0u) << c.name;
      std::printf("interval %-6s %u bits: %zu interval pairs, %llu member pairs, %llu unsound\n", c.name, Bits,
                  intervals.size() * rights.size(), (unsigned long long)checked, (unsigned long long)failures);
    }
    // Negation.
    for (size_t i = 0; i < intervals.size(); ++i) {
      const PartsOf<Bits> a{W::from(intervals[i].first), W::from(intervals[i].second)};
      const auto r = is_signed ? s_neg(a) : u_neg(a);
      for (uint64_t x : member_lists[i])
        ASSERT_TRUE(member_of<Bits>(r, (0 - x) & all_ones<Bits>, is_signed)) << "neg " << intervals[i].first << " " << x;
    }
  }
}

TEST(Interval, SoundExhaustive4Bits) { check_intervals_exhaustively<4>(); }
TEST(Interval, SoundExhaustive5Bits) { check_intervals_exhaustively<5>(); }
TEST(IntervalSlow, SoundExhaustive6Bits) {
  if (!testing::slow_tests_enabled()) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
  check_intervals_exhaustively<6>();
}
TEST(IntervalSlow, SoundExhaustive7Bits) {
  if (!testing::slow_tests_enabled()) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
  check_intervals_exhaustively<7>();
}

}  // namespace
}  // namespace bpfvet::domains
