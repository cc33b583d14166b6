// Z3 refinement (analyzer/refine.hpp) on the corpus:
//  - programs whose safety rests on correlated branches are accepted without
//    refinement, as the kernel accepts them (the exploration keeps paths
//    apart); refinement leaves them accepted;
//  - programs safe only by a relation neither the kernel nor our domains keep
//    ("needs": "refinement") stay rejected, the kernel's verdict, with every
//    alarm discharged (proven safe); --verdict safety accepts them;
//  - the negative programs written for it get a counterexample that replays
//    in the checked interpreter to a fault at the alarm's instruction;
//  - soundness: each program accepted by our own proof runs in the checked
//    interpreter on random and edge-case packets (and with its map values
//    present or absent) without a single fault.
#include "corpus_manifest.hpp"

#include "analyzer/analyzer.hpp"
#include "ir/elf_loader.hpp"
#include "runtime/runtime.hpp"
#include "tools/counterexample_replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

namespace bpfvet::corpus {
namespace {

std::optional<ir::Object> load(const std::string& file) {
    const std::string path = object_directory() + "/" + file;
    if (!std::filesystem::exists(path)) return std::nullopt;
    auto object = ir::load_object(path);
    if (!object) return std::nullopt;
    return std::move(*object);
}

analyzer::AnalysisOptions refined() {
    analyzer::AnalysisOptions options;
    options.refine = analyzer::Refinement::Z3;
    return options;
}

analyzer::AnalysisOptions proven() {
    analyzer::AnalysisOptions options = refined();
    options.verdict_by_safety = true;
    return options;
}

// Written to defeat an analysis that joins paths: their correlations are
// between numbers. The kernel keeps paths apart and accepts them; so do we.
constexpr std::string_view CorrelatedPrograms[] = {"refine_correlated_index.o", "refine_spilled_flag.o",
                                                   "refine_loop_flag.o"};

TEST(Refinement, CorrelatedProgramsAreAcceptedLikeTheKernel) {
    for (std::string_view file : CorrelatedPrograms) {
        auto object = load(std::string(file));
        if (!object) GTEST_SKIP() << file << " was not built (build target bpfvet_corpus)";
        for (const auto& program : object->programs) {
            EXPECT_TRUE(analyzer::analyze_program(*object, program, {}).accepted) << file;
            EXPECT_TRUE(analyzer::analyze_program(*object, program, refined()).accepted) << file;
        }
    }
}

TEST(Refinement, ProgramsSafeOnlyByProofKeepTheKernelsVerdict) {
    auto entries = read_manifest(manifest_path());
    ASSERT_TRUE(entries.has_value()) << entries.error();
    int checked = 0;
    for (const auto& entry : *entries) {
        for (const auto& program_entry : entry.programs) {
            if (program_entry.needs != "refinement") continue;
            const std::string file = entry.objects.front().second;
            auto object = load(file);
            if (!object) GTEST_SKIP() << file << " was not built (build target bpfvet_corpus)";
            auto program = std::ranges::find(object->programs, program_entry.name, &ir::Program::name);
            ASSERT_NE(program, object->programs.end());
            auto plain = analyzer::analyze_program(*object, *program, {});
            EXPECT_FALSE(plain.accepted) << file;
            auto refined_result = analyzer::analyze_program(*object, *program, refined());
            EXPECT_FALSE(refined_result.accepted) << file << ": the kernel's verdict stays";
            ASSERT_FALSE(refined_result.errors.empty()) << file;
            for (const auto& alarm : refined_result.errors)
                EXPECT_EQ(alarm.status, analyzer::AlarmStatus::Discharged) << file << ": " << alarm.status_reason;
            auto safety = analyzer::analyze_program(*object, *program, proven());
            EXPECT_TRUE(safety.accepted) << file;
            EXPECT_FALSE(safety.discharged.empty()) << file;
            ++checked;
        }
    }
    EXPECT_GE(checked, 1);
}

struct NegativeCase {
    std::string_view file;
    std::string_view program;
    std::string_view error;
};

constexpr NegativeCase Negatives[] = {
    {"bad_refine_index_off_by_one.o", "xdp_index_off_by_one", "map-value-out-of-bounds"},
    {"bad_refine_short_read.o", "xdp_short_read", "packet-out-of-bounds"},
    {"bad_packet_out_of_bounds.o", "xdp_packet_out_of_bounds", "packet-out-of-bounds"},
    {"bad_map_value_out_of_bounds.o", "xdp_map_value_out_of_bounds", "map-value-out-of-bounds"},
};

TEST(Refinement, CounterexamplesReplayToTheExactFault) {
    for (const auto& negative : Negatives) {
        auto object = load(std::string(negative.file));
        if (!object) GTEST_SKIP() << negative.file << " was not built (build target bpfvet_corpus)";
        auto program = std::ranges::find(object->programs, negative.program, &ir::Program::name);
        ASSERT_NE(program, object->programs.end());
        auto result = analyzer::analyze_program(*object, *program, refined());
        ASSERT_FALSE(result.accepted) << negative.file;
        ASSERT_FALSE(result.errors.empty());
        const analyzer::Diagnostic& error = result.errors.front();
        EXPECT_EQ(error.code_name(), negative.error) << negative.file;
        ASSERT_TRUE(error.counterexample.has_value()) << negative.file << ": " << error.status_reason;
        EXPECT_FALSE(error.counterexample->path.empty());
        EXPECT_EQ(error.counterexample->path.back(), error.pc) << "the path ends at the alarm";

        size_t index = size_t(&*program - object->programs.data());
        tools::confirm_counterexamples(*object, index, result);
        EXPECT_EQ(result.errors.front().status, analyzer::AlarmStatus::Confirmed)
            << negative.file << ": " << result.errors.front().status_reason;
        auto replay = tools::replay_counterexample(*object, index, result.errors.front());
        EXPECT_TRUE(replay.confirmed) << replay.fault;
    }
}

TEST(Refinement, AcceptedPlainProgramsNeedNoRefinement) {
    auto object = load("xdp_parser.o");
    if (!object) GTEST_SKIP() << "xdp_parser.o was not built";
    for (const auto& program : object->programs) {
        auto result = analyzer::analyze_program(*object, program, refined());
        EXPECT_TRUE(result.accepted);
        EXPECT_TRUE(result.discharged.empty());
        EXPECT_EQ(result.refine_seconds, 0.0);
    }
}

// Packets that exercise the correlations: every length up to 40 bytes, with
// each byte drawn from the edges of the checks (0, 15, 16, 17, 255) or at random.
std::vector<std::vector<uint8_t>> soundness_packets() {
    std::mt19937 random(20261125);
    const uint8_t edges[] = {0, 1, 15, 16, 17, 127, 128, 255};
    std::vector<std::vector<uint8_t>> packets;
    for (size_t length = 0; length <= 40; ++length) {
        for (int sample = 0; sample < 12; ++sample) {
            std::vector<uint8_t> packet(length);
            for (auto& byte : packet)
                byte = sample % 2 == 0 ? edges[random() % std::size(edges)] : uint8_t(random());
            packets.push_back(std::move(packet));
        }
    }
    return packets;
}

TEST(Refinement, ProgramsAcceptedByProofNeverFault) {
    auto entries = read_manifest(manifest_path());
    ASSERT_TRUE(entries.has_value()) << entries.error();
    const auto packets = soundness_packets();
    int programs_run = 0;
    for (const auto& entry : *entries) {
        for (const auto& program_entry : entry.programs) {
            const std::string file = entry.objects.front().second;
            auto object = load(file);
            if (!object) continue;
            auto program = std::ranges::find(object->programs, program_entry.name, &ir::Program::name);
            if (program == object->programs.end()) continue;
            const bool correlated = std::ranges::find(CorrelatedPrograms, file) != std::end(CorrelatedPrograms);
            if (!correlated && program_entry.needs != "refinement") continue;
            if (!analyzer::analyze_program(*object, *program, proven()).accepted) continue;
            // Accepted by our proof (the exploration's, or Z3's for what no path keeps): run it.
            ++programs_run;
            auto loaded = runtime::LoadedObject::create(*object, {});
            ASSERT_TRUE(loaded.has_value()) << file;
            auto linked = (*loaded)->program_at(size_t(&*program - object->programs.data()));
            ASSERT_TRUE(linked.has_value()) << file;
            runtime::Runner runner(**loaded, **linked, 0);
            for (bool values_present : {false, true}) {
                if (values_present) {
                    // Hash maps get an entry for key 0 (array maps always have one).
                    for (runtime::Map* map : (*loaded)->maps()) {
                        if (map->definition().key_size != 4) continue;
                        std::vector<uint8_t> key(4, 0), value(map->host_value_size(), 0xff);
                        (void)map->host_update(key.data(), value.data(), 0);
                    }
                }
                for (const auto& packet : packets) {
                    ASSERT_TRUE(runner.set_input({.packet = packet}).has_value());
                    auto outcome = runner.run({});
                    ASSERT_TRUE(outcome.result.has_value())
                        << file << " faulted on a " << packet.size() << "-byte packet: " << outcome.result.error().to_string();
                }
            }
        }
    }
    EXPECT_GE(programs_run, 4) << "programs accepted by proof";
}

}  // namespace
}  // namespace bpfvet::corpus
