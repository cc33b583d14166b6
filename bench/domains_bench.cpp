// Speed of the Scalar domain: join, add, mul, reduction and branch refinement, in ns per
// operation. Inputs cycle through a fixed set of varied values so the constant fast path is not
// the only one measured.
#include <benchmark/benchmark.h>

#include <array>

#include "domains/branch.hpp"

namespace {

using namespace bpfvet::domains;

std::array<Scalar, 8> inputs() {
  return {Scalar::unsigned_range(0, 255),
          Scalar::signed_range(-100, 100),
          Scalar::from_tnum(Tnum::make(0x1000, 0xff0)),
          Scalar::unsigned_range(0x100000000, 0x1000000ff),
          Scalar::unsigned_range(16, 4096),
          Scalar::top(),
          Scalar::signed_range(-5, -1),
          Scalar::unsigned_range(1, 1u << 20)};
}

template <class F>
void run_pairs(benchmark::State& state, F f) {
  const auto values = inputs();
  size_t i = 0;
  for (auto _ : state) {
    const Scalar& a = values[i & 7];
    const Scalar& b = values[(i * 3 + 1) & 7];
    benchmark::DoNotOptimize(f(a, b));
    ++i;
  }
}

void BM_ScalarJoin(benchmark::State& s) { run_pairs(s, [](const Scalar& a, const Scalar& b) { return a.join(b); }); }
void BM_ScalarMeet(benchmark::State& s) { run_pairs(s, [](const Scalar& a, const Scalar& b) { return a.meet(b); }); }
void BM_ScalarAdd(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar& b) { return apply(BinaryOp::Add, a, b, OperandWidth::Full); });
}
void BM_ScalarAdd32(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar& b) { return apply(BinaryOp::Add, a, b, OperandWidth::Half); });
}
void BM_ScalarMul(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar& b) { return apply(BinaryOp::Mul, a, b, OperandWidth::Full); });
}
void BM_ScalarAddConstant(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar&) { return apply(BinaryOp::Add, Scalar::constant(7), Scalar::constant(35), OperandWidth::Full); });
}
void BM_ScalarLshUnknown(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar&) { return apply(BinaryOp::Lsh, a, Scalar::unsigned_range(0, 3), OperandWidth::Full); });
}
void BM_ScalarReduction(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar& b) { return Scalar::reduced(a.join(b).parts()); });
}
void BM_ScalarRefineUlt(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar& b) { return refine(Comparison::Ult, a, b, OperandWidth::Full, true); });
}
void BM_ScalarRefineJeqConstant(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar&) { return refine(Comparison::Eq, a, Scalar::constant(42), OperandWidth::Full, false); });
}
void BM_ScalarRefineSlt32(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar& b) { return refine(Comparison::Slt, a, b, OperandWidth::Half, true); });
}
void BM_ScalarEvaluate(benchmark::State& s) {
  run_pairs(s, [](const Scalar& a, const Scalar& b) { return evaluate(Comparison::Ugt, a, b, OperandWidth::Full); });
}
void BM_TnumMul(benchmark::State& s) {
  const auto values = inputs();
  size_t i = 0;
  for (auto _ : s) {
    benchmark::DoNotOptimize(values[i & 7].tnum().mul(values[(i + 3) & 7].tnum()));
    ++i;
  }
}

BENCHMARK(BM_ScalarJoin);
BENCHMARK(BM_ScalarMeet);
BENCHMARK(BM_ScalarAdd);
BENCHMARK(BM_ScalarAdd32);
BENCHMARK(BM_ScalarMul);
BENCHMARK(BM_ScalarAddConstant);
BENCHMARK(BM_ScalarLshUnknown);
BENCHMARK(BM_ScalarReduction);
BENCHMARK(BM_ScalarRefineUlt);
BENCHMARK(BM_ScalarRefineJeqConstant);
BENCHMARK(BM_ScalarRefineSlt32);
BENCHMARK(BM_ScalarEvaluate);
BENCHMARK(BM_TnumMul);

}  // namespace
