// One line of a `bpfvet corpus` results file (JSON Lines): what happened to one
// program, written by the corpus command and read back by resume and by
// `bpfvet compare`. The schema lives here and nowhere else.
#pragma once

#include <nlohmann/json.hpp>

#include <compare>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::tools::corpus {

// A program's stable identity across runs, machines and shards: the object's
// path relative to the root it was found under, the section, the function.
// An object that could not be loaded at all has empty section and program.
struct ProgramKey {
    std::string file;
    std::string section;
    std::string program;

    auto operator<=>(const ProgramKey&) const = default;
    // "cilium/bpf_lxc.o 2/7 tail_handle_ipv4"
    [[nodiscard]] std::string to_string() const;
};

// FNV-1a, 64 bits: stable across compilers and runs, unlike std::hash.
// Example: fnv1a_64("") == 0xcbf29ce484222325, fnv1a_64("a") == 0xaf63dc4c8601ec8c.
[[nodiscard]] uint64_t fnv1a_64(std::string_view text);

// `--shard I/N`: the programs whose key hashes to I modulo N.
struct Shard {
    uint32_t index = 0;
    uint32_t count = 1;
};
// "1/3" -> {1, 3}; "3/3", "a/b", "1/0" -> an error message.
[[nodiscard]] std::expected<Shard, std::string> parse_shard(std::string_view text);
// The hash covers file, section and program separated by NUL bytes, so that
// ("a", "bc") and ("ab", "c") differ.
[[nodiscard]] bool in_shard(const ProgramKey& key, Shard shard);

// What became of a program. BadInput: the object did not load; Timeout: the
// worker was still busy after the time budget and was killed; OutOfMemory: an
// allocation failed under --budget-mb; Crashed: the worker died (signal or
// abnormal exit) while analysing it.
inline constexpr std::string_view VerdictAccept = "accept";
inline constexpr std::string_view VerdictReject = "reject";
inline constexpr std::string_view VerdictBadInput = "bad-input";
inline constexpr std::string_view VerdictTimeout = "timeout";
inline constexpr std::string_view VerdictOutOfMemory = "out-of-memory";
inline constexpr std::string_view VerdictCrashed = "crashed";
inline constexpr std::string_view AllVerdicts[] = {VerdictAccept,  VerdictReject,       VerdictBadInput,
                                                   VerdictTimeout, VerdictOutOfMemory, VerdictCrashed};

// The running kernel's answer for the same program (with --kernel).
struct KernelFields {
    std::string verdict;  // accept, reject, loader-error, unavailable
    int error = 0;        // errno of the failing call, 0 on accept
    std::optional<uint64_t> processed_insns;
    double load_seconds = 0;
    std::string first_error_line;
};

struct CorpusRecord {
    ProgramKey key;
    std::string type;  // program type analysed (and loaded) as, kernel spelling
    uint64_t insn_count = 0;
    std::string verdict;
    std::string error_code;  // first error's code, e.g. "null-dereference"; empty when none
    std::optional<uint32_t> error_pc;
    std::string error_message;  // first error's message, or why the object/worker failed
    uint64_t errors = 0;        // number of diagnostics
    uint64_t steps = 0;         // abstract states explored (AnalysisResult::steps)
    // The kernel's complexity figures as we predict them (AnalysisResult):
    // instructions it would process, and states it would keep at most at once.
    uint64_t processed_insns = 0;
    uint64_t peak_states = 0;
    double seconds = 0;         // analysis time (wall clock)
    double cpu_seconds = 0;     // analysis CPU time: steadier than wall time on a busy machine
    std::optional<uint64_t> peak_kib;  // worker's peak RSS while analysing this program
    std::string version;
    nlohmann::json options = nlohmann::json::object();  // analysis options that change verdicts
    std::optional<KernelFields> kernel;
};

// Fields in the order of the struct (ordered_json), for people reading the lines.
[[nodiscard]] nlohmann::ordered_json to_json(const CorpusRecord& record);
// Reads a line written by to_json; tolerates missing optional fields.
[[nodiscard]] std::expected<CorpusRecord, std::string> record_from_json(const nlohmann::json& json);

// A results file read back. `complete_bytes` is the length of its complete
// lines: a run killed mid-write leaves a torn last line, which resume cuts off
// before appending.
struct ResultsFile {
    std::vector<CorpusRecord> records;
    uint64_t complete_bytes = 0;
    size_t torn_lines = 0;  // lines that were not valid records (ignored)
};
// A missing file reads as empty; an unreadable one is an error.
[[nodiscard]] std::expected<ResultsFile, std::string> read_results(const std::string& path);

}  // namespace bpfvet::tools::corpus
