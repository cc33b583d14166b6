#include "tools/commands.hpp"
#include "tools/version.hpp"

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
    CLI::App app{"bpfvet: static verifier, analyzer, JIT and runtime for eBPF"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Show help for every subcommand");
    app.set_version_flag("--version", std::string("bpfvet ") + bpfvet::tools::BuildVersion, "Print the version and exit");

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

    // CLI11 would only say "A subcommand is required" for a misspelt command.
    if (argc > 1 && argv[1][0] != '-') {
        const std::string_view name = argv[1];
        std::string known;
        bool found = false;
        for (const CLI::App* command : app.get_subcommands({})) {
            found = found || command->get_name() == name;
            if (command->get_name() == "corpus-worker") continue;  // internal: not listed
            known += (known.empty() ? "" : ", ") + command->get_name();
        }
        if (!found) {
            std::fprintf(stderr, "bpfvet: unknown subcommand '%s' (commands: %s; see bpfvet --help)\n", argv[1],
                         known.c_str());
            return 2;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        // --help is not an error; every real usage error is exit code 2.
        return code == 0 ? 0 : 2;
    }
    if (!action) return 2;
    // The last resort: every command reports its own errors, so an exception
    // here is a bug or the system out of memory; still a message and exit 2.
    try {
        return action();
    } catch (const std::bad_alloc&) {
        std::fputs("bpfvet: out of memory\n", stderr);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "bpfvet: internal error: %s\n", error.what());
    }
    return 2;
}
