// A run of the soundness oracle over a range of seeds, shared by the default
// test and the slow campaign.
#pragma once

#include "soundness_oracle.hpp"

#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <gtest/gtest.h>

namespace bpfvet::generator {

inline uint64_t environment_number(const char* name, uint64_t fallback) {
    const char* text = std::getenv(name);
    return text ? std::strtoull(text, nullptr, 0) : fallback;
}

struct Tally {
    uint64_t programs = 0, accepted = 0, executions = 0, breaches = 0;
};

// Runs the oracle on seeds [first, first + count); every breach is minimized
// and reported as a test failure with the program to keep.
inline Tally campaign(uint64_t first, uint64_t count, const OracleOptions& options) {
    Tally tally;
    for (uint64_t seed = first; seed < first + count; ++seed) {
        GeneratedProgram program = generate_program(seed);
        OracleResult result = run_oracle(program, options);
        ++tally.programs;
        tally.accepted += result.accepted;
        tally.executions += result.executions;
        if (result.breach == Breach::None) continue;
        ++tally.breaches;
        Breach breach = result.breach;
        GeneratedProgram minimal = minimize(program, [&](const GeneratedProgram& candidate) {
            return run_oracle(candidate, options).breach == breach;
        });
        ADD_FAILURE() << fmt::format("seed {} ({}): {}: {}\nminimized program:\n{}", seed, program.section,
                                     breach_name(breach), result.detail, minimal.text())
                      << "now: " << run_oracle(minimal, options).detail;
        if (tally.breaches >= 5) break;
    }
    return tally;
}

}  // namespace bpfvet::generator
