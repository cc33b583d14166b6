// Branch refinement: worked examples, and soundness of evaluate() and refine() for every
// comparison, both widths and both edges over every pair of 4-bit tnums, unsigned intervals and
// signed intervals, and over sampled product values at 6 and 8 bits.
#include "domains/branch.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "enumerate.hpp"

namespace bpfvet::domains {
namespace {

using testing::members;

TEST(Branch, UnsignedExamples) {
  const Scalar a = Scalar::unsigned_range(0, 200), ten = Scalar::constant(10);
  const auto taken = refine(Comparison::Ult, a, ten, OperandWidth::Full, true);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->left.umax(), 9u);
  const auto not_taken = refine(Comparison::Ult, a, ten, OperandWidth::Full, false);
  ASSERT_TRUE(not_taken);
  EXPECT_EQ(not_taken->left.umin(), 10u);
  EXPECT_EQ(not_taken->left.umax(), 200u);
  EXPECT_EQ(evaluate(Comparison::Ult, a, Scalar::constant(201), OperandWidth::Full), BranchOutcome::Always);
  EXPECT_EQ(evaluate(Comparison::Ugt, a, Scalar::constant(200), OperandWidth::Full), BranchOutcome::Never);
  EXPECT_EQ(evaluate(Comparison::Ugt, a, ten, OperandWidth::Full), BranchOutcome::Maybe);
  EXPECT_FALSE(refine(Comparison::Ugt, a, Scalar::constant(200), OperandWidth::Full, true));
  // Register-register: both sides move.
  const auto both = refine(Comparison::Ule, Scalar::unsigned_range(5, 50), Scalar::unsigned_range(0, 20), OperandWidth::Full, true);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->left.umax(), 20u);
  EXPECT_EQ(both->right.umin(), 5u);
}

TEST(Branch, SignedEqualityAndSetExamples) {
  const Scalar a = Scalar::signed_range(-10, 10);
  const auto negative = refine(Comparison::Slt, a, Scalar::constant(0), OperandWidth::Full, true);
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->left.smax(), -1);
  EXPECT_EQ(negative->left.umin(), uint64_t(-10)) << "signed knowledge reaches the unsigned bounds";
  const auto equal = refine(Comparison::Eq, a, Scalar::constant(7), OperandWidth::Full, true);
  ASSERT_TRUE(equal);
  EXPECT_EQ(equal->left.constant_value(), 7u);
  const auto not_min = refine(Comparison::Ne, a, Scalar::constant(uint64_t(-10)), OperandWidth::Full, true);
  ASSERT_TRUE(not_min);
  EXPECT_EQ(not_min->left.smin(), -9);
  // jset: (r & 4) != 0 sets bit 2; == 0 clears it.
  const auto set = refine(Comparison::Set, Scalar::unsigned_range(0, 7), Scalar::constant(4), OperandWidth::Full, true);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->left.umin(), 4u);
  const auto clear = refine(Comparison::Set, Scalar::unsigned_range(0, 7), Scalar::constant(4), OperandWidth::Full, false);
  ASSERT_TRUE(clear);
  EXPECT_EQ(clear->left.umax(), 3u);
  EXPECT_EQ(evaluate(Comparison::Set, Scalar::constant(6), Scalar::constant(4), OperandWidth::Full), BranchOutcome::Always);
  EXPECT_EQ(evaluate(Comparison::Set, Scalar::unsigned_range(0, 3), Scalar::constant(4), OperandWidth::Full), BranchOutcome::Never);
}

TEST(Branch, HalfWidthRefinesTheLowHalf) {
  // if w1 < 10 (JMP32) on an unknown r1: the low half is below 10, the upper half stays unknown.
  const auto r = refine(Comparison::Ult, Scalar::top(), Scalar::constant(10), OperandWidth::Half, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->left.u32max(), 9u);
  EXPECT_EQ(r->left.umax(), 0xffffffff00000009u) << "the top block keeps only low halves <= 9";
  EXPECT_FALSE(r->left.contains(10));
  EXPECT_TRUE(r->left.contains(0x500000003));
  // On a value already below 2^32, the full bounds follow.
  const auto small = refine(Comparison::Ult, Scalar::unsigned_range(0, 0xffffffff), Scalar::constant(10), OperandWidth::Half, true);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->left.umax(), 9u);
  // The upper half does not take part: 0x1'0000'0005 == 5 as 32-bit values.
  EXPECT_EQ(evaluate(Comparison::Eq, Scalar::constant(0x100000005), Scalar::constant(5), OperandWidth::Half), BranchOutcome::Always);
  EXPECT_EQ(evaluate(Comparison::Eq, Scalar::constant(0x100000005), Scalar::constant(5), OperandWidth::Full), BranchOutcome::Never);
}

