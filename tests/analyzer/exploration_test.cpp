// The path-by-path exploration (analyzer/explorer.hpp): every reachable
// instruction is analysed (irreducible loops included), pruning never hides a
// path whose values matter, and what the kernel keeps along a path we keep.
#include "check_program.hpp"

#include "analyzer/precision.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace bpfvet::analyzer::test {
namespace {

// --- Irreducible control flow: a loop entered at two places.

TEST(Irreducible, CodeAfterALoopEnteredThroughADeadEdgeIsAnalysed) {
    // The branch at 1 is never taken, so the loop {3, 4} is entered only at 3;
    // its other entry (4) is where a depth-first order would put its head.
    auto bad = check(R"(
        r7 = 256
        if r7 == 5 goto check
        r9 = 0
    body:
        r9 += 1
    check:
        if r9 s< 10 goto body
        r1 = 0
        r0 = *(u64 *)(r1 + 0)
        exit
    )", Xdp);
    EXPECT_TRUE(bad.rejected_with("memory-access")) << bad.codes();
}

TEST(Irreducible, BothEntriesAreFollowed) {
    // Entering at `check` reads r9 before anything wrote it.
    auto bad = check(R"(
        r7 = *(u32 *)(r1 + 0)
        if r7 == 5 goto check
        r9 = 0
    body:
        r9 += 1
    check:
        if r9 s< 10 goto body
        r0 = 2
        exit
    )", Xdp);
    EXPECT_TRUE(bad.rejected_with("uninitialized-register")) << bad.codes();

    auto ok = check(R"(
        r7 = *(u32 *)(r1 + 0)
        r9 = 3
        if r7 == 5 goto check
        r9 = 0
    body:
        r9 += 1
    check:
        if r9 s< 10 goto body
        r0 = 2
        exit
    )", Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(Irreducible, ALongIrreducibleLoopIsWidenedSoundly) {
    // 300 iterations: past the unrolling limit, so widening finishes the loop
    // from the path that reaches its head; the bug after the loop is found.
    const char* shape = R"(
        r7 = *(u32 *)(r1 + 0)
        r9 = 0
        if r7 == 5 goto check
    body:
        r9 += 1
    check:
        if r9 < 300 goto body
        {}
        r0 = 2
        exit
    )";
    auto ok = check(fmt::format(fmt::runtime(shape), "r1 = r10"), Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto bad = check(fmt::format(fmt::runtime(shape), "r1 = 0\n r0 = *(u64 *)(r1 + 0)"), Xdp);
    EXPECT_TRUE(bad.rejected_with("memory-access")) << bad.codes();
}

// --- Pruning: a covered path is dropped only when nothing it holds matters.

TEST(Pruning, AValueUsedAsAnOffsetIsComparedExactly) {
    // Both paths meet at `use` with r2 = 4 or r2 = 120; the second overflows
    // the 8-byte value. Pruning the second path against the first would hide it.
    auto bad = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r2 = 4
        if r6 == 7 goto use
        r2 = 120
    use:
        r0 += r2
        r1 = *(u32 *)(r0 + 0)
    out:
        r0 = 0
        exit
    )", Socket, {map_of("values", 8)});
    EXPECT_TRUE(bad.rejected_with("map-value-out-of-bounds")) << bad.codes();
}

TEST(Pruning, AValueSpilledAndFilledIsFollowedThroughTheStack) {
    auto bad = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r3 = 4
        if r6 == 7 goto spill
        r3 = 120
    spill:
        *(u64 *)(r10 - 16) = r3
        r3 = 0
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r2 = *(u64 *)(r10 - 16)
        r0 += r2
        r1 = *(u32 *)(r0 + 0)
    out:
        r0 = 0
        exit
    )", Socket, {map_of("values", 8)});
    EXPECT_TRUE(bad.rejected_with("map-value-out-of-bounds")) << bad.codes();
}

