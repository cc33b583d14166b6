#include "ir/assembler.hpp"
#include "ir/assembly_syntax.hpp"
#include "ir/disassembler.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace bpfvet::ir {
namespace {

Instruction make(uint8_t opcode, uint8_t dst = 0, uint8_t src = 0, int16_t offset = 0, int32_t imm = 0) {
    return {.opcode = opcode, .dst = dst, .src = src, .offset = offset, .imm = imm};
}

std::vector<Instruction> assembled(std::string_view text, const AssemblyOptions& options = {}) {
    auto result = assemble(text, options);
    EXPECT_TRUE(result) << text << "\n-> " << result.error().to_string();
    return result ? result->instructions : std::vector<Instruction>{};
}

std::string hex_slots(const std::vector<Instruction>& slots) {
    std::string out;
    char buffer[24];
    for (const auto& slot : slots) {
        std::snprintf(buffer, sizeof buffer, "%016llx ", static_cast<unsigned long long>(encode_slot(slot)));
        out += buffer;
    }
    return out;
}

// ---------------------------------------------------------------------------
// Round trip: every opcode x a grid of field values. Whatever disassemble prints
// (a form, or "invalid 0x..."), assemble must give back exactly the same slots.

TEST(Assembler, DisassemblyOfEveryEncodingRoundTrips) {
    // Field values that matter somewhere: registers in and out of range, the
    // pseudo kinds of LDDW and CALL in src, movsx widths and sdiv in offset,
    // byte-swap widths and atomic operations in imm, and the extremes.
    const std::vector<uint8_t> dsts{0, 10, 11};
    const std::vector<uint8_t> few_srcs{0, 3, 10, 15}, all_srcs{0, 1, 2, 3, 4, 5, 6, 7, 10, 15};
    const std::vector<int16_t> offsets{0, 1, 8, 16, 32, -8, -32768, 32767};
    const std::vector<int32_t> few_imms{0, 1, -1, 16, 32, 64, 255, 0x100, INT32_MIN, INT32_MAX};
    const std::vector<int32_t> atomic_imms{0x00, 0x01, 0x02, 0x40, 0x41, 0x50, 0x51, 0xa0,
                                           0xa1, 0xe1, 0xf1, 0xe0, 0x100, 0x110, 0x111, -1};
    const std::vector<int32_t> next_imms{0, 8, -1};
    std::set<const syntax::Form*> forms_seen;
    size_t valid = 0, invalid = 0;
    for (int opcode = 0; opcode < 256; ++opcode) {
        bool is_atomic = (opcode & 0xe7) == 0xc3;
        bool has_pseudo_src = opcode == 0x18 || opcode == 0x85;
        for (uint8_t dst : dsts)
            for (uint8_t src : has_pseudo_src ? all_srcs : few_srcs)
                for (int16_t offset : offsets)
                    for (int32_t imm : is_atomic ? atomic_imms : few_imms) {
                        Instruction insn = make(uint8_t(opcode), dst, src, offset, imm);
                        for (int32_t next_imm : next_imms) {
                            std::vector<Instruction> slots{insn};
                            if (opcode == 0x18) slots.push_back(make(0, 0, 0, 0, next_imm));
                            const Instruction* next = slots.size() > 1 ? &slots[1] : nullptr;
                            std::string text = disassemble(insn, next, {});
                            const syntax::Form* form = syntax::find_form(insn, next);
                            if (form != nullptr) {
                                forms_seen.insert(form);
                                ++valid;
                            } else {
                                ++invalid;
                            }
                            EXPECT_EQ(form == nullptr, text.starts_with("invalid ")) << text;
                            auto result = assemble(text);
                            ASSERT_TRUE(result) << text << ": " << result.error().to_string();
                            // An unknown LDDW prints its two slots on two lines; here only the first.
                            std::vector<Instruction> expected(slots.begin(), slots.begin() + long(form && form->wide ? 2 : 1));
                            ASSERT_EQ(hex_slots(result->instructions), hex_slots(expected)) << text;
                            if (opcode != 0x18) break;  // next_imm only matters to LDDW
                        }
                    }
    }
    // Every printable form of the table was reached by the grid, so each is covered by the round trip.
    size_t printable = std::count_if(syntax::forms().begin(), syntax::forms().end(),
                                     [](const syntax::Form& form) { return !form.read_only; });
    EXPECT_EQ(forms_seen.size(), printable);
    std::printf("round trip: %zu valid and %zu invalid encodings, %zu forms\n", valid, invalid, forms_seen.size());
}

TEST(Assembler, RandomSlotsRoundTrip) {
    // Random 64-bit words (about half with a plausible opcode class and registers) as
    // programs of two slots, so LDDW pairs occur: disassemble_program, assemble, compare.
    std::mt19937_64 random(20261125);
    size_t programs = 0;
    for (int round = 0; round < 20000; ++round) {
        Program program;
        for (int i = 0; i < 2; ++i) {
            Instruction slot = decode_slot(random());
            if (round % 2 == 0) {
                slot.dst %= 11;
                slot.src %= 8;
                if (random() % 4 == 0) slot.imm %= 65;
                if (random() % 4 == 0) slot.offset %= 33;
            }
            if (i == 0 && round % 8 == 0) slot.opcode = 0x18;
            if (i == 1 && round % 8 == 0) slot = {.imm = slot.imm};
            program.instructions.push_back(slot);
        }
        std::string text = disassemble_program(program, nullptr);
        auto result = assemble(text);
        ASSERT_TRUE(result) << text << result.error().to_string();
        ASSERT_EQ(result->instructions, program.instructions) << text;
        ++programs;
    }
    EXPECT_EQ(programs, 20000u);
}

TEST(Assembler, GarbageNeverCrashes) {
    // Token soup from both dialects and stray bytes: every input gives a program or an error.
    const std::vector<std::string> pieces{
        "r1",  "w2",  "%r3", "=",    "+=",   "s>>=", "(",     ")",  "*",    "[",     "]",    "u32",  "s8",
        "+",   "-",   "0x",  "0xffffffffffffffffff", "12",   "-9", ":",    ",",     "goto", "if",   "call", "lock",
        "ll",  "map", "pc",  "exit", "ldxw", "lddw", "mov32", "ja", "local", "fetch", "add",  "#",    ";",
        "\n", "skb", "invalid", "label", "label:", "kfunc", "func", "bswap", "be16", "movsx", "\x01", "\xff"};
    std::mt19937 random(7);
    size_t errors = 0, programs = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string text;
        int count = 1 + int(random() % 12);
        for (int i = 0; i < count; ++i) text += pieces[random() % pieces.size()] + (random() % 3 ? " " : "");
        auto result = assemble(text);
        result ? ++programs : ++errors;
    }
    EXPECT_GT(errors, 0u);
    std::printf("garbage: %zu errors, %zu programs (of 20000)\n", errors, programs);
}