// For every pair of values, comparison, width and edge: each member pair that takes the edge is
// kept by refine(), and evaluate() is never wrong.
template <unsigned Bits>
struct BranchChecker {
  using S = BasicScalar<Bits>;
  uint64_t checked = 0, failures = 0;

  void check(const S& a, const S& b, const std::vector<uint64_t>& xs, const std::vector<uint64_t>& ys) {
    for (OperandWidth w : {OperandWidth::Full, OperandWidth::Half})
      for (Comparison c : all_comparisons) {
        const BranchOutcome outcome = evaluate(c, a, b, w);
        const auto on_true = refine(c, a, b, w, true), on_false = refine(c, a, b, w, false);
        for (uint64_t x : xs)
          for (uint64_t y : ys) {
            ++checked;
            const bool holds = concrete::compare<Bits>(c, x, y, w);
            const auto& r = holds ? on_true : on_false;
            const bool kept = r && r->left.contains(x) && r->right.contains(y);
            const bool outcome_ok = outcome == BranchOutcome::Maybe || (outcome == BranchOutcome::Always) == holds;
            if ((!kept || !outcome_ok) && failures++ < 5)
              ADD_FAILURE() << name(c) << (w == OperandWidth::Half ? "32" : "") << " at " << Bits << " bits, edge " << holds << ": "
                            << a.to_string() << " vs " << b.to_string() << " loses x=" << x << " y=" << y
                            << (outcome_ok ? "" : " (wrong outcome)")
                            << (r ? " refined to " + r->left.to_string() + " / " + r->right.to_string() : " (edge said infeasible)");
          }
      }
  }
};

TEST(Branch, SoundExhaustive4Bits) {
  using S = BasicScalar<4>;
  BranchChecker<4> checker;
  std::vector<S> values;
  for (const auto& t : testing::all_tnums<4>()) values.push_back(S::from_tnum(t));
  for (auto [lo, hi] : testing::all_intervals<4>(false)) values.push_back(S::unsigned_range(lo, hi));
  for (auto [lo, hi] : testing::all_intervals<4>(true)) values.push_back(S::signed_range(to_signed<4>(lo), to_signed<4>(hi)));
  std::vector<std::vector<uint64_t>> member_lists;
  for (const S& v : values) member_lists.push_back(members(v));
  // Every pair within each family, and tnum x interval across families.
  const size_t tnums = 81, unsigned_end = 81 + 136;
  for (size_t i = 0; i < values.size(); ++i)
    for (size_t j = 0; j < values.size(); ++j) {
      const bool same_family = (i < tnums) == (j < tnums) && (i < unsigned_end) == (j < unsigned_end);
      const bool tnum_interval = (i < tnums) != (j < tnums);
      if (!same_family && !tnum_interval) continue;
      checker.check(values[i], values[j], member_lists[i], member_lists[j]);
    }
  EXPECT_EQ(checker.failures, 0u);
  std::printf("branch 4 bits: %zu values, %llu member-pair checks, %llu unsound\n", values.size(), (unsigned long long)checker.checked,
              (unsigned long long)checker.failures);
}

template <unsigned Bits>
void check_branch_sampled(int pairs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  BranchChecker<Bits> checker;
  for (int n = 0; n < pairs; ++n) {
    const auto a = testing::random_scalar<Bits>(rng), b = testing::random_scalar<Bits>(rng);
    checker.check(a, b, members(a), members(b));
  }
  EXPECT_EQ(checker.failures, 0u);
  std::printf("branch %u bits: %d sampled pairs, %llu member-pair checks, %llu unsound\n", Bits, pairs,
              (unsigned long long)checker.checked, (unsigned long long)checker.failures);
}

TEST(Branch, SoundSampled6Bits) { check_branch_sampled<6>(1500, 11); }
TEST(Branch, SoundSampled8Bits) { check_branch_sampled<8>(400, 12); }
TEST(BranchSlow, SoundSampled8BitsMany) {
  if (!testing::slow_tests_enabled()) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
  check_branch_sampled<8>(20000, 13);
}

}  // namespace
}  // namespace bpfvet::domains
