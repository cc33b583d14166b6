#include "tools/cli_common.hpp"

#include "analyzer/btf_access.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>

namespace bpfvet::tools {

std::expected<ir::Object, std::string> load_object_reporting(const std::string& path) {
    auto object = ir::load_object(path);
    if (!object) {
        std::string message = object.error().to_string();
        fmt::print(stderr, "bpfvet: {}\n", message);
        return std::unexpected(std::move(message));
    }
    return std::move(*object);
}

std::optional<ir::Object> load_or_report(const std::string& path) {
    auto object = load_object_reporting(path);
    if (!object) return std::nullopt;
    return std::move(*object);
}

std::expected<ir::ProgramType, std::string> decide_program_type(const ir::Program& program,
                                                               const std::optional<std::string>& forced,
                                                               std::string_view file) {
    if (forced) {
        if (auto type = ir::program_type_from_name(*forced)) return *type;
        return std::unexpected(fmt::format("unknown program type '{}' (use the kernel's name, e.g. socket_filter, xdp, sched_cls)",
                                           *forced));
    }
    if (program.type != ir::ProgramType::Unspecified) return program.type;
    return std::unexpected(fmt::format("{}: section '{}' (program '{}') names no program type: pass --type with the "
                                       "type its loader gives it (e.g. --type socket_filter, --type sched_cls, --type xdp)",
                                       file, program.section, program.name));
}

std::expected<std::vector<const ir::Program*>, std::string> select_programs_reporting(ir::Object& object,
                                                                                      const ProgramSelection& selection,
                                                                                      bool need_type) {
    auto report = [](std::string message) -> std::unexpected<std::string> {
        fmt::print(stderr, "bpfvet: {}\n", message);
        return std::unexpected(std::move(message));
    };
    if (selection.type && !ir::program_type_from_name(*selection.type))
        return report(fmt::format("unknown program type '{}' (use the kernel's name, e.g. socket_filter, xdp, sched_cls)",
                                  *selection.type));
    std::vector<const ir::Program*> chosen;
    for (auto& program : object.programs) {
        auto wanted = [](const std::vector<std::string>& list, const std::string& value) {
            return list.empty() || std::ranges::find(list, value) != list.end();
        };
        if (!wanted(selection.sections, program.section) || !wanted(selection.names, program.name)) continue;
        if (need_type || selection.type) {
            auto type = decide_program_type(program, selection.type, object.path);
            if (!type) return report(type.error());
            program.type = *type;
        }
        chosen.push_back(&program);
    }
    if (chosen.empty()) {
        std::string available;
        for (const auto& program : object.programs) available += fmt::format("\n  {} ({})", program.section, program.name);
        return report(fmt::format("{}: no program matches the selection; the object has:{}", object.path,
                                  available.empty() ? std::string(" no programs") : available));
    }
    return chosen;
}

std::optional<std::vector<const ir::Program*>> select_programs(ir::Object& object, const ProgramSelection& selection,
                                                               bool need_type) {
    auto chosen = select_programs_reporting(object, selection, need_type);
    if (!chosen) return std::nullopt;
    return std::move(*chosen);
}

void add_selection_options(CLI::App& command, ProgramSelection& selection, bool with_type) {
    command.add_option("--section,-s", selection.sections, "Only programs in this section (repeatable)");
    command.add_option("--program,-p", selection.names, "Only the program with this function name (repeatable)");
    if (with_type)
        command.add_option("--type,-t", selection.type,
                           "Program type, overriding the section name (kernel name without BPF_PROG_TYPE_, e.g. xdp)");
}

std::optional<std::shared_ptr<const ir::KernelBtf>> KernelBtfLoader::for_program(const ir::Program& program,
                                                                                ir::ProgramType type) {
    // BTF-typed programs read their arguments through it; kfunc calls take
    // their prototypes from it.
    if (!analyzer::btf_attach_kind(type, program.section) && program.kfunc_calls.empty())
        return std::shared_ptr<const ir::KernelBtf>();
    if (tried_) {
        if (!btf_ && !path_.empty()) return std::nullopt;
        return btf_;
    }
    tried_ = true;
    const bool given = !path_.empty();
    const std::string path = given ? path_ : std::string(ir::DefaultKernelBtfPath);
    std::error_code error;
    if (!given && !std::filesystem::exists(path, error)) return btf_;
    const auto start = std::chrono::steady_clock::now();
    auto parsed = ir::KernelBtf::load(path);
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!parsed) {
        fmt::print(stderr, "bpfvet: kernel BTF: {}\n", parsed.error());
        if (given) return std::nullopt;
        fmt::print(stderr, "bpfvet: the arguments of BTF-typed programs stay untyped\n");
        return btf_;
    }
    btf_ = std::move(*parsed);
    return btf_;
}

}  // namespace bpfvet::tools
