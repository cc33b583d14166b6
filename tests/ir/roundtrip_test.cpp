// Every program of the real-world corpus: disassemble_program, then assemble
// (map names resolved back to indices), gives back exactly the same slots.
#include "ir/assembler.hpp"
#include "ir/disassembler.hpp"
#include "ir/elf_loader.hpp"
#include "test_paths.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace bpfvet::ir {
namespace {

// The first difference between two slot vectors, described for a failure message.
std::string first_difference(const std::vector<Instruction>& expected, const std::vector<Instruction>& actual) {
    if (expected.size() != actual.size())
        return "slot count " + std::to_string(actual.size()) + " instead of " + std::to_string(expected.size());
    for (size_t pc = 0; pc < expected.size(); ++pc) {
        if (expected[pc] == actual[pc]) continue;
        const Instruction* next = pc + 1 < expected.size() ? &expected[pc + 1] : nullptr;
        return "pc " + std::to_string(pc) + ": '" + disassemble(expected[pc], next, {.pc = pc}) + "'";
    }
    return {};
}

struct Tally {
    size_t programs = 0, slots = 0, failures = 0;
    size_t unknown_encodings = 0;  // slots printed as "invalid 0x..."
};

void round_trip_corpus(const DisassemblyOptions& options, Tally& tally) {
    for (const auto& path : test::sample_objects()) {
        auto object = load_object(path.string());
        if (!object) continue;  // the loader's own tests cover objects it refuses
        AssemblyOptions assembly;
        assembly.map_resolver = [&](std::string_view name) -> std::optional<uint32_t> {
            for (size_t i = 0; i < object->maps.size(); ++i)
                if (object->maps[i].name == name) return uint32_t(i);
            return std::nullopt;
        };
        for (const auto& program : object->programs) {
            std::string text = disassemble_program(program, &*object, options);
            for (size_t at = text.find("invalid 0x"); at != std::string::npos; at = text.find("invalid 0x", at + 1))
                ++tally.unknown_encodings;
            auto result = assemble(text, assembly);
            ++tally.programs;
            tally.slots += program.instructions.size();
            if (!result) {
                ++tally.failures;
                ADD_FAILURE() << path.filename() << " " << program.section << "/" << program.name << ": "
                              << result.error().to_string();
                continue;
            }
            if (result->instructions != program.instructions) {
                ++tally.failures;
                ADD_FAILURE() << path.filename() << " " << program.section << "/" << program.name << ": "
                              << first_difference(program.instructions, result->instructions);
            }
        }
    }
}

// Function names that are also words of the syntax still read back as labels.
TEST(RoundTrip, FunctionsNamedLikeKeywords) {
    const char* names[] = {"main", "func", "exit", "goto", "if", "lock", "map", "invalid", "ll", "callx"};
    Program program;
    uint32_t count = sizeof names / sizeof names[0];
    for (uint32_t i = 0; i < count; ++i) {
        uint32_t start = uint32_t(program.instructions.size());
        // Each function calls the next (the last calls the first), loads its address, and exits.
        int32_t callee = int32_t(((i + 1) % count) * 4);
        program.instructions.push_back({.opcode = 0x85, .src = 1, .imm = callee - int32_t(start) - 1});
        program.instructions.push_back({.opcode = 0x18, .dst = 1, .src = 4, .imm = callee - int32_t(start) - 2});
        program.instructions.push_back({});
        program.instructions.push_back({.opcode = 0x95});
        program.functions.push_back({.name = names[i], .start = start, .end = start + 4});
    }
    for (bool jump_labels : {false, true}) {
        std::string text = disassemble_program(program, nullptr, {.jump_labels = jump_labels});
        EXPECT_NE(text.find("call exit"), std::string::npos) << text;
        EXPECT_NE(text.find("r1 = func[invalid] ll"), std::string::npos) << text;
        auto result = assemble(text);
        ASSERT_TRUE(result) << result.error().to_string() << "\n" << text;
        EXPECT_EQ(result->instructions, program.instructions) << text;
    }
}

TEST(RoundTrip, FunctionsWithTheSameNameAreCalledByDistance) {
    Program program;
    program.instructions = {{.opcode = 0x85, .src = 1, .imm = 1}, {.opcode = 0x95}, {.opcode = 0x95}};
    program.functions = {{.name = "main", .start = 0, .end = 2}, {.name = "twin", .start = 1, .end = 2},
                         {.name = "twin", .start = 2, .end = 3}};
    std::string text = disassemble_program(program, nullptr);
    EXPECT_EQ(text, "main:\n    0: call pc+1\n    1: exit\n    2: exit\n");
    auto result = assemble(text);
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_EQ(result->instructions, program.instructions);
}

TEST(RoundTrip, EveryCorpusProgramWithPcsAndFunctionLabels) {
    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    Tally tally;
    round_trip_corpus({}, tally);
    EXPECT_GT(tally.programs, 100u);
    EXPECT_EQ(tally.failures, 0u);
    std::printf("round trip (pcs, function labels): %zu programs, %zu slots, %zu failures, %zu unknown encodings\n",
                tally.programs, tally.slots, tally.failures, tally.unknown_encodings);
}

TEST(RoundTrip, EveryCorpusProgramWithSourceAndJumpLabels) {
    if (!test::have_samples()) GTEST_SKIP() << "shared corpus absent";
    Tally tally;
    round_trip_corpus({.with_pc = false, .with_source = true, .jump_labels = true}, tally);
    EXPECT_EQ(tally.failures, 0u);
    std::printf("round trip (source, jump labels): %zu programs, %zu slots, %zu failures\n", tally.programs,
                tally.slots, tally.failures);
}

}  // namespace
}  // namespace bpfvet::ir
