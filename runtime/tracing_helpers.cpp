// Helpers of tracing programs beyond probe_read and the task helpers in
// helpers.cpp: stack ids and stacks, perf counters, error injection, and
// writes to user memory. The "current" stacks and counters come from the
// host's Environment.
#include "runtime/helper_support.hpp"

#include <cerrno>
#include <cstring>
#include <expected>
#include <span>
#include <linux/bpf.h>

namespace bpfvet::runtime::helper_support {
namespace {

constexpr uint64_t SkipMask = BPF_F_SKIP_FIELD_MASK;  // low 8 bits: frames to skip

// The current chain of `flags`' kind, minus the skipped frames, at most
// `depth` frames long. Empty when nothing is left (the kernel's -EFAULT).
std::span<const uint64_t> current_frames(const RunContext& context, uint64_t flags, uint64_t depth) {
    const TaskInfo& task = context.environment->task;
    const auto& chain = (flags & BPF_F_USER_STACK) ? task.user_stack : task.kernel_stack;
    const uint64_t skip = flags & SkipMask;
    if (skip >= chain.size()) return {};
    std::span<const uint64_t> frames(chain);
    frames = frames.subspan(size_t(skip));
    return frames.first(size_t(std::min<uint64_t>(frames.size(), depth)));
}

}  // namespace

uint64_t get_stackid(uint64_t, uint64_t map_value, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    constexpr uint64_t KnownFlags = SkipMask | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID;
    Map* map = as_map(*context, map_value);
    if (!map || map->type() != ir::MapType::StackTrace || (flags & ~KnownFlags)) return error(-EINVAL);
    auto& stacks = static_cast<StackTraceMap&>(*map);
    auto frames = current_frames(*context, flags, stacks.max_depth());
    if (frames.empty()) return error(-EFAULT);
    return error(stacks.store(frames, flags & BPF_F_REUSE_STACKID));
}

// Copies the chain into `buffer`, zero-filling the rest; returns the bytes copied.
uint64_t get_stack(uint64_t, uint64_t buffer, uint64_t size, uint64_t flags, uint64_t, RunContext* context) {
    constexpr uint64_t KnownFlags = SkipMask | BPF_F_USER_STACK | BPF_F_USER_BUILD_ID;
    if (!writable(*context, buffer, size, "get_stack buffer")) return error(-EFAULT);
    std::memset(as_pointer(buffer), 0, size);
    if (flags & ~KnownFlags) return error(-EINVAL);
    // Build ids need the user binaries' ELF notes, which the runtime does not have.
    if (flags & BPF_F_USER_BUILD_ID) return error(-EINVAL);
    if (size % 8 != 0) return error(-EINVAL);
    auto frames = current_frames(*context, flags, size / 8);
    if (frames.empty()) return error(-EFAULT);
    std::memcpy(as_pointer(buffer), frames.data(), frames.size() * 8);
    return frames.size() * 8;
}

namespace {

// The perf event array slot `flags` names (BPF_F_CURRENT_CPU: the worker's)
// and its counter, or the kernel's error.
std::expected<uint64_t, long> read_counter(RunContext& context, uint64_t map_value, uint64_t flags) {
    Map* map = as_map(context, map_value);
    if (!map || map->type() != ir::MapType::PerfEventArray) return std::unexpected(-EINVAL);
    if (flags & ~uint64_t(BPF_F_INDEX_MASK)) return std::unexpected(-EINVAL);
    uint64_t index = flags & BPF_F_INDEX_MASK;
    if (index == BPF_F_CURRENT_CPU) index = context.cpu;
    if (index >= map->definition().max_entries) return std::unexpected(-E2BIG);
    const auto& counters = context.environment->perf_counters;
    if (index >= counters.size()) return std::unexpected(-ENOENT);
    return counters[index];
}

}  // namespace

uint64_t perf_event_read(uint64_t map, uint64_t flags, uint64_t, uint64_t, uint64_t, RunContext* context) {
    auto counter = read_counter(*context, map, flags);
    return counter ? *counter : error(counter.error());
}

// Fills bpf_perf_event_value; the event counts as enabled and running the whole time.
uint64_t perf_event_read_value(uint64_t map, uint64_t flags, uint64_t buffer, uint64_t size, uint64_t,
                               RunContext* context) {
    if (!writable(*context, buffer, size, "perf_event_read_value buffer")) return error(-EFAULT);
    std::memset(as_pointer(buffer), 0, size);
    if (size != sizeof(bpf_perf_event_value)) return error(-EINVAL);
    auto counter = read_counter(*context, map, flags);
    if (!counter) return error(counter.error());
    bpf_perf_event_value value{*counter, 1, 1};
    std::memcpy(as_pointer(buffer), &value, sizeof value);
    return 0;
}

// Error injection: the probed function returns `rc` at once. The kernel
// writes it into the saved registers' return slot (pt_regs->ax on x86-64),
// which is where the host sees it after the run.
uint64_t override_return(uint64_t regs, uint64_t rc, uint64_t, uint64_t, uint64_t, RunContext* context) {
    constexpr uint64_t ReturnSlot = 80;  // offsetof(struct pt_regs, ax) on x86-64
    if (!writable(*context, regs + ReturnSlot, 8, "override_return registers")) return error(-EFAULT);
    std::memcpy(as_pointer<uint8_t>(regs) + ReturnSlot, &rc, 8);
    return 0;
}

// The runtime lends programs no writable user memory: every write faults
// softly, as the kernel's does for an address not mapped in the task.
uint64_t probe_write_user(uint64_t, uint64_t source, uint64_t length, uint64_t, uint64_t, RunContext* context) {
    if (!readable(*context, source, length, "probe_write_user source")) return error(-EFAULT);
    return error(-EFAULT);
}

}  // namespace bpfvet::runtime::helper_support
