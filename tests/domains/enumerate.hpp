#pragma once
// Enumerations of small abstract values and their members, for the exhaustive soundness tests.
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "domains/branch.hpp"

namespace bpfvet::domains::testing {

// Every well-formed tnum of the width (3^Bits of them).
template <unsigned Bits>
std::vector<BasicTnum<Bits>> all_tnums() {
  std::vector<BasicTnum<Bits>> out;
  for (uint64_t mask = 0; mask <= all_ones<Bits>; ++mask)
    for (uint64_t value = 0; value <= all_ones<Bits>; ++value)
      if ((value & mask) == 0) out.push_back(BasicTnum<Bits>::make(value, mask));
  return out;
}

// Members of a tnum: every sub-mask of the mask added to the value.
template <unsigned Bits>
std::vector<uint64_t> members(const BasicTnum<Bits>& t) {
  std::vector<uint64_t> out;
  if (t.is_bottom()) return out;
  uint64_t sub = 0;
  do {
    out.push_back(t.value() | sub);
    sub = (sub - t.mask()) & t.mask();
  } while (sub != 0);
  return out;
}

// Every non-empty [lo, hi] as raw patterns, read unsigned or signed.
template <unsigned Bits>
std::vector<std::pair<uint64_t, uint64_t>> all_intervals(bool is_signed) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (uint64_t lo = 0; lo <= all_ones<Bits>; ++lo)
    for (uint64_t hi = 0; hi <= all_ones<Bits>; ++hi) {
      const bool ordered = is_signed ? to_signed<Bits>(lo) <= to_signed<Bits>(hi) : lo <= hi;
      if (ordered) out.emplace_back(lo, hi);
    }
  return out;
}

// Members of an interval given by raw ends: walk from lo upward (wrapping) until hi.
template <unsigned Bits>
std::vector<uint64_t> interval_members(uint64_t lo, uint64_t hi) {
  std::vector<uint64_t> out;
  for (uint64_t x = lo;; x = (x + 1) & all_ones<Bits>) {
    out.push_back(x);
    if (x == hi) break;
  }
  return out;
}

template <unsigned Bits>
std::vector<uint64_t> members(const BasicScalar<Bits>& s) {
  static_assert(Bits <= 16);
  std::vector<uint64_t> out;
  if (s.is_bottom()) return out;
  for (uint64_t x = 0; x <= all_ones<Bits>; ++x)
    if (s.contains(x)) out.push_back(x);
  return out;
}

// A varied random Scalar: constants, ranges, tnums, sets of a few values, low-half ranges, and
// meets of those, so that every component is sometimes the one that matters.
template <unsigned Bits>
BasicScalar<Bits> random_scalar(std::mt19937_64& rng) {
  using S = BasicScalar<Bits>;
  auto word = [&] { return rng() & all_ones<Bits>; };
  auto range = [&](auto make) {
    uint64_t a = word(), b = word();
    return make(a, b);
  };
  auto one = [&]() -> S {
    switch (rng() % 8) {
      case 0: return S::constant(word());
      case 1: return range([](uint64_t a, uint64_t b) { return S::unsigned_range(std::min(a, b), std::max(a, b)); });
      case 2: return range([](uint64_t a, uint64_t b) {
        int64_t x = to_signed<Bits>(a), y = to_signed<Bits>(b);
        return S::signed_range(std::min(x, y), std::max(x, y));
      });
      case 3: {
        const uint64_t mask = word() & word();
        return S::from_tnum(BasicTnum<Bits>::make(word() & ~mask, mask));
      }
      case 4: {
        S s = S::constant(word());
        for (int i = rng() % 3; i >= 0; --i) s = s.join(S::constant(word()));
        return s;
      }
      case 5: {
        // Small ranges near interesting points.
        const uint64_t centers[] = {0, sign_bit<Bits>, all_ones<Bits>, all_ones<S::half_bits>, sign_bit<S::half_bits>};
        const uint64_t c = centers[rng() % 5], d = rng() % 5;
        const uint64_t lo = (c - d) & all_ones<Bits>, hi = (c + rng() % 5) & all_ones<Bits>;
        return lo <= hi ? S::unsigned_range(lo, hi) : S::signed_range(to_signed<Bits>(lo), to_signed<Bits>(hi));
      }
      case 6: {
        uint64_t a = rng() & all_ones<S::half_bits>, b = rng() & all_ones<S::half_bits>;
        return S::from_components(BasicTnum<Bits>::top(), S::Unsigned::top(), S::Signed::top(),
                                  S::UnsignedHalf::make(std::min(a, b), std::max(a, b)), S::SignedHalf::top());
      }
      default: return S::top();
    }
  };
  S s = one();
  if (rng() % 3 == 0) {
    S t = s.meet(one());
    if (!t.is_bottom()) s = t;
  }
  return s;
}

inline bool slow_tests_enabled() {
  const char* v = std::getenv("BPFVET_SLOW_TESTS");
  return v && std::string(v) == "1";
}

}  // namespace bpfvet::domains::testing
