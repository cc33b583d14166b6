// What the host provides to programs: clocks, randomness, the "current task",
// memory readable through probe_read, and where trace_printk output goes.
// One Environment is shared (read-only) by every worker running programs.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <string>
#include <vector>

namespace bpfvet::runtime {

// The task a tracing program believes is current (get_current_pid_tgid, ...).
struct TaskInfo {
    uint32_t pid = 1000;   // kernel "pid": the thread id
    uint32_t tgid = 1000;  // kernel "tgid": the process id
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::string comm = "bpfvet";
    // get_current_task's opaque value; point it into probe memory to let
    // programs probe_read the task's fields.
    uint64_t task_address = 0xffff888000100000ULL;
    uint64_t cgroup_id = 1;
};

// A range of (kernel or user) memory that probe_read* may copy from.
struct ProbeMemory {
    uint64_t address = 0;
    std::vector<uint8_t> bytes;
    bool user = false;  // probe_read_user reads user ranges, probe_read_kernel the others
};

// Lines written by trace_printk, in the order they were produced; thread-safe.
class TraceSink {
public:
    void write(std::string line) {
        std::lock_guard guard(lock_);
        lines_.push_back(std::move(line));
    }
    [[nodiscard]] std::vector<std::string> take() {
        std::lock_guard guard(lock_);
        return std::exchange(lines_, {});
    }

private:
    std::mutex lock_;
    std::vector<std::string> lines_;
};

struct Environment {
    // ktime_get_ns (CLOCK_MONOTONIC), ktime_get_boot_ns, ktime_get_coarse_ns.
    // Empty: the host's real clocks. Tests install fixed clocks for determinism.
    std::function<uint64_t()> monotonic_ns;
    std::function<uint64_t()> boot_ns;
    // Seed of each worker's get_prandom_u32 stream (mixed with the worker index).
    uint64_t random_seed = 0x853c49e6748fea9bULL;
    TaskInfo task;
    std::vector<ProbeMemory> probe_memory;
    uint32_t numa_node = 0;
};

}  // namespace bpfvet::runtime
