#include "ir/elf_loader.hpp"
#include "test_paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bpfvet::ir {
namespace {

TEST(ElfLoader, RejectsEmptyAndNonElfAndTruncatedInput) {
    std::vector<uint8_t> empty;
    auto r = load_object_from_memory(empty, "empty.o");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().to_string().find("empty"), std::string::npos);

    std::string text = "this is not an ELF file at all";
    r = load_object_from_memory({reinterpret_cast<const uint8_t*>(text.data()), text.size()}, "text.o");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not a valid ELF"), std::string::npos) << r.error().to_string();

    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    std::ifstream in(test::samples_dir() / "linux" / "xdp1_kern.o", std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    ASSERT_GT(bytes.size(), 200u);
    for (size_t cut : {size_t(16), size_t(64), bytes.size() / 2, bytes.size() - 1}) {
        std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + long(cut));
        auto t = load_object_from_memory(truncated, "truncated.o");
        EXPECT_FALSE(t) << "cut at " << cut;
    }
}

TEST(ElfLoader, MissingFileIsAnError) {
    auto r = load_object("/nonexistent/file.o");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().file, "/nonexistent/file.o");
}

// The bar: every non-invalid object of the shared corpus loads completely.
TEST(ElfLoader, LoadsWholeSharedCorpus) {
    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    size_t objects = 0, programs = 0, instructions = 0, maps = 0;
    for (const auto& path : test::sample_objects()) {
        auto object = load_object(path.string());
        ASSERT_TRUE(object) << object.error().to_string();
        EXPECT_FALSE(object->programs.empty()) << path;
        ++objects;
        programs += object->programs.size();
        maps += object->maps.size();
        for (const auto& p : object->programs) {
            instructions += p.instructions.size();
            ASSERT_FALSE(p.functions.empty());
            EXPECT_EQ(p.functions.front().start, 0u);
            EXPECT_EQ(p.functions.back().end, p.instructions.size());
            EXPECT_EQ(p.location_of.size(), p.instructions.size());
            for (uint32_t m : p.maps_used()) EXPECT_LT(m, object->maps.size()) << path;
        }
    }
    std::printf("loaded %zu objects, %zu programs, %zu instructions, %zu maps\n", objects, programs, instructions, maps);
    EXPECT_GE(objects, 100u);
}

// Every program the kernel verdict list names is found, by section and function.
TEST(ElfLoader, FindsEveryProgramOfKernelVerdicts) {
    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    std::ifstream csv(test::shared_dir() / "corpus" / "kernel-verdicts.csv");
    std::string line;
    std::getline(csv, line);  // header
    size_t checked = 0;
    while (std::getline(csv, line)) {
        std::stringstream row(line);
        std::string file, section, name;
        std::getline(row, file, ',');
        std::getline(row, section, ',');
        std::getline(row, name, ',');
        if (file.starts_with("invalid/")) continue;
        auto object = load_object((test::samples_dir() / file).string());
        ASSERT_TRUE(object) << object.error().to_string();
        bool found = std::ranges::any_of(object->programs, [&](const Program& p) { return p.section == section && p.name == name; });
        EXPECT_TRUE(found) << file << " " << section << " " << name;
        ++checked;
    }
    EXPECT_GT(checked, 250u);
}

// Two files of invalid/ are well-formed objects whose fault is semantic (PREVAIL
// fuzz finds: an analysis time-out on a 35-deep tail-call chain, and an unsafe
// bind monitor); the loader takes them and `check` judges them.
// invalid-lddw.o is a readable object whose one program ends in a truncated
// LDDW: the program's rejection (the kernel: "last insn is not an exit or
// jmp"), not the object's.
bool has_defective_program_only(const std::filesystem::path& path) {
    return path.filename() == "invalid-lddw.o";
}

bool is_structurally_valid(const std::filesystem::path& path) {
    auto name = path.filename().string();
    return name.starts_with("timeout-") || name == "dac31099c3bb5b6395908c82cc8540e77a6a1849" ||
           has_defective_program_only(path);
}

