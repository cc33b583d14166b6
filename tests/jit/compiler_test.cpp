// The JIT beyond the conformance cases: the compile cache, helpers and the
// run-ending controls (tail calls up to the kernel's limit, a helper's stop),
// callbacks, packets, atomics, legacy packet loads, the lowered IR's shape and
// ahead-of-time objects.
#include "shared_compiler.hpp"
#include "jit/compiler.hpp"
#include "jit/jit_runner.hpp"
#include "test_support.hpp"

#include <cstring>
#include <gtest/gtest.h>
#include <linux/bpf.h>

namespace bpfvet::jit::test {
namespace {

using namespace runtime;
using runtime::test::assemble_or_die;
using runtime::test::load_or_die;
using runtime::test::make_object;
using runtime::test::map_definition;
using ir::MapType;
using ir::ProgramType;

struct Fixture {
    std::unique_ptr<LoadedObject> object;
    const LoadedProgram* program;
    std::unique_ptr<JitRunner> runner;
};

Fixture load(std::string_view text, ProgramType type = ProgramType::Unspecified,
             std::vector<ir::MapDefinition> maps = {}, RuntimeOptions options = {}) {
    auto code = assemble_or_die(text, maps);
    Fixture f;
    f.object = load_or_die(make_object(code, type, maps), std::move(options));
    auto program = f.object->program("test");
    if (!program) throw std::runtime_error(program.error().to_string());
    f.program = *program;
    f.runner = std::make_unique<JitRunner>(*f.object, *f.program, compiler(), 0);
    return f;
}

RunOutcome run(Fixture& f, RunInput input = {}) {
    auto set = f.runner->set_input(std::move(input));
    if (!set) throw std::runtime_error(set.error());
    return f.runner->run();
}

std::vector<uint8_t> frame(size_t size) {
    std::vector<uint8_t> packet(size);
    for (size_t i = 0; i < size; ++i) packet[i] = uint8_t(i);
    return packet;
}

TEST(Jit, CompilesEachProgramOnce) {
    auto f = load("r0 = 41\nr0 += 1\nexit");
    size_t before = compiler().compiles();
    for (int i = 0; i < 5; ++i) {
        auto outcome = run(f);
        ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
        EXPECT_EQ(outcome.result->return_value, 42u);
    }
    JitRunner second(*f.object, *f.program, compiler());
    ASSERT_TRUE(second.run().result);
    EXPECT_EQ(compiler().compiles(), before + 1);
    EXPECT_GT(compiler().statistics(*f.program).total_ms(), 0.0);
}

TEST(Jit, MapHelpersFromAProgram) {
    auto counts = map_definition("counts", MapType::Array, 4, 8, 2);
    auto f = load(
        "*(u32 *)(r10 - 4) = 0\n"
        "r1 = map[counts] ll\n"
        "r2 = r10\n"
        "r2 += -4\n"
        "call bpf_map_lookup_elem\n"
        "if r0 == 0 goto out\n"
        "r1 = 1\n"
        "lock *(u64 *)(r0 + 0) += r1\n"
        "*(u32 *)(r10 - 4) = 1\n"
        "*(u64 *)(r10 - 16) = 7\n"
        "r1 = map[counts] ll\n"
        "r2 = r10\n"
        "r2 += -4\n"
        "r3 = r10\n"
        "r3 += -16\n"
        "r4 = 0\n"
        "call bpf_map_update_elem\n"
        "out: exit",
        ProgramType::Unspecified, {counts});
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(run(f).result);
    uint32_t key = 0;
    uint64_t value = 0;
    ASSERT_EQ(f.object->find_map("counts")->host_lookup(&key, &value), 0);
    EXPECT_EQ(value, 3u);
    key = 1;
    ASSERT_EQ(f.object->find_map("counts")->host_lookup(&key, &value), 0);
    EXPECT_EQ(value, 7u);
}

TEST(Jit, TailCallsStopAfter33) {
    auto counter = map_definition("counter", MapType::Array, 4, 8, 1);
    auto jumps = map_definition("jumps", MapType::ProgArray, 4, 4, 1);
    auto f = load(
        "r6 = r1\n"
        "*(u32 *)(r10 - 4) = 0\n"
        "r1 = map[counter] ll\n"
        "r2 = r10\n"
        "r2 += -4\n"
        "call bpf_map_lookup_elem\n"
        "if r0 == 0 goto out\n"
        "r1 = 1\n"
        "lock *(u64 *)(r0 + 0) += r1\n"
        "r1 = r6\n"
        "r2 = map[jumps] ll\n"
        "r3 = 0\n"
        "call bpf_tail_call\n"
        "out: r0 = 9\n"
        "exit",
        ProgramType::Xdp, {counter, jumps});
    uint32_t slot = 0, program_id = f.program->id;
    ASSERT_EQ(f.object->find_map("jumps")->host_update(&slot, &program_id, UpdateAny), 0);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 9u);
    uint64_t runs = 0;
    ASSERT_EQ(f.object->find_map("counter")->host_lookup(&slot, &runs), 0);
    EXPECT_EQ(runs, 34u) << "the first run and 33 tail calls";
}

TEST(Jit, XdpAdjustHeadMovesData) {
    auto f = load(
        "r6 = r1\n"
        "r2 = 14\n"
        "call bpf_xdp_adjust_head\n"
        "if r0 != 0 goto out\n"
        "r2 = *(u32 *)(r6 + 0)\n"
        "r3 = *(u32 *)(r6 + 4)\n"
        "r4 = r2\n"
        "r4 += 1\n"
        "if r4 > r3 goto out\n"
        "r0 = *(u8 *)(r2 + 0)\n"
        "out: exit",
        ProgramType::Xdp);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 14u);
    EXPECT_EQ(outcome.packet.size(), 46u);
    EXPECT_EQ(outcome.packet[0], 14u);
}

