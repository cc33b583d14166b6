#include "ir/assembly_syntax.hpp"

#include "ir/helper_names.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace bpfvet::ir::syntax {
namespace {

bool is_identifier_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$';
}
bool is_identifier_char(char c) {
    return is_identifier_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

// Multi-character operators, longest first so "s>>=" wins over "s>".
constexpr std::array<std::string_view, 20> compound_operators{
    "s>>=", "<<=", ">>=", "s>=", "s<=", "s/=", "s%=", "+=", "-=", "*=",
    "/=",   "|=",  "&=",  "%=",  "^=",  "==",  "!=",  ">=", "<=", "//",
};

struct OperandName {
    std::string_view name;
    Operand operand;
};

constexpr std::array<OperandName, 17> operand_names{{
    {"dst", Operand::Dst},
    {"wdst", Operand::Dst32},
    {"src", Operand::Src},
    {"wsrc", Operand::Src32},
    {"imm", Operand::Imm},
    {"ximm", Operand::HexImm},
    {"off", Operand::MemoryOffset},
    {"offnum", Operand::OffsetNumber},
    {"index", Operand::IndexOffset},
    {"target", Operand::JumpOffset},
    {"target32", Operand::JumpImm},
    {"call", Operand::CallTarget},
    {"helper", Operand::Helper},
    {"imm64", Operand::Imm64},
    {"map", Operand::Map},
    {"next_imm", Operand::NextImm},
    {"function", Operand::FunctionRef},
}};

// "{dst} += {imm}" -> [Dst, " += ", Imm]. Templates are ours, so a typo is a
// programming error and throws while the table is built.
Template parse_template(std::string_view text) {
    Template result;
    std::string literal;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '{') {
            literal += text[i];
            continue;
        }
        size_t close = text.find('}', i);
        if (close == std::string_view::npos) throw std::logic_error("unclosed operand in template");
        std::string_view name = text.substr(i + 1, close - i - 1);
        const OperandName* found = nullptr;
        for (const auto& candidate : operand_names)
            if (candidate.name == name) found = &candidate;
        if (found == nullptr) throw std::logic_error("unknown operand in template: " + std::string(name));
        if (!literal.empty()) result.pieces.emplace_back(std::move(literal));
        literal.clear();
        result.pieces.emplace_back(found->operand);
        i = close;
    }
    if (!literal.empty()) result.pieces.emplace_back(std::move(literal));
    return result;
}

void bind(BoundFields& bound, Operand operand) {
    switch (operand) {
    case Operand::Dst:
    case Operand::Dst32: bound.dst = true; break;
    case Operand::Src:
    case Operand::Src32: bound.src = true; break;
    case Operand::MemoryOffset:
    case Operand::OffsetNumber:
    case Operand::JumpOffset: bound.offset = true; break;
    case Operand::Imm64: bound.imm = bound.next_imm = true; break;
    case Operand::NextImm: bound.next_imm = true; break;
    case Operand::Imm:
    case Operand::HexImm:
    case Operand::IndexOffset:
    case Operand::JumpImm:
    case Operand::CallTarget:
    case Operand::Helper:
    case Operand::Map:
    case Operand::FunctionRef: bound.imm = true; break;
    }
}

// The fields of a form that its template does not print.
struct Fixed {
    uint8_t dst = 0, src = 0;
    int16_t offset = 0;
    int32_t imm = 0;
};

std::string width_text(int bits) { return std::to_string(bits); }

