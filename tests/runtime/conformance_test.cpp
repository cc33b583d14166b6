// Runs the bpf_conformance cases (../shared/conformance, format in its README)
// and our own (tests/runtime/conformance) in the interpreter, checked and
// unchecked: each must end with the expected r0.
#include "test_support.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <sstream>

namespace bpfvet::runtime::test {
namespace {

namespace fs = std::filesystem;

struct Verdict {
    bool passed;
    std::string detail;
};

Verdict run_case(const ConformanceCase& c, bool checked) {
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
    bool expect_error = sections.contains("error");
    if (!loaded) return {expect_error, "load: " + loaded.error().to_string()};
    auto program = (*loaded)->program("test");
    if (!program) return {expect_error, "link: " + program.error().to_string()};
    Runner runner(**loaded, **program);
    RunInput input;
    if (sections.contains("mem")) input.memory = parse_hex_bytes(sections["mem"]);
    if (auto set = runner.set_input(input); !set) return {false, set.error()};
    RunOptions run_options;
    run_options.checked = checked;
    run_options.instruction_budget = 10'000'000;
    auto outcome = runner.run(run_options);
    if (expect_error) return {!outcome.result, outcome.result ? "ran to completion, error expected" : ""};
    if (!outcome.result) return {false, outcome.result.error().to_string()};
    uint64_t expected = std::stoull(sections["result"], nullptr, 16);
    if (outcome.result->return_value != expected)
        return {false, fmt::format("r0 = {:#x}, expected {:#x}", outcome.result->return_value, expected)};
    return {true, ""};
}

const fs::path SharedCases = fs::path(BPFVET_SHARED_DIR) / "conformance";
const fs::path OwnCases = fs::path(BPFVET_SOURCE_DIR) / "tests/runtime/conformance";

// One ctest entry per suite rather than per file: each test binary start costs
// more than running all 313 cases. Failures name the file and what differed.
size_t run_all(const std::vector<ConformanceCase>& cases) {
    size_t passed = 0;
    for (const auto& c : cases) {
        bool ok = true;
        for (bool checked : {true, false}) {
            auto verdict = run_case(c, checked);
            if (!verdict.passed) {
                ADD_FAILURE() << c.path << " (" << (checked ? "checked" : "unchecked") << "): " << verdict.detail;
                ok = false;
            }
        }
        passed += ok;
    }
    return passed;
}

// One line with the count, for the report; skipped without ../shared.
TEST(ConformanceSummary, AllSharedCasesPass) {
    auto cases = conformance_cases_in(SharedCases);
    if (cases.empty()) GTEST_SKIP() << "no " << SharedCases << " (reference material absent)";
    size_t passed = run_all(cases);
    std::printf("shared conformance: %zu of %zu cases pass (checked and unchecked interpreter)\n", passed,
                cases.size());
    EXPECT_EQ(passed, cases.size());
}

TEST(ConformanceSummary, OwnCasesCoverEveryInstructionClass) {
    auto cases = conformance_cases_in(OwnCases);
    ASSERT_FALSE(cases.empty());
    EXPECT_EQ(run_all(cases), cases.size());
    bool seen[8] = {};
    for (const auto& c : cases) {
        for (const auto& insn : assemble_or_die(read_conformance_sections(c.path)["asm"])) seen[int(insn.cls())] = true;
    }
    for (int cls = 0; cls < 8; ++cls) EXPECT_TRUE(seen[cls]) << "no own case uses instruction class " << cls;
}

}  // namespace
}  // namespace bpfvet::runtime::test
