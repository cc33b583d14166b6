// Tnum: worked examples, exhaustive soundness at 4 and 5 bits (every pair of tnums, every member
// pair), exact lattice operations, and the precision of multiplication.
#include "domains/tnum.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>
#include <set>

#include "domains/concrete.hpp"
#include "enumerate.hpp"

namespace bpfvet::domains {
namespace {

using testing::all_tnums;
using testing::members;

TEST(Tnum, WorkedExamples) {
  // (0b01; 0) + (0; 0b01) = {1, 2} -> (0b00; 0b11)
  EXPECT_EQ(BasicTnum<8>::constant(1).add(BasicTnum<8>::make(0, 1)), BasicTnum<8>::make(0, 3));
  EXPECT_EQ(BasicTnum<8>::range(5, 6), BasicTnum<8>::make(4, 3));
  EXPECT_EQ(BasicTnum<8>::constant(0x80).arsh(2u), BasicTnum<8>::constant(0xe0));
  EXPECT_EQ(BasicTnum<8>::make(0, 0x80).arsh(2u), BasicTnum<8>::make(0, 0xe0));
  EXPECT_EQ(Tnum::constant(0x1122).byte_swap(2), Tnum::constant(0x2211));
  EXPECT_EQ(Tnum::constant(0x1122334455667788).byte_swap(8), Tnum::constant(0x8877665544332211));
  EXPECT_EQ(Tnum::constant(0xaabb1122).byte_swap(2), Tnum::constant(0x2211));
  EXPECT_EQ(Tnum::constant(0x80).sign_extend(8), Tnum::constant(0xffffffffffffff80));
  EXPECT_EQ(Tnum::make(0, 0xff).sign_extend(8), Tnum::make(0, ~uint64_t{0}));
  EXPECT_EQ(Tnum::make(0x1, 0xf0).mul(Tnum::constant(4)), Tnum::make(0x4, 0x3c0));
  EXPECT_EQ(Tnum::constant(1).lsh(Tnum::make(0, 1)), Tnum::make(0, 3));
  EXPECT_EQ(Tnum::constant(7).lsh(64u), Tnum::constant(7));  // the ISA masks the amount: 64 & 63 = 0
  EXPECT_TRUE(Tnum::top().is_top());
  EXPECT_TRUE(Tnum::bottom().is_bottom());
  EXPECT_TRUE(Tnum::constant(3).is_constant());
  EXPECT_EQ(Tnum::make(0x10, 0x0f).to_string(), "(0x10; 0xf)");
  EXPECT_EQ(Tnum::constant(5).umod(Tnum::constant(0)), Tnum::constant(5));
  EXPECT_EQ(Tnum::make(0x13, 0x0c).umod(Tnum::constant(4)), Tnum::constant(3));
  EXPECT_EQ(Tnum::constant(uint64_t(INT64_MIN)).sdiv(Tnum::constant(~uint64_t{0})), Tnum::constant(uint64_t(INT64_MIN)));
  EXPECT_EQ(Tnum::constant(0x1234).to_big_endian(16), Tnum::constant(0x3412));
  EXPECT_EQ(Tnum::constant(0x1234).to_little_endian(8), Tnum::constant(0x34));
  EXPECT_EQ(Tnum::make(0x100, 0xff).truncate(8), Tnum::make(0, 0xff));
}

TEST(Tnum, BottomPropagates) {
  EXPECT_TRUE(Tnum::bottom().add(Tnum::top()).is_bottom());
  EXPECT_TRUE(Tnum::top().mul(Tnum::bottom()).is_bottom());
  EXPECT_TRUE(Tnum::constant(1).meet(Tnum::constant(2)).is_bottom());
  EXPECT_EQ(Tnum::bottom().join(Tnum::constant(3)), Tnum::constant(3));
  EXPECT_TRUE(Tnum::bottom().leq(Tnum::constant(3)));
  EXPECT_FALSE(Tnum::bottom().contains(0));
}

template <unsigned Bits>
struct BinaryCase {
  BinaryOp op;
  std::function<BasicTnum<Bits>(const BasicTnum<Bits>&, const BasicTnum<Bits>&)> abstract;
};

template <unsigned Bits>
std::vector<BinaryCase<Bits>> binary_cases() {
  using T = BasicTnum<Bits>;
  return {
      {BinaryOp::Add, [](const T& a, const T& b) { return a.add(b); }},
      {BinaryOp::Sub, [](const T& a, const T& b) { return a.sub(b); }},
      {BinaryOp::Mul, [](const T& a, const T& b) { return a.mul(b); }},
      {BinaryOp::UDiv, [](const T& a, const T& b) { return a.udiv(b); }},
      {BinaryOp::UMod, [](const T& a, const T& b) { return a.umod(b); }},
      {BinaryOp::SDiv, [](const T& a, const T& b) { return a.sdiv(b); }},
      {BinaryOp::SMod, [](const T& a, const T& b) { return a.smod(b); }},
      {BinaryOp::And, [](const T& a, const T& b) { return a.bit_and(b); }},
      {BinaryOp::Or, [](const T& a, const T& b) { return a.bit_or(b); }},
      {BinaryOp::Xor, [](const T& a, const T& b) { return a.bit_xor(b); }},
      {BinaryOp::Lsh, [](const T& a, const T& b) { return a.lsh(b); }},
      {BinaryOp::Rsh, [](const T& a, const T& b) { return a.rsh(b); }},
      {BinaryOp::Arsh, [](const T& a, const T& b) { return a.arsh(b); }},
  };
}

// For every pair of tnums and every pair of members, the concrete result is a member.
template <unsigned Bits>
void check_binary_exhaustively() {
  const auto tnums = all_tnums<Bits>();
  std::vector<std::vector<uint64_t>> member_lists;
  for (const auto& t : tnums) member_lists.push_back(members(t));
  for (const auto& c : binary_cases<Bits>()) {
    uint64_t checked = 0, failures = 0;
    for (size_t i = 0; i < tnums.size(); ++i)
      for (size_t j = 0; j < tnums.size(); ++j) {
        const auto r = c.abstract(tnums[i], tnums[j]);
        for (uint64_t x : member_lists[i])
          for (uint64_t y : member_lists[j]) {
            ++checked;
            const uint64_t z = concrete::binary_full<Bits>(c.op, x, y);
            if (!r.contains(z) && failures++ < 3)
              ADD_FAILURE() << name(c.op) << " at " << Bits << " bits: " << tnums[i].to_string() << " , "
                            << tnums[j].to_string() << " -> " << r.to_string() << " misses " << x << " op " << y << " = " << z;
          }
      }
    EXPECT_EQ(failures, 0u) << name(c.op);
    std::printf("tnum %-5s %u bits: %zu tnum pairs, %llu member pairs, %llu unsound\n", name(c.op), Bits,
                tnums.size() * tnums.size(), (unsigned long long)checked, (unsigned long long)failures);
  }
}

// Shifts by a constant (every amount up to the ISA mask), and unary operations.
template <unsigned Bits>
void check_unary_exhaustively() {
  using T = BasicTnum<Bits>;
  uint64_t failures = 0;
  auto expect_member = [&](const char* what, const T& a, const T& r, uint64_t z) {
    if (!r.contains(z) && failures++ < 5) ADD_FAILURE() << what << " " << a.to_string() << " -> " << r.to_string() << " misses " << z;
  };
  for (const T& a : all_tnums<Bits>()) {
    const auto xs = members(a);
    for (unsigned k = 0; k <= shift_amount_mask<Bits>; ++k) {
      const T l = a.lsh(k), r = a.rsh(k), ar = a.arsh(k);
      for (uint64_t x : xs) {
        expect_member("lsh", a, l, concrete::binary_full<Bits>(BinaryOp::Lsh, x, k));
        expect_member("rsh", a, r, concrete::binary_full<Bits>(BinaryOp::Rsh, x, k));
        expect_member("arsh", a, ar, concrete::binary_full<Bits>(BinaryOp::Arsh, x, k));
      }
    }
    const T n = a.neg();
    for (uint64_t x : xs) expect_member("neg", a, n, concrete::unary_full<Bits>(UnaryOp::Neg, x, 1));
    for (unsigned bits = 1; bits <= Bits; ++bits) {
      const T z = a.zero_extend(bits), s = a.sign_extend(bits);
      for (uint64_t x : xs) {
        expect_member("zext", a, z, x & ((uint64_t{1} << bits) - 1));
        expect_member("sext", a, s, static_cast<uint64_t>(static_cast<int64_t>(x << (64 - bits)) >> (64 - bits)) & all_ones<Bits>);
      }
    }
    for (UnaryOp op : {UnaryOp::Bswap16, UnaryOp::Bswap32, UnaryOp::Bswap64}) {
      const unsigned unit = unit_bits<Bits>;
      const T r = a.swap_units_of(unit, swap_unit_count(op, unit, Bits));
      // Moving and dropping bits is exact: the result holds exactly the images of the members.
      std::set<uint64_t> images;
      for (uint64_t x : xs) {
        images.insert(concrete::unary_full<Bits>(op, x, unit));
        expect_member(name(op), a, r, concrete::unary_full<Bits>(op, x, unit));
      }
      EXPECT_EQ(members(r).size(), images.size());
    }
  }
  EXPECT_EQ(failures, 0u);
}

// meet is the exact intersection, leq is exact inclusion, join is the least tnum above both.
template <unsigned Bits>
void check_lattice_exhaustively() {
  using T = BasicTnum<Bits>;
  const auto tnums = all_tnums<Bits>();
  for (const T& a : tnums)
    for (const T& b : tnums) {
      const T j = a.join(b), m = a.meet(b);
      uint64_t in_a_not_b = 0;
      T best = T::bottom();  // the least tnum holding the union, built from its members
      for (uint64_t x = 0; x <= all_ones<Bits>; ++x) {
        const bool ia = a.contains(x), ib = b.contains(x);
        ASSERT_EQ(m.contains(x), ia && ib);
        if (ia || ib) {
          ASSERT_TRUE(j.contains(x));
          best = best.join(T::constant(x));
        }
        in_a_not_b += ia && !ib;
      }
      ASSERT_EQ(a.leq(b), in_a_not_b == 0);
      ASSERT_EQ(j, best);
    }
}

TEST(Tnum, BinarySoundExhaustive4Bits) { check_binary_exhaustively<4>(); }
TEST(Tnum, BinarySoundExhaustive5Bits) { check_binary_exhaustively<5>(); }
TEST(Tnum, UnaryAndConstantShiftsSoundExhaustive) {
  check_unary_exhaustively<4>();
  check_unary_exhaustively<5>();
  check_unary_exhaustively<8>();
}
TEST(Tnum, LatticeExactExhaustive4Bits) { check_lattice_exhaustively<4>(); }

TEST(TnumSlow, BinarySoundExhaustive6Bits) {
  if (!testing::slow_tests_enabled()) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
  check_binary_exhaustively<6>();
}
TEST(TnumSlow, BinarySoundExhaustive7Bits) {
  if (!testing::slow_tests_enabled()) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
  check_binary_exhaustively<7>();
}
TEST(TnumSlow, BinarySoundExhaustive8Bits) {
  if (!testing::slow_tests_enabled()) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
  check_binary_exhaustively<8>();
}

// The best tnum for a * b is the join of all concrete products; count how often mul reaches it.
template <unsigned Bits>
double mul_optimal_fraction(std::mt19937_64& rng, int samples, bool all_pairs) {
  using T = BasicTnum<Bits>;
  const auto tnums = all_tnums<Bits>();
  int optimal = 0, total = 0;
  auto check = [&](const T& a, const T& b) {
    T best = T::bottom();
    for (uint64_t x : members(a))
      for (uint64_t y : members(b)) best = best.join(T::constant(x * y));
    const T got = a.mul(b);
    EXPECT_TRUE(best.leq(got)) << a.to_string() << " * " << b.to_string();
    optimal += got == best;
    ++total;
  };
  if (all_pairs) {
    for (const T& a : tnums)
      for (const T& b : tnums) check(a, b);
  } else {
    for (int i = 0; i < samples; ++i) check(tnums[rng() % tnums.size()], tnums[rng() % tnums.size()]);
  }
  return double(optimal) / total;
}

TEST(Tnum, MultiplicationPrecision) {
  std::mt19937_64 rng(42);
  const double all4 = mul_optimal_fraction<4>(rng, 0, true);
  const double random8 = mul_optimal_fraction<8>(rng, 20000, false);
  std::printf("tnum mul optimal: %.1f%% of all 4-bit pairs, %.1f%% of 20000 random 8-bit pairs\n", 100 * all4, 100 * random8);
  RecordProperty("mul_optimal_4bit_percent", std::to_string(100 * all4));
  RecordProperty("mul_optimal_8bit_percent", std::to_string(100 * random8));
  EXPECT_GT(all4, 0.5);
  EXPECT_GT(random8, 0.5);
}

}  // namespace
}  // namespace bpfvet::domains
