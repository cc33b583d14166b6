#include "ir/assembler.hpp"

#include "ir/assembler_lines.hpp"
#include "ir/helper_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <set>

namespace bpfvet::ir {
namespace assembly {

using syntax::Operand;
using syntax::TokenKind;

std::optional<Number> read_number(std::span<const Token> tokens, size_t& position) {
    size_t at = position;
    Number number;
    if (at < tokens.size() && (tokens[at].text == "-" || tokens[at].text == "+")) {
        number.negative = tokens[at].text == "-";
        ++at;
    }
    if (at >= tokens.size() || tokens[at].kind != TokenKind::Number) return std::nullopt;
    std::string_view digits = tokens[at].text;
    unsigned base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits.remove_prefix(2);
    }
    uint64_t value = 0;
    for (char c : digits) {
        unsigned digit;
        if (std::isdigit(static_cast<unsigned char>(c)))
            digit = unsigned(c - '0');
        else if (base == 16 && std::isxdigit(static_cast<unsigned char>(c)))
            digit = unsigned(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
        else
            return std::nullopt;
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / base) return std::nullopt;
        value = value * base + digit;
    }
    number.magnitude = value;
    position = at + 1;
    return number;
}

std::optional<int32_t> to_imm32(Number number) {
    if (number.negative) {
        if (number.magnitude > uint64_t(1) << 31) return std::nullopt;
        return int32_t(uint32_t(-int64_t(number.magnitude)));
    }
    if (number.magnitude > std::numeric_limits<uint32_t>::max()) return std::nullopt;
    return int32_t(uint32_t(number.magnitude));
}

std::optional<int16_t> to_offset16(Number number) {
    if (number.negative ? number.magnitude > 32768 : number.magnitude > 32767) return std::nullopt;
    return int16_t(number.negative ? -int64_t(number.magnitude) : int64_t(number.magnitude));
}

std::optional<uint64_t> to_imm64(Number number) {
    if (number.negative) {
        if (number.magnitude > uint64_t(1) << 63) return std::nullopt;
        return uint64_t(0) - number.magnitude;
    }
    return number.magnitude;
}

namespace {

// ---------------------------------------------------------------------------
// Conventional dialect: match the line against the templates of syntax::forms().

using PatternElement = std::variant<std::string_view, Operand>;

// Each form's template as tokens: "{dst} += {imm}" -> [Dst, "+=", Imm].
struct Patterns {
    std::vector<std::vector<PatternElement>> of_form;  // parallel to syntax::forms()
    // Forms by their key, in table order: a line is only tried against the
    // forms sharing its key. The key is the first token that is not a register:
    // "if" in "if r1 > 3 goto +1", "+=" in "r1 += 3", "=" in "r0 = *(u8 *)skb[4]".
    // Every template begins with at most one register (an operand or a literal
    // "r0"), so a line and the template it matches have the same key.
    std::map<std::string_view, std::vector<size_t>, std::less<>> by_key;
};

bool is_register_name(std::string_view text) {
    return syntax::parse_register(text, 'r').has_value() || syntax::parse_register(text, 'w').has_value();
}

const Patterns& patterns() {
    static const Patterns all = [] {
        Patterns built;
        const auto& forms = syntax::forms();
        for (size_t i = 0; i < forms.size(); ++i) {
            std::vector<PatternElement> pattern;
            for (const auto& piece : forms[i].pattern.pieces) {
                if (const auto* operand = std::get_if<Operand>(&piece)) {
                    pattern.emplace_back(*operand);
                    continue;
                }
                // The literal lives as long as the form table, so views into it stay valid.
                for (const auto& token : syntax::tokenize(std::get<std::string>(piece))) pattern.emplace_back(token.text);
            }
            bool register_first = std::holds_alternative<Operand>(pattern[0]) ||
                                  is_register_name(std::get<std::string_view>(pattern[0]));
            // Templates never begin with two operands, so the second element is a literal when needed.
            std::string_view key = register_first ? std::get<std::string_view>(pattern[1])
                                                  : std::get<std::string_view>(pattern[0]);
            built.by_key[key].push_back(i);
            built.of_form.push_back(std::move(pattern));
        }
        return built;
    }();
    return all;
}

struct Matcher {
    Matcher(std::span<const Token> line_tokens, const IsLabel& label_test) : tokens(line_tokens), is_label(label_test) {}

