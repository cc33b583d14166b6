// Fixtures for the `bpfvet corpus` and `bpfvet compare` tests: a temporary
// directory of objects copied from our corpus build, and readers for results.
#pragma once

#include "cli_runner.hpp"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace bpfvet::test {

using Key = std::tuple<std::string, std::string, std::string>;

// A directory removed at the end of the test.
class TemporaryDirectory {
public:
    TemporaryDirectory() {
        std::string pattern = (std::filesystem::temp_directory_path() / "bpfvet-corpus-XXXXXX").string();
        if (mkdtemp(pattern.data())) path_ = pattern;
    }
    ~TemporaryDirectory() {
        std::error_code ignored;
        if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
    }
    TemporaryDirectory(const TemporaryDirectory&) = delete;
    TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// The programs the fixture holds: object (relative) -> function names.
// tail_call.o has three programs, so a crash in the middle tests that the rest
// of the object is still analysed.
inline const std::vector<std::pair<std::string, std::vector<std::string>>>& fixture_programs() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> programs = {
        {"tail_call.o", {"xdp_dispatch", "xdp_handle_ipv4", "xdp_handle_ipv6"}},
        {"net/ringbuf_events.o", {"exec_event_reserve", "exec_event_output"}},
        {"net/socket_filter.o", {"socket_dns_only"}},
        {"bad/bad_null_dereference.o", {"kprobe_null_dereference"}},
        {"bad/bad_pointer_leak.o", {"socket_pointer_leak"}},
        {"xdp_parser.o", {"xdp_parse"}},
    };
    return programs;
}
inline constexpr size_t FixtureProgramCount = 9;  // plus broken.o, a bad-input record

// Copies the fixture objects into `directory`, plus broken.o (not an ELF file)
// and notes.txt (not an object). False when the corpus objects were not built.
inline bool make_fixture(const std::filesystem::path& directory) {
    const std::filesystem::path built = BPFVET_CORPUS_BUILD_DIR;
    for (const auto& [relative, names] : fixture_programs()) {
        const auto source = built / std::filesystem::path(relative).filename();
        if (!std::filesystem::exists(source)) return false;
        std::filesystem::create_directories((directory / relative).parent_path());
        std::filesystem::copy_file(source, directory / relative, std::filesystem::copy_options::overwrite_existing);
    }
    std::ofstream(directory / "broken.o") << "this is not an ELF file";
    std::ofstream(directory / "notes.txt") << "not an object";
    return true;
}

inline std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& path) {
    std::vector<nlohmann::json> lines;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

inline Key key_of(const nlohmann::json& record) {
    return {record.at("file").get<std::string>(), record.at("section").get<std::string>(),
            record.at("program").get<std::string>()};
}

inline std::set<Key> keys_of(const std::vector<nlohmann::json>& records) {
    std::set<Key> keys;
    for (const auto& record : records) keys.insert(key_of(record));
    return keys;
}

inline const nlohmann::json* find_program(const std::vector<nlohmann::json>& records, const std::string& program) {
    for (const auto& record : records)
        if (record.at("program") == program) return &record;
    return nullptr;
}

// Sets an environment variable for the scope (the CLI inherits it).
class ScopedEnvironment {
public:
    ScopedEnvironment(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
    ~ScopedEnvironment() { unsetenv(name_); }
    ScopedEnvironment(const ScopedEnvironment&) = delete;
    ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

private:
    const char* name_;
};

}  // namespace bpfvet::test
