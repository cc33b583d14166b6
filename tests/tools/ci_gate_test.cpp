// What a CI gate relies on beyond the verdict: a baseline of known rejections
// (only new errors fail), and usage errors that say what is wrong (exit 2).
#include "corpus_test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace bpfvet::test {
namespace {

std::filesystem::path built(const std::string& name) { return std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / name; }

nlohmann::json json_part(const std::string& output) {
    const size_t first = output.find('{'), last = output.rfind('}');
    if (first == std::string::npos || last == std::string::npos) return nullptr;
    return nlohmann::json::parse(output.substr(first, last - first + 1), nullptr, false);
}

class CiGate : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(built("bad_null_dereference.o"))) GTEST_SKIP() << "corpus not built";
    }
    // `bpfvet check <object> --format <format>` saved as a baseline file.
    std::filesystem::path baseline_of(const std::string& object, const std::string& format) {
        auto result = run_cli("check --format " + format + " " + quote(built(object)));
        EXPECT_NE(result.exit_code, 2) << result.output;
        auto path = directory_.path() / (object + "." + format);
        std::ofstream(path) << result.output.substr(result.output.find('{'));
        return path;
    }
    TemporaryDirectory directory_;
};

TEST_F(CiGate, KnownRejectionsInAJsonBaselineDoNotFail) {
    const auto baseline = baseline_of("bad_null_dereference.o", "json");
    auto plain = run_cli("check " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(plain.exit_code, 1) << plain.output;
    auto known = run_cli("check --format json --baseline " + quote(baseline) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(known.exit_code, 0) << known.output;
    const auto report = json_part(known.output);
    ASSERT_TRUE(report.is_object()) << known.output;
    const auto& errors = report["programs"][0]["errors"];
    ASSERT_FALSE(errors.empty());
    for (const auto& error : errors) EXPECT_EQ(error["baseline"], "unchanged") << error;
    EXPECT_EQ(report["programs"][0]["verdict"], "reject");  // the verdict itself stays the kernel's
    auto text = run_cli("check --baseline " + quote(baseline) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(text.exit_code, 0);
    EXPECT_NE(text.output.find("a known rejection"), std::string::npos) << text.output;
}

TEST_F(CiGate, ErrorsMissingFromTheBaselineAreNewAndFail) {
    const auto baseline = baseline_of("socket_filter.o", "json");  // accepted: no known errors
    auto result = run_cli("check --format json --baseline " + quote(baseline) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(result.exit_code, 1) << result.output;
    const auto report = json_part(result.output);
    ASSERT_TRUE(report.is_object()) << result.output;
    EXPECT_EQ(report["programs"][0]["errors"][0]["baseline"], "new");
}

TEST_F(CiGate, SarifBaselineGivesBaselineStates) {
    const auto baseline = baseline_of("bad_null_dereference.o", "sarif");
    auto sarif = run_cli("check --format sarif --baseline " + quote(baseline) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(sarif.exit_code, 0) << sarif.output;
    const auto log = json_part(sarif.output);
    ASSERT_TRUE(log.is_object()) << sarif.output;
    const auto& results = log["runs"][0]["results"];
    ASSERT_FALSE(results.empty());
    for (const auto& result : results) {
        EXPECT_EQ(result["baselineState"], "unchanged") << result;
        EXPECT_EQ(result["level"], "note") << result;
    }
    auto junit = run_cli("check --format junit --baseline " + quote(baseline) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(junit.exit_code, 0);
    EXPECT_NE(junit.output.find("<skipped"), std::string::npos) << junit.output;
    EXPECT_EQ(junit.output.find("<failure"), std::string::npos) << junit.output;
    auto github = run_cli("check --format github --baseline " + quote(baseline) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(github.output.find("::error"), std::string::npos) << github.output;
    EXPECT_NE(github.output.find("::notice"), std::string::npos) << github.output;
}

TEST_F(CiGate, UnreadableBaselineIsBadInput) {
    const auto garbage = directory_.path() / "garbage.json";
    std::ofstream(garbage) << "[1, 2";
    auto result = run_cli("check --baseline " + quote(garbage) + " " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(result.exit_code, 2) << result.output;
    EXPECT_NE(result.output.find("baseline"), std::string::npos) << result.output;
}

TEST_F(CiGate, UnknownSubcommandIsNamed) {
    auto result = run_cli("chekc " + quote(built("bad_null_dereference.o")));
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_NE(result.output.find("unknown subcommand 'chekc'"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("check"), std::string::npos) << result.output;
}

TEST_F(CiGate, BudgetsMustBePositive) {
    for (const std::string option : {"--max-steps 0", "--max-steps -5", "--max-seconds -1", "--max-disjuncts 0",
                                     "--z3-timeout 0"}) {
        auto result = run_cli("check " + option + " " + quote(built("bad_null_dereference.o")));
        EXPECT_EQ(result.exit_code, 2) << option << ": " << result.output;
        EXPECT_EQ(result.output.find("null"), std::string::npos) << option << " was not refused before the analysis";
    }
}

}  // namespace
}  // namespace bpfvet::test
