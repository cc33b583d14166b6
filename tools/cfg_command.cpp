// `bpfvet cfg FILE --section S --format dot|text`: control-flow graphs.
#include "ir/cfg_dot.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace bpfvet::tools {
namespace {

struct CfgOptions {
    std::string file;
    ProgramSelection selection;
    std::string format = "dot";
};

void print_wto(const std::vector<ir::WtoElement>& elements, const ir::CfgGraph& graph, std::string& out) {
    for (const auto& e : elements) {
        if (!out.empty() && out.back() != '(') out += ' ';
        if (e.is_component) out += '(';
        out += fmt::format("{}", graph[e.block].first);
        if (e.is_component) {
            print_wto(e.body, graph, out);
            out += ')';
        }
    }
}

int run_cfg(const CfgOptions& options) {
    auto object = load_or_report(options.file);
    if (!object) return ExitBadInput;
    auto programs = select_programs(*object, options.selection, /*need_type=*/false);
    if (!programs) return ExitBadInput;
    for (const ir::Program* program : *programs) {
        auto cfg = ir::build_cfg(*program);
        if (!cfg) {
            auto error = cfg.error();
            error.file = options.file;
            fmt::print(stderr, "bpfvet: {}\n", error.to_string());
            return ExitBadInput;
        }
        if (options.format == "dot") {
            fmt::print("{}", ir::cfg_to_dot(*program, *cfg, &*object));
            continue;
        }
        fmt::print("program {} (section {})\n", program->name, program->section);
        for (const auto& f : cfg->functions) {
            std::string wto;
            print_wto(f.wto, f.graph, wto);
            fmt::print("  function {}: {} blocks, {} loop heads, {} unreachable blocks\n    WTO (by first pc): {}\n",
                       program->functions[f.function_index].name, boost::num_vertices(f.graph), f.loop_heads.size(),
                       f.unreachable_blocks.size(), wto);
        }
    }
    return ExitOk;
}

}  // namespace

void register_cfg_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<CfgOptions>();
    auto* command = app.add_subcommand("cfg", "Print the control-flow graphs of programs (Graphviz DOT or a text summary)");
    command->add_option("file", options->file, "eBPF ELF object")->required();
    add_selection_options(*command, options->selection, false);
    command->add_option("--format,-f", options->format, "Output format")->check(CLI::IsMember({"dot", "text"}));
    command->callback([options, &action] { action = [options] { return run_cfg(*options); }; });
}

}  // namespace bpfvet::tools
