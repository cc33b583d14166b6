#include "../ir/test_paths.hpp"
#include "cli_runner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace bpfvet::test {
namespace {

std::filesystem::path temp_file(const std::string& name, const std::string& contents) {
    auto path = std::filesystem::temp_directory_path() / ("bpfvet_test_" + name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
}

TEST(SectionsCommand, JsonForEverySharedObject) {
    if (!have_samples()) GTEST_SKIP() << "shared corpus absent";
    size_t programs = 0;
    for (const auto& path : sample_objects()) {
        auto result = run_cli("sections --format json " + quote(path));
        ASSERT_EQ(result.exit_code, 0) << path << "\n" << result.output;
        auto json = nlohmann::json::parse(result.output);
        ASSERT_TRUE(json["programs"].is_array());
        for (const auto& program : json["programs"]) {
            EXPECT_TRUE(program["section"].is_string());
            EXPECT_TRUE(program["name"].is_string());
            EXPECT_TRUE(program["type"].is_string());
            EXPECT_GT(program["insn_count"].get<int>(), 0);
            ++programs;
        }
    }
    EXPECT_GE(programs, 290u);
}

TEST(SectionsCommand, ExitsTwoOnBadInput) {
    auto expect_bad = [](const std::filesystem::path& path, const std::string& why) {
        auto result = run_cli("sections --format json " + quote(path));
        EXPECT_EQ(result.exit_code, 2) << why << "\n" << result.output;
        EXPECT_NE(result.output.find(path.string()), std::string::npos) << "message names the file: " << result.output;
    };
    expect_bad(temp_file("empty.o", ""), "empty file");
    expect_bad(temp_file("text.o", "hello, this is not ELF\n"), "non-ELF file");
    expect_bad("/nonexistent/bpfvet.o", "missing file");
    if (!have_samples()) GTEST_SKIP() << "shared corpus absent";
    std::ifstream in(samples_dir() / "linux" / "sockex1_kern.o", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    expect_bad(temp_file("truncated.o", bytes.substr(0, bytes.size() / 3)), "truncated ELF");
    for (const auto& entry : std::filesystem::directory_iterator(samples_dir() / "invalid")) {
        auto name = entry.path().filename().string();
        // Two well-formed fuzz finds are for `check` to judge (see tests/ir/elf_loader_test.cpp).
        if (name.starts_with("timeout-") || name == "dac31099c3bb5b6395908c82cc8540e77a6a1849") continue;
        if (name == "invalid-lddw.o") {
            // A readable object whose program is defective: listed, and rejected by check.
            EXPECT_EQ(run_cli("sections " + quote(entry.path())).exit_code, 0);
            // Its section (.text) names no type: check needs one (exit 2 without it).
            EXPECT_EQ(run_cli("check --type socket_filter " + quote(entry.path())).exit_code, 1);
            continue;
        }
        expect_bad(entry.path(), name);
    }
}

TEST(SectionsCommand, UsageErrorsExitTwo) {
    EXPECT_EQ(run_cli("").exit_code, 2);
    EXPECT_EQ(run_cli("sections").exit_code, 2);
    EXPECT_EQ(run_cli("sections --format yaml x.o").exit_code, 2);
    EXPECT_EQ(run_cli("--help").exit_code, 0);
    EXPECT_EQ(run_cli("sections --help").exit_code, 0);
}

TEST(DisasmCommand, PrintsSourceAndSymbolicMaps) {
    if (!have_samples()) GTEST_SKIP() << "shared corpus absent";
    auto result = run_cli("disasm --source " + quote(samples_dir() / "build" / "twomaps_btf.o"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("map[map1] ll"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("call bpf_map_lookup_elem"), std::string::npos);
    EXPECT_NE(result.output.find("twomaps_btf.c:43"), std::string::npos);
    auto missing = run_cli("disasm --section nosuch " + quote(samples_dir() / "build" / "twomaps_btf.o"));
    EXPECT_EQ(missing.exit_code, 2);
}

TEST(CfgCommand, WritesDotWithBlocksAndLoopHeads) {
    if (!have_samples()) GTEST_SKIP() << "shared corpus absent";
    auto dot = run_cli("cfg --format dot " + quote(samples_dir() / "build" / "bounded_loop.o"));
    ASSERT_EQ(dot.exit_code, 0) << dot.output;
    EXPECT_EQ(dot.output.rfind("digraph", 0), 0u);
    EXPECT_NE(dot.output.find("->"), std::string::npos);
    EXPECT_NE(dot.output.find("bounded_loop.c"), std::string::npos) << "blocks carry source lines";
    auto text = run_cli("cfg --format text " + quote(samples_dir() / "build" / "bounded_loop.o"));
    ASSERT_EQ(text.exit_code, 0);
    EXPECT_NE(text.output.find("1 loop heads"), std::string::npos) << text.output;
}

}  // namespace
}  // namespace bpfvet::test
