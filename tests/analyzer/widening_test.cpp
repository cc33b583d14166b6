// Loops past the unrolling limit: widening to an invariant, the termination
// proof from a variable that moves one way and is bounded at the loop head,
// the kernel's budget charged for the iterations not unrolled, and the
// fallback to unrolling when the widened state is too coarse. Also the
// references a program must give back (sockets, ring buffer records).
#include "check_program.hpp"

#include <gtest/gtest.h>

#include <string>

namespace bpfvet::analyzer {
namespace {

using namespace test;

// r6 = a map value of `values` (or exit with 0).
constexpr const char* lookup_values = R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r6 = r0
)";

TEST(Widening, LongLoopIsProvenWithoutUnrollingEveryIteration) {
    auto ok = check(R"(
        r0 = 0
        r1 = 0
    loop:
        r0 += 3
        r1 += 1
        if r1 < 100000 goto loop
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    // 64 exact passes, the search and the checking pass: a few hundred steps,
    // where unrolling took 300,000.
    EXPECT_LT(ok.result.steps, 2000u);
}

TEST(Widening, UnrollingEverythingGivesTheSameVerdictAtAHigherCost) {
    AnalysisOptions options;
    options.max_unrolled_passes = 1'000'000;
    auto ok = check(R"(
        r0 = 0
        r1 = 0
    loop:
        r0 += 3
        r1 += 1
        if r1 < 100000 goto loop
        exit
    )", Socket, {}, options);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_GT(ok.result.steps, 300000u);
}

TEST(Widening, IterationsNotUnrolledStillCountAgainstTheKernelBudget) {
    // 400,000 iterations of 3 instructions: the kernel would explore 1.2M.
    auto bad = check(R"(
        r0 = 0
        r1 = 0
    loop:
        r0 += 3
        r1 += 1
        if r1 < 400000 goto loop
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("budget-exceeded")) << bad.codes();
}

TEST(Widening, CountingDownIsBoundedToo) {
    auto ok = check(R"(
        r1 = 50000
    loop:
        r1 += -1
        if r1 != 0 goto loop
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_LT(ok.result.steps, 2000u);
}

TEST(Widening, IndexBoundedByTheLoopTestStaysInsideTheMapValue) {
    auto ok = check(std::string(lookup_values) + R"(
        r1 = 0
    loop:
        r2 = r1
        r2 <<= 3
        r3 = r6
        r3 += r2
        r0 = *(u64 *)(r3 + 0)
        r1 += 1
        if r1 < 1000 goto loop
    out:
        r0 = 0
        exit
    )", Xdp, {map_of("values", 8000)});
    EXPECT_TRUE(ok.rejected_with("") || ok.result.accepted) << ok.codes();
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_LT(ok.result.steps, 5000u);
}

TEST(Widening, AnOutOfBoundsIterationIsStillFound) {
    // The 500th iteration reads past the 4000-byte value: the widened state
    // fails its check, unrolling takes over and reports the real access.
    auto bad = check(std::string(lookup_values) + R"(
        r1 = 0
    loop:
        r2 = r1
        r2 <<= 3
        r3 = r6
        r3 += r2
        r0 = *(u64 *)(r3 + 0)
        r1 += 1
        if r1 < 1000 goto loop
    out:
        r0 = 0
        exit
    )", Xdp, {map_of("values", 4000)});
    EXPECT_TRUE(bad.rejected_with("map-value-out-of-bounds")) << bad.codes();
}

TEST(Widening, BoundReadFromAMapAndClampedIsAccepted) {
    auto ok = check(std::string(lookup_values) + R"(
        r7 = *(u32 *)(r6 + 0)
        if r7 <= 5000 goto clamped
        r7 = 5000
    clamped:
        r1 = 0
        r0 = 0
    loop:
        if r1 >= r7 goto out
        r0 += 1
        r1 += 1
        goto loop
    out:
        r0 = 0
        exit
    )", Xdp, {map_of("values", 8)});
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_LT(ok.result.steps, 5000u);
}

TEST(Widening, BoundReadFromAMapWithoutClampIsRejectedNamingTheCounter) {
    auto bad = check(std::string(lookup_values) + R"(
        r7 = *(u32 *)(r6 + 0)
        r1 = 0
        r0 = 0
    loop:
        if r1 >= r7 goto out
        r0 += 1
        r1 += 1
        goto loop
    out:
        r0 = 0
        exit
    )", Xdp, {map_of("values", 8)});
    ASSERT_TRUE(bad.rejected_with("unbounded-loop")) << bad.codes();
    EXPECT_NE(bad.result.errors.front().message.find("r1 grows by 1"), std::string::npos) << bad.codes();
}

TEST(Widening, CounterKeptOnTheStackIsFollowed) {
    auto ok = check(R"(
        r1 = 0
        *(u64 *)(r10 - 8) = r1
    loop:
        r1 = *(u64 *)(r10 - 8)
        r1 += 2
        *(u64 *)(r10 - 8) = r1
        if r1 < 20000 goto loop
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    EXPECT_LT(ok.result.steps, 2000u);
}

TEST(Widening, NoVariableMovesOneWay) {
    // r1 alternates between 0 and 1: widening finds the invariant, nothing
    // counts the iterations, and unrolling finds the repeated state.
    auto bad = check(R"(
        r1 = 0
        r2 = 0
    loop:
        r1 ^= 1
        r2 += 1
        r2 &= 0xffff
        if r2 != 0xffffff goto loop
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("unbounded-loop")) << bad.codes();
}

TEST(Widening, WrappingCounterIsNotAProof) {
    // A u8 counter that wraps around never reaches 300.
    AnalysisOptions options;
    options.max_steps = 50000;
    auto bad = check(R"(
        r1 = 0
    loop:
        r1 += 1
        r1 &= 0xff
        if r1 != 300 goto loop
        r0 = 0
        exit
    )", Socket, {}, options);
    EXPECT_TRUE(bad.rejected_with("unbounded-loop")) << bad.codes();
}

// --- references

constexpr const char* lookup_socket = R"(
        r2 = 0
        *(u64 *)(r10 - 8) = r2
        *(u64 *)(r10 - 16) = r2
        *(u64 *)(r10 - 24) = r2
        *(u64 *)(r10 - 32) = r2
        *(u64 *)(r10 - 40) = r2
        r2 = r10
        r2 += -40
        r3 = 12
        r4 = -1
        r5 = 0
        call bpf_sk_lookup_tcp
)";

TEST(References, SocketReleasedOnEveryPathIsAccepted) {
    auto ok = check(std::string(lookup_socket) + R"(
        if r0 == 0 goto out
        r1 = r0
        call bpf_sk_release
    out:
        r0 = 2
        exit
    )", Xdp);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(References, SocketLeakedOnOnePathIsRejected) {
    auto bad = check(std::string(lookup_socket) + R"(
        if r0 == 0 goto out
        r1 = r0
        r2 = *(u32 *)(r0 + 4)
        if r2 == 2 goto out
        call bpf_sk_release
    out:
        r0 = 2
        exit
    )", Xdp);
    ASSERT_TRUE(bad.rejected_with("unreleased-reference")) << bad.codes();
    EXPECT_NE(bad.result.errors.front().message.find("bpf_sk_lookup_tcp at instruction 11"), std::string::npos)
        << bad.codes();
}

TEST(References, SocketReleasedTwiceIsRejected) {
    auto bad = check(std::string(lookup_socket) + R"(
        if r0 == 0 goto out
        r6 = r0
        r1 = r0
        call bpf_sk_release
        r1 = r6
        call bpf_sk_release
    out:
        r0 = 2
        exit
    )", Xdp);
    EXPECT_FALSE(bad.result.accepted) << bad.codes();
}

TEST(References, ReleasingAMaybeNullSocketIsRejected) {
    auto bad = check(std::string(lookup_socket) + R"(
        r1 = r0
        call bpf_sk_release
        r0 = 2
        exit
    )", Xdp);
    EXPECT_TRUE(bad.rejected_with("helper-argument")) << bad.codes();
}

TEST(References, SocketLookupIsNotAllowedInSocketFilters) {
    auto bad = check(std::string(lookup_socket) + R"(
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("helper-not-allowed")) << bad.codes();
}

TEST(References, RingbufRecordMustBeSubmittedOrDiscarded) {
    const std::string reserve = R"(
        r1 = map[events] ll
        r2 = 16
        r3 = 0
        call bpf_ringbuf_reserve
        if r0 == 0 goto out
        r1 = 7
        *(u64 *)(r0 + 0) = r1
)";
    auto leak = check(reserve + R"(
    out:
        r0 = 0
        exit
    )", Socket, {map_of("events", 0, ir::MapType::Ringbuf)});
    EXPECT_TRUE(leak.rejected_with("unreleased-reference")) << leak.codes();
    auto ok = check(reserve + R"(
        r1 = r0
        r2 = 0
        call bpf_ringbuf_submit
    out:
        r0 = 0
        exit
    )", Socket, {map_of("events", 0, ir::MapType::Ringbuf)});
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(References, TailCallWhileHoldingASocketIsRejected) {
    ir::MapDefinition programs = map_of("programs", 4, ir::MapType::ProgArray);
    auto bad = check(std::string("r6 = r1\n") + lookup_socket + R"(
        if r0 == 0 goto out
        r7 = r0
        r1 = r6
        r2 = map[programs] ll
        r3 = 0
        call bpf_tail_call
        r1 = r7
        call bpf_sk_release
    out:
        r0 = 2
        exit
    )", Xdp, {programs});
    EXPECT_TRUE(bad.rejected_with("unreleased-reference")) << bad.codes();
}

}  // namespace
}  // namespace bpfvet::analyzer
