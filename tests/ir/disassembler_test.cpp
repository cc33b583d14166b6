#include "ir/disassembler.hpp"

#include "ir/assembly_syntax.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace bpfvet::ir {
namespace {

struct Case {
    std::vector<Instruction> slots;  // one instruction, or an LDDW and its second slot
    std::string_view text;
};

Instruction make(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t offset = 0, int32_t imm = 0) {
    return {.opcode = opcode, .dst = dst, .src = src, .offset = offset, .imm = imm};
}

MapDefinition named_map(std::string name) {
    MapDefinition map;
    map.name = std::move(name);
    return map;
}

std::string print(const std::vector<Instruction>& slots, const DisassemblyContext& context = {}) {
    return disassemble(slots[0], slots.size() > 1 ? &slots[1] : nullptr, context);
}

// Every class and form, with the text the kernel log / llvm-objdump would show.
const Case cases[] = {
    // ALU64 and ALU, immediate and register.
    {{make(0x07, 1, 0, 0, 3)}, "r1 += 3"},
    {{make(0x0f, 1, 2)}, "r1 += r2"},
    {{make(0x04, 1, 0, 0, 3)}, "w1 += 3"},
    {{make(0x0c, 1, 2)}, "w1 += w2"},
    {{make(0x17, 3, 0, 0, -4)}, "r3 -= -4"},
    {{make(0x1f, 3, 4)}, "r3 -= r4"},
    {{make(0x27, 0, 0, 0, 7)}, "r0 *= 7"},
    {{make(0x2c, 0, 9)}, "w0 *= w9"},
    {{make(0x37, 0, 0, 0, 2)}, "r0 /= 2"},
    {{make(0x37, 0, 0, 1, 2)}, "r0 s/= 2"},
    {{make(0x3c, 0, 1, 1)}, "w0 s/= w1"},
    {{make(0x47, 1, 0, 0, 0x100)}, "r1 |= 0x100"},
    {{make(0x57, 1, 0, 0, 0xffff)}, "r1 &= 0xffff"},
    {{make(0x57, 1, 0, 0, -8)}, "r1 &= -8"},
    {{make(0x54, 1, 0, 0, 7)}, "w1 &= 7"},
    {{make(0x67, 1, 0, 0, 32)}, "r1 <<= 32"},
    {{make(0x6f, 1, 2)}, "r1 <<= r2"},
    {{make(0x77, 1, 0, 0, 32)}, "r1 >>= 32"},
    {{make(0x74, 1, 0, 0, 3)}, "w1 >>= 3"},
    {{make(0x87, 1)}, "r1 = -r1"},
    {{make(0x84, 4)}, "w4 = -w4"},
    {{make(0x97, 1, 0, 0, 10)}, "r1 %= 10"},
    {{make(0x9f, 1, 2, 1)}, "r1 s%= r2"},
    {{make(0x94, 1, 0, 1, -3)}, "w1 s%= -3"},
    {{make(0xa7, 1, 0, 0, 0xff)}, "r1 ^= 0xff"},
    {{make(0xaf, 1, 2)}, "r1 ^= r2"},
    {{make(0xb7, 1, 0, 0, -1)}, "r1 = -1"},
    {{make(0xbf, 6, 1)}, "r6 = r1"},
    {{make(0xb4, 0, 0, 0, 0)}, "w0 = 0"},
    {{make(0xbc, 0, 1)}, "w0 = w1"},
    {{make(0xc7, 1, 0, 0, 3)}, "r1 s>>= 3"},
    {{make(0xcf, 1, 2)}, "r1 s>>= r2"},
    {{make(0xc4, 1, 0, 0, 3)}, "w1 s>>= 3"},
    // Sign-extending moves (v4).
    {{make(0xbf, 1, 2, 8)}, "r1 = (s8)r2"},
    {{make(0xbf, 1, 2, 16)}, "r1 = (s16)r2"},
    {{make(0xbf, 1, 2, 32)}, "r1 = (s32)r2"},
    {{make(0xbc, 1, 2, 8)}, "w1 = (s8)w2"},
    {{make(0xbc, 1, 2, 16)}, "w1 = (s16)w2"},
    // Byte swaps.
    {{make(0xd4, 1, 0, 0, 16)}, "r1 = le16 r1"},
    {{make(0xd4, 1, 0, 0, 64)}, "r1 = le64 r1"},
    {{make(0xdc, 1, 0, 0, 16)}, "r1 = be16 r1"},
    {{make(0xdc, 2, 0, 0, 32)}, "r2 = be32 r2"},
    {{make(0xd7, 1, 0, 0, 64)}, "r1 = bswap64 r1"},
    {{make(0xd7, 1, 0, 0, 16)}, "r1 = bswap16 r1"},
    // Loads and stores.
    {{make(0x61, 0, 1, 4)}, "r0 = *(u32 *)(r1 + 4)"},
    {{make(0x71, 0, 1, 0)}, "r0 = *(u8 *)(r1 + 0)"},
    {{make(0x69, 2, 10, -2)}, "r2 = *(u16 *)(r10 - 2)"},
    {{make(0x79, 3, 10, -8)}, "r3 = *(u64 *)(r10 - 8)"},
    {{make(0x91, 0, 1, 0)}, "r0 = *(s8 *)(r1 + 0)"},
    {{make(0x89, 0, 1, 2)}, "r0 = *(s16 *)(r1 + 2)"},
    {{make(0x81, 0, 1, -4)}, "r0 = *(s32 *)(r1 - 4)"},
    {{make(0x7b, 10, 1, -8)}, "*(u64 *)(r10 - 8) = r1"},
    {{make(0x63, 10, 1, -4)}, "*(u32 *)(r10 - 4) = r1"},
    {{make(0x6b, 1, 2, 12)}, "*(u16 *)(r1 + 12) = r2"},
    {{make(0x73, 1, 2, 0)}, "*(u8 *)(r1 + 0) = r2"},
    {{make(0x62, 10, 0, -4, 0)}, "*(u32 *)(r10 - 4) = 0"},
    {{make(0x7a, 10, 0, -8, -1)}, "*(u64 *)(r10 - 8) = -1"},
    {{make(0x72, 1, 0, 2, 0x11)}, "*(u8 *)(r1 + 2) = 17"},
    {{make(0x6a, 1, 0, -32768, 1)}, "*(u16 *)(r1 - 32768) = 1"},
    // Legacy packet access.
    {{make(0x30, 0, 0, 0, 4)}, "r0 = *(u8 *)skb[4]"},
    {{make(0x28, 0, 0, 0, 12)}, "r0 = *(u16 *)skb[12]"},
    {{make(0x20, 0, 0, 0, 0)}, "r0 = *(u32 *)skb[0]"},
    {{make(0x50, 0, 1, 0, 4)}, "r0 = *(u8 *)skb[r1 + 4]"},
    {{make(0x40, 0, 7, 0, -2)}, "r0 = *(u32 *)skb[r7 - 2]"},
    // Atomics.
    {{make(0xdb, 1, 2, 0, 0x00)}, "lock *(u64 *)(r1 + 0) += r2"},
    {{make(0xc3, 1, 2, 0, 0x40)}, "lock *(u32 *)(r1 + 0) |= w2"},
    {{make(0xdb, 10, 1, -8, 0x50)}, "lock *(u64 *)(r10 - 8) &= r1"},
    {{make(0xc3, 10, 1, -8, 0xa0)}, "lock *(u32 *)(r10 - 8) ^= w1"},
    {{make(0xdb, 1, 2, 0, 0x01)}, "r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)"},
    {{make(0xc3, 1, 2, 8, 0x41)}, "w2 = atomic_fetch_or((u32 *)(r1 + 8), w2)"},
    {{make(0xdb, 1, 2, 0, 0x51)}, "r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)"},
    {{make(0xc3, 1, 2, 0, 0xa1)}, "w2 = atomic_fetch_xor((u32 *)(r1 + 0), w2)"},
    {{make(0xdb, 1, 2, 0, 0xe1)}, "r2 = xchg_64(r1 + 0, r2)"},
    {{make(0xc3, 1, 2, 0, 0xe1)}, "w2 = xchg32_32(r1 + 0, w2)"},
    {{make(0xdb, 1, 2, 0, 0xf1)}, "r0 = cmpxchg_64(r1 + 0, r0, r2)"},
    {{make(0xc3, 10, 2, -8, 0xf1)}, "w0 = cmpxchg32_32(r10 - 8, w0, w2)"},
    {{make(0xdb, 0, 1, 0, 0x100)}, "r0 = load_acquire((u64 *)(r1 + 0))"},
    {{make(0xd3, 0, 1, 0, 0x100)}, "w0 = load_acquire((u8 *)(r1 + 0))"},
    {{make(0xcb, 1, 2, 4, 0x110)}, "store_release((u16 *)(r1 + 4), w2)"},
    {{make(0xdb, 1, 2, 0, 0x110)}, "store_release((u64 *)(r1 + 0), r2)"},
    // LDDW and its pseudo forms.
    {{make(0x18, 0, 0, 0, 0x55667788), make(0, 0, 0, 0, 0x11223344)}, "r0 = 0x1122334455667788 ll"},
    {{make(0x18, 1, 0, 0, 0), make(0, 0, 0, 0, 0)}, "r1 = 0 ll"},
    {{make(0x18, 1, 0, 0, -1), make(0, 0, 0, 0, -1)}, "r1 = 0xffffffffffffffff ll"},
    {{make(0x18, 1, 1, 0, 3), make(0)}, "r1 = map[3] ll"},
    {{make(0x18, 1, 2, 0, 0), make(0, 0, 0, 0, 8)}, "r1 = map_value[0] + 8 ll"},
    {{make(0x18, 1, 3, 0, 123), make(0)}, "r1 = btf_id[123] ll"},
    {{make(0x18, 1, 4, 0, 5), make(0)}, "r1 = func[+5] ll"},
    {{make(0x18, 2, 5, 0, 1), make(0)}, "r2 = map_idx[1] ll"},
    {{make(0x18, 2, 6, 0, 1), make(0, 0, 0, 0, 16)}, "r2 = map_idx_value[1] + 16 ll"},
    // Jumps.
    {{make(0x25, 1, 0, 3, 0x10)}, "if r1 > 0x10 goto +3"},
    {{make(0x2d, 1, 2, -4)}, "if r1 > r2 goto -4"},
    {{make(0x15, 1, 0, 0, 0)}, "if r1 == 0 goto +0"},
    {{make(0x55, 0, 0, 1, 5)}, "if r0 != 5 goto +1"},
    {{make(0x35, 1, 0, 2, 100)}, "if r1 >= 0x64 goto +2"},
    {{make(0xa5, 1, 0, 2, 3)}, "if r1 < 3 goto +2"},
    {{make(0xbd, 1, 2, 2)}, "if r1 <= r2 goto +2"},
    {{make(0x45, 1, 0, 2, 0x80)}, "if r1 & 0x80 goto +2"},
    {{make(0x65, 1, 0, 2, -1)}, "if r1 s> -1 goto +2"},
    {{make(0x75, 1, 0, 2, 100)}, "if r1 s>= 100 goto +2"},
    {{make(0xcd, 1, 2, 2)}, "if r1 s< r2 goto +2"},
    {{make(0xd5, 1, 0, 2, 0)}, "if r1 s<= 0 goto +2"},
    {{make(0x16, 1, 0, 3, 0x10)}, "if w1 == 0x10 goto +3"},
    {{make(0x6e, 1, 2, -1)}, "if w1 s> w2 goto -1"},
    {{make(0x05, 0, 0, 3)}, "goto +3"},
    {{make(0x05, 0, 0, -1)}, "goto -1"},
    {{make(0x06, 0, 0, 0, 70000)}, "gotol +70000"},
    {{make(0xe5, 0, 0, 2)}, "may_goto +2"},
    // Calls and exit.
    {{make(0x85, 0, 0, 0, 1)}, "call bpf_map_lookup_elem"},
    {{make(0x85, 0, 0, 0, 12)}, "call bpf_tail_call"},
    {{make(0x85, 0, 0, 0, 999)}, "call 999"},
    {{make(0x85, 0, 1, 0, 5)}, "call pc+5"},
    {{make(0x85, 0, 1, 0, -7)}, "call pc-7"},
    {{make(0x85, 0, 2, 0, 4567)}, "call kfunc[4567]"},
    {{make(0x85, 0, 2, 3, 4567)}, "call kfunc[3:4567]"},
    {{make(0x8d, 2)}, "callx r2"},
    {{make(0x95)}, "exit"},
};

TEST(Disassembler, EveryFormPrintsItsConventionalText) {
    for (const auto& c : cases) EXPECT_EQ(print(c.slots), c.text) << "opcode " << int(c.slots[0].opcode);
}

TEST(Disassembler, InvalidEncodingsPrintAsRawSlots) {
    // Reserved fields set, unknown opcodes, bad registers, LDDW without its second slot.
    EXPECT_EQ(print({make(0x0f, 1, 2, 0, 5)}), "invalid 0x000000050000210f");   // add reg with imm
    EXPECT_EQ(print({make(0x07, 1, 3, 0, 0)}), "invalid 0x0000000000003107");   // add imm with src
    EXPECT_EQ(print({make(0xff)}), "invalid 0x00000000000000ff");
    EXPECT_EQ(print({make(0x07, 11, 0, 0, 1)}), "invalid 0x0000000100000b07");  // r11
    EXPECT_EQ(print({make(0xdc, 1, 0, 0, 8)}), "invalid 0x00000008000001dc");   // be8
    EXPECT_EQ(print({make(0x18, 1, 0, 0, 1)}), "invalid 0x0000000100000118");   // lddw at the end
    EXPECT_EQ(print({make(0x18, 1, 0, 0, 1), make(0x07)}), "invalid 0x0000000100000118");
    EXPECT_EQ(print({make(0x18, 1, 7, 0, 1), make(0)}), "invalid 0x0000000100007118");  // unknown pseudo
    EXPECT_EQ(print({make(0x18, 1, 1, 0, 1), make(0, 0, 0, 0, 1)}), "invalid 0x0000000100001118");  // map with offset
    EXPECT_EQ(print({make(0x00)}), "invalid 0x0000000000000000");   // a lone second slot
    EXPECT_EQ(print({make(0x99, 1, 0, 0, 0)}), "invalid 0x0000000000000199");   // ldx with mode 0x80, size DW
    EXPECT_EQ(print({make(0xc3, 1, 2, 0, 0x02)}), "invalid 0x00000002000021c3");  // unknown atomic op
    EXPECT_EQ(print({make(0xd3, 1, 2, 0, 0x00)}), "invalid 0x00000000000021d3");  // atomic add on a byte
    EXPECT_EQ(print({make(0x85, 1, 0, 0, 1)}), "invalid 0x0000000100000185");   // call with dst
    EXPECT_EQ(print({make(0x95, 0, 0, 1, 0)}), "invalid 0x0000000000010095");   // exit with offset
    EXPECT_EQ(print({make(0x87, 1, 0, 0, 1)}), "invalid 0x0000000100000187");   // neg with imm
}

TEST(Disassembler, MapsAreNamedFromTheObject) {
    Object object;
    object.maps.push_back(named_map("my_map"));
    object.maps.push_back(named_map(".data"));
    object.maps.push_back(named_map("twin"));
    object.maps.push_back(named_map("twin"));
    object.maps.push_back(named_map("has space"));
    DisassemblyContext context{.object = &object};
    EXPECT_EQ(print({make(0x18, 1, 1, 0, 0), make(0)}, context), "r1 = map[my_map] ll");
    EXPECT_EQ(print({make(0x18, 1, 2, 0, 1), make(0, 0, 0, 0, 8)}, context), "r1 = map_value[.data] + 8 ll");
    // Ambiguous or unprintable names, and indices out of range, fall back to the index.
    EXPECT_EQ(print({make(0x18, 1, 1, 0, 2), make(0)}, context), "r1 = map[2] ll");
    EXPECT_EQ(print({make(0x18, 1, 1, 0, 4), make(0)}, context), "r1 = map[4] ll");
    EXPECT_EQ(print({make(0x18, 1, 1, 0, 9), make(0)}, context), "r1 = map[9] ll");
    EXPECT_EQ(print({make(0x18, 1, 1, 0, -1), make(0)}, context), "r1 = map[-1] ll");
}

TEST(Disassembler, LocalCallsByFunctionName) {
    std::vector<Function> functions{{.name = "main", .start = 0, .end = 4},
                                    {.name = "helper_fn", .start = 4, .end = 6},
                                    {.name = "bpf_map_lookup_elem", .start = 6, .end = 7},
                                    {.name = "pc", .start = 7, .end = 8},
                                    {.name = "func", .start = 8, .end = 9}};
    DisassemblyContext context{.pc = 1, .functions = &functions};
    EXPECT_EQ(print({make(0x85, 0, 1, 0, 2)}, context), "call helper_fn");
    EXPECT_EQ(print({make(0x85, 0, 1, 0, 1)}, context), "call pc+1");  // no function starts at 3
    // A function named like a helper would be read back as the helper.
    EXPECT_EQ(print({make(0x85, 0, 1, 0, 4)}, context), "call pc+4");
    EXPECT_EQ(print({make(0x85, 0, 1, 0, 5)}, context), "call pc+5");  // "call pc" would not read back
    EXPECT_EQ(print({make(0x85, 0, 1, 0, 6)}, context), "call func");
    EXPECT_EQ(print({make(0x18, 1, 4, 0, 2), make(0)}, context), "r1 = func[helper_fn] ll");
}

Program sample_program() {
    Program program;
    program.name = "prog";
    program.instructions = {
        make(0xb7, 0, 0, 0, 0),                  // 0
        make(0x18, 1, 1, 0, 0), make(0),         // 1, 2
        make(0x15, 0, 0, 2, 0),                  // 3 -> 6
        make(0x85, 0, 1, 0, 2),                  // 4 -> 7
        make(0x05, 0, 0, -6),                    // 5 -> 0
        make(0x95),                              // 6
        make(0xb7, 0, 0, 0, 1),                  // 7
        make(0x95),                              // 8
    };
    program.functions = {{.name = "prog", .start = 0, .end = 7}, {.name = "sub", .start = 7, .end = 9}};
    program.locations = {{.file = "a.c", .line = 10, .text = "int x = 0;"}, {.file = "a.c", .line = 11, .text = ""}};
    program.location_of = {0, 0, 0, 1, 1, -1, 1, 0, 0};
    return program;
}

TEST(Disassembler, ProgramWithPcsFunctionLabelsAndSource) {
    Program program = sample_program();
    Object object;
    object.maps.push_back(named_map("counters"));
    EXPECT_EQ(disassemble_program(program, &object),
              "prog:\n"
              "    0: r0 = 0\n"
              "    1: r1 = map[counters] ll\n"
              "    3: if r0 == 0 goto +2\n"
              "    4: call sub\n"
              "    5: goto -6\n"
              "    6: exit\n"
              "sub:\n"
              "    7: r0 = 1\n"
              "    8: exit\n");
    EXPECT_EQ(disassemble_program(program, nullptr, {.with_pc = false, .with_source = true, .function_labels = false}),
              "; int x = 0;  [a.c:10]\n"
              "r0 = 0\n"
              "r1 = map[0] ll\n"
              "; [a.c:11]\n"
              "if r0 == 0 goto +2\n"
              "call pc+2\n"
              "goto -6\n"
              "exit\n"
              "; int x = 0;  [a.c:10]\n"
              "r0 = 1\n"
              "exit\n");
}

TEST(Disassembler, JumpLabels) {
    Program program = sample_program();
    EXPECT_EQ(disassemble_program(program, nullptr, {.with_pc = false, .jump_labels = true}),
              "prog:\n"
              ".L0:\n"
              "r0 = 0\n"
              "r1 = map[0] ll\n"
              "if r0 == 0 goto .L6\n"
              "call sub\n"
              "goto .L0\n"
              ".L6:\n"
              "exit\n"
              "sub:\n"
              "r0 = 1\n"
              "exit\n");
}

// An independent oracle: LLVM's own BPF assembler reads our text and must
// produce our bytes. It knows every form except our pseudo-LDDW spellings,
// named or pc-relative calls (it makes relocations of them), kfuncs, gotol
// with a number, load-acquire/store-release (LLVM 21) and skb[rN + k].
TEST(Disassembler, LlvmMcAssemblesOurTextToTheSameBytes) {
    const std::filesystem::path llvm_mc = "/usr/lib/llvm-19/bin/llvm-mc";
    if (!std::filesystem::exists(llvm_mc)) GTEST_SKIP() << "no " << llvm_mc;
    auto llvm_knows = [](const std::string& text) {
        for (std::string_view unknown : {"map", "btf_id", "func[", "call ", "skb[r", "load_acquire", "store_release",
                                         "gotol", "invalid"})
            if (text.find(unknown) != std::string::npos) return false;
        return true;
    };
    std::vector<std::string> lines;
    std::vector<std::vector<Instruction>> expected;
    std::set<std::string> seen;
    std::set<const syntax::Form*> forms_checked;
    for (int opcode = 0; opcode < 256; ++opcode)
        for (uint8_t dst : {0, 3, 10})
            for (uint8_t src : {0, 1, 2, 9, 10})
                for (int16_t offset : {0, 1, 8, 16, 32, -8, -32768, 32767})
                    for (int32_t imm : {0, 1, -1, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 255,
                                        INT32_MIN, INT32_MAX}) {
                        std::vector<Instruction> slots{make(uint8_t(opcode), dst, src, offset, imm)};
                        if (opcode == 0x18) slots.push_back(make(0, 0, 0, 0, imm ^ 0x5a5a));
                        const Instruction* next = slots.size() > 1 ? &slots[1] : nullptr;
                        const syntax::Form* form = syntax::find_form(slots[0], next);
                        if (form == nullptr) continue;
                        std::string text = disassemble(slots[0], next);
                        if (!llvm_knows(text) || !seen.insert(text).second) continue;
                        forms_checked.insert(form);
                        lines.push_back(text);
                        expected.push_back(slots);
                    }
    auto input = std::filesystem::temp_directory_path() / ("bpfvet_llvm_mc_" + std::to_string(getpid()) + ".s");
    {
        std::ofstream out(input);
        for (const auto& line : lines) out << line << "\n";
    }
    std::string command = llvm_mc.string() + " -triple bpfel -mcpu=v4 -show-encoding " + input.string() + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::vector<std::string> output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output.emplace_back(buffer);
    pclose(pipe);
    std::filesystem::remove(input);

    size_t checked = 0;
    for (const auto& out : output) {
        ASSERT_EQ(out.find("error"), std::string::npos) << out;
        size_t bracket = out.find("# encoding: [");
        if (bracket == std::string::npos) continue;
        ASSERT_LT(checked, lines.size());
        std::vector<uint8_t> bytes;
        for (size_t at = out.find("0x", bracket); at != std::string::npos; at = out.find("0x", at + 2))
            bytes.push_back(uint8_t(std::stoul(out.substr(at, 4), nullptr, 16)));
        std::vector<uint8_t> ours;
        for (const auto& slot : expected[checked])
            for (int i = 0; i < 8; ++i) ours.push_back(uint8_t(encode_slot(slot) >> (8 * i)));
        EXPECT_EQ(bytes, ours) << lines[checked];
        ++checked;
    }
    EXPECT_EQ(checked, lines.size());
    EXPECT_GE(forms_checked.size(), 140u);
    size_t printable = std::count_if(syntax::forms().begin(), syntax::forms().end(),
                                     [](const syntax::Form& form) { return !form.read_only; });
    std::printf("llvm-mc agrees on %zu lines covering %zu of %zu printable forms\n", checked, forms_checked.size(),
                printable);
}

}  // namespace
}  // namespace bpfvet::ir
