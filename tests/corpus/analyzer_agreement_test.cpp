// The analyzer against corpus/manifest.json: for every program (and cpu
// variant) it must give the manifest's verdict and, for rejects, its error
// code. Privilege-dependent programs are analyzed with unprivileged rules.
//
// Programs with "needs": "refinement" (safe by a relation neither the kernel
// nor our domains keep) are analyzed with Z3 refinement (--refine z3): their
// verdict stays the kernel's, reject.
// One kind of disagreement is skipped (visible in the output), not passed:
// the precision gaps listed in KnownGaps below, each with its reason.
// Any other disagreement fails.
#include "corpus_manifest.hpp"

#include "analyzer/analyzer.hpp"
#include "analyzer/btf_access.hpp"
#include "ir/core_relocation.hpp"
#include "ir/elf_loader.hpp"
#include "ir/kernel_btf.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <ostream>

namespace bpfvet::corpus {
namespace {

// Object file and program the analyzer is known to reject although the kernel
// accepts them, and why. Delete a row when the analyzer catches up.
struct KnownGap {
    std::string_view object;
    std::string_view program;
    std::string_view reason;
};
// Empty now: the analyzer carries bounds to spilled copies, so every
// kernel-accepted program of our corpus must be accepted.
constexpr std::array<KnownGap, 0> KnownGaps{};

const KnownGap* known_gap(const std::string& object, const std::string& program) {
    auto it = std::ranges::find_if(KnownGaps, [&](const KnownGap& gap) { return gap.object == object && gap.program == program; });
    return it == std::end(KnownGaps) ? nullptr : &*it;
}

struct Case {
    std::string object_file;
    std::string variant;
    ProgramEntry program;
};

void PrintTo(const Case& c, std::ostream* out) { *out << c.object_file << ":" << c.program.name; }

std::vector<Case> all_cases() {
    std::vector<Case> cases;
    auto entries = read_manifest(manifest_path());
    if (!entries) return cases;
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

// The running kernel's BTF, which types fentry/fexit/tp_btf/lsm programs
// (their structs are declared with this kernel's offsets); null when absent.
std::shared_ptr<const ir::KernelBtf> running_kernel_btf() {
    static const std::shared_ptr<const ir::KernelBtf> btf = []() -> std::shared_ptr<const ir::KernelBtf> {
        if (!std::filesystem::exists(std::string(ir::DefaultKernelBtfPath))) return nullptr;
        auto parsed = ir::KernelBtf::load(std::string(ir::DefaultKernelBtfPath));
        return parsed ? *parsed : nullptr;
    }();
    return btf;
}

class AnalyzerAgreement : public ::testing::TestWithParam<Case> {};

TEST_P(AnalyzerAgreement, VerdictAndErrorCodeMatchTheManifest) {
    const Case& c = GetParam();
    const std::string path = object_directory() + "/" + c.object_file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built (build target bpfvet_corpus)";
    auto object = ir::load_object(path);
    ASSERT_TRUE(object.has_value()) << object.error().to_string();
    auto program = std::ranges::find(object->programs, c.program.name, &ir::Program::name);
    ASSERT_NE(program, object->programs.end());

    analyzer::AnalysisOptions options;
    options.unprivileged = c.program.unprivileged;
    if (c.program.needs == "refinement") options.refine = analyzer::Refinement::Z3;
    if (analyzer::btf_attach_kind(program->type, program->section) || !program->kfunc_calls.empty()) {
        options.kernel_btf = running_kernel_btf();
        if (!options.kernel_btf) GTEST_SKIP() << ir::DefaultKernelBtfPath << " is absent: BTF-typed arguments cannot be typed";
    }
    // As libbpf loads them: CO-RE relocations applied against the kernel BTF.
    ir::Program checked = *program;
    if (options.kernel_btf && !program->core_relocations.empty()) {
        auto moved = ir::relocate_for_kernel(*object, *program, *options.kernel_btf);
        ASSERT_TRUE(moved.has_value()) << moved.error();
        checked = std::move(*moved);
    }
    const auto result = analyzer::analyze_program(*object, checked, options);
    const std::string verdict = result.accepted ? "accept" : "reject";
    const std::string first_error = result.errors.empty() ? "" : std::string(result.errors.front().code_name());
    const std::string detail = result.errors.empty() ? ""
        : " (pc " + std::to_string(result.errors.front().pc) + ": " + result.errors.front().message + ")";

    if (verdict != c.program.verdict) {
        if (const KnownGap* gap = known_gap(c.object_file, c.program.name); gap && verdict == "reject")
            GTEST_SKIP() << "known precision gap: " << gap->reason << "; the analyzer says " << first_error << detail;
    }
    ASSERT_EQ(verdict, c.program.verdict) << first_error << detail;
    if (verdict == "reject") {
        EXPECT_EQ(first_error, c.program.error) << detail;
        // Our corpus is compiled with -g: every error names its source line.
        for (const auto& error : result.errors)
            EXPECT_TRUE(error.location && error.location->line > 0)
                << "the error at instruction " << error.pc << " has no source line";
    }
}

INSTANTIATE_TEST_SUITE_P(Corpus, AnalyzerAgreement, ::testing::ValuesIn(all_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(AnalyzerAgreement);

}  // namespace
}  // namespace bpfvet::corpus
