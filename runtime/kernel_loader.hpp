// The running Linux kernel as a second opinion: loads a program of an Object
// with bpf(BPF_PROG_LOAD) the way libbpf would (maps created from the object's
// definitions, global data initialised and .rodata frozen), and returns the
// kernel verifier's verdict, log and statistics; runs it with
// BPF_PROG_TEST_RUN. Used by `bpfvet check --kernel`, `bpfvet corpus
// --kernel`, the corpus oracle test and the JIT benchmarks.
//
// Needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN). When the kernel refuses
// bpf(2) altogether, the result says so (KernelVerdict::Unavailable) instead
// of pretending to a verdict.
#pragma once

#include "ir/kernel_btf.hpp"
#include "ir/program.hpp"

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bpfvet::runtime::kernel {

enum class KernelVerdict {
    Accept,
    Reject,       // BPF_PROG_LOAD failed: the verifier (or the kernel's checks) refused it
    LoaderError,  // the maps could not be created, so the program was never given to the verifier
    Unavailable,  // bpf(2) refused altogether (EPERM, ENOSYS): no verdict
};

[[nodiscard]] std::string_view kernel_verdict_name(KernelVerdict verdict);  // "accept", "reject", ...

struct KernelLoadResult {
    KernelVerdict verdict = KernelVerdict::Unavailable;
    int error = 0;                 // errno of the failing call
    std::string message;           // one line: "BPF_PROG_LOAD: Permission denied", "BPF_MAP_CREATE m: ..."
    std::string log;               // verifier log (level 1) of a rejected program
    std::string first_error_line;  // the log line that states the reason (as veristat shows it)
    std::optional<int64_t> error_pc;  // instruction the log blames, when it says
    std::optional<uint64_t> processed_insns;  // "processed N insns" (from the log or BPF_OBJ_GET_INFO)
    double load_seconds = 0;       // wall time of the successful BPF_PROG_LOAD (or the failing one)
    // Loaded as libbpf loads it: with the object's BTF and func_info (global
    // functions are then verified on their own). Without them when the object
    // has no BTF or the kernel refuses it, which btf_note then says.
    bool with_btf = false;
    std::string btf_note;
};

struct KernelLoadOptions {
    bool collect_log_on_accept = false;  // load a second time with a log for statistics
    // With collect_log_on_accept: the kernel's full log (log_level 2: every
    // state it explores, precision marks), for comparing explorations.
    bool log_states = false;
    uint32_t log_size = 16u << 20;
    // A rejected program is loaded again for its log. Where the first load took
    // longer than this (a verifier walk of up to a million instructions), the
    // instruction trail would cost ten times as much again: the second load
    // then asks only for the messages and statistics (BPF_LOG_STATS), which
    // give the reason but no instruction, so error_pc stays empty.
    double full_log_below_seconds = 0.5;
    // For fentry/fexit/fmod_ret/tp_btf/lsm programs: the kernel BTF in which
    // the attach target's id is looked up (attach_btf_id). Null: read
    // /sys/kernel/btf/vmlinux for each such load.
    std::shared_ptr<const ir::KernelBtf> kernel_btf;
};

// A program loaded into the kernel; closes its descriptors when destroyed.
class KernelProgram {
public:
    ~KernelProgram();
    KernelProgram(KernelProgram&&) noexcept;
    KernelProgram& operator=(KernelProgram&&) noexcept;

    [[nodiscard]] int fd() const;
    // One BPF_PROG_TEST_RUN on `packet`. Socket filters and cgroup_skb see the
    // packet after a dummy Ethernet header has been pulled, as the kernel does.
    [[nodiscard]] std::expected<uint32_t, std::string> test_run(const std::vector<uint8_t>& packet) const;
    // Mean ns per run over `repeat` runs, as measured by the kernel.
    [[nodiscard]] std::expected<double, std::string> time_runs(const std::vector<uint8_t>& packet, uint32_t repeat) const;

    struct State;
    explicit KernelProgram(std::unique_ptr<State> state);

private:
    std::unique_ptr<State> state_;
};

// Loads `program` (its maps first) as `type`. On Accept, `loaded` (when
// non-null) receives the loaded program for test runs.
[[nodiscard]] KernelLoadResult load_in_kernel(const ir::Object& object, const ir::Program& program,
                                              ir::ProgramType type, const KernelLoadOptions& options = {},
                                              std::optional<KernelProgram>* loaded = nullptr);

// "6.18.44-fc" -> {6, 18}; {0, 0} when unreadable.
[[nodiscard]] std::pair<int, int> running_kernel_version();

// ---- Pure pieces of the loader, exposed for tests and for other readers of logs ----

// What a verifier log says about a rejection. For the log
//   0: R1=ctx() R10=fp0
//   0: (b7) r2 = 0                        ; R2_w=0
//   1: (63) *(u32 *)(r10 -520) = r2
//   invalid write to stack R10 off=-520 size=8
//   processed 2 insns (limit 1000000) max_states_per_insn 0 ...
// first_error_line is "invalid write to stack R10 off=-520 size=8", error_pc 1
// and processed_insns 2.
struct VerifierLogSummary {
    std::string first_error_line;
    std::optional<int64_t> error_pc;
    std::optional<uint64_t> processed_insns;
};
[[nodiscard]] VerifierLogSummary summarize_verifier_log(std::string_view log);

// The last `count` non-empty lines of a log, for showing beside our verdict.
[[nodiscard]] std::vector<std::string> last_log_lines(std::string_view log, size_t count);

// The expected_attach_type libbpf would give a program of `type` in `section`
// (enum bpf_attach_type), or 0 where the kernel wants none. For example
// "cgroup/connect4" as cgroup_sock_addr gives BPF_CGROUP_INET4_CONNECT (10),
// "cgroup/post_bind4" as cgroup_sock gives BPF_CGROUP_INET4_POST_BIND (12).
[[nodiscard]] uint32_t expected_attach_type(ir::ProgramType type, std::string_view section);

// The attach_btf_id the kernel needs for a program in `section`: the id of
// the target FUNC ("fentry/do_unlinkat", "lsm/file_open" -> bpf_lsm_file_open)
// or TYPEDEF ("tp_btf/sched_switch" -> btf_trace_sched_switch) in `btf`; 0
// for sections that attach to nothing; an error when the target is missing.
[[nodiscard]] std::expected<uint32_t, std::string> attach_btf_id(const ir::KernelBtf& btf, std::string_view section);

}  // namespace bpfvet::runtime::kernel
