// Differential testing of the JIT against the (checked) interpreter: for every
// program of our corpus and of ../shared/corpus/ebpf-samples that the analyzer
// accepts and the runtime can link, both engines run the same 100 random
// inputs, each engine on its own fresh copy of the maps, and must agree on the
// return value, the packet (or context) after the run, and every map's contents
// after every run. The seed is printed on failure; BPFVET_JIT_SEED replays it.
// The JIT compiles each program with the analyzer's facts (analyzer/facts.hpp),
// so this test is also the check that the facts hold on real programs.
//
// By default the shared corpus is sampled (one object in DefaultObjectStride, in
// path order, for CI time: all of it takes ~6 s of CPU);
// BPFVET_JIT_DIFFERENTIAL_ALL=1 runs every object.
#include "shared_compiler.hpp"
#include "analyzer/analyzer.hpp"
#include "ir/elf_loader.hpp"
#include "jit/jit_runner.hpp"
#include "runtime/runtime.hpp"
#include "tests/support/map_contents.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

namespace bpfvet::jit::test {
namespace {

namespace fs = std::filesystem;
using namespace runtime;

constexpr int InputsPerProgram = 100;
constexpr size_t DefaultObjectStride = 6;

uint64_t base_seed() {
    if (const char* text = std::getenv("BPFVET_JIT_SEED")) return std::strtoull(text, nullptr, 0);
    return 0x5eed0f'b9f7e7ULL;
}

std::vector<uint8_t> from_hex(const std::string& hex) {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

// Packets of the manifest's runs, by object file name and program name.
std::map<std::pair<std::string, std::string>, std::vector<std::vector<uint8_t>>> manifest_packets() {
    std::map<std::pair<std::string, std::string>, std::vector<std::vector<uint8_t>>> packets;
    std::ifstream in(fs::path(BPFVET_SOURCE_DIR) / "corpus/manifest.json");
    if (!in) return packets;
    auto manifest = nlohmann::json::parse(in, nullptr, false);
    if (manifest.is_discarded()) return packets;
    for (const auto& entry : manifest) {
        if (!entry.contains("objects") || !entry.contains("programs")) continue;
        for (const auto& [variant, object] : entry["objects"].items())
            for (const auto& program : entry["programs"])
                if (program.contains("runs"))
                    for (const auto& run : program["runs"])
                        if (run.contains("packet"))
                            packets[{object.get<std::string>(), program["name"].get<std::string>()}].push_back(
                                from_hex(run["packet"].get<std::string>()));
    }
    return packets;
}

// A random input: a mutated seed packet, an Ethernet/IPv4 frame with random
// protocol, ports and flags (to get past the parsers), or random bytes.
std::vector<uint8_t> random_packet(std::mt19937_64& random, const std::vector<std::vector<uint8_t>>& seeds) {
    auto byte = [&] { return uint8_t(random()); };
    int shape = int(random() % 3);
    std::vector<uint8_t> packet;
    if (shape == 0 && !seeds.empty()) {
        packet = seeds[random() % seeds.size()];
        int flips = int(random() % 4);
        for (int i = 0; i < flips && !packet.empty(); ++i) packet[random() % packet.size()] = byte();
        return packet;
    }
    if (shape <= 1) {
        size_t payload = random() % 64;
        packet.resize(14 + 20 + 20 + payload);
        for (auto& b : packet) b = byte();
        packet[12] = 0x08;
        packet[13] = random() % 8 ? 0x00 : 0x06;       // IPv4, sometimes ARP
        packet[14] = uint8_t(0x45 + (random() % 4 == 0 ? random() % 3 : 0));  // sometimes options
        const uint8_t protocols[] = {6, 17, 1, 47, uint8_t(random())};
        packet[23] = protocols[random() % 5];
        uint16_t total = uint16_t(packet.size() - 14);
        packet[16] = uint8_t(total >> 8);
        packet[17] = uint8_t(total);
        if (random() % 2) packet[20] = packet[21] = 0;  // not a fragment
        return packet;
    }
    packet.resize(random() % 200);
    for (auto& b : packet) b = byte();
    return packet;
}

using bpfvet::test::map_contents;

struct Tally {
    size_t programs = 0, rejected = 0, privileged_only = 0, not_runnable = 0, interpreter_faults = 0, compared = 0, runs = 0;
};

RuntimeOptions deterministic_options() {
    RuntimeOptions options;
    options.environment.monotonic_ns = [] { return uint64_t(1'000'000'000); };
    options.environment.boot_ns = [] { return uint64_t(2'000'000'000); };
    return options;
}

// Runs one program in both engines; failures are reported with the seed.
void compare_program(const std::string& path, const ir::Object& object, const ir::Program& program,
                     const std::vector<std::vector<uint8_t>>& seeds, Tally& tally) {
    ++tally.programs;
    // Cheapest test first: can the runtime link it at all (helpers, LDDW kinds)?
    {
        auto probe = LoadedObject::create(object, deterministic_options());
        if (!probe || !(*probe)->program(program.name)) {
            ++tally.not_runnable;
            return;
        }
    }
    analyzer::AnalysisOptions analysis;
    analysis.max_seconds = 5;
    analysis.record_facts = true;  // the JIT compiles with them: this test checks they hold
    auto verdict = analyzer::analyze_program(object, program, analysis);
    if (!verdict.accepted) {
        ++tally.rejected;
        return;
    }
    analysis.record_facts = false;
    // What root may do, an unprivileged loader may not: leak pointers into
    // maps or r0. Their values are engine-specific (stack and value
    // addresses), so for programs only root may load, the engines must agree
    // on faults and packets but not on r0 and map contents.
    analysis.unprivileged = true;
    bool may_leak_pointers = !analyzer::analyze_program(object, program, analysis).accepted;
    tally.privileged_only += may_leak_pointers;
    auto interpreter_object = LoadedObject::create(object, deterministic_options());
    auto jit_object = LoadedObject::create(object, deterministic_options());
    if (!interpreter_object || !jit_object) {
        ++tally.not_runnable;
        return;
    }
    auto interpreter_program = (*interpreter_object)->program(program.name);
    auto jit_program = (*jit_object)->program(program.name);
    if (!interpreter_program || !jit_program) {
        ++tally.not_runnable;
        return;
    }
    uint64_t seed = base_seed() ^ std::hash<std::string>{}(path + ":" + program.name);
    std::string where = fmt::format("{} {} (seed {:#x}, BPFVET_JIT_SEED={:#x})", path, program.name, seed, base_seed());
    std::mt19937_64 random(seed);
    Runner interpreter(**interpreter_object, **interpreter_program);
    JitRunner jit(**jit_object, **jit_program, compiler(), 0, &verdict.facts);
    if (auto compiled = jit.prepare(); !compiled) {
        ADD_FAILURE() << where << ": the analyzer accepts it but the JIT cannot compile it: " << compiled.error();
        return;
    }
    ContextKind kind = context_kind_for((*jit_program)->type);
    for (int i = 0; i < InputsPerProgram; ++i) {
        RunInput input;
        if (kind == ContextKind::Xdp || kind == ContextKind::Skb) {
            input.packet = random_packet(random, seeds);
        } else {
            std::vector<uint8_t> bytes(256);
            for (auto& b : bytes) b = uint8_t(random());
            (kind == ContextKind::None ? input.memory : input.context) = bytes;
        }
        if (!interpreter.set_input(input) || !jit.set_input(input)) continue;
        auto expected = interpreter.run({});
        if (!expected.result) {
            // The analyzer accepted it, yet the checked interpreter stops: not
            // the JIT's business to agree with (the JIT trusts the verifier).
            ++tally.interpreter_faults;
            std::printf("note: %s input %d: interpreter fault %s; program skipped\n", where.c_str(), i,
                        expected.result.error().to_string().c_str());
            return;
        }
        auto actual = jit.run();
        ++tally.runs;
        ASSERT_TRUE(actual.result) << where << " input " << i << ": JIT fault " << actual.result.error().to_string();
        ASSERT_EQ(actual.packet, expected.packet) << where << " input " << i << ": packet differs";
        if (may_leak_pointers) continue;
        ASSERT_EQ(actual.result->return_value, expected.result->return_value) << where << " input " << i;
        ASSERT_EQ(actual.memory, expected.memory) << where << " input " << i << ": memory differs";
        ASSERT_EQ(actual.redirect.has_value(), expected.redirect.has_value()) << where << " input " << i;
        ASSERT_TRUE(map_contents(**jit_object) == map_contents(**interpreter_object))
            << where << " input " << i << ": map contents differ";
    }
    ++tally.compared;
}

void compare_objects(const std::vector<fs::path>& paths, size_t stride, Tally& tally) {
    auto seeds = manifest_packets();
    for (size_t index = 0; index < paths.size(); index += stride) {
        const fs::path& path = paths[index];
        auto object = ir::load_object(path.string());
        if (!object) continue;
        for (const auto& program : object->programs) {
            compare_program(path.string(), *object, program, seeds[{path.filename().string(), program.name}], tally);
            if (testing::Test::HasFatalFailure()) return;
        }
    }
}

std::vector<fs::path> objects_under(const fs::path& directory, const std::set<std::string>& excluded) {
    std::vector<fs::path> paths;
    std::error_code error;
    if (!fs::is_directory(directory, error)) return paths;
    for (const auto& entry : fs::recursive_directory_iterator(directory)) {
        if (entry.path().extension() != ".o") continue;
        auto relative = fs::relative(entry.path(), directory).string();
        if (excluded.contains(relative.substr(0, relative.find('/')))) continue;
        paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
}

TEST(JitDifferential, OurCorpus) {
    auto paths = objects_under(BPFVET_CORPUS_BUILD_DIR, {});
    if (paths.empty()) GTEST_SKIP() << "corpus not built (" << BPFVET_CORPUS_BUILD_DIR << ")";
    Tally tally;
    compare_objects(paths, 1, tally);
    std::printf("our corpus: %zu programs, %zu not runnable, %zu rejected by the analyzer, %zu interpreter faults, "
                "%zu compared on %zu runs (%zu of them root-only: r0 and maps not compared): JIT == interpreter\n",
                tally.programs, tally.not_runnable, tally.rejected, tally.interpreter_faults, tally.compared, tally.runs, tally.privileged_only);
    EXPECT_GT(tally.compared, 0u);
}

TEST(JitDifferential, SharedCorpus) {
    fs::path samples = fs::path(BPFVET_SHARED_DIR) / "corpus/ebpf-samples";
    auto paths = objects_under(samples, {"invalid"});
    if (paths.empty()) GTEST_SKIP() << "no " << samples << " (reference material absent)";
    bool all = std::getenv("BPFVET_JIT_DIFFERENTIAL_ALL") != nullptr;
    Tally tally;
    compare_objects(paths, all ? 1 : DefaultObjectStride, tally);
    std::printf("shared corpus%s: %zu programs, %zu not runnable, %zu rejected by the analyzer, %zu interpreter faults, "
                "%zu compared on %zu runs: JIT == interpreter\n",
                all ? "" : fmt::format(" (one object in {}; BPFVET_JIT_DIFFERENTIAL_ALL=1 for all)", DefaultObjectStride).c_str(),
                tally.programs, tally.not_runnable, tally.rejected, tally.interpreter_faults, tally.compared, tally.runs, tally.privileged_only);
    EXPECT_GT(tally.compared, 0u);
}

}  // namespace
}  // namespace bpfvet::jit::test
