// Every reproducer of ../shared/repro (README there) behaves: no signal, an
// exit code of 0, 1 or 2 with a clear message, within 10 s; and each class
// gives its expected answer. Skipped when ../shared/repro is absent.
#include "../ir/test_paths.hpp"
#include "cli_runner.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace bpfvet::test {
namespace {

std::filesystem::path repro_dir() { return shared_dir() / "repro"; }

std::filesystem::path repro(const std::string& name) { return repro_dir() / name; }

std::vector<std::filesystem::path> repro_files(const std::string& prefix = "") {
    std::vector<std::filesystem::path> files;
    if (!std::filesystem::is_directory(repro_dir())) return files;
    for (const auto& entry : std::filesystem::directory_iterator(repro_dir()))
        if (entry.path().extension() == ".o" && entry.path().filename().string().starts_with(prefix))
            files.push_back(entry.path());
    std::ranges::sort(files);
    return files;
}

// Under a 10 s limit and an 8 GiB address space (the contract's bounds):
// `timeout` exits 124 on a hang, a signal shows as an exit code above 128.
CliResult bounded(const std::string& arguments) {
    return run_shell("prlimit --as=8589934592 timeout 10 " + std::string(BPFVET_CLI) + " " + arguments);
}

nlohmann::json json_part(const std::string& output) {
    const size_t first = output.find('{'), last = output.rfind('}');
    if (first == std::string::npos || last == std::string::npos) return nlohmann::json::value_t::discarded;
    return nlohmann::json::parse(output.substr(first, last - first + 1), nullptr, false);
}

class Repro : public ::testing::Test {
protected:
    void SetUp() override {
        if (repro_files().empty()) GTEST_SKIP() << "../shared/repro absent";
    }
};

TEST_F(Repro, EveryCommandExitsCleanlyOnEveryFile) {
    for (const auto& file : repro_files()) {
        for (const std::string command : {"sections", "sections --format json", "disasm", "check", "check --format json",
                                          "check --format sarif", "check --format junit", "cfg"}) {
            auto result = bounded(command + " " + quote(file));
            EXPECT_LE(result.exit_code, 2) << command << " " << file.filename() << "\n" << result.output.substr(0, 2000);
            EXPECT_GE(result.exit_code, 0) << command << " " << file.filename();
        }
        auto listing = json_part(bounded("sections --format json " + quote(file)).output);
        if (!listing.is_object()) continue;
        for (const auto& program : listing["programs"]) {
            const std::string name = program["name"];
            for (const std::string engine : {"--engine interp --no-verify", "--engine jit", "--engine interp"}) {
                auto run = bounded("run --packet 000000000000000000000000000000000000000000000000 --type xdp " + engine +
                                   " --program '" + name + "' " + quote(file));
                EXPECT_LE(run.exit_code, 2) << engine << " " << file.filename() << "\n" << run.output.substr(0, 2000);
                EXPECT_GE(run.exit_code, 0) << engine << " " << file.filename();
            }
        }
    }
}

TEST_F(Repro, MapIndexOutOfRange) {
    for (const auto& file : repro_files("R1-")) {
        auto result = bounded("sections --format json " + quote(file));
        EXPECT_EQ(result.exit_code, 0) << file.filename() << "\n" << result.output;
        EXPECT_FALSE(json_part(result.output).is_discarded()) << result.output;
    }
}

TEST_F(Repro, JsonOfBytesThatAreNotUtf8) {
    for (const auto& file : repro_files("R2-")) {
        for (const std::string command : {"check --format json", "sections --format json", "check --format sarif"}) {
            auto result = bounded(command + " " + quote(file));
            // The damaged section name ("fi\xffter") implies no type: check asks for one, in a valid document.
            const bool untyped = result.output.find("names no program type") != std::string::npos;
            EXPECT_LE(result.exit_code, untyped ? 2 : 1) << command << " " << file.filename() << "\n" << result.output;
            EXPECT_FALSE(json_part(result.output).is_discarded()) << command << " " << file.filename() << "\n" << result.output;
        }
    }
}

TEST_F(Repro, UntypedSectionIsRefusedByEveryCommand) {
    const auto file = repro("R3-type-mismatch-suricata-filter.o");
    for (const std::string command : {"check", "run --section filter --engine jit", "run --section filter --engine interp"}) {
        auto result = bounded(command + " " + quote(file));
        EXPECT_EQ(result.exit_code, 2) << command << "\n" << result.output;
        EXPECT_NE(result.output.find("--type"), std::string::npos) << command << "\n" << result.output;
    }
    auto typed = bounded("check --type socket_filter " + quote(file));
    EXPECT_LE(typed.exit_code, 1) << typed.output;
    auto run = bounded("run --section filter --type socket_filter --engine jit --packet 0000000000000000 " + quote(file));
    EXPECT_LE(run.exit_code, 1) << run.output;
}

TEST_F(Repro, AbsurdMapSizes) {
    for (const auto& file : repro_files("R4-")) {
        auto listing = json_part(bounded("sections --format json " + quote(file)).output);
        ASSERT_TRUE(listing.is_object()) << file;
        const std::string section = listing["programs"][0]["section"];
        auto run = bounded("run --engine interp --no-verify --section '" + section + "' " + quote(file));
        EXPECT_EQ(run.exit_code, 2) << file.filename() << "\n" << run.output;
        EXPECT_TRUE(run.output.find("budget") != std::string::npos ||
                    run.output.find("kernel cannot create") != std::string::npos)
            << file.filename() << "\n" << run.output;
    }
    // The kernel cannot create a hash map with a 4 GiB value: check says so.
    auto check = bounded("check " + quote(repro("R4-bad_alloc-hash-value-4GiB.o")));
    EXPECT_EQ(check.exit_code, 1) << check.output;
    EXPECT_NE(check.output.find("cannot be created by the kernel"), std::string::npos) << check.output;
}

TEST_F(Repro, IrreducibleLoopsAreRejected) {
    for (const auto& file : repro_files("R5-")) {
        auto result = bounded("check " + quote(file));
        EXPECT_EQ(result.exit_code, 1) << file.filename() << "\n" << result.output;
    }
}

TEST_F(Repro, HugeGlobalDataIsNotPrinted) {
    const auto start = std::chrono::steady_clock::now();
    auto result = bounded("run --section xdp --no-verify --engine interp --format json " +
                          quote(repro("R7-map-dump-bss-128MiB.o")));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LE(result.exit_code, 1) << result.output.substr(0, 2000);
    EXPECT_LT(result.output.size(), 1u << 20);
    EXPECT_LT(seconds, 10.0);
}

}  // namespace
}  // namespace bpfvet::test
