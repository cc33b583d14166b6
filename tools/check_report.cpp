#include "tools/check_report.hpp"

#include "tools/text_output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace bpfvet::tools {
namespace {

namespace kernel = runtime::kernel;

// Kept in step with project(bpfvet VERSION ...) in the top CMakeLists.txt.
constexpr std::string_view ToolVersion = "0.1";
constexpr std::string_view SarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

// The rule id of the kernel's own rejection (--kernel), beside our error codes.
constexpr std::string_view KernelRuleId = "kernel-verifier";
// The rule id of an object that could not be checked.
constexpr std::string_view BadInputRuleId = "bad-input";

// Lines of the kernel's log shown under its verdict in text output.
constexpr size_t KernelLogLinesShown = 10;

const ir::SourceLocation* location_at(const ProgramReport& report, std::optional<int64_t> pc) {
    if (!pc || *pc < 0 || !report.program) return nullptr;
    return report.program->source_line(size_t(*pc));
}

// "src/x.c:31", or "" without a location.
std::string source_position(const ir::SourceLocation* location) {
    return location ? fmt::format("{}:{}", location->file, location->line) : std::string();
}

// The sentence a format shows for one diagnostic:
// "r0 may be null here (instruction 12: r1 = *(u32 *)(r0 +0))".
std::string diagnostic_sentence(const analyzer::Diagnostic& diagnostic) {
    return fmt::format("{} (instruction {}: {})", diagnostic.message, diagnostic.pc, diagnostic.instruction);
}

// The cause and its fix, for messages that carry one line: " Because ...; fix: ...".
std::string story_sentence(const analyzer::Diagnostic& diagnostic) {
    if (!diagnostic.story || diagnostic.story->cause == analyzer::LostFactCause::Unknown) return {};
    std::string out = fmt::format(" Because {}.", diagnostic.story->because);
    if (!diagnostic.story->hint.empty()) out += fmt::format(" Fix: {}.", diagnostic.story->hint);
    if (!diagnostic.also_at.empty()) out += fmt::format(" Same cause at {} more instruction{}.", diagnostic.also_at.size(),
                                                        diagnostic.also_at.size() == 1 ? "" : "s");
    return out;
}

// What the kernel's verdict says, for SARIF and GitHub: its rejection, or its
// acceptance of a program we reject; nullopt when there is nothing to report.
std::optional<std::string> kernel_rejection_sentence(const ProgramReport& report) {
    if (report.kernel && report.kernel->verdict == kernel::KernelVerdict::Accept && !report.analysis.accepted)
        return std::string("the running kernel's verifier accepts this program (bpfvet rejects it)");
    if (!report.kernel || report.kernel->verdict != kernel::KernelVerdict::Reject) return std::nullopt;
    const auto& result = *report.kernel;
    std::string sentence = report.analysis.accepted ? "the running kernel's verifier rejects this program (bpfvet accepts it): "
                                                    : "the running kernel's verifier rejects this program too: ";
    sentence += result.first_error_line;
    if (result.error_pc) sentence += fmt::format(" (at instruction {})", *result.error_pc);
    return sentence;
}

// ---- SARIF pieces ----

nlohmann::json sarif_message(std::string text) { return {{"text", std::move(text)}}; }

nlohmann::json sarif_logical_location(const ProgramReport& report, std::optional<uint32_t> pc) {
    nlohmann::json logical = {{"fullyQualifiedName", program_label(*report.program)}, {"kind", "function"}};
    const ir::Function* function = pc ? report.program->function_at(*pc) : nullptr;
    logical["name"] = function ? function->name : report.program->name;
    return logical;
}

// At the source line when BTF gives one, else at the object file.
nlohmann::json sarif_location(const ProgramReport& report, const ir::SourceLocation* source, std::optional<uint32_t> pc,
                              std::string_view source_root) {
    nlohmann::json physical;
    if (source && source->line > 0) {
        nlohmann::json region = {{"startLine", source->line}};
        if (source->column > 0) region["startColumn"] = source->column;
        if (!source->text.empty()) region["snippet"] = {{"text", source->text}};
        physical = {{"artifactLocation", {{"uri", uri_from_path(relative_source_path(source->file, source_root))}}},
                    {"region", region}};
    } else {
        physical = {{"artifactLocation", {{"uri", uri_from_path(relative_source_path(report.object_path, source_root))}}}};
    }
    return {{"physicalLocation", physical}, {"logicalLocations", nlohmann::json::array({sarif_logical_location(report, pc)})}};
}

// The instruction itself: in the object file, named by program and index.
nlohmann::json sarif_instruction_location(const ProgramReport& report, const analyzer::Diagnostic& diagnostic,
                                          std::string_view source_root) {
    const std::string object_uri = uri_from_path(relative_source_path(report.object_path, source_root));
    return {{"id", 1},
            {"physicalLocation", {{"artifactLocation", {{"uri", object_uri}}}}},
            {"logicalLocations", nlohmann::json::array({sarif_logical_location(report, diagnostic.pc)})},
            {"message", sarif_message(fmt::format("instruction {} of {}: {}", diagnostic.pc, program_label(*report.program),
                                                  diagnostic.instruction))},
            {"properties", {{"pc", diagnostic.pc}}}};
}

// The failing path as a SARIF code flow, the standard way a viewer shows a
// path: one location per source line the path enters (consecutive
// instructions of one line are one step), the story's steps with their notes
// marked essential, the error last. Long paths keep only the story's steps.
nlohmann::json sarif_code_flow(const ProgramReport& report, const analyzer::Diagnostic& diagnostic,
                               std::string_view source_root) {
    constexpr size_t MostLocations = 200;
    std::map<uint32_t, std::string> notes;
    if (diagnostic.story) {
        for (const auto& step : diagnostic.story->origin) notes[step.pc] = step.note;
        for (const auto& step : diagnostic.story->evidence) notes[step.pc] = step.note;
    }
    const bool whole_path = diagnostic.path.size() <= MostLocations;
    nlohmann::json locations = nlohmann::json::array();
    const ir::SourceLocation* previous = nullptr;
    for (size_t i = 0; i < diagnostic.path.size(); ++i) {
        const auto& step = diagnostic.path[i];
        const bool last = i + 1 == diagnostic.path.size();
        const auto note = notes.find(step.pc);
        const ir::SourceLocation* source = report.program->source_line(step.pc);
        const bool new_line = source != previous && (previous == nullptr || source == nullptr ||
                                                     source->line != previous->line || source->file != previous->file);
        previous = source;
        if (!last && note == notes.end() && !(whole_path && new_line)) continue;
        nlohmann::json location = sarif_location(report, source, step.pc, source_root);
        std::string message = last ? diagnostic.message
                                   : note != notes.end() ? note->second : fmt::format("instruction {}", step.pc);
        if (step.widened_loop) message = "after the loop, its iterations merged (widening)";
        location["message"] = sarif_message(message);
        locations.push_back({{"location", location},
                             {"importance", last || note != notes.end() ? "essential" : "unimportant"},
                             {"executionOrder", i},
                             {"nestingLevel", step.frame},
                             {"properties", {{"pc", step.pc}}}});
    }
    nlohmann::json flow = {{"threadFlows", nlohmann::json::array({{{"locations", locations}}})}};
    if (diagnostic.story && !diagnostic.story->because.empty())
        flow["message"] = sarif_message("because " + diagnostic.story->because);
    return flow;
}

nlohmann::json sarif_rule(analyzer::ErrorCode code) {
    const auto& info = analyzer::error_code_info(code);
    return {{"id", std::string(info.name)},
            {"name", std::string(info.name)},
            {"shortDescription", sarif_message(std::string(info.summary))},
            {"help", sarif_message(std::string(info.fix_hint))},
            {"defaultConfiguration", {{"level", "error"}}}};
}

nlohmann::json sarif_kernel_rule() {
    return {{"id", std::string(KernelRuleId)},
            {"name", std::string(KernelRuleId)},
            {"shortDescription", sarif_message("the running Linux kernel's verifier rejects the program (bpfvet check --kernel)")},
            {"help", sarif_message("read the kernel's reason; where bpfvet accepts the program, one of the two verifiers is wrong")},
            {"defaultConfiguration", {{"level", "note"}}}};
}

nlohmann::json sarif_bad_input_rule() {
    return {{"id", std::string(BadInputRuleId)},
            {"name", std::string(BadInputRuleId)},
            {"shortDescription", sarif_message("the object could not be checked: unreadable, malformed, or no program matches")},
            {"help", sarif_message("fix the input or the command line; the message says which file, section and instruction")},
            {"defaultConfiguration", {{"level", "error"}}}};
}

// Rules in the order of first use; the index of each id.
struct SarifRules {
    nlohmann::json rules = nlohmann::json::array();
    std::map<std::string, size_t, std::less<>> index;

