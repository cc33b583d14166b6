// `compile_object` (what `bpfvet compile -o x.o` writes) is a real object: it
// links with a small C driver that provides the documented symbols (the
// helper as bpfvet_helper_<id>, the run context's bytes) and calls the
// documented entry; the driver's printed r0 must equal the JIT's.
#include "jit/compiler.hpp"
#include "jit/jit_runner.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>

namespace bpfvet::jit::test {
namespace {

namespace fs = std::filesystem;
using namespace runtime;

// The same helper on both sides: helper 7 (bpf_get_prandom_u32) made deterministic.
uint64_t three_x_plus_one(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext*) { return r1 * 3 + 1; }

constexpr const char* Driver = R"(#include <stdint.h>
#include <stdio.h>
uint64_t aot_entry(uint64_t r1, uint64_t r2, void* context);
uint64_t bpfvet_helper_7(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, void* context) {
    (void)r2; (void)r3; (void)r4; (void)r5; (void)context;
    return r1 * 3 + 1;
}
/* Only needed when the lowering could not find the fault flag's offset, or
   for code that may fall off a function: never called here. */
__attribute__((weak)) uint8_t bpfvet_jit_fault_pending(void* context) { (void)context; return 0; }
__attribute__((weak)) uint64_t bpfvet_jit_fell_off(void* context, uint64_t pc) { (void)context; (void)pc; return 0; }
__attribute__((weak)) uint64_t bpfvet_jit_tail_call(void* context, uint64_t r1) { (void)context; (void)r1; return 0; }
/* A zeroed RunContext: control Continue, no fault. */
static _Alignas(16) unsigned char context[CONTEXT_SIZE];
int main(void) {
    unsigned char memory[64];
    for (int i = 0; i < 64; i++) memory[i] = (unsigned char)(i * 7 + 1);
    printf("%llu\n", (unsigned long long)aot_entry((uint64_t)(uintptr_t)memory, sizeof memory, context));
    return 0;
}
)";

// A multiply-and-add hash of the input bytes, then helper 7 on it.
constexpr const char* Program =
    "r0 = 0\n"
    "r3 = 0\n"
    "loop: if r3 >= r2 goto out\n"
    "r4 = r1\n"
    "r4 += r3\n"
    "r5 = *(u8 *)(r4 + 0)\n"
    "r0 *= 31\n"
    "r0 += r5\n"
    "r3 += 1\n"
    "goto loop\n"
    "out: r1 = r0\n"
    "call bpf_get_prandom_u32\n"
    "exit\n";

std::string run_and_read(const std::string& command) {
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return output;
    char buffer[256];
    while (fgets(buffer, sizeof buffer, pipe)) output += buffer;
    if (pclose(pipe) != 0) output = "failed: " + output;
    return output;
}

TEST(AheadOfTime, ALinkedObjectComputesWhatTheJitComputes) {
    if (std::system("cc --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no host C compiler (cc)";
    RuntimeOptions options;
    options.helpers.set(7, "get_prandom_u32", &three_x_plus_one);
    auto object = runtime::test::load_or_die(runtime::test::make_object(runtime::test::assemble_or_die(Program)),
                                             std::move(options));
    auto program = object->program("test");
    ASSERT_TRUE(program) << program.error().to_string();

    LoweringOptions lowering;
    lowering.addressing = Addressing::Symbolic;
    lowering.entry_name = "aot_entry";
    auto bytes = compile_object(**program, lowering, 2);
    ASSERT_TRUE(bytes) << bytes.error();

    fs::path directory = fs::temp_directory_path() / fmt::format("bpfvet-aot-{}", getpid());
    fs::create_directories(directory);
    {
        std::ofstream out(directory / "program.o", std::ios::binary);
        out.write(bytes->data(), std::streamsize(bytes->size()));
        std::ofstream driver(directory / "driver.c");
        driver << Driver;
    }
    std::string build = fmt::format("cc -O1 -DCONTEXT_SIZE={} '{}' '{}' -o '{}' 2>&1", sizeof(RunContext),
                                    (directory / "driver.c").string(), (directory / "program.o").string(),
                                    (directory / "driver").string());
    std::string built = run_and_read(build);
    ASSERT_TRUE(built.empty()) << build << "\n" << built;
    std::string printed = run_and_read("'" + (directory / "driver").string() + "'");
    fs::remove_all(directory);

    auto compiler = JitCompiler::create();
    ASSERT_TRUE(compiler) << compiler.error();
    JitRunner runner(*object, **program, **compiler);
    std::vector<uint8_t> memory(64);
    for (size_t i = 0; i < memory.size(); ++i) memory[i] = uint8_t(i * 7 + 1);
    ASSERT_TRUE(runner.set_input({.memory = memory}));
    auto outcome = runner.run();
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(printed, fmt::format("{}\n", outcome.result->return_value));
    EXPECT_NE(outcome.result->return_value, 0u);
}

}  // namespace
}  // namespace bpfvet::jit::test
