// Rules the kernel applies to single instructions, each a program the kernel
// refuses and its safe twin: defects noticed only on reachable paths,
// alignment, subtraction from the stack pointer, may_goto loops, and the
// return values of sock_addr hooks.
#include "check_program.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace bpfvet::analyzer::test {
namespace {

// Looks up key 0 of `map`; `body` runs with r0 the non-null value pointer.
std::string after_lookup(std::string_view map, std::string_view body) {
    return fmt::format(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[{}] ll
        call 1
        if r0 == 0 goto out
        {}
    out:
        r0 = 0
        exit
    )", map, body);
}

TEST(Defects, AWriteToR10OnADeadPathIsHarmless) {
    // The kernel's do_check never reaches pc 3 (r1 is 0), so it accepts.
    auto safe = check(R"(
        r1 = 0
        if r1 == 0 goto out
        r10 = 0
    out:
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
    auto bad = check(R"(
        r1 = *(u32 *)(r1 + 0)
        if r1 == 0 goto out
        r10 = 0
    out:
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("invalid-instruction")) << bad.codes();
}

TEST(Defects, DivisionByTheConstantZeroIsRefusedWhereReached) {
    // The kernel's selftests use `r0 /= 0` to prove a path is explored: a
    // verifier that prunes it wrongly accepts.
    auto bad = check(R"(
        call 7
        r6 = r0
        r7 = r6
        if r7 != 1 goto out
        r6 += r6
        if r6 == 3 goto out
        r0 /= 0
    out:
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("division-by-zero")) << bad.codes();
    EXPECT_EQ(bad.result.errors.front().pc, 6u);
    auto safe = check(R"(
        r0 = 5
        r1 = 0
        r0 /= r1
        exit
    )", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();  // by a register, x / 0 is 0
}

TEST(Defects, AShiftBeyondTheWidthIsRefused) {
    auto bad = check("r0 = 1\n w0 <<= 32\n exit\n", Socket);
    EXPECT_TRUE(bad.rejected_with("invalid-instruction")) << bad.codes();
    auto safe = check("r0 = 1\n w0 <<= 31\n r0 <<= 63\n r0 = 0\n exit\n", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
}

TEST(Alignment, StackAccessesMustBeAlignedToTheirSize) {
    auto bad = check("r2 = r10\n r0 = 0\n *(u64 *)(r2 - 16) = r0\n r0 = *(u64 *)(r2 - 12)\n exit\n", Socket);
    EXPECT_TRUE(bad.rejected_with("misaligned-access")) << bad.codes();
    auto safe = check("r2 = r10\n r0 = 0\n *(u64 *)(r2 - 16) = r0\n r0 = *(u32 *)(r2 - 12)\n exit\n", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
}

TEST(Alignment, AtomicsMustBeAlignedEvenInMapValues) {
    const std::vector<ir::MapDefinition> maps{map_of("counters", 16)};
    auto bad = check(after_lookup("counters", "r1 = 1\n lock *(u32 *)(r0 + 3) += w1"), Socket, maps);
    EXPECT_TRUE(bad.rejected_with("misaligned-access")) << bad.codes();
    auto safe = check(after_lookup("counters", "r1 = 1\n lock *(u32 *)(r0 + 4) += w1"), Socket, maps);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
    // A plain (non-atomic) unaligned map value access is fine on x86.
    auto plain = check(after_lookup("counters", "r1 = *(u32 *)(r0 + 3)"), Socket, maps);
    EXPECT_TRUE(plain.result.accepted) << plain.codes();
}

TEST(Atomics, LoadAcquireReadsAndStoreReleaseWrites) {
    // cgroup/sock programs return 0 or 1: the loaded value decides the verdict.
    const auto returning = [](const char* stored) {
        std::string text = std::string("r1 = ") + stored + R"(
            store_release((u64 *)(r10 - 8), r1)
            r0 = load_acquire((u64 *)(r10 - 8))
            exit
        )";
        return check(text, ir::ProgramType::CgroupSock);
    };
    auto one = returning("1");
    EXPECT_TRUE(one.result.accepted) << one.codes();
    auto two = returning("2");
    EXPECT_TRUE(two.rejected_with("return-value")) << two.codes();
    auto packet = check(R"(
        r0 = load_acquire((u32 *)(r1 + 0))
        r0 = 0
        exit
    )", Xdp);
    EXPECT_TRUE(packet.rejected_with("memory-access")) << packet.codes();
}

TEST(Calls, AFunctionMayReturnWithoutSettingR0IfTheCallerDoesNotReadIt) {
    auto safe = check(R"(
        r1 = 1
        call sub
        r0 = 0
        exit
    sub:
        r2 = r1
        exit
    )", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
    auto bad = check(R"(
        r1 = 1
        call sub
        exit
    sub:
        r2 = r1
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("uninitialized-register")) << bad.codes();
    EXPECT_EQ(bad.result.errors.front().pc, 2u);
}

TEST(Spills, TheLowBytesOfASpilledNumberAreThatNumberTruncated) {
    // rand << 32 has zero low bits: a 32-bit fill of its spill is 0 (the kernel's
    // narrowing fill), so the read through r9 is never reached.
    auto safe = check(R"(
        call 7
        r0 <<= 32
        *(u64 *)(r10 - 8) = r0
        r0 = *(u32 *)(r10 - 8)
        if r0 == 0 goto out
        r0 = *(u64 *)(r9 + 0)
    out:
        exit
    )", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
    // Not at the slot start: the bytes are the number's high half, unknown here.
    auto bad = check(R"(
        call 7
        r0 <<= 32
        *(u64 *)(r10 - 8) = r0
        r0 = *(u32 *)(r10 - 4)
        if r0 == 0 goto out
        r0 = *(u64 *)(r9 + 0)
    out:
        exit
    )", Socket);
    EXPECT_FALSE(bad.result.accepted) << bad.codes();
}

TEST(PointerArithmetic, NothingIsSubtractedFromTheStackPointer) {
    auto bad = check("r0 = 0\n r1 = r10\n r1 -= 8\n *(u64 *)(r1 + 0) = r0\n exit\n", Socket);
    EXPECT_TRUE(bad.rejected_with("pointer-arithmetic")) << bad.codes();
    auto safe = check("r0 = 0\n r1 = r10\n r1 += -8\n *(u64 *)(r1 + 0) = r0\n exit\n", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
}

TEST(MayGoto, ALoopWithNoOtherBoundEndsByTheKernelsBudget) {
    // while (1) { may_goto out; i++; } : only the budget ends it, as in the kernel.
    auto safe = check(R"(
        r6 = 0
    loop:
        may_goto out
        r6 += 1
        goto loop
    out:
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
    EXPECT_LT(safe.result.processed_instructions, 100u);
    // The body still runs under every state it may see: here r6 grows past the
    // stack after a few iterations.
    auto bad = check(R"(
        r6 = 0
    loop:
        may_goto out
        r6 += 8
        r1 = r10
        r1 += -64
        r1 += r6
        r0 = 0
        *(u64 *)(r1 + 0) = r0
        goto loop
    out:
        r0 = 0
        exit
    )", Socket);
    EXPECT_FALSE(bad.result.accepted) << bad.codes();
}

TEST(PointerKinds, OneInstructionServesTheContextOrTheStackNotBoth) {
    // r1 is the context on one path and the stack on the other when pc 5 reads it.
    auto bad = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r0 = 0
        *(u64 *)(r10 - 8) = r0
        if r6 == 0 goto read
        r1 = r10
        r1 += -8
    read:
        r0 = *(u32 *)(r1 + 0)
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("memory-access")) << bad.codes();
    // The stack and a map value may share an instruction.
    auto safe = check(R"(
        r6 = *(u32 *)(r1 + 0)
        r0 = 0
        *(u64 *)(r10 - 8) = r0
        r1 = r10
        r1 += -8
        if r6 == 0 goto read
        r1 = r10
        r1 += -16
        *(u64 *)(r10 - 16) = r0
    read:
        r0 = *(u32 *)(r1 + 0)
        r0 = 0
        exit
    )", Socket);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
}

TEST(NullChecks, TheContextComparedWithZeroGoesBothWaysAsInTheKernel) {
    // The kernel's reg_not_null does not list the context: it explores the
    // taken side, finds the loop state repeating and rejects.
    auto bad = check(R"(
        r0 = r1
    again:
        r2 = r0
        if r1 == 0 goto again
        exit
    )", Socket);
    EXPECT_TRUE(bad.rejected_with("unbounded-loop")) << bad.codes();
    // A map value known non-null decides the same test.
    auto decided = check(after_lookup("values", "if r0 != 0 goto out\n r0 = *(u64 *)(r0 + 64)"), Socket,
                         {map_of("values", 8)});
    EXPECT_TRUE(decided.result.accepted) << decided.codes();
}

TEST(ReturnValue, SockAddrHooksHaveTheKernelsRanges) {
    const auto at = [](const char* hook, const char* value) {
        ir::Object object;
        auto program = ir::assemble_program(std::string("r0 = ") + value + "\n exit\n", {});
        EXPECT_TRUE(program.has_value());
        program->type = ir::ProgramType::CgroupSockAddr;
        program->section = std::string("cgroup/") + hook;
        program->attach_target = hook;
        return analyze_program(object, *program, {}).accepted;
    };
    EXPECT_FALSE(at("recvmsg4", "0"));
    EXPECT_TRUE(at("recvmsg4", "1"));
    EXPECT_FALSE(at("getpeername6", "0"));
    EXPECT_FALSE(at("getsockname_unix", "0"));
    EXPECT_TRUE(at("bind4", "3"));
    EXPECT_FALSE(at("bind4", "4"));
    EXPECT_TRUE(at("connect4", "0"));
    EXPECT_FALSE(at("connect4", "2"));
    for (const char* hook : {"getpeername_unix", "getsockname6", "getsockname_unix", "recvmsg_unix"}) {
        auto guess = ir::program_type_from_section(std::string("cgroup/") + hook);
        EXPECT_EQ(guess.type, ir::ProgramType::CgroupSockAddr) << hook;
        EXPECT_EQ(guess.attach_target, hook);
    }
}

}  // namespace
}  // namespace bpfvet::analyzer::test