    std::span<const Token> tokens;
    const IsLabel& is_label;
    size_t position = 0;
    Instruction first{}, second{};
    bool dst_seen = false, src_seen = false;
    Line line;
    size_t furthest = 0;  // the furthest token any form got to, for the error message

    [[nodiscard]] bool at(std::string_view text) const {
        return position < tokens.size() && tokens[position].text == text;
    }
    [[nodiscard]] const Token* identifier() const {
        return position < tokens.size() && tokens[position].kind == TokenKind::Identifier ? &tokens[position] : nullptr;
    }

    // Registers may appear twice in a template ("r1 = -r1"): both must agree.
    bool read_register(char prefix, uint8_t& field, bool& seen) {
        const Token* token = identifier();
        if (token == nullptr) return false;
        auto reg = syntax::parse_register(token->text, prefix);
        if (!reg || (seen && field != *reg)) return false;
        field = *reg;
        seen = true;
        ++position;
        return true;
    }

    bool read_imm32(int32_t& field) {
        auto number = read_number(tokens, position);
        if (!number) return false;
        auto value = to_imm32(*number);
        if (!value) return false;
        field = *value;
        return true;
    }

    // "+ 4" / "- 8" / nothing (an address without offset, "(r1)").
    bool read_address_offset(int64_t& value, int64_t low, int64_t high) {
        if (!at("+") && !at("-")) {
            value = 0;
            return true;
        }
        auto number = read_number(tokens, position);
        if (!number || number->magnitude > uint64_t(std::max(-low, high))) return false;
        value = number->negative ? -int64_t(number->magnitude) : int64_t(number->magnitude);
        return value >= low && value <= high;
    }

    // "+3", "-1", "pc+3", or a label.
    bool read_target(LabelUse::Field field, size_t slot, int64_t& distance, bool allow_plain_number) {
        if (const Token* token = identifier(); token != nullptr && token->text != "pc") {
            line.label_uses.push_back({slot, std::string(token->text), field});
            distance = 0;
            ++position;
            return true;
        }
        bool with_pc = at("pc");
        if (with_pc) ++position;
        if (!with_pc && !allow_plain_number && !at("+") && !at("-")) return false;
        auto number = read_number(tokens, position);
        if (!number) return false;
        if (number->magnitude > (uint64_t(1) << 31)) return false;
        distance = number->negative ? -int64_t(number->magnitude) : int64_t(number->magnitude);
        return true;
    }

