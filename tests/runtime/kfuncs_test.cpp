// runtime/kfuncs.hpp: the open-coded iterators' user-space implementations
// against the kernel's semantics (kernel/bpf/bpf_iter.c, helpers.c). The
// corpus programs run them through the interpreter and the JIT
// (corpus_runs_test, jit differential_test).
#include "runtime/kfuncs.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

namespace bpfvet::runtime {
namespace {

uint64_t address(void* p) { return reinterpret_cast<uint64_t>(p); }

TEST(Kfuncs, OnlyTheNumberAndBitIteratorsAreImplemented) {
    for (const char* name : {"bpf_iter_num_new", "bpf_iter_num_next", "bpf_iter_num_destroy", "bpf_iter_bits_new",
                             "bpf_iter_bits_next", "bpf_iter_bits_destroy"})
        EXPECT_NE(find_kfunc_implementation(name), nullptr) << name;
    EXPECT_EQ(find_kfunc_implementation("bpf_task_from_pid"), nullptr);
    EXPECT_EQ(find_kfunc_implementation("bpf_iter_task_new"), nullptr);
}

// Runs new(start, end) and collects what next gives until NULL.
std::vector<int32_t> elements(int32_t start, int32_t end, int64_t* status) {
    alignas(8) uint64_t iterator = 0xdeadbeef;
    const auto create = find_kfunc_implementation("bpf_iter_num_new");
    const auto next = find_kfunc_implementation("bpf_iter_num_next");
    const auto destroy = find_kfunc_implementation("bpf_iter_num_destroy");
    *status = int64_t(create(address(&iterator), uint64_t(int64_t(start)), uint64_t(int64_t(end)), 0, 0, nullptr));
    std::vector<int32_t> out;
    while (uint64_t element = next(address(&iterator), 0, 0, 0, 0, nullptr)) {
        out.push_back(*reinterpret_cast<int32_t*>(element));
        if (out.size() > 100) break;
    }
    // Drained stays drained.
    EXPECT_EQ(next(address(&iterator), 0, 0, 0, 0, nullptr), 0u);
    destroy(address(&iterator), 0, 0, 0, 0, nullptr);
    return out;
}

TEST(Kfuncs, NumberIteratorGivesStartToEndExclusive) {
    int64_t status = 1;
    EXPECT_EQ(elements(3, 7, &status), (std::vector<int32_t>{3, 4, 5, 6}));
    EXPECT_EQ(status, 0);
    EXPECT_TRUE(elements(5, 5, &status).empty());
    EXPECT_EQ(status, 0);
    // start > end: -EINVAL, and an iterator that gives nothing (it must still be destroyed).
    EXPECT_TRUE(elements(5, 4, &status).empty());
    EXPECT_EQ(status, -EINVAL);
    // More than BPF_MAX_LOOPS (8M) elements: -E2BIG.
    EXPECT_TRUE(elements(0, (8 << 20) + 1, &status).empty());
    EXPECT_EQ(status, -E2BIG);
    EXPECT_EQ(elements(-2, 1, &status), (std::vector<int32_t>{-2, -1, 0}));
    // INT_MIN: the pre-decremented counter wraps around, as in the kernel.
    EXPECT_EQ(elements(INT32_MIN, INT32_MIN + 2, &status), (std::vector<int32_t>{INT32_MIN, INT32_MIN + 1}));
}

TEST(Kfuncs, BitsIteratorRefusesNoWordsAndTooMany) {
    alignas(8) uint64_t iterator[2] = {1, 1};
    uint64_t word = 5;
    const auto create = find_kfunc_implementation("bpf_iter_bits_new");
    const auto next = find_kfunc_implementation("bpf_iter_bits_next");
    EXPECT_EQ(int64_t(create(address(iterator), address(&word), 0, 0, 0, nullptr)), -EINVAL);
    EXPECT_EQ(next(address(iterator), 0, 0, 0, 0, nullptr), 0u);
    EXPECT_EQ(int64_t(create(address(iterator), 0, 1, 0, 0, nullptr)), -EINVAL);
    EXPECT_EQ(int64_t(create(address(iterator), address(&word), 512, 0, 0, nullptr)), -E2BIG);
    EXPECT_EQ(next(address(iterator), 0, 0, 0, 0, nullptr), 0u);
}

}  // namespace
}  // namespace bpfvet::runtime
