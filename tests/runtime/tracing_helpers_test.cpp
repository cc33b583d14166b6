// Tracing helpers beyond probe_read (runtime/tracing_helpers.cpp) and the
// stack trace map: stack ids and stacks from the host's call chains, perf
// counters, error injection, and user-memory writes that fail softly.
#include "test_support.hpp"

#include <cerrno>
#include <gtest/gtest.h>
#include <linux/bpf.h>

namespace bpfvet::runtime::test {
namespace {

using ir::MapType;
using ir::ProgramType;

int64_t run_kprobe(const std::string& text, std::vector<ir::MapDefinition> maps = {}, RuntimeOptions options = {},
                   ProgramFixture* keep = nullptr) {
    auto f = load_program_or_die(text, ProgramType::Kprobe, std::move(maps), std::move(options));
    auto outcome = run_program(f);
    if (!outcome.result) throw std::runtime_error(outcome.result.error().to_string());
    if (keep) *keep = std::move(f);
    return int64_t(outcome.result->return_value);
}

TEST(StackTraceMap, TheKernelsShapeRulesApply) {
    EXPECT_FALSE(create_map(map_definition("s", MapType::StackTrace, 4, 12, 8), 1, {}));
    EXPECT_FALSE(create_map(map_definition("s", MapType::StackTrace, 8, 64, 8), 1, {}));
    EXPECT_FALSE(create_map(map_definition("s", MapType::StackTrace, 4, 128 * 8, 8), 1, {}));
    EXPECT_TRUE(create_map(map_definition("s", MapType::StackTrace, 4, 127 * 8, 8), 1, {}));
}

TEST(GetStackid, TheSameChainGetsTheSameIdAndTheHostReadsItBack) {
    auto stacks = map_definition("stacks", MapType::StackTrace, 4, 8 * 8, 64);
    ProgramFixture f;
    int64_t id = run_kprobe(
        "r6 = r1\nr2 = map[stacks] ll\nr3 = 0\ncall bpf_get_stackid\nr7 = r0\n"
        "r1 = r6\nr2 = map[stacks] ll\nr3 = 0\ncall bpf_get_stackid\n"
        "if r0 != r7 goto differ\nexit\ndiffer: r0 = -1\nexit",
        {stacks}, {}, &f);
    ASSERT_GE(id, 0);
    Map* map = f.object->find_map("stacks");
    std::vector<uint64_t> frames(8);
    uint32_t key = uint32_t(id);
    ASSERT_EQ(map->host_lookup(&key, frames.data()), 0);
    Environment defaults;
    EXPECT_EQ(frames[0], defaults.task.kernel_stack[0]);
    EXPECT_EQ(frames[2], defaults.task.kernel_stack[2]);
    EXPECT_EQ(frames[3], 0u) << "unused frames are zero";
    uint32_t next = 0;
    EXPECT_EQ(map->host_get_next_key(nullptr, &next), 0);
    EXPECT_EQ(next, key);
    EXPECT_EQ(map->host_get_next_key(&key, &next), -ENOENT);
    EXPECT_EQ(map->host_delete(&key), 0);
    EXPECT_EQ(map->host_lookup(&key, frames.data()), -ENOENT);
}

TEST(GetStackid, AnotherChainInAHeldBucketNeedsReuse) {
    // One bucket: the kernel chain takes it; the user chain then collides.
    auto stacks = map_definition("stacks", MapType::StackTrace, 4, 8 * 8, 1);
    const std::string first = "r6 = r1\nr2 = map[stacks] ll\nr3 = 0\ncall bpf_get_stackid\nr1 = r6\nr2 = map[stacks] ll\n";
    EXPECT_EQ(run_kprobe(first + "r3 = 0x100\ncall bpf_get_stackid\nexit", {stacks}), -EEXIST);
    ProgramFixture f;
    EXPECT_EQ(run_kprobe(first + "r3 = 0x500\ncall bpf_get_stackid\nexit", {stacks}, {}, &f), 0);
    std::vector<uint64_t> frames(8);
    uint32_t key = 0;
    ASSERT_EQ(f.object->find_map("stacks")->host_lookup(&key, frames.data()), 0);
    EXPECT_EQ(frames[0], Environment{}.task.user_stack[0]) << "BPF_F_REUSE_STACKID replaced the chain";
}

TEST(GetStackid, SkippingEveryFrameFaultsAndUnknownFlagsAreInvalid) {
    auto stacks = map_definition("stacks", MapType::StackTrace, 4, 8 * 8, 8);
    EXPECT_EQ(run_kprobe("r2 = map[stacks] ll\nr3 = 3\ncall bpf_get_stackid\nexit", {stacks}), -EFAULT);
    EXPECT_EQ(run_kprobe("r2 = map[stacks] ll\nr3 = 0x800\ncall bpf_get_stackid\nexit", {stacks}), -EINVAL);
}

TEST(GetStack, CopiesTheChainAfterTheSkippedFrames) {
    RuntimeOptions options;
    options.environment.task.kernel_stack = {11, 22, 33};
    int64_t result = run_kprobe(
        "r2 = r10\nr2 += -32\nr3 = 32\nr4 = 1\ncall bpf_get_stack\n"
        "r1 = *(u64 *)(r10 - 32)\nr0 <<= 16\nr0 += r1\nr1 = *(u64 *)(r10 - 16)\nr1 <<= 8\nr0 += r1\nexit",
        {}, options);
    EXPECT_EQ(result, (16 << 16) + 22) << "two frames (16 bytes) copied, starting at 22, the rest zero";
    EXPECT_EQ(run_kprobe("r2 = r10\nr2 += -32\nr3 = 12\nr4 = 0\ncall bpf_get_stack\nexit", {}, options), -EINVAL);
}

TEST(PerfEventRead, CountersComeFromTheEnvironment) {
    auto events = map_definition("events", MapType::PerfEventArray, 4, 4, 4);
    RuntimeOptions options;
    options.environment.perf_counters = {5, 7};
    EXPECT_EQ(run_kprobe("r1 = map[events] ll\nr2 = 1\ncall bpf_perf_event_read\nexit", {events}, options), 7);
    EXPECT_EQ(run_kprobe("r1 = map[events] ll\nr2 = 2\ncall bpf_perf_event_read\nexit", {events}, options), -ENOENT);
    EXPECT_EQ(run_kprobe("r1 = map[events] ll\nr2 = 9\ncall bpf_perf_event_read\nexit", {events}, options), -E2BIG);
    EXPECT_EQ(run_kprobe("r1 = map[events] ll\nr2 = 0\nr3 = r10\nr3 += -24\nr4 = 24\n"
                         "call bpf_perf_event_read_value\nr0 = *(u64 *)(r10 - 24)\nexit",
                         {events}, options),
              5);
}

TEST(OverrideReturn, WritesTheReturnSlotOfTheSavedRegisters) {
    EXPECT_EQ(run_kprobe("r6 = r1\nr2 = -12\ncall bpf_override_return\nr0 = *(u64 *)(r6 + 80)\nexit"), -12);
}

TEST(ProbeWriteUser, FailsSoftlyWithoutWritableUserMemory) {
    EXPECT_EQ(run_kprobe("*(u64 *)(r10 - 8) = 1\nr1 = 4096\nr2 = r10\nr2 += -8\nr3 = 8\ncall bpf_probe_write_user\nexit"),
              -EFAULT);
}

}  // namespace
}  // namespace bpfvet::runtime::test