TEST(ElfLoader, RefusesEveryMalformedInvalidObjectWithAMessage) {
    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    size_t refused = 0;
    for (const auto& entry : std::filesystem::directory_iterator(test::samples_dir() / "invalid")) {
        auto object = load_object(entry.path().string());
        if (is_structurally_valid(entry.path())) {
            ASSERT_TRUE(object) << object.error().to_string();
            if (has_defective_program_only(entry.path())) {
                ASSERT_EQ(object->programs.size(), 1u);
                EXPECT_NE(object->programs[0].whole_program_defect(), nullptr);
            }
            continue;
        }
        EXPECT_FALSE(object) << entry.path() << " was accepted";
        if (!object) {
            EXPECT_FALSE(object.error().message.empty());
            std::printf("%s\n", object.error().to_string().c_str());
            ++refused;
        }
    }
    EXPECT_GE(refused, 8u);
}

TEST(ElfLoader, ReadsMapsRelocationsAndLineInfo) {
    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    // twomaps_btf.o: two BTF-defined maps referenced from .text.
    auto object = load_object((test::samples_dir() / "build" / "twomaps_btf.o").string());
    ASSERT_TRUE(object) << object.error().to_string();
    ASSERT_EQ(object->programs.size(), 1u);
    EXPECT_EQ(object->programs[0].maps_used().size(), 2u);
    bool any_line = std::ranges::any_of(object->programs[0].location_of, [](int32_t l) { return l >= 0; });
    EXPECT_TRUE(any_line);

    // global_variable.o: .data/.bss become one-entry array maps referenced as map values.
    object = load_object((test::samples_dir() / "build" / "global_variable.o").string());
    ASSERT_TRUE(object) << object.error().to_string();
    bool has_global = std::ranges::any_of(object->maps, [](const MapDefinition& m) { return m.is_global_data; });
    EXPECT_TRUE(has_global);

    // map_in_map.o: the outer map names its inner map.
    object = load_object((test::samples_dir() / "build" / "map_in_map.o").string());
    ASSERT_TRUE(object) << object.error().to_string();
    bool has_inner = std::ranges::any_of(object->maps, [](const MapDefinition& m) { return m.inner_map.has_value(); });
    EXPECT_TRUE(has_inner);

    // iproute2's 36-byte bpf_elf_map (Cilium) names the inner map by id (inner_id), not by index.
    object = load_object((test::samples_dir() / "cilium" / "bpf_xdp_dsr_linux.o").string());
    ASSERT_TRUE(object) << object.error().to_string();
    auto maglev = std::ranges::find_if(object->maps, [](const MapDefinition& m) { return m.name == "cilium_lb4_maglev"; });
    ASSERT_NE(maglev, object->maps.end());
    ASSERT_TRUE(maglev->inner_map);
    EXPECT_EQ(object->maps[*maglev->inner_map].name, "cilium_lb4_maglev_inner");

    // Cilium packs several programs into one section.
    object = load_object((test::samples_dir() / "cilium" / "bpf_lxc.o").string());
    ASSERT_TRUE(object) << object.error().to_string();
    EXPECT_GE(object->programs.size(), 10u);
}

