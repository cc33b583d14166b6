// The analyzer on small assembled programs: each relation it must keep, and
// one rejection per error kind that does not need a compiled object.
#include "check_program.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace bpfvet::analyzer {
namespace {

using namespace test;

// --- relations the real programs need

TEST(PacketRange, ComparisonWithDataEndProvesBytesOnTheOtherBranch) {
    const char* program = R"(
        r2 = *(u32 *)(r1 + 0)
        r3 = *(u32 *)(r1 + 4)
        r4 = r2
        r4 += 14
        if r4 > r3 goto drop
        r0 = *(u8 *)(r2 + 13)
        exit
    drop:
        r0 = 1
        exit
    )";
    auto ok = check(program, Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(PacketRange, ReadOnePastTheProvenRangeIsRejected) {
    auto bad = check(R"(
        r2 = *(u32 *)(r1 + 0)
        r3 = *(u32 *)(r1 + 4)
        r4 = r2
        r4 += 14
        if r4 > r3 goto drop
        r0 = *(u8 *)(r2 + 14)
        exit
    drop:
        r0 = 1
        exit
    )", Xdp);
    EXPECT_TRUE(bad.rejected_with("packet-out-of-bounds")) << bad.codes();
}

TEST(PacketRange, CarriedToCopiesAndVariableOffsets) {
    // r5 is a copy made before the check; r6 = data + x (variable) is checked on its own.
    auto ok = check(R"(
        r2 = *(u32 *)(r1 + 0)
        r3 = *(u32 *)(r1 + 4)
        r5 = r2
        r4 = r2
        r4 += 20
        if r4 > r3 goto drop
        r0 = *(u32 *)(r5 + 16)
        r7 = *(u8 *)(r2 + 0)
        r7 &= 15
        r6 = r2
        r6 += r7
        r8 = r6
        r8 += 4
        if r8 > r3 goto drop
        r0 = *(u32 *)(r6 + 0)
        exit
    drop:
        r0 = 1
        exit
    )", Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

// A packet pointer that reaches a join at different places (data + 14 on one
// path, data + 18 on the other) keeps the bytes a later check proves at it:
// the join measures it from a base of its own, not from the packet start.
constexpr const char* pointer_at_two_places = R"(
        r6 = r1
        call bpf_get_prandom_u32
        r2 = *(u32 *)(r6 + 0)
        r3 = *(u32 *)(r6 + 4)
        r4 = r2
        r4 += 14
        if r0 == 0 goto joined
        r4 += 4
    joined:
        r5 = r4
        r5 += 4
        if r5 > r3 goto drop
        r0 = *(u{} *)(r4 + 0)
        exit
    drop:
        r0 = 1
        exit
)";

TEST(PacketRange, PointerJoinedFromTwoPlacesKeepsTheRangeProvenAtIt) {
    AnalysisOptions joined;  // one state per instruction: the two paths are joined
    joined.max_disjuncts = 1;
    auto ok = check(fmt::format(fmt::runtime(pointer_at_two_places), 32), Xdp, {}, joined);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto bad = check(fmt::format(fmt::runtime(pointer_at_two_places), 64), Xdp, {}, joined);
    EXPECT_TRUE(bad.rejected_with("packet-out-of-bounds")) << bad.codes();
}

// ../shared/bench/checksum.c as clang-19 compiles it: the loop moves p two
// bytes per pass (past the unrolling limit: widened), and after it one more
// byte is read at p once `p + 1 <= data_end` is proven. p reaches that check
// from the loop's break (base of pc 5) and from its end (base of pc 17).
constexpr const char* checksum_loop = R"(
        r3 = 0
        r2 = *(u32 *)(r1 + 4)
        r4 = *(u32 *)(r1 + 0)
        r1 = 0
    loop:
        r5 = r4
        r5 += r3
        r0 = r5
        r0 += 2
        if r0 > r2 goto tail
        r5 = *(u16 *)(r5 + 0)
        r1 += r5
        r3 += 2
        r5 = r3
        r5 <<= 32
        r5 >>= 32
        if r5 == 1500 goto done
        goto loop
    done:
        r4 += r3
        r5 = r4
    tail:
        r3 = r5
        r3 += 1
        if r3 > r2 goto out
        r2 = *(u{} *)(r5 + 0)
        r1 += r2
    out:
        r0 = r1
        r0 &= 0xffff
        exit
)";

TEST(PacketRange, ChecksumLoopReadsTheLastByteItProved) {
    auto ok = check(fmt::format(fmt::runtime(checksum_loop), 8), Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto bad = check(fmt::format(fmt::runtime(checksum_loop), 16), Xdp);
    EXPECT_TRUE(bad.rejected_with("packet-out-of-bounds")) << bad.codes();
}

TEST(NullCheck, CarriedToEveryCopyOfTheLookupResult) {
    const char* text = R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        r6 = r0
        if r0 == 0 goto out
        r0 = *(u64 *)(r6 + 0)
        exit
    out:
        r0 = 0
        exit
    )";
    auto ok = check(text, Socket, {map_of("values", 8)});
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(NullCheck, DereferenceWithoutCheckIsRejected) {
    auto bad = check(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        r0 = *(u64 *)(r0 + 0)
        exit
    )", Socket, {map_of("values", 8, ir::MapType::Hash)});
    EXPECT_TRUE(bad.rejected_with("null-dereference")) << bad.codes();
}

// The kernel learns null-ness only from a comparison with the immediate 0
// (verifier_jeq_infer_not_null.o's unchanged_for_jne_true_branch): a register
// holding 0 proves nothing.
TEST(NullCheck, OnlyTheImmediateZeroDecides) {
    constexpr std::string_view text = R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        r2 = 0
        {}
        r0 = *(u64 *)(r0 + 0)
    out:
        r0 = 0
        exit
    )";
    auto values = std::vector{map_of("values", 8, ir::MapType::Hash)};
    auto immediate = check(fmt::format(fmt::runtime(text), "if r0 == 0 goto out"), Socket, values);
    EXPECT_TRUE(immediate.result.accepted) << immediate.codes();
    auto in_register = check(fmt::format(fmt::runtime(text), "if r0 == r2 goto out"), Socket, values);
    EXPECT_TRUE(in_register.rejected_with("null-dereference")) << in_register.codes();
}

// Since Linux 6.13 an array lookup with a constant key below max_entries
// cannot fail (can_elide_value_nullness); any other key still can.
TEST(NullCheck, ArrayLookupWithAConstantKeyInRangeNeedsNoCheck) {
    auto lookup = [](int key, uint32_t entries) {
        auto map = map_of("values", 8);
        map.max_entries = entries;
        return check(fmt::format(R"(
            r1 = {}
            *(u32 *)(r10 - 8) = r1
            r2 = r10
            r2 += -8
            r1 = map[values] ll
            call bpf_map_lookup_elem
            r0 = *(u64 *)(r0 + 0)
            exit
        )", key), Socket, {map});
    };
    EXPECT_TRUE(lookup(3, 4).result.accepted) << lookup(3, 4).codes();
    EXPECT_TRUE(lookup(4, 4).rejected_with("null-dereference")) << lookup(4, 4).codes();
    auto unknown_key = check(R"(
        r1 = *(u32 *)(r1 + 0)
        *(u32 *)(r10 - 8) = r1
        r2 = r10
        r2 += -8
        r1 = map[values] ll
        call bpf_map_lookup_elem
        r0 = *(u64 *)(r0 + 0)
        exit
    )", Socket, {map_of("values", 8)});
    EXPECT_TRUE(unknown_key.rejected_with("null-dereference")) << unknown_key.codes();
}

TEST(RegisterEquality, BoundLearnedOnACopyHoldsForTheOriginal) {
    auto ok = check(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r6 = *(u32 *)(r0 + 0)
        r7 = r6
        if r7 > 12 goto out
        r0 += r6
        r0 = *(u32 *)(r0 + 0)
        exit
    out:
        r0 = 0
        exit
    )", Socket, {map_of("values", 16)});
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(RegisterEquality, BoundLearnedOnARegisterHoldsForItsSpill) {
    auto ok = check(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r6 = *(u32 *)(r0 + 0)
        *(u64 *)(r10 - 16) = r6
        if r6 > 12 goto out
        r7 = *(u64 *)(r10 - 16)
        r0 += r7
        r0 = *(u32 *)(r0 + 0)
        exit
    out:
        r0 = 0
        exit
    )", Socket, {map_of("values", 16)});
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(Stack, SpilledPointerKeepsItsType) {
    auto ok = check(R"(
        *(u64 *)(r10 - 8) = r1
        r1 = 0
        r1 = *(u64 *)(r10 - 8)
        r0 = *(u32 *)(r1 + 0)
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(Stack, PartlyOverwrittenSpillIsNoLongerAPointer) {
    auto bad = check(R"(
        *(u64 *)(r10 - 8) = r1
        r2 = 0
        *(u32 *)(r10 - 8) = r2
        r1 = *(u64 *)(r10 - 8)
        r0 = *(u32 *)(r1 + 0)
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("memory-access")) << bad.codes();
}

TEST(Stack, UninitializedReadAndOutOfBounds) {
    // Root may read uninitialized stack (an unknown number), as the kernel allows.
    AnalysisOptions unprivileged;
    unprivileged.unprivileged = true;
    EXPECT_TRUE(check("r0 = *(u64 *)(r10 - 8)\nexit", Socket, {}, unprivileged).rejected_with("uninitialized-stack"));
    EXPECT_TRUE(check("r0 = *(u64 *)(r10 - 8)\nexit", Socket).result.accepted);
    EXPECT_TRUE(check("*(u64 *)(r10 - 520) = r1\nr0 = 0\nexit", Socket).rejected_with("stack-out-of-bounds"));
    EXPECT_TRUE(check("*(u64 *)(r10 + 0) = r1\nr0 = 0\nexit", Socket).rejected_with("stack-out-of-bounds"));
}

TEST(Registers, UninitializedRead) {
    EXPECT_TRUE(check("r0 = r2\nexit", Socket).rejected_with("uninitialized-register"));
    EXPECT_TRUE(check("exit", Socket).rejected_with("uninitialized-register"));
}

// --- loops

TEST(Loops, BoundedLoopIsUnrolledToItsExit) {
    auto ok = check(R"(
        r0 = 0
        r1 = 0
    loop:
        r0 += 3
        r1 += 1
        if r1 < 100 goto loop
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(Loops, LoopThatRepeatsItsStateIsUnbounded) {
    auto bad = check(R"(
        r1 = 1
    loop:
        r0 = 0
        if r1 == 1 goto loop
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("unbounded-loop")) << bad.codes();
}

TEST(Loops, LoopWithUnknownBoundRunsOutOfBudget) {
    AnalysisOptions options;
    options.max_steps = 20000;
    auto bad = check(R"(
        r1 = *(u32 *)(r1 + 0)
    loop:
        r1 += -1
        if r1 != 0 goto loop
        r0 = 0
        exit
    )", Socket, {}, options);
    EXPECT_FALSE(bad.result.accepted);
    ASSERT_FALSE(bad.result.errors.empty());
    EXPECT_EQ(bad.result.errors.front().code_name(), "unbounded-loop") << bad.codes();
}

// --- calls

TEST(Calls, LocalFunctionSeesTheCallersStack) {
    auto ok = check(R"(
    main:
        r1 = 7
        *(u64 *)(r10 - 8) = r1
        r1 = r10
        r1 += -8
        call sub
        exit
    sub:
        r0 = *(u64 *)(r1 + 0)
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(Calls, CodeAfterALocalCallIsAnalysed) {
    // The callee returns; the caller then dereferences a number. The
    // continuation after the call must be analysed (it once was dropped).
    auto bad = check(R"(
    main:
        call sub
        r0 = *(u64 *)(r0 + 0)
        exit
    sub:
        r0 = 5
        exit
    )", Socket);
    EXPECT_FALSE(bad.result.accepted);
    // Nested calls: the error sits after the inner call's return in the middle function.
    auto nested = check(R"(
    main:
        call middle
        r0 = 0
        exit
    middle:
        call leaf
        r1 = *(u32 *)(r10 + 8)
        r0 = 0
        exit
    leaf:
        r0 = 1
        exit
    )", Socket);
    EXPECT_FALSE(nested.result.accepted);
}

// bpf_loop: the callback is analysed as if run any number of times, with the
// caller's stack reachable through ctx. The caller: fp-8 = 0, bpf_loop(10,
// cb, fp - 8, 0), r0 = fp-8; `callback` is cb's body.
std::string loop_over_stack(std::string_view callback) {
    return fmt::format(R"(
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 10
        r2 = func[cb] ll
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop
        r0 = *(u64 *)(r10 - 8)
        exit
    cb:
{}
)",
                       callback);
}

TEST(Calls, BpfLoopCallbackIsAnalysedForEveryNumberOfRuns) {
    constexpr std::string_view add_index = R"(
        r3 = *(u64 *)(r2 + 0)
        r3 += r1
        *(u64 *)(r2 + 0) = r3
        r0 = {}
        exit)";
    auto ok = check(loop_over_stack(fmt::format(fmt::runtime(add_index), 0)), Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    AnalysisOptions unprivileged;  // bpf_loop is offered only to loaders with CAP_BPF
    unprivileged.unprivileged = true;
    auto refused = check(loop_over_stack(fmt::format(fmt::runtime(add_index), 0)), Socket, {}, unprivileged);
    EXPECT_TRUE(refused.rejected_with("helper-not-allowed")) << refused.codes();
    auto bad_return = check(loop_over_stack(fmt::format(fmt::runtime(add_index), 2)), Socket);
    EXPECT_TRUE(bad_return.rejected_with("return-value")) << bad_return.codes();

    // The callback reads 8 bytes past ctx: outside the caller's frame.
    auto out_of_frame = check(loop_over_stack(R"(
        r0 = *(u64 *)(r2 + 8)
        r0 = 0
        exit)"), Socket);
    EXPECT_TRUE(out_of_frame.rejected_with("stack-out-of-bounds")) << out_of_frame.codes();

    // Only after the first run is the ctx slot a pointer the callback may
    // follow: the analysis must see the second run too.
    auto second_run = check(loop_over_stack(R"(
        r3 = *(u64 *)(r2 + 0)
        if r3 == 0 goto first
        r0 = *(u8 *)(r3 + 0)
        r0 = 0
        exit
    first:
        r3 = 12345
        *(u64 *)(r2 + 0) = r3
        r0 = 0
        exit)"), Socket);
    EXPECT_TRUE(second_run.rejected_with("memory-access")) << second_run.codes();

    auto not_a_function = check(R"(
        r1 = 10
        r2 = 0
        r3 = 0
        r4 = 0
        call bpf_loop
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(not_a_function.rejected_with("helper-argument")) << not_a_function.codes();
}

TEST(Calls, HelperRules) {
    EXPECT_TRUE(check("call 9999\nr0 = 0\nexit", Socket).rejected_with("unknown-helper"));
    EXPECT_TRUE(check("call bpf_xdp_adjust_head\nr0 = 0\nexit", Socket).rejected_with("helper-not-allowed"));
    auto bad_key = check(R"(
        r2 = 0
        r1 = map[values] ll
        call bpf_map_lookup_elem
        r0 = 0
        exit
    )", Socket, {map_of("values", 8)});
    EXPECT_TRUE(bad_key.rejected_with("helper-argument")) << bad_key.codes();
    auto bad_tail_call = check(R"(
        r2 = map[values] ll
        r3 = 0
        call bpf_tail_call
        r0 = 0
        exit
    )", Socket, {map_of("values", 8)});
    EXPECT_TRUE(bad_tail_call.rejected_with("tail-call")) << bad_tail_call.codes();
}

// --- other rules

TEST(Rules, PointerArithmeticAndComparisons) {
    EXPECT_TRUE(check("r1 += r10\nr0 = 0\nexit", Socket).rejected_with("pointer-arithmetic"));
    EXPECT_TRUE(check("r1 *= 2\nr0 = 0\nexit", Socket).rejected_with("pointer-arithmetic"));
    EXPECT_TRUE(check("r2 = map[values] ll\nr2 += 8\nr0 = 0\nexit", Socket, {map_of("values", 8)})
                    .rejected_with("pointer-arithmetic"));
    AnalysisOptions unprivileged;
    unprivileged.unprivileged = true;
    EXPECT_TRUE(check("r0 = 0\nif r1 > r10 goto out\nout:\nexit", Socket, {}, unprivileged)
                    .rejected_with("pointer-comparison"));
    EXPECT_TRUE(check("r0 = 0\nif r1 > r10 goto out\nout:\nexit", Socket).result.accepted);
}

TEST(Rules, PointerLeakOnlyForUnprivilegedLoaders) {
    AnalysisOptions unprivileged;
    unprivileged.unprivileged = true;
    EXPECT_TRUE(check("r0 = r1\nexit", Socket, {}, unprivileged).rejected_with("pointer-leak"));
    EXPECT_TRUE(check("r0 = r1\nexit", Socket).result.accepted);
}

// build/exposeptr.o's shape: the context pointer spilled to the stack and
// handed to map_update_elem as the value would store a kernel address in a map.
TEST(Rules, SpilledPointerPassedToAHelperLeaksForUnprivilegedLoaders) {
    const char* program = R"(
        *(u64 *)(r10 - 8) = r1
        r1 = 0
        *(u32 *)(r10 - 12) = r1
        r2 = r10
        r2 += -12
        r3 = r10
        r3 += -8
        r1 = map[values] ll
        r4 = 0
        call bpf_map_update_elem
        r0 = 0
        exit
    )";
    AnalysisOptions unprivileged;
    unprivileged.unprivileged = true;
    auto leaked = check(program, Socket, {map_of("values", 8)}, unprivileged);
    EXPECT_TRUE(leaked.rejected_with("pointer-leak")) << leaked.codes();
    EXPECT_TRUE(check(program, Socket, {map_of("values", 8)}).result.accepted);
}

TEST(Rules, ContextAccessReturnValueReadOnlyAndUnreachable) {
    EXPECT_TRUE(check("r0 = *(u32 *)(r1 + 76)\nexit", Socket).rejected_with("context-access"));
    EXPECT_TRUE(check("r1 += 8\nr0 = *(u32 *)(r1 + 0)\nexit", Socket).rejected_with("context-access"));
    EXPECT_TRUE(check("r0 = 5\nexit", ir::ProgramType::CgroupSkb).rejected_with("return-value"));
    EXPECT_TRUE(check("r0 = 1\nexit", ir::ProgramType::CgroupSkb).result.accepted);
    auto rodata = map_of(".rodata", 8);
    rodata.is_global_data = true;
    rodata.read_only = true;
    rodata.initial_value = {1, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_TRUE(check("r1 = map_value[.rodata] + 0 ll\nr2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit", Socket, {rodata})
                    .rejected_with("read-only-write"));
    // .rodata is frozen: its bytes are known constants.
    auto constant = check("r1 = map_value[.rodata] + 0 ll\nr0 = *(u32 *)(r1 + 0)\nexit", ir::ProgramType::CgroupSkb, {rodata});
    EXPECT_TRUE(constant.result.accepted) << constant.codes();
    EXPECT_TRUE(check("r0 = 0\nexit\nr0 = 1\nexit", Socket).rejected_with("unreachable-instruction"));
}

TEST(Rules, MapValueBounds) {
    const char* text = R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r0 = *(u64 *)(r0 + 4)
    out:
        r0 = 0
        exit
    )";
    EXPECT_TRUE(check(text, Socket, {map_of("values", 12)}).result.accepted);
    EXPECT_TRUE(check(text, Socket, {map_of("values", 8)}).rejected_with("map-value-out-of-bounds"));
}

}  // namespace
}  // namespace bpfvet::analyzer