    size_t add(std::string_view id, const nlohmann::json& rule) {
        if (auto found = index.find(id); found != index.end()) return found->second;
        rules.push_back(rule);
        return index[std::string(id)] = rules.size() - 1;
    }
};

nlohmann::json sarif_result(const ProgramReport& report, const analyzer::Diagnostic& diagnostic, bool known,
                            size_t rule_index, std::string_view source_root) {
    const std::string code(diagnostic.code_name());
    const ir::SourceLocation* source = diagnostic.location ? &*diagnostic.location : nullptr;
    nlohmann::json properties = {{"object", report.object_path},
                                 {"section", report.program->section},
                                 {"program", report.program->name},
                                 {"pc", diagnostic.pc},
                                 {"registers", diagnostic.registers}};
    // With --refine z3: confirmed, undecided (discharged alarms are not errors).
    if (diagnostic.status != analyzer::AlarmStatus::None)
        properties["status"] = std::string(analyzer::alarm_status_name(diagnostic.status));
    nlohmann::json result = {{"ruleId", code},
            {"ruleIndex", rule_index},
            {"level", known ? "note" : "error"},
            {"message", sarif_message(diagnostic_sentence(diagnostic) + story_sentence(diagnostic))},
            {"locations", nlohmann::json::array({sarif_location(report, source, diagnostic.pc, source_root)})},
            {"relatedLocations", nlohmann::json::array({sarif_instruction_location(report, diagnostic, source_root)})},
            // Stable across rebuilds that move instructions: code, program and source line.
            {"partialFingerprints",
             {{"bpfvetLocation/v1",
               error_fingerprint(code, program_label(*report.program), source, diagnostic.pc, source_root)}}},
            {"properties", properties}};
    if (report.against_baseline) result["baselineState"] = known ? "unchanged" : "new";
    if (!diagnostic.path.empty()) result["codeFlows"] = nlohmann::json::array({sarif_code_flow(report, diagnostic, source_root)});
    if (diagnostic.story) result["properties"]["story"] = analyzer::story_json(*diagnostic.story);
    for (const auto& also : diagnostic.also_at) {
        const ir::SourceLocation* where = also.location ? &*also.location : nullptr;
        nlohmann::json location = sarif_location(report, where, also.pc, source_root);
        location["message"] = sarif_message(fmt::format("the same cause at instruction {}: {}", also.pc, also.note));
        result["relatedLocations"].push_back(std::move(location));
    }
    return result;
}

nlohmann::json sarif_kernel_result(const ProgramReport& report, const std::string& sentence, size_t rule_index,
                                   std::string_view source_root) {
    const auto& result = *report.kernel;
    const ir::SourceLocation* source = location_at(report, result.error_pc);
    std::optional<uint32_t> pc;
    if (result.error_pc) pc = uint32_t(*result.error_pc);
    nlohmann::json properties = {{"object", report.object_path},
                                 {"section", report.program->section},
                                 {"program", report.program->name},
                                 {"errno", result.error}};
    if (pc) properties["pc"] = *pc;
    const auto disagreement = kernel_disagreement(report);
    properties["disagreement"] = disagreement.has_value();
    return {{"ruleId", std::string(KernelRuleId)},
            {"ruleIndex", rule_index},
            {"level", disagreement ? "warning" : "note"},
            {"message", sarif_message(sentence)},
            {"locations", nlohmann::json::array({sarif_location(report, source, pc, source_root)})},
            {"properties", properties}};
}

// ---- GitHub ----

// "::error file=F,line=L,col=C,title=T::message"
std::string github_command(std::string_view command, std::string_view file, const ir::SourceLocation* source,
                           std::string_view title, std::string_view message) {
    std::string line = fmt::format("::{} file={}", command, escape_github_property(file));
    if (source && source->line > 0) {
        line += fmt::format(",line={}", source->line);
        if (source->column > 0) line += fmt::format(",col={}", source->column);
    }
    return line + fmt::format(",title={}::{}\n", escape_github_property(title), escape_github_message(message));
}

// ---- JUnit ----

std::string junit_seconds(double seconds) { return fmt::format("{:.3f}", seconds); }

std::string junit_test_case(const ProgramReport& report) {
    const auto& analysis = report.analysis;
    std::string out = fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"", escape_xml(report.object_path),
                                  escape_xml(program_label(*report.program)), junit_seconds(analysis.seconds));
    const bool has_body = !analysis.accepted || report.kernel;
    if (!has_body) return out + "/>\n";
    out += ">\n";
    if (!analysis.accepted && !report.new_rejection()) {
        out += "      <skipped message=\"known rejection: every error is in the baseline\"/>\n";
    } else if (!analysis.accepted) {
        std::string message = "rejected", type = "reject", text;
        if (!analysis.errors.empty()) {
            message = diagnostic_sentence(analysis.errors.front());
            type = std::string(analysis.errors.front().code_name());
        }
        for (const auto& error : analysis.errors) text += error.to_text();
        out += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", escape_xml(message), escape_xml(type),
                           escape_xml(text));
    }
    if (report.kernel) out += fmt::format("      <system-out>{}</system-out>\n", escape_xml(kernel_text(report)));
    return out + "    </testcase>\n";
}

