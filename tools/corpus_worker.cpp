// `bpfvet corpus-worker`: the isolated half of `bpfvet corpus` (protocol in
// tools/corpus_worker.hpp). Hidden from --help: only the corpus command runs it.
#include "tools/corpus_worker.hpp"

#include "analyzer/analyzer.hpp"
#include "ir/core_relocation.hpp"
#include "ir/elf_loader.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"
#include "tools/corpus_kernel.hpp"
#include "tools/corpus_record.hpp"
#include "tools/map_creation.hpp"
#include "tools/text_output.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <new>
#include <string>
#include <sys/resource.h>
#include <ctime>
#include <unistd.h>

namespace bpfvet::tools::corpus {
namespace {

template <typename Json>
void emit(const Json& line) {
    std::string text = json_text(line, -1);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

// Peak resident memory, made per-program: writing "5" to clear_refs resets
// VmHWM (Linux >= 4.0), so the figure read after a program is that program's.
void reset_peak_memory() {
    std::ofstream("/proc/self/clear_refs") << "5";
}

std::optional<uint64_t> peak_memory_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmHWM:")) return std::strtoull(line.c_str() + 6, nullptr, 10);
    return std::nullopt;
}

bool hook_names(const char* variable, const std::string& program) {
    const char* value = std::getenv(variable);
    return value != nullptr && program == value;
}

void limit_address_space(uint64_t megabytes) {
    if (megabytes == 0) return;
    rlimit limit{megabytes << 20, megabytes << 20};
    setrlimit(RLIMIT_AS, &limit);
}

int run_list(const nlohmann::json& job) {
    auto object = ir::load_object(job.at("file").get<std::string>());
    if (!object) {
        emit(nlohmann::json{{"error", object.error().to_string()}});
        return 0;
    }
    nlohmann::json programs = nlohmann::json::array();
    for (const ir::Program& program : object->programs) {
        programs.push_back({{"section", program.section},
                            {"program", program.name},
                            {"type", std::string(ir::program_type_name(program.type))},
                            {"insn_count", program.instructions.size()}});
    }
    emit(nlohmann::json{{"programs", programs}});
    return 0;
}

// Fills the analysis half of a record.
double process_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return double(now.tv_sec) + double(now.tv_nsec) * 1e-9;
}

void analyze_into(CorpusRecord& record, const ir::Object& object, const ir::Program& program,
                  const analyzer::AnalysisOptions& options) {
    try {
        const double cpu_before = process_cpu_seconds();
        analyzer::AnalysisResult result = analyzer::analyze_program(object, program, options);
        reject_for_uncreatable_maps(object, program, result);  // as check does
        record.cpu_seconds = process_cpu_seconds() - cpu_before;
        record.type = std::string(ir::program_type_name(result.type));
        record.verdict = result.accepted ? VerdictAccept : VerdictReject;
        record.errors = result.errors.size();
        record.steps = result.steps;
        record.processed_insns = result.processed_instructions;
        record.peak_states = result.peak_states;
        record.seconds = result.seconds;
        if (!result.errors.empty()) {
            const analyzer::Diagnostic& first = result.errors.front();
            record.error_code = std::string(first.code_name());
            record.error_pc = first.pc;
            record.error_message = first.message;
        }
    } catch (const std::bad_alloc&) {
        record.verdict = VerdictOutOfMemory;
        record.error_message = "allocation failed within --budget-mb";
    } catch (const std::exception& error) {
        // An internal error is a crash of the analyzer, recorded as such.
        record.verdict = VerdictCrashed;
        record.error_message = std::string("exception: ") + error.what();
    }
}

int run_analyze(const nlohmann::json& job) {
    const nlohmann::json& options = job.at("options");
    limit_address_space(options.value("budget_mb", uint64_t{2048}));
    const std::string relative = job.at("relative");
    auto object = ir::load_object(job.at("file").get<std::string>());
    // Loading may take a while; the per-program clock starts after this line.
    emit(nlohmann::json{{"loaded", bool(object)}});

    analyzer::AnalysisOptions analysis;
    analysis.unprivileged = options.value("unprivileged", false);
    analysis.max_steps = options.value("max_steps", analysis.max_steps);
    analysis.max_disjuncts = options.value("max_disjuncts", analysis.max_disjuncts);
    analysis.max_seconds = options.value("budget_seconds", analysis.max_seconds);
    const bool with_kernel = options.value("kernel", false);
    // BTF-typed programs and kfunc calls are typed from the kernel's BTF, CO-RE
    // relocations applied, as check does: a corpus run gives check's verdicts.
    KernelBtfLoader kernel_btf(options.value("kernel_btf", std::string()));

    for (const nlohmann::json& wanted : job.at("programs")) {
        CorpusRecord record;
        record.key = {relative, wanted.at("section"), wanted.at("program")};
        record.version = job.value("version", "dev");
        record.options = {{"unprivileged", analysis.unprivileged},
                          {"max_steps", analysis.max_steps},
                          {"max_disjuncts", analysis.max_disjuncts}};
        const std::string forced_type = wanted.value("type", "");
        if (!object) {
            record.verdict = VerdictBadInput;
            record.error_message = object.error().to_string();
            emit(to_json(record));
            continue;
        }
        auto program = std::ranges::find_if(object->programs, [&](const ir::Program& p) {
            return p.section == record.key.section && p.name == record.key.program;
        });
        if (program == object->programs.end()) {
            record.verdict = VerdictBadInput;
            record.error_message = "no such program in the object";
            emit(to_json(record));
            continue;
        }
        record.insn_count = program->instructions.size();
        // The type as check decides it: --types-from's, else the section's; none is bad input.
        auto type = decide_program_type(*program, forced_type.empty() ? std::nullopt : std::optional(forced_type),
                                        relative);
        if (!type) {
            record.type = std::string(ir::program_type_name(program->type));
            record.verdict = VerdictBadInput;
            record.error_message = type.error();
            emit(to_json(record));
            continue;
        }
        analysis.type = *type;
        auto btf = kernel_btf.for_program(*program, *type);
        if (!btf) {
            record.verdict = VerdictBadInput;
            record.error_message = "the kernel BTF '" + options.value("kernel_btf", std::string()) + "' is unusable";
            emit(to_json(record));
            continue;
        }
        analysis.kernel_btf = *btf;
        std::optional<ir::Program> relocated;
        if (*btf && !program->core_relocations.empty())
            if (auto moved = ir::relocate_for_kernel(*object, *program, **btf)) relocated = std::move(*moved);
        const ir::Program& analysed = relocated ? *relocated : *program;
        if (hook_names(CrashHookVariable, record.key.program)) std::raise(SIGKILL);
        if (hook_names(HangHookVariable, record.key.program))
            for (;;) pause();

        reset_peak_memory();
        analyze_into(record, *object, analysed, analysis);
        record.peak_kib = peak_memory_kib();
        if (with_kernel) {
            auto type = ir::program_type_from_name(record.type);
            record.kernel = load_in_running_kernel(*object, analysed, type.value_or(ir::ProgramType::SocketFilter));
        }
        emit(to_json(record));
    }
    return 0;
}

int run_worker() {
    std::string input{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    auto job = nlohmann::json::parse(input, nullptr, false);
    if (job.is_discarded() || !job.is_object()) {
        std::fprintf(stderr, "bpfvet corpus-worker: the job on stdin is not a JSON object\n");
        return 2;
    }
    try {
        return job.value("mode", "") == "list" ? run_list(job) : run_analyze(job);
    } catch (const nlohmann::json::exception& error) {
        std::fprintf(stderr, "bpfvet corpus-worker: malformed job: %s\n", error.what());
        return 2;
    }
}

}  // namespace
}  // namespace bpfvet::tools::corpus

namespace bpfvet::tools {

void register_corpus_worker_command(CLI::App& app, CommandAction& action) {
    auto* command = app.add_subcommand(std::string(corpus::WorkerCommand), "Internal: one worker process of `bpfvet corpus`");
    command->group("");  // hidden from --help
    command->callback([&action] { action = [] { return corpus::run_worker(); }; });
}

}  // namespace bpfvet::tools
