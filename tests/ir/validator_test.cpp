#include "ir/validator.hpp"

#include <gtest/gtest.h>

namespace bpfvet::ir {
namespace {

Instruction insn(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t offset = 0, int32_t imm = 0) {
    return {opcode, dst, src, offset, imm};
}

Program program_of(std::vector<Instruction> code) {
    Program p;
    p.name = "test";
    p.instructions = std::move(code);
    p.functions.push_back({"test", 0, uint32_t(p.instructions.size())});
    return p;
}

std::string first_error(const Program& p) {
    auto errors = validate(p);
    return errors.empty() ? "" : errors.front().message;
}

TEST(Validator, DecodesBytesLittleEndian) {
    std::vector<uint8_t> bytes{0xb7, 0x01, 0x02, 0x00, 0x2a, 0x00, 0x00, 0x00};  // r1 = 42 (offset 2 is odd but decodable)
    auto code = decode_bytes(bytes);
    ASSERT_TRUE(code);
    ASSERT_EQ(code->size(), 1u);
    EXPECT_EQ((*code)[0].opcode, 0xb7);
    EXPECT_EQ((*code)[0].dst, 1);
    EXPECT_EQ((*code)[0].offset, 2);
    EXPECT_EQ((*code)[0].imm, 42);
    EXPECT_EQ(encode_slot((*code)[0]), 0x0000002a000201b7ull);
    bytes.pop_back();
    EXPECT_FALSE(decode_bytes(bytes));
}

// One valid instruction of every class and form accepted by RFC 9669 (v4 included).
TEST(Validator, AcceptsEveryOpcodeClass) {
    const std::vector<std::pair<const char*, Instruction>> valid{
        {"add64 imm", insn(0x07, 1, 0, 0, 5)}, {"add64 reg", insn(0x0f, 1, 2)},
        {"add32 imm", insn(0x04, 1, 0, 0, 5)}, {"sub32 reg", insn(0x1c, 1, 2)},
        {"mul", insn(0x27, 1, 0, 0, 3)}, {"udiv", insn(0x37, 1, 0, 0, 3)}, {"sdiv", insn(0x3f, 1, 2, 1)},
        {"umod", insn(0x97, 1, 0, 0, 3)}, {"smod32", insn(0x94, 1, 0, 1, 3)},
        {"or", insn(0x4f, 1, 2)}, {"and", insn(0x57, 1, 0, 0, 0xff)}, {"xor", insn(0xaf, 1, 2)},
        {"lsh", insn(0x67, 1, 0, 0, 3)}, {"rsh", insn(0x7f, 1, 2)}, {"arsh32", insn(0xc4, 1, 0, 0, 3)},
        {"neg64", insn(0x87, 1)}, {"neg32", insn(0x84, 1)},
        {"mov64 imm", insn(0xb7, 1, 0, 0, -1)}, {"mov32 reg", insn(0xbc, 1, 2)},
        {"movsx64 s8", insn(0xbf, 1, 2, 8)}, {"movsx64 s32", insn(0xbf, 1, 2, 32)}, {"movsx32 s16", insn(0xbc, 1, 2, 16)},
        {"le16", insn(0xd4, 1, 0, 0, 16)}, {"be32", insn(0xdc, 1, 0, 0, 32)}, {"bswap64", insn(0xd7, 1, 0, 0, 64)},
        {"ja", insn(0x05, 0, 0, 0)}, {"gotol", insn(0x06, 0, 0, 0, 0)}, {"may_goto", insn(0xe5, 0, 0, 3)},
        {"jeq imm", insn(0x15, 1, 0, 0, 3)}, {"jne reg", insn(0x5d, 1, 2)}, {"jset32", insn(0x46, 1, 0, 0, 1)},
        {"jsle32 reg", insn(0xde, 1, 2)}, {"jlt", insn(0xa5, 1, 0, 0, 1)},
        {"call helper", insn(0x85, 0, 0, 0, 1)}, {"call kfunc", insn(0x85, 0, 2, 0, 1234)}, {"callx", insn(0x8d, 2)},
        {"exit", insn(0x95)},
        {"ldxw", insn(0x61, 0, 1, 4)}, {"ldxdw", insn(0x79, 0, 10, -8)}, {"ldxsb", insn(0x91, 0, 1, 0)},
        {"ldxsw", insn(0x81, 0, 1, 0)}, {"ld_abs_h", insn(0x28, 0, 0, 0, 12)}, {"ld_ind_b", insn(0x50, 0, 1, 0, 0)},
        {"stb", insn(0x72, 10, 0, -1, 5)}, {"stxdw", insn(0x7b, 10, 1, -8)},
        {"atomic add", insn(0xdb, 1, 2, 0, atomic::Add)}, {"atomic fetch or32", insn(0xc3, 1, 2, 0, atomic::Or | atomic::Fetch)},
        {"xchg", insn(0xdb, 1, 2, 0, atomic::Xchg)}, {"cmpxchg32", insn(0xc3, 1, 2, 0, atomic::CmpXchg)},
        {"load_acquire8", insn(0xd3, 1, 2, 0, atomic::LoadAcquire)},
        {"store_release16", insn(0xcb, 1, 2, 0, atomic::StoreRelease)},
        {"addr_space_cast", insn(0xbf, 1, 2, 1, 1)},
    };
    for (const auto& [name, i] : valid) EXPECT_EQ(check_instruction(i, nullptr), std::nullopt) << name;
    Instruction second{};
    second.imm = 7;
    EXPECT_EQ(check_instruction(insn(0x18, 1, 0, 0, 1), &second), std::nullopt);
    EXPECT_EQ(check_instruction(insn(0x18, 1, uint8_t(LddwKind::MapValue), 0, 0), &second), std::nullopt);
}

TEST(Validator, ReportsEachEncodingError) {
    Instruction zero{};
    const std::vector<std::tuple<const char*, Instruction, std::string>> invalid{
        {"unknown alu op", insn(0xe7, 1), "unknown opcode"},
        {"unknown jmp op", insn(0xf5, 1), "unknown opcode"},
        {"may_goto in jmp32", insn(0xe6, 0, 0, 1), "unknown opcode"},
        {"may_goto with dst", insn(0xe5, 1, 0, 1), "reserved field 'dst'"},
        {"division by constant 0", insn(0x37, 1, 0, 0, 0), "division by the constant 0"},
        {"modulo32 by constant 0", insn(0x94, 1, 0, 0, 0), "division by the constant 0"},
        {"shift beyond 64", insn(0x67, 1, 0, 0, 64), "shift by 64"},
        {"shift32 beyond 32", insn(0x74, 1, 0, 0, 32), "shift by 32"},
        {"negative shift", insn(0xc7, 1, 0, 0, -1), "shift by -1"},
        {"load_acquire into r10", insn(0xdb, 10, 1, 0, atomic::LoadAcquire), "frame pointer r10"},
        {"jmp32 call", insn(0x86), "unknown opcode"},
        {"reserved src on imm", insn(0x07, 1, 3, 0, 1), "reserved field 'src'"},
        {"reserved imm on reg", insn(0x0f, 1, 2, 0, 1), "reserved field 'imm'"},
        {"reserved offset on add", insn(0x07, 1, 0, 4, 1), "reserved field 'offset'"},
        {"bad register", insn(0xb7, 11, 0, 0, 1), "invalid register r11"},
        {"bad src register", insn(0x0f, 1, 12), "invalid register r12"},
        {"write r10", insn(0xb7, 10, 0, 0, 1), "frame pointer r10"},
        {"load into r10", insn(0x61, 10, 1, 0), "frame pointer r10"},
        {"bad byte swap", insn(0xd4, 1, 0, 0, 8), "byte swap width"},
        {"bad movsx", insn(0xbc, 1, 2, 32), "sign-extension width"},
        {"bad sdiv offset", insn(0x3f, 1, 2, 2), "division offset"},
        {"exit with fields", insn(0x95, 1), "reserved field 'dst'"},
        {"bad atomic", insn(0xdb, 1, 2, 0, 0x10), "unknown atomic operation"},
        {"atomic byte", insn(0xd3, 1, 2, 0, 0), "4- or 8-byte operand"},
        {"ldx abs", insn(0x21, 1, 2), "unknown opcode"},
        {"ldsx dw", insn(0x99, 1, 2), "unknown opcode"},
        {"lddw kind", insn(0x18, 1, 7, 0, 0), "invalid LDDW kind"},
        {"call kind", insn(0x85, 0, 3, 0, 1), "invalid call kind"},
    };
    for (const auto& [name, i, expected] : invalid) {
        auto problem = check_instruction(i, &zero);
        ASSERT_TRUE(problem) << name;
        EXPECT_NE(problem->message.find(expected), std::string::npos) << name << ": " << problem->message;
    }
    auto truncated = check_instruction(insn(0x18, 1, 0, 0, 1), nullptr);
    ASSERT_TRUE(truncated);
    EXPECT_NE(truncated->message.find("truncated LDDW"), std::string::npos);
    Instruction bad_second = insn(0x07, 1);
    EXPECT_TRUE(check_instruction(insn(0x18, 1, 0, 0, 1), &bad_second));
}

TEST(Validator, ChecksJumpTargetsAndFallThrough) {
    Instruction exit = insn(0x95), r0 = insn(0xb7, 0, 0, 0, 0);
    EXPECT_EQ(first_error(program_of({r0, exit})), "");
    EXPECT_NE(first_error(program_of({insn(0x05, 0, 0, 5), exit})).find("outside the program"), std::string::npos);
    EXPECT_NE(first_error(program_of({insn(0x05, 0, 0, -3), exit})).find("outside the program"), std::string::npos);
    // A jump into the second half of an LDDW.
    Instruction lddw = insn(0x18, 0, 0, 0, 1), second{};
    EXPECT_NE(first_error(program_of({insn(0x15, 1, 0, 1, 0), lddw, second, exit})).find("second half of an LDDW"), std::string::npos);
    // Falling off the end.
    EXPECT_NE(first_error(program_of({r0})).find("fall through"), std::string::npos);
    EXPECT_NE(first_error(program_of({r0, insn(0x15, 1, 0, -2, 0)})).find("fall through"), std::string::npos);
    // A truncated LDDW at the very end.
    EXPECT_NE(first_error(program_of({r0, lddw})).find("truncated LDDW"), std::string::npos);
    // A local call whose target is not a function start.
    Program call = program_of({insn(0x85, 0, 1, 0, 1), exit, r0, exit});
    EXPECT_NE(first_error(call).find("not the start of a function"), std::string::npos);
    call.functions = {{"main", 0, 2}, {"sub", 2, 4}};
    EXPECT_EQ(first_error(call), "");
    EXPECT_NE(first_error(program_of({})).find("no instructions"), std::string::npos);
}

// The kernel refuses some defects before its analysis, on the whole program
// (bpf_check's passes over every instruction), others only where a path
// reaches them (do_check): a defect on a dead path does not reject.
TEST(Validator, SaysWhenTheKernelNoticesEachDefect) {
    Instruction zero{};
    using Scope = Defect::Scope;
    const std::vector<std::tuple<const char*, Instruction, Scope>> cases{
        {"unknown opcode", insn(0xf5, 1), Scope::WholeProgram},
        {"ldx reserved imm", insn(0x61, 1, 2, 0, 5), Scope::WholeProgram},
        {"lddw kind", insn(0x18, 1, 7, 0, 0), Scope::WholeProgram},
        {"write r10", insn(0xb7, 10, 0, 0, 1), Scope::WhenReached},
        {"bad register", insn(0xb7, 11, 0, 0, 1), Scope::WhenReached},
        {"alu reserved src", insn(0x07, 1, 3, 0, 1), Scope::WhenReached},
        {"division by constant 0", insn(0x37, 1, 0, 0, 0), Scope::WhenReached},
        {"shift beyond width", insn(0x67, 1, 0, 0, 64), Scope::WhenReached},
        {"lddw into r10", insn(0x18, 10, 0, 0, 1), Scope::WhenReached},
    };
    for (const auto& [name, i, scope] : cases) {
        auto problem = check_instruction(i, &zero);
        ASSERT_TRUE(problem) << name;
        EXPECT_EQ(problem->scope, scope) << name << ": " << problem->message;
    }
    // In a program: jump targets are checked only when every instruction decodes.
    Program dead_write = program_of({insn(0x05, 0, 0, 1), insn(0xb7, 10, 0, 0, 1), insn(0x95)});
    auto defects = validate(dead_write);
    ASSERT_EQ(defects.size(), 1u);
    EXPECT_EQ(defects[0].pc, 1u);
    EXPECT_EQ(defects[0].scope, Scope::WhenReached);
    EXPECT_EQ(dead_write.whole_program_defect(), nullptr);
    dead_write.defects = defects;
    EXPECT_NE(dead_write.defect_when_reached(1), nullptr);
    EXPECT_EQ(dead_write.defect_when_reached(0), nullptr);
}

TEST(Validator, AJumpStaysInsideItsFunction) {
    Instruction exit = insn(0x95), r0 = insn(0xb7, 0, 0, 0, 0);
    // main: call sub; goto into sub (pc 4); exit | sub: r0 = 0; exit
    Program p = program_of({insn(0x85, 0, 1, 0, 2), insn(0x05, 0, 0, 1), exit, r0, exit});
    p.functions = {{"main", 0, 3}, {"sub", 3, 5}};
    EXPECT_NE(first_error(p).find("outside the function 'main'"), std::string::npos) << first_error(p);
}

}  // namespace
}  // namespace bpfvet::ir