void append_utf8_escape(std::string& out, unsigned char c) { out += fmt::format("%{:02X}", c); }

}  // namespace

std::string program_label(const ir::Program& program) { return program.section + "/" + program.name; }

std::string error_fingerprint(std::string_view code, std::string_view program_label, const ir::SourceLocation* source,
                              uint32_t pc, std::string_view source_root) {
    const bool has_line = source != nullptr && source->line > 0;
    return fmt::format("{}:{}:{}", code, program_label,
                       has_line ? relative_source_path(source_position(source), source_root) : std::to_string(pc));
}

nlohmann::json sarif_report(std::span<const ProgramReport> reports, std::string_view source_root,
                            std::span<const InputFailure> failures) {
    SarifRules rules;
    nlohmann::json results = nlohmann::json::array();
    nlohmann::json notifications = nlohmann::json::array();
    for (const auto& failure : failures) {
        const size_t index = rules.add(BadInputRuleId, sarif_bad_input_rule());
        const std::string uri = uri_from_path(relative_source_path(failure.object_path, source_root));
        results.push_back({{"ruleId", std::string(BadInputRuleId)},
                           {"ruleIndex", index},
                           {"level", "error"},
                           {"message", sarif_message(failure.message)},
                           {"locations", nlohmann::json::array({{{"physicalLocation", {{"artifactLocation", {{"uri", uri}}}}}}})}});
        notifications.push_back({{"level", "error"}, {"message", sarif_message(failure.message)}});
    }
    for (const auto& report : reports) {
        for (size_t i = 0; i < report.analysis.errors.size(); ++i) {
            const auto& diagnostic = report.analysis.errors[i];
            const size_t index = rules.add(diagnostic.code_name(), sarif_rule(diagnostic.code));
            results.push_back(sarif_result(report, diagnostic, report.known(i), index, source_root));
        }
        if (auto sentence = kernel_rejection_sentence(report)) {
            const size_t index = rules.add(KernelRuleId, sarif_kernel_rule());
            results.push_back(sarif_kernel_result(report, *sentence, index, source_root));
        }
    }
    nlohmann::json artifacts = nlohmann::json::array();
    std::vector<std::string_view> targets;
    for (const auto& report : reports) targets.push_back(report.object_path);
    for (const auto& failure : failures) targets.push_back(failure.object_path);
    for (const auto target : targets) {
        const std::string uri = uri_from_path(relative_source_path(target, source_root));
        const bool listed = std::ranges::any_of(artifacts, [&](const nlohmann::json& a) { return a["location"]["uri"] == uri; });
        if (!listed) artifacts.push_back({{"location", {{"uri", uri}}}, {"roles", {"analysisTarget"}}});
    }
    nlohmann::json driver = {{"name", "bpfvet"},
                             {"version", std::string(ToolVersion)},
                             {"semanticVersion", std::string(ToolVersion) + ".0"},
                             {"rules", rules.rules}};
    nlohmann::json run = {{"tool", {{"driver", driver}}},
                          {"artifacts", artifacts},
                          {"results", results},
                          {"columnKind", "unicodeCodePoints"}};
    if (!failures.empty())
        run["invocations"] = nlohmann::json::array(
            {{{"executionSuccessful", false}, {"toolExecutionNotifications", notifications}}});
    return {{"$schema", std::string(SarifSchema)}, {"version", "2.1.0"}, {"runs", nlohmann::json::array({run})}};
}

