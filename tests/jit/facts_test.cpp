// The analyzer's facts (analyzer/facts.hpp) and how the JIT uses them: what is
// proved, that the lowered code drops the checks they make needless, that a
// rejected program has no facts (and the JIT refuses it), and that runs with
// facts agree with the interpreter.
#include "shared_compiler.hpp"
#include "analyzer/analyzer.hpp"
#include "jit/compiler.hpp"
#include "jit/jit_runner.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace bpfvet::jit::test {
namespace {

using namespace runtime;
using runtime::test::assemble_or_die;
using runtime::test::load_or_die;
using runtime::test::make_object;
using runtime::test::map_definition;
using ir::MapType;
using ir::ProgramType;

struct Loaded {
    std::unique_ptr<LoadedObject> object;
    const LoadedProgram* program = nullptr;
};

Loaded load(std::string_view text, ProgramType type, std::vector<ir::MapDefinition> maps = {}) {
    auto code = assemble_or_die(text, maps);
    Loaded loaded;
    loaded.object = load_or_die(make_object(code, type, maps));
    auto program = loaded.object->program("test");
    if (!program) throw std::runtime_error(program.error().to_string());
    loaded.program = *program;
    return loaded;
}

// A divisor that is non-zero only to the analyzer: it is spilled to a stack
// whose address escapes into a helper call, so LLVM must assume the helper
// may overwrite it; the analyzer knows the helper writes nothing there.
constexpr std::string_view SpilledDivisor =
    "r6 = r1\n"
    "r2 = *(u32 *)(r6 + 0)\n"     // skb->len: unknown
    "r2 |= 1\n"                   // never 0
    "*(u64 *)(r10 - 8) = r2\n"
    "*(u32 *)(r10 - 16) = 0\n"
    "r1 = map[values] ll\n"
    "r2 = r10\n"
    "r2 += -16\n"
    "call bpf_map_lookup_elem\n"
    "r2 = *(u64 *)(r10 - 8)\n"    // pc 10
    "r0 = 1000\n"
    "r0 /= r2\n"                  // pc 12
    "exit\n";

// A hash map: its lookup stays a call (array lookups are inlined, and LLVM would see the stack then).
std::vector<ir::MapDefinition> values_map() { return {map_definition("values", MapType::Hash, 4, 8, 1)}; }

TEST(Facts, TheAnalyzerProvesTheSpilledDivisorNonZero) {
    auto loaded = load(SpilledDivisor, ProgramType::SocketFilter, values_map());
    auto facts = verify_for_jit(*loaded.object, *loaded.program);
    ASSERT_TRUE(facts) << facts.error();
    ASSERT_TRUE(facts->contains(12));
    EXPECT_TRUE(facts->at(12).divisor_nonzero);
    EXPECT_TRUE(facts->at(12).divisor_not_minus_one);  // r2 <= 0xffffffff
    // Before pc 11 r0 holds bpf_map_lookup_elem's result: a map value pointer or null.
    const auto& r0 = facts->at(10).registers[0];
    EXPECT_EQ(r0.kind, analyzer::FactKind::Pointer);
    EXPECT_EQ(r0.region, analyzer::FactRegion::MapValue);
    EXPECT_FALSE(r0.non_null);
    // r0 = 1000 is a known constant before the division.
    EXPECT_EQ(facts->at(12).registers[0].constant(), std::optional<uint64_t>(1000));
    // r10 is the frame pointer, 16-aligned relative to itself; stack accesses say so.
    EXPECT_EQ(facts->at(10).access_alignment, 8);
}

TEST(Facts, TheJitDropsTheDivisionCheckTheAnalyzerProvedNeedless) {
    auto loaded = load(SpilledDivisor, ProgramType::SocketFilter, values_map());
    auto facts = verify_for_jit(*loaded.object, *loaded.program);
    ASSERT_TRUE(facts) << facts.error();
    auto plain = lowered_ir_text(*loaded.program, {}, 2);
    ASSERT_TRUE(plain) << plain.error();
    // Without facts LLVM keeps the ISA's x / 0 = 0 rule: a compare against 0 around the udiv.
    EXPECT_NE(plain->find("icmp eq i64"), std::string::npos) << *plain;
    EXPECT_NE(plain->find("udiv i64"), std::string::npos) << *plain;
    LoweringOptions lowering;
    lowering.facts = &*facts;
    auto proven = lowered_ir_text(*loaded.program, lowering, 2);
    ASSERT_TRUE(proven) << proven.error();
    // With the fact: a bare division of 1000 (narrowed to 32 bits by the
    // reload's !range [1, 2^32)), no compare, no select.
    EXPECT_EQ(proven->find("icmp eq i64"), std::string::npos) << *proven;
    EXPECT_EQ(proven->find("select"), std::string::npos) << *proven;
    EXPECT_NE(proven->find("udiv i32 1000"), std::string::npos) << *proven;
}

TEST(Facts, RunsWithFactsAgreeWithTheInterpreter) {
    auto loaded = load(SpilledDivisor, ProgramType::SocketFilter, values_map());
    auto facts = verify_for_jit(*loaded.object, *loaded.program);
    ASSERT_TRUE(facts) << facts.error();
    for (size_t length : {14u, 60u, 99u, 1500u}) {
        RunInput input{.packet = std::vector<uint8_t>(length, 0xab)};
        Runner interpreter(*loaded.object, *loaded.program);
        ASSERT_TRUE(interpreter.set_input(input));
        auto expected = interpreter.run();
        JitEngine engine(compiler());
        engine.set_facts(*loaded.program, *facts);
        Runner jit(*loaded.object, *loaded.program, 0, &engine);
        ASSERT_TRUE(jit.set_input(input));
        auto got = jit.run();
        ASSERT_TRUE(expected.result) << expected.result.error().to_string();
        ASSERT_TRUE(got.result) << got.result.error().to_string();
        EXPECT_EQ(got.result->return_value, expected.result->return_value) << length;
    }
}

// A loop whose 32-bit counter is zero-extended with `<<= 32; >>= 32` (as
// 64-bit eBPF code does): the analyzer proves the counter below 2^32, so the
// pair is lowered as nothing and LLVM counts the loop; the same pair on
// len - 1, which may wrap around, is kept.
TEST(Facts, AZeroExtensionOfANumberBelow2To32IsLoweredAsNothing) {
    auto loaded = load("r0 = 0\nr3 = 0\nloop:\nr0 += r3\nr3 += 2\nr5 = r3\nr5 <<= 32\nr5 >>= 32\n"
                       "if r5 != 100 goto loop\nexit\n",
                       ProgramType::SocketFilter);
    auto facts = verify_for_jit(*loaded.object, *loaded.program);
    ASSERT_TRUE(facts) << facts.error();
    auto plain = lowered_ir_text(*loaded.program, {}, 0);
    ASSERT_TRUE(plain) << plain.error();
    EXPECT_NE(plain->find("shl i64"), std::string::npos) << *plain;
    LoweringOptions lowering;
    lowering.facts = &*facts;
    auto proven = lowered_ir_text(*loaded.program, lowering, 0);
    ASSERT_TRUE(proven) << proven.error();
    EXPECT_EQ(proven->find("shl i64"), std::string::npos) << *proven;
    EXPECT_EQ(proven->find("lshr i64"), std::string::npos) << *proven;

    // len - 1 may wrap to 2^64 - 1: its zero extension must stay.
    auto pointer = load("r2 = *(u32 *)(r1 + 0)\nr2 += -1\nr2 <<= 32\nr2 >>= 32\nr0 = r2\nexit\n", ProgramType::SocketFilter);
    auto pointer_facts = verify_for_jit(*pointer.object, *pointer.program);
    ASSERT_TRUE(pointer_facts) << pointer_facts.error();
    LoweringOptions with_facts;
    with_facts.facts = &*pointer_facts;
    auto kept = lowered_ir_text(*pointer.program, with_facts, 0);
    ASSERT_TRUE(kept) << kept.error();
    EXPECT_NE(kept->find("shl i64"), std::string::npos) << *kept;

    for (auto* loaded_program : {&loaded, &pointer}) {
        auto program_facts = verify_for_jit(*loaded_program->object, *loaded_program->program);
        ASSERT_TRUE(program_facts);
        for (size_t length : {14u, 60u}) {
            RunInput input{.packet = std::vector<uint8_t>(length, 0xab)};
            Runner interpreter(*loaded_program->object, *loaded_program->program);
            ASSERT_TRUE(interpreter.set_input(input));
            auto expected = interpreter.run();
            JitEngine engine(compiler());
            engine.set_facts(*loaded_program->program, *program_facts);
            Runner jit(*loaded_program->object, *loaded_program->program, 0, &engine);
            ASSERT_TRUE(jit.set_input(input));
            auto got = jit.run();
            ASSERT_TRUE(expected.result && got.result);
            EXPECT_EQ(got.result->return_value, expected.result->return_value) << length;
        }
    }
}

TEST(Facts, ARejectedProgramHasNoFactsAndTheJitRefusesIt) {
    // The division's pc is reached with a proven non-zero divisor, but the
    // program is rejected later (r5 is never written): its states describe
    // nothing, so no fact may survive.
    auto loaded = load("r0 = 1\nr2 = 3\nr0 /= r2\nr0 = r5\nexit\n", ProgramType::SocketFilter);
    analyzer::AnalysisOptions options;
    options.record_facts = true;
    const auto& object = loaded.object->object();
    auto result = analyzer::analyze_program(object, object.programs.at(0), options);
    EXPECT_FALSE(result.accepted);
    EXPECT_TRUE(result.facts.empty());
    auto facts = verify_for_jit(*loaded.object, *loaded.program);
    ASSERT_FALSE(facts);
    EXPECT_NE(facts.error().find("rejected by the verifier"), std::string::npos) << facts.error();
}

TEST(Facts, AcceptedProgramsWithoutRecordFactsHaveNone) {
    auto loaded = load("r0 = 1\nr2 = 3\nr0 /= r2\nexit\n", ProgramType::SocketFilter);
    const auto& object = loaded.object->object();
    auto result = analyzer::analyze_program(object, object.programs.at(0));
    EXPECT_TRUE(result.accepted);
    EXPECT_TRUE(result.facts.empty());
    EXPECT_TRUE(result.invariants.empty());
}

TEST(Facts, ABoundedLoadGetsRangeMetadata) {
    // A spilled 7 reloaded through another register: the analyzer knows the
    // slot's value, so the load carries !range [7, 8).
    auto loaded = load("r1 = 7\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr0 = *(u64 *)(r2 + 0)\nexit\n",
                       ProgramType::SocketFilter);
    auto facts = verify_for_jit(*loaded.object, *loaded.program);
    ASSERT_TRUE(facts) << facts.error();
    ASSERT_TRUE(facts->contains(5));
    EXPECT_EQ(facts->at(5).registers[0].constant(), std::optional<uint64_t>(7));
    LoweringOptions lowering;
    lowering.facts = &*facts;
    auto text = lowered_ir_text(*loaded.program, lowering, 0);
    ASSERT_TRUE(text) << text.error();
    EXPECT_NE(text->find("!range"), std::string::npos) << *text;
    // At O2 the whole program folds to the constant.
    auto optimised = lowered_ir_text(*loaded.program, lowering, 2);
    ASSERT_TRUE(optimised) << optimised.error();
    EXPECT_NE(optimised->find("ret i64 7"), std::string::npos) << *optimised;
}

}  // namespace
}  // namespace bpfvet::jit::test
