// corpus/manifest.json against the sources and the built objects: every
// program it lists was built, loads, and is where and what the manifest says;
// the corpus covers every error code; the objects show the features their
// descriptions claim (a real loop, v4 instructions, calls, global data, ...).
#include "corpus_manifest.hpp"

#include "ir/elf_loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

namespace bpfvet::corpus {
namespace {

namespace fs = std::filesystem;

std::vector<Entry> load_manifest_or_fail() {
    auto entries = read_manifest(manifest_path());
    EXPECT_TRUE(entries.has_value()) << (entries ? "" : entries.error());
    return entries ? std::move(*entries) : std::vector<Entry>{};
}

const ProgramEntry* find_listed(const Entry& entry, const std::string& name) {
    auto it = std::ranges::find(entry.programs, name, &ProgramEntry::name);
    return it == entry.programs.end() ? nullptr : &*it;
}

// The loaded object of `entry` in `variant`, or nullptr (with a failure recorded).
std::optional<ir::Object> load_variant(const Entry& entry, const std::string& file) {
    const std::string path = object_directory() + "/" + file;
    if (!fs::exists(path)) {
        ADD_FAILURE() << path << " was not built (is it listed in corpus/manifest.json?)";
        return std::nullopt;
    }
    auto object = ir::load_object(path);
    if (!object) {
        ADD_FAILURE() << entry.source << ": " << object.error().to_string();
        return std::nullopt;
    }
    return std::move(*object);
}

const ir::Program* find_program(const ir::Object& object, const std::string& name) {
    auto it = std::ranges::find(object.programs, name, &ir::Program::name);
    return it == object.programs.end() ? nullptr : &*it;
}

TEST(CorpusManifest, ParsesAndHasTheExpectedShape) {
    auto entries = read_manifest(manifest_path());
    ASSERT_TRUE(entries.has_value()) << entries.error();
    size_t accepted = 0, rejected = 0;
    for (const auto& entry : *entries)
        for (const auto& program : entry.programs) (program.verdict == "accept" ? accepted : rejected)++;
    EXPECT_GE(accepted, 12u);
    EXPECT_GE(rejected, std::size(ErrorCodes));
}

TEST(CorpusManifest, ParseHexRejectsMalformedText) {
    EXPECT_EQ(parse_hex("0a1B").value(), (std::vector<uint8_t>{0x0a, 0x1b}));
    EXPECT_FALSE(parse_hex("abc").has_value());
    EXPECT_FALSE(parse_hex("zz").has_value());
}

TEST(CorpusManifest, ListsEverySourceAndEveryListedSourceExists) {
    const auto entries = load_manifest_or_fail();
    const fs::path corpus_dir = fs::path(BPFVET_SOURCE_DIR) / "corpus";
    std::set<std::string> listed;
    for (const auto& entry : entries) {
        EXPECT_TRUE(listed.insert(entry.source).second) << entry.source << " is listed twice";
        EXPECT_TRUE(fs::exists(corpus_dir / entry.source)) << entry.source << " is listed but missing";
    }
    for (const auto& file : fs::directory_iterator(corpus_dir)) {
        if (file.path().extension() == ".c") {
            EXPECT_TRUE(listed.contains(file.path().filename().string()))
                << file.path().filename() << " is not listed in corpus/manifest.json";
        }
    }
}

TEST(CorpusManifest, CoversEveryErrorCodeWithKnownCodesOnly) {
    const auto entries = load_manifest_or_fail();
    std::map<std::string, int> programs_of_code;
    for (const auto& entry : entries)
        for (const auto& program : entry.programs)
            if (program.verdict == "reject") {
                EXPECT_TRUE(std::ranges::find(ErrorCodes, program.error) != std::end(ErrorCodes))
                    << program.name << " has unknown error code " << program.error;
                EXPECT_FALSE(program.kernel_log.empty()) << program.name << " should quote the kernel's message";
                programs_of_code[program.error]++;
            }
    for (auto code : ErrorCodes) EXPECT_GE(programs_of_code[std::string(code)], 1) << "no program for " << code;
}

TEST(CorpusManifest, HasRefinementProgramsAndRunsForPacketPrograms) {
    const auto entries = load_manifest_or_fail();
    int refinement = 0;
    for (const auto& entry : entries)
        for (const auto& program : entry.programs) {
            if (program.needs == "refinement") ++refinement;
            const bool packet_program =
                program.type == "xdp" || program.type == "sched_cls" || program.type == "socket_filter";
            if (packet_program && program.verdict == "accept") {
                EXPECT_FALSE(program.runs.empty()) << program.name << ": packet programs need at least one run";
            }
            for (const auto& run : program.runs)
                EXPECT_GE(run.packet.size(), 14u) << program.name << ": " << run.note
                                                  << " (the kernel's test runs need at least 14 bytes)";
        }
    EXPECT_GE(refinement, 1);
}

TEST(CorpusManifest, PrivilegeDependentVerdictsAreMarked) {
    // A verdict the kernel only gives unprivileged loads is marked so, and the
    // root oracle expects the privileged answer (accept) for it.
    const auto entries = load_manifest_or_fail();
    std::set<std::string> sources;
    for (const auto& entry : entries) sources.insert(entry.source);
    int unprivileged = 0;
    for (const auto& entry : entries)
        for (const auto& program : entry.programs) {
            if (program.unprivileged) {
                ++unprivileged;
                EXPECT_EQ(program.verdict, "reject") << program.name;
                EXPECT_EQ(program.expected_kernel_verdict(), "accept") << program.name;
            } else {
                EXPECT_EQ(program.expected_kernel_verdict(), program.verdict)
                    << program.name << ": only privilege-dependent programs may differ from the kernel";
            }
            if (!program.control_for.empty()) {
                EXPECT_TRUE(sources.contains(program.control_for)) << program.name << ": " << program.control_for;
            }
        }
    EXPECT_EQ(unprivileged, 3);  // uninitialized-stack, pointer-comparison, pointer-leak
}

TEST(CorpusManifest, EveryObjectLoadsWithTheListedPrograms) {
    const auto entries = load_manifest_or_fail();
    for (const auto& entry : entries)
        for (const auto& [variant, file] : entry.objects) {
            SCOPED_TRACE(file);
            auto object = load_variant(entry, file);
            if (!object) continue;
            EXPECT_EQ(object->license, "GPL");
            for (const auto& listed : entry.programs) {
                const ir::Program* program = find_program(*object, listed.name);
                if (!program) {
                    ADD_FAILURE() << "program " << listed.name << " is not in " << file;
                    continue;
                }
                EXPECT_EQ(program->section, listed.section) << listed.name;
                EXPECT_EQ(ir::program_type_name(program->type), listed.type)
                    << listed.name << ": the section name implies another program type";
                EXPECT_TRUE(ir::program_type_from_name(listed.type).has_value()) << listed.type;
            }
            for (const auto& program : object->programs)
                EXPECT_NE(find_listed(entry, program.name), nullptr) << program.name << " is in " << file << " but not listed";
        }
}

// What each object is meant to demonstrate, checked in its bytecode.
class CorpusFeatures : public ::testing::Test {
protected:
    // Throws (and so fails the test) when the object or program is missing.
    const ir::Object& object(const std::string& file) {
        auto it = objects_.find(file);
        if (it == objects_.end()) {
            auto loaded = ir::load_object(object_directory() + "/" + file);
            if (!loaded) throw std::runtime_error(loaded.error().to_string());
            it = objects_.emplace(file, std::move(*loaded)).first;
        }
        return it->second;
    }
    const ir::Program& program(const std::string& file, const std::string& name) {
        const ir::Program* found = find_program(object(file), name);
        if (!found) throw std::runtime_error(name + " is not in " + file);
        return *found;
    }
    static bool any_of(const ir::Program& p, auto predicate) { return std::ranges::any_of(p.instructions, predicate); }
    std::map<std::string, ir::Object> objects_;
};

TEST_F(CorpusFeatures, BoundedLoopKeepsABackEdge) {
    for (const char* file : {"bounded_loop.o", "bounded_loop.v4.o"}) {
        const auto& loop = program(file, "xdp_zero_frame_filter");
        EXPECT_TRUE(any_of(loop, [](const ir::Instruction& i) {
            return i.is_jmp() && !i.is_call() && !i.is_exit() && i.jump_offset() < 0;
        })) << file;
    }
}

TEST_F(CorpusFeatures, BpfToBpfCallsAreRealCalls) {
    const auto& calls = program("bpf2bpf_calls.o", "xdp_syn_guard");
    EXPECT_GE(calls.functions.size(), 4u);  // entry + three static noinline functions
    EXPECT_TRUE(any_of(calls, [](const ir::Instruction& i) { return i.is_local_call(); }));
}

TEST_F(CorpusFeatures, V4ProgramUsesV4OnlyInstructions) {
    const auto& v4 = program("v4_signed_telemetry.v4.o", "xdp_signed_telemetry");
    auto is_signed_load = [](const ir::Instruction& i) { return i.is_load() && i.mem_mode() == ir::MemMode::MemSx; };
    auto is_signed_division = [](const ir::Instruction& i) {
        return i.is_alu() && (i.alu_op() == ir::AluOp::Div || i.alu_op() == ir::AluOp::Mod) && i.offset == 1;
    };
    auto is_bswap = [](const ir::Instruction& i) {
        return i.cls() == ir::InstructionClass::Alu64 && i.alu_op() == ir::AluOp::End;
    };
    EXPECT_TRUE(any_of(v4, is_signed_load));
    EXPECT_TRUE(any_of(v4, is_signed_division));
    EXPECT_TRUE(any_of(v4, is_bswap));
}

TEST_F(CorpusFeatures, V4FormsIncludeMovsxAndGotol) {
    const auto& forms = program("v4_instruction_forms.v4.o", "xdp_v4_instruction_forms");
    auto is_movsx = [](const ir::Instruction& i) { return i.is_alu() && i.alu_op() == ir::AluOp::Mov && i.offset != 0; };
    auto is_gotol = [](const ir::Instruction& i) { return i.cls() == ir::InstructionClass::Jmp32 && i.is_goto(); };
    EXPECT_TRUE(any_of(forms, is_movsx));
    EXPECT_TRUE(any_of(forms, is_gotol));
}

TEST_F(CorpusFeatures, AtomicsUseFetchAndCompareExchange) {
    const auto& atomics = program("atomics.o", "xdp_atomic_stats");
    auto atomic_with = [&](int32_t op) {
        return any_of(atomics, [op](const ir::Instruction& i) {
            return i.cls() == ir::InstructionClass::Stx && i.mem_mode() == ir::MemMode::Atomic && i.imm == op;
        });
    };
    EXPECT_TRUE(atomic_with(ir::atomic::Add | ir::atomic::Fetch));
    EXPECT_TRUE(atomic_with(ir::atomic::CmpXchg));
    EXPECT_TRUE(atomic_with(ir::atomic::Xchg));
}

TEST_F(CorpusFeatures, LegacySocketFilterUsesLdAbsAndLdInd) {
    const auto& legacy = program("legacy_ld_abs.o", "socket_ld_abs_http");
    EXPECT_TRUE(any_of(legacy, [](const ir::Instruction& i) { return i.cls() == ir::InstructionClass::Ld && i.mem_mode() == ir::MemMode::Abs; }));
    EXPECT_TRUE(any_of(legacy, [](const ir::Instruction& i) { return i.cls() == ir::InstructionClass::Ld && i.mem_mode() == ir::MemMode::Ind; }));
}

TEST_F(CorpusFeatures, GlobalDataHasThreeSectionsOneReadOnly) {
    const auto& globals = object("global_data.o");
    std::set<std::string> sections;
    for (const auto& map : globals.maps)
        if (map.is_global_data) {
            sections.insert(map.name);
            EXPECT_EQ(map.read_only, map.name.starts_with(".rodata")) << map.name;
        }
    EXPECT_EQ(sections, (std::set<std::string>{".bss", ".data", ".rodata"}));
}

TEST_F(CorpusFeatures, MapInMapHasAnInnerMap) {
    const auto& nested = object("map_in_map.o");
    auto outer = std::ranges::find(nested.maps, ir::MapType::ArrayOfMaps, &ir::MapDefinition::type);
    ASSERT_NE(outer, nested.maps.end());
    ASSERT_TRUE(outer->inner_map.has_value());
    EXPECT_EQ(nested.maps.at(*outer->inner_map).type, ir::MapType::Hash);
}

TEST_F(CorpusFeatures, MapTypesAreTheAdvertisedOnes) {
    auto has_map = [&](const std::string& file, ir::MapType type) {
        return std::ranges::any_of(object(file).maps, [type](const auto& m) { return m.type == type; });
    };
    EXPECT_TRUE(has_map("percpu_counter.o", ir::MapType::PercpuArray));
    EXPECT_TRUE(has_map("lru_flow_table.o", ir::MapType::LruHash));
    EXPECT_TRUE(has_map("ringbuf_events.o", ir::MapType::Ringbuf));
    EXPECT_TRUE(has_map("tail_call.o", ir::MapType::ProgArray));
    EXPECT_TRUE(has_map("kprobe_counter.o", ir::MapType::Hash));
}

TEST_F(CorpusFeatures, InvalidMapReferenceNamesNoMap) {
    const auto& bad = program("bad_invalid_map_reference.o", "xdp_invalid_map_reference");
    ASSERT_TRUE(bad.instructions.at(0).is_lddw());
    EXPECT_EQ(bad.instructions[0].src, uint8_t(ir::LddwKind::MapFd));
    EXPECT_GE(uint32_t(bad.instructions[0].imm), object("bad_invalid_map_reference.o").maps.size());
}

}  // namespace
}  // namespace bpfvet::corpus
