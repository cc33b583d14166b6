// `bpfvet explain FILE [--section S]`: the full story of each rejection. The
// program is analysed, every alarm is refined with Z3 (analyzer/refine.hpp),
// and each counterexample is replayed in the checked interpreter. For every
// alarm it prints the error, its status (confirmed, discharged, undecided)
// and why, the path through the source lines, the input that breaks the
// program and the fault the replay hit. Exit 0 when every program is accepted
// after refinement, 1 when any is still rejected, 2 on bad input.
#include "analyzer/analyzer.hpp"
#include "ir/core_relocation.hpp"
#include "tools/cli_common.hpp"
#include "tools/text_output.hpp"
#include "tools/map_creation.hpp"
#include "tools/commands.hpp"
#include "tools/counterexample_replay.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <deque>

namespace bpfvet::tools {
namespace {

struct ExplainOptions {
    std::string file;
    ProgramSelection selection;
    std::string format = "text";
    unsigned z3_timeout_ms = 2000;
    double max_seconds = 10.0;
    std::string verdict = "kernel";
    std::string kernel_btf;  // empty: /sys/kernel/btf/vmlinux when it exists, as check
};

int run_explain(const ExplainOptions& options) {
    auto object = load_or_report(options.file);
    if (!object) return ExitBadInput;
    auto programs = select_programs(*object, options.selection);
    if (!programs) return ExitBadInput;

    analyzer::AnalysisOptions plain;
    plain.max_seconds = options.max_seconds;
    analyzer::AnalysisOptions refined = plain;
    refined.refine = analyzer::Refinement::Z3;
    refined.z3_timeout_ms = options.z3_timeout_ms;
    refined.verdict_by_safety = options.verdict == "safety";

    bool all_accepted = true;
    nlohmann::json json_programs = nlohmann::json::array();
    // BTF-typed programs and kfunc calls are typed from the kernel's BTF, and
    // CO-RE relocations applied, exactly as check does: explain tells the
    // story of check's errors, not of others.
    KernelBtfLoader kernel_btf(options.kernel_btf);
    std::deque<ir::Program> relocated;
    for (const ir::Program* listed : *programs) {
        auto btf = kernel_btf.for_program(*listed, listed->type);
        if (!btf) {
            fmt::print(stderr, "bpfvet: {}: {}: the kernel BTF '{}' is unusable\n", options.file, listed->section,
                       options.kernel_btf);
            return ExitBadInput;
        }
        plain.kernel_btf = refined.kernel_btf = *btf;
        const ir::Program* program = listed;
        if (*btf && !listed->core_relocations.empty())
            if (auto moved = ir::relocate_for_kernel(*object, *listed, **btf)) program = &relocated.emplace_back(std::move(*moved));
        analyzer::AnalysisResult before = analyzer::analyze_program(*object, *program, plain);
        reject_for_uncreatable_maps(*object, *program, before);  // as check does
        analyzer::AnalysisResult after = before.accepted ? before : analyzer::analyze_program(*object, *program, refined);
        if (!before.accepted) reject_for_uncreatable_maps(*object, *program, after);
        if (!before.accepted) confirm_counterexamples(*object, size_t(listed - object->programs.data()), after);
        all_accepted = all_accepted && after.accepted;
        if (options.format == "json") {
            nlohmann::json errors = nlohmann::json::array(), discharged = nlohmann::json::array();
            for (const auto& e : after.errors) errors.push_back(e.to_json());
            for (const auto& e : after.discharged) discharged.push_back(e.to_json());
            json_programs.push_back({{"section", program->section},
                                     {"name", program->name},
                                     {"plain_verdict", before.accepted ? "accept" : "reject"},
                                     {"verdict", after.accepted ? "accept" : "reject"},
                                     {"errors", errors},
                                     {"discharged", discharged},
                                     {"seconds", before.seconds},
                                     {"refine_seconds", after.refine_seconds}});
            continue;
        }
        fmt::print("{} {}/{}: ", object->path, program->section, program->name);
        if (before.accepted) {
            fmt::print("accepted by the abstract analysis alone; nothing to explain\n");
            continue;
        }
        fmt::print("{} alarm(s) from the abstract analysis; after refinement: {} ({:.3f} s of refinement)\n",
                   before.errors.size() , after.accepted ? "accept" : "reject", after.refine_seconds);
        for (const auto& alarm : after.discharged) fmt::print("\ndischarged {}", alarm.to_text());
        for (const auto& error : after.errors) fmt::print("\n{}", error.to_text());
        fmt::print("\n");
    }
    if (options.format == "json") {
        nlohmann::json out = {{"file", object->path}, {"programs", json_programs}};
        fmt::print("{}\n", json_text(out));
    }
    return all_accepted ? ExitOk : ExitRejected;
}

}  // namespace

void register_explain_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<ExplainOptions>();
    auto* command = app.add_subcommand(
        "explain", "Refine each rejection with Z3 and tell its story: discharged, or the input that breaks the program");
    command->add_option("file", options->file, "eBPF ELF object")->required();
    add_selection_options(*command, options->selection, true);
    command->add_option("--format,-f", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
    command->add_option("--z3-timeout", options->z3_timeout_ms, "Milliseconds per Z3 query (default 2000)")
        ->check(CLI::PositiveNumber);
    command->add_option("--max-seconds", options->max_seconds, "Time budget per analysis in seconds (default 10)")
        ->check(CLI::PositiveNumber);
    command->add_option("--kernel-btf", options->kernel_btf,
                        "Kernel BTF for BTF-typed programs and kfuncs (default: /sys/kernel/btf/vmlinux when present)");
    command->add_option("--verdict", options->verdict,
                        "Who decides: kernel (default) or safety (alarms proven safe no longer reject)")
        ->check(CLI::IsMember({"kernel", "safety"}));
    command->callback([options, &action] { action = [options] { return run_explain(*options); }; });
}

}  // namespace bpfvet::tools
