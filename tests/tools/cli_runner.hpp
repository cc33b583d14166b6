// Runs the built `bpfvet` binary and captures its exit code and output.
#pragma once

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

namespace bpfvet::test {

struct CliResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

// Runs a whole shell command line (e.g. under `timeout`), output merged.
inline CliResult run_shell(const std::string& command_line) {
    std::string command = command_line + " 2>&1";
    CliResult result;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return result;
    std::array<char, 4096> buffer{};
    size_t n;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
    int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

inline CliResult run_cli(const std::string& arguments) { return run_shell(std::string(BPFVET_CLI) + " " + arguments); }

inline std::string quote(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

}  // namespace bpfvet::test
