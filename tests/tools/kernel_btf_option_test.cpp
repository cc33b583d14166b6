// `bpfvet check --kernel-btf`: read only when a BTF-typed program is checked,
// an unreadable given file is bad input, a BTF without the attach target
// leaves the arguments untyped; `run` and `compile` refuse BTF-typed programs.
#include "cli_runner.hpp"

#include "../ir/btf_builder.hpp"
#include "ir/kernel_btf.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace bpfvet::test {
namespace {

std::filesystem::path corpus_object(const char* name) { return std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / name; }

TEST(KernelBtfOption, UnreadableFileIsBadInputButOnlyForBtfTypedPrograms) {
    const auto fentry = corpus_object("fentry_file_mode.o");
    const auto socket = corpus_object("socket_filter.o");
    if (!std::filesystem::exists(fentry) || !std::filesystem::exists(socket)) GTEST_SKIP() << "corpus not built";
    auto bad = run_cli("check " + quote(fentry) + " --kernel-btf /nonexistent/vmlinux");
    EXPECT_EQ(bad.exit_code, 2) << bad.output;
    EXPECT_NE(bad.output.find("cannot open"), std::string::npos) << bad.output;
    // Not read at all for a socket filter.
    auto unrelated = run_cli("check " + quote(socket) + " --kernel-btf /nonexistent/vmlinux");
    EXPECT_EQ(unrelated.exit_code, 0) << unrelated.output;
}

TEST(KernelBtfOption, BtfWithoutTheTargetLeavesArgumentsUntyped) {
    const auto fentry = corpus_object("fentry_file_mode.o");
    if (!std::filesystem::exists(fentry)) GTEST_SKIP() << "corpus not built";
    BtfBuilder b;
    b.add_int("int", 4, true);
    const auto bytes = b.build();
    const auto path = std::filesystem::temp_directory_path() / "bpfvet_kernel_btf_option_test.btf";
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    auto result = run_cli("check " + quote(fentry) + " --section fentry/vfs_read --kernel-btf " + quote(path));
    std::filesystem::remove(path);
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("argument 0 of fentry/vfs_read is untyped: the kernel BTF"), std::string::npos)
        << result.output;
    EXPECT_NE(result.output.find("has no func 'vfs_read'"), std::string::npos) << result.output;
}

TEST(KernelBtfOption, RunningKernelsBtfIsTheDefault) {
    const auto fentry = corpus_object("fentry_file_mode.o");
    if (!std::filesystem::exists(fentry)) GTEST_SKIP() << "corpus not built";
    if (!std::filesystem::exists(std::string(ir::DefaultKernelBtfPath))) GTEST_SKIP() << "no kernel BTF here";
    auto result = run_cli("check " + quote(fentry) + " --format json");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    auto json = nlohmann::json::parse(result.output);
    ASSERT_TRUE(json.contains("kernel_btf")) << result.output;
    EXPECT_EQ(json["kernel_btf"]["path"], std::string(ir::DefaultKernelBtfPath));
    EXPECT_GT(json["kernel_btf"]["types"].get<int>(), 10000);
    EXPECT_LT(json["kernel_btf"]["parse_seconds"].get<double>(), 5.0);
}

TEST(KernelBtfOption, RunAndCompileRefuseBtfTypedPrograms) {
    const auto fentry = corpus_object("fentry_file_mode.o");
    if (!std::filesystem::exists(fentry)) GTEST_SKIP() << "corpus not built";
    for (const char* engine : {"jit", "interp"}) {
        auto run = run_cli("run " + quote(fentry) + " --section count_reads --engine " + engine);
        EXPECT_EQ(run.exit_code, 2) << engine << ": " << run.output;
        EXPECT_NE(run.output.find("read kernel objects"), std::string::npos) << run.output;
    }
    const auto out = std::filesystem::temp_directory_path() / "bpfvet_kernel_btf_option_test.o";
    auto compile = run_cli("compile " + quote(fentry) + " --section count_reads -o " + quote(out));
    EXPECT_EQ(compile.exit_code, 2) << compile.output;
    EXPECT_NE(compile.output.find("read kernel objects"), std::string::npos) << compile.output;
    EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace bpfvet::test