// One program's defect is that program's rejection: the kernel's selftests put
// a jump out of range, and writes to r10, beside well-formed programs.
TEST(ElfLoader, ADefectRejectsOnlyItsOwnProgram) {
    const auto objects = test::shared_dir() / "kernel-selftests" / "objs";
    if (!std::filesystem::is_directory(objects)) GTEST_SKIP() << "kernel selftests absent";
    auto find = [](const Object& object, std::string_view name) -> const Program* {
        for (const auto& p : object.programs)
            if (p.name == name) return &p;
        return nullptr;
    };
    auto cfg = load_object((objects / "verifier_cfg.o").string());
    ASSERT_TRUE(cfg) << cfg.error().to_string();
    const Program* out_of_range = find(*cfg, "out_of_range_jump");
    ASSERT_NE(out_of_range, nullptr);
    ASSERT_NE(out_of_range->whole_program_defect(), nullptr);
    EXPECT_NE(out_of_range->whole_program_defect()->message.find("outside the program"), std::string::npos);
    const Program* loop = find(*cfg, "conditional_loop2");
    ASSERT_NE(loop, nullptr);
    EXPECT_TRUE(loop->defects.empty());

    // An LDDW of an arena variable (section .addr_space.1, no map of ours) in
    // a .text function: the object still loads (it was refused as a whole),
    // and its program is checked on its own.
    auto arena = load_object((objects / "verifier_arena_large.o").string());
    ASSERT_TRUE(arena) << arena.error().to_string();
    EXPECT_NE(find(*arena, "big_alloc1"), nullptr);

    auto movsx = load_object((objects / "verifier_movsx.o").string());
    ASSERT_TRUE(movsx) << movsx.error().to_string();
    // Writes r10 on a path the kernel proves dead: a defect only where reached.
    const Program* dead_write = find(*movsx, "mov64sx_s32_varoff_2");
    ASSERT_NE(dead_write, nullptr);
    EXPECT_EQ(dead_write->whole_program_defect(), nullptr);
    EXPECT_FALSE(dead_write->defects.empty());
    EXPECT_TRUE(std::ranges::any_of(dead_write->defects, [](const Defect& d) {
        return d.scope == Defect::Scope::WhenReached && d.message.find("r10") != std::string::npos;
    }));
}

}  // namespace
}  // namespace bpfvet::ir

namespace bpfvet::ir {
namespace {

// `extern ... __ksym` functions (BTF FUNC with extern linkage) are kfunc calls
// that keep their names, never unresolved calls.
TEST(ElfLoader, ExternKernelFunctionsBecomeNamedKfuncCalls) {
    const auto path = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "task_kfuncs.o";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built";
    auto object = load_object(path.string());
    ASSERT_TRUE(object) << object.error().to_string();
    auto program = std::ranges::find(object->programs, "track_new_task", &Program::name);
    ASSERT_NE(program, object->programs.end());
    EXPECT_TRUE(program->unresolved_calls.empty());
    std::vector<std::string> names;
    for (const auto& call : program->kfunc_calls) {
        EXPECT_TRUE(program->instructions[call.pc].is_kfunc_call()) << call.name;
        EXPECT_EQ(program->instructions[call.pc].imm, 0) << call.name;
        EXPECT_EQ(program->kfunc_call(call.pc), &call);
        names.push_back(call.name);
    }
    EXPECT_NE(std::ranges::find(names, "bpf_task_acquire"), names.end());
    EXPECT_NE(std::ranges::find(names, "bpf_cgroup_from_id"), names.end());
    EXPECT_NE(std::ranges::find(names, "bpf_task_release"), names.end());
    EXPECT_EQ(program->kfunc_call(0), nullptr);  // the first instruction loads ctx[0]
}

// A helper declared `extern` instead of as bpf_helpers.h's pointer: the call
// keeps the symbol's name (as a kfunc call, which libbpf also takes it for),
// so the analyzer can say which symbol is undefined.
TEST(ElfLoader, ExternHelperDeclarationKeepsTheSymbol) {
    const auto path = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "bad_extern_helper.o";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built";
    auto object = load_object(path.string());
    ASSERT_TRUE(object) << object.error().to_string();
    ASSERT_EQ(object->programs.size(), 1u);
    const Program& program = object->programs[0];
    ASSERT_EQ(program.kfunc_calls.size(), 1u);
    EXPECT_EQ(program.kfunc_calls[0].name, "bpf_map_lookup_elem");
    EXPECT_TRUE(program.instructions[program.kfunc_calls[0].pc].is_kfunc_call());
}

}  // namespace
}  // namespace bpfvet::ir
