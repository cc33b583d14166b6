#include "analyzer/diagnostic.hpp"

#include "ir/helper_names.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfvet::analyzer {

std::string_view alarm_status_name(AlarmStatus status) {
    switch (status) {
    case AlarmStatus::None: return "none";
    case AlarmStatus::Confirmed: return "confirmed";
    case AlarmStatus::Discharged: return "discharged";
    case AlarmStatus::Undecided: return "undecided";
    }
    return "none";
}

namespace {

std::string hex_bytes(const std::vector<uint8_t>& bytes) {
    std::string out;
    for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
    return out;
}

// Long inputs are cut for reading: "0011...(200 more bytes)". JSON keeps them whole.
std::string short_hex(const std::vector<uint8_t>& bytes) {
    constexpr size_t Shown = 64;
    if (bytes.size() <= Shown) return hex_bytes(bytes);
    return hex_bytes({bytes.begin(), bytes.begin() + Shown}) + fmt::format("... ({} more bytes)", bytes.size() - Shown);
}

std::string counterexample_text(const Counterexample& input) {
    std::string out;
    if (!input.packet.empty())
        out += fmt::format("  input packet ({} bytes): {}\n", input.packet.size(), short_hex(input.packet));
    if (!input.context.empty()) out += fmt::format("  input context: {}\n", short_hex(input.context));
    for (const auto& call : input.calls) {
        const std::string_view name = ir::helper_name(call.helper);
        out += fmt::format("  call at {} ({}) returns {:#x}", call.pc,
                           name.empty() ? fmt::format("helper {}", call.helper) : std::string(name), call.result);
        if (!call.value.empty()) out += fmt::format(", value bytes {}", short_hex(call.value));
        out += "\n";
    }
    if (!input.path_lines.empty()) {
        out += "  path:\n";
        for (const auto& line : input.path_lines) out += fmt::format("    {}\n", line);
    } else if (!input.path.empty()) {
        out += "  path (instructions):";
        for (uint32_t pc : input.path) out += fmt::format(" {}", pc);
        out += "\n";
    }
    if (!input.replayed_fault.empty()) out += fmt::format("  replayed: {}\n", input.replayed_fault);
    return out;
}

}  // namespace

std::string Diagnostic::to_text() const {
    std::string out = fmt::format("error[{}] at instruction {}: {}\n", code_name(), pc, instruction);
    out += fmt::format("  {}\n", message);
    if (location) {
        out += fmt::format("  at {}:{}", location->file, location->line);
        if (!location->text.empty()) out += fmt::format(": {}", location->text);
        out += "\n";
    }
    for (const auto& r : registers) out += fmt::format("  {}\n", r);
    if (status != AlarmStatus::None) {
        out += fmt::format("  status: {}", alarm_status_name(status));
        if (!status_reason.empty()) out += fmt::format(" ({})", status_reason);
        out += "\n";
        if (counterexample) out += counterexample_text(*counterexample);
    }
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
    if (status != AlarmStatus::None) {
        j["status"] = std::string(alarm_status_name(status));
        if (!status_reason.empty()) j["status_reason"] = status_reason;
    }
    if (counterexample) {
        nlohmann::json calls = nlohmann::json::array();
        for (const auto& call : counterexample->calls) {
            nlohmann::json c = {{"pc", call.pc}, {"helper", call.helper}, {"result", call.result}};
            if (!call.value.empty()) c["value"] = hex_bytes(call.value);
            calls.push_back(std::move(c));
        }
        j["counterexample"] = {{"packet", hex_bytes(counterexample->packet)},
                               {"context", hex_bytes(counterexample->context)},
                               {"calls", calls},
                               {"path", counterexample->path},
                               {"path_lines", counterexample->path_lines}};
        if (!counterexample->replayed_fault.empty()) j["counterexample"]["fault"] = counterexample->replayed_fault;
    }
    return j;
}

}  // namespace bpfvet::analyzer
