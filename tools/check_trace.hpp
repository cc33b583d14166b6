// `check --trace` and the filters of `--print-invariants`: which instructions
// --pc and --line name, and the traced states (analyzer/trace.hpp) as text and JSON.
#pragma once

#include "analyzer/analyzer.hpp"
#include "ir/program.hpp"

#include <nlohmann/json.hpp>

#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace bpfvet::tools {

// --pc N or A-B, --line FILE:L; both absent: every instruction.
struct PlaceFilter {
    std::optional<std::pair<uint32_t, uint32_t>> pcs;  // inclusive
    std::optional<std::pair<std::string, uint32_t>> line;
    [[nodiscard]] bool everywhere() const { return !pcs && !line; }
};

// Parses "12" or "10-20" and "x.c:30" (either may be empty):
//   parse_place_filter("10-20", "") -> pcs {10, 20};  parse_place_filter("", "bpf/x.c:30") -> line {"bpf/x.c", 30}
[[nodiscard]] std::expected<PlaceFilter, std::string> parse_place_filter(const std::string& pc, const std::string& line);

// Every instruction of `program` the filter selects (its source line is the
// nearest line-info entry before it, as disasm --source and the kernel show;
// a FILE matches the recorded path or a trailing part of it).
[[nodiscard]] std::vector<uint32_t> filtered_pcs(const ir::Program& program, const PlaceFilter& filter);

// Where to trace: the selected pcs, but for a source line only the first
// instruction of each run of instructions on that line (the state as the line begins).
[[nodiscard]] std::vector<uint32_t> trace_points(const ir::Program& program, const PlaceFilter& filter);

// The traced states in text: per pc, each kept visit with its branch decisions
// (the last `max_branches`, source lines between them as disasm --source prints
// them), its state and how it ended, then the join of all visits.
[[nodiscard]] std::string trace_text(const ir::Object& object, const ir::Program& program,
                                     const analyzer::AnalysisResult& result, size_t max_visits,
                                     size_t max_branches = 16);
// The same as JSON (every branch decision): [{pc, instruction, file, line, total_visits, join, visits: [...]}].
[[nodiscard]] nlohmann::json trace_json(const ir::Object& object, const ir::Program& program,
                                        const analyzer::AnalysisResult& result);

}  // namespace bpfvet::tools