TEST(Assembler, FormsAreUnambiguous) {
    // Two forms with one opcode must differ in a fixed field, or the earlier must
    // be a special case of the later (it fixes a field the later binds), since
    // the disassembler takes the first form that fits.
    const auto& forms = syntax::forms();
    for (size_t i = 0; i < forms.size(); ++i)
        for (size_t j = i + 1; j < forms.size(); ++j) {
            const auto& a = forms[i];
            const auto& b = forms[j];
            if (a.opcode != b.opcode || a.read_only || b.read_only) continue;
            bool differ = (!a.bound.src && !b.bound.src && a.src != b.src) ||
                          (!a.bound.offset && !b.bound.offset && a.offset != b.offset) ||
                          (!a.bound.imm && !b.bound.imm && a.imm != b.imm);
            bool a_special = (!a.bound.src && b.bound.src) || (!a.bound.offset && b.bound.offset) ||
                             (!a.bound.imm && b.bound.imm) || (!a.bound.dst && b.bound.dst);
            bool b_special = (!b.bound.src && a.bound.src) || (!b.bound.offset && a.bound.offset) ||
                             (!b.bound.imm && a.bound.imm) || (!b.bound.dst && a.bound.dst);
            EXPECT_TRUE(differ || (a_special && !b_special)) << a.text << " vs " << b.text;
        }
}

// ---------------------------------------------------------------------------
// Conventional syntax

