// Generated programs written as ELF objects read back by our loader as the
// same program: same instructions (maps relocated to the same indices), same
// functions, same maps, same verdict.
#include "elf_writer.hpp"

#include "analyzer/analyzer.hpp"
#include "ir/elf_loader.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>

namespace bpfvet::generator {
namespace {

TEST(ElfWriter, ObjectsReadBackAsTheGeneratedProgram) {
    auto path = std::filesystem::temp_directory_path() / ("bpfvet-generated-" + std::to_string(getpid()) + ".o");
    size_t with_calls = 0, with_maps = 0;
    for (uint64_t seed = 0; seed < 60; ++seed) {
        GeneratedProgram generated = generate_program(seed);
        auto expected = build_object(generated);
        ASSERT_TRUE(expected) << expected.error();
        ASSERT_TRUE(write_elf(generated, path.string())) << seed;
        auto loaded = ir::load_object(path.string());
        ASSERT_TRUE(loaded) << "seed " << seed << ": " << loaded.error().to_string();
        ASSERT_EQ(loaded->programs.size(), 1u) << seed;
        const ir::Program& want = expected->programs.front();
        const ir::Program& got = loaded->programs.front();
        EXPECT_EQ(got.section, generated.section);
        EXPECT_EQ(got.type, generated.type) << generated.section;
        EXPECT_EQ(loaded->license, "GPL");
        ASSERT_EQ(got.instructions.size(), want.instructions.size()) << seed;
        for (size_t pc = 0; pc < want.instructions.size(); ++pc)
            EXPECT_EQ(ir::encode_slot(got.instructions[pc]), ir::encode_slot(want.instructions[pc]))
                << "seed " << seed << " slot " << pc;
        ASSERT_EQ(got.functions.size(), want.functions.size()) << seed;
        ASSERT_EQ(loaded->maps.size(), generated.maps.size());
        for (size_t i = 0; i < generated.maps.size(); ++i) {
            EXPECT_EQ(loaded->maps[i].name, generated.maps[i].name);
            EXPECT_EQ(loaded->maps[i].value_size, generated.maps[i].value_size);
        }
        EXPECT_EQ(analyzer::analyze_program(*loaded, got).accepted, analyzer::analyze_program(*expected, want).accepted)
            << seed;
        with_calls += want.functions.size() > 1;
        with_maps += generated.text().find("map[") != std::string::npos;
        if (testing::Test::HasFatalFailure()) break;
    }
    std::filesystem::remove(path);
    EXPECT_GT(with_calls, 0u);
    EXPECT_GT(with_maps, 0u);
}

}  // namespace
}  // namespace bpfvet::generator
