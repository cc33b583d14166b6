// `bpfvet disasm FILE [--section S] [--source]`: conventional eBPF assembly.
#include "ir/disassembler.hpp"
#include "tools/cli_common.hpp"
#include "tools/commands.hpp"

#include <fmt/format.h>

namespace bpfvet::tools {
namespace {

struct DisasmOptions {
    std::string file;
    ProgramSelection selection;
    bool source = false;
    bool labels = false;
};

int run_disasm(const DisasmOptions& options) {
    auto object = load_or_report(options.file);
    if (!object) return ExitBadInput;
    auto programs = select_programs(*object, options.selection, /*need_type=*/false);
    if (!programs) return ExitBadInput;
    ir::DisassemblyOptions format;
    format.with_source = options.source;
    format.jump_labels = options.labels;
    bool first = true;
    for (const ir::Program* program : *programs) {
        if (!first) fmt::print("\n");
        first = false;
        fmt::print("; section {}, program {} ({}), {} instructions\n", program->section, program->name,
                   ir::program_type_name(program->type), program->instructions.size());
        fmt::print("{}", ir::disassemble_program(*program, &*object, format));
    }
    return ExitOk;
}

}  // namespace

void register_disasm_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<DisasmOptions>();
    auto* command = app.add_subcommand("disasm", "Disassemble the programs of an eBPF ELF object");
    command->add_option("file", options->file, "eBPF ELF object")->required();
    add_selection_options(*command, options->selection, false);
    command->add_flag("--source", options->source, "Interleave source lines from BTF line info");
    command->add_flag("--labels", options->labels, "Print jump targets as labels instead of relative offsets");
    command->callback([options, &action] { action = [options] { return run_disasm(*options); }; });
}

}  // namespace bpfvet::tools
