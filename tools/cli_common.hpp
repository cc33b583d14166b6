// Pieces every subcommand shares: loading the input with a located error
// message, picking programs by section/name, and the exit codes.
#pragma once

#include "ir/elf_loader.hpp"

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bpfvet::tools {

inline constexpr int ExitOk = 0;
inline constexpr int ExitRejected = 1;
inline constexpr int ExitBadInput = 2;

// Loads an object; on failure prints "bpfvet: <file>: section ...: message" to stderr.
[[nodiscard]] std::optional<ir::Object> load_or_report(const std::string& path);

struct ProgramSelection {
    std::vector<std::string> sections;  // empty: all
    std::vector<std::string> names;     // function names; empty: all
    std::optional<std::string> type;    // --type override (kernel name)
};

// Applies the selection (and the --type override) to the object's programs.
// Prints an error and returns nullopt when the selection matches nothing or the type is unknown.
[[nodiscard]] std::optional<std::vector<const ir::Program*>> select_programs(ir::Object& object, const ProgramSelection& selection);

// Adds --section, --program and --type options bound to `selection`.
void add_selection_options(CLI::App& command, ProgramSelection& selection, bool with_type);

}  // namespace bpfvet::tools
