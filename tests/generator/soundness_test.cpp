// Generated programs against the analyzer: each one the analyzer accepts runs
// in the checked interpreter and on the JIT (soundness_oracle.hpp). The
// default set covers a few hundred seeds; campaign_test.cpp (label slow) as
// many as asked. A breach prints the minimized program: keep it below as a
// regression.
#include "program_generator.hpp"
#include "analyzer/analyzer.hpp"
#include "shared_compiler.hpp"
#include "oracle_campaign.hpp"
#include "soundness_oracle.hpp"

#include <set>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <string>

namespace bpfvet::generator {
namespace {

constexpr uint64_t DefaultSeeds = 300;

TEST(ProgramGenerator, TheSameSeedGivesTheSameProgram) {
    EXPECT_EQ(generate_program(7).text(), generate_program(7).text());
    EXPECT_NE(generate_program(7).text(), generate_program(8).text());
}

// The generator is only useful if it makes both kinds of program and the
// forms the oracle is meant to exercise; every program assembles.
TEST(ProgramGenerator, MakesSafeAndUnsafeProgramsOfEveryForm) {
    size_t accepted = 0, rejected = 0;
    std::set<std::string> forms_in_accepted;
    const std::vector<std::string> forms = {"lock ", "atomic_fetch_", "xchg", "cmpxchg", "load_acquire",
                                            "store_release", "call sub", "call bpf_map_lookup_elem",
                                            "call bpf_map_update_elem", "skb[", "(s8)", "bswap", "w", " ll",
                                            "goto L", "s>>=", "%="};
    std::set<ir::ProgramType> types;
    for (uint64_t seed = 0; seed < DefaultSeeds; ++seed) {
        GeneratedProgram program = generate_program(seed);
        auto object = build_object(program);
        ASSERT_TRUE(object) << "seed " << seed << ": " << object.error() << "\n" << program.text();
        bool is_accepted = analyzer::analyze_program(*object, object->programs.front()).accepted;
        (is_accepted ? accepted : rejected) += 1;
        if (!is_accepted) continue;
        types.insert(program.type);
        for (const auto& form : forms)
            if (program.text().find(form) != std::string::npos) forms_in_accepted.insert(form);
    }
    EXPECT_GT(accepted, DefaultSeeds / 5);
    EXPECT_GT(rejected, DefaultSeeds / 10);
    EXPECT_EQ(types.size(), 4u);
    for (const auto& form : forms) EXPECT_TRUE(forms_in_accepted.contains(form)) << "no accepted program has " << form;
}

TEST(SoundnessOracle, AcceptedProgramsRunWithoutFaultOnBothEngines) {
    OracleOptions options;
    options.jit = &jit::test::compiler();
    Tally tally = campaign(environment_number("BPFVET_GENERATOR_SEED", 0), DefaultSeeds, options);
    std::printf("%llu programs, %llu accepted, %llu executions (interpreter and JIT), %llu breaches\n",
                (unsigned long long)tally.programs, (unsigned long long)tally.accepted,
                (unsigned long long)tally.executions, (unsigned long long)tally.breaches);
    EXPECT_GT(tally.executions, 0u);
}

// The minimizer keeps what makes a program fail and drops the rest.
TEST(SoundnessOracle, MinimizerKeepsOnlyWhatFails) {
    GeneratedProgram program;
    program.lines = {"a", "b", "c", "needle", "d", "e", "other needle", "f"};
    auto minimal = minimize(program, [](const GeneratedProgram& candidate) {
        size_t found = 0;
        for (const auto& line : candidate.lines) found += line.find("needle") != std::string::npos;
        return found == 2;
    });
    EXPECT_EQ(minimal.lines, (std::vector<std::string>{"needle", "other needle"}));
}

}  // namespace
}  // namespace bpfvet::generator
