// bpfvet compile FILE [--section S] -o out.o: ahead-of-time compilation of one
// program to a native object of the host (see docs/jit.md for the entry point
// and the symbols the object needs), or its LLVM IR with --emit-llvm.
// The program is verified first (exit 1 if rejected) unless --no-verify, and
// compiled with the facts the analyzer proved (none with --no-verify).
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

#include "analyzer/analyzer.hpp"
#include "analyzer/btf_access.hpp"
#include "jit/compiler.hpp"
#include "runtime/runtime.hpp"

#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <optional>

namespace bpfvet::tools {
namespace {

struct CompileOptions {
    std::string file;
    std::string section;
    std::string program;              // function name
    std::optional<std::string> type;  // --type, overriding the section name
    std::string output;
    std::string entry = "bpfvet_entry";
    unsigned optimization_level = 2;
    bool emit_llvm = false;
    bool no_verify = false;
};

int fail(const std::string& message) {
    fmt::print(stderr, "bpfvet: {}\n", message);
    return ExitBadInput;
}

int compile(const CompileOptions& options) {
    auto object = load_or_report(options.file);
    if (!object) return ExitBadInput;
    ir::Program* chosen = nullptr;
    for (auto& program : object->programs) {
        const bool named = options.program.empty() || program.name == options.program;
        const bool in_section = options.section.empty() || program.name == options.section || program.section == options.section;
        const bool only = options.section.empty() && options.program.empty() && object->programs.size() == 1;
        if ((options.section.empty() && options.program.empty()) ? only : named && in_section) {
            chosen = &program;
            break;
        }
    }
    if (!chosen) {
        std::string known;
        for (const auto& program : object->programs) known += fmt::format("\n  {} ({})", program.section, program.name);
        std::string what = !options.program.empty() ? fmt::format("no program '{}'", options.program)
                           : options.section.empty() ? "several programs: pass --section or --program"
                                                     : fmt::format("no section '{}'", options.section);
        return fail(fmt::format("{}: {}; the object has:{}", options.file, what, known.empty() ? " no programs" : known));
    }
    // The same decision as check and run: --type, else the section's type, else refused.
    auto type = decide_program_type(*chosen, options.type, options.file);
    if (!type) return fail(type.error());
    chosen->type = *type;
    std::string where = fmt::format("{}: section {}", options.file, chosen->section);
    if (const ir::Defect* defect = chosen->whole_program_defect()) {
        // Even with --no-verify: neither engine can run code that does not decode.
        fmt::print(stderr, "bpfvet: {}: instruction {}: {}; the kernel refuses this program, not compiled\n", where,
                   defect->pc, defect->message);
        return ExitRejected;
    }
    if (auto kind = analyzer::btf_attach_kind(chosen->type, chosen->section))
        return fail(fmt::format("{}: {} programs read kernel objects through their BTF-typed arguments; native code "
                                "for them would need the kernel's exception-handled loads, which bpfvet does not "
                                "generate",
                                where, analyzer::btf_attach_kind_name(*kind)));
    analyzer::ProgramFacts facts;  // what the analyzer proved: the lowering drops checks they make needless
    if (!options.no_verify) {
        analyzer::AnalysisOptions analysis;
        analysis.record_facts = true;
        auto verdict = analyzer::analyze_program(*object, *chosen, analysis);
        if (!verdict.accepted) {
            fmt::print(stderr, "bpfvet: {}: rejected by the verifier, not compiled\n", where);
            for (const auto& error : verdict.errors) fmt::print(stderr, "{}\n", error.to_text());
            return ExitRejected;
        }
        facts = std::move(verdict.facts);
    }
    std::string name = chosen->name;
    auto loaded = runtime::LoadedObject::create(std::move(*object));
    if (!loaded) return fail(loaded.error().to_string());
    auto program = (*loaded)->program(name);
    if (!program) return fail(program.error().to_string());

    jit::LoweringOptions lowering;
    lowering.addressing = jit::Addressing::Symbolic;
    lowering.entry_name = options.entry;
    lowering.facts = &facts;
    lowering.count_back_edges = options.no_verify;  // not proven to terminate: loops count (docs/jit.md)
    std::ofstream out(options.output, std::ios::binary);
    if (!out) return fail(fmt::format("cannot write '{}'", options.output));
    if (options.emit_llvm) {
        auto text = jit::lowered_ir_text(**program, lowering, options.optimization_level);
        if (!text) return fail(fmt::format("{}: {}", where, text.error()));
        out << *text;
    } else {
        auto bytes = jit::compile_object(**program, lowering, options.optimization_level);
        if (!bytes) return fail(fmt::format("{}: {}", where, bytes.error()));
        out.write(bytes->data(), std::streamsize(bytes->size()));
    }
    if (!out) return fail(fmt::format("cannot write '{}'", options.output));
    return ExitOk;
}

}  // namespace

void register_compile_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<CompileOptions>();
    auto* command = app.add_subcommand("compile", "Compile a program ahead of time to a native object (docs/jit.md)");
    command->add_option("file", options->file, "eBPF ELF object")->required();
    command->add_option("--section,-s", options->section, "Section or function name of the program");
    command->add_option("--program,-p", options->program, "Function name of the program");
    command->add_option("--type,-t", options->type,
                        "Program type, overriding the section name (kernel name without BPF_PROG_TYPE_, e.g. xdp)");
    command->add_option("-o,--output", options->output, "Output file")->required();
    command->add_option("--entry", options->entry, "Symbol of the entry point (default bpfvet_entry)");
    command->add_option("-O", options->optimization_level, "Optimisation level 0-3 (default 2)")->check(CLI::Range(0, 3));
    command->add_flag("--emit-llvm", options->emit_llvm, "Write LLVM IR text instead of an object");
    command->add_flag("--no-verify", options->no_verify, "Compile without running the verifier");
    command->callback([options, &action] { action = [options] { return compile(*options); }; });
}

}  // namespace bpfvet::tools
