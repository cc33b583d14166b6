// The running kernel as the oracle for corpus/manifest.json: every program is
// loaded by runtime/kernel_loader.hpp the way libbpf would load it (maps created
// from the object's definitions, global data as array maps initialised with
// the section bytes, .rodata read-only to the program and frozen), and the
// kernel's verdict must match the manifest's. Programs with runs are then
// executed with BPF_PROG_TEST_RUN and their return values compared.
//
// Needs root (CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN); skips otherwise, and
// when the kernel refuses bpf(2) altogether (EPERM, ENOSYS).
#include "corpus_manifest.hpp"

#include "ir/elf_loader.hpp"
#include "runtime/kernel_loader.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <ostream>

namespace bpfvet::corpus {
namespace {

namespace kernel = runtime::kernel;

// The kernel_log strings and verdicts were recorded on Linux 6.18; older
// kernels lack v4 instructions and word their messages differently.
constexpr std::pair<int, int> RecordedOnKernel{6, 18};

// ---- One test per (object variant, program) of the manifest ----

struct Case {
    std::string object_file;
    std::string variant;
    ProgramEntry program;
};

// Names the case in gtest's output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* out) { *out << c.object_file << ":" << c.program.name; }

std::vector<Case> all_cases() {
    std::vector<Case> cases;
    auto entries = read_manifest(manifest_path());
    if (!entries) return cases;  // CorpusKernelOracle.ManifestReads reports it
    for (const auto& entry : *entries)
        for (const auto& [variant, file] : entry.objects)
            for (const auto& program : entry.programs) cases.push_back({file, variant, program});
    return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string stem = info.param.object_file.substr(0, info.param.object_file.find('.'));
    std::string name = stem + "_" + info.param.variant + "_" + info.param.program.name;
    std::ranges::replace_if(name, [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

TEST(CorpusKernelOracle, ManifestReads) {
    auto entries = read_manifest(manifest_path());
    EXPECT_TRUE(entries.has_value()) << entries.error();
}

class KernelOracle : public ::testing::TestWithParam<Case> {};

TEST_P(KernelOracle, KernelVerdictMatchesManifest) {
    const Case& c = GetParam();
    if (geteuid() != 0) GTEST_SKIP() << "loading BPF programs needs root";
    if (const auto version = kernel::running_kernel_version(); version < RecordedOnKernel)
        GTEST_SKIP() << "the manifest's kernel verdicts are from Linux " << RecordedOnKernel.first << "."
                     << RecordedOnKernel.second << "; this is " << version.first << "." << version.second;
    const std::string path = object_directory() + "/" + c.object_file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built (build target bpfvet_corpus)";

    auto object = ir::load_object(path);
    ASSERT_TRUE(object.has_value()) << object.error().to_string();
    auto program = std::ranges::find(object->programs, c.program.name, &ir::Program::name);
    ASSERT_NE(program, object->programs.end()) << c.program.name << " not in " << path;
    auto type = ir::program_type_from_name(c.program.type);
    ASSERT_TRUE(type.has_value()) << c.program.type;

    std::optional<kernel::KernelProgram> loaded;
    const auto result = kernel::load_in_kernel(*object, *program, *type, {}, &loaded);
    if (result.verdict == kernel::KernelVerdict::Unavailable) GTEST_SKIP() << "the kernel refuses bpf(2): " << result.message;
    ASSERT_NE(result.verdict, kernel::KernelVerdict::LoaderError) << result.message;
    const std::string kernel_verdict(kernel::kernel_verdict_name(result.verdict));
    ASSERT_EQ(kernel_verdict, c.program.expected_kernel_verdict())
        << c.program.name << " (" << c.object_file << "): the kernel says " << kernel_verdict
        << (result.log.empty() ? "" : ", log tail:\n" + result.log.substr(result.log.size() - std::min<size_t>(result.log.size(), 600)));
    if (kernel_verdict == "reject" && !c.program.kernel_log.empty()) {
        EXPECT_NE(result.log.find(c.program.kernel_log), std::string::npos)
            << "expected \"" << c.program.kernel_log << "\" in the verifier log:\n" << result.log;
    }

    if (kernel_verdict != "accept") return;
    ASSERT_TRUE(loaded.has_value());
    for (const auto& run : c.program.runs) {
        auto value = loaded->test_run(run.packet);
        ASSERT_TRUE(value.has_value()) << value.error() << " (" << run.note << ")";
        EXPECT_EQ(*value, run.return_value) << c.program.name << ": " << run.note;
    }
}

INSTANTIATE_TEST_SUITE_P(Corpus, KernelOracle, ::testing::ValuesIn(all_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KernelOracle);

}  // namespace
}  // namespace bpfvet::corpus
