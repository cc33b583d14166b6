// The running kernel as the oracle for the JIT: each ../shared/bench program
// (compiled here with clang-19 -target bpf) is loaded with BPF_PROG_LOAD as an
// XDP program and run with BPF_PROG_TEST_RUN on the bench packet and on 20
// random variants of it; our JIT must return the same r0 (low 32 bits, what
// XDP returns) on fresh maps of its own, run after run.
//
// Needs root and bpf(2); skips otherwise, and skips (listing them) programs
// this kernel refuses.
#include "jit/jit_runner.hpp"
#include "runtime/runtime.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

long bpf_call(int command, union bpf_attr& attr) { return syscall(__NR_bpf, command, &attr, sizeof(attr)); }

// Descriptors of one loaded object (maps, then the program), closed at the end.
struct KernelObject {
    std::vector<int> descriptors;
    int program = -1;
    ~KernelObject() {
        for (int fd : descriptors) close(fd);
    }
};

std::expected<void, std::string> kernel_load(const ir::Object& object, const ir::Program& program, KernelObject& loaded) {
    std::vector<int> maps;
    for (const auto& map : object.maps) {
        union bpf_attr attr {};
        attr.map_type = uint32_t(map.type);
        attr.key_size = map.key_size;
        attr.value_size = map.value_size;
        attr.max_entries = map.max_entries;
        attr.map_flags = map.flags;
        int fd = int(bpf_call(BPF_MAP_CREATE, attr));
        if (fd < 0) return std::unexpected(fmt::format("BPF_MAP_CREATE {}: {}", map.name, std::strerror(errno)));
        loaded.descriptors.push_back(fd);
        maps.push_back(fd);
    }
    std::vector<uint64_t> slots;
    for (auto insn : program.instructions) {
        auto kind = ir::LddwKind(insn.src);
        if (insn.is_lddw() && (kind == ir::LddwKind::MapFd || kind == ir::LddwKind::MapValue))
            insn.imm = uint32_t(insn.imm) < maps.size() ? maps[uint32_t(insn.imm)] : -1;
        slots.push_back(ir::encode_slot(insn));
    }
    static char license[] = "GPL";
    union bpf_attr attr {};
    attr.prog_type = BPF_PROG_TYPE_XDP;
    attr.insns = uint64_t(uintptr_t(slots.data()));
    attr.insn_cnt = uint32_t(slots.size());
    attr.license = uint64_t(uintptr_t(license));
    // No verifier log (a full log of a big program costs seconds and overflows
    // any buffer); the errno says enough to list the refusal.
    int fd = int(bpf_call(BPF_PROG_LOAD, attr));
    if (fd < 0) return std::unexpected(fmt::format("BPF_PROG_LOAD: {}", std::strerror(errno)));
    loaded.descriptors.push_back(fd);
    loaded.program = fd;
    return {};
}

std::expected<uint32_t, std::string> kernel_run(int fd, std::vector<uint8_t> packet) {
    std::vector<uint8_t> out(packet.size() + 512);
    union bpf_attr attr {};
    attr.test.prog_fd = uint32_t(fd);
    attr.test.data_in = uint64_t(uintptr_t(packet.data()));
    attr.test.data_size_in = uint32_t(packet.size());
    attr.test.data_out = uint64_t(uintptr_t(out.data()));
    attr.test.data_size_out = uint32_t(out.size());
    attr.test.repeat = 1;
    if (bpf_call(BPF_PROG_TEST_RUN, attr) < 0) return std::unexpected(fmt::format("BPF_PROG_TEST_RUN: {}", std::strerror(errno)));
    return attr.test.retval;
}

bool kernel_available() {
    union bpf_attr attr {};
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    int fd = int(bpf_call(BPF_MAP_CREATE, attr));
    if (fd < 0) return false;
    close(fd);
    return true;
}

TEST(JitAgainstKernel, BenchProgramsReturnWhatTheKernelReturns) {
#ifndef BPFVET_HAVE_BENCH_PACKET
    GTEST_SKIP() << "../shared/bench absent";
#else
    if (!kernel_available()) GTEST_SKIP() << "bpf(2) not available (needs root)";
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
        KernelObject kernel;
        if (auto loaded = kernel_load((*object)->object(), program, kernel); !loaded) {
            refused.push_back(fmt::format("{}: {}", name, loaded.error()));
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
            auto expected = kernel_run(kernel.program, input);
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