std::string github_report(std::span<const ProgramReport> reports, std::string_view source_root,
                          std::span<const InputFailure> failures) {
    std::string out;
    for (const auto& failure : failures)
        out += github_command("error", relative_source_path(failure.object_path, source_root), nullptr,
                              std::string("bpfvet ") + std::string(BadInputRuleId), failure.message);
    for (const auto& report : reports) {
        const auto& analysis = report.analysis;
        out += fmt::format("bpfvet: {} {}: {}\n", report.object_path, program_label(*report.program),
                           analysis.accepted ? "accept" : "reject");
        for (size_t i = 0; i < analysis.errors.size(); ++i) {
            const auto& diagnostic = analysis.errors[i];
            const ir::SourceLocation* source = diagnostic.location ? &*diagnostic.location : nullptr;
            const std::string file = relative_source_path(source && source->line > 0 ? source->file : report.object_path, source_root);
            // A known rejection (--baseline) is a notice: it does not fail the gate.
            out += github_command(report.known(i) ? "notice" : "error", file, source,
                                  fmt::format("bpfvet {}{}", diagnostic.code_name(), report.known(i) ? " (baseline)" : ""),
                                  fmt::format("{}: {}{}", program_label(*report.program), diagnostic_sentence(diagnostic),
                                              story_sentence(diagnostic)));
        }
        if (auto sentence = kernel_rejection_sentence(report)) {
            const ir::SourceLocation* source = location_at(report, report.kernel->error_pc);
            const std::string file = relative_source_path(source && source->line > 0 ? source->file : report.object_path, source_root);
            out += github_command(kernel_disagreement(report) ? "warning" : "notice", file, source,
                                  kernel_disagreement(report) ? "kernel verifier disagrees" : "kernel verifier",
                                  fmt::format("{}: {}", program_label(*report.program), *sentence));
        } else if (report.kernel) {
            out += kernel_text(report);
        }
    }
    return out;
}

