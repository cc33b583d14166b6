// The runtime against the "runs" of corpus/manifest.json: each packet, run
// through the interpreter on freshly created maps, must give the return value
// the kernel gives (kernel_oracle_test checks the same runs with
// BPF_PROG_TEST_RUN).
#include "corpus_manifest.hpp"

#include "runtime/runtime.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <ostream>

namespace bpfvet::corpus {
namespace {

struct Case {
    std::string object_file;
    std::string variant;
    ProgramEntry program;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.object_file << ":" << c.program.name; }

std::vector<Case> cases_with_runs() {
    std::vector<Case> cases;
    auto entries = read_manifest(manifest_path());
    if (!entries) return cases;
    for (const auto& entry : *entries)
        for (const auto& [variant, file] : entry.objects)
            for (const auto& program : entry.programs)
                if (!program.runs.empty()) cases.push_back({file, variant, program});
    return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string stem = info.param.object_file.substr(0, info.param.object_file.find('.'));
    std::string name = stem + "_" + info.param.variant + "_" + info.param.program.name;
    std::ranges::replace_if(name, [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

class RuntimeRuns : public ::testing::TestWithParam<Case> {};

TEST_P(RuntimeRuns, ReturnValuesMatchTheManifest) {
    const Case& c = GetParam();
    const std::string path = object_directory() + "/" + c.object_file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built (build target bpfvet_corpus)";
    // Fresh maps per program, as the kernel oracle creates them.
    auto object = runtime::LoadedObject::open(path);
    ASSERT_TRUE(object.has_value()) << object.error().to_string();
    auto program = (*object)->program(c.program.name);
    ASSERT_TRUE(program.has_value()) << program.error().to_string();
    runtime::Runner runner(**object, **program, 0);
    for (const auto& run : c.program.runs) {
        SCOPED_TRACE(run.note);
        runtime::RunInput packet_input;
        packet_input.packet = run.packet;
        auto input = runner.set_input(std::move(packet_input));
        ASSERT_TRUE(input.has_value()) << input.error();
        auto outcome = runner.run();
        ASSERT_TRUE(outcome.result.has_value()) << "fault at pc " << outcome.result.error().pc << ": "
                                                << outcome.result.error().message;
        EXPECT_EQ(uint32_t(outcome.result->return_value), run.return_value);
    }
}

INSTANTIATE_TEST_SUITE_P(Corpus, RuntimeRuns, ::testing::ValuesIn(cases_with_runs()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RuntimeRuns);

}  // namespace
}  // namespace bpfvet::corpus
