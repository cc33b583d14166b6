// The running kernel as the oracle for the JIT: each ../shared/bench program
// (compiled here with clang-19 -target bpf) is loaded with BPF_PROG_LOAD as an
// XDP program and run with BPF_PROG_TEST_RUN on the bench packet and on 20
// random variants of it; our JIT must return the same r0 (low 32 bits, what
// XDP returns) on fresh maps of its own, run after run.
//
// Needs root and bpf(2); skips otherwise, and skips (listing them) programs
// this kernel refuses.
#include "jit/jit_runner.hpp"
#include "runtime/kernel_loader.hpp"
#include "runtime/runtime.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>
#include <random>

#if __has_include("../../../shared/bench/packet.h")
#include "../../../shared/bench/packet.h"
#define BPFVET_HAVE_BENCH_PACKET 1
#endif

namespace bpfvet::jit::test {
namespace {

namespace fs = std::filesystem;

namespace kernel = runtime::kernel;

TEST(JitAgainstKernel, BenchProgramsReturnWhatTheKernelReturns) {
#ifndef BPFVET_HAVE_BENCH_PACKET
    GTEST_SKIP() << "../shared/bench absent";
#else
    auto compiler = JitCompiler::create({});
    ASSERT_TRUE(compiler) << compiler.error();
    // parse is left out: loaded this way (no BTF, no libbpf) this kernel's
    // verifier gives up after 10^6 instructions (E2BIG), which costs seconds.
    const char* const programs[] = {"null", "checksum", "flowhash", "alu", "strstr", "sort", "muldiv", "calls"};
    size_t compared = 0;
    std::vector<std::string> refused;
    for (const char* name : programs) {
        fs::path source = fs::path(BPFVET_SHARED_DIR) / "bench" / (std::string(name) + ".c");
        fs::path object_path = fs::temp_directory_path() / fmt::format("bpfvet-jit-kernel-{}-{}.o", name, getpid());
        std::string command = fmt::format("clang-19 -O2 -g -target bpf -c '{}' -o '{}' 2>/dev/null", source.string(), object_path.string());
        if (std::system(command.c_str()) != 0) GTEST_SKIP() << "clang-19 cannot compile " << source;
        auto object = runtime::LoadedObject::open(object_path.string());
        fs::remove(object_path);
        ASSERT_TRUE(object) << object.error().to_string();
        const ir::Program& program = (*object)->object().programs.at(0);
        std::optional<kernel::KernelProgram> in_kernel;
        const auto loaded = kernel::load_in_kernel((*object)->object(), program, ir::ProgramType::Xdp, {}, &in_kernel);
        if (loaded.verdict == kernel::KernelVerdict::Unavailable) GTEST_SKIP() << "bpf(2) not available (needs root): " << loaded.message;
        if (loaded.verdict != kernel::KernelVerdict::Accept) {
            refused.push_back(fmt::format("{}: {} {}", name, loaded.message, loaded.first_error_line));
            continue;
        }
        auto linked = (*object)->program(program.name);
        ASSERT_TRUE(linked) << linked.error().to_string();
        JitRunner runner(**object, **linked, **compiler);
        std::vector<uint8_t> packet(BENCH_PKT_LEN);
        bench_make_packet(packet.data());
        std::mt19937_64 random(0x6b65726e656cULL);
        for (int i = 0; i <= 20; ++i) {
            std::vector<uint8_t> input = packet;
            if (i > 0) {  // a random variant: a few bytes changed, sometimes shorter
                for (int flip = 0; flip < 4; ++flip) input[random() % input.size()] = uint8_t(random());
                if (i % 4 == 0) input.resize(14 + random() % 200);
            }
            auto expected = in_kernel->test_run(input);
            ASSERT_TRUE(expected) << name << ": " << expected.error();
            ASSERT_TRUE(runner.set_input({.packet = input}));
            auto actual = runner.run();
            ASSERT_TRUE(actual.result) << name << ": " << actual.result.error().to_string();
            EXPECT_EQ(uint32_t(actual.result->return_value), *expected) << name << " input " << i;
        }
        ++compared;
    }
    std::printf("kernel comparison: %zu of %zu bench programs compared on 21 packets each\n", compared, std::size(programs));
    for (const auto& line : refused) std::printf("  refused by this kernel: %s\n", line.c_str());
    EXPECT_GT(compared, 0u);
#endif
}

}  // namespace
}  // namespace bpfvet::jit::test
