// Graphviz `dot`, an optional runtime dependency (Debian's `graphviz`): DOT in,
// SVG out, run as a child process found on PATH.
#pragma once

#include <chrono>
#include <expected>
#include <string>
#include <string_view>

namespace bpfvet::tools {

// What to tell the user when `dot` is missing (names the package).
inline constexpr std::string_view GraphvizMissing =
    "Graphviz 'dot' was not found on PATH: install the graphviz package (apt-get install graphviz)";

// The path of `dot` on PATH, or "" when there is none.
[[nodiscard]] std::string find_dot();

// Lays `dot_text` out as SVG. Fails with GraphvizMissing when there is no
// `dot`, with dot's own message when it fails, and when it runs longer than
// `limit` (killed: a safety net for graphs too large to lay out, not a verdict).
[[nodiscard]] std::expected<std::string, std::string> render_svg(std::string_view dot_text,
                                                                 std::chrono::seconds limit);

}  // namespace bpfvet::tools
