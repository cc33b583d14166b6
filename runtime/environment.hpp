// What the host provides to programs: clocks, randomness, the "current task",
// memory readable through probe_read, and where trace_printk output goes.
// One Environment is shared (read-only) by every worker running programs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
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
    // Ids of the cgroups above cgroup_id (current_task_under_cgroup, skb_under_cgroup).
    std::vector<uint64_t> ancestor_cgroup_ids;
    // The call chains get_stackid / get_stack see, innermost frame first.
    // Synthetic kernel addresses by default, so stack-keyed programs have
    // something to count; a host sets real ones.
    std::vector<uint64_t> kernel_stack = {0xffffffff81000100ULL, 0xffffffff81000200ULL, 0xffffffff81000300ULL};
    std::vector<uint64_t> user_stack = {0x401000ULL, 0x401100ULL};
};

// One route of the FIB that bpf_fib_lookup consults (longest prefix wins).
// Without routes every lookup answers BPF_FIB_LKUP_RET_NOT_FWDED, as a kernel
// with no route to the destination does.
struct FibRoute {
    uint8_t family = 2;                    // AF_INET or AF_INET6 (10)
    std::array<uint8_t, 16> prefix{};      // network order; IPv4 uses the first 4 bytes
    uint8_t prefix_length = 0;
    uint32_t ifindex = 1;                  // egress device
    uint16_t mtu = 1500;
    std::array<uint8_t, 6> source_mac{};   // the egress device's address
    // The next hop's address when the neighbour is known; without it the
    // lookup answers BPF_FIB_LKUP_RET_NO_NEIGH unless told to skip neighbours.
    std::optional<std::array<uint8_t, 6>> neighbour_mac;
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
    std::vector<FibRoute> routes;
    // perf_event_read(_value): the counter of the event in perf event array
    // slot i; slots beyond the vector hold no event (-ENOENT).
    std::vector<uint64_t> perf_counters;
};

}  // namespace bpfvet::runtime
