#include "ir/disassembler.hpp"

#include "ir/assembly_syntax.hpp"
#include "ir/helper_names.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace bpfvet::ir {
namespace {

using syntax::Operand;
using syntax::is_printable_function_name;
using syntax::is_printable_map_name;

// A signed distance as a jump operand: 3 -> "+3", -1 -> "-1", 0 -> "+0".
std::string signed_distance(int64_t distance) { return fmt::format("{:+d}", distance); }

// An address offset: 4 -> "+ 4", -8 -> "- 8" (so "(r10 - 8)" reads like C).
std::string address_offset(int64_t offset) {
    return offset < 0 ? fmt::format("- {}", -offset) : fmt::format("+ {}", offset);
}

// Masks and unsigned comparisons read better in hex, small and negative values in decimal:
// 255 -> "0xff", 7 -> "7", -8 -> "-8".
std::string hex_immediate(int32_t value) {
    if (value < 10) return std::to_string(value);
    return fmt::format("{:#x}", uint32_t(value));
}

// The name of the function starting at `pc`, if the context has one we can print.
const Function* function_starting_at(const DisassemblyContext& context, int64_t pc) {
    if (context.functions == nullptr) return nullptr;
    for (const auto& function : *context.functions)
        if (int64_t(function.start) == pc && is_printable_function_name(function.name)) return &function;
    return nullptr;
}

std::string jump_target(const DisassemblyContext& context, int64_t distance) {
    int64_t target = int64_t(context.pc) + 1 + distance;
    const auto* labelled = context.labelled_pcs;
    if (labelled != nullptr && target >= 0 && size_t(target) < labelled->size() && (*labelled)[size_t(target)])
        return jump_label(size_t(target));
    return signed_distance(distance);
}

std::string map_reference(const DisassemblyContext& context, int32_t index) {
    if (context.object != nullptr && index >= 0 && size_t(index) < context.object->maps.size()) {
        const auto& maps = context.object->maps;
        const std::string& name = maps[size_t(index)].name;
        bool unique = std::count_if(maps.begin(), maps.end(), [&](const auto& map) { return map.name == name; }) == 1;
        if (unique && is_printable_map_name(name)) return name;
    }
    return std::to_string(index);
}

std::string render(Operand operand, const Instruction& insn, const Instruction* next,
                   const DisassemblyContext& context) {
    switch (operand) {
    case Operand::Dst: return fmt::format("r{}", insn.dst);
    case Operand::Dst32: return fmt::format("w{}", insn.dst);
    case Operand::Src: return fmt::format("r{}", insn.src);
    case Operand::Src32: return fmt::format("w{}", insn.src);
    case Operand::Imm: return std::to_string(insn.imm);
    case Operand::HexImm: return hex_immediate(insn.imm);
    case Operand::MemoryOffset: return address_offset(insn.offset);
    case Operand::OffsetNumber: return std::to_string(insn.offset);
    case Operand::IndexOffset: return address_offset(insn.imm);
    case Operand::JumpOffset: return jump_target(context, insn.offset);
    case Operand::JumpImm: return jump_target(context, insn.imm);
    case Operand::CallTarget: {
        if (const auto* function = function_starting_at(context, int64_t(context.pc) + 1 + insn.imm))
            return function->name;
        return "pc" + signed_distance(insn.imm);
    }
    case Operand::Helper: {
        std::string_view name = helper_name(insn.imm);
        return name.empty() ? std::to_string(insn.imm) : std::string(name);
    }
    case Operand::Imm64: {
        uint64_t value = lddw_value(insn, *next);
        return value < 10 ? std::to_string(value) : fmt::format("{:#x}", value);
    }
    case Operand::Map: return map_reference(context, insn.imm);
    case Operand::NextImm: return std::to_string(uint32_t(next->imm));
    case Operand::FunctionRef: {
        if (const auto* function = function_starting_at(context, int64_t(context.pc) + 1 + insn.imm))
            return function->name;
        return signed_distance(insn.imm);
    }
    }
    return {};
}

}  // namespace

