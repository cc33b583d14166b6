// Pieces every subcommand shares: loading the input with a located error
// message, picking programs by section/name, and the exit codes.
#pragma once

#include "ir/elf_loader.hpp"
#include "ir/kernel_btf.hpp"

#include <CLI/CLI.hpp>

#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bpfvet::tools {

inline constexpr int ExitOk = 0;
inline constexpr int ExitRejected = 1;
inline constexpr int ExitBadInput = 2;

// Loads an object; on failure prints "bpfvet: <file>: section ...: message" to stderr.
[[nodiscard]] std::optional<ir::Object> load_or_report(const std::string& path);
// Same, and the message is returned for the CI formats to report too.
[[nodiscard]] std::expected<ir::Object, std::string> load_object_reporting(const std::string& path);

struct ProgramSelection {
    std::vector<std::string> sections;  // empty: all
    std::vector<std::string> names;     // function names; empty: all
    std::optional<std::string> type;    // --type override (kernel name)
};

// The one place that decides which type a program is analysed, run or
// compiled as: `forced` (--type) when given, else what its section name
// implies. A section that implies nothing is refused, never given a silent
// default (one command would analyse it as a socket filter and another run it
// as unspec): the message names the section and asks for --type.
[[nodiscard]] std::expected<ir::ProgramType, std::string> decide_program_type(const ir::Program& program,
                                                                            const std::optional<std::string>& forced,
                                                                            std::string_view file);

// Applies the selection (and the --type override) to the object's programs.
// Prints an error and returns nullopt when the selection matches nothing or the type is unknown.
[[nodiscard]] std::optional<std::vector<const ir::Program*>> select_programs(ir::Object& object, const ProgramSelection& selection,
                                                                            bool need_type = true);
// Same, returning the message printed.
// With `need_type`, every chosen program's type is decided by decide_program_type
// (and set), and a program without one fails the selection.
[[nodiscard]] std::expected<std::vector<const ir::Program*>, std::string> select_programs_reporting(
    ir::Object& object, const ProgramSelection& selection, bool need_type = true);

// Adds --section, --program and --type options bound to `selection`.
void add_selection_options(CLI::App& command, ProgramSelection& selection, bool with_type);

// The kernel BTF that types fentry/fexit/fmod_ret/tp_btf/lsm programs, read
// once and only when such a program is checked (vmlinux BTF is ~6 MB): from
// `path` when given (unreadable = bad input), else /sys/kernel/btf/vmlinux
// when it exists (unreadable = a warning; arguments stay untyped numbers).
class KernelBtfLoader {
public:
    explicit KernelBtfLoader(std::string path) : path_(std::move(path)) {}
    // The BTF for analysing `program` as `type`: null when it needs none or none
    // is available; nullopt when the given file is unusable (message printed).
    [[nodiscard]] std::optional<std::shared_ptr<const ir::KernelBtf>> for_program(const ir::Program& program,
                                                                                 ir::ProgramType type);
    [[nodiscard]] const std::shared_ptr<const ir::KernelBtf>& loaded() const { return btf_; }
    [[nodiscard]] double parse_seconds() const { return seconds_; }

private:
    std::string path_;
    bool tried_ = false;
    std::shared_ptr<const ir::KernelBtf> btf_;
    double seconds_ = 0;
};

}  // namespace bpfvet::tools
