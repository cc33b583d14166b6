#include "corpus_manifest.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

namespace bpfvet::corpus {
namespace {

using nlohmann::json;

// The string field `key` of `object`, or an error naming where it is missing.
std::expected<std::string, std::string> string_field(const json& object, const char* key, const std::string& where,
                                                     bool required = true) {
    auto it = object.find(key);
    if (it == object.end()) {
        if (required) return std::unexpected(where + ": missing \"" + key + "\"");
        return std::string();
    }
    if (!it->is_string()) return std::unexpected(where + ": \"" + key + "\" must be a string");
    return it->get<std::string>();
}

std::expected<Run, std::string> read_run(const json& value, const std::string& where) {
    if (!value.is_object()) return std::unexpected(where + ": a run must be an object");
    Run run;
    auto packet = string_field(value, "packet", where);
    if (!packet) return std::unexpected(packet.error());
    auto bytes = parse_hex(*packet);
    if (!bytes) return std::unexpected(where + ": packet: " + bytes.error());
    run.packet = std::move(*bytes);
    auto result = value.find("return_value");
    if (result == value.end() || !result->is_number_unsigned() || result->get<uint64_t>() > UINT32_MAX)
        return std::unexpected(where + ": \"return_value\" must be a number in [0, 2^32)");
    run.return_value = result->get<uint32_t>();
    auto note = string_field(value, "note", where, false);
    if (!note) return std::unexpected(note.error());
    run.note = *note;
    return run;
}

std::expected<ProgramEntry, std::string> read_program(const json& value, const std::string& where) {
    if (!value.is_object()) return std::unexpected(where + ": a program must be an object");
    ProgramEntry program;
    for (auto [field, key, required] : {std::tuple{&program.section, "section", true}, {&program.name, "name", true},
                                        {&program.type, "type", true}, {&program.verdict, "verdict", true},
                                        {&program.error, "error", false}, {&program.needs, "needs", false},
                                        {&program.kernel_log, "kernel_log", false},
                                        {&program.control_for, "control_for", false}}) {
        auto text = string_field(value, key, where, required);
        if (!text) return std::unexpected(text.error());
        *field = *text;
    }
    const std::string here = where + " (" + program.name + ")";
    if (program.verdict != "accept" && program.verdict != "reject")
        return std::unexpected(here + ": verdict must be \"accept\" or \"reject\"");
    if ((program.verdict == "reject") != !program.error.empty())
        return std::unexpected(here + ": a rejected program needs an \"error\", an accepted one must not have one");
    if (auto flag = value.find("unprivileged"); flag != value.end()) {
        if (!flag->is_boolean()) return std::unexpected(here + ": \"unprivileged\" must be true or false");
        program.unprivileged = flag->get<bool>();
    }
    if (value.contains("kernel_verdict")) {
        auto kernel = string_field(value, "kernel_verdict", here);
        if (!kernel) return std::unexpected(kernel.error());
        if (*kernel != "accept" && *kernel != "reject")
            return std::unexpected(here + ": kernel_verdict must be \"accept\" or \"reject\"");
        program.kernel_verdict = *kernel;
    }
    if (auto runs = value.find("runs"); runs != value.end()) {
        if (!runs->is_array()) return std::unexpected(here + ": \"runs\" must be an array");
        for (size_t i = 0; i < runs->size(); ++i) {
            auto run = read_run((*runs)[i], here + " run " + std::to_string(i));
            if (!run) return std::unexpected(run.error());
            program.runs.push_back(std::move(*run));
        }
    }
    return program;
}

std::expected<Entry, std::string> read_entry(const json& value, size_t index) {
    const std::string where = "manifest entry " + std::to_string(index);
    if (!value.is_object()) return std::unexpected(where + ": must be an object");
    Entry entry;
    auto source = string_field(value, "source", where);
    if (!source) return std::unexpected(source.error());
    entry.source = *source;
    const std::string here = where + " (" + entry.source + ")";
    auto description = string_field(value, "description", here);
    if (!description) return std::unexpected(description.error());
    entry.description = *description;

    auto variants = value.find("variants");
    auto objects = value.find("objects");
    if (variants == value.end() || !variants->is_array() || variants->empty())
        return std::unexpected(here + ": \"variants\" must be a non-empty array");
    if (objects == value.end() || !objects->is_object())
        return std::unexpected(here + ": \"objects\" must map each variant to its object file");
    for (const auto& variant : *variants) {
        if (!variant.is_string()) return std::unexpected(here + ": variants are strings like \"v3\"");
        auto file = objects->find(variant.get<std::string>());
        if (file == objects->end() || !file->is_string())
            return std::unexpected(here + ": no object file for variant " + variant.get<std::string>());
        entry.objects.emplace_back(variant.get<std::string>(), file->get<std::string>());
    }
    auto object = string_field(value, "object", here);
    if (!object) return std::unexpected(object.error());
    if (*object != entry.objects.front().second)
        return std::unexpected(here + ": \"object\" must name the first variant's object file");

    auto programs = value.find("programs");
    if (programs == value.end() || !programs->is_array() || programs->empty())
        return std::unexpected(here + ": \"programs\" must be a non-empty array");
    for (const auto& program_value : *programs) {
        auto program = read_program(program_value, here);
        if (!program) return std::unexpected(program.error());
        entry.programs.push_back(std::move(*program));
    }
    return entry;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::expected<std::vector<uint8_t>, std::string> parse_hex(std::string_view text) {
    if (text.size() % 2 != 0) return std::unexpected("odd number of hex digits (" + std::to_string(text.size()) + ")");
    std::vector<uint8_t> bytes;
    bytes.reserve(text.size() / 2);
    for (size_t i = 0; i < text.size(); i += 2) {
        int high = hex_digit(text[i]), low = hex_digit(text[i + 1]);
        if (high < 0 || low < 0) return std::unexpected("not a hex digit at position " + std::to_string(i));
        bytes.push_back(uint8_t(high << 4 | low));
    }
    return bytes;
}

std::expected<std::vector<Entry>, std::string> read_manifest(const std::string& path) {
    std::ifstream in(path);
    if (!in) return std::unexpected("cannot open " + path);
    json document = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return std::unexpected(path + " is not valid JSON");
    if (!document.is_array()) return std::unexpected(path + ": the manifest must be an array of entries");
    std::vector<Entry> entries;
    for (size_t i = 0; i < document.size(); ++i) {
        auto entry = read_entry(document[i], i);
        if (!entry) return std::unexpected(entry.error());
        entries.push_back(std::move(*entry));
    }
    return entries;
}

std::string manifest_path() { return std::string(BPFVET_SOURCE_DIR) + "/corpus/manifest.json"; }
std::string object_directory() { return BPFVET_CORPUS_BUILD_DIR; }

}  // namespace bpfvet::corpus
