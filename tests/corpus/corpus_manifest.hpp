// corpus/manifest.json as values: what each corpus program is and what the
// verifier, the kernel and the runtime are expected to say about it.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bpfvet::corpus {

// One input for the runtime: the bytes at the packet start (xdp_md->data or
// skb->data) and the expected return value (its low 32 bits, as the kernel's
// BPF_PROG_TEST_RUN reports it).
struct Run {
    std::vector<uint8_t> packet;
    uint32_t return_value = 0;
    std::string note;
};

struct ProgramEntry {
    std::string section;
    std::string name;
    std::string type;     // kernel program type name, e.g. "xdp", "sched_cls"
    std::string verdict;  // "accept" or "reject": what bpfvet must answer
    std::string error;    // error code when verdict is "reject"
    std::string needs;    // e.g. "refinement": accepted only with that analysis
    // The verdict holds for an unprivileged load (bpfvet: AnalysisOptions::
    // unprivileged); a privileged load accepts, as the kernel does as root.
    bool unprivileged = false;
    std::string control_for;  // the relation program this negative is the control of
    // What the kernel says when loaded as root, when it differs from `verdict`
    // (privileged loads allow pointer leaks, comparisons and uninitialized stack).
    std::optional<std::string> kernel_verdict;
    std::string kernel_log;  // a substring of the kernel's rejection message
    std::vector<Run> runs;

    [[nodiscard]] const std::string& expected_kernel_verdict() const {
        return kernel_verdict ? *kernel_verdict : verdict;
    }
};

struct Entry {
    std::string source;       // file under corpus/
    std::vector<std::pair<std::string, std::string>> objects;  // (variant, object file name)
    std::string description;
    std::vector<ProgramEntry> programs;
};

// The error codes bpfvet reports, each of which the corpus has a program for.
inline constexpr std::string_view ErrorCodes[] = {
    "uninitialized-register", "uninitialized-stack", "stack-out-of-bounds", "map-value-out-of-bounds",
    "context-access", "packet-out-of-bounds", "memory-access", "null-dereference", "pointer-arithmetic",
    "pointer-comparison", "pointer-leak", "helper-argument", "unknown-helper", "helper-not-allowed",
    "read-only-write", "unbounded-loop", "return-value", "unreachable-instruction", "stack-depth",
    "invalid-map-reference", "tail-call", "unreleased-reference", "invalid-instruction", "spin-lock",
    "kfunc-argument", "kfunc-not-allowed",
};

// "0a1B" -> {0x0a, 0x1b}; an error for odd length or a non-hex character.
[[nodiscard]] std::expected<std::vector<uint8_t>, std::string> parse_hex(std::string_view text);

// Reads and checks the shape of the manifest; the error names the entry.
[[nodiscard]] std::expected<std::vector<Entry>, std::string> read_manifest(const std::string& path);

// Paths from the build's compile definitions.
[[nodiscard]] std::string manifest_path();     // <source>/corpus/manifest.json
[[nodiscard]] std::string object_directory();  // <build>/corpus

}  // namespace bpfvet::corpus
