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

// Refinement with --verdict safety accepts a program the kernel rejects: the
// disagreement is marked, the exit code stays ours unless --fail-on-kernel-reject.
TEST(CheckKernel, FailOnKernelRejectWhenWeAccept) {
    SKIP_WITHOUT("refine_relational_bound.o");
    const std::string command = "check --refine z3 --verdict safety --z3-timeout 5000 --kernel " +
                                quote(Corpus / "refine_relational_bound.o");
    auto ours = run_cli(command);
    if (unavailable(ours)) GTEST_SKIP() << "bpf(2) unavailable";
    ASSERT_NE(ours.output.find("kernel: reject"), std::string::npos) << ours.output;
    EXPECT_EQ(ours.exit_code, 0) << ours.output;
    EXPECT_NE(ours.output.find("kernel: disagreement: the kernel rejects this program, bpfvet accepts it"),
              std::string::npos)
        << ours.output;
    auto failing = run_cli(command + " --fail-on-kernel-reject");
    EXPECT_EQ(failing.exit_code, 1) << failing.output;
    auto without_kernel = run_cli("check --fail-on-kernel-reject " + quote(Corpus / "refine_relational_bound.o"));
    EXPECT_EQ(without_kernel.exit_code, 2) << without_kernel.output;
}

// The kernel (loading as root) accepts a pointer leak that --unprivileged
// rejects: every format marks the disagreement.
TEST(CheckKernel, EveryFormatMarksADisagreement) {
    SKIP_WITHOUT("bad_pointer_leak.o");
    const std::string command = "check --unprivileged --kernel " + quote(Corpus / "bad_pointer_leak.o");
    auto text = run_cli(command);
    if (unavailable(text)) GTEST_SKIP() << "bpf(2) unavailable";
    ASSERT_NE(text.output.find("kernel: accept"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("kernel: disagreement: the kernel accepts this program, bpfvet rejects it"),
              std::string::npos)
        << text.output;
    const auto json = nlohmann::json::parse(run_cli(command + " --format json").output);
    const auto& kernel = json["programs"][0]["kernel"];
    EXPECT_EQ(kernel["agrees"], false) << kernel.dump(2);
    EXPECT_EQ(kernel["disagreement"], "disagreement: the kernel accepts this program, bpfvet rejects it");
    const auto sarif = nlohmann::json::parse(run_cli(command + " --format sarif").output);
    bool marked = false;
    for (const auto& result : sarif["runs"][0]["results"])
        if (result["ruleId"] == "kernel-verifier")
            marked = result["level"] == "warning" && result["properties"]["disagreement"] == true;
    EXPECT_TRUE(marked) << sarif.dump(2);
    auto github = run_cli(command + " --format github");
    EXPECT_NE(github.output.find("::warning "), std::string::npos) << github.output;
    EXPECT_NE(github.output.find("title=kernel verifier disagrees::"), std::string::npos) << github.output;
    auto junit = run_cli(command + " --format junit");
    EXPECT_NE(junit.output.find("kernel: disagreement: the kernel accepts this program"), std::string::npos)
        << junit.output;
}

// Both reject a null dereference: they agree, and nothing says otherwise.
TEST(CheckKernel, AgreementIsNotMarked) {
    SKIP_WITHOUT("bad_null_dereference.o");
    const auto json =
        nlohmann::json::parse(run_cli("check --kernel --format json " + quote(Corpus / "bad_null_dereference.o")).output);
    const auto& kernel = json["programs"][0]["kernel"];
    if (kernel["verdict"] == "unavailable") GTEST_SKIP() << "bpf(2) unavailable";
    EXPECT_EQ(kernel["agrees"], true) << kernel.dump(2);
    EXPECT_FALSE(kernel.contains("disagreement"));
}

// ebpf-samples' bpf2bpf.o: the kernel rejects it when it is loaded as libbpf
// loads it, with the object's BTF and func_info (add1 is then verified on its
// own, from its pointer argument that may be NULL). Skipped without the shared corpus.
TEST(CheckKernel, Bpf2bpfIsLoadedWithItsBtf) {
    const std::filesystem::path object =
        std::filesystem::path(BPFVET_SHARED_DIR) / "corpus" / "ebpf-samples" / "build" / "bpf2bpf.o";
    if (!std::filesystem::exists(object)) GTEST_SKIP() << object << " absent";
    const auto json =
        nlohmann::json::parse(run_cli("check --type socket_filter --kernel --format json " + quote(object)).output);
    const auto& program = json["programs"][0];
    if (program["kernel"]["verdict"] == "unavailable") GTEST_SKIP() << "bpf(2) unavailable";
    EXPECT_EQ(program["kernel"]["with_btf"], true) << program["kernel"].dump(2);
    EXPECT_EQ(program["kernel"]["verdict"], "reject") << program["kernel"].dump(2);
    EXPECT_EQ(program["verdict"], "reject");
    EXPECT_EQ(program["kernel"]["agrees"], true);
}

// The kernel refuses the BTF of an object whose __naked entry function has an
// unnamed argument: the note gives the kernel's own reason, from its BTF log.
TEST(CheckKernel, BtfRefusalGivesTheKernelsReason) {
    SKIP_WITHOUT("bad_stack_depth.o");
    auto result = run_cli("check --kernel " + quote(Corpus / "bad_stack_depth.o"));
    if (unavailable(result)) GTEST_SKIP() << "bpf(2) unavailable";
    const size_t note = result.output.find("kernel: note: the kernel refuses the object's BTF (Invalid argument: ");
    ASSERT_NE(note, std::string::npos) << result.output;
    EXPECT_NE(result.output.find("xdp_stack_depth", note), std::string::npos) << result.output;
}

}  // namespace
}  // namespace bpfvet::test