std::vector<Form> build_forms() {
    std::vector<Form> forms;
    auto add = [&](uint8_t opcode, std::string text, Fixed fixed = {}, bool read_only = false) {
        Form form;
        form.read_only = read_only;
        form.opcode = opcode;
        form.dst = fixed.dst;
        form.src = fixed.src;
        form.offset = fixed.offset;
        form.imm = fixed.imm;
        form.wide = opcode == 0x18;
        form.pattern = parse_template(text);
        form.text = std::move(text);
        for (const auto& piece : form.pattern.pieces)
            if (const auto* operand = std::get_if<Operand>(&piece)) bind(form.bound, *operand);
        forms.push_back(std::move(form));
    };
    // Spellings of the kernel verifier log that differ from ours: read, never printed.
    auto add_kernel_spelling = [&](uint8_t opcode, std::string text, Fixed fixed) { add(opcode, std::move(text), fixed, true); };
    auto code = [](auto... parts) { return uint8_t((uint8_t(parts) | ...)); };

    // ALU: "r1 += 3", "w1 += w2", "r1 s/= r2", "r1 = -r1", "r1 = (s8)r2".
    for (auto cls : {InstructionClass::Alu64, InstructionClass::Alu}) {
        bool wide = cls == InstructionClass::Alu64;
        std::string dst = wide ? "{dst}" : "{wdst}", src = wide ? "{src}" : "{wsrc}";
        for (const auto& op : alu_operations) {
            std::string imm = op.bitwise ? "{ximm}" : "{imm}";
            add(code(cls, op.op, Source::Imm), dst + " " + std::string(op.symbol) + " " + imm, {.offset = op.offset});
            add(code(cls, op.op, Source::Reg), dst + " " + std::string(op.symbol) + " " + src, {.offset = op.offset});
        }
        add(code(cls, AluOp::Neg, Source::Imm), dst + " = -" + dst);
        for (int bits : {8, 16, 32}) {
            if (!wide && bits == 32) continue;  // w1 = (s32)w2 would be a plain move
            add(code(cls, AluOp::Mov, Source::Reg), dst + " = (s" + width_text(bits) + ")" + src,
                {.offset = int16_t(bits)});
        }
    }
    // Byte swaps always name 64-bit registers, as the kernel prints them: "r1 = be16 r1".
    for (const auto& swap : byte_swaps)
        for (int bits : {16, 32, 64})
            add(swap.opcode, "{dst} = " + std::string(swap.name) + width_text(bits) + " {dst}", {.imm = bits});

    // Jumps: "if r1 > 0x10 goto +3", "if w1 s< w2 goto -4".
    for (auto cls : {InstructionClass::Jmp, InstructionClass::Jmp32}) {
        bool wide = cls == InstructionClass::Jmp;
        std::string dst = wide ? "{dst}" : "{wdst}", src = wide ? "{src}" : "{wsrc}";
        for (const auto& condition : jump_conditions) {
            std::string imm = condition.is_signed ? "{imm}" : "{ximm}";
            std::string symbol(condition.symbol);
            add(code(cls, condition.op, Source::Imm), "if " + dst + " " + symbol + " " + imm + " goto {target}");
            add(code(cls, condition.op, Source::Reg), "if " + dst + " " + symbol + " " + src + " goto {target}");
        }
    }
    add(code(InstructionClass::Jmp, JmpOp::Ja), "goto {target}");
    add(opcode_gotol, "gotol {target32}");
    add(opcode_may_goto, "may_goto {target}");
    add(code(InstructionClass::Jmp, JmpOp::Call), "call {helper}", {.src = uint8_t(CallKind::Helper)});
    add(code(InstructionClass::Jmp, JmpOp::Call), "call {call}", {.src = uint8_t(CallKind::Local)});
    // A kfunc is a BTF id in vmlinux (offset 0) or in the module whose BTF fd is at fd_array[offset].
    add(code(InstructionClass::Jmp, JmpOp::Call), "call kfunc[{imm}]", {.src = uint8_t(CallKind::Kfunc)});
    add(code(InstructionClass::Jmp, JmpOp::Call), "call kfunc[{offnum}:{imm}]", {.src = uint8_t(CallKind::Kfunc)});
    add(opcode_callx, "callx {dst}");
    add(code(InstructionClass::Jmp, JmpOp::Exit), "exit");

    // Memory: "r0 = *(u32 *)(r1 + 4)", "*(u64 *)(r10 - 8) = r1", "*(u16 *)(r1 + 0) = 7".
    for (const auto& width : memory_widths) {
        std::string bits = width_text(width.bits);
        std::string unsigned_type = "u" + bits, signed_type = "s" + bits;
        add(code(InstructionClass::Ldx, MemMode::Mem, width.size),
            "{dst} = *(" + unsigned_type + " *)({src} {off})");
        add(code(InstructionClass::St, MemMode::Mem, width.size), "*(" + unsigned_type + " *)({dst} {off}) = {imm}");
        add(code(InstructionClass::Stx, MemMode::Mem, width.size), "*(" + unsigned_type + " *)({dst} {off}) = {src}");
        if (width.size != MemSize::DW) {
            add(code(InstructionClass::Ldx, MemMode::MemSx, width.size),
                "{dst} = *(" + signed_type + " *)({src} {off})");
            // Legacy packet loads always write r0 and read the packet from r6.
            add(code(InstructionClass::Ld, MemMode::Abs, width.size), "r0 = *(" + unsigned_type + " *)skb[{imm}]");
            add(code(InstructionClass::Ld, MemMode::Ind, width.size),
                "r0 = *(" + unsigned_type + " *)skb[{src} {index}]");
        }
        // Atomics, in the syntax llvm-objdump prints:
        //   lock *(u64 *)(r1 + 0) += r2
        //   r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
        //   r2 = xchg_64(r1 + 0, r2)            w2 = xchg32_32(r1 + 0, w2)
        //   r0 = cmpxchg_64(r1 + 0, r0, r2)     w0 = cmpxchg32_32(r1 + 0, w0, w2)
        //   w0 = load_acquire((u8 *)(r1 + 0))   store_release((u8 *)(r1 + 0), w2)
        uint8_t atomic = code(InstructionClass::Stx, MemMode::Atomic, width.size);
        bool is64 = width.size == MemSize::DW;
        std::string value = is64 ? "{src}" : "{wsrc}", r0 = is64 ? "r0" : "w0";
        std::string address = "(" + unsigned_type + " *)({dst} {off})";
        if (width.size == MemSize::W || is64) {
            for (const auto& operation : atomic_operations) {
                std::string text;
                if (!operation.symbol.empty())
                    text = "lock *" + address + " " + std::string(operation.symbol) + " " + value;
                else if (operation.imm == atomic::Xchg)
                    text = value + (is64 ? " = xchg_64({dst} {off}, " : " = xchg32_32({dst} {off}, ") + value + ")";
                else if (operation.imm == atomic::CmpXchg)
                    text = r0 + (is64 ? " = cmpxchg_64({dst} {off}, " : " = cmpxchg32_32({dst} {off}, ") + r0 + ", " +
                           value + ")";
                else
                    text = value + " = " + std::string(operation.function) + "(" + address + ", " + value + ")";
                add(atomic, text, {.imm = operation.imm});
            }
        }
        add(atomic, (is64 ? "{dst}" : "{wdst}") + std::string(" = load_acquire((") + unsigned_type + " *)({src} {off}))",
            {.imm = load_acquire});
        add(atomic, "store_release(" + address + ", " + value + ")", {.imm = store_release});

        // The kernel log names 64-bit registers throughout and calls the functions
        // atomic[64]_fetch_add, atomic[64]_xchg, atomic[64]_cmpxchg:
        //   r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)    r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)
        std::string suffix = is64 ? "64" : "";
        if (width.size == MemSize::W || is64) {
            for (const auto& operation : atomic_operations) {
                std::string text;
                if (!operation.symbol.empty()) {
                    if (is64) continue;  // same as ours
                    text = "lock *" + address + " " + std::string(operation.symbol) + " {src}";
                } else if (operation.imm == atomic::CmpXchg) {
                    text = "r0 = atomic" + suffix + "_cmpxchg(" + address + ", r0, {src})";
                } else {
                    std::string name(operation.function);  // "atomic_fetch_add" or "xchg"
                    if (name.starts_with("atomic_")) name = name.substr(7);
                    text = "{src} = atomic" + suffix + "_" + name + "(" + address + ", {src})";
                }
                add_kernel_spelling(atomic, text, {.imm = operation.imm});
            }
        }
        if (!is64) {
            add_kernel_spelling(atomic, "{dst} = load_acquire((" + unsigned_type + " *)({src} {off}))", {.imm = load_acquire});
            add_kernel_spelling(atomic, "store_release(" + address + ", {src})", {.imm = store_release});
        }
    }

    // LDDW, by the meaning of its src field (LddwKind).
    add(0x18, "{dst} = {imm64} ll", {.src = uint8_t(LddwKind::Immediate)});
    add(0x18, "{dst} = map[{map}] ll", {.src = uint8_t(LddwKind::MapFd)});
    add(0x18, "{dst} = map_value[{map}] + {next_imm} ll", {.src = uint8_t(LddwKind::MapValue)});
    add(0x18, "{dst} = btf_id[{imm}] ll", {.src = uint8_t(LddwKind::BtfId)});
    add(0x18, "{dst} = func[{function}] ll", {.src = uint8_t(LddwKind::Function)});
    add(0x18, "{dst} = map_idx[{imm}] ll", {.src = uint8_t(LddwKind::MapIndex)});
    add(0x18, "{dst} = map_idx_value[{imm}] + {next_imm} ll", {.src = uint8_t(LddwKind::MapIndexValue)});
    return forms;
}

