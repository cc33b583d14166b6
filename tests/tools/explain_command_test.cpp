// `bpfvet explain` and `bpfvet check --refine z3`: statuses in text and JSON.
#include "cli_runner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace bpfvet::test {
namespace {

std::filesystem::path corpus_object(const std::string& name) {
    return std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / name;
}

#define REQUIRE_OBJECT(path) \
    if (!std::filesystem::exists(path)) GTEST_SKIP() << (path) << " was not built (build target bpfvet_corpus)"

TEST(ExplainCommand, ConfirmedRejectionShowsInputPathAndFault) {
    auto path = corpus_object("bad_refine_index_off_by_one.o");
    REQUIRE_OBJECT(path);
    CliResult result = run_cli("explain " + quote(path));
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("error[map-value-out-of-bounds]"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("status: confirmed"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("input packet"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("replayed:"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("path"), std::string::npos) << result.output;
}

TEST(ExplainCommand, TypesKfuncCallsFromTheKernelBtfAsCheckDoes) {
    auto path = corpus_object("task_kfuncs.o");
    REQUIRE_OBJECT(path);
    if (!std::filesystem::exists("/sys/kernel/btf/vmlinux")) GTEST_SKIP() << "no kernel BTF on this machine";
    CliResult check = run_cli("check " + quote(path));
    CliResult explain = run_cli("explain " + quote(path));
    EXPECT_EQ(check.exit_code, 0) << check.output;
    EXPECT_EQ(explain.exit_code, check.exit_code) << "explain tells check's story\n" << explain.output;
    EXPECT_EQ(explain.output.find("cannot be checked"), std::string::npos) << explain.output;
    CliResult unusable = run_cli("explain --kernel-btf /nonexistent/vmlinux " + quote(path));
    EXPECT_EQ(unusable.exit_code, 2) << unusable.output;
}

TEST(ExplainCommand, DischargedAlarmIsExplained) {
    auto path = corpus_object("refine_relational_bound.o");
    REQUIRE_OBJECT(path);
    // The kernel rejects it: so do we, saying the program is in fact safe.
    CliResult result = run_cli("explain " + quote(path));
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("after refinement: reject"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("status: discharged"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("the kernel will still reject"), std::string::npos) << result.output;
    CliResult safety = run_cli("explain --verdict safety " + quote(path));
    EXPECT_EQ(safety.exit_code, 0) << safety.output;
    EXPECT_NE(safety.output.find("after refinement: accept"), std::string::npos) << safety.output;
}

TEST(CheckCommand, RefineZ3JsonHasStatuses) {
    auto good = corpus_object("refine_relational_bound.o");
    auto bad = corpus_object("bad_refine_short_read.o");
    REQUIRE_OBJECT(good);
    REQUIRE_OBJECT(bad);

    CliResult plain = run_cli("check " + quote(good));
    EXPECT_EQ(plain.exit_code, 1) << "rejected without refinement:\n" << plain.output;

    CliResult kernel = run_cli("check --refine z3 --z3-timeout 5000 --format json " + quote(good));
    EXPECT_EQ(kernel.exit_code, 1) << kernel.output;
    auto json = nlohmann::json::parse(kernel.output, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << kernel.output;
    EXPECT_EQ(json["programs"][0]["verdict"], "reject");
    EXPECT_EQ(json["programs"][0]["errors"][0]["status"], "discharged");

    CliResult accepted = run_cli("check --refine z3 --verdict safety --z3-timeout 5000 --format json " + quote(good));
    EXPECT_EQ(accepted.exit_code, 0) << accepted.output;
    json = nlohmann::json::parse(accepted.output, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << accepted.output;
    const auto& program = json["programs"][0];
    EXPECT_EQ(program["verdict"], "accept");
    ASSERT_FALSE(program["discharged"].empty());
    EXPECT_EQ(program["discharged"][0]["status"], "discharged");

    CliResult rejected = run_cli("check --refine z3 --format json " + quote(bad));
    EXPECT_EQ(rejected.exit_code, 1) << rejected.output;
    json = nlohmann::json::parse(rejected.output, nullptr, false);
    ASSERT_FALSE(json.is_discarded()) << rejected.output;
    const auto& error = json["programs"][0]["errors"][0];
    EXPECT_EQ(error["code"], "packet-out-of-bounds");
    EXPECT_EQ(error["status"], "confirmed") << error.dump(2);
    ASSERT_TRUE(error.contains("counterexample"));
    // The fault needs a packet of 4 to 7 bytes: 4 are checked, 8 are read.
    std::string packet = error["counterexample"]["packet"];
    EXPECT_GE(packet.size(), 8u);
    EXPECT_LT(packet.size(), 16u);
}

TEST(CheckCommand, RefineRejectsUnknownMode) {
    auto good = corpus_object("refine_spilled_flag.o");
    REQUIRE_OBJECT(good);
    EXPECT_EQ(run_cli("check --refine magic " + quote(good)).exit_code, 2);
}

}  // namespace
}  // namespace bpfvet::test