std::string junit_report(std::span<const ProgramReport> reports, std::span<const InputFailure> input_failures) {
    // Suites by object, in order of first appearance.
    std::vector<std::string> objects;
    for (const auto& report : reports)
        if (std::ranges::find(objects, report.object_path) == objects.end()) objects.push_back(report.object_path);
    for (const auto& failure : input_failures)
        if (std::ranges::find(objects, failure.object_path) == objects.end()) objects.push_back(failure.object_path);

    size_t total_tests = 0, total_failures = 0, total_errors = 0;
    double total_seconds = 0;
    std::string suites;
    for (const auto& object : objects) {
        size_t tests = 0, failures = 0, errors = 0, skipped = 0;
        double seconds = 0;
        std::string cases;
        for (const auto& failure : input_failures) {
            if (failure.object_path != object) continue;
            ++tests;
            ++errors;
            cases += fmt::format("    <testcase classname=\"{}\" name=\"load\" time=\"0.000\">\n"
                                 "      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n",
                                 escape_xml(object), escape_xml(failure.message), BadInputRuleId, escape_xml(failure.message));
        }
        for (const auto& report : reports) {
            if (report.object_path != object) continue;
            ++tests;
            failures += report.new_rejection() ? 1 : 0;
            skipped += !report.analysis.accepted && !report.new_rejection() ? 1 : 0;
            seconds += report.analysis.seconds;
            cases += junit_test_case(report);
        }
        suites += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">\n",
                              escape_xml(object), tests, failures, errors, skipped, junit_seconds(seconds));
        suites += cases + "  </testsuite>\n";
        total_tests += tests;
        total_failures += failures;
        total_errors += errors;
        total_seconds += seconds;
    }
    return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<testsuites name=\"bpfvet check\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">\n{}</testsuites>\n",
                       total_tests, total_failures, total_errors, junit_seconds(total_seconds), suites);
}

