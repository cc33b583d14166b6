// `bpfvet check --trace` (states per path at --pc/--line, else at each error's
// pc), the --pc/--line filters of --print-invariants, and the undefined-symbol
// message of a helper declared `extern`. corpus/trace_two_paths.c returns 7 on
// one path and 9 on the other: the trace must show both constants, which the
// join of the two paths loses.
#include "cli_runner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>
#include <set>

namespace bpfvet::test {
namespace {

const std::filesystem::path Corpus = BPFVET_CORPUS_BUILD_DIR;

#define SKIP_WITHOUT(object) \
    if (!std::filesystem::exists(Corpus / (object))) GTEST_SKIP() << "corpus not built (bpfvet_corpus)"

// The states of the visits in text output ("    { ... }" lines after "visit N:").
std::vector<std::string> visit_states(const std::string& output) {
    std::vector<std::string> states;
    std::regex state_line(R"(\n    \{ ([^\n]*) \}\n)");
    for (auto it = std::sregex_iterator(output.begin(), output.end(), state_line); it != std::sregex_iterator(); ++it)
        states.push_back((*it)[1]);
    return states;
}

size_t count(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

TEST(CheckTrace, EachPathKeepsItsOwnStateAtALine) {
    SKIP_WITHOUT("trace_two_paths.o");
    auto result = run_cli("check --trace --line trace_two_paths.c:16 " + quote(Corpus / "trace_two_paths.o"));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("reached on 2 paths"), std::string::npos) << result.output;
    // The source line before the instruction, as disasm --source prints it.
    EXPECT_NE(result.output.find("; return result;  ["), std::string::npos) << result.output;
    const auto states = visit_states(result.output);
    ASSERT_EQ(states.size(), 2u) << result.output;
    // One path has r0 = 7, the other r0 = 9: the join would say only "between 7 and 9".
    const bool seven_then_nine = states[0].find("r0 = number 7;") != std::string::npos && states[1].find("r0 = number 9;") != std::string::npos;
    const bool nine_then_seven = states[0].find("r0 = number 9;") != std::string::npos && states[1].find("r0 = number 7;") != std::string::npos;
    EXPECT_TRUE(seven_then_nine || nine_then_seven) << result.output;
    // Each path says which way the branch at the comparison went.
    EXPECT_EQ(count(result.output, "-> taken"), 1u) << result.output;
    EXPECT_EQ(count(result.output, "-> not taken"), 1u) << result.output;
    EXPECT_NE(result.output.find("join of the 2 visits"), std::string::npos) << result.output;
}

TEST(CheckTrace, JsonHasEveryVisitWithItsBranches) {
    SKIP_WITHOUT("trace_two_paths.o");
    auto result = run_cli("check --trace --pc 4 --format json " + quote(Corpus / "trace_two_paths.o"));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    const auto out = nlohmann::json::parse(result.output);
    const auto& trace = out["programs"][0]["trace"];
    ASSERT_EQ(trace.size(), 1u) << out.dump(2);
    EXPECT_EQ(trace[0]["pc"], 4);
    EXPECT_EQ(trace[0]["total_visits"], 2);
    EXPECT_EQ(trace[0]["line"], 16);
    ASSERT_EQ(trace[0]["visits"].size(), 2u);
    std::set<bool> directions;
    std::set<std::string> states;
    for (const auto& visit : trace[0]["visits"]) {
        ASSERT_EQ(visit["branches"].size(), 1u) << visit.dump(2);
        directions.insert(visit["branches"][0]["taken"].get<bool>());
        states.insert(visit["state"].get<std::string>());
        EXPECT_EQ(visit["end"], "continued");
    }
    EXPECT_EQ(directions.size(), 2u);  // one path each way
    EXPECT_EQ(states.size(), 2u);      // and their states differ
    EXPECT_FALSE(states.contains(trace[0]["join"].get<std::string>()));  // neither is the join
}

// A visit whose state a verified one covers ends there: the trace names the
// visit that stored the covering state and prints that state.
TEST(CheckTrace, PrunedVisitsNameTheVerifiedStateThatCoversThem) {
    SKIP_WITHOUT("atomics.o");
    auto result = run_cli("check --trace --pc 0-1000 --format json " + quote(Corpus / "atomics.o"));
    EXPECT_EQ(result.exit_code, 0) << result.output.substr(0, 2000);
    const auto out = nlohmann::json::parse(result.output);
    size_t pruned = 0;
    for (const auto& point : out["programs"][0]["trace"]) {
        for (const auto& visit : point["visits"]) {
            if (visit["end"] != "pruned") continue;
            ++pruned;
            EXPECT_FALSE(visit["covering_state"].get<std::string>().empty()) << visit.dump(2);
            ASSERT_TRUE(visit.contains("covering_visit")) << visit.dump(2);
            // The covering visit is an earlier one at the same pc that went on.
            const auto covering = visit["covering_visit"].get<uint64_t>();
            EXPECT_LT(covering, visit["number"].get<uint64_t>());
            bool found = false;
            for (const auto& other : point["visits"])
                found = found || (other["number"] == covering && other["end"] == "continued");
            EXPECT_TRUE(found) << point.dump(2);
        }
    }
    EXPECT_GT(pruned, 0u) << "no path of atomics.o was pruned";
}

TEST(CheckTrace, TracePathsCapsTheVisitsShown) {
    SKIP_WITHOUT("trace_two_paths.o");
    auto text = run_cli("check --trace --pc 4 --trace-paths 1 " + quote(Corpus / "trace_two_paths.o"));
    EXPECT_EQ(visit_states(text.output).size(), 1u) << text.output;
    EXPECT_NE(text.output.find("1 more visit not shown (--trace-paths 1)"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("join of the 2 visits"), std::string::npos) << text.output;
    auto json = run_cli("check --trace --pc 4 --trace-paths 1 --format json " + quote(Corpus / "trace_two_paths.o"));
    const auto trace = nlohmann::json::parse(json.output)["programs"][0]["trace"][0];
    EXPECT_EQ(trace["total_visits"], 2);
    EXPECT_EQ(trace["shown_visits"], 1);
}

TEST(CheckTrace, WithoutAPlaceTracesWhereEachErrorFails) {
    SKIP_WITHOUT("bad_null_dereference.o");
    auto result = run_cli("check --trace --format json " + quote(Corpus / "bad_null_dereference.o"));
    EXPECT_EQ(result.exit_code, 1) << result.output;
    const auto program = nlohmann::json::parse(result.output)["programs"][0];
    ASSERT_FALSE(program["errors"].empty());
    const auto error_pc = program["errors"][0]["pc"];
    ASSERT_FALSE(program["trace"].empty()) << program.dump(2);
    EXPECT_EQ(program["trace"][0]["pc"], error_pc);
    bool failing = false;
    for (const auto& visit : program["trace"][0]["visits"])
        failing = failing || visit.value("failing_error", "") == "null-dereference";
    EXPECT_TRUE(failing) << program["trace"].dump(2);
    auto text = run_cli("check --trace " + quote(Corpus / "bad_null_dereference.o"));
    EXPECT_NE(text.output.find("the failing path of error[null-dereference]"), std::string::npos) << text.output;
}

TEST(CheckTrace, PrintInvariantsFilteredByPcRangeAndLine) {
    SKIP_WITHOUT("trace_two_paths.o");
    auto range = run_cli("check --print-invariants --pc 2-3 --format json " + quote(Corpus / "trace_two_paths.o"));
    const auto invariants = nlohmann::json::parse(range.output)["programs"][0]["invariants"];
    std::vector<std::string> keys;
    for (const auto& [key, value] : invariants.items()) keys.push_back(key);
    EXPECT_EQ(keys, (std::vector<std::string>{"2", "3"})) << invariants.dump(2);
    auto line = run_cli("check --print-invariants --line trace_two_paths.c:16 " + quote(Corpus / "trace_two_paths.o"));
    EXPECT_EQ(count(line.output, "\n      4: exit"), 1u) << line.output;
    EXPECT_EQ(count(line.output, "  { "), 1u) << line.output;  // pc 4 only
    auto text = run_cli("check --print-invariants --pc 0 " + quote(Corpus / "trace_two_paths.o"));
    EXPECT_EQ(count(text.output, "  { "), 1u) << text.output;
}

TEST(CheckTrace, BadPlacesAreBadInput) {
    SKIP_WITHOUT("trace_two_paths.o");
    const std::string object = " " + quote(Corpus / "trace_two_paths.o");
    auto not_a_number = run_cli("check --trace --pc x" + object);
    EXPECT_EQ(not_a_number.exit_code, 2) << not_a_number.output;
    EXPECT_NE(not_a_number.output.find("--pc 'x'"), std::string::npos) << not_a_number.output;
    auto backwards = run_cli("check --trace --pc 5-2" + object);
    EXPECT_EQ(backwards.exit_code, 2) << backwards.output;
    auto no_line = run_cli("check --trace --line trace_two_paths.c" + object);
    EXPECT_EQ(no_line.exit_code, 2) << no_line.output;
    auto alone = run_cli("check --pc 3" + object);
    EXPECT_EQ(alone.exit_code, 2) << alone.output;
    EXPECT_NE(alone.output.find("--trace or --print-invariants"), std::string::npos) << alone.output;
    auto elsewhere = run_cli("check --trace --line other.c:16" + object);
    EXPECT_EQ(elsewhere.exit_code, 0) << elsewhere.output;
    EXPECT_NE(elsewhere.output.find("no instruction of this program is at --pc/--line"), std::string::npos)
        << elsewhere.output;
}

// A helper declared as an extern function: the message names the symbol and
// the declaration bpf_helpers.h uses, not "recompile".
TEST(CheckUndefinedSymbol, ExternHelperIsNamed) {
    SKIP_WITHOUT("bad_extern_helper.o");
    auto result = run_cli("check " + quote(Corpus / "bad_extern_helper.o"));
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("error[unknown-helper]"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("bpf_map_lookup_elem is an undefined symbol: declare helpers as in bpf_helpers.h"),
              std::string::npos)
        << result.output;
    EXPECT_EQ(result.output.find("recompile"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace bpfvet::test