TEST(Pruning, NumbersWhoseValueNeverMattersDoNotMultiplyPaths) {
    // 24 diamonds, each setting r3 to one of two constants that nothing checks:
    // 2^24 paths, but each diamond's join prunes the second path.
    std::string text = "r6 = *(u32 *)(r1 + 0)\n r3 = 0\n";
    for (int i = 0; i < 24; ++i)
        text += fmt::format("r3 = {}\n if r6 == {} goto d{}\n r3 = {}\n d{}:\n r2 = r3\n", i, i, i, i + 100, i);
    text += "r0 = 0\n exit\n";
    auto ok = check(text, Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_LT(ok.result.steps, 2000u);
    EXPECT_GT(ok.result.pruned_paths, 10u);
}

TEST(Pruning, ABufferOverwrittenBeforeItIsReadDoesNotKeepPathsApart) {
    // The paths differ only in stack bytes that are written again before any read.
    std::string text = "r6 = *(u32 *)(r1 + 0)\n";
    for (int i = 0; i < 20; ++i)
        text += fmt::format("r3 = {}\n if r6 == {} goto d{}\n *(u64 *)(r10 - 8) = r3\n d{}:\n r4 = 1\n", i, i, i, i);
    text += "*(u64 *)(r10 - 8) = r4\n r0 = *(u64 *)(r10 - 8)\n r0 = 0\n exit\n";
    auto ok = check(text, Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_LT(ok.result.steps, 2000u);
}

TEST(Pruning, ALoopThatComesBackInTheSameStateIsUnbounded) {
    auto bad = check(R"(
        r1 = 0
    spin:
        r2 = 1
        if r1 == 0 goto spin
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("unbounded-loop")) << bad.codes();
}

// 30 diamonds whose outcome each feeds the final offset: every path's value
// matters, so nothing prunes, and 2^30 paths exceed a million instructions.
std::string thirty_diamonds() {
    std::string text = "r6 = *(u32 *)(r1 + 0)\n r7 = 0\n";
    for (int i = 0; i < 30; ++i)
        text += fmt::format("r8 = r6\n r8 >>= {}\n r8 &= 1\n if r8 == 0 goto d{}\n r7 += {}\n d{}:\n", i, i,
                            uint64_t(1) << (i % 20), i);
    text += "r7 &= 3\n r1 = r10\n r1 += -8\n r1 += r7\n r0 = 0\n *(u8 *)(r1 + 0) = r0\n exit\n";
    return text;
}

TEST(Pruning, TooManyPathsRunIntoTheKernelsLimit) {
    const std::string text = thirty_diamonds();
    auto bad = check(text, Socket);
    EXPECT_TRUE(bad.rejected_with("budget-exceeded")) << bad.codes();
    EXPECT_NE(bad.result.errors.front().message.find("kernel's limit"), std::string::npos) << bad.codes();
    // It names the branches that split the paths (the diamonds' tests: every 5th instruction from 5).
    const std::string& message = bad.result.errors.front().message;
    auto at = message.find("the paths split most at instruction ");
    ASSERT_NE(at, std::string::npos) << message;
    const int pc = std::stoi(message.substr(at + std::string("the paths split most at instruction ").size()));
    EXPECT_EQ((pc - 5) % 5, 0) << message;
}

TEST(Pruning, TheWallClockIsASafetyNetThatSaysSo) {
    // The same program under a wall-clock budget that has run out at once: the
    // verdict now depends on the machine, and the message says so instead of
    // naming the kernel's limit.
    const std::string text = thirty_diamonds();
    AnalysisOptions options;
    options.max_seconds = 1e-9;
    auto timed_out = check(text, Socket, {}, options);
    EXPECT_TRUE(timed_out.rejected_with("budget-exceeded")) << timed_out.codes();
    const std::string& message = timed_out.result.errors.front().message;
    EXPECT_NE(message.find("wall-clock safety net"), std::string::npos) << message;
    EXPECT_EQ(message.find("kernel's limit"), std::string::npos) << message;
}

// --- What the kernel keeps along a path.

TEST(LinkedScalars, A32BitCopyWithAConstantDeltaBoundsItsSource) {
    // w7 = w4 - 54 and w7 <= 10 bound w4 to [54, 64]: the kernel links them (6.11 on).
    auto ok = check(R"(
        r4 = *(u32 *)(r1 + 0)
        if r4 < 54 goto out
        w7 = w4
        w7 -= 54
        if w7 > 10 goto out
        r4 -= 54
        r2 = r10
        r2 += -16
        r2 += r4
        r0 = 0
        *(u8 *)(r2 + 0) = r0
    out:
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();

    // Two constant additions end the link (one per link, as the kernel allows).
    auto bad = check(R"(
        r4 = *(u32 *)(r1 + 0)
        if r4 < 54 goto out
        w7 = w4
        w7 -= 50
        w7 -= 4
        if w7 > 10 goto out
        r4 -= 54
        r2 = r10
        r2 += -16
        r2 += r4
        r0 = 0
        *(u8 *)(r2 + 0) = r0
    out:
        r0 = 0
        exit
    )", Socket);
    EXPECT_FALSE(bad.result.accepted);
}

TEST(PacketEnd, APointerKnownPastTheEndDecidesTheSameTestAgain) {
    // After `r3 > end` was taken, the same test again is taken: the read on
    // its fall-through side is unreachable (the kernel's BEYOND_PKT_END).
    auto ok = check(R"(
        r2 = *(u32 *)(r1 + 0)
        r4 = *(u32 *)(r1 + 4)
        r3 = r2
        r3 += 40
        if r3 > r4 goto past
        r0 = 2
        exit
    past:
        if r3 > r4 goto out
        r0 = *(u64 *)(r2 + 32)
    out:
        r0 = 2
        exit
    )", Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(PacketEnd, AStrictComparisonProvesOneByteMore) {
    // p < end proves p + 1 <= end: 9 bytes from data, so a byte at data + 8.
    auto ok = check(R"(
        r2 = *(u32 *)(r1 + 0)
        r4 = *(u32 *)(r1 + 4)
        r3 = r2
        r3 += 8
        if r3 >= r4 goto out
        r0 = *(u8 *)(r2 + 8)
    out:
        r0 = 2
        exit
    )", Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto bad = check(R"(
        r2 = *(u32 *)(r1 + 0)
        r4 = *(u32 *)(r1 + 4)
        r3 = r2
        r3 += 8
        if r3 > r4 goto out
        r0 = *(u8 *)(r2 + 8)
    out:
        r0 = 2
        exit
    )", Xdp);
    EXPECT_TRUE(bad.rejected_with("packet-out-of-bounds")) << bad.codes();
}

TEST(PointerArithmetic, A32BitSubtractionWithAPointerGivesANumber) {
    // Privileged loaders: any 32-bit subtraction involving a pointer is an unknown number.
    auto ok = check(R"(
        r3 = *(u32 *)(r1 + 0)
        w2 = 100
        w2 -= w3
        r0 = 0
        exit
    )", Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto bad = check(R"(
        r3 = *(u32 *)(r1 + 0)
        w2 = 100
        w2 += w3
        r0 = 0
        exit
    )", Xdp);
    EXPECT_TRUE(bad.rejected_with("pointer-arithmetic")) << bad.codes();
}

// The kernel's count of processed instructions, worked by hand from its rules:
// every instruction of every explored path counts; a state is stored at a
// prune point only after 2 jumps and 8 instructions since the last one.
TEST(Complexity, StatesAreCountedTheKernelsWay) {
    auto ok = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r0 = 0
        if r6 == 1 goto a
        r0 = 1
    a:
        if r6 == 2 goto b
        r0 = 2
    b:
        r0 &= 1
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_GT(ok.result.steps, 8u);
    EXPECT_GE(ok.result.peak_states, 1u);
    EXPECT_GE(ok.result.total_states, ok.result.peak_states);
    // Path 1 (both fallthroughs) runs 0..7: 8. No state is stored (too few
    // instructions since the start), so the pushed branches run to the end:
    // from b (6, 7): 2; from a, where r6 == 1 decides pc 4: 4, 5, 6, 7: 4.
    EXPECT_EQ(ok.result.processed_instructions, 14u);
}

TEST(Complexity, AStraightLineIsProcessedOnce) {
    auto straight = check("r0 = 0\n r1 = 1\n r2 = 2\n r0 += r1\n exit\n", Socket);
    ASSERT_TRUE(straight.result.accepted) << straight.codes();
    EXPECT_EQ(straight.result.processed_instructions, 5u);
}

// The kernel keeps a narrow stack store as a number only where it spills it
// (an 8-byte-aligned slot, or the constant 0); elsewhere the bytes are merely
// initialized and read back unknown.
TEST(NarrowSpills, AnUnalignedNarrowStoreReadsBackUnknown) {
    // cgroup/sock programs return 0 or 1: whether the stored 1 is read back decides.
    const auto returning_from = [](const char* offset) {
        std::string text = R"(
            r1 = 1
            *(u32 *)(r10 OFFSET) = r1
            r0 = *(u32 *)(r10 OFFSET)
            exit
        )";
        for (size_t at; (at = text.find("OFFSET")) != std::string::npos;) text.replace(at, 6, offset);
        return check(text, ir::ProgramType::CgroupSock);
    };
    auto aligned = returning_from("- 8");
    EXPECT_TRUE(aligned.result.accepted) << aligned.codes();
    auto unaligned = returning_from("- 12");
    EXPECT_TRUE(unaligned.rejected_with("return-value")) << unaligned.codes();
}

// --- Backtracking one instruction (analyzer/precision.hpp).

ir::Instruction assembled(const char* text) {
    auto program = ir::assemble_program(text, {});
    EXPECT_TRUE(program.has_value());
    return program->instructions.front();
}

TEST(Precision, BacktrackingFollowsDataFlow) {
    using detail::Marks;
    using detail::Segment;
    using detail::Step;
    Segment segment;
    Step step;
    Marks needed;
    needed.add_register(0, 1);
    ASSERT_TRUE(detail::backtrack(assembled("r1 += r2"), step, segment, needed));
    EXPECT_TRUE(needed.has_register(0, 1));
    EXPECT_TRUE(needed.has_register(0, 2));
    ASSERT_TRUE(detail::backtrack(assembled("r1 = 5"), step, segment, needed));
    EXPECT_FALSE(needed.has_register(0, 1));
    // A fill: the slot is needed instead.
    Step fill = step;
    fill.stack_frame = 0;
    fill.stack_offset = -8;
    ASSERT_TRUE(detail::backtrack(assembled("r2 = *(u64 *)(r10 - 8)"), fill, segment, needed));
    EXPECT_FALSE(needed.has_register(0, 2));
    EXPECT_EQ(needed.frames[0].slots, Marks::slots_of(-8, 8));
    // The spill that filled it: the register stored.
    ASSERT_TRUE(detail::backtrack(assembled("*(u64 *)(r10 - 8) = r3"), fill, segment, needed));
    EXPECT_EQ(needed.frames[0].slots, 0u);
    EXPECT_TRUE(needed.has_register(0, 3));
    // A helper call defines r0..r5.
    needed.add_register(0, 0);
    ASSERT_TRUE(detail::backtrack(assembled("call 1"), step, segment, needed));
    EXPECT_FALSE(needed.has_register(0, 0));
    // Opaque steps stop backtracking.
    Step opaque = step;
    opaque.opaque = true;
    EXPECT_FALSE(detail::backtrack(assembled("r1 = 5"), opaque, segment, needed));
}

TEST(Precision, SlotsOfByteRanges) {
    using detail::Marks;
    EXPECT_EQ(Marks::slots_of(-8, 8), 1u);
    EXPECT_EQ(Marks::slots_of(-12, 8), 3u);  // [-12, -4): slots 0 and 1
    EXPECT_EQ(Marks::slots_of(-16, 4), 2u);
    EXPECT_EQ(Marks::slots_of(-512, 8), uint64_t(1) << 63);
    EXPECT_EQ(Marks::slots_of(-4, 0), 0u);
}

TEST(Precision, SlotsOfMatchesByteByByteDefinitionExhaustively) {
    using detail::Marks;
    // Every byte of the range inside the stack ([-512, 0)) sets its slot.
    for (int64_t offset = -530; offset <= 8; ++offset)
        for (int64_t size = -1; size <= 24; ++size) {
            uint64_t expected = 0;
            for (int64_t byte = offset; byte < offset + size; ++byte)
                if (byte >= -512 && byte < 0) expected |= uint64_t(1) << ((-byte - 1) / 8);
            ASSERT_EQ(Marks::slots_of(offset, size), expected) << "offset " << offset << " size " << size;
        }
}

}  // namespace
}  // namespace bpfvet::analyzer::test
