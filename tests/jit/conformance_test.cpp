// The bpf_conformance cases (../shared/conformance) and the runtime's own
// (tests/runtime/conformance) through the JIT: each must end with the expected
// r0, and with the same r0 as the unchecked interpreter.
#include "shared_compiler.hpp"
#include "jit/jit_runner.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <map>

namespace bpfvet::jit::test {
namespace {

namespace fs = std::filesystem;
using namespace runtime;
using runtime::test::assemble_or_die;
using runtime::test::make_object;
using runtime::test::conformance_cases_in;
using runtime::test::conformance_unwind;
using runtime::test::ConformanceCase;
using runtime::test::read_conformance_sections;
using runtime::test::parse_hex_bytes;

struct Verdict {
    bool passed;
    std::string detail;
};

Verdict run_case(const ConformanceCase& c) {
    auto sections = read_conformance_sections(c.path);
    if (!sections.contains("asm")) return {false, "no -- asm section"};
    std::vector<ir::Instruction> code;
    try {
        code = assemble_or_die(sections["asm"]);
    } catch (const std::exception& e) {
        return {false, e.what()};
    }
    RuntimeOptions options;
    options.helpers.set(5, "unwind", &conformance_unwind);
    auto loaded = LoadedObject::create(make_object(code), options);
    if (!loaded) return {false, "load: " + loaded.error().to_string()};
    auto program = (*loaded)->program("test");
    if (!program) return {false, "link: " + program.error().to_string()};
    RunInput input;
    if (sections.contains("mem")) input.memory = parse_hex_bytes(sections["mem"]);

    JitRunner jit(**loaded, **program, compiler());
    if (auto set = jit.set_input(input); !set) return {false, set.error()};
    auto outcome = jit.run();
    if (!outcome.result) return {false, "jit: " + outcome.result.error().to_string()};

    Runner interpreter(**loaded, **program);
    if (auto set = interpreter.set_input(input); !set) return {false, set.error()};
    auto reference = interpreter.run({.checked = false, .instruction_budget = 10'000'000});

    if (sections.contains("error")) return {false, "ran to completion, error expected"};
    uint64_t expected = std::stoull(sections["result"], nullptr, 16);
    if (outcome.result->return_value != expected)
        return {false, fmt::format("jit r0 = {:#x}, expected {:#x}", outcome.result->return_value, expected)};
    if (reference.result && reference.result->return_value != expected)
        return {false, fmt::format("interpreter r0 = {:#x} differs", reference.result->return_value)};
    if (outcome.memory != reference.memory) return {false, "input memory after the run differs from the interpreter's"};
    return {true, ""};
}

// Each case runs once per process: the summary reuses the verdicts of the
// parameterised tests (and runs the cases they did not, under a filter).
const Verdict& verdict_of(const ConformanceCase& c) {
    static std::map<std::string, Verdict> verdicts;
    auto found = verdicts.find(c.path);
    if (found == verdicts.end()) found = verdicts.emplace(c.path, run_case(c)).first;
    return found->second;
}

class JitConformance : public testing::TestWithParam<ConformanceCase> {};

TEST_P(JitConformance, Jit) {
    const auto& verdict = verdict_of(GetParam());
    EXPECT_TRUE(verdict.passed) << GetParam().path << ": " << verdict.detail;
}

std::string case_name(const testing::TestParamInfo<ConformanceCase>& info) {
    std::string name = info.param.name;
    for (char& ch : name)
        if (!std::isalnum(uint8_t(ch))) ch = '_';
    return name;
}

const fs::path SharedCases = fs::path(BPFVET_SHARED_DIR) / "conformance";
const fs::path OwnCases = fs::path(BPFVET_SOURCE_DIR) / "tests/runtime/conformance";

INSTANTIATE_TEST_SUITE_P(Shared, JitConformance, testing::ValuesIn(conformance_cases_in(SharedCases)), case_name);
INSTANTIATE_TEST_SUITE_P(Own, JitConformance, testing::ValuesIn(conformance_cases_in(OwnCases)), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(JitConformance);

TEST(JitConformanceSummary, AllSharedCasesPass) {
    auto cases = conformance_cases_in(SharedCases);
    if (cases.empty()) GTEST_SKIP() << "no " << SharedCases << " (reference material absent)";
    size_t passed = 0;
    for (const auto& c : cases) passed += verdict_of(c).passed;
    std::printf("shared conformance: %zu of %zu cases pass through the JIT\n", passed, cases.size());
    EXPECT_EQ(passed, cases.size());
}

}  // namespace
}  // namespace bpfvet::jit::test
