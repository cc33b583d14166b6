#include "cli_runner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace bpfvet::test {
namespace {

// `bpfvet run --engine jit` and `--engine interp` agree with the manifest's
// expected return values on every packet run of our corpus's XDP parser.
TEST(RunCommand, JitAndInterpreterAgreeOnCorpusRuns) {
    const std::filesystem::path object = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "xdp_parser.o";
    if (!std::filesystem::exists(object)) GTEST_SKIP() << "corpus not built";
    std::ifstream in(std::filesystem::path(BPFVET_SOURCE_DIR) / "corpus" / "manifest.json");
    auto manifest = nlohmann::json::parse(in);
    size_t checked = 0;
    for (const auto& entry : manifest) {
        if (entry["source"] != "xdp_parser.c") continue;
        for (const auto& run : entry["programs"][0]["runs"]) {
            for (const char* engine : {"interp", "jit"}) {
                auto result = run_cli("run " + quote(object) + " --section xdp --format json --engine " + engine +
                                      " --packet " + run["packet"].get<std::string>());
                ASSERT_EQ(result.exit_code, 0) << engine << ": " << result.output;
                auto json = nlohmann::json::parse(result.output);
                EXPECT_EQ(json["return_value"].get<uint64_t>(), run["return_value"].get<uint64_t>()) << engine;
                ++checked;
            }
        }
    }
    EXPECT_GE(checked, 8u);
}

TEST(RunCommand, JitRefusesUnverifiedPrograms) {
    const std::filesystem::path object = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "xdp_parser.o";
    if (!std::filesystem::exists(object)) GTEST_SKIP() << "corpus not built";
    auto result = run_cli("run " + quote(object) + " --section xdp --engine jit --no-verify");
    EXPECT_EQ(result.exit_code, 2) << result.output;
}

}  // namespace
}  // namespace bpfvet::test