namespace {
std::string kernel_verdict_text(const ProgramReport& report);
}  // namespace

std::optional<std::string> kernel_disagreement(const ProgramReport& report) {
    if (!report.kernel) return std::nullopt;
    const bool accepted = report.analysis.accepted;
    if (report.kernel->verdict == kernel::KernelVerdict::Reject && accepted)
        return std::string("disagreement: the kernel rejects this program, bpfvet accepts it");
    if (report.kernel->verdict == kernel::KernelVerdict::Accept && !accepted)
        return std::string("disagreement: the kernel accepts this program, bpfvet rejects it");
    return std::nullopt;
}

std::string kernel_text(const ProgramReport& report) {
    if (!report.kernel) return {};
    const auto& result = *report.kernel;
    // Without BTF the kernel checks global functions in their callers' context:
    // its verdict may differ from a libbpf load's, so say so.
    const std::string note = result.btf_note.empty() || result.verdict == kernel::KernelVerdict::Unavailable
                                 ? std::string()
                                 : fmt::format("kernel: note: {}\n", result.btf_note);
    const auto disagreement = kernel_disagreement(report);
    return kernel_verdict_text(report) + note + (disagreement ? fmt::format("kernel: {}\n", *disagreement) : std::string());
}

namespace {
// The kernel's verdict line, and its log's last lines for a rejection.
std::string kernel_verdict_text(const ProgramReport& report) {
    const auto& result = *report.kernel;
    switch (result.verdict) {
        case kernel::KernelVerdict::Accept: {
            const std::string processed =
                result.processed_insns ? fmt::format("{} insns processed, ", *result.processed_insns) : std::string();
            return fmt::format("kernel: accept ({}{:.1f} ms)\n", processed, result.load_seconds * 1e3);
        }
        case kernel::KernelVerdict::Reject: {
            std::string out = fmt::format("kernel: reject: {}", result.first_error_line);
            if (result.error_pc) {
                out += fmt::format(" at insn {}", *result.error_pc);
                if (const auto* source = location_at(report, result.error_pc)) out += fmt::format(" ({})", source_position(source));
            }
            out += "\n";
            for (const auto& line : kernel::last_log_lines(result.log, KernelLogLinesShown)) out += "    " + line + "\n";
            return out;
        }
        case kernel::KernelVerdict::LoaderError:
            return fmt::format("kernel: not loaded: {}\n", result.message);
        case kernel::KernelVerdict::Unavailable:
            return fmt::format("kernel: unavailable ({}); the verdict is bpfvet's alone\n",
                               result.message.empty() ? "bpf(2) refused" : result.message);
    }
    return {};
}
}  // namespace

