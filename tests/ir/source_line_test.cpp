// Program::source_line: which source line a diagnostic at an instruction names.
#include "ir/program.hpp"

#include <gtest/gtest.h>

namespace bpfvet::ir {
namespace {

// Two functions: [0, 5) with lines at 0 (line 10) and 2 (line 0, made up by
// the compiler), [5, 8) with its first line at 6.
Program program_with_lines() {
    Program program;
    program.instructions.resize(8);
    program.functions = {{"main", 0, 5}, {"helper", 5, 8}};
    program.locations = {{"a.c", 10, 3, "x = y;"}, {"a.h", 0, 0, ""}, {"a.c", 20, 1, "return x;"}};
    program.location_of = {0, -1, 1, -1, -1, -1, 2, -1};
    return program;
}

TEST(SourceLine, InstructionWithItsOwnLine) {
    const Program program = program_with_lines();
    ASSERT_NE(program.source_line(0), nullptr);
    EXPECT_EQ(program.source_line(0)->line, 10u);
    EXPECT_EQ(program.source_line(6)->line, 20u);
}

TEST(SourceLine, InstructionWithoutEntryTakesTheNearestBefore) {
    const Program program = program_with_lines();
    ASSERT_NE(program.source_line(1), nullptr);
    EXPECT_EQ(program.source_line(1)->line, 10u);
    EXPECT_EQ(program.source_line(7)->line, 20u);
    EXPECT_EQ(program.location(1), nullptr);  // the exact lookup stays exact
}

TEST(SourceLine, LineZeroIsNeverNamed) {
    const Program program = program_with_lines();
    ASSERT_NE(program.source_line(2), nullptr);
    EXPECT_EQ(program.source_line(2)->line, 10u);
    EXPECT_EQ(program.source_line(4)->line, 10u);
}

TEST(SourceLine, NeverCrossesIntoTheFunctionBefore) {
    const Program program = program_with_lines();
    EXPECT_EQ(program.source_line(5), nullptr);  // helper's first line comes after pc 5
}

TEST(SourceLine, ProgramWithoutLineInfo) {
    Program program;
    program.instructions.resize(3);
    program.functions = {{"main", 0, 3}};
    EXPECT_EQ(program.source_line(2), nullptr);
    EXPECT_EQ(program.source_line(99), nullptr);
}

}  // namespace
}  // namespace bpfvet::ir