TEST(Assembler, ConventionalSpellingsFromKernelLogsAndObjdump) {
    EXPECT_EQ(assembled("if r1 > 0x10 goto pc+3"), std::vector{make(0x25, 1, 0, 3, 0x10)});
    EXPECT_EQ(assembled("if r1 > 16 goto +3 <LBB0_4>"), std::vector{make(0x25, 1, 0, 3, 0x10)});
    EXPECT_EQ(assembled("goto pc-1"), std::vector{make(0x05, 0, 0, -1)});
    EXPECT_EQ(assembled("r0 = *(u32 *)(r1 +4)"), std::vector{make(0x61, 0, 1, 4)});
    EXPECT_EQ(assembled("*(u64 *)(r10 -8) = r1"), std::vector{make(0x7b, 10, 1, -8)});
    EXPECT_EQ(assembled("r0 = *(u8 *)(r1)"), std::vector{make(0x71, 0, 1, 0)});
    EXPECT_EQ(assembled("call bpf_map_lookup_elem#1"), std::vector{make(0x85, 0, 0, 0, 1)});
    EXPECT_EQ(assembled("call map_lookup_elem"), std::vector{make(0x85, 0, 0, 0, 1)});
    EXPECT_EQ(assembled("call 6"), std::vector{make(0x85, 0, 0, 0, 6)});
    EXPECT_EQ(assembled("r1 = 0xffffffff"), std::vector{make(0xb7, 1, 0, 0, -1)});
    EXPECT_EQ(assembled("r1 = -0x10"), std::vector{make(0xb7, 1, 0, 0, -16)});
    EXPECT_EQ(assembled("r1 = -2147483648"), std::vector{make(0xb7, 1, 0, 0, INT32_MIN)});
    EXPECT_EQ(assembled("r0 = -1 ll"), (std::vector{make(0x18, 0, 0, 0, -1), make(0, 0, 0, 0, -1)}));
    EXPECT_EQ(assembled("r0 = 18446744073709551615 ll"), (std::vector{make(0x18, 0, 0, 0, -1), make(0, 0, 0, 0, -1)}));
    EXPECT_EQ(assembled("  12: r0 = 1   ; a comment"), std::vector{make(0xb7, 0, 0, 0, 1)});
    EXPECT_EQ(assembled("12: (bf) r1 = r6                      ; R1_w=ctx() R6_w=ctx()"), std::vector{make(0xbf, 1, 6)});
    EXPECT_EQ(assembled("3: (85) call bpf_map_lookup_elem#1"), std::vector{make(0x85, 0, 0, 0, 1)});
    EXPECT_EQ(assembled("5: (18) r1 = 0xffff888003c1e000"),
              (std::vector{make(0x18, 1, 0, 0, int32_t(0x03c1e000)), make(0, 0, 0, 0, int32_t(0xffff8880))}));
    EXPECT_EQ(assembled("(18) r1 = 0x5 ll"), (std::vector{make(0x18, 1, 0, 0, 5), make(0)}));
    // The kernel log's atomics.
    EXPECT_EQ(assembled("(c3) lock *(u32 *)(r1 +0) += r2"), std::vector{make(0xc3, 1, 2, 0, 0x00)});
    EXPECT_EQ(assembled("(db) r2 = atomic64_fetch_add((u64 *)(r1 +8), r2)"), std::vector{make(0xdb, 1, 2, 8, 0x01)});
    EXPECT_EQ(assembled("(c3) r2 = atomic_fetch_xor((u32 *)(r1 +0), r2)"), std::vector{make(0xc3, 1, 2, 0, 0xa1)});
    EXPECT_EQ(assembled("(db) r2 = atomic64_xchg((u64 *)(r10 -8), r2)"), std::vector{make(0xdb, 10, 2, -8, 0xe1)});
    EXPECT_EQ(assembled("(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r3)"), std::vector{make(0xc3, 1, 3, 0, 0xf1)});
    EXPECT_EQ(assembled("(d3) r0 = load_acquire((u8 *)(r1 +0))"), std::vector{make(0xd3, 0, 1, 0, 0x100)});
    EXPECT_EQ(assembled("(c3) store_release((u32 *)(r1 +0), r2)"), std::vector{make(0xc3, 1, 2, 0, 0x110)});
    EXPECT_EQ(assembled("# a comment line\nexit // another"), std::vector{make(0x95)});
    EXPECT_EQ(assembled("invalid 0x00000000000000ff"), std::vector{make(0xff)});
}