nlohmann::json kernel_json(const ProgramReport& report) {
    if (!report.kernel) return nullptr;
    const auto& result = *report.kernel;
    nlohmann::json out = {{"verdict", std::string(kernel::kernel_verdict_name(result.verdict))},
                          {"errno", result.error},
                          {"message", result.message},
                          {"first_error_line", result.first_error_line},
                          {"error_pc", nullptr},
                          {"file", nullptr},
                          {"line", nullptr},
                          {"processed_insns", nullptr},
                          {"load_seconds", result.load_seconds},
                          {"with_btf", result.with_btf}};
    if (!result.btf_note.empty()) out["btf_note"] = result.btf_note;
    // Whether the two verdicts agree (null when the kernel gave none).
    const bool decided = result.verdict == kernel::KernelVerdict::Accept || result.verdict == kernel::KernelVerdict::Reject;
    const auto disagreement = kernel_disagreement(report);
    out["agrees"] = decided ? nlohmann::json(!disagreement) : nlohmann::json(nullptr);
    if (disagreement) out["disagreement"] = *disagreement;
    if (result.error_pc) out["error_pc"] = *result.error_pc;
    if (const auto* source = location_at(report, result.error_pc)) {
        out["file"] = source->file;
        out["line"] = source->line;
    }
    if (result.processed_insns) out["processed_insns"] = *result.processed_insns;
    if (result.verdict == kernel::KernelVerdict::Reject) out["log_tail"] = kernel::last_log_lines(result.log, KernelLogLinesShown);
    return out;
}

std::string escape_github_message(std::string_view raw) {
    std::string out;
    for (char c : valid_utf8(raw)) {
        switch (c) {
            case '%': out += "%25"; break;
            case '\r': out += "%0D"; break;
            case '\n': out += "%0A"; break;
            default: out += c;
        }
    }
    return out;
}

std::string escape_github_property(std::string_view text) {
    std::string out;
    for (char c : escape_github_message(text)) {
        switch (c) {
            case ':': out += "%3A"; break;
            case ',': out += "%2C"; break;
            default: out += c;
        }
    }
    return out;
}

std::string escape_xml(std::string_view raw) {
    std::string out;
    for (char c : valid_utf8(raw)) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += '?';
                else out += c;
        }
    }
    return out;
}

std::string relative_source_path(std::string_view path, std::string_view root) {
    while (root.size() > 1 && root.ends_with('/')) root.remove_suffix(1);
    if (root.empty() || !path.starts_with(root)) return std::string(path);
    if (root == "/") return std::string(path.substr(1));
    if (path.size() <= root.size() + 1 || path[root.size()] != '/') return std::string(path);
    return std::string(path.substr(root.size() + 1));
}

std::string uri_from_path(std::string_view path) {
    // An absolute path (outside the source root) is a file URI, which SARIF
    // viewers open; a relative one stays relative to the root.
    std::string out = path.starts_with('/') ? "file://" : "";
    for (char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        const bool unreserved = std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
        if (unreserved && byte < 0x80) out += c;
        else append_utf8_escape(out, byte);
    }
    return out;
}

}  // namespace bpfvet::tools
