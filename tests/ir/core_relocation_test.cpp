#include "ir/core_relocation.hpp"
#include "ir/elf_loader.hpp"

#include "btf_builder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

namespace bpfvet::ir {
namespace {

// corpus/core_task_parent.c: prev->pid (local offset 0), prev->real_parent (8), ->tgid (4).
std::optional<Object> core_object() {
    const auto path = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "core_task_parent.o";
    if (!std::filesystem::exists(path)) return std::nullopt;
    auto object = load_object(path.string());
    EXPECT_TRUE(object.has_value()) << object.error().to_string();
    return object ? std::optional<Object>(std::move(*object)) : std::nullopt;
}

// The offsets of the three loads that carry relocations, in program order.
std::vector<int16_t> relocated_offsets(const Program& original, const Program& relocated) {
    std::vector<int16_t> out;
    for (const auto& relocation : original.core_relocations) out.push_back(relocated.instructions[relocation.pc].offset);
    return out;
}

TEST(CoreRelocation, MovesFieldOffsetsToTheTargetsAndPoisonsMissingFields) {
    auto object = core_object();
    if (!object) GTEST_SKIP() << "corpus not built";
    const Program& program = object->programs.at(0);
    ASSERT_EQ(program.core_relocations.size(), 3u);
    // A kernel whose task_struct has tgid at 0 and pid at 4, and no real_parent.
    test::BtfBuilder b;
    uint32_t i32 = b.add_int("int", 4, true);
    b.add_struct("task_struct", 8, {{"tgid", i32, 0, 0}, {"pid", i32, 32, 0}});
    auto target = KernelBtf::parse(b.build(), "tiny kernel");
    ASSERT_TRUE(target.has_value()) << target.error();
    auto moved = relocate_for_kernel(*object, program, **target);
    ASSERT_TRUE(moved.has_value()) << moved.error();
    EXPECT_TRUE(moved->core_relocations.empty());
    size_t poisoned = 0, at_four = 0;
    for (const auto& relocation : program.core_relocations) {
        const Instruction& insn = moved->instructions[relocation.pc];
        if (insn.is_helper_call() && insn.imm == CorePoisonHelper) ++poisoned;
        else if (insn.offset == 4) ++at_four;
    }
    EXPECT_EQ(poisoned, 1u);  // real_parent
    EXPECT_EQ(at_four, 1u);   // pid
    // A kernel without task_struct at all: every field access is poisoned.
    test::BtfBuilder empty;
    empty.add_int("int", 4, true);
    auto bare = KernelBtf::parse(empty.build(), "bare");
    auto poisoned_all = relocate_for_kernel(*object, program, **bare);
    ASSERT_TRUE(poisoned_all.has_value()) << poisoned_all.error();
    for (const auto& relocation : program.core_relocations)
        EXPECT_EQ(poisoned_all->instructions[relocation.pc].imm, CorePoisonHelper);
}

TEST(CoreRelocation, UsesTheRunningKernelsOffsets) {
    auto object = core_object();
    if (!object) GTEST_SKIP() << "corpus not built";
    if (!std::filesystem::exists(std::string(DefaultKernelBtfPath))) GTEST_SKIP() << "no kernel BTF here";
    auto kernel = KernelBtf::load(std::string(DefaultKernelBtfPath));
    ASSERT_TRUE(kernel.has_value()) << kernel.error();
    auto task = (*kernel)->find(BtfKind::Struct, "task_struct");
    ASSERT_TRUE(task.has_value());
    std::vector<int16_t> expected;
    for (std::string_view name : {"pid", "real_parent", "tgid"})
        for (const auto& member : (*kernel)->members(*task))
            if (member.name == name) expected.push_back(int16_t(member.bit_offset / 8));
    ASSERT_EQ(expected.size(), 3u);
    const Program& program = object->programs.at(0);
    auto moved = relocate_for_kernel(*object, program, **kernel);
    ASSERT_TRUE(moved.has_value()) << moved.error();
    auto offsets = relocated_offsets(program, *moved);
    std::ranges::sort(offsets);
    std::ranges::sort(expected);
    EXPECT_EQ(offsets, expected);
}

TEST(CoreRelocation, RefusesAnInstructionThatDoesNotHoldTheLocalValue) {
    auto object = core_object();
    if (!object) GTEST_SKIP() << "corpus not built";
    Program program = object->programs.at(0);
    program.instructions[program.core_relocations.front().pc].offset += 1;
    test::BtfBuilder b;
    uint32_t i32 = b.add_int("int", 4, true);
    b.add_struct("task_struct", 8, {{"tgid", i32, 0, 0}, {"pid", i32, 32, 0}});
    auto target = KernelBtf::parse(b.build(), "tiny kernel");
    auto moved = relocate_for_kernel(*object, program, **target);
    ASSERT_FALSE(moved.has_value());
    EXPECT_NE(moved.error().find("not the local value"), std::string::npos) << moved.error();
}

}  // namespace
}  // namespace bpfvet::ir
