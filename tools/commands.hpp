// Each `bpfvet` subcommand lives in its own file and registers itself here.
// A command's callback returns the process exit code:
//   0 accepted / ok, 1 rejected, 2 bad input or usage.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace bpfvet::tools {

// Set by the chosen subcommand's callback; main() returns it.
using CommandAction = std::function<int()>;

void register_sections_command(CLI::App& app, CommandAction& action);
void register_disasm_command(CLI::App& app, CommandAction& action);
void register_cfg_command(CLI::App& app, CommandAction& action);
void register_check_command(CLI::App& app, CommandAction& action);
void register_explain_command(CLI::App& app, CommandAction& action);
void register_run_command(CLI::App& app, CommandAction& action);
void register_compile_command(CLI::App& app, CommandAction& action);
void register_corpus_command(CLI::App& app, CommandAction& action);
void register_corpus_worker_command(CLI::App& app, CommandAction& action);
void register_compare_command(CLI::App& app, CommandAction& action);

}  // namespace bpfvet::tools
