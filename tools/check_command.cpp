// `bpfvet check FILE...`: runs the analyzer on each selected program of each
// object and says whether the kernel's safety rules hold. Exit 0 when every program is
// accepted, 1 when any is rejected, 2 on bad input. With --kernel the running
// kernel's verdict is shown beside ours (the exit code stays ours); the CI
// formats (sarif, github, junit) are written by tools/check_report.cpp.
#include "analyzer/analyzer.hpp"
#include "ir/core_relocation.hpp"
#include "ir/disassembler.hpp"
#include "runtime/kernel_loader.hpp"
#include "tools/baseline.hpp"
#include "tools/check_report.hpp"
#include "tools/html_report.hpp"
#include "tools/check_trace.hpp"
#include "tools/cli_common.hpp"
#include "tools/text_output.hpp"
#include "tools/commands.hpp"
#include "tools/counterexample_replay.hpp"
#include "tools/map_creation.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <deque>
#include <optional>
#include <expected>
#include <filesystem>

namespace bpfvet::tools {
namespace {

struct CheckOptions {
    std::vector<std::string> files;
    ProgramSelection selection;
    std::string format = "text";
    bool print_invariants = false;
    bool trace = false;        // the states per path at --pc/--line, else at each error's pc
    std::string pc, line;      // --pc N|A-B, --line FILE:L: where to trace, which invariants to print
    size_t trace_paths = 20;   // visits shown per traced instruction
    PlaceFilter place;         // parsed from pc and line
    bool unprivileged = false;
    bool kernel = false;  // also load into the running kernel
    bool fail_on_kernel_reject = false;  // with --kernel: the kernel's rejection fails the check too
    std::string source_root;  // sarif/github paths relative to this (default: the working directory)
    uint64_t max_steps = 1'000'000;
    double max_seconds = 60.0;
    size_t max_disjuncts = 32;
    std::string refine = "none";  // "z3": refine alarms with path formulas (analyzer/refine.hpp)
    unsigned z3_timeout_ms = 2000;
    std::string kernel_btf;  // empty: /sys/kernel/btf/vmlinux when it exists
    std::string verdict = "kernel";  // "safety": alarms refinement proves safe no longer reject
    std::string baseline;  // known rejections: only errors not in it fail (exit 1)
};

// Loads `path` and picks its programs; on failure the located message is
// printed to stderr and returned, for the CI formats to report as well.
std::expected<std::vector<const ir::Program*>, std::string> load_and_select(const std::string& path,
                                                                            const ProgramSelection& selection,
                                                                            std::deque<ir::Object>& objects) {
    auto loaded = load_object_reporting(path);
    if (!loaded) return std::unexpected(loaded.error());
    ir::Object& object = objects.emplace_back(std::move(*loaded));
    auto programs = select_programs_reporting(object, selection);
    if (!programs) return std::unexpected(programs.error());
    return *programs;
}

// The JSON item of one checked program.
nlohmann::json program_json(const ProgramReport& report, const CheckOptions& options) {
    const analyzer::AnalysisResult& result = report.analysis;
    const ir::Program* program = report.program;
    nlohmann::json errors = nlohmann::json::array();
    for (size_t i = 0; i < result.errors.size(); ++i) {
        errors.push_back(result.errors[i].to_json());
        if (report.against_baseline) errors.back()["baseline"] = report.known(i) ? "unchanged" : "new";
    }
    nlohmann::json item = {{"section", program->section},
                           {"name", program->name},
                           {"type", std::string(ir::program_type_name(result.type))},
                           {"verdict", result.accepted ? "accept" : "reject"},
                           {"errors", errors},
                           {"insn_count", program->instructions.size()},
                           {"steps", result.steps},
                           // The kernel's complexity figures, as our exploration counts them.
                           {"processed_insns", result.processed_instructions},
                           {"total_states", result.total_states},
                           {"peak_states", result.peak_states},
                           {"seconds", result.seconds}};
    if (options.print_invariants) {
        nlohmann::json invariants = nlohmann::json::object();
        const std::vector<uint32_t> selected = filtered_pcs(*program, options.place);
        for (const auto& [pc, text] : result.invariants)
            if (options.place.everywhere() || std::ranges::binary_search(selected, pc)) invariants[std::to_string(pc)] = text;
        item["invariants"] = invariants;
    }
    if (options.trace) item["trace"] = trace_json(*report.object, *program, result);
    if (report.kernel) item["kernel"] = kernel_json(report);
    if (options.refine == "z3") {
        nlohmann::json discharged = nlohmann::json::array();
        for (const auto& e : result.discharged) discharged.push_back(e.to_json());
        item["discharged"] = discharged;
        item["refine_seconds"] = result.refine_seconds;
    }
    return item;
}

// With --source-root, text and JSON name source files as SARIF and GitHub do.
void relativize_source_paths(analyzer::AnalysisResult& analysis, std::string_view source_root) {
    auto relativize = [&](std::optional<ir::SourceLocation>& location) {
        if (location) location->file = relative_source_path(location->file, source_root);
    };
    for (auto* diagnostics : {&analysis.errors, &analysis.discharged})
        for (auto& diagnostic : *diagnostics) {
            relativize(diagnostic.location);
            for (auto& step : diagnostic.also_at) relativize(step.location);
            if (!diagnostic.story) continue;
            for (auto& step : diagnostic.story->origin) relativize(step.location);
            for (auto& step : diagnostic.story->evidence) relativize(step.location);
        }
}

void print_program_text(const ProgramReport& report, const ir::Object& object, const CheckOptions& options) {
    const analyzer::AnalysisResult& result = report.analysis;
    const ir::Program* program = report.program;
    fmt::print("{} {}/{} ({}, {} instructions): {} ({} steps, {:.3f} s)\n", object.path, program->section,
               program->name, ir::program_type_name(result.type), program->instructions.size(),
               result.accepted ? "accept" : "reject", result.steps, result.seconds);
    fmt::print("  complexity: the kernel would process about {} of its {} instructions ({} states stored, "
               "at most {} at once)\n",
               result.processed_instructions, analyzer::AnalysisOptions{}.max_steps, result.total_states,
               result.peak_states);
    if (options.print_invariants) {
        for (uint32_t pc : filtered_pcs(*program, options.place)) {
            auto found = result.invariants.find(uint32_t(pc));
            if (found == result.invariants.end()) continue;
            const ir::Instruction* next = pc + 1 < program->instructions.size() ? &program->instructions[pc + 1] : nullptr;
            ir::DisassemblyContext context{pc, &object, &program->functions, nullptr};
            fmt::print("  {{ {} }}\n  {:>5}: {}\n", found->second, pc,
                       ir::disassemble(program->instructions[pc], next, context));
        }
    }
    for (size_t i = 0; i < result.errors.size(); ++i) {
        fmt::print("{}", result.errors[i].to_text());
        if (report.known(i)) fmt::print("  baseline: a known rejection (in {}), not a new one\n", options.baseline);
    }
    for (const auto& alarm : result.discharged) fmt::print("discharged {}", alarm.to_text());
    if (options.trace) {
        if (result.traces.empty())
            fmt::print("  trace: {}\n", options.place.everywhere() ? "no error to trace (give --pc or --line)"
                                                                    : "no instruction of this program is at --pc/--line");
        fmt::print("{}", trace_text(object, *program, result, options.trace_paths));
    }
    if (report.kernel) fmt::print("{}", kernel_text(report));
}

int run_check(CheckOptions options) {
    if (auto place = parse_place_filter(options.pc, options.line)) {
        options.place = *place;
    } else {
        fmt::print(stderr, "bpfvet: {}\n", place.error());
        return ExitBadInput;
    }
    if (!options.place.everywhere() && !options.trace && !options.print_invariants) {
        fmt::print(stderr, "bpfvet: --pc and --line choose where --trace or --print-invariants look: give one of them\n");
        return ExitBadInput;
    }
    analyzer::AnalysisOptions analysis;
    analysis.unprivileged = options.unprivileged;
    analysis.record_invariants = options.print_invariants;
    analysis.max_steps = options.max_steps;
    analysis.max_seconds = options.max_seconds;
    analysis.max_disjuncts = options.max_disjuncts;
    analysis.refine = options.refine == "z3" ? analyzer::Refinement::Z3 : analyzer::Refinement::None;
    analysis.z3_timeout_ms = options.z3_timeout_ms;
    analysis.verdict_by_safety = options.verdict == "safety";

    std::error_code ignored;
    const std::string source_root = std::filesystem::weakly_canonical(
        options.source_root.empty() ? std::filesystem::current_path(ignored) : std::filesystem::path(options.source_root), ignored);
    std::optional<Baseline> baseline;
    if (!options.baseline.empty()) {
        auto read = Baseline::read(options.baseline, source_root);
        if (!read) {
            fmt::print(stderr, "bpfvet: {}\n", read.error());
            return ExitBadInput;
        }
        baseline = std::move(*read);
    }
    bool all_accepted = true;
    std::deque<ir::Object> objects;     // alive as long as the reports that point into them
    std::deque<ir::Program> relocated;  // CO-RE-relocated copies, likewise
    std::vector<ProgramReport> reports;
    std::vector<InputFailure> failures;
    nlohmann::json json_objects = nlohmann::json::array();
    KernelBtfLoader kernel_btf(options.kernel_btf);
    for (const std::string& file : options.files) {
        auto programs = load_and_select(file, options.selection, objects);
        if (!programs) {
            failures.push_back({file, programs.error()});
            json_objects.push_back({{"file", file}, {"error", programs.error()}});
            continue;
        }
        const ir::Object& object = objects.back();
        nlohmann::json json_programs = nlohmann::json::array();
        for (const ir::Program* listed : *programs) {
            const size_t index = size_t(listed - object.programs.data());
            auto btf = kernel_btf.for_program(*listed, listed->type);
            if (!btf) {
                failures.push_back({file, fmt::format("{}: {}: the kernel BTF '{}' is unusable", file, listed->section,
                                                      options.kernel_btf)});
                continue;
            }
            analysis.kernel_btf = *btf;
            // BTF-typed programs are checked as libbpf would load them: CO-RE relocations applied.
            const ir::Program* program = listed;
            if (*btf && !listed->core_relocations.empty()) {
                auto moved = ir::relocate_for_kernel(object, *listed, **btf);
                if (moved) program = &relocated.emplace_back(std::move(*moved));
                else fmt::print(stderr, "bpfvet: {}: {}: {}; checking the compiled offsets\n", object.path,
                                listed->section, moved.error());
            }
            analysis.trace = {};
            if (options.trace && !options.place.everywhere())
                analysis.trace = {trace_points(*program, options.place), options.trace_paths};
            ProgramReport& report = reports.emplace_back(
                ProgramReport{object.path, program, analyzer::analyze_program(object, *program, analysis), std::nullopt, false, {}});
            report.object = &object;
            if (options.trace && options.place.everywhere() && !report.analysis.errors.empty()) {
                // Trace where each error fails: a second analysis, which records the states there.
                for (const auto& error : report.analysis.errors) analysis.trace.pcs.push_back(error.pc);
                analysis.trace.max_visits = options.trace_paths;
                report.analysis = analyzer::analyze_program(object, *program, analysis);
            }
            reject_for_uncreatable_maps(object, *program, report.analysis);
            if (analysis.refine == analyzer::Refinement::Z3) confirm_counterexamples(object, index, report.analysis);
            if (!options.source_root.empty()) relativize_source_paths(report.analysis, source_root);
            if (baseline) mark_baseline(report, *baseline, source_root);
            all_accepted = all_accepted && !report.new_rejection();
            if (options.kernel) {
                // The running kernel's BTF ids: reuse what we parsed only when it is the running kernel's.
                runtime::kernel::KernelLoadOptions load;
                if (options.kernel_btf.empty()) load.kernel_btf = analysis.kernel_btf;
                report.kernel = runtime::kernel::load_in_kernel(object, *program, report.analysis.type, load);
                if (options.fail_on_kernel_reject && report.kernel->verdict == runtime::kernel::KernelVerdict::Reject)
                    all_accepted = false;
            }
            if (options.format == "json") json_programs.push_back(program_json(report, options));
            if (options.format == "text") print_program_text(report, object, options);
        }
        json_objects.push_back({{"file", object.path}, {"programs", json_programs}});
    }
    if (options.format == "sarif") fmt::print("{}\n", json_text(sarif_report(reports, source_root, failures)));
    if (options.format == "github") fmt::print("{}", github_report(reports, source_root, failures));
    if (options.format == "junit") fmt::print("{}", junit_report(reports, failures));
    if (options.format == "html") fmt::print("{}", html_report(reports, objects, failures, {source_root, true}));
    if (options.format == "json") {
        // One object: {file, programs} (or {file, error}); several: {objects: [...]}.
        nlohmann::json out = json_objects.size() == 1 ? json_objects[0] : nlohmann::json{{"objects", json_objects}};
        if (kernel_btf.loaded())
            out["kernel_btf"] = {{"path", kernel_btf.loaded()->origin()},
                                 {"types", kernel_btf.loaded()->type_count()},
                                 {"parse_seconds", kernel_btf.parse_seconds()}};
        fmt::print("{}\n", json_text(out));
    }
    if (!failures.empty()) return ExitBadInput;
    return all_accepted ? ExitOk : ExitRejected;
}

}  // namespace

void register_check_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<CheckOptions>();
    auto* command = app.add_subcommand("check", "Decide whether the kernel's safety rules hold for each program");
    command->add_option("files", options->files, "eBPF ELF objects (one report for all of them)")->required();
    add_selection_options(*command, options->selection, true);
    command->add_option("--format,-f", options->format,
                        "Output format: text, json, sarif (SARIF 2.1.0 for code scanning), github (workflow "
                        "annotations), junit (one test case per program), html (one page: verdicts, annotated source, "
                        "the CFG with the failing path via Graphviz, the causal story)")
        ->check(CLI::IsMember({"text", "json", "sarif", "github", "junit", "html"}));
    command->add_flag("--kernel", options->kernel,
                      "Also load each program into the running kernel (needs root) and show its verdict and log "
                      "beside ours; the exit code stays bpfvet's");
    command->add_flag("--fail-on-kernel-reject", options->fail_on_kernel_reject,
                      "With --kernel: exit 1 when the kernel rejects a program, even one bpfvet accepts")
        ->needs(command->get_option("--kernel"));
    command->add_option("--source-root", options->source_root,
                        "Write source paths below this directory relative to it: in every format when given; sarif and "
                        "github default to the working directory (the repository root in CI)");
    command->add_flag("--print-invariants", options->print_invariants,
                      "Print the abstract state before each instruction (the join of every path; --pc/--line choose where)");
    command->add_flag("--trace", options->trace,
                      "Show the state path by path (each visit of the exploration, its branch decisions, whether a "
                      "verified state pruned it) at --pc/--line, else where each error fails, then their join");
    command->add_option("--pc", options->pc, "With --trace or --print-invariants: instruction N or range A-B");
    command->add_option("--line", options->line,
                        "With --trace or --print-invariants: the instructions of source line FILE:L (FILE may be a "
                        "trailing part of the path BTF records)");
    command->add_option("--trace-paths", options->trace_paths, "Visits shown per traced instruction (default 20)")
        ->check(CLI::PositiveNumber);
    command->add_flag("--unprivileged", options->unprivileged,
                      "Apply the stricter rules of an unprivileged loader (no pointer leaks or comparisons)");
    command->add_option("--max-steps", options->max_steps, "Budget of abstract instruction steps (default 1000000)")
        ->check(CLI::PositiveNumber);
    command->add_option("--max-seconds", options->max_seconds, "Wall-clock safety net per program in seconds (default 60); the verdict is decided by --max-steps, as the kernel decides by processed instructions")
        ->check(CLI::PositiveNumber);
    command->add_option("--refine", options->refine,
                        "Refine alarms: z3 asks Z3 whether an execution reaches each failing check, then discharges "
                        "it (re-analysis split at the branches Z3 blames) or replays the input that breaks it")
        ->check(CLI::IsMember({"none", "z3"}));
    command->add_option("--z3-timeout", options->z3_timeout_ms, "Milliseconds per Z3 query with --refine z3 (default 2000)")
        ->check(CLI::PositiveNumber);
    command->add_option("--verdict", options->verdict,
                        "Who decides: kernel (default: what the Linux kernel will say; alarms proven safe are "
                        "reported as such but still reject) or safety (our own proof decides, for research runs)")
        ->check(CLI::IsMember({"kernel", "safety"}));
    command->add_option("--kernel-btf", options->kernel_btf,
                        "Kernel BTF (raw, as /sys/kernel/btf/vmlinux, or an ELF with .BTF) typing the arguments of "
                        "fentry/fexit/fmod_ret/tp_btf/lsm programs (default: /sys/kernel/btf/vmlinux when present)");
    command->add_option("--baseline", options->baseline,
                        "Known rejections: the JSON or SARIF output of an earlier check; errors it lists (same code, "
                        "program and source line) are reported as known and do not fail the check (exit 1 only for "
                        "new ones)");
    command->add_option("--max-disjuncts", options->max_disjuncts,
                        "States kept apart per program point before they are joined (default 32)")
        ->check(CLI::PositiveNumber);
    command->callback([options, &action] { action = [options] { return run_check(*options); }; });
}

}  // namespace bpfvet::tools