struct FormIndex {
    std::vector<Form> forms;
    std::array<std::vector<uint16_t>, 256> by_opcode;
};

const FormIndex& form_index() {
    static const FormIndex index = [] {
        FormIndex built;
        built.forms = build_forms();
        for (size_t i = 0; i < built.forms.size(); ++i) built.by_opcode[built.forms[i].opcode].push_back(uint16_t(i));
        return built;
    }();
    return index;
}

}  // namespace

std::string_view strip_comment(std::string_view line) {
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        bool starts_comment = c == ';' || (c == '/' && i + 1 < line.size() && line[i + 1] == '/') ||
                              (c == '#' && (i == 0 || std::isspace(static_cast<unsigned char>(line[i - 1]))));
        if (starts_comment) return line.substr(0, i);
    }
    return line;
}

std::vector<Token> tokenize(std::string_view line) {
    std::vector<Token> tokens;
    size_t i = 0;
    while (i < line.size()) {
        char c = line[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
            continue;
        }
        size_t start = i;
        // "s>=" etc.: an 's' directly followed by an operator character.
        bool signed_operator = c == 's' && i + 1 < line.size() && std::string_view("<>/%").find(line[i + 1]) != std::string_view::npos;
        if (!signed_operator && is_identifier_start(c)) {
            while (i < line.size() && is_identifier_char(line[i])) ++i;
            tokens.push_back({TokenKind::Identifier, line.substr(start, i - start), start});
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) {
            while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
            tokens.push_back({TokenKind::Number, line.substr(start, i - start), start});
            continue;
        }
        size_t length = 1;
        for (auto op : compound_operators) {
            if (line.substr(i).starts_with(op)) {
                length = op.size();
                break;
            }
        }
        tokens.push_back({TokenKind::Operator, line.substr(start, length), start});
        i += length;
    }
    return tokens;
}

