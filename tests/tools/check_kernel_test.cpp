// `bpfvet check --kernel`: the running kernel's verdict beside ours, in text
// and JSON, with its complaint mapped to our source line; the exit code stays
// ours. Skips when the kernel refuses bpf(2) (the command then prints
// "kernel: unavailable" and that is checked instead).
#include "cli_runner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>

namespace bpfvet::test {
namespace {

const std::filesystem::path Corpus = BPFVET_CORPUS_BUILD_DIR;

bool unavailable(const CliResult& result) { return result.output.find("kernel: unavailable") != std::string::npos; }

#define SKIP_WITHOUT(object)                                                                       \
    if (!std::filesystem::exists(Corpus / (object))) GTEST_SKIP() << "corpus not built (bpfvet_corpus)"

TEST(CheckKernel, RejectionMappedToOurSourceLine) {
    SKIP_WITHOUT("bad_null_dereference.o");
    auto result = run_cli("check " + quote(Corpus / "bad_null_dereference.o") + " --kernel");
    if (unavailable(result)) {
        EXPECT_EQ(result.exit_code, 1) << result.output;  // our verdict alone
        GTEST_SKIP() << "bpf(2) unavailable: " << result.output;
    }
    EXPECT_EQ(result.exit_code, 1) << result.output;
    // corpus/manifest.json: the kernel says "R0 invalid mem access 'map_value_or_null'".
    static const std::regex line("kernel: reject: R0 invalid mem access 'map_value_or_null' at insn [0-9]+ "
                                 "\\([^)]*bad_null_dereference\\.c:[1-9][0-9]*\\)\n");
    EXPECT_TRUE(std::regex_search(result.output, line)) << result.output;
    EXPECT_NE(result.output.find("\n    processed "), std::string::npos) << "the log's last lines follow\n" << result.output;
}

TEST(CheckKernel, AcceptWithStatistics) {
    SKIP_WITHOUT("xdp_parser.o");
    auto result = run_cli("check " + quote(Corpus / "xdp_parser.o") + " --kernel");
    if (unavailable(result)) GTEST_SKIP() << "bpf(2) unavailable";
    EXPECT_EQ(result.exit_code, 0) << result.output;
    static const std::regex line("kernel: accept \\([1-9][0-9]* insns processed, [0-9.]+ ms\\)\n");
    EXPECT_TRUE(std::regex_search(result.output, line)) << result.output;
}

TEST(CheckKernel, JsonObject) {
    SKIP_WITHOUT("bad_null_dereference.o");
    auto result = run_cli("check " + quote(Corpus / "bad_null_dereference.o") + " --kernel --format json");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    const auto json = nlohmann::json::parse(result.output);
    const auto& kernel = json["programs"][0]["kernel"];
    if (kernel["verdict"] == "unavailable") GTEST_SKIP() << "bpf(2) unavailable";
    EXPECT_EQ(kernel["verdict"], "reject");
    EXPECT_EQ(kernel["errno"], 13);  // EACCES
    EXPECT_EQ(kernel["first_error_line"], "R0 invalid mem access 'map_value_or_null'");
    ASSERT_TRUE(kernel["error_pc"].is_number_integer()) << kernel.dump();
    ASSERT_TRUE(kernel["line"].is_number_integer()) << kernel.dump();
    EXPECT_GE(kernel["line"].get<int>(), 1);
    EXPECT_NE(kernel["file"].get<std::string>().find("bad_null_dereference.c"), std::string::npos);
    EXPECT_GT(kernel["processed_insns"].get<int>(), 0);
    EXPECT_GT(kernel["load_seconds"].get<double>(), 0.0);
    EXPECT_FALSE(kernel["log_tail"].empty());
    // Without --kernel there is no kernel object.
    auto plain = run_cli("check " + quote(Corpus / "bad_null_dereference.o") + " --format json");
    EXPECT_FALSE(nlohmann::json::parse(plain.output)["programs"][0].contains("kernel"));
}

// The kernel as root allows the pointer leak our --unprivileged check refuses:
// the kernel's accept is shown, the exit code stays ours.
TEST(CheckKernel, ExitCodeStaysOurs) {
    SKIP_WITHOUT("bad_pointer_leak.o");
    auto result = run_cli("check " + quote(Corpus / "bad_pointer_leak.o") + " --unprivileged --kernel");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    if (unavailable(result)) GTEST_SKIP() << "bpf(2) unavailable";
    EXPECT_NE(result.output.find("error[pointer-leak]"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("kernel: accept"), std::string::npos) << result.output;
}

TEST(CheckKernel, SarifNoteForTheKernelsRejection) {
    SKIP_WITHOUT("bad_null_dereference.o");
    auto result = run_cli("check " + quote(Corpus / "bad_null_dereference.o") + " --kernel --format sarif");
    EXPECT_EQ(result.exit_code, 1) << result.output;
    const auto log = nlohmann::json::parse(result.output);
    const auto& results = log["runs"][0]["results"];
    ASSERT_FALSE(results.empty());
    if (results.back()["ruleId"] != "kernel-verifier") {
        auto text = run_cli("check " + quote(Corpus / "bad_null_dereference.o") + " --kernel");
        if (unavailable(text)) GTEST_SKIP() << "bpf(2) unavailable";
        FAIL() << "no kernel-verifier result:\n" << log.dump(2);
    }
    EXPECT_EQ(results.back()["level"], "note");  // both reject
    EXPECT_NE(results.back()["message"]["text"].get<std::string>().find("map_value_or_null"), std::string::npos);
}

}  // namespace
}  // namespace bpfvet::test