std::string source_comment(const SourceLocation& location) {
    std::string text = location.text;
    std::replace(text.begin(), text.end(), '\n', ' ');
    std::replace(text.begin(), text.end(), '\r', ' ');
    auto first = text.find_first_not_of(" \t");
    auto last = text.find_last_not_of(" \t");
    text = first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
    if (text.empty()) return fmt::format("; [{}:{}]", location.file, location.line);
    return fmt::format("; {}  [{}:{}]", text, location.file, location.line);
}

std::string jump_label(size_t pc) { return fmt::format(".L{}", pc); }

std::string disassemble(const Instruction& insn, const Instruction* next_slot, const DisassemblyContext& context) {
    const syntax::Form* form = syntax::find_form(insn, next_slot);
    if (form == nullptr) return fmt::format("invalid {:#018x}", encode_slot(insn));
    std::string text;
    for (const auto& piece : form->pattern.pieces) {
        if (const auto* literal = std::get_if<std::string>(&piece))
            text += *literal;
        else
            text += render(std::get<Operand>(piece), insn, next_slot, context);
    }
    return text;
}

size_t printed_width(const Instruction& insn, const Instruction* next_slot) {
    const syntax::Form* form = syntax::find_form(insn, next_slot);
    return form != nullptr && form->wide ? 2 : 1;
}

std::string disassemble_program(const Program& program, const Object* object, const DisassemblyOptions& options) {
    const auto& slots = program.instructions;
    auto next_of = [&](size_t pc) { return pc + 1 < slots.size() ? &slots[pc + 1] : nullptr; };

    // Where printed lines start: a label can only go before one of them.
    std::vector<bool> starts(slots.size(), false);
    for (size_t pc = 0; pc < slots.size(); pc += printed_width(slots[pc], next_of(pc))) starts[pc] = true;

    // Functions printed as labels: at the start of a line, with a name that reads
    // back as a label and that no other function of the program has.
    std::vector<Function> functions;
    auto named_once = [&](const std::string& name) {
        return std::count_if(program.functions.begin(), program.functions.end(),
                             [&](const Function& other) { return other.name == name; }) == 1;
    };
    if (options.function_labels)
        for (const auto& function : program.functions)
            if (function.start < slots.size() && starts[function.start] &&
                is_printable_function_name(function.name) && named_once(function.name))
                functions.push_back(function);

    std::vector<bool> labelled(slots.size(), false);
    if (options.jump_labels) {
        for (size_t pc = 0; pc < slots.size(); ++pc) {
            const Instruction& insn = slots[pc];
            if (!starts[pc] || !(insn.is_conditional_jump() || insn.is_goto() || insn.opcode == syntax::opcode_may_goto))
                continue;
            if (insn.opcode == syntax::opcode_may_goto && insn.src != 0) continue;
            int64_t target = int64_t(pc) + 1 + insn.jump_offset();
            if (target >= 0 && size_t(target) < slots.size() && starts[size_t(target)]) labelled[size_t(target)] = true;
        }
    }

    DisassemblyContext context{.object = object, .functions = &functions, .labelled_pcs = &labelled};
    std::string out;
    const SourceLocation* last_location = nullptr;
    for (size_t pc = 0; pc < slots.size(); pc += printed_width(slots[pc], next_of(pc))) {
        for (const auto& function : functions)
            if (function.start == pc) out += function.name + ":\n";
        if (labelled[pc]) out += jump_label(pc) + ":\n";
        if (options.with_source) {
            const SourceLocation* location = program.location(pc);
            if (location != nullptr && (last_location == nullptr || location->file != last_location->file ||
                                        location->line != last_location->line)) {
                out += source_comment(*location) + "\n";
                last_location = location;
            }
        }
        context.pc = pc;
        if (options.with_pc) out += fmt::format("{:>5}: ", pc);
        out += disassemble(slots[pc], next_of(pc), context);
        out += '\n';
    }
    return out;
}

}  // namespace bpfvet::ir