TEST(Jit, RedirectIsRecorded) {
    auto f = load("r1 = 3\nr2 = 0\ncall bpf_redirect\nexit", ProgramType::Xdp);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result);
    EXPECT_EQ(outcome.result->return_value, uint64_t(XDP_REDIRECT));
    ASSERT_TRUE(outcome.redirect);
    EXPECT_EQ(outcome.redirect->target, 3u);
}

TEST(Jit, BpfLoopCallsBackIntoTheProgram) {
    auto f = load(
        "*(u64 *)(r10 - 8) = 0\n"
        "r1 = 10\n"
        "r2 = func[cb] ll\n"
        "r3 = r10\n"
        "r3 += -8\n"
        "r4 = 0\n"
        "call bpf_loop\n"
        "r1 = *(u64 *)(r10 - 8)\n"
        "r0 += r1\n"
        "exit\n"
        "cb: r3 = *(u64 *)(r2 + 0)\n"
        "r3 += r1\n"
        "*(u64 *)(r2 + 0) = r3\n"
        "r0 = 0\n"
        "exit");
    auto outcome = run(f);
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 10u + 45u);
}

TEST(Jit, LegacyPacketLoadOutOfBoundsEndsTheRunWithZero) {
    // r0 = ntohs(packet[12..14)); then a load past the end stops with r0 = 0.
    auto f = load("r6 = r1\nr0 = *(u16 *)skb[12]\nif r0 != 0x0c0d goto bad\nr0 = *(u32 *)skb[1000]\nr0 = 7\nexit\nbad: r0 = 1\nexit",
                  ProgramType::SocketFilter);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 0u);
}

TEST(Jit, FallingOffTheEndIsAFault) {
    auto f = load("r0 = 1\nif r0 == 1 goto end\nexit\nend: r0 = 2");
    auto outcome = run(f);
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().kind, FaultKind::InvalidInstruction);
}

TEST(Jit, DivisionByARegisterKeepsTheZeroRules) {
    // 7 / r (r = 0) = 0, 7 % 0 = 7, INT64_MIN s/ -1 = INT64_MIN.
    auto f = load(
        "r1 = 0\nr2 = 7\nr2 /= r1\nr3 = 7\nr3 %= r1\nr4 = -1\nr5 = 1\nr5 <<= 63\nr5 s/= r4\n"
        "r0 = r2\nr0 += r3\nr5 >>= 63\nr0 += r5\nexit");
    auto outcome = run(f);
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 0u + 7u + 1u);
}

TEST(Jit, OptimisedIrHasNoStackAllocaForRegisterOnlyCode) {
    auto f = load("r0 = 0\nr1 = 10\nloop: r0 += r1\nr1 -= 1\nif r1 != 0 goto loop\nexit");
    auto text = lowered_ir_text(*f.program, {}, 2);
    ASSERT_TRUE(text) << text.error();
    EXPECT_EQ(text->find("alloca"), std::string::npos) << *text;
}

TEST(Jit, SpillsThroughR10ArePromoted) {
    auto f = load("r1 = 5\n*(u64 *)(r10 - 8) = r1\nr0 = *(u64 *)(r10 - 8)\nr0 += 1\nexit");
    auto text = lowered_ir_text(*f.program, {}, 2);
    ASSERT_TRUE(text) << text.error();
    EXPECT_NE(text->find("ret i64 6"), std::string::npos) << *text;
}

TEST(Jit, AProvenNonZeroDivisorNeedsNoCheck) {
    // r0 = r1 / r2 on the raw input's (pointer, length): without facts the
    // zero rule costs a compare; with the fact it is a bare udiv.
    auto f = load("r0 = r1\nr0 /= r2\nexit");
    auto plain = lowered_ir_text(*f.program, {}, 2);
    ASSERT_TRUE(plain) << plain.error();
    EXPECT_NE(plain->find("icmp eq"), std::string::npos) << *plain;
    ProgramFacts facts;
    facts[1].divisor_nonzero = true;
    LoweringOptions lowering;
    lowering.facts = &facts;
    auto proven = lowered_ir_text(*f.program, lowering, 2);
    ASSERT_TRUE(proven) << proven.error();
    EXPECT_EQ(proven->find("icmp"), std::string::npos) << *proven;
    EXPECT_NE(proven->find("udiv i64"), std::string::npos) << *proven;
}

TEST(Jit, AheadOfTimeObjectIsAnElfWithTheEntry) {
    auto counts = map_definition("counts", MapType::Array, 4, 8, 1);
    auto f = load("*(u32 *)(r10 - 4) = 0\nr1 = map[counts] ll\nr2 = r10\nr2 += -4\ncall bpf_map_lookup_elem\nexit",
                  ProgramType::Xdp, {counts});
    LoweringOptions lowering;
    lowering.addressing = Addressing::Symbolic;
    lowering.entry_name = "xdp_entry";
    auto object = compile_object(*f.program, lowering, 2);
    ASSERT_TRUE(object) << object.error();
    ASSERT_GT(object->size(), 64u);
    EXPECT_EQ(std::memcmp(object->data(), "\x7f" "ELF", 4), 0);
    std::string bytes(object->begin(), object->end());
    EXPECT_NE(bytes.find("xdp_entry"), std::string::npos);
    EXPECT_NE(bytes.find("bpfvet_helper_1"), std::string::npos);
    EXPECT_NE(bytes.find("bpfvet_maps"), std::string::npos);
}

}  // namespace
}  // namespace bpfvet::jit::test
