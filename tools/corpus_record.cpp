#include "tools/corpus_record.hpp"
#include "tools/parse_number.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace bpfvet::tools::corpus {

std::string ProgramKey::to_string() const {
    if (section.empty() && program.empty()) return file;
    return file + " " + section + " " + program;
}

uint64_t fnv1a_64(std::string_view text) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned char byte : text) {
        hash ^= byte;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

std::expected<Shard, std::string> parse_shard(std::string_view text) {
    const auto slash = text.find('/');
    const std::string problem = "--shard wants I/N with 0 <= I < N (e.g. 0/4), not '" + std::string(text) + "'";
    if (slash == std::string_view::npos) return std::unexpected(problem);
    auto index = parse_number(text.substr(0, slash));
    auto count = parse_number(text.substr(slash + 1));
    if (!index || !count || *count == 0 || *index >= *count) return std::unexpected(problem);
    return Shard{*index, *count};
}

bool in_shard(const ProgramKey& key, Shard shard) {
    std::string text = key.file;
    text += '\0';
    text += key.section;
    text += '\0';
    text += key.program;
    return fnv1a_64(text) % shard.count == shard.index;
}

nlohmann::ordered_json to_json(const CorpusRecord& record) {
    using Json = nlohmann::ordered_json;
    Json json = {
        {"file", record.key.file},
        {"section", record.key.section},
        {"program", record.key.program},
        {"type", record.type},
        {"insn_count", record.insn_count},
        {"verdict", record.verdict},
        {"error_code", record.error_code.empty() ? Json(nullptr) : Json(record.error_code)},
        {"error_pc", record.error_pc ? Json(*record.error_pc) : Json(nullptr)},
        {"error_message", record.error_message},
        {"errors", record.errors},
        {"steps", record.steps},
        {"processed_insns", record.processed_insns},
        {"peak_states", record.peak_states},
        {"seconds", record.seconds},
        {"cpu_seconds", record.cpu_seconds},
        {"peak_kib", record.peak_kib ? Json(*record.peak_kib) : Json(nullptr)},
        {"version", record.version},
        {"options", record.options},
    };
    if (record.kernel) {
        const KernelFields& kernel = *record.kernel;
        json["kernel_verdict"] = kernel.verdict;
        json["kernel_errno"] = kernel.error;
        json["kernel_processed_insns"] =
            kernel.processed_insns ? Json(*kernel.processed_insns) : Json(nullptr);
        json["kernel_load_seconds"] = kernel.load_seconds;
        json["kernel_first_error_line"] = kernel.first_error_line;
    }
    return json;
}

namespace {

// value_or for a JSON field that may be absent or null.
template <typename T>
T field(const nlohmann::json& json, const char* name, T fallback) {
    auto found = json.find(name);
    if (found == json.end() || found->is_null()) return fallback;
    return found->get<T>();
}

template <typename T>
std::optional<T> optional_field(const nlohmann::json& json, const char* name) {
    auto found = json.find(name);
    if (found == json.end() || found->is_null()) return std::nullopt;
    return found->get<T>();
}

}  // namespace

std::expected<CorpusRecord, std::string> record_from_json(const nlohmann::json& json) {
    if (!json.is_object()) return std::unexpected("not a JSON object");
    for (const char* required : {"file", "section", "program", "verdict"})
        if (!json.contains(required) || !json[required].is_string())
            return std::unexpected(std::string("no string field '") + required + "'");
    try {
        CorpusRecord record;
        record.key = {json["file"], json["section"], json["program"]};
        record.type = field<std::string>(json, "type", "");
        record.insn_count = field<uint64_t>(json, "insn_count", 0);
        record.verdict = json["verdict"];
        record.error_code = field<std::string>(json, "error_code", "");
        record.error_pc = optional_field<uint32_t>(json, "error_pc");
        record.error_message = field<std::string>(json, "error_message", "");
        record.errors = field<uint64_t>(json, "errors", 0);
        record.steps = field<uint64_t>(json, "steps", 0);
        record.processed_insns = field<uint64_t>(json, "processed_insns", 0);
        record.peak_states = field<uint64_t>(json, "peak_states", 0);
        record.seconds = field<double>(json, "seconds", 0.0);
        record.cpu_seconds = field<double>(json, "cpu_seconds", 0.0);
        record.peak_kib = optional_field<uint64_t>(json, "peak_kib");
        record.version = field<std::string>(json, "version", "");
        record.options = field<nlohmann::json>(json, "options", nlohmann::json::object());
        if (json.contains("kernel_verdict")) {
            KernelFields kernel;
            kernel.verdict = field<std::string>(json, "kernel_verdict", "");
            kernel.error = field<int>(json, "kernel_errno", 0);
            kernel.processed_insns = optional_field<uint64_t>(json, "kernel_processed_insns");
            kernel.load_seconds = field<double>(json, "kernel_load_seconds", 0.0);
            kernel.first_error_line = field<std::string>(json, "kernel_first_error_line", "");
            record.kernel = std::move(kernel);
        }
        return record;
    } catch (const nlohmann::json::exception& error) {
        return std::unexpected(std::string("a field has the wrong type: ") + error.what());
    }
}

std::expected<ResultsFile, std::string> read_results(const std::string& path) {
    ResultsFile results;
    std::error_code error;
    // Absent: a fresh run. Present but unreadable: the caller must not overwrite it.
    if (!std::filesystem::exists(path, error)) return results;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::unexpected(path + ": cannot be read");
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    size_t start = 0;
    while (start < text.size()) {
        const size_t end = text.find('\n', start);
        if (end == std::string::npos) {  // torn: written without its newline
            ++results.torn_lines;
            break;
        }
        const std::string_view line(text.data() + start, end - start);
        auto json = nlohmann::json::parse(line, nullptr, false);
        auto record = json.is_discarded() ? std::unexpected(std::string("not JSON")) : record_from_json(json);
        if (record) results.records.push_back(std::move(*record));
        else if (!line.empty()) ++results.torn_lines;
        start = end + 1;
        results.complete_bytes = start;
    }
    return results;
}

}  // namespace bpfvet::tools::corpus
