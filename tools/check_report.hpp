// How `bpfvet check` reports to CI: SARIF 2.1.0 (code scanning), GitHub
// workflow annotations and JUnit XML, one function each over the checked
// programs; and the kernel's verdict (`--kernel`) as text and JSON beside ours.
// check_command.cpp gathers the results; these only format them.
#pragma once

#include "analyzer/analyzer.hpp"
#include "runtime/kernel_loader.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::tools {

// One checked program: our analysis and, with --kernel, the kernel's.
struct ProgramReport {
    std::string object_path;                 // as given on the command line
    const ir::Program* program = nullptr;    // owned by the caller's ir::Object
    analyzer::AnalysisResult analysis;
    std::optional<runtime::kernel::KernelLoadResult> kernel;
    // With --baseline: for each of analysis.errors, whether the baseline knows it.
    bool against_baseline = false;
    std::vector<bool> known_errors;
    const ir::Object* object = nullptr;  // the object the program came from (for --trace)

    [[nodiscard]] bool known(size_t error) const {
        return against_baseline && error < known_errors.size() && known_errors[error];
    }
    // Rejected for a reason the baseline does not list (what fails a gate).
    [[nodiscard]] bool new_rejection() const {
        if (analysis.accepted) return false;
        if (!against_baseline || analysis.errors.empty()) return true;
        for (size_t i = 0; i < analysis.errors.size(); ++i)
            if (!known(i)) return true;
        return false;
    }
};

// An object that could not be checked at all (unreadable, no such program,
// unknown type): CI formats still write a whole document that reports it.
struct InputFailure {
    std::string object_path;
    std::string message;  // the located message printed to stderr
};

// "section/program", how every format names a program.
[[nodiscard]] std::string program_label(const ir::Program& program);

// What identifies an error across rebuilds (SARIF's partialFingerprints,
// --baseline): "code:section/program:file:line" with the source path relative
// to `source_root`, or "code:section/program:pc" without a source line.
[[nodiscard]] std::string error_fingerprint(std::string_view code, std::string_view program_label,
                                            const ir::SourceLocation* source, uint32_t pc, std::string_view source_root);

// A SARIF 2.1.0 log: one run, one rule per error code used, one result per
// diagnostic (located at the source line from BTF when known, else at the
// object file with the program as a logical location; the instruction is a
// related location). With --kernel, the kernel's rejection is a "note" result.
//
// `source_root` (both SARIF and GitHub): absolute source paths below it are
// written relative to it, as code scanning and annotations want paths from the
// repository root while BTF records the compiler's absolute path.
// Each input failure is an error result (rule "bad-input") at the object and a
// failed invocation with the message as a tool execution notification.
[[nodiscard]] nlohmann::json sarif_report(std::span<const ProgramReport> reports, std::string_view source_root = {},
                                          std::span<const InputFailure> failures = {});

// GitHub Actions workflow commands, one line per diagnostic:
//   ::error file=src/x.c,line=12,col=5,title=bpfvet null-dereference::r0 may be null ...
// and a plain summary line per program.
// An input failure is an ::error line at the object.
[[nodiscard]] std::string github_report(std::span<const ProgramReport> reports, std::string_view source_root = {},
                                        std::span<const InputFailure> failures = {});

// JUnit XML: a test suite per object, a test case per program, a failure per
// rejected program (type = the first error code, text = every diagnostic).
// An input failure is a test case "load" of the object's suite with an <error>.
[[nodiscard]] std::string junit_report(std::span<const ProgramReport> reports, std::span<const InputFailure> failures = {});

// Where the kernel's verdict (--kernel) differs from ours, in words; nullopt
// when they agree or the kernel gave no verdict:
//   "disagreement: the kernel rejects this program, bpfvet accepts it"
//   "disagreement: the kernel accepts this program, bpfvet rejects it"
// Text and JUnit show it as a "kernel: disagreement: ..." line, JSON as
// kernel.agrees/kernel.disagreement, SARIF and GitHub as a warning (agreement: a note).
[[nodiscard]] std::optional<std::string> kernel_disagreement(const ProgramReport& report);

// --kernel in text: "kernel: accept (12 insns processed, 0.1 ms)" or
// "kernel: reject: <reason> at insn 7 (src/x.c:31)" and the log's last lines.
[[nodiscard]] std::string kernel_text(const ProgramReport& report);
// --kernel in JSON: {verdict, errno, message, first_error_line, error_pc, file, line, processed_insns, load_seconds}.
[[nodiscard]] nlohmann::json kernel_json(const ProgramReport& report);

// GitHub's workflow-command escaping (actions/toolkit): in the message
// "%" "\r" "\n" become "%25" "%0D" "%0A"; in properties also ":" "," become "%3A" "%2C";
// bytes that are not UTF-8 become U+FFFD.
//   escape_github_message("50%\nmore") == "50%25%0Amore"
//   escape_github_property("a:b,c") == "a%3Ab%2Cc"
[[nodiscard]] std::string escape_github_message(std::string_view text);
[[nodiscard]] std::string escape_github_property(std::string_view text);

// Text safe inside XML attributes and elements: & < > " ' as entities; control
// characters XML 1.0 forbids become '?', bytes that are not UTF-8 U+FFFD.  escape_xml("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;"
[[nodiscard]] std::string escape_xml(std::string_view text);

// A file path as a SARIF uri-reference: characters outside RFC 3986's
// unreserved set and "/" are percent-encoded.  uri_from_path("src/my file.c") == "src/my%20file.c";
// an absolute path becomes a file URI: uri_from_path("/a/x.c") == "file:///a/x.c"
[[nodiscard]] std::string uri_from_path(std::string_view path);

// `path` relative to `root` when it lies below it, else unchanged:
//   relative_source_path("/src/repo/bpf/x.c", "/src/repo") == "bpf/x.c"
//   relative_source_path("/other/x.c", "/src/repo") == "/other/x.c"
[[nodiscard]] std::string relative_source_path(std::string_view path, std::string_view root);

}  // namespace bpfvet::tools
