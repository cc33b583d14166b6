// jit/merge_byte_compares.hpp: adjacent byte compares against constants become
// one wide compare, only where that reads the same bytes at the same point;
// and the JIT's lowering of array-map lookups inline. Both checked on IR and
// against the interpreter.
#include "shared_compiler.hpp"
#include "jit/compiler.hpp"
#include "jit/jit_runner.hpp"
#include "jit/merge_byte_compares.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <llvm/AsmParser/Parser.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/SourceMgr.h>
#include <llvm/Support/raw_ostream.h>

#include <cstring>
#include <string>

namespace bpfvet::jit::test {
namespace {

// Runs the pass on the function @f of `ir` (with the x86-64 data layout) and
// returns the module's text afterwards.
std::string after_pass(const std::string& body) {
    llvm::LLVMContext context;
    llvm::SMDiagnostic error;
    std::string text = "target datalayout = \"e-m:e-i64:64-n8:16:32:64-S128\"\n" + body;
    auto module = llvm::parseAssemblyString(text, error, context);
    if (!module) {
        std::string message;
        llvm::raw_string_ostream stream(message);
        error.print("test", stream);
        ADD_FAILURE() << message;
        return {};
    }
    llvm::FunctionAnalysisManager analyses;
    MergeByteComparesPass().run(*module->getFunction("f"), analyses);
    std::string out;
    llvm::raw_string_ostream stream(out);
    module->print(stream, nullptr);
    return out;
}

// Bytes p[0..3] == "abcd" with the eBPF compiler's logical ANDs (selects).
constexpr const char* four_bytes = R"(
define i1 @f(ptr %p) {
  %b0 = load i8, ptr %p
  %c0 = icmp eq i8 %b0, 97
  %a1 = getelementptr i8, ptr %p, i64 1
  %b1 = load i8, ptr %a1
  %c1 = icmp eq i8 %b1, 98
  %a2 = getelementptr i8, ptr %p, i64 2
  %b2 = load i8, ptr %a2
  %c2 = icmp eq i8 %b2, 99
  %a3 = getelementptr i8, ptr %p, i64 3
  %b3 = load i8, ptr %a3
  %c3 = icmp eq i8 %b3, 100
  %x = select i1 %c2, i1 %c1, i1 false
  %y = and i1 %c0, %c3
  %z = select i1 %x, i1 %y, i1 false
  ret i1 %z
}
)";

TEST(MergeByteCompares, FourAdjacentBytesBecomeOneWord) {
    std::string out = after_pass(four_bytes);
    EXPECT_NE(out.find("load i32, ptr %p, align 1"), std::string::npos) << out;
    EXPECT_NE(out.find("icmp eq i32 %merged, 1684234849"), std::string::npos) << out;  // 0x64636261
    EXPECT_EQ(out.find("load i8"), std::string::npos) << out;
}

TEST(MergeByteCompares, AnyMismatchFormMergesToo) {
    std::string text = four_bytes;
    for (auto [from, to] : {std::pair{"icmp eq", "icmp ne"}, std::pair{"select i1 %c2, i1 %c1, i1 false", "select i1 %c2, i1 true, i1 %c1"},
                            std::pair{"and i1", "or i1"}, std::pair{"select i1 %x, i1 %y, i1 false", "select i1 %x, i1 true, i1 %y"}}) {
        for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + 1)) text.replace(at, strlen(from), to);
    }
    std::string out = after_pass(text);
    EXPECT_NE(out.find("icmp ne i32 %merged, 1684234849"), std::string::npos) << out;
}

TEST(MergeByteCompares, AStoreBetweenTheLoadsKeepsThemApart) {
    std::string text = four_bytes;
    text.replace(text.find("  %a2 ="), 0, "  store i8 0, ptr %p\n");
    std::string out = after_pass(text);
    // Bytes 0 and 1 are read before the store: a wide load after it would read
    // what the store wrote. Bytes 2 and 3, read after it, still pair up.
    EXPECT_EQ(out.find("load i32"), std::string::npos) << out;
    EXPECT_NE(out.find("load i8, ptr %p"), std::string::npos) << out;
    EXPECT_NE(out.find("load i16"), std::string::npos) << out;
}

TEST(MergeByteCompares, AGapOrADifferentBaseIsNotMerged) {
    std::string gap = four_bytes;
    gap.replace(gap.find("i64 3"), 5, "i64 4");  // bytes 0, 1, 2, 4: only 0..1 and nothing of 4 bytes
    std::string out = after_pass(gap);
    EXPECT_EQ(out.find("load i32"), std::string::npos) << out;
    EXPECT_NE(out.find("load i16, ptr %p"), std::string::npos) << out;  // bytes 0 and 1 still pair up

    std::string bases = four_bytes;
    bases.replace(bases.find("define i1 @f(ptr %p)"), 20, "define i1 @f(ptr %p, ptr %q)");
    bases.replace(bases.find("ptr %p, i64 2"), 13, "ptr %q, i64 2");
    bases.replace(bases.find("ptr %p, i64 3"), 13, "ptr %q, i64 3");
    out = after_pass(bases);
    EXPECT_EQ(out.find("load i32"), std::string::npos) << out;
}

// --- end to end: the JIT against the interpreter

using namespace runtime;
using runtime::test::assemble_or_die;
using runtime::test::load_or_die;
using runtime::test::make_object;
using runtime::test::map_definition;

// Counts the places where the 8 bytes "evil.com" start in the packet, one
// byte compare at a time (as ../shared/bench/strstr.c compiles).
constexpr std::string_view count_needles = R"(
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r0 = 0
loop:
    r4 = r2
    r4 += 8
    if r4 > r3 goto done
    r5 = 1
    r6 = *(u8 *)(r2 + 0)
    if r6 == 0x65 goto b1
    r5 = 0
