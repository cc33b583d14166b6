// The annotated listing of a rejected program for the HTML report: the source
// lines around its errors and failing paths (each line with an anchor, errors
// under their line), or, for what no source file shows, its disassembly with
// the line-info text.
#pragma once

#include "analyzer/diagnostic.hpp"
#include "ir/program.hpp"

#include <map>
#include <span>
#include <string>

namespace bpfvet::tools {

struct AnnotatedListing {
    std::string html;  // <table> elements, ready to embed
    // Where each source line and instruction shown is anchored ("p0-L1-16", "p0-pc-7").
    std::map<std::pair<std::string, uint32_t>, std::string> line_anchors;  // (shown file, line)
    std::map<uint32_t, std::string> pc_anchors;
};

// `id_prefix` makes anchors unique on the page ("p0-"). Files are read as
// named by the diagnostics and the program's line info: relative ones below
// `source_root`; shown relative to it.
[[nodiscard]] AnnotatedListing annotate_program(const ir::Object& object, const ir::Program& program,
                                                std::span<const analyzer::Diagnostic> errors, std::string_view source_root,
                                                std::string_view id_prefix);

// The anchor of a source location or, failing that, of an instruction; "" when neither is listed.
[[nodiscard]] std::string anchor_for(const AnnotatedListing& listing, const std::optional<ir::SourceLocation>& location,
                                     uint32_t pc, std::string_view source_root);

// `path` as the report shows it: relative to `source_root` when below it.
[[nodiscard]] std::string shown_source_path(std::string_view path, std::string_view source_root);

}  // namespace bpfvet::tools