TEST(Assembler, LabelsAsJumpAndCallTargets) {
    auto result = assemble(
        "main:\n"
        "    r0 = 0\n"
        "again: if r0 > 3 goto done\n"
        "    r0 += 1\n"
        "    call sub\n"
        "    goto again\n"
        "done:\n"
        "    r1 = func[sub] ll\n"
        "    exit\n"
        "sub:\n"
        "    gotol sub_end\n"
        "sub_end: exit\n");
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_EQ(result->instructions,
              (std::vector{make(0xb7), make(0x25, 0, 0, 3, 3), make(0x07, 0, 0, 0, 1), make(0x85, 0, 1, 0, 4),
                           make(0x05, 0, 0, -4), make(0x18, 1, 4, 0, 2), make(0), make(0x95), make(0x06, 0, 0, 0, 0),
                           make(0x95)}));
    EXPECT_EQ(result->labels.at("main"), 0u);
    EXPECT_EQ(result->labels.at("again"), 1u);
    EXPECT_EQ(result->labels.at("done"), 5u);
    EXPECT_EQ(result->labels.at("sub"), 8u);
}

TEST(Assembler, ProgramsWithFunctionsFromCallTargets) {
    auto program = assemble_program(
        "main:\n"
        "    call sub\n"
        "    r1 = func[callback] ll\n"
        "    call pc+3\n"            // an unnamed function at 7
        "    exit\n"
        "sub: r0 = 1\n"
        "    exit\n"
        "    exit\n"
        "callback: exit\n");
    ASSERT_TRUE(program) << program.error().to_string();
    EXPECT_EQ(program->name, "main");
    ASSERT_EQ(program->functions.size(), 4u);
    auto expect_function = [&](size_t i, std::string_view name, uint32_t start, uint32_t end) {
        EXPECT_EQ(program->functions[i].name, name);
        EXPECT_EQ(program->functions[i].start, start) << name;
        EXPECT_EQ(program->functions[i].end, end) << name;
    };
    expect_function(0, "main", 0, 5);
    expect_function(1, "sub", 5, 7);
    expect_function(2, "func_7", 7, 8);
    expect_function(3, "callback", 8, 9);

    // And its disassembly names them again, so it reads back to the same program.
    std::string text = disassemble_program(*program, nullptr);
    EXPECT_NE(text.find("call sub"), std::string::npos) << text;
    EXPECT_NE(text.find("r1 = func[callback] ll"), std::string::npos) << text;
    auto again = assemble_program(text);
    ASSERT_TRUE(again) << again.error().to_string();
    EXPECT_EQ(again->instructions, program->instructions);
    EXPECT_EQ(again->functions.size(), 4u);

    auto single = assemble_program("r0 = 0\nexit");
    ASSERT_TRUE(single);
    ASSERT_EQ(single->functions.size(), 1u);
    EXPECT_EQ(single->functions[0].name, "func_0");
    EXPECT_EQ(single->functions[0].end, 2u);
}

TEST(Assembler, ALabelNamedLikeAHelperIsALocalCall) {
    auto slots = assembled("call bpf_ktime_get_ns\nexit\nbpf_ktime_get_ns:\nexit");
    // "call name" prefers the label: the disassembler never prints a function
    // name that collides with a helper, so its output is never ambiguous.
    EXPECT_EQ(slots[0], make(0x85, 0, 1, 0, 1));
}

TEST(Assembler, MapsByNameThroughTheResolver) {
    std::string text = "r1 = map[counters] ll\nr2 = map_value[.rodata] + 4 ll\nr3 = map[2] ll\nr1 = map[counters] ll";
    AssemblyOptions options;
    options.map_resolver = [](std::string_view name) -> std::optional<uint32_t> {
        if (name == "counters") return 7;
        if (name == ".rodata") return 1;
        return std::nullopt;
    };
    auto result = assemble(text, options);
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_EQ(result->instructions,
              (std::vector{make(0x18, 1, 1, 0, 7), make(0), make(0x18, 2, 2, 0, 1), make(0, 0, 0, 0, 4),
                           make(0x18, 3, 1, 0, 2), make(0), make(0x18, 1, 1, 0, 7), make(0)}));
    EXPECT_EQ(result->map_references.at("counters"), (std::vector<size_t>{0, 6}));
    EXPECT_EQ(result->map_references.at(".rodata"), (std::vector<size_t>{2}));
    EXPECT_EQ(result->map_references.size(), 2u);

    // Without a resolver the reference is recorded and imm stays 0.
    auto unresolved = assemble("r1 = map[counters] ll");
    ASSERT_TRUE(unresolved);
    EXPECT_EQ(unresolved->instructions[0].imm, 0);
    EXPECT_EQ(unresolved->map_references.at("counters"), (std::vector<size_t>{0}));

    auto unknown = assemble("r0 = 1\nr1 = map[nope] ll", options);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().line, 2u);
    EXPECT_NE(unknown.error().message.find("nope"), std::string::npos);
}

