// `bpfvet cfg FILE --section S --format dot|text|svg`: control-flow graphs.
// svg lays the graph out with Graphviz (tools/graphviz.hpp) and, when the
// program's type is known and the analyzer rejects it, highlights the failing
// paths (tools/failing_path_view.hpp).
#include "analyzer/analyzer.hpp"
#include "ir/cfg_dot.hpp"
#include "ir/core_relocation.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"
#include "tools/failing_path_view.hpp"
#include "tools/graphviz.hpp"

#include <fmt/format.h>

namespace bpfvet::tools {
namespace {

struct CfgOptions {
    std::string file;
    ProgramSelection selection;
    std::string format = "dot";
    std::string kernel_btf;
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

// The errors of `program` as check finds them (kernel BTF and CO-RE relocations
// included), or none with a note on stderr when its type is unknown.
std::vector<analyzer::Diagnostic> rejection_of(const ir::Object& object, const ir::Program& program,
                                               const CfgOptions& options) {
    auto type = decide_program_type(program, options.selection.type, options.file);
    if (!type) {
        fmt::print(stderr, "bpfvet: {}; the graph is drawn without a failing path\n", type.error());
        return {};
    }
    KernelBtfLoader kernel_btf(options.kernel_btf);
    auto btf = kernel_btf.for_program(program, *type);
    analyzer::AnalysisOptions analysis;
    if (btf) analysis.kernel_btf = *btf;
    ir::Program typed = program;
    typed.type = *type;
    if (btf && *btf && !program.core_relocations.empty())
        if (auto moved = ir::relocate_for_kernel(object, typed, **btf)) typed = std::move(*moved);
    return analyzer::analyze_program(object, typed, analysis).errors;
}

int print_svg(const ir::Object& object, const ir::Program& program, const ir::ProgramCfg& cfg, const CfgOptions& options) {
    if (find_dot().empty()) {
        fmt::print(stderr, "bpfvet: {}\n", GraphvizMissing);
        return ExitBadInput;
    }
    const auto errors = rejection_of(object, program, options);
    FailingPathView picture = failing_path_view(program, cfg, errors);
    picture.view.short_file_names = true;
    if (!picture.scope_note.empty()) fmt::print(stderr, "bpfvet: {}\n", picture.scope_note);
    // Generous: a whole accepted graph of a few hundred blocks takes a few seconds.
    auto svg = render_svg(ir::cfg_to_dot(program, cfg, &object, picture.view), std::chrono::seconds(120));
    if (!svg) {
        fmt::print(stderr, "bpfvet: {}: {}\n", options.file, svg.error());
        return ExitBadInput;
    }
    fmt::print("{}", *svg);
    return errors.empty() ? ExitOk : ExitRejected;
}

int run_cfg(const CfgOptions& options) {
    auto object = load_or_report(options.file);
    if (!object) return ExitBadInput;
    auto programs = select_programs(*object, options.selection, /*need_type=*/false);
    if (!programs) return ExitBadInput;
    if (options.format == "svg" && programs->size() != 1) {
        fmt::print(stderr, "bpfvet: {}: svg draws one program and {} are selected: choose one with --section or --program\n",
                   options.file, programs->size());
        return ExitBadInput;
    }
    for (const ir::Program* program : *programs) {
        auto cfg = ir::build_cfg(*program);
        if (!cfg) {
            auto error = cfg.error();
            error.file = options.file;
            fmt::print(stderr, "bpfvet: {}\n", error.to_string());
            return ExitBadInput;
        }
        if (options.format == "svg") return print_svg(*object, *program, *cfg, options);
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
    auto* command = app.add_subcommand(
        "cfg", "Print the control-flow graphs of programs (Graphviz DOT, SVG with the failing path, or a text summary)");
    command->add_option("file", options->file, "eBPF ELF object")->required();
    add_selection_options(*command, options->selection, true);
    command->add_option("--format,-f", options->format,
                        "Output format: dot, text, or svg (one program laid out by Graphviz's dot, the failing paths "
                        "highlighted when the analyzer rejects it; exit 1 then)")
        ->check(CLI::IsMember({"dot", "text", "svg"}));
    command->add_option("--kernel-btf", options->kernel_btf,
                        "Kernel BTF typing BTF-typed programs for svg's analysis (default: /sys/kernel/btf/vmlinux)");
    command->callback([options, &action] { action = [options] { return run_cfg(*options); }; });
}

}  // namespace bpfvet::tools
