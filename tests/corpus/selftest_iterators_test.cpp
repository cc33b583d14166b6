// The kernel's own iterator selftests (../shared/kernel-selftests, objects
// verifier_bits_iter.o) against the running kernel: their manifest has no
// kernel verdicts (its loader could not resolve kfuncs), but
// runtime/kernel_loader resolves them by name. Each program is loaded into the
// kernel and analysed. The kernel must never reject what bpfvet accepts, and
// the verdicts must agree except on syscall programs, whose context bpfvet
// does not model yet (it refuses them: "program type 'syscall' is not
// modelled"). Needs root and bpf(2), the kernel's BTF and ../shared; skips otherwise.
#include "analyzer/analyzer.hpp"
#include "ir/elf_loader.hpp"
#include "ir/kernel_btf.hpp"
#include "runtime/kernel_loader.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <iostream>

namespace bpfvet::corpus {
namespace {

namespace kernel = runtime::kernel;

TEST(KernelSelftestIterators, BitsIteratorVerdictsAgreeWithTheRunningKernel) {
    const std::filesystem::path path =
        std::filesystem::path(BPFVET_SHARED_DIR) / "kernel-selftests" / "objs" / "verifier_bits_iter.o";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent (../shared)";
    if (geteuid() != 0) GTEST_SKIP() << "loading BPF programs needs root";
    auto btf = ir::KernelBtf::load(std::string(ir::DefaultKernelBtfPath));
    if (!btf) GTEST_SKIP() << ir::DefaultKernelBtfPath << " is unreadable";
    auto object = ir::load_object(path.string());
    ASSERT_TRUE(object.has_value()) << object.error().to_string();
    size_t compared = 0, agreed = 0, unsafe = 0, expected_gaps = 0;
    std::string disagreements;
    for (const ir::Program& program : object->programs) {
        kernel::KernelLoadOptions load_options;
        load_options.kernel_btf = *btf;
        const auto loaded = kernel::load_in_kernel(*object, program, program.type, load_options);
        if (loaded.verdict == kernel::KernelVerdict::Unavailable) GTEST_SKIP() << "bpf(2) refused: " << loaded.message;
        ASSERT_NE(loaded.verdict, kernel::KernelVerdict::LoaderError) << program.name << ": " << loaded.message;
        analyzer::AnalysisOptions options;
        options.kernel_btf = *btf;
        const auto result = analyzer::analyze_program(*object, program, options);
        const bool kernel_accepts = loaded.verdict == kernel::KernelVerdict::Accept;
        ++compared;
        if (result.accepted == kernel_accepts) {
            ++agreed;
            continue;
        }
        if (result.accepted) ++unsafe;
        if (!result.accepted && program.type == ir::ProgramType::Syscall) ++expected_gaps;
        disagreements += "\n  " + program.section + " " + program.name + ": kernel " +
                         (kernel_accepts ? "accepts" : "rejects (" + loaded.first_error_line + ")") + ", bpfvet " +
                         (result.accepted ? "accepts" : "rejects (" + result.errors.front().message + ")");
    }
    std::cout << "verifier_bits_iter.o: bpfvet agrees with the running kernel on " << agreed << " of " << compared
              << " programs" << disagreements << "\n";
    EXPECT_GT(compared, 0u);
    EXPECT_EQ(unsafe, 0u) << disagreements;
    EXPECT_EQ(agreed + expected_gaps, compared) << disagreements;
}

}  // namespace
}  // namespace bpfvet::corpus
