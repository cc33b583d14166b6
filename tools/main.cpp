#include "tools/commands.hpp"

#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"bpfvet: static verifier, analyzer, JIT and runtime for eBPF"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Show help for every subcommand");

    bpfvet::tools::CommandAction action;
    bpfvet::tools::register_sections_command(app, action);
    bpfvet::tools::register_disasm_command(app, action);
    bpfvet::tools::register_cfg_command(app, action);
    bpfvet::tools::register_check_command(app, action);
    bpfvet::tools::register_explain_command(app, action);
    bpfvet::tools::register_run_command(app, action);
    bpfvet::tools::register_compile_command(app, action);
    bpfvet::tools::register_corpus_command(app, action);
    bpfvet::tools::register_corpus_worker_command(app, action);
    bpfvet::tools::register_compare_command(app, action);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        // --help is not an error; every real usage error is exit code 2.
        return code == 0 ? 0 : 2;
    }
    return action ? action() : 2;
}
