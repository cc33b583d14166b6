// tools/map_creation.hpp: a map the kernel cannot create rejects every program
// of its object in `check`, at the program's reference to it.
#include "tools/map_creation.hpp"

#include <gtest/gtest.h>

namespace bpfvet::tools {
namespace {

ir::Object object_with_map(uint32_t value_size) {
    ir::Object object;
    object.path = "maps.o";
    ir::MapDefinition small;
    small.name = "small";
    small.type = ir::MapType::Array;
    small.key_size = 4;
    small.value_size = 8;
    small.max_entries = 1;
    ir::MapDefinition big = small;
    big.name = "big";
    big.type = ir::MapType::Hash;
    big.value_size = value_size;
    object.maps = {small, big};
    ir::Program program;
    program.section = "xdp";
    program.name = "prog";
    // r1 = map[small]; r1 = map[big]; r0 = 0; exit
    ir::Instruction lddw{};
    lddw.opcode = 0x18;
    lddw.dst = 1;
    lddw.src = uint8_t(ir::LddwKind::MapFd);
    ir::Instruction second{};
    ir::Instruction to_big = lddw;
    to_big.imm = 1;
    ir::Instruction mov{};
    mov.opcode = 0xb7;
    ir::Instruction exit{};
    exit.opcode = 0x95;
    program.instructions = {lddw, second, to_big, second, mov, exit};
    program.functions = {{"prog", 0, 6}};
    object.programs.push_back(program);
    return object;
}

TEST(MapCreation, RejectsAtTheReferenceToTheRefusedMap) {
    const ir::Object object = object_with_map(0xffffffffu);
    analyzer::AnalysisResult result;
    result.accepted = true;
    reject_for_uncreatable_maps(object, object.programs[0], result);
    EXPECT_FALSE(result.accepted);
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].code, analyzer::ErrorCode::InvalidMapReference);
    EXPECT_EQ(result.errors[0].pc, 2u);
    EXPECT_NE(result.errors[0].message.find("'big'"), std::string::npos) << result.errors[0].message;
    EXPECT_NE(result.errors[0].message.find("E2BIG"), std::string::npos) << result.errors[0].message;
}

TEST(MapCreation, CreatableMapsChangeNothing) {
    const ir::Object object = object_with_map(64);
    analyzer::AnalysisResult result;
    result.accepted = true;
    reject_for_uncreatable_maps(object, object.programs[0], result);
    EXPECT_TRUE(result.accepted);
    EXPECT_TRUE(result.errors.empty());
}

}  // namespace
}  // namespace bpfvet::tools