    bool read(Operand operand) {
        switch (operand) {
        case Operand::Dst: return read_register('r', first.dst, dst_seen);
        case Operand::Dst32: return read_register('w', first.dst, dst_seen);
        case Operand::Src: return read_register('r', first.src, src_seen);
        case Operand::Src32: return read_register('w', first.src, src_seen);
        case Operand::Imm:
        case Operand::HexImm: return read_imm32(first.imm);
        case Operand::MemoryOffset: {
            int64_t value;
            if (!read_address_offset(value, -32768, 32767)) return false;
            first.offset = int16_t(value);
            return true;
        }
        case Operand::OffsetNumber: {
            auto number = read_number(tokens, position);
            auto value = number ? to_offset16(*number) : std::nullopt;
            if (!value) return false;
            first.offset = *value;
            return true;
        }
        case Operand::IndexOffset: {
            int64_t value;
            if (!read_address_offset(value, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()))
                return false;
            first.imm = int32_t(value);
            return true;
        }
        case Operand::JumpOffset: {
            int64_t distance;
            if (!read_target(LabelUse::Field::Offset, 0, distance, false) || distance < -32768 || distance > 32767)
                return false;
            first.offset = int16_t(distance);
            return true;
        }
        case Operand::JumpImm:
        case Operand::FunctionRef: {
            int64_t distance;
            if (!read_target(LabelUse::Field::Imm, 0, distance, false) ||
                distance < std::numeric_limits<int32_t>::min() || distance > std::numeric_limits<int32_t>::max())
                return false;
            first.imm = int32_t(distance);
            return true;
        }
        case Operand::CallTarget: {
            // A name here must be a label, otherwise it is a helper.
            if (const Token* token = identifier(); token != nullptr && token->text != "pc" && !is_label(token->text))
                return false;
            int64_t distance;
            if (!read_target(LabelUse::Field::Imm, 0, distance, false)) return false;
            first.imm = int32_t(distance);
            return true;
        }
        case Operand::Helper: {
            if (const Token* token = identifier()) {
                auto id = helper_id(token->text);
                if (!id || is_label(token->text)) return false;
                first.imm = *id;
                ++position;
                if (at("#")) {  // kernel log: "call bpf_map_lookup_elem#1"
                    ++position;
                    int32_t logged;
                    return read_imm32(logged) && logged == *id;
                }
                return true;
            }
            return read_imm32(first.imm);
        }
        case Operand::Imm64: {
            auto number = read_number(tokens, position);
            if (!number) return false;
            auto value = to_imm64(*number);
            if (!value) return false;
            first.imm = int32_t(uint32_t(*value));
            second.imm = int32_t(uint32_t(*value >> 32));
            return true;
        }
        case Operand::Map: {
            if (const Token* token = identifier()) {
                line.map_uses.push_back({0, std::string(token->text)});
                ++position;
                return true;
            }
            return read_imm32(first.imm);
        }
        case Operand::NextImm: return read_imm32(second.imm);
        }
        return false;
    }

    bool match(const syntax::Form& form, const std::vector<PatternElement>& pattern) {
        first = Instruction{.opcode = form.opcode, .dst = form.dst, .src = form.src, .offset = form.offset, .imm = form.imm};
        second = Instruction{.imm = form.next_imm};
        dst_seen = src_seen = false;
        position = 0;
        line = {};
        for (const auto& element : pattern) {
            size_t element_start = position;
            bool read_element = false;
            if (const auto* literal = std::get_if<std::string_view>(&element)) {
                read_element = at(*literal);
                if (read_element) ++position;
            } else {
                read_element = read(std::get<Operand>(element));
            }
            if (!read_element) {
                furthest = std::max(furthest, element_start);
                return false;
            }
        }
        if (position != tokens.size()) {
            furthest = std::max(furthest, position);
            return false;
        }
        line.slots.push_back(first);
        if (form.wide) line.slots.push_back(second);
        return true;
    }
};

// llvm-objdump appends the target block to jumps: "goto +3 <LBB0_4>". Drop it.
std::span<const Token> without_block_annotation(std::span<const Token> tokens) {
    size_t n = tokens.size();
    if (n >= 4 && tokens[n - 3].text == "<" && tokens[n - 2].kind == TokenKind::Identifier && tokens[n - 1].text == ">")
        return tokens.first(n - 3);
    return tokens;
}

}  // namespace

LineResult assemble_conventional_line(std::span<const Token> tokens, const IsLabel& is_label) {
    tokens = without_block_annotation(tokens);
    if (tokens.empty()) return std::unexpected(std::string("not an instruction"));
    bool register_first = is_register_name(tokens[0].text);
    if (register_first && tokens.size() < 2) return std::unexpected(std::string("not an instruction"));
    std::string_view key = register_first ? tokens[1].text : tokens[0].text;
    const auto& all = patterns();
    auto candidates = all.by_key.find(key);
    if (candidates == all.by_key.end())
        return std::unexpected(fmt::format("not an instruction (nothing starts with '{}')", key));
    Matcher matcher(tokens, is_label);
    const auto& forms = syntax::forms();
    for (size_t i : candidates->second)
        if (matcher.match(forms[i], all.of_form[i])) return std::move(matcher.line);
    // "r1 = 0x100000000" -> not an instruction (cannot read '0x100000000' here)
    if (matcher.furthest >= tokens.size())
        return std::unexpected(fmt::format("not an instruction (incomplete after '{}')", tokens.back().text));
    return std::unexpected(
        fmt::format("not an instruction (cannot read '{}' here)", tokens[matcher.furthest].text));
}

}  // namespace assembly

