// `bpfvet sections FILE`: what the object holds, program by program.
#include "tools/cli_common.hpp"
#include "tools/text_output.hpp"
#include "tools/commands.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfvet::tools {
namespace {

struct SectionsOptions {
    std::string file;
    std::string format = "text";
};

// A map by name; an index the object does not define (an instruction may name
// any index: the kernel then rejects that program) is shown as such.
std::string map_label(const ir::Object& object, uint32_t index) {
    return index < object.maps.size() ? object.maps[index].name : fmt::format("#{} (no such map)", index);
}

int run_sections(const SectionsOptions& options) {
    auto object = load_or_report(options.file);
    if (!object) return ExitBadInput;
    if (options.format == "json") {
        nlohmann::json programs = nlohmann::json::array();
        for (const auto& program : object->programs) {
            nlohmann::json maps = nlohmann::json::array();
            for (uint32_t index : program.maps_used()) maps.push_back(map_label(*object, index));
            nlohmann::json functions = nlohmann::json::array();
            for (const auto& f : program.functions) functions.push_back(f.name);
            programs.push_back({{"section", program.section},
                                {"name", program.name},
                                {"type", std::string(ir::program_type_name(program.type))},
                                {"insn_count", program.instructions.size()},
                                {"functions", functions},
                                {"maps", maps}});
        }
        nlohmann::json maps = nlohmann::json::array();
        for (const auto& map : object->maps)
            maps.push_back({{"name", map.name},
                            {"type", ir::map_type_name(map.type)},
                            {"key_size", map.key_size},
                            {"value_size", map.value_size},
                            {"max_entries", map.max_entries},
                            {"flags", map.flags}});
        nlohmann::json out = {{"file", object->path}, {"license", object->license}, {"programs", programs}, {"maps", maps}};
        fmt::print("{}\n", json_text(out));
        return ExitOk;
    }
    fmt::print("{}: license \"{}\"\n", object->path, object->license);
    fmt::print("{:<28} {:<32} {:<16} {:>6}  {}\n", "SECTION", "PROGRAM", "TYPE", "INSNS", "MAPS");
    for (const auto& program : object->programs) {
        std::string maps;
        for (uint32_t index : program.maps_used()) maps += (maps.empty() ? "" : ",") + map_label(*object, index);
        fmt::print("{:<28} {:<32} {:<16} {:>6}  {}\n", program.section, program.name, ir::program_type_name(program.type),
                   program.instructions.size(), maps);
    }
    if (!object->maps.empty()) {
        fmt::print("\n{:<32} {:<18} {:>5} {:>7} {:>10}\n", "MAP", "TYPE", "KEY", "VALUE", "ENTRIES");
        for (const auto& map : object->maps)
            fmt::print("{:<32} {:<18} {:>5} {:>7} {:>10}\n", map.name, ir::map_type_name(map.type), map.key_size,
                       map.value_size, map.max_entries);
    }
    return ExitOk;
}

}  // namespace

void register_sections_command(CLI::App& app, CommandAction& action) {
    auto options = std::make_shared<SectionsOptions>();
    auto* command = app.add_subcommand("sections", "List the programs and maps of an eBPF ELF object");
    command->add_option("file", options->file, "eBPF ELF object")->required();
    command->add_option("--format,-f", options->format, "Output format")->check(CLI::IsMember({"text", "json"}));
    command->callback([options, &action] { action = [options] { return run_sections(*options); }; });
}

}  // namespace bpfvet::tools
