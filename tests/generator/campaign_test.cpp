// The long soundness campaign over generated programs (ctest label slow):
// BPFVET_SLOW_TESTS=1 and BPFVET_GENERATOR_PROGRAMS=N (default 10000) programs
// from BPFVET_GENERATOR_SEED (default 1000000), BPFVET_GENERATOR_INPUTS runs
// each (default 64) in the checked interpreter and, unless
// BPFVET_GENERATOR_JIT=0, on the JIT.
#include "oracle_campaign.hpp"
#include "shared_compiler.hpp"

#include <cstdio>

namespace bpfvet::generator {
namespace {

TEST(SlowSoundnessOracle, Campaign) {
    if (environment_number("BPFVET_SLOW_TESTS", 0) != 1) GTEST_SKIP() << "set BPFVET_SLOW_TESTS=1";
    OracleOptions options;
    options.inputs = size_t(environment_number("BPFVET_GENERATOR_INPUTS", 64));
    options.jit = environment_number("BPFVET_GENERATOR_JIT", 1) ? &jit::test::compiler() : nullptr;
    uint64_t first = environment_number("BPFVET_GENERATOR_SEED", 1'000'000);
    Tally tally = campaign(first, environment_number("BPFVET_GENERATOR_PROGRAMS", 10'000), options);
    std::printf("seeds from %llu: %llu programs, %llu accepted, %llu executions, %llu breaches\n",
                (unsigned long long)first, (unsigned long long)tally.programs, (unsigned long long)tally.accepted,
                (unsigned long long)tally.executions, (unsigned long long)tally.breaches);
}

}  // namespace
}  // namespace bpfvet::generator