namespace {

using assembly::Line;
using assembly::Token;

struct TextLine {
    size_t number = 0;  // 1-based
    std::string_view source;  // without its comment, for error messages
    std::vector<Token> tokens;
};

// Splits off "12:" pc prefixes, "(bf)" opcodes and "name:" labels; returns the labels declared.
std::vector<std::string_view> take_prefixes(std::vector<Token>& tokens) {
    std::vector<std::string_view> labels;
    size_t start = 0;
    if (tokens.size() >= 2 && tokens[0].kind == syntax::TokenKind::Number && tokens[1].text == ":") start = 2;
    // The kernel verifier log shows the opcode after the pc: "12: (bf) r1 = r6".
    auto is_opcode = [](std::string_view text) {
        return text.size() == 2 && std::isxdigit(static_cast<unsigned char>(text[0])) &&
               std::isxdigit(static_cast<unsigned char>(text[1]));
    };
    if (tokens.size() >= start + 3 && tokens[start].text == "(" && is_opcode(tokens[start + 1].text) &&
        tokens[start + 2].text == ")") {
        // It prints an LDDW constant without "ll" ("(18) r1 = 0xffff8880"): the opcode says which it is.
        if (tokens[start + 1].text == "18" && tokens.back().text != "ll")
            tokens.push_back({syntax::TokenKind::Identifier, "ll", tokens.back().column + tokens.back().text.size()});
        start += 3;
    }
    while (start + 1 < tokens.size() && tokens[start].kind == syntax::TokenKind::Identifier &&
           tokens[start + 1].text == ":") {
        labels.push_back(tokens[start].text);
        start += 2;
    }
    tokens.erase(tokens.begin(), tokens.begin() + std::ptrdiff_t(start));
    return labels;
}

// "invalid 0x00000000000000ff": a raw slot, as the disassembler prints unknown encodings.
std::optional<assembly::LineResult> raw_slot(std::span<const Token> tokens) {
    if (tokens.empty() || tokens[0].text != "invalid") return std::nullopt;
    size_t position = 1;
    auto number = assembly::read_number(tokens, position);
    if (!number || number->negative || position != tokens.size())
        return assembly::LineResult(std::unexpected(std::string("expected 'invalid 0x<64-bit slot>'")));
    Line line;
    line.slots.push_back(decode_slot(number->magnitude));
    return line;
}

}  // namespace

std::string AssemblyError::to_string() const { return fmt::format("line {}: {}", line, message); }

