#include "ir/cfg_dot.hpp"

#include "ir/disassembler.hpp"

#include <fmt/format.h>

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

}  // namespace

std::string cfg_to_dot(const Program& program, const ProgramCfg& cfg, const Object* object) {
    DisassemblyContext context;
    context.object = object;
    context.functions = &program.functions;
    std::string out = fmt::format("digraph \"{}\" {{\n  node [shape=box, fontname=monospace];\n", escape(program.name));
    for (const auto& function_cfg : cfg.functions) {
        const auto& function = program.functions[function_cfg.function_index];
        out += fmt::format("  subgraph cluster_{} {{\n    label=\"{}\";\n", function_cfg.function_index, escape(function.name));
        for (auto v : boost::make_iterator_range(boost::vertices(function_cfg.graph))) {
            const auto& block = function_cfg.graph[v];
            std::string label;
            int32_t last_location = -1;
            for (uint32_t pc = block.first; pc <= block.last; pc += program.instructions[pc].is_lddw() ? 2 : 1) {
                int32_t location = pc < program.location_of.size() ? program.location_of[pc] : -1;
                if (location >= 0 && location != last_location) {
                    const auto& source = program.locations[size_t(location)];
                    label += escape(fmt::format("; {} [{}:{}]", source.text, source.file, source.line)) + "\\l";
                    last_location = location;
                }
                const Instruction* next = pc + 1 < program.instructions.size() ? &program.instructions[pc + 1] : nullptr;
                context.pc = pc;
                label += escape(fmt::format("{}: {}", pc, disassemble(program.instructions[pc], next, context))) + "\\l";
            }
            out += fmt::format("    b{}_{} [label=\"{}\"];\n", function_cfg.function_index, v, label);
        }
        for (auto e : boost::make_iterator_range(boost::edges(function_cfg.graph)))
            out += fmt::format("    b{0}_{1} -> b{0}_{2} [{3}];\n", function_cfg.function_index, boost::source(e, function_cfg.graph),
                               boost::target(e, function_cfg.graph), edge_style(function_cfg.graph[e]));
        out += "  }\n";
    }
    for (const auto& call : cfg.calls)
        out += fmt::format("  b{}_{} -> b{}_{} [style=dotted, color=blue, label=\"call\"];\n", call.caller,
                           cfg.block_of[call.pc], call.callee, cfg.functions[call.callee].entry);
    return out + "}\n";
}

}  // namespace bpfvet::ir