TEST(Assembler, ErrorsNameTheLine) {
    struct Bad {
        std::string_view text;
        size_t line;
        std::string_view message_part;
    };
    const Bad bad[] = {
        {"r0 = 1\nr0 += \nexit", 2, "not an instruction (incomplete after '+=')"},
        {"r11 = 1", 1, "nothing starts with 'r11'"},
        {"w1 += r2", 1, "cannot read 'r2'"},
        {"r1 = -r2", 1, "cannot read 'r2'"},  // neg names one register twice
        {"r1 = 0x100000000", 1, "incomplete after '0x100000000'"},  // only an LDDW ("... ll") holds it
        {"r0 = *(u32 *)(r1 + 40000)", 1, "cannot read '+'"},
        {"if r1 >> 3 goto +1", 1, "cannot read '>'"},
        {"goto nowhere", 1, "undefined label 'nowhere'"},
        {"a:\na:\nexit", 2, "declared twice"},
        {"call no_such_helper", 1, "not an instruction"},
        {"mov %r0, %r16", 1, "register"},
        {"mov %r0", 1, "operands"},
        {"ldxw %r0, %r1", 1, "address"},
        {"frobnicate %r0, 1", 1, "unknown mnemonic"},
        {"lock nand [%r1], %r2", 1, "unknown atomic"},
        {"invalid 12x", 1, "invalid"},
    };
    for (const auto& b : bad) {
        auto result = assemble(b.text);
        ASSERT_FALSE(result) << b.text;
        EXPECT_EQ(result.error().line, b.line) << b.text;
        EXPECT_NE(result.error().message.find(b.message_part), std::string::npos)
            << b.text << " -> " << result.error().message;
    }
}

TEST(Assembler, FarLabelsNeedGotol) {
    std::string body;
    for (int i = 0; i < 40000; ++i) body += "r0 = 0\n";
    body += "far: exit\n";
    auto near = assemble("goto far\n" + body);
    ASSERT_FALSE(near);
    EXPECT_EQ(near.error().line, 1u);
    EXPECT_NE(near.error().message.find("gotol"), std::string::npos) << near.error().message;
    auto far = assemble("gotol far\n" + body);
    ASSERT_TRUE(far) << far.error().to_string();
    EXPECT_EQ(far->instructions[0], make(0x06, 0, 0, 0, 40000));
}

// ---------------------------------------------------------------------------
// uBPF / bpf_conformance dialect: expected encodings written by hand from RFC 9669.