std::expected<AssembledProgram, AssemblyError> assemble(std::string_view text, const AssemblyOptions& options) {
    // Tokens are views into `text`, which outlives this call.
    std::vector<TextLine> lines;
    std::set<std::string, std::less<>> declared;
    size_t line_number = 0;
    std::vector<std::vector<std::string_view>> labels_per_line;
    for (size_t begin = 0; begin <= text.size();) {
        size_t end = text.find('\n', begin);
        if (end == std::string_view::npos) end = text.size();
        ++line_number;
        std::string_view source = syntax::strip_comment(text.substr(begin, end - begin));
        auto tokens = syntax::tokenize(source);
        auto labels = take_prefixes(tokens);
        for (auto label : labels) declared.emplace(label);
        labels_per_line.push_back(std::move(labels));
        while (!source.empty() && std::isspace(static_cast<unsigned char>(source.front()))) source.remove_prefix(1);
        while (!source.empty() && std::isspace(static_cast<unsigned char>(source.back()))) source.remove_suffix(1);
        lines.push_back({line_number, source, std::move(tokens)});
        begin = end + 1;
    }
    auto is_label = [&](std::string_view name) { return declared.contains(name); };

    struct PendingLabel {
        assembly::LabelUse use;
        size_t line = 0;
    };
    AssembledProgram program;
    std::vector<PendingLabel> pending;
    std::optional<size_t> first_exit;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto& line = lines[i];
        for (auto label : labels_per_line[i]) {
            if (!program.labels.emplace(std::string(label), program.instructions.size()).second)
                return std::unexpected(AssemblyError{line.number, fmt::format("label '{}' declared twice", label)});
        }
        if (line.tokens.empty()) continue;
        std::span<const Token> tokens = line.tokens;
        auto result = raw_slot(tokens);
        if (!result)
            result = assembly::is_ubpf_line(tokens) ? assembly::assemble_ubpf_line(tokens, is_label)
                                                    : assembly::assemble_conventional_line(tokens, is_label);
        if (!result->has_value())
            return std::unexpected(AssemblyError{line.number, fmt::format("{}: '{}'", result->error(), line.source)});
        Line& assembled = **result;
        size_t base = program.instructions.size();
        for (auto& use : assembled.label_uses) {
            use.slot += base;
            pending.push_back({std::move(use), line.number});
        }
        for (auto& use : assembled.map_uses) {
            Instruction& slot = assembled.slots[use.slot];
            if (options.map_resolver) {
                auto index = options.map_resolver(use.name);
                if (!index)
                    return std::unexpected(AssemblyError{line.number, fmt::format("unknown map '{}'", use.name)});
                slot.imm = int32_t(*index);
            }
            program.map_references[use.name].push_back(base + use.slot);
        }
        for (const auto& slot : assembled.slots) {
            if (slot.is_exit() && !first_exit) first_exit = program.instructions.size();
            program.instructions.push_back(slot);
        }
    }

    for (const auto& [use, line] : pending) {
        size_t target;
        if (auto found = program.labels.find(use.label); found != program.labels.end())
            target = found->second;
        else if (use.label == "exit" && first_exit)  // bpf_conformance: "exit" names the first exit
            target = *first_exit;
        else
            return std::unexpected(AssemblyError{line, fmt::format("undefined label '{}'", use.label)});
        int64_t distance = int64_t(target) - int64_t(use.slot) - 1;
        Instruction& slot = program.instructions[use.slot];
        if (use.field == assembly::LabelUse::Field::Offset) {
            if (distance < -32768 || distance > 32767)
                return std::unexpected(AssemblyError{
                    line, fmt::format("label '{}' is {} slots away, beyond a 16-bit jump (use gotol)", use.label, distance)});
            slot.offset = int16_t(distance);
        } else {
            slot.imm = int32_t(distance);
        }
    }
    return program;
}

std::expected<Program, AssemblyError> assemble_program(std::string_view text, const AssemblyOptions& options) {
    auto assembled = assemble(text, options);
    if (!assembled) return std::unexpected(assembled.error());
    Program program;
    program.instructions = std::move(assembled->instructions);
    const auto& slots = program.instructions;

    std::set<size_t> starts;
    if (!slots.empty()) starts.insert(0);
    for (size_t pc = 0; pc < slots.size(); ++pc) {
        const Instruction& insn = slots[pc];
        bool refers_to_function = insn.is_local_call() ||
                                  (insn.is_lddw() && insn.src == uint8_t(LddwKind::Function) && pc + 1 < slots.size());
        int64_t target = int64_t(pc) + 1 + insn.imm;
        if (refers_to_function && target >= 0 && size_t(target) < slots.size()) starts.insert(size_t(target));
    }
    std::map<size_t, std::string> label_at;
    for (const auto& [name, slot] : assembled->labels) label_at.emplace(slot, name);  // several labels on one slot: the alphabetically first
    for (auto it = starts.begin(); it != starts.end(); ++it) {
        size_t start = *it;
        auto next = std::next(it);
        auto label = label_at.find(start);
        program.functions.push_back({.name = label != label_at.end() ? label->second : fmt::format("func_{}", start),
                                     .start = uint32_t(start),
                                     .end = uint32_t(next == starts.end() ? slots.size() : *next)});
    }
    if (!program.functions.empty()) program.name = program.functions.front().name;
    return program;
}

}  // namespace bpfvet::ir
