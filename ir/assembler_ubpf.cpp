// The uBPF / bpf_conformance assembly dialect, one line at a time:
//
//   <mnemonic> <operand>, <operand>, ...
//
// operands: %rN | [%rN] | [%rN+off] | [%rN-off] | number | +N | -N | label.
// Mnemonics come from the same tables as the conventional syntax
// (syntax::alu_operations, jump_conditions, memory_widths, atomic_operations,
// byte_swaps), with "32" appended for the 32-bit ALU and JMP32 classes.
#include "ir/assembler_lines.hpp"
#include "ir/helper_names.hpp"

#include <fmt/format.h>

namespace bpfvet::ir::assembly {
namespace {

using syntax::TokenKind;

using Operands = std::vector<std::span<const Token>>;

// "%r1, [%r2+4], 5" -> ["%r1", "[%r2+4]", "5"] (as token spans).
Operands split_operands(std::span<const Token> tokens) {
    Operands operands;
    size_t start = 0;
    for (size_t i = 0; i <= tokens.size(); ++i) {
        if (i == tokens.size() || tokens[i].text == ",") {
            if (i > start || i < tokens.size()) operands.push_back(tokens.subspan(start, i - start));
            start = i + 1;
        }
    }
    return operands;
}

std::unexpected<std::string> fail(std::string message) { return std::unexpected(std::move(message)); }

// "%r3" -> 3. Like bpf_conformance, %r11..%r15 are accepted too: they fit the
// 4-bit field and let negative tests encode registers the ISA does not have.
std::expected<uint8_t, std::string> read_register(std::span<const Token> operand) {
    if (operand.size() == 2 && operand[0].text == "%") {
        if (auto reg = syntax::parse_register(operand[1].text, 'r')) return *reg;
        std::string_view name = operand[1].text;
        if (name.size() == 3 && name[0] == 'r' && name[1] == '1' && name[2] >= '1' && name[2] <= '5')
            return uint8_t(10 + (name[2] - '0'));
    }
    return fail("expected a register %r0..%r10 (or %r11..%r15)");
}

struct Address {
    uint8_t reg = 0;
    int16_t offset = 0;
};

// "[%r1]", "[%r1+4]", "[%r10-8]", "[%r1+0x10]".
std::expected<Address, std::string> read_address(std::span<const Token> operand) {
    if (operand.size() < 4 || operand.front().text != "[" || operand.back().text != "]")
        return fail("expected an address [%rN+offset]");
    Address address;
    auto reg = read_register(operand.subspan(1, 2));
    if (!reg) return std::unexpected(reg.error());
    address.reg = *reg;
    auto rest = operand.subspan(3, operand.size() - 4);
    if (rest.empty()) return address;
    if (rest.front().text != "+" && rest.front().text != "-") return fail("expected '+' or '-' after the register");
    size_t position = 0;
    auto number = read_number(rest, position);
    if (!number || position != rest.size()) return fail("expected a number as address offset");
    auto offset = to_offset16(*number);
    if (!offset) return fail("address offset out of 16-bit range");
    address.offset = *offset;
    return address;
}

std::expected<int32_t, std::string> read_imm(std::span<const Token> operand) {
    size_t position = 0;
    auto number = read_number(operand, position);
    if (!number || position != operand.size()) return fail("expected a number");
    auto value = to_imm32(*number);
    if (!value) return fail("immediate out of 32-bit range");
    return *value;
}

bool is_register(std::span<const Token> operand) { return !operand.empty() && operand[0].text == "%"; }

// A jump target: "+2", "-3", or a label; the label is recorded on `line`.
std::expected<int64_t, std::string> read_target(std::span<const Token> operand, Line& line, LabelUse::Field field) {
    if (operand.size() == 1 && operand[0].kind == TokenKind::Identifier) {
        line.label_uses.push_back({0, std::string(operand[0].text), field});
        return 0;
    }
    size_t position = 0;
    auto number = read_number(operand, position);
    if (!number || position != operand.size()) return fail("expected a jump target (+N, -N or a label)");
    if (number->magnitude > (uint64_t(1) << 31)) return fail("jump target out of range");
    return number->negative ? -int64_t(number->magnitude) : int64_t(number->magnitude);
}

LineResult single(Instruction insn) {
    Line line;
    line.slots.push_back(insn);
    return line;
}

std::expected<void, std::string> expect_count(const Operands& operands, size_t count, std::string_view mnemonic) {
    if (operands.size() != count)
        return fail(fmt::format("'{}' takes {} operand{}", mnemonic, count, count == 1 ? "" : "s"));
    return {};
}

// "add32" -> ("add", true); "add" -> ("add", false).
std::pair<std::string_view, bool> split_width_suffix(std::string_view mnemonic) {
    if (mnemonic.size() > 2 && mnemonic.ends_with("32")) return {mnemonic.substr(0, mnemonic.size() - 2), true};
    return {mnemonic, false};
}

const syntax::MemoryWidth* width_named(std::string_view suffix) {
    for (const auto& width : syntax::memory_widths)
        if (width.suffix == suffix) return &width;
    return nullptr;
}

uint8_t code(auto... parts) { return uint8_t((uint8_t(parts) | ...)); }

LineResult assemble_alu(std::string_view mnemonic, const Operands& operands) {
    auto [name, is32] = split_width_suffix(mnemonic);
    auto cls = is32 ? InstructionClass::Alu : InstructionClass::Alu64;
    if (name == "neg") {
        if (auto ok = expect_count(operands, 1, mnemonic); !ok) return std::unexpected(ok.error());
        auto dst = read_register(operands[0]);
        if (!dst) return std::unexpected(dst.error());
        return single({.opcode = code(cls, AluOp::Neg), .dst = *dst});
    }
    for (const auto& operation : syntax::alu_operations) {
        if (operation.mnemonic != name) continue;
        if (auto ok = expect_count(operands, 2, mnemonic); !ok) return std::unexpected(ok.error());
        auto dst = read_register(operands[0]);
        if (!dst) return std::unexpected(dst.error());
        Instruction insn{.opcode = code(cls, operation.op), .dst = *dst, .offset = operation.offset};
        if (is_register(operands[1])) {
            auto src = read_register(operands[1]);
            if (!src) return std::unexpected(src.error());
            insn.opcode |= uint8_t(Source::Reg);
            insn.src = *src;
        } else {
            auto imm = read_imm(operands[1]);
            if (!imm) return std::unexpected(imm.error());
            insn.imm = *imm;
        }
        return single(insn);
    }
    return fail("unknown mnemonic");
}

LineResult assemble_jump(std::string_view mnemonic, const Operands& operands) {
    auto [name, is32] = split_width_suffix(mnemonic);
    for (const auto& condition : syntax::jump_conditions) {
        if (condition.mnemonic != name) continue;
        if (auto ok = expect_count(operands, 3, mnemonic); !ok) return std::unexpected(ok.error());
        Line line;
        auto dst = read_register(operands[0]);
        if (!dst) return std::unexpected(dst.error());
        Instruction insn{.opcode = code(is32 ? InstructionClass::Jmp32 : InstructionClass::Jmp, condition.op),
                         .dst = *dst};
        if (is_register(operands[1])) {
            auto src = read_register(operands[1]);
            if (!src) return std::unexpected(src.error());
            insn.opcode |= uint8_t(Source::Reg);
            insn.src = *src;
        } else {
            auto imm = read_imm(operands[1]);
            if (!imm) return std::unexpected(imm.error());
            insn.imm = *imm;
        }
        auto target = read_target(operands[2], line, LabelUse::Field::Offset);
        if (!target) return std::unexpected(target.error());
        if (*target < -32768 || *target > 32767) return fail("jump offset out of 16-bit range");
        insn.offset = int16_t(*target);
        line.slots.push_back(insn);
        return line;
    }
    return fail("unknown mnemonic");
}

// ldx{b,h,w,dw}, ldxs{b,h,w}, st{b,h,w,dw}, stx{b,h,w,dw}, ldabs{b,h,w}, ldind{b,h,w}.
std::optional<LineResult> assemble_memory(std::string_view mnemonic, const Operands& operands) {
    auto with_prefix = [&](std::string_view prefix) -> const syntax::MemoryWidth* {
        return mnemonic.starts_with(prefix) ? width_named(mnemonic.substr(prefix.size())) : nullptr;
    };
    if (const auto* width = with_prefix("ldx"); width != nullptr || with_prefix("ldxs") != nullptr) {
        bool sign_extend = width == nullptr;
        if (sign_extend) width = with_prefix("ldxs");
        if (sign_extend && width->size == MemSize::DW) return fail("there is no sign-extending 64-bit load");
        if (auto ok = expect_count(operands, 2, mnemonic); !ok) return std::unexpected(ok.error());
        auto dst = read_register(operands[0]);
        if (!dst) return std::unexpected(dst.error());
        auto address = read_address(operands[1]);
        if (!address) return std::unexpected(address.error());
        return single({.opcode = code(InstructionClass::Ldx, sign_extend ? MemMode::MemSx : MemMode::Mem, width->size),
                       .dst = *dst, .src = address->reg, .offset = address->offset});
    }
    if (const auto* width = with_prefix("stx")) {
        if (auto ok = expect_count(operands, 2, mnemonic); !ok) return std::unexpected(ok.error());
        auto address = read_address(operands[0]);
        if (!address) return std::unexpected(address.error());
        auto src = read_register(operands[1]);
        if (!src) return std::unexpected(src.error());
        return single({.opcode = code(InstructionClass::Stx, MemMode::Mem, width->size), .dst = address->reg,
                       .src = *src, .offset = address->offset});
    }
    if (const auto* width = with_prefix("st")) {
        if (auto ok = expect_count(operands, 2, mnemonic); !ok) return std::unexpected(ok.error());
        auto address = read_address(operands[0]);
        if (!address) return std::unexpected(address.error());
        auto imm = read_imm(operands[1]);
        if (!imm) return std::unexpected(imm.error());
        return single({.opcode = code(InstructionClass::St, MemMode::Mem, width->size), .dst = address->reg,
                       .offset = address->offset, .imm = *imm});
    }
    if (const auto* width = with_prefix("ldabs")) {
        if (auto ok = expect_count(operands, 1, mnemonic); !ok) return std::unexpected(ok.error());
        auto imm = read_imm(operands[0]);
        if (!imm) return std::unexpected(imm.error());
        return single({.opcode = code(InstructionClass::Ld, MemMode::Abs, width->size), .imm = *imm});
    }
    if (const auto* width = with_prefix("ldind")) {
        if (auto ok = expect_count(operands, 2, mnemonic); !ok) return std::unexpected(ok.error());
        auto src = read_register(operands[0]);
        if (!src) return std::unexpected(src.error());
        auto imm = read_imm(operands[1]);
        if (!imm) return std::unexpected(imm.error());
        return single({.opcode = code(InstructionClass::Ld, MemMode::Ind, width->size), .src = *src, .imm = *imm});
    }
    return std::nullopt;
}

// "lock [fetch] <op>[32] [%rD+off], %rS" (tokens after "lock").
LineResult assemble_atomic(std::span<const Token> tokens) {
    bool fetch = !tokens.empty() && tokens[0].text == "fetch";
    if (fetch) tokens = tokens.subspan(1);
    if (tokens.empty() || tokens[0].kind != TokenKind::Identifier) return fail("expected an atomic operation after 'lock'");
    auto [name, is32] = split_width_suffix(tokens[0].text);
    std::string full = fetch ? "fetch " + std::string(name) : std::string(name);
    const syntax::AtomicOperation* found = nullptr;
    for (const auto& operation : syntax::atomic_operations)
        if (operation.mnemonic == full) found = &operation;
    if (found == nullptr) return fail(fmt::format("unknown atomic operation '{}'", full));
    auto operands = split_operands(tokens.subspan(1));
    if (auto ok = expect_count(operands, 2, "lock " + full); !ok) return std::unexpected(ok.error());
    auto address = read_address(operands[0]);
    if (!address) return std::unexpected(address.error());
    auto src = read_register(operands[1]);
    if (!src) return std::unexpected(src.error());
    auto size = is32 ? MemSize::W : MemSize::DW;
    return single({.opcode = code(InstructionClass::Stx, MemMode::Atomic, size), .dst = address->reg, .src = *src,
                   .offset = address->offset, .imm = found->imm});
}

// "call 5" (helper), "call local label" (bpf-to-bpf), "call %r2" (callx),
// "call helper 5", "call runtime 3" (kfunc-style, src 2).
LineResult assemble_call(std::span<const Token> tokens) {
    Line line;
    Instruction insn{.opcode = code(InstructionClass::Jmp, JmpOp::Call)};
    if (is_register(tokens)) {
        auto reg = read_register(tokens);
        if (!reg) return std::unexpected(reg.error());
        return single({.opcode = syntax::opcode_callx, .dst = *reg});
    }
    if (!tokens.empty() && tokens[0].text == "local") {
        insn.src = uint8_t(CallKind::Local);
        auto target = read_target(tokens.subspan(1), line, LabelUse::Field::Imm);
        if (!target) return std::unexpected(target.error());
        insn.imm = int32_t(*target);
        line.slots.push_back(insn);
        return line;
    }
    // bpf_conformance's explicit modes: "call helper 5", "call runtime 3" (src 2).
    if (!tokens.empty() && (tokens[0].text == "helper" || tokens[0].text == "runtime")) {
        if (tokens[0].text == "runtime") insn.src = uint8_t(CallKind::Kfunc);
        tokens = tokens.subspan(1);
        auto imm = read_imm(tokens);
        if (!imm) return std::unexpected(imm.error());
        insn.imm = *imm;
        return single(insn);
    }
    if (tokens.size() == 1 && tokens[0].kind == TokenKind::Identifier) {
        auto id = helper_id(tokens[0].text);
        if (!id) return fail(fmt::format("unknown helper '{}'", tokens[0].text));
        insn.imm = *id;
        return single(insn);
    }
    auto imm = read_imm(tokens);
    if (!imm) return std::unexpected(imm.error());
    insn.imm = *imm;
    return single(insn);
}

// be16/le32/bswap64 (and "swap64", the name RFC 9669 examples use).
std::optional<LineResult> assemble_byte_swap(std::string_view mnemonic, const Operands& operands) {
    for (const auto& swap : syntax::byte_swaps) {
        std::string_view rest;
        if (mnemonic.starts_with(swap.name))
            rest = mnemonic.substr(swap.name.size());
        else if (swap.name == "bswap" && mnemonic.starts_with("swap"))
            rest = mnemonic.substr(4);
        else
            continue;
        if (rest != "16" && rest != "32" && rest != "64") continue;
        if (auto ok = expect_count(operands, 1, mnemonic); !ok) return std::unexpected(ok.error());
        auto dst = read_register(operands[0]);
        if (!dst) return std::unexpected(dst.error());
        return single({.opcode = swap.opcode, .dst = *dst, .imm = std::stoi(std::string(rest))});
    }
    return std::nullopt;
}

// movsx<from><to>: movsx832, movsx1632 (32-bit ALU), movsx864, movsx1664, movsx3264.
std::optional<LineResult> assemble_move_sign_extend(std::string_view mnemonic, const Operands& operands) {
    struct Variant {
        std::string_view suffix;
        InstructionClass cls;
        int16_t bits;
    };
    static constexpr std::array<Variant, 5> variants{{
        {"832", InstructionClass::Alu, 8},    {"1632", InstructionClass::Alu, 16},
        {"864", InstructionClass::Alu64, 8},  {"1664", InstructionClass::Alu64, 16},
        {"3264", InstructionClass::Alu64, 32},
    }};
    if (!mnemonic.starts_with("movsx")) return std::nullopt;
    for (const auto& variant : variants) {
        if (mnemonic.substr(5) != variant.suffix) continue;
        if (auto ok = expect_count(operands, 2, mnemonic); !ok) return std::unexpected(ok.error());
        auto dst = read_register(operands[0]);
        if (!dst) return std::unexpected(dst.error());
        auto src = read_register(operands[1]);
        if (!src) return std::unexpected(src.error());
        return single({.opcode = code(variant.cls, AluOp::Mov, Source::Reg), .dst = *dst, .src = *src,
                       .offset = variant.bits});
    }
    return fail("movsx takes the widths 832, 1632, 864, 1664 or 3264");
}

}  // namespace

bool is_ubpf_line(std::span<const Token> tokens) {
    if (tokens.empty()) return false;
    for (const auto& token : tokens)
        if (token.text == "%") return true;
    std::string_view first = tokens[0].text;
    return first == "ja" || first == "ja32" || first.starts_with("ldabs") ||
           (first == "call" && tokens.size() > 1 &&
            (tokens[1].text == "local" || tokens[1].text == "helper" || tokens[1].text == "runtime"));
}

LineResult assemble_ubpf_line(std::span<const Token> tokens, const IsLabel&) {
    if (tokens.empty() || tokens[0].kind != TokenKind::Identifier) return fail("expected a mnemonic");
    std::string_view mnemonic = tokens[0].text;
    auto rest = tokens.subspan(1);
    if (mnemonic == "lock") return assemble_atomic(rest);
    if (mnemonic == "call") return assemble_call(rest);
    Operands operands = split_operands(rest);
    if (mnemonic == "exit") {
        if (auto ok = expect_count(operands, 0, mnemonic); !ok) return std::unexpected(ok.error());
        return single({.opcode = code(InstructionClass::Jmp, JmpOp::Exit)});
    }
    if (mnemonic == "ja" || mnemonic == "ja32") {
        if (auto ok = expect_count(operands, 1, mnemonic); !ok) return std::unexpected(ok.error());
        Line line;
        bool is32 = mnemonic == "ja32";
        auto target = read_target(operands[0], line, is32 ? LabelUse::Field::Imm : LabelUse::Field::Offset);
        if (!target) return std::unexpected(target.error());
        Instruction insn{.opcode = is32 ? syntax::opcode_gotol : code(InstructionClass::Jmp, JmpOp::Ja)};
        if (is32) {
            insn.imm = int32_t(*target);
        } else {
            if (*target < -32768 || *target > 32767) return fail("jump offset out of 16-bit range (use ja32)");
            insn.offset = int16_t(*target);
        }
        line.slots.push_back(insn);
        return line;
    }
    if (mnemonic == "lddw") {
        if (auto ok = expect_count(operands, 2, mnemonic); !ok) return std::unexpected(ok.error());
        auto dst = read_register(operands[0]);
        if (!dst) return std::unexpected(dst.error());
        size_t position = 0;
        auto number = read_number(operands[1], position);
        std::optional<uint64_t> value = number ? to_imm64(*number) : std::nullopt;
        if (!value || position != operands[1].size()) return fail("expected a 64-bit number");
        Line line;
        line.slots.push_back({.opcode = 0x18, .dst = *dst, .imm = int32_t(uint32_t(*value))});
        line.slots.push_back({.imm = int32_t(uint32_t(*value >> 32))});
        return line;
    }
    if (auto result = assemble_byte_swap(mnemonic, operands)) return *result;
    if (auto result = assemble_move_sign_extend(mnemonic, operands)) return *result;
    if (auto result = assemble_memory(mnemonic, operands)) return *result;
    if (mnemonic.starts_with("j")) return assemble_jump(mnemonic, operands);
    return assemble_alu(mnemonic, operands);
}

}  // namespace bpfvet::ir::assembly
