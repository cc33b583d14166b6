// runtime/kernel_loader.hpp: the log reading and attach-type tables as pure
// functions, then the running kernel on our corpus (corpus/manifest.json):
// an accepted program runs with BPF_PROG_TEST_RUN and returns what the
// manifest says; each rejected one names its reason (the manifest's
// kernel_log) in first_error_line, with the instruction it blames.
//
// The kernel parts need root and bpf(2); they skip when the loader answers
// Unavailable, and when the corpus objects were not built.
#include "ir/elf_loader.hpp"
#include "runtime/kernel_loader.hpp"

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

namespace bpfvet::runtime::kernel {
namespace {

namespace fs = std::filesystem;

// ---- Pure pieces ----

TEST(VerifierLog, ReasonIsTheLastMeaningfulLineBeforeProcessed) {
    const std::string log =
        "func#0 @0\n"
        "0: R1=ctx() R10=fp0\n"
        "; int x = 0; @ bad.c:7\n"
        "0: (b7) r2 = 0                        ; R2_w=0\n"
        "1: (63) *(u32 *)(r10 -520) = r2\n"
        "invalid write to stack R10 off=-520 size=8\n"
        "verification time 12 usec\n"
        "stack depth 0\n"
        "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
    const auto summary = summarize_verifier_log(log);
    EXPECT_EQ(summary.first_error_line, "invalid write to stack R10 off=-520 size=8");
    EXPECT_EQ(summary.error_pc, 1);
    EXPECT_EQ(summary.processed_insns, 2u);
}

TEST(VerifierLog, RegisterDumpsAreNotReasons) {
    // The reason precedes a state dump; "R1 type=ctx ..." is a reason, "R1=ctx()" a dump.
    const std::string log =
        "3: (85) call bpf_map_lookup_elem#1\n"
        "R1 type=ctx expected=map_ptr\n"
        "from 2 to 4: R0_w=0 R10=fp0\n"
        "cur state: R1=ctx() R10=fp0\n"
        "4: R0=scalar() R10=fp0\n"
        "processed 5 insns (limit 1000000)\n";
    const auto summary = summarize_verifier_log(log);
    EXPECT_EQ(summary.first_error_line, "R1 type=ctx expected=map_ptr");
    EXPECT_EQ(summary.error_pc, 3);
}

TEST(VerifierLog, ReasonSharingTheLineOfAJump) {
    const std::string log =
        "1: (55) if r0 != 0x7 goto pc-2 0: R0=scalar() R1=ctx() R10=fp0\n"
        "0: (61) r0 = *(u32 *)(r1 +16)         ; R0=scalar() R1=ctx()\n"
        "1: (55) if r0 != 0x7 goto pc-2 infinite loop detected at insn 0\n"
        "cur state: R0=scalar() R1=ctx() R10=fp0\n"
        "old state: R0=scalar() R1=ctx() R10=fp0\n"
        "processed 13 insns (limit 1000000)\n";
    const auto summary = summarize_verifier_log(log);
    EXPECT_EQ(summary.first_error_line, "infinite loop detected at insn 0");
    EXPECT_EQ(summary.error_pc, 1);
    EXPECT_EQ(summary.processed_insns, 13u);
}

TEST(VerifierLog, StatisticsSharingTheLineOfTheReason) {
    const auto summary = summarize_verifier_log(
        "2: (85) call bpf_tail_call#12\n"
        "expected prog array map for tail callprocessed 3 insns (limit 1000000) max_states_per_insn 0\n");
    EXPECT_EQ(summary.first_error_line, "expected prog array map for tail call");
    EXPECT_EQ(summary.error_pc, 2);
    EXPECT_EQ(summary.processed_insns, 3u);
}

TEST(VerifierLog, LogWithoutInstructionsOrStatistics) {
    const auto summary = summarize_verifier_log("unreachable insn 2\n");
    EXPECT_EQ(summary.first_error_line, "unreachable insn 2");
    EXPECT_FALSE(summary.error_pc.has_value());
    EXPECT_FALSE(summary.processed_insns.has_value());
    EXPECT_EQ(summarize_verifier_log("").first_error_line, "");
}

TEST(VerifierLog, LastLinesSkipEmptyOnes) {
    EXPECT_EQ(last_log_lines("a\n\nb\nc\n\n", 2), (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(last_log_lines("a\n", 5), (std::vector<std::string>{"a"}));
}

TEST(AttachType, FromSectionOrTypeDefault) {
    EXPECT_EQ(expected_attach_type(ir::ProgramType::CgroupSockAddr, "cgroup/connect6"), uint32_t(BPF_CGROUP_INET6_CONNECT));
    EXPECT_EQ(expected_attach_type(ir::ProgramType::CgroupSock, "cgroup/post_bind4"), uint32_t(BPF_CGROUP_INET4_POST_BIND));
    EXPECT_EQ(expected_attach_type(ir::ProgramType::CgroupSock, "cgroup/sock1"), uint32_t(BPF_CGROUP_INET_SOCK_CREATE));
    EXPECT_EQ(expected_attach_type(ir::ProgramType::CgroupSkb, "cgroup_skb/egress"), uint32_t(BPF_CGROUP_INET_EGRESS));
    EXPECT_EQ(expected_attach_type(ir::ProgramType::Xdp, "xdp/devmap"), uint32_t(BPF_XDP_DEVMAP));
    EXPECT_EQ(expected_attach_type(ir::ProgramType::SkLookup, "sk_lookup"), uint32_t(BPF_SK_LOOKUP));
    // A section of another type says nothing for this one.
    EXPECT_EQ(expected_attach_type(ir::ProgramType::SocketFilter, "cgroup/connect4"), 0u);
    EXPECT_EQ(expected_attach_type(ir::ProgramType::Kprobe, "kprobe/do_unlinkat"), 0u);
}

TEST(KernelVerdictName, Names) {
    EXPECT_EQ(kernel_verdict_name(KernelVerdict::Accept), "accept");
    EXPECT_EQ(kernel_verdict_name(KernelVerdict::LoaderError), "loader-error");
}

// ---- The running kernel ----

std::string corpus_object(const std::string& name) { return std::string(BPFVET_CORPUS_BUILD_DIR) + "/" + name; }

nlohmann::json read_manifest() {
    std::ifstream in(std::string(BPFVET_SOURCE_DIR) + "/corpus/manifest.json");
    return nlohmann::json::parse(in, nullptr, false);
}

std::vector<uint8_t> parse_hex(const std::string& text) {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < text.size(); i += 2) bytes.push_back(uint8_t(std::stoul(text.substr(i, 2), nullptr, 16)));
    return bytes;
}

#define SKIP_IF_UNAVAILABLE(result)                                                                    \
    if ((result).verdict == KernelVerdict::Unavailable) GTEST_SKIP() << "bpf(2) unavailable: " << (result).message

TEST(KernelLoader, AcceptsTheSocketFilterAndRunsIt) {
    const std::string path = corpus_object("socket_filter.o");
    if (!fs::exists(path)) GTEST_SKIP() << path << " not built (target bpfvet_corpus)";
    auto object = ir::load_object(path);
    ASSERT_TRUE(object) << object.error().to_string();
    const auto& program = object->programs.at(0);

    std::optional<KernelProgram> loaded;
    const auto result = load_in_kernel(*object, program, ir::ProgramType::SocketFilter, {}, &loaded);
    SKIP_IF_UNAVAILABLE(result);
    ASSERT_EQ(result.verdict, KernelVerdict::Accept) << result.message << "\n" << result.log;
    EXPECT_GT(result.load_seconds, 0.0);
    ASSERT_TRUE(result.processed_insns.has_value());
    EXPECT_GT(*result.processed_insns, 0u);
    ASSERT_TRUE(loaded.has_value());
    EXPECT_GE(loaded->fd(), 0);

    // The manifest's runs of this program return what it says.
    size_t runs = 0;
    for (const auto& entry : read_manifest())
        if (entry.value("object", "") == "socket_filter.o")
            for (const auto& manifest_program : entry["programs"])
                for (const auto& run : manifest_program.value("runs", nlohmann::json::array())) {
                    auto value = loaded->test_run(parse_hex(run["packet"]));
                    ASSERT_TRUE(value) << value.error();
                    EXPECT_EQ(*value, run["return_value"].get<uint32_t>()) << run.value("note", "");
                    ++runs;
                }
    EXPECT_GT(runs, 0u);
    auto timing = loaded->time_runs(std::vector<uint8_t>(64), 100);
    ASSERT_TRUE(timing) << timing.error();
    EXPECT_GE(*timing, 0.0);
}

// As libbpf loads it, with BTF and func_info: a global function is then
// verified on its own, so the kernel sees its arguments may be null.
TEST(KernelLoader, LoadsWithTheObjectsBtfAndFunctionInfo) {
    const std::string tagged = corpus_object("global_arg_tags.o");
    if (!fs::exists(tagged)) GTEST_SKIP() << tagged << " not built";
    auto object = ir::load_object(tagged);
    ASSERT_TRUE(object) << object.error().to_string();
    ASSERT_FALSE(object->btf.empty());
    for (const auto& program : object->programs) {
        const auto result = load_in_kernel(*object, program, ir::ProgramType::SchedCls, {});
        SKIP_IF_UNAVAILABLE(result);
        EXPECT_TRUE(result.with_btf) << program.name << ": " << result.btf_note;
        EXPECT_EQ(result.verdict, KernelVerdict::Accept) << program.name << ": " << result.first_error_line;
    }
    // The shared sample whose global function dereferences its argument unchecked.
    const fs::path bpf2bpf = fs::path(BPFVET_SHARED_DIR) / "corpus" / "ebpf-samples" / "build" / "bpf2bpf.o";
    if (!fs::exists(bpf2bpf)) GTEST_SKIP() << bpf2bpf << " absent (../shared)";
    auto sample = ir::load_object(bpf2bpf.string());
    ASSERT_TRUE(sample) << sample.error().to_string();
    const auto result = load_in_kernel(*sample, sample->programs.at(0), ir::ProgramType::SocketFilter, {});
    SKIP_IF_UNAVAILABLE(result);
    EXPECT_TRUE(result.with_btf) << result.btf_note;
    EXPECT_EQ(result.verdict, KernelVerdict::Reject) << "loaded without its BTF the kernel accepts it";
    EXPECT_NE(result.first_error_line.find("mem_or_null"), std::string::npos) << result.first_error_line;
}

TEST(KernelLoader, StatisticsOfAnAcceptedProgramFromItsLog) {
    const std::string path = corpus_object("xdp_parser.o");
    if (!fs::exists(path)) GTEST_SKIP() << path << " not built";
    auto object = ir::load_object(path);
    ASSERT_TRUE(object) << object.error().to_string();
    const auto result =
        load_in_kernel(*object, object->programs.at(0), ir::ProgramType::Xdp, {.collect_log_on_accept = true});
    SKIP_IF_UNAVAILABLE(result);
    ASSERT_EQ(result.verdict, KernelVerdict::Accept) << result.message;
    EXPECT_NE(result.log.find("processed "), std::string::npos) << result.log;
    EXPECT_GT(result.processed_insns.value_or(0), 0u);
}

// Every program the manifest says the kernel rejects: Reject, and the reason
// line holds the manifest's kernel_log; the blamed instruction exists.
TEST(KernelLoader, RejectedCorpusProgramsNameTheirReason) {
    size_t checked = 0, with_pc = 0;
    for (const auto& entry : read_manifest()) {
        const std::string path = corpus_object(entry.value("object", ""));
        if (!fs::exists(path)) continue;
        auto object = ir::load_object(path);
        ASSERT_TRUE(object) << object.error().to_string();
        for (const auto& manifest_program : entry["programs"]) {
            const std::string kernel_verdict = manifest_program.value("kernel_verdict", manifest_program.value("verdict", ""));
            if (kernel_verdict != "reject") continue;
            const std::string name = manifest_program["name"];
            auto program = std::ranges::find(object->programs, name, &ir::Program::name);
            ASSERT_NE(program, object->programs.end()) << name;
            auto type = ir::program_type_from_name(manifest_program["type"].get<std::string>());
            ASSERT_TRUE(type);
            const auto result = load_in_kernel(*object, *program, *type);
            SKIP_IF_UNAVAILABLE(result);
            ASSERT_EQ(result.verdict, KernelVerdict::Reject) << name << ": " << result.message;
            EXPECT_NE(result.error, 0) << name;
            EXPECT_FALSE(result.first_error_line.empty()) << name;
            // The kernel sometimes gives its reason in two lines ("invalid access to
            // map value, ..." then "R0 max value is outside of the allowed memory
            // range"); like veristat we show the last, so the manifest's substring
            // is in it or in the line before it.
            const std::string expected = manifest_program.value("kernel_log", "");
            const size_t at = result.log.rfind(result.first_error_line);
            ASSERT_NE(at, std::string::npos) << name << ": \"" << result.first_error_line << "\" is not in the log";
            const size_t previous_line = result.log.rfind('\n', at >= 2 ? at - 2 : 0);
            const std::string reason_lines = result.log.substr(previous_line == std::string::npos ? 0 : previous_line,
                                                               at + result.first_error_line.size() - (previous_line == std::string::npos ? 0 : previous_line));
            EXPECT_NE(reason_lines.find(expected), std::string::npos)
                << name << ": reason \"" << result.first_error_line << "\", expected it or the line before to hold \""
                << expected << "\"; log:\n" << result.log;
            if (result.error_pc) {
                EXPECT_LT(size_t(*result.error_pc), program->instructions.size()) << name;
                ++with_pc;
            }
            ++checked;
        }
    }
    if (checked == 0) GTEST_SKIP() << "corpus objects not built (target bpfvet_corpus)";
    // Only errors found before the walk (unreachable code, bad calls) name no instruction.
    EXPECT_GE(with_pc * 4, checked * 3) << with_pc << " of " << checked << " name an instruction";
}

TEST(KernelLoader, RefusedMapIsALoaderError) {
    ir::Object object;
    object.path = "synthetic";
    ir::MapDefinition map;
    map.name = "broken";
    map.type = ir::MapType::Array;
    map.key_size = 4;
    map.value_size = 0;  // the kernel refuses empty array values
    map.max_entries = 1;
    object.maps.push_back(map);
    ir::Program program;
    program.name = "exit";
    program.section = "socket";
    program.instructions.push_back(ir::Instruction{.opcode = 0xb7});  // r0 = 0
    program.instructions.push_back(ir::Instruction{.opcode = 0x95});  // exit
    const auto result = load_in_kernel(object, program, ir::ProgramType::SocketFilter);
    SKIP_IF_UNAVAILABLE(result);
    EXPECT_EQ(result.verdict, KernelVerdict::LoaderError);
    EXPECT_EQ(result.error, EINVAL);
    EXPECT_NE(result.message.find("broken"), std::string::npos) << result.message;
}

TEST(KernelLoader, UnresolvedCallIsALoaderErrorWithoutTheKernel) {
    ir::Object object;
    ir::Program program;
    program.name = "calls_missing";
    program.instructions.push_back(ir::Instruction{.opcode = 0x95});
    program.unresolved_calls.push_back({0, "missing_function"});
    const auto result = load_in_kernel(object, program, ir::ProgramType::SocketFilter);
    EXPECT_EQ(result.verdict, KernelVerdict::LoaderError);
    EXPECT_NE(result.message.find("missing_function"), std::string::npos);
}

}  // namespace
}  // namespace bpfvet::runtime::kernel
