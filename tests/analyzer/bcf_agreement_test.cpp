// The analyzer against the Linux 6.18 verifier on ../shared/bcf-corpus: Cilium's
// and Calico's datapath programs, each source compiled by several clang
// versions (kernel-verdicts.csv, loaded as root). These are the programs where
// a joining analysis loses what the kernel's path-by-path exploration keeps.
// Enforces the figures of issue 17:
//   - at least 98% of the programs the kernel accepts are accepted;
//   - no program the kernel rejects is accepted;
//   - compiler variants of one source program that the kernel treats alike
//     get one verdict from us too.
// Every disagreement is printed. Skipped when ../shared is absent.
#include "analyzer/analyzer.hpp"
#include "ir/elf_loader.hpp"
#include "tests/support/csv_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace bpfvet::analyzer {
namespace {

struct Verdicts {
    std::string kernel;  // accept / reject
    bool accepted = false;
    std::string first_error;
};

struct Program {
    std::string file, section, name, type, kernel_verdict;
    Verdicts result;
};

// Analyses the programs of one object file (they share its loading).
void analyze_file(const std::filesystem::path& objects, std::vector<Program*> programs) {
    auto object = ir::load_object((objects / programs.front()->file).string());
    for (Program* p : programs) {
        p->result.kernel = p->kernel_verdict;
        if (!object) {
            p->result.first_error = "the loader refuses the file: " + object.error().to_string();
            continue;
        }
        const ir::Program* program = nullptr;
        for (const auto& candidate : object->programs)
            if (candidate.section == p->section && candidate.name == p->name) program = &candidate;
        if (!program) {
            p->result.first_error = "no such program";
            continue;
        }
        AnalysisOptions options;
        options.type = ir::program_type_from_name(p->type);
        const AnalysisResult result = analyze_program(*object, *program, options);
        p->result.accepted = result.accepted;
        if (!result.errors.empty()) {
            const auto& e = result.errors.front();
            p->result.first_error = std::string(e.code_name()) + " at " + std::to_string(e.pc) + ": " + e.message;
        }
    }
}

// "cilium/clang-14_-O1_bpf_lxc.o" -> "cilium/bpf_lxc.o": the source the variant was compiled from.
std::string source_of(const std::string& file) {
    static const std::regex compiler_prefix("(^|/)clang-[0-9.]+_-O[0-9s]_");
    return std::regex_replace(file, compiler_prefix, "$1");
}

TEST(BcfAgreement, SharedCorpus) {
    const std::filesystem::path root = std::filesystem::path(BPFVET_SHARED_DIR) / "bcf-corpus";
    const auto csv = root / "kernel-verdicts.csv";
    if (!std::filesystem::exists(csv)) GTEST_SKIP() << "no " << csv;

    const test_support::CsvTable table(csv);
    std::vector<Program> programs;
    for (const auto& row : table.rows())
        if (row["verdict"] == "accept" || row["verdict"] == "reject")
            programs.push_back({row["file"], row["section"], row["program"], row["prog_type"], row["verdict"], {}});
    ASSERT_FALSE(programs.empty());

    std::map<std::string, std::vector<Program*>> by_file;
    for (Program& p : programs) by_file[p.file].push_back(&p);
    // The analysis is free of shared mutable state: files are analysed in parallel.
    std::vector<std::vector<Program*>> work;
    for (auto& [file, list] : by_file) work.push_back(list);
    std::atomic<size_t> next{0};
    const unsigned workers = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::future<void>> running;
    for (unsigned w = 0; w < workers; ++w)
        running.push_back(std::async(std::launch::async, [&] {
            for (size_t i = next++; i < work.size(); i = next++) analyze_file(root / "objs", work[i]);
        }));
    for (auto& r : running) r.get();

    size_t kernel_accepts = 0, both_accept = 0, kernel_rejects = 0;
    std::ostringstream report;
    std::map<std::string, std::vector<const Program*>> variants;
    for (const Program& p : programs) {
        const std::string key = p.file + " " + p.section + "/" + p.name;
        variants[source_of(p.file) + " " + p.section + "/" + p.name].push_back(&p);
        if (p.kernel_verdict == "accept") {
            ++kernel_accepts;
            if (p.result.accepted) ++both_accept;
            else report << "  kernel accepts, we reject: " << key << " -- " << p.result.first_error << "\n";
        } else {
            ++kernel_rejects;
            EXPECT_FALSE(p.result.accepted) << key << " is rejected by the kernel but accepted by us";
        }
    }
    // Variants the kernel treats alike must be treated alike by us.
    size_t groups_alike = 0, split_groups = 0;
    for (const auto& [source, group] : variants) {
        std::set<std::string> kernel, ours;
        for (const Program* p : group) kernel.insert(p->kernel_verdict), ours.insert(p->result.accepted ? "accept" : "reject");
        if (kernel.size() != 1) continue;
        ++groups_alike;
        if (ours.size() == 1) continue;
        ++split_groups;
        report << "  variants split: " << source << " (the kernel says " << *kernel.begin() << " for all)\n";
    }
    const double rate = double(both_accept) / double(std::max<size_t>(kernel_accepts, 1));
    std::cout << "kernel accepts " << kernel_accepts << ", we accept " << both_accept << " (" << rate * 100
              << "%); kernel rejects " << kernel_rejects << "; variant groups the kernel treats alike: "
              << groups_alike << ", split by us: " << split_groups << "\n"
              << report.str();
    EXPECT_GE(rate, 0.98);
    EXPECT_EQ(split_groups, 0u);
}

}  // namespace
}  // namespace bpfvet::analyzer
