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

std::string step_position(const StoryStep& step) {
    if (step.location) return fmt::format("{}:{}", step.location->file, step.location->line);
    return fmt::format("instruction {}", step.pc);
}

// "    file.c:31 (instruction 7): r9 = *(u8 *)(r6 + 14)  -- makes r9 again"
std::string story_step_text(const StoryStep& step) {
    std::string out = step.location ? fmt::format("    {} (instruction {}): {}", step_position(step), step.pc, step.instruction)
                                    : fmt::format("    instruction {}: {}", step.pc, step.instruction);
    if (!step.note.empty()) out += fmt::format("  -- {}", step.note);
    return out + "\n";
}

std::string story_text(const CausalStory& story) {
    std::string out;
    if (story.cause != LostFactCause::Unknown) {
        out += fmt::format("  because {}\n", story.because);
        for (const auto& step : story.evidence) out += story_step_text(step);
    }
    if (!story.origin.empty()) {
        out += "  where the values came from:\n";
        for (const auto& step : story.origin) out += story_step_text(step);
    }
    if (!story.hint.empty()) out += fmt::format("  fix: {}\n", story.hint);
    return out;
}

nlohmann::json story_step_json(const StoryStep& step) {
    nlohmann::json j = {{"pc", step.pc}, {"instruction", step.instruction}, {"note", step.note}};
    if (step.location) {
        j["file"] = step.location->file;
        j["line"] = step.location->line;
    }
    return j;
}

}  // namespace

nlohmann::json story_json(const CausalStory& story) {
    nlohmann::json origin = nlohmann::json::array(), evidence = nlohmann::json::array();
    for (const auto& step : story.origin) origin.push_back(story_step_json(step));
    for (const auto& step : story.evidence) evidence.push_back(story_step_json(step));
    nlohmann::json j = {{"cause", std::string(lost_fact_cause_name(story.cause))}, {"origin", origin}, {"evidence", evidence}};
    if (!story.because.empty()) j["because"] = story.because;
    if (!story.hint.empty()) j["hint"] = story.hint;
    return j;
}

std::string Diagnostic::to_text() const {
    std::string out = fmt::format("error[{}] at instruction {}: {}\n", code_name(), pc, instruction);
    out += fmt::format("  {}\n", message);
    if (location) {
        out += fmt::format("  at {}:{}", location->file, location->line);
        if (!location->text.empty()) out += fmt::format(": {}", location->text);
        out += "\n";
    }
    for (const auto& r : registers) out += fmt::format("  {}\n", r);
    if (story) out += story_text(*story);
    for (const auto& also : also_at)
        out += also.location ? fmt::format("  also at {} (instruction {}): {}, same cause\n", step_position(also), also.pc,
                                           also.instruction)
                             : fmt::format("  also at instruction {}: {}, same cause\n", also.pc, also.instruction);
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
    if (story) j["story"] = story_json(*story);
    if (!also_at.empty()) {
        nlohmann::json also = nlohmann::json::array();
        for (const auto& step : also_at) also.push_back(story_step_json(step));
        j["also_at"] = also;
    }
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
