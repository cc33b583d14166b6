#include "tools/baseline.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace bpfvet::tools {

namespace {

void add_sarif(const nlohmann::json& log, std::set<std::string>& out) {
    for (const auto& run : log.value("runs", nlohmann::json::array()))
        for (const auto& result : run.value("results", nlohmann::json::array())) {
            const auto fingerprints = result.value("partialFingerprints", nlohmann::json::object());
            if (auto found = fingerprints.find("bpfvetLocation/v1"); found != fingerprints.end() && found->is_string())
                out.insert(found->get<std::string>());
        }
}

void add_json_object(const nlohmann::json& object, std::set<std::string>& out, std::string_view source_root) {
    for (const auto& program : object.value("programs", nlohmann::json::array())) {
        const std::string label = program.value("section", "") + "/" + program.value("name", "");
        for (const auto& error : program.value("errors", nlohmann::json::array())) {
            ir::SourceLocation source{error.value("file", ""), error.value("line", 0u), 0, ""};
            out.insert(error_fingerprint(error.value("code", ""), label, source.line > 0 ? &source : nullptr,
                                         error.value("pc", 0u), source_root));
        }
    }
}

}  // namespace

std::expected<Baseline, std::string> Baseline::read(const std::string& path, std::string_view source_root) {
    std::ifstream in(path);
    if (!in) return std::unexpected(fmt::format("{}: cannot read the baseline", path));
    std::stringstream text;
    text << in.rdbuf();
    const auto document = nlohmann::json::parse(text.str(), nullptr, false);
    if (document.is_discarded() || !document.is_object())
        return std::unexpected(fmt::format("{}: the baseline is not the JSON or SARIF output of bpfvet check", path));
    Baseline baseline;
    if (document.contains("runs")) add_sarif(document, baseline.fingerprints_);
    else if (document.contains("objects"))
        for (const auto& object : document["objects"]) add_json_object(object, baseline.fingerprints_, source_root);
    else if (document.contains("programs")) add_json_object(document, baseline.fingerprints_, source_root);
    else return std::unexpected(fmt::format("{}: the baseline is not the JSON or SARIF output of bpfvet check", path));
    return baseline;
}

void mark_baseline(ProgramReport& report, const Baseline& baseline, std::string_view source_root) {
    report.against_baseline = true;
    report.known_errors.clear();
    for (const auto& error : report.analysis.errors) {
        const ir::SourceLocation* source = error.location ? &*error.location : nullptr;
        report.known_errors.push_back(baseline.contains(
            error_fingerprint(error.code_name(), program_label(*report.program), source, error.pc, source_root)));
    }
}

}  // namespace bpfvet::tools
