#include "ir/cfg_dot.hpp"

#include "ir/disassembler.hpp"

#include <fmt/format.h>

#include <map>

namespace bpfvet::ir {
namespace {

// DOT record labels need these escaped; "\l" left-aligns each line.
std::string escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\' || c == '{' || c == '}' || c == '<' || c == '>' || c == '|') out += '\\';
        if (c == '\n' || c == '\t') c = ' ';
        out += c;
    }
    return out;
}

std::string_view edge_style(EdgeKind kind) {
    switch (kind) {
    case EdgeKind::Taken: return "color=darkgreen, label=\"taken\"";
    case EdgeKind::CallReturn: return "style=dashed, label=\"call/return\"";
    case EdgeKind::Fallthrough: break;
    }
    return "color=black";
}

using BlockKey = std::pair<uint32_t, BlockId>;  // function index, block

std::optional<BlockKey> block_key(const ProgramCfg& cfg, uint32_t pc) {
    if (pc >= cfg.block_of.size() || cfg.block_of[pc] < 0) return std::nullopt;
    return BlockKey{cfg.function_of[pc], BlockId(cfg.block_of[pc])};
}

// The blocks and block-to-block steps the failing paths take. A step leaves a
// block only from its last instruction into another block's first (a loop's
// back edge may lead into the same block).
struct PathMarks {
    std::set<BlockKey> blocks;
    std::set<std::pair<BlockKey, BlockId>> edges;  // (function, from), to
};

PathMarks mark_path(const ProgramCfg& cfg, const std::vector<uint32_t>& path) {
    PathMarks marks;
    for (size_t i = 0; i < path.size(); ++i) {
        auto here = block_key(cfg, path[i]);
        if (!here) continue;
        marks.blocks.insert(*here);
        if (i + 1 == path.size()) continue;
        auto next = block_key(cfg, path[i + 1]);
        if (!next || next->first != here->first) continue;
        const auto& graph = cfg.functions[here->first].graph;
        if (path[i] == graph[here->second].last && path[i + 1] == graph[next->second].first)
            marks.edges.insert({*here, next->second});
    }
    return marks;
}

std::string source_name(const std::string& file, bool short_name) {
    if (!short_name) return file;
    auto slash = file.find_last_of('/');
    return slash == std::string::npos ? file : file.substr(slash + 1);
}

}  // namespace

std::string block_node_name(uint32_t function, BlockId block) { return fmt::format("b{}_{}", function, block); }

std::string cfg_to_dot(const Program& program, const ProgramCfg& cfg, const Object* object, const CfgDotView& view) {
    DisassemblyContext context;
    context.object = object;
    context.functions = &program.functions;
    const PathMarks marks = mark_path(cfg, view.path);
    std::map<uint32_t, std::string> failures(view.failures.begin(), view.failures.end());
    std::set<BlockKey> failing_blocks;
    for (const auto& [pc, what] : failures)
        if (auto key = block_key(cfg, pc)) failing_blocks.insert(*key);
    auto drawn = [&](uint32_t function, BlockId block) {
        return !view.only_blocks || view.only_blocks->contains({function, block});
    };

    std::string out = fmt::format("digraph \"{}\" {{\n  node [shape=box, fontname=monospace];\n", escape(program.name));
    for (const auto& function_cfg : cfg.functions) {
        const uint32_t f = function_cfg.function_index;
        const auto& function = program.functions[f];
        std::string body;
        for (auto v : boost::make_iterator_range(boost::vertices(function_cfg.graph))) {
            if (!drawn(f, v)) continue;
            const auto& block = function_cfg.graph[v];
            std::string label;
            int32_t last_location = -1;
            for (uint32_t pc = block.first; pc <= block.last; pc += program.instructions[pc].is_lddw() ? 2 : 1) {
                int32_t location = pc < program.location_of.size() ? program.location_of[pc] : -1;
                if (location >= 0 && location != last_location) {
                    const auto& source = program.locations[size_t(location)];
                    label += escape(fmt::format("; {} [{}:{}]", source.text, source_name(source.file, view.short_file_names),
                                                source.line)) +
                             "\\l";
                    last_location = location;
                }
                const Instruction* next = pc + 1 < program.instructions.size() ? &program.instructions[pc + 1] : nullptr;
                context.pc = pc;
                std::string line = fmt::format("{}: {}", pc, disassemble(program.instructions[pc], next, context));
                if (auto failure = failures.find(pc); failure != failures.end()) line += "   <<< " + failure->second;
                label += escape(line) + "\\l";
            }
            std::string style;
            if (failing_blocks.contains({f, v}))
                style = ", style=filled, fillcolor=\"#ffd6d6\", color=\"#c00000\", penwidth=3";
            else if (marks.blocks.contains({f, v}))
                style = ", style=filled, fillcolor=\"#fff4c2\", color=\"#b8860b\", penwidth=2";
            const std::string name = block_node_name(f, v);
            body += fmt::format("    {} [id=\"{}{}\", label=\"{}\"{}];\n", name, escape(view.id_prefix), name, label, style);
        }
        if (body.empty()) continue;
        out += fmt::format("  subgraph cluster_{} {{\n    label=\"{}\";\n", f, escape(function.name)) + body;
        for (auto e : boost::make_iterator_range(boost::edges(function_cfg.graph))) {
            const BlockId from = boost::source(e, function_cfg.graph);
            const BlockId to = boost::target(e, function_cfg.graph);
            if (!drawn(f, from) || !drawn(f, to)) continue;
            std::string style(edge_style(function_cfg.graph[e]));
            if (marks.edges.contains({{f, from}, to})) style += ", color=\"#c00000\", penwidth=3";
            out += fmt::format("    {} -> {} [{}];\n", block_node_name(f, from), block_node_name(f, to), style);
        }
        out += "  }\n";
    }
    for (const auto& call : cfg.calls) {
        const BlockId caller_block = BlockId(cfg.block_of[call.pc]);
        const BlockId callee_entry = cfg.functions[call.callee].entry;
        if (!drawn(call.caller, caller_block) || !drawn(call.callee, callee_entry)) continue;
        out += fmt::format("  {} -> {} [style=dotted, color=blue, label=\"call\"];\n", block_node_name(call.caller, caller_block),
                           block_node_name(call.callee, callee_entry));
    }
    return out + "}\n";
}

}  // namespace bpfvet::ir