const std::vector<Form>& forms() { return form_index().forms; }

std::span<const uint16_t> forms_with_opcode(uint8_t opcode) { return form_index().by_opcode[opcode]; }

bool fits(const Form& form, const Instruction& insn, const Instruction* next) {
    if (insn.opcode != form.opcode) return false;
    const BoundFields& bound = form.bound;
    if (bound.dst ? insn.dst > 10 : insn.dst != form.dst) return false;
    if (bound.src ? insn.src > 10 : insn.src != form.src) return false;
    if (!bound.offset && insn.offset != form.offset) return false;
    if (!bound.imm && insn.imm != form.imm) return false;
    if (!form.wide) return true;
    if (next == nullptr || next->opcode != 0 || next->dst != 0 || next->src != 0 || next->offset != 0) return false;
    return bound.next_imm || next->imm == form.next_imm;
}

const Form* find_form(const Instruction& insn, const Instruction* next) {
    const auto& index = form_index();
    for (uint16_t i : index.by_opcode[insn.opcode])
        if (!index.forms[i].read_only && fits(index.forms[i], insn, next)) return &index.forms[i];
    return nullptr;
}

namespace {

// Names a local call target cannot have: "call pc" would read as a pc-relative
// target, and "call local/helper/runtime ..." as the uBPF dialect.
constexpr std::array<std::string_view, 4> reserved_function_names{"pc", "local", "helper", "runtime"};

bool is_identifier(std::string_view name) {
    if (name.empty() || !is_identifier_start(name[0])) return false;
    return std::all_of(name.begin(), name.end(), is_identifier_char);
}

}  // namespace

// Inside map[...] any identifier reads back as a name (a number is an index).
bool is_printable_map_name(std::string_view name) { return is_identifier(name); }

bool is_printable_function_name(std::string_view name) {
    if (!is_identifier(name) || name.starts_with(".L")) return false;
    if (std::find(reserved_function_names.begin(), reserved_function_names.end(), name) !=
        reserved_function_names.end())
        return false;
    if (parse_register(name, 'r') || parse_register(name, 'w')) return false;
    return !helper_id(name).has_value();
}

std::optional<uint8_t> parse_register(std::string_view text, char prefix) {
    if (text.size() < 2 || text.size() > 3 || text[0] != prefix) return std::nullopt;
    unsigned value = 0;
    for (char c : text.substr(1)) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
        value = value * 10 + unsigned(c - '0');
    }
    if (text.size() == 3 && text[1] == '0') return std::nullopt;  // "r01"
    if (value > 10) return std::nullopt;
    return uint8_t(value);
}

}  // namespace bpfvet::ir::syntax
