// Graphviz DOT for a program's CFGs: one cluster per function, blocks labelled
// with their instructions and, where BTF has them, the source lines.
#pragma once

#include "ir/cfg.hpp"

#include <optional>
#include <set>
#include <string>
#include <utility>

namespace bpfvet::ir {

// What to emphasise and what to leave out when drawing (the failing path of a
// rejection, the neighbourhood of a large program's failure).
struct CfgDotView {
    // Slots executed on failing paths: their blocks are drawn highlighted, and
    // an edge between two consecutive ones is drawn bold red.
    std::vector<uint32_t> path;
    // Failing instructions: their blocks are drawn red and the instruction marked.
    std::vector<std::pair<uint32_t, std::string>> failures;  // pc, "error[code]"
    // Only these blocks (function index, block) are drawn; nullopt: all of them.
    std::optional<std::set<std::pair<uint32_t, BlockId>>> only_blocks;
    // Prefix of every node's id (SVG element ids), so several graphs can share one page.
    std::string id_prefix;
    // Source files by their last path component (block labels stay narrow).
    bool short_file_names = false;
};

[[nodiscard]] std::string cfg_to_dot(const Program& program, const ProgramCfg& cfg, const Object* object,
                                     const CfgDotView& view = {});

// "b<function>_<block>": the node name (and, prefixed, the SVG id) of a block.
[[nodiscard]] std::string block_node_name(uint32_t function, BlockId block);

}  // namespace bpfvet::ir
