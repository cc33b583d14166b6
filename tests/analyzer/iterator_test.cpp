// Open-coded iterators (analyzer/transfer_iterator.cpp, the exploration's
// split and convergence at `next` in analyzer/explorer.cpp): each of the
// kernel's rules on a small program, typed by the running kernel's BTF
// (skipped where /sys/kernel/btf/vmlinux is unreadable).
#include "kfunc_program.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace bpfvet::analyzer::test {
namespace {

// A tp_btf program; each `call kfunc[0]` is named by `names`, in order.
Checked check_iterators(std::string_view text, std::vector<std::string> names) {
    return check_kfuncs(text, std::move(names));
}

class Iterators : public NeedsKernelBtf {};

const std::vector<std::string> NewNextDestroy = {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy"};

// bpf_for(i, 0, 10) sum += i; as clang compiles it: the sum never bounds the loop.
constexpr std::string_view SumLoop = R"(
    r6 = 0
    r1 = r10
    r1 += -8
    r2 = 0
    r3 = 10
    call kfunc[0]
loop:
    r1 = r10
    r1 += -8
    call kfunc[0]
    if r0 == 0 goto done
    r2 = *(u32 *)(r0 + 0)
    r6 += r2
    goto loop
done:
    r1 = r10
    r1 += -8
    call kfunc[0]
    r0 = 0
    exit
)";

TEST_F(Iterators, ALoopOnAnIteratorConvergesAndIsAccepted) {
    auto checked = check_iterators(SumLoop, NewNextDestroy);
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
    // A few iterations until the widened sum repeats, not the 10 the iterator would give.
    EXPECT_LT(checked.result.processed_instructions, 200u);
}

TEST_F(Iterators, AnIteratorNeverDestroyedLeaksItsReference) {
    auto checked = check_iterators(R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new", "bpf_iter_num_next"});
    EXPECT_TRUE(checked.rejected_with("unreleased-reference")) << checked.codes();
}

TEST_F(Iterators, NextAfterDestroyIsRefused) {
    auto checked = check_iterators(R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
        r1 = r10
        r1 += -8
        call kfunc[0]
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new", "bpf_iter_num_destroy", "bpf_iter_num_next"});
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
    EXPECT_NE(checked.codes().find("expected an initialized"), std::string::npos) << checked.codes();
}

TEST_F(Iterators, DestroyTwiceAndNextOnNothingAreRefused) {
    auto twice = check_iterators(R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
        r1 = r10
        r1 += -8
        call kfunc[0]
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new", "bpf_iter_num_destroy", "bpf_iter_num_destroy"});
    EXPECT_TRUE(twice.rejected_with("kfunc-argument")) << twice.codes();
    auto uninitialized = check_iterators(R"(
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_next"});
    EXPECT_TRUE(uninitialized.rejected_with("kfunc-argument")) << uninitialized.codes();
}

TEST_F(Iterators, NewOverALiveIteratorIsRefusedEvenPartlyOverlapping) {
    for (std::string_view second : {"-8", "-16"}) {
        // bpf_iter_bits is 16 bytes: at fp-16 it overlaps the num iterator at fp-8.
        auto checked = check_iterators(fmt::format(R"(
            r1 = r10
            r1 += -8
            r2 = 0
            r3 = 10
            call kfunc[0]
            r1 = r10
            r1 += {}
            r2 = 0
            r3 = 1
            call kfunc[0]
            r0 = 0
            exit
        )", second), {"bpf_iter_num_new", second == "-8" ? "bpf_iter_num_new" : "bpf_iter_bits_new"});
        EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << second << "\n" << checked.codes();
        EXPECT_NE(checked.codes().find("expected uninitialized"), std::string::npos) << checked.codes();
    }
}

TEST_F(Iterators, AnIteratorOfAnotherTypeIsRefused) {
    auto checked = check_iterators(R"(
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = 10
        call kfunc[0]
        r1 = r10
        r1 += -16
        call kfunc[0]
        r1 = r10
        r1 += -16
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new", "bpf_iter_bits_next", "bpf_iter_num_destroy"});
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
}

TEST_F(Iterators, TheIteratorMustLieOnTheStackAtASlotStart) {
    auto misaligned = check_iterators(R"(
        r1 = r10
        r1 += -12
        r2 = 0
        r3 = 10
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new"});
    EXPECT_TRUE(misaligned.rejected_with("kfunc-argument")) << misaligned.codes();
    auto context = check_iterators(R"(
        r2 = 0
        r3 = 10
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new"});
    EXPECT_TRUE(context.rejected_with("kfunc-argument")) << context.codes();
}

TEST_F(Iterators, ItsBytesAreNotReadWrittenOrPassedToHelpers) {
    const std::string create = R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
    )";
    const std::string destroy = R"(
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )";
    const std::vector<std::string> names = {"bpf_iter_num_new", "bpf_iter_num_destroy"};
    for (std::string_view access : {"r2 = *(u64 *)(r10 - 8)\n", "r2 = *(u8 *)(r10 - 3)\n",
                                    "r2 = 0\n *(u32 *)(r10 - 4) = r2\n",
                                    // bpf_probe_read_kernel(fp-8, 8, ...) writes it.
                                    "r1 = r10\n r1 += -8\n r2 = 8\n r3 = 0\n call 113\n"}) {
        auto checked = check_iterators(create + std::string(access) + destroy, names);
        EXPECT_TRUE(checked.rejected_with("memory-access")) << access << "\n" << checked.codes();
    }
    // The slot next to it is ordinary stack.
    auto beside = check_iterators(create + "r2 = 0\n *(u64 *)(r10 - 16) = r2\n" + destroy, names);
    EXPECT_TRUE(beside.result.accepted) << beside.codes();
}

TEST_F(Iterators, TheElementMayBeNullUntilChecked) {
    auto checked = check_iterators(R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
        r1 = r10
        r1 += -8
        call kfunc[0]
        r6 = *(u32 *)(r0 + 0)
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", NewNextDestroy);
    // The path on which the iterator is drained comes first, as in the kernel:
    // r0 is the number 0 there ("R0 invalid mem access 'scalar'").
    EXPECT_TRUE(checked.rejected_with("memory-access")) << checked.codes();
}

TEST_F(Iterators, TheElementIsFourBytes) {
    auto checked = check_iterators(R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
        r1 = r10
        r1 += -8
        call kfunc[0]
        if r0 == 0 goto done
        r6 = *(u64 *)(r0 + 0)
    done:
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", NewNextDestroy);
    EXPECT_FALSE(checked.result.accepted) << checked.codes();
}

TEST_F(Iterators, AnElementUsedAsAnUnboundedIndexIsRefused) {
    // for (i in 0..10) buf[i] = 0; with buf 8 bytes on the stack and i never checked.
    auto checked = check_iterators(R"(
        r0 = 0
        *(u64 *)(r10 - 24) = r0
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
    loop:
        r1 = r10
        r1 += -8
        call kfunc[0]
        if r0 == 0 goto done
        r2 = *(u32 *)(r0 + 0)
        r1 = r10
        r1 += -24
        r1 += r2
        r3 = 0
        *(u8 *)(r1 + 0) = r3
        goto loop
    done:
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", NewNextDestroy);
    EXPECT_FALSE(checked.result.accepted) << checked.codes();
}

TEST_F(Iterators, ACheckedElementIndexIsAccepted) {
    auto checked = check_iterators(R"(
        r0 = 0
        *(u64 *)(r10 - 24) = r0
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
    loop:
        r1 = r10
        r1 += -8
        call kfunc[0]
        if r0 == 0 goto done
        r2 = *(u32 *)(r0 + 0)
        if r2 > 7 goto loop
        r1 = r10
        r1 += -24
        r1 += r2
        r3 = 0
        *(u8 *)(r1 + 0) = r3
        goto loop
    done:
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", NewNextDestroy);
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
}

TEST_F(Iterators, TheDrainedIteratorStaysDrained) {
    // After NULL, `next` gives NULL again: the second element is never dereferenced.
    auto checked = check_iterators(R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 10
        call kfunc[0]
    loop:
        r1 = r10
        r1 += -8
        call kfunc[0]
        if r0 != 0 goto loop
        r1 = r10
        r1 += -8
        call kfunc[0]
        if r0 == 0 goto done
        r0 = *(u64 *)(r0 + 0)
    done:
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_next", "bpf_iter_num_destroy"});
    std::string path;
    if (!checked.result.errors.empty())
        for (const auto& step : checked.result.errors.front().path) path += " " + std::to_string(step.pc);
    EXPECT_TRUE(checked.result.accepted) << checked.codes() << path;
}

TEST_F(Iterators, BitsIteratorOverAStackBitmap) {
    // bpf_for_each(bits, bit, &mask, 1) count++;
    auto checked = check_iterators(R"(
        r6 = 0
        r1 = 5
        *(u64 *)(r10 - 8) = r1
        r1 = r10
        r1 += -24
        r2 = r10
        r2 += -8
        r3 = 1
        call kfunc[0]
    loop:
        r1 = r10
        r1 += -24
        call kfunc[0]
        if r0 == 0 goto done
        r6 += 1
        goto loop
    done:
        r1 = r10
        r1 += -24
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_bits_new", "bpf_iter_bits_next", "bpf_iter_bits_destroy"});
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
}

TEST_F(Iterators, NestedLoopsOnTwoIterators) {
    auto checked = check_iterators(R"(
        r6 = 0
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 4
        call kfunc[0]
    outer:
        r1 = r10
        r1 += -8
        call kfunc[0]
        if r0 == 0 goto outer_done
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = 4
        call kfunc[0]
    inner:
        r1 = r10
        r1 += -16
        call kfunc[0]
        if r0 == 0 goto inner_done
        r6 += 1
        goto inner
    inner_done:
        r1 = r10
        r1 += -16
        call kfunc[0]
        goto outer
    outer_done:
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy",
         "bpf_iter_num_destroy"});
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
    // The inner iterator left alive at the end of an outer iteration.
    auto leak = check_iterators(R"(
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 4
        call kfunc[0]
    outer:
        r1 = r10
        r1 += -8
        call kfunc[0]
        if r0 == 0 goto outer_done
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = 4
        call kfunc[0]
        goto outer
    outer_done:
        r1 = r10
        r1 += -8
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_new", "bpf_iter_num_destroy"});
    EXPECT_FALSE(leak.result.accepted) << leak.codes();
}

}  // namespace
}  // namespace bpfvet::analyzer::test