TEST(Assembler, UbpfDialect) {
    struct Case {
        std::string_view text;
        std::vector<Instruction> slots;
    };
    const Case cases[] = {
        {"mov %r0, %r2", {make(0xbf, 0, 2)}},
        {"mov %r11, %r15", {make(0xbf, 11, 15)}},  // fake registers for negative tests
        {"mov32 %r0, 1", {make(0xb4, 0, 0, 0, 1)}},
        {"mov32 %r1, 0x87654321", {make(0xb4, 1, 0, 0, int32_t(0x87654321u))}},
        {"add32 %r0, -3", {make(0x04, 0, 0, 0, -3)}},
        {"mov %r0, -0x10", {make(0xb7, 0, 0, 0, -16)}},
        {"mov %r0, 0xffffffff", {make(0xb7, 0, 0, 0, -1)}},
        {"add %r0, %r1", {make(0x0f, 0, 1)}},
        {"sdiv %r0, 3", {make(0x37, 0, 0, 1, 3)}},
        {"smod32 %r0, %r1", {make(0x9c, 0, 1, 1)}},
        {"arsh32 %r0, 1", {make(0xc4, 0, 0, 0, 1)}},
        {"neg %r0", {make(0x87, 0)}},
        {"neg32 %r3", {make(0x84, 3)}},
        {"ldxw %r0, [%r1+4]", {make(0x61, 0, 1, 4)}},
        {"ldxdw %r0, [%r1]", {make(0x79, 0, 1, 0)}},
        {"ldxh %r2, [%r10-2]", {make(0x69, 2, 10, -2)}},
        {"ldxb %r2, [%r1+0x10]", {make(0x71, 2, 1, 16)}},
        {"ldxsb %r0, [%r1+1]", {make(0x91, 0, 1, 1)}},
        {"ldxsh %r0, [%r1]", {make(0x89, 0, 1, 0)}},
        {"ldxsw %r0, [%r1]", {make(0x81, 0, 1, 0)}},
        {"stxdw [%r10-8], %r1", {make(0x7b, 10, 1, -8)}},
        {"stxb [%r0+9], %r1", {make(0x73, 0, 1, 9)}},
        {"stw [%r1+2], 0x11", {make(0x62, 1, 0, 2, 0x11)}},
        {"sth [%r0], 0x1234", {make(0x6a, 0, 0, 0, 0x1234)}},
        {"stdw [%r10-16], 0xab", {make(0x7a, 10, 0, -16, 0xab)}},
        {"lddw %r0, 0x1122334455667788", {make(0x18, 0, 0, 0, 0x55667788), make(0, 0, 0, 0, 0x11223344)}},
        {"lddw %r0, 2147483648", {make(0x18, 0, 0, 0, INT32_MIN), make(0)}},
        {"lddw %r1, -1", {make(0x18, 1, 0, 0, -1), make(0, 0, 0, 0, -1)}},
        {"jeq %r1, 0x10, +2", {make(0x15, 1, 0, 2, 0x10)}},
        {"jne %r1, %r2, -3", {make(0x5d, 1, 2, -3)}},
        {"jsgt32 %r1, -1, +1", {make(0x66, 1, 0, 1, -1)}},
        {"jset %r1, 0x80, +0", {make(0x45, 1, 0, 0, 0x80)}},
        {"ja +2", {make(0x05, 0, 0, 2)}},
        {"ja32 +70000", {make(0x06, 0, 0, 0, 70000)}},
        {"call 5", {make(0x85, 0, 0, 0, 5)}},
        {"call %r2", {make(0x8d, 2)}},
        {"call helper 7", {make(0x85, 0, 0, 0, 7)}},
        {"call runtime 3", {make(0x85, 0, 2, 0, 3)}},
        {"exit", {make(0x95)}},
        {"be16 %r0", {make(0xdc, 0, 0, 0, 16)}},
        {"le32 %r0", {make(0xd4, 0, 0, 0, 32)}},
        {"be64 %r3", {make(0xdc, 3, 0, 0, 64)}},
        {"bswap16 %r0", {make(0xd7, 0, 0, 0, 16)}},
        {"swap64 %r0", {make(0xd7, 0, 0, 0, 64)}},
        {"movsx832 %r2, %r1", {make(0xbc, 2, 1, 8)}},
        {"movsx1632 %r0, %r1", {make(0xbc, 0, 1, 16)}},
        {"movsx864 %r6, %r5", {make(0xbf, 6, 5, 8)}},
        {"movsx1664 %r8, %r7", {make(0xbf, 8, 7, 16)}},
        {"movsx3264 %r0, %r9", {make(0xbf, 0, 9, 32)}},
        {"lock add [%r1+0], %r2", {make(0xdb, 1, 2, 0, 0x00)}},
        {"lock add32 [%r10-4], %r1", {make(0xc3, 10, 1, -4, 0x00)}},
        {"lock or [%r10-8], %r1", {make(0xdb, 10, 1, -8, 0x40)}},
        {"lock and32 [%r10-8], %r1", {make(0xc3, 10, 1, -8, 0x50)}},
        {"lock xor [%r10-8], %r1", {make(0xdb, 10, 1, -8, 0xa0)}},
        {"lock fetch add [%r10-8], %r1", {make(0xdb, 10, 1, -8, 0x01)}},
        {"lock fetch xor32 [%r10-4], %r3", {make(0xc3, 10, 3, -4, 0xa1)}},
        {"lock fetch or32 [%r10-4], %r3", {make(0xc3, 10, 3, -4, 0x41)}},
        {"lock fetch and [%r10-8], %r3", {make(0xdb, 10, 3, -8, 0x51)}},
        {"lock xchg [%r10-8], %r1", {make(0xdb, 10, 1, -8, 0xe1)}},
        {"lock xchg32 [%r10-8], %r1", {make(0xc3, 10, 1, -8, 0xe1)}},
        {"lock cmpxchg [%r10-8], %r1 # compare with r0", {make(0xdb, 10, 1, -8, 0xf1)}},
        {"lock cmpxchg32 [%r10-8], %r1", {make(0xc3, 10, 1, -8, 0xf1)}},
        {"ldabsh 12", {make(0x28, 0, 0, 0, 12)}},
        {"ldindb %r1, 4", {make(0x50, 0, 1, 0, 4)}},
    };
    for (const auto& c : cases) EXPECT_EQ(hex_slots(assembled(c.text)), hex_slots(c.slots)) << c.text;
}

