// What of a rejected program's CFG to draw: the failing paths highlighted, and
// for a program too large for dot to lay out quickly (Cilium's thousands of
// blocks), only the failing function's blocks on and next to the failing path.
#pragma once

#include "analyzer/diagnostic.hpp"
#include "ir/cfg_dot.hpp"

#include <span>
#include <string>

namespace bpfvet::tools {

// Above this many blocks the whole graph is not drawn: dot takes tens of
// seconds to minutes on thousands of blocks, and nobody reads such a picture.
inline constexpr size_t MaxDrawnBlocks = 300;

struct FailingPathView {
    ir::CfgDotView view;
    // Empty when the whole graph is drawn, else which part is and why.
    std::string scope_note;
    // The highlighted blocks' node names ("b0_3"), in first-visit order.
    std::vector<std::string> path_nodes;
};

// The view of `cfg` for `errors` (their paths and failing pcs).
[[nodiscard]] FailingPathView failing_path_view(const ir::Program& program, const ir::ProgramCfg& cfg,
                                                std::span<const analyzer::Diagnostic> errors,
                                                size_t max_blocks = MaxDrawnBlocks);

}  // namespace bpfvet::tools
