#include "analyzer/diagnostic.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfvet::analyzer {

std::string Diagnostic::to_text() const {
    std::string out = fmt::format("error[{}] at instruction {}: {}\n", code_name(), pc, instruction);
    out += fmt::format("  {}\n", message);
    if (location) {
        out += fmt::format("  at {}:{}", location->file, location->line);
        if (!location->text.empty()) out += fmt::format(": {}", location->text);
        out += "\n";
    }
    for (const auto& r : registers) out += fmt::format("  {}\n", r);
    out += fmt::format("  hint: {}\n", error_code_info(code).fix_hint);
    return out;
}

nlohmann::json Diagnostic::to_json() const {
    nlohmann::json j;
    j["code"] = std::string(code_name());
    j["pc"] = pc;
    j["instruction"] = instruction;
    j["message"] = message;
    j["hint"] = std::string(error_code_info(code).fix_hint);
    if (location) {
        j["line"] = location->line;
        j["file"] = location->file;
        if (!location->text.empty()) j["source"] = location->text;
    }
    j["registers"] = registers;
    return j;
}

}  // namespace bpfvet::analyzer