TEST(Assembler, UbpfLabelsAndTheImplicitExitLabel) {
    auto slots = assembled(
        "mov %r0, 0\n"
        "jne %r0, 0, exit\n"   // bpf_conformance: "exit" is the first exit instruction
        "call local func1\n"
        "ja32 L1\n"
        "L1:\n"
        "exit\n"
        "func1:\n"
        "mov %r0, 1\n"
        "exit\n");
    EXPECT_EQ(slots, (std::vector{make(0xb7), make(0x55, 0, 0, 2, 0), make(0x85, 0, 1, 0, 2), make(0x06),
                                  make(0x95), make(0xb7, 0, 0, 0, 1), make(0x95)}));
}

TEST(Assembler, DialectsMixLineByLine) {
    auto slots = assembled("mov %r1, 2\nr1 += 3\nstxdw [%r10-8], %r1\nr0 = *(u64 *)(r10 - 8)\nexit");
    EXPECT_EQ(slots, (std::vector{make(0xb7, 1, 0, 0, 2), make(0x07, 1, 0, 0, 3), make(0x7b, 10, 1, -8),
                                  make(0x79, 0, 10, -8), make(0x95)}));
}

// ---------------------------------------------------------------------------
// The conformance suite's "-- asm" sections (and "-- raw" where present).

struct ConformanceFile {
    std::string asm_text;
    std::vector<uint64_t> raw;
};

ConformanceFile read_conformance_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    ConformanceFile file;
    std::string line, section;
    while (std::getline(in, line)) {
        if (line.starts_with("-- ")) {
            section = line.substr(3);
            continue;
        }
        if (section == "asm") file.asm_text += line + "\n";
        if (section == "raw" && line.starts_with("0x")) file.raw.push_back(std::stoull(line, nullptr, 16));
    }
    return file;
}

TEST(Assembler, EveryConformanceProgramAssembles) {
    std::filesystem::path directory = std::filesystem::path(BPFVET_SHARED_DIR) / "conformance";
    if (!std::filesystem::is_directory(directory)) GTEST_SKIP() << "no conformance data at " << directory;
    size_t files = 0, with_raw = 0, slots = 0, round_trips = 0;
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        if (entry.path().extension() != ".data") continue;
        ConformanceFile file = read_conformance_file(entry.path());
        if (file.asm_text.empty()) continue;
        ++files;
        auto result = assemble(file.asm_text);
        ASSERT_TRUE(result) << entry.path().filename() << ": " << result.error().to_string();
        slots += result->instructions.size();
        if (!file.raw.empty()) {
            ++with_raw;
            std::vector<uint64_t> encoded;
            for (const auto& slot : result->instructions) encoded.push_back(encode_slot(slot));
            EXPECT_EQ(encoded, file.raw) << entry.path().filename();
        }
        // And the conventional text of the result assembles back to the same slots.
        Program program;
        program.instructions = result->instructions;
        auto again = assemble(disassemble_program(program, nullptr));
        ASSERT_TRUE(again) << entry.path().filename() << ": " << again.error().to_string();
        EXPECT_EQ(again->instructions, result->instructions) << entry.path().filename();
        round_trips += again->instructions == result->instructions;
    }
    EXPECT_GE(files, 300u);
    EXPECT_GE(with_raw, 1u);
    std::printf("conformance: %zu programs (%zu slots) assembled, %zu with -- raw matched, %zu round-tripped\n", files,
                slots, with_raw, round_trips);
}

}  // namespace
}  // namespace bpfvet::ir
