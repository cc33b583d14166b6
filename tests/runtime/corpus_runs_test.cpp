// Our corpus programs (corpus/manifest.json "runs") give the expected return
// values on the given packets: every run of every variant in-process, and the
// first run of each program through `bpfvet run --no-verify --format json`.
// Skipped when the corpus has not been built.
#include "test_support.hpp"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace bpfvet::runtime::test {
namespace {

namespace fs = std::filesystem;

struct CorpusRun {
    std::string object;   // path of the built object
    std::string program;  // function name
    std::string section;
    std::string packet_hex;
    uint32_t expected = 0;
    bool first_of_program = false;
};

std::vector<CorpusRun> corpus_runs() {
    std::vector<CorpusRun> runs;
    std::ifstream in(fs::path(BPFVET_SOURCE_DIR) / "corpus/manifest.json");
    if (!in) return runs;
    auto manifest = nlohmann::json::parse(in, nullptr, false);
    if (manifest.is_discarded()) return runs;
    for (const auto& entry : manifest) {
        if (!entry.contains("objects")) continue;
        for (const auto& [variant, object] : entry["objects"].items()) {
            for (const auto& program : entry["programs"]) {
                if (!program.contains("runs")) continue;
                bool first = true;
                for (const auto& run : program["runs"]) {
                    runs.push_back({(fs::path(BPFVET_CORPUS_BUILD_DIR) / object.get<std::string>()).string(),
                                    program["name"], program["section"], run["packet"],
                                    uint32_t(run["return_value"].get<uint64_t>()), first});
                    first = false;
                }
            }
        }
    }
    return runs;
}

std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

TEST(CorpusRuns, EveryRunGivesTheExpectedReturnValue) {
    auto runs = corpus_runs();
    if (runs.empty()) GTEST_SKIP() << "corpus/manifest.json lists no runs";
    if (!fs::exists(runs[0].object)) GTEST_SKIP() << "corpus not built (" << runs[0].object << ")";
    size_t passed = 0;
    for (const auto& run : runs) {
        if (!fs::exists(run.object)) {
            ADD_FAILURE() << run.object << " missing";
            continue;
        }
        // Fresh maps for every run, as the manifest assumes.
        auto object = LoadedObject::open(run.object);
        ASSERT_TRUE(object) << object.error().to_string();
        auto program = (*object)->program(run.program);
        ASSERT_TRUE(program) << program.error().to_string();
        Runner runner(**object, **program);
        ASSERT_TRUE(runner.set_input({.packet = from_hex(run.packet_hex)}));
        auto outcome = runner.run({});
        if (!outcome.result) {
            ADD_FAILURE() << run.object << " " << run.program << ": " << outcome.result.error().to_string();
            continue;
        }
        uint32_t r0 = uint32_t(outcome.result->return_value);
        EXPECT_EQ(r0, run.expected) << run.object << " " << run.program << " packet " << run.packet_hex;
        passed += r0 == run.expected;
    }
    std::printf("corpus runs: %zu of %zu give the expected return value (checked interpreter)\n", passed, runs.size());
}

TEST(CorpusRuns, TheCliRunsThemToo) {
    auto runs = corpus_runs();
    if (runs.empty() || !fs::exists(runs[0].object)) GTEST_SKIP() << "corpus not built";
    if (!fs::exists(BPFVET_CLI)) GTEST_SKIP() << "CLI not built (" << BPFVET_CLI << ")";
    size_t checked = 0;
    for (const auto& run : runs) {
        if (!run.first_of_program || !fs::exists(run.object)) continue;
        std::string command = std::string(BPFVET_CLI) + " run '" + run.object + "' --section " + run.program +
                              " --packet " + run.packet_hex + " --no-verify --format json";
        FILE* pipe = popen(command.c_str(), "r");
        ASSERT_NE(pipe, nullptr);
        std::string output;
        std::array<char, 4096> buffer;
        while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
        int status = pclose(pipe);
        EXPECT_EQ(WEXITSTATUS(status), 0) << command;
        auto json = nlohmann::json::parse(output, nullptr, false);
        ASSERT_FALSE(json.is_discarded()) << command << "\n" << output;
        ASSERT_TRUE(json["return_value"].is_number_unsigned()) << output;
        EXPECT_EQ(uint32_t(json["return_value"].get<uint64_t>()), run.expected) << command;
        EXPECT_TRUE(json["maps"].is_object());
        ++checked;
    }
    EXPECT_GT(checked, 0u);
}

std::pair<int, std::string> run_command(const std::string& arguments) {
    std::string command = std::string(BPFVET_CLI) + " " + arguments + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    std::string output;
    std::array<char, 4096> buffer;
    while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
    return {WEXITSTATUS(pclose(pipe)), output};
}

// Without --no-verify, `run` verifies first: an accepted program runs (exit 0),
// a rejected one is refused with the analyzer's diagnostics (exit 1).
TEST(CorpusRuns, TheCliVerifiesBeforeRunning) {
    auto runs = corpus_runs();
    if (runs.empty() || !fs::exists(runs[0].object) || !fs::exists(BPFVET_CLI)) GTEST_SKIP() << "corpus or CLI not built";
    auto [accepted_code, accepted_output] = run_command("run '" + runs[0].object + "' --section " + runs[0].program);
    EXPECT_EQ(accepted_code, 0) << accepted_output;
    const std::string rejected = std::string(BPFVET_CORPUS_BUILD_DIR) + "/bad_null_dereference.o";
    if (!fs::exists(rejected)) GTEST_SKIP() << "negative corpus program not built";
    auto [code, output] = run_command("run '" + rejected + "' --section kprobe/do_unlinkat");
    EXPECT_EQ(code, 1) << output;
    EXPECT_NE(output.find("rejected by the verifier"), std::string::npos) << output;
    EXPECT_NE(output.find("null-dereference"), std::string::npos) << output;
}

}  // namespace
}  // namespace bpfvet::runtime::test
