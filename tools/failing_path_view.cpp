#include "tools/failing_path_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace bpfvet::tools {
namespace {

using BlockKey = std::pair<uint32_t, ir::BlockId>;

// Keeps no path step between two errors' paths (mark_path would join them).
constexpr uint32_t PathSeparator = std::numeric_limits<uint32_t>::max();

std::optional<BlockKey> block_of(const ir::ProgramCfg& cfg, uint32_t pc) {
    if (pc >= cfg.block_of.size() || cfg.block_of[pc] < 0) return std::nullopt;
    return BlockKey{cfg.function_of[pc], ir::BlockId(cfg.block_of[pc])};
}

}  // namespace

FailingPathView failing_path_view(const ir::Program& program, const ir::ProgramCfg& cfg,
                                  std::span<const analyzer::Diagnostic> errors, size_t max_blocks) {
    FailingPathView out;
    std::vector<BlockKey> visited;  // path blocks in first-visit order, then the failing ones
    auto visit = [&](uint32_t pc) {
        auto key = block_of(cfg, pc);
        if (key && std::find(visited.begin(), visited.end(), *key) == visited.end()) visited.push_back(*key);
    };
    for (const auto& error : errors) {
        if (!out.view.path.empty()) out.view.path.push_back(PathSeparator);
        for (const auto& step : error.path) {
            out.view.path.push_back(step.pc);
            visit(step.pc);
        }
        out.view.failures.emplace_back(error.pc, fmt::format("error[{}]", error.code_name()));
        visit(error.pc);
    }

    size_t total_blocks = 0;
    for (const auto& function : cfg.functions) total_blocks += boost::num_vertices(function.graph);
    if (total_blocks > max_blocks && !errors.empty()) {
        const uint32_t failing_function = errors.front().pc < cfg.function_of.size() ? cfg.function_of[errors.front().pc] : 0;
        std::vector<BlockKey> on_path;
        for (const auto& key : visited)
            if (key.first == failing_function) on_path.push_back(key);
        std::set<BlockKey> chosen(on_path.begin(), on_path.end());
        const auto& graph = cfg.functions[failing_function].graph;
        for (const auto& [function, block] : on_path) {
            for (auto e : boost::make_iterator_range(boost::out_edges(block, graph)))
                chosen.insert({function, boost::target(e, graph)});
            for (auto e : boost::make_iterator_range(boost::in_edges(block, graph)))
                chosen.insert({function, boost::source(e, graph)});
        }
        std::string which = "on and next to";
        if (chosen.size() > max_blocks) {
            // The neighbours do not fit: the path alone, its end (the failure) first.
            which = "on";
            if (on_path.size() > max_blocks) {
                which = "nearest the failure on";
                on_path.erase(on_path.begin(), on_path.end() - ptrdiff_t(max_blocks));
            }
            chosen = std::set<BlockKey>(on_path.begin(), on_path.end());
        }
        out.scope_note = fmt::format(
            "{} has {} blocks, more than the {} drawn at most: drawn are the {} blocks {} the failing path in "
            "function {} ({} blocks)",
            program.name, total_blocks, max_blocks, chosen.size(), which, program.functions[failing_function].name,
            boost::num_vertices(graph));
        out.view.only_blocks = std::move(chosen);
    }
    for (const auto& key : visited)
        if (!out.view.only_blocks || out.view.only_blocks->contains(key))
            out.path_nodes.push_back(ir::block_node_name(key.first, key.second));
    return out;
}

}  // namespace bpfvet::tools
