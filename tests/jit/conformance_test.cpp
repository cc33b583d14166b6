// The bpf_conformance cases (../shared/conformance) and the runtime's own
// (tests/runtime/conformance) through the JIT: each must end with the expected
// r0, and with the same r0 as the unchecked interpreter.
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
using runtime::test::parse_hex_bytes;

struct ConformanceCase {
    std::string name;
    std::string path;
};

void PrintTo(const ConformanceCase& c, std::ostream* os) { *os << c.name; }

std::vector<ConformanceCase> cases_in(const fs::path& directory) {
    std::vector<ConformanceCase> cases;
    std::error_code error;
    if (!fs::is_directory(directory, error)) return cases;
    for (const auto& entry : fs::directory_iterator(directory))
        if (entry.path().extension() == ".data") cases.push_back({entry.path().stem().string(), entry.path().string()});
    std::sort(cases.begin(), cases.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return cases;
}

// Sections of a .data file ("-- asm", "-- mem", "-- result"); '#' lines are comments.
std::map<std::string, std::string> read_sections(const std::string& path) {
    std::ifstream in(path);
    std::map<std::string, std::string> sections;
    std::string line, current;
    while (std::getline(in, line)) {
        if (line.rfind("-- ", 0) == 0) {
            current = line.substr(3);
            while (!current.empty() && (current.back() == '\r' || current.back() == ' ')) current.pop_back();
            sections[current];
            continue;
        }
        if (line.rfind("#", 0) == 0 || current.empty()) continue;
        sections[current] += line + "\n";
    }
    return sections;
}

// uBPF's helper 5 ("unwind"): returns its argument, and a zero ends the program.
uint64_t unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (r1 == 0) {
        context->control = Control::Stop;
        context->stop_value = 0;
    }
    return r1;
}

JitCompiler& compiler() {
    static auto made = JitCompiler::create({});
    if (!made) throw std::runtime_error(made.error());
    return **made;
}

struct Verdict {
    bool passed;
    std::string detail;
};

Verdict run_case(const ConformanceCase& c) {
    auto sections = read_sections(c.path);
    if (!sections.contains("asm")) return {false, "no -- asm section"};
    std::vector<ir::Instruction> code;
    try {
        code = assemble_or_die(sections["asm"]);
    } catch (const std::exception& e) {
        return {false, e.what()};
    }
    RuntimeOptions options;
    options.helpers.set(5, "unwind", &unwind);
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

INSTANTIATE_TEST_SUITE_P(Shared, JitConformance, testing::ValuesIn(cases_in(SharedCases)), case_name);
INSTANTIATE_TEST_SUITE_P(Own, JitConformance, testing::ValuesIn(cases_in(OwnCases)), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(JitConformance);

TEST(JitConformanceSummary, AllSharedCasesPass) {
    auto cases = cases_in(SharedCases);
    if (cases.empty()) GTEST_SKIP() << "no " << SharedCases << " (reference material absent)";
    size_t passed = 0;
    for (const auto& c : cases) passed += verdict_of(c).passed;
    std::printf("shared conformance: %zu of %zu cases pass through the JIT\n", passed, cases.size());
    EXPECT_EQ(passed, cases.size());
}

}  // namespace
}  // namespace bpfvet::jit::test
