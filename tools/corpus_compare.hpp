// `bpfvet compare A.jsonl B.jsonl`: two corpus runs joined program by program
// (the key of tools/corpus_record.hpp), with the differences of verdict, time,
// states explored and instructions, and filters on any field.
#pragma once

#include "tools/corpus_record.hpp"

#include <expected>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bpfvet::tools::corpus {

// The numbers compared, each with _a, _b, _diff and _pct fields:
//   time (analysis seconds), cpu (analysis CPU seconds), steps (abstract steps),
//   insns (instructions), mem (peak KiB), processed (the kernel's processed
//   instructions as we predict them), states (the kernel's peak states as we
//   predict them), kernel_processed (the running kernel's own count, with --kernel).
inline constexpr std::string_view Metrics[] = {"time",      "cpu",    "steps",           "insns",
                                               "mem",       "processed", "states", "kernel_processed"};

struct ComparedProgram {
    ProgramKey key;
    std::optional<CorpusRecord> a, b;  // absent on the side that lacks the program

    // "changed" (verdicts differ), "missing" (in A only), "new" (in B only), "same".
    [[nodiscard]] std::string status() const;
    [[nodiscard]] bool verdict_changed() const { return status() == "changed"; }
    // accept in A, anything else in B: what fails a CI job.
    [[nodiscard]] bool regressed() const;
};

// Joins two runs; verdict changes first, then programs missing from B, then
// new ones, then the rest, each group in key order. A key recorded twice in one
// run (overlapping shards, say) counts once: its last line.
[[nodiscard]] std::vector<ComparedProgram> join_runs(const std::vector<CorpusRecord>& a, const std::vector<CorpusRecord>& b);

// A field's value: text, a number, or nothing (e.g. time_pct when A's time is 0).
using FieldValue = std::variant<std::monostate, std::string, double>;

// Fields: file, section, program, type, status, verdict (B's, else A's),
// verdict_a, verdict_b, verdict_changed ("true"/"false"), error_code (B's),
// kernel_verdict (B's), and for each metric m: m_a, m_b, m_diff (B - A),
// m_pct (100 * (B - A) / A; 0 when both are 0; nothing when only A is 0).
// Example: time_a 0.2, time_b 0.25 give time_diff 0.05 and time_pct 25.
[[nodiscard]] FieldValue field_of(const ComparedProgram& program, std::string_view name);
[[nodiscard]] bool is_known_field(std::string_view name);

// One --filter: `field=glob`, `field!=glob`, `field>N`, `field>=N`, `field<N`,
// `field<=N`, or a bare field that must be true (`verdict_changed`).
// Examples: "file=cilium/*", "time_pct>10", "verdict_b!=accept".
struct Filter {
    std::string field;
    std::string operation;  // "=", "!=", ">", ">=", "<", "<=", "true"
    std::string operand;
    double number = 0;      // the operand of a numeric comparison
};
[[nodiscard]] std::expected<Filter, std::string> parse_filter(std::string_view text);
[[nodiscard]] bool matches(const ComparedProgram& program, const Filter& filter);

}  // namespace bpfvet::tools::corpus
