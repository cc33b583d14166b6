// `check --format html`: one self-contained page for a run (inline CSS and
// SVG, no script, nothing fetched): a verdict row per program; for each
// rejected one its errors, the source annotated with them (the files BTF line
// info names, read below --source-root; the disassembly with line-info text
// when a file is absent), the CFG with the failing paths highlighted (Graphviz,
// when installed), and each error's causal story beside it.
#pragma once

#include "tools/check_report.hpp"

#include <deque>
#include <span>
#include <string>
#include <string_view>

namespace bpfvet::tools {

struct HtmlReportOptions {
    // Relative source paths are read below it; shown paths are relative to it.
    std::string source_root;
    // Draw CFGs with Graphviz when `dot` is on PATH (tests turn it off to stay fast).
    bool draw_graphs = true;
};

// `objects` holds every object the reports point into (looked up by path).
[[nodiscard]] std::string html_report(std::span<const ProgramReport> reports, const std::deque<ir::Object>& objects,
                                      std::span<const InputFailure> failures, const HtmlReportOptions& options);

}  // namespace bpfvet::tools
