// `bpfvet check FILE`: runs the analyzer on each selected program and says
// whether the kernel's safety rules hold. Exit 0 when every program is
// accepted, 1 when any is rejected, 2 on bad input.
#include "analyzer/analyzer.hpp"
#include "ir/disassembler.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfvet::tools {
namespace {

struct CheckOptions {
    std::string file;
    ProgramSelection selection;
    std::string format = "text";
    bool print_invariants = false;
    bool unprivileged = false;
    uint64_t max_steps = 1'000'000;
    double max_seconds = 10.0;
    size_t max_disjuncts = 32;
};

int run_check(const CheckOptions& options) {
    auto object = load_or_report(options.file);
    if (!object) return ExitBadInput;
    auto programs = select_programs(*object, options.selection);
    if (!programs) return ExitBadInput;

    analyzer::AnalysisOptions analysis;
    analysis.unprivileged = options.unprivileged;
    analysis.record_invariants = options.print_invariants;
    analysis.max_steps = options.max_steps;
    analysis.max_seconds = options.max_seconds;
    analysis.max_disjuncts = options.max_disjuncts;

    bool all_accepted = true;
    nlohmann::json json_programs = nlohmann::json::array();
    for (const ir::Program* program : *programs) {
        analyzer::AnalysisResult result = analyzer::analyze_program(*object, *program, analysis);
        all_accepted = all_accepted && result.accepted;
        if (options.format == "json") {
            nlohmann::json errors = nlohmann::json::array();
            for (const auto& e : result.errors) errors.push_back(e.to_json());
            nlohmann::json item = {{"section", program->section},
                                   {"name", program->name},
                                   {"type", std::string(ir::program_type_name(result.type))},
                                   {"verdict", result.accepted ? "accept" : "reject"},
                                   {"errors", errors},
                                   {"insn_count", program->instructions.size()},
                                   {"steps", result.steps},
                                   {"seconds", result.seconds}};
            if (options.print_invariants) {
                nlohmann::json invariants = nlohmann::json::object();
                for (const auto& [pc, text] : result.invariants) invariants[std::to_string(pc)] = text;
                item["invariants"] = invariants;
            }
            json_programs.push_back(std::move(item));
            continue;
        }
        fmt::print("{} {}/{} ({}, {} instructions): {} ({} steps, {:.3f} s)\n", object->path, program->section,
                   program->name, ir::program_type_name(result.type), program->instructions.size(),
                   result.accepted ? "accept" : "reject", result.steps, result.seconds);
        if (options.print_invariants) {
            for (size_t pc = 0; pc < program->instructions.size(); ++pc) {
                auto found = result.invariants.find(uint32_t(pc));
                if (found == result.invariants.end()) continue;
                const ir::Instruction* next = pc + 1 < program->instructions.size() ? &program->instructions[pc + 1] : nullptr;
                ir::DisassemblyContext context{pc, &*object, &program->functions, nullptr};
                fmt::print("  {{ {} }}\n  {:>5}: {}\n", found->second, pc,
                           ir::disassemble(program->instructions[pc], next, context));
            }
        }
        for (const auto& error : result.errors) fmt::print("{}", error.to_text());
    }
    if (options.format == "json") {
        nlohmann::json out = {{"file", object->path}, {"programs", json_programs}};
        fmt::print("{}\n", out.dump(2));
    }
    return all_accepted ? ExitOk : ExitRejected;
}

}  // namespace

void register_check_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<CheckOptions>();
    auto* command = app.add_subcommand("check", "Decide whether the kernel's safety rules hold for each program");
    command->add_option("file", options->file, "eBPF ELF object")->required();
    add_selection_options(*command, options->selection, true);
    command->add_option("--format,-f", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
    command->add_flag("--print-invariants", options->print_invariants, "Print the abstract state before each instruction");
    command->add_flag("--unprivileged", options->unprivileged,
                      "Apply the stricter rules of an unprivileged loader (no pointer leaks or comparisons)");
    command->add_option("--max-steps", options->max_steps, "Budget of abstract instruction steps (default 1000000)");
    command->add_option("--max-seconds", options->max_seconds, "Time budget per program in seconds (default 10)");
    command->add_option("--max-disjuncts", options->max_disjuncts,
                        "States kept apart per program point before they are joined (default 32)");
    command->callback([options, &action] { action = [options] { return run_check(*options); }; });
}

}  // namespace bpfvet::tools