b1:
    r6 = *(u8 *)(r2 + 1)
    if r6 == 0x76 goto b2
    r5 = 0
b2:
    r6 = *(u8 *)(r2 + 2)
    if r6 == 0x69 goto b3
    r5 = 0
b3:
    r6 = *(u8 *)(r2 + 3)
    if r6 == 0x6c goto b4
    r5 = 0
b4:
    r6 = *(u8 *)(r2 + 4)
    if r6 == 0x2e goto b5
    r5 = 0
b5:
    r6 = *(u8 *)(r2 + 5)
    if r6 == 0x63 goto b6
    r5 = 0
b6:
    r6 = *(u8 *)(r2 + 6)
    if r6 == 0x6f goto b7
    r5 = 0
b7:
    r6 = *(u8 *)(r2 + 7)
    if r6 == 0x6d goto b8
    r5 = 0
b8:
    r0 += r5
    r2 += 1
    goto loop
done:
    exit
)";

TEST(MergeByteCompares, TheJitCountsWhatTheInterpreterCounts) {
    auto object = load_or_die(make_object(assemble_or_die(count_needles), ir::ProgramType::Xdp));
    auto program = object->program("test");
    ASSERT_TRUE(program) << program.error().to_string();
    auto ir_text = lowered_ir_text(**program, {}, 2);
    ASSERT_TRUE(ir_text) << ir_text.error();
    EXPECT_NE(ir_text->find("icmp eq i64 %merged"), std::string::npos) << *ir_text;

    const std::string needle = "evil.com";
    std::vector<std::vector<uint8_t>> packets;
    std::vector<uint8_t> base(64, 'x');
    packets.push_back(base);
    for (size_t at : {0u, 7u, 56u}) {  // at the start, inside, and ending at the last byte
        auto packet = base;
        std::copy(needle.begin(), needle.end(), packet.begin() + at);
        packets.push_back(packet);
        for (size_t wrong = 0; wrong < needle.size(); ++wrong) {  // each byte wrong once
            auto near = packet;
            near[at + wrong] ^= 0x20;
            packets.push_back(near);
        }
    }
    auto twice = base;
    std::copy(needle.begin(), needle.end(), twice.begin() + 3);
    std::copy(needle.begin(), needle.end(), twice.begin() + 30);
    packets.push_back(twice);
    packets.push_back(std::vector<uint8_t>(needle.begin(), needle.end() - 1));  // one byte short

    JitRunner jit(*object, **program, compiler());
    Runner interpreter(*object, **program);
    for (const auto& packet : packets) {
        ASSERT_TRUE(jit.set_input({.packet = packet, .context = {}, .memory = {}}));
        ASSERT_TRUE(interpreter.set_input({.packet = packet, .context = {}, .memory = {}}));
        auto expected = interpreter.run();
        auto got = jit.run();
        ASSERT_TRUE(expected.result && got.result);
        EXPECT_EQ(got.result->return_value, expected.result->return_value)
            << std::string(packet.begin(), packet.end());
    }
}

// r0 = counters[index] += 1, or 7 when the lookup fails (index out of range).
constexpr std::string_view bump_counter = R"(
    r2 = *(u32 *)(r1 + 0)
    r3 = *(u32 *)(r1 + 4)
    r4 = r2
    r4 += 1
    r0 = 0
    if r4 > r3 goto out
    r6 = *(u8 *)(r2 + 0)
    *(u32 *)(r10 - 4) = r6
    r1 = map[counters] ll
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 == 0 goto missing
    r1 = *(u64 *)(r0 + 0)
    r1 += 1
    *(u64 *)(r0 + 0) = r1
    r0 = r1
    exit
missing:
    r0 = 7
out:
    exit
)";

TEST(InlineArrayLookup, NoHelperCallAndTheSameAnswersAsTheInterpreter) {
    std::vector<ir::MapDefinition> maps{map_definition("counters", ir::MapType::Array, 4, 8, 4)};
    auto object = load_or_die(make_object(assemble_or_die(bump_counter, maps), ir::ProgramType::Xdp, maps));
    auto program = object->program("test");
    ASSERT_TRUE(program) << program.error().to_string();
    auto ir_text = lowered_ir_text(**program, {}, 2);
    ASSERT_TRUE(ir_text) << ir_text.error();
    EXPECT_EQ(ir_text->find("call i64"), std::string::npos) << *ir_text;  // the lookup is inline

    JitRunner jit(*object, **program, compiler());
    for (uint8_t index : {0, 3, 3, 4, 200, 1}) {
        ASSERT_TRUE(jit.set_input({.packet = std::vector<uint8_t>{index}, .context = {}, .memory = {}}));
        auto got = jit.run();
        ASSERT_TRUE(got.result) << got.result.error().to_string();
        if (index >= 4) {
            EXPECT_EQ(got.result->return_value, 7u) << int(index);
            continue;
        }
        uint32_t key = index;
        uint64_t stored = 0;
        ASSERT_EQ(object->find_map("counters")->host_lookup(&key, &stored), 0);
        EXPECT_EQ(got.result->return_value, stored) << int(index);
    }
    uint32_t key = 3;
    uint64_t stored = 0;
    ASSERT_EQ(object->find_map("counters")->host_lookup(&key, &stored), 0);
    EXPECT_EQ(stored, 2u);  // index 3 was bumped twice, in the map the host sees
}

}  // namespace
}  // namespace bpfvet::jit::test
