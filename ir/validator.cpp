#include "ir/validator.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace bpfvet::ir {
namespace {

constexpr int MaxRegister = 10;

using Problem = std::optional<InstructionProblem>;
using Scope = Defect::Scope;

// The kernel finds these in do_check, only on a path that reaches the instruction.
Problem when_reached(std::string message) { return InstructionProblem{std::move(message), Scope::WhenReached}; }
// And these in its passes over the whole program before any analysis.
Problem whole_program(std::string message) { return InstructionProblem{std::move(message), Scope::WholeProgram}; }

Problem check_register(uint8_t reg, std::string_view field) {
    if (reg > MaxRegister) return when_reached(fmt::format("invalid register r{} in the {} field", reg, field));
    return std::nullopt;
}

Problem check_zero(int64_t value, std::string_view field) {
    if (value != 0) return when_reached(fmt::format("reserved field '{}' must be 0 (is {})", field, value));
    return std::nullopt;
}

Problem check_writable_dst(uint8_t dst) {
    if (auto e = check_register(dst, "dst")) return e;
    if (dst == FramePointer) return when_reached("write to the read-only frame pointer r10");
    return std::nullopt;
}

Problem first_of(std::initializer_list<Problem> checks) {
    for (const auto& c : checks)
        if (c) return c;
    return std::nullopt;
}

// Opcodes outside the kernel's instruction table (bpf_opcode_in_insntable).
Problem unknown(const Instruction& insn) { return whole_program(fmt::format("unknown opcode 0x{:02x}", insn.opcode)); }

Problem check_alu(const Instruction& insn) {
    const bool is64 = insn.cls() == InstructionClass::Alu64;
    const bool reg = insn.source() == Source::Reg;
    switch (insn.alu_op()) {
    case AluOp::Neg:
        if (reg) return unknown(insn);
        return first_of({check_writable_dst(insn.dst), check_zero(insn.src, "src"),
                         check_zero(insn.offset, "offset"), check_zero(insn.imm, "imm")});
    case AluOp::End:
        // Alu64 End is the v4 unconditional bswap and has no byte-order bit.
        if (is64 && reg) return unknown(insn);
        if (insn.imm != 16 && insn.imm != 32 && insn.imm != 64)
            return when_reached(fmt::format("byte swap width must be 16, 32 or 64 (is {})", insn.imm));
        return first_of({check_writable_dst(insn.dst), check_zero(insn.src, "src"), check_zero(insn.offset, "offset")});
    case AluOp::Div:
    case AluOp::Mod:
        // offset 1 selects the signed variant (sdiv/smod, v4).
        if (insn.offset != 0 && insn.offset != 1)
            return when_reached(fmt::format("division offset must be 0 (unsigned) or 1 (signed) (is {})", insn.offset));
        if (!reg && insn.imm == 0) return when_reached("division by the constant 0");
        break;
    case AluOp::Mov:
        // offset 8/16/32 selects movsx (v4), register source only; 32 only in Alu64.
        if (insn.offset != 0) {
            bool valid = reg && (insn.offset == 8 || insn.offset == 16 || (is64 && insn.offset == 32));
            // addr_space_cast (offset 1, Alu64 register move): arena pointers.
            if (is64 && reg && insn.offset == 1) return check_writable_dst(insn.dst);
            if (!valid) return when_reached(fmt::format("invalid sign-extension width {} for mov", insn.offset));
        }
        break;
    case AluOp::Lsh: case AluOp::Rsh: case AluOp::Arsh:
        if (!reg && (insn.imm < 0 || insn.imm >= (is64 ? 64 : 32)))
            return when_reached(fmt::format("shift by {} is outside 0..{} for a {}-bit operation", insn.imm,
                                            is64 ? 63 : 31, is64 ? 64 : 32));
        [[fallthrough]];
    case AluOp::Add: case AluOp::Sub: case AluOp::Mul: case AluOp::Or: case AluOp::And:
    case AluOp::Xor:
        if (auto e = check_zero(insn.offset, "offset")) return e;
        break;
    default:
        return unknown(insn);
    }
    if (auto e = check_writable_dst(insn.dst)) return e;
    if (reg) return first_of({check_register(insn.src, "src"), check_zero(insn.imm, "imm")});
    return check_zero(insn.src, "src");
}

Problem check_jump(const Instruction& insn) {
    const bool is32 = insn.cls() == InstructionClass::Jmp32;
    const bool reg = insn.source() == Source::Reg;
    switch (insn.jmp_op()) {
    case JmpOp::Ja:
        if (reg) return unknown(insn);
        // JMP32 JA is gotol: the distance lives in imm instead of offset.
        return first_of({check_zero(insn.dst, "dst"), check_zero(insn.src, "src"),
                         is32 ? check_zero(insn.offset, "offset") : check_zero(insn.imm, "imm")});
    case JmpOp::Exit:
        if (is32 || reg) return unknown(insn);
        return first_of({check_zero(insn.dst, "dst"), check_zero(insn.src, "src"),
                         check_zero(insn.offset, "offset"), check_zero(insn.imm, "imm")});
    case JmpOp::Call:
        if (is32) return unknown(insn);
        if (reg)  // callx: target address in a register (named by dst, as LLVM encodes it)
            return first_of({check_register(insn.dst, "dst"), check_zero(insn.src, "src"),
                             check_zero(insn.offset, "offset")});
        if (insn.src > uint8_t(CallKind::Kfunc))
            return when_reached(fmt::format("invalid call kind {} in the src field", insn.src));
        // kfunc calls may carry a BTF object fd index in offset; others must not.
        return first_of({check_zero(insn.dst, "dst"),
                         insn.src == uint8_t(CallKind::Kfunc) ? std::nullopt : check_zero(insn.offset, "offset")});
    case JmpOp::Jcond:
        // may_goto: only the JMP (not JMP32) immediate form, every field but the offset zero.
        if (is32 || reg) return unknown(insn);
        return first_of({check_zero(insn.dst, "dst"), check_zero(insn.src, "src"), check_zero(insn.imm, "imm")});
    case JmpOp::Jeq: case JmpOp::Jgt: case JmpOp::Jge: case JmpOp::Jset: case JmpOp::Jne:
    case JmpOp::Jsgt: case JmpOp::Jsge: case JmpOp::Jlt: case JmpOp::Jle: case JmpOp::Jslt:
    case JmpOp::Jsle:
        if (auto e = check_register(insn.dst, "dst")) return e;
        if (reg) return first_of({check_register(insn.src, "src"), check_zero(insn.imm, "imm")});
        return check_zero(insn.src, "src");
    default:
        return unknown(insn);
    }
}

Problem check_lddw(const Instruction& insn, const Instruction* next) {
    // The kernel checks every LDDW's shape and kind before the analysis.
    if (!next) return whole_program("truncated LDDW: its second slot is missing");
    if (insn.src > uint8_t(LddwKind::MapIndexValue))
        return whole_program(fmt::format("invalid LDDW kind {} in the src field", insn.src));
    if (next->opcode != 0 || next->dst != 0 || next->src != 0 || next->offset != 0)
        return whole_program("malformed LDDW: its second slot must have only an immediate");
    auto kind = LddwKind(insn.src);
    if ((kind == LddwKind::MapFd || kind == LddwKind::MapIndex || kind == LddwKind::Function) && next->imm != 0)
        return whole_program("reserved field 'imm' of the LDDW second slot must be 0 for this kind");
    return first_of({check_writable_dst(insn.dst), check_zero(insn.offset, "offset")});
}

Problem check_memory(const Instruction& insn) {
    const MemMode mode = insn.mem_mode();
    switch (insn.cls()) {
    case InstructionClass::Ld:
        // Legacy packet loads: LD_ABS / LD_IND of 1, 2 or 4 bytes into r0.
        if ((mode != MemMode::Abs && mode != MemMode::Ind) || insn.mem_size() == MemSize::DW) return unknown(insn);
        return first_of({check_zero(insn.dst, "dst"), check_zero(insn.offset, "offset"),
                         mode == MemMode::Abs ? check_zero(insn.src, "src") : check_register(insn.src, "src")});
    case InstructionClass::Ldx:
        if (mode != MemMode::Mem && !(mode == MemMode::MemSx && insn.mem_size() != MemSize::DW)) return unknown(insn);
        // The kernel checks LDX's imm on every instruction before the analysis.
        if (insn.imm != 0) return whole_program(fmt::format("reserved field 'imm' must be 0 (is {})", insn.imm));
        return first_of({check_writable_dst(insn.dst), check_register(insn.src, "src")});
    case InstructionClass::St:
        if (mode != MemMode::Mem) return unknown(insn);
        return first_of({check_register(insn.dst, "dst"), check_zero(insn.src, "src")});
    case InstructionClass::Stx:
        if (mode == MemMode::Mem)
            return first_of({check_register(insn.dst, "dst"), check_register(insn.src, "src"), check_zero(insn.imm, "imm")});
        if (mode == MemMode::Atomic) {
            if (insn.imm == atomic::LoadAcquire)  // dst = load_acquire(src + off), any width
                return first_of({check_writable_dst(insn.dst), check_register(insn.src, "src")});
            if (insn.imm == atomic::StoreRelease)  // store_release(dst + off, src)
                return first_of({check_register(insn.dst, "dst"), check_register(insn.src, "src")});
            if (insn.mem_size() != MemSize::W && insn.mem_size() != MemSize::DW)
                return when_reached("atomic read-modify-write operations need a 4- or 8-byte operand");
            switch (insn.imm) {
            case atomic::Add: case atomic::Or: case atomic::And: case atomic::Xor:
            case atomic::Add | atomic::Fetch: case atomic::Or | atomic::Fetch:
            case atomic::And | atomic::Fetch: case atomic::Xor | atomic::Fetch:
            case atomic::Xchg: case atomic::CmpXchg:
                return first_of({check_register(insn.dst, "dst"), check_register(insn.src, "src")});
            default:
                return when_reached(fmt::format("unknown atomic operation 0x{:x}", insn.imm));
            }
        }
        return unknown(insn);
    default:
        return unknown(insn);
    }
}

// Can control pass from this instruction to the next slot?
bool falls_through(const Instruction& insn) { return !insn.is_exit() && !insn.is_goto(); }

}  // namespace

std::expected<std::vector<Instruction>, std::string> decode_bytes(std::span<const uint8_t> bytes) {
    if (bytes.size() % 8 != 0)
        return std::unexpected(fmt::format("size {} is not a multiple of the 8-byte instruction size", bytes.size()));
    std::vector<Instruction> out;
    out.reserve(bytes.size() / 8);
    for (size_t i = 0; i < bytes.size(); i += 8) {
        uint64_t word = 0;
        for (int b = 7; b >= 0; --b) word = word << 8 | bytes[i + size_t(b)];
        out.push_back(decode_slot(word));
    }
    return out;
}

std::optional<InstructionProblem> check_instruction(const Instruction& insn, const Instruction* next) {
    if (insn.is_lddw()) return check_lddw(insn, next);
    if (insn.is_alu()) return check_alu(insn);
    if (insn.is_jmp()) return check_jump(insn);
    return check_memory(insn);
}

std::vector<Defect> validate(const Program& program) {
    const auto& code = program.instructions;
    const size_t n = code.size();
    std::vector<Defect> defects;
    if (n == 0) {
        defects.push_back({0, "the program has no instructions"});
        return defects;
    }
    // Second slots of LDDW are not instructions: no jump may land there.
    std::vector<bool> is_second_slot(n, false);
    bool whole_program_defect = false;
    for (size_t pc = 0; pc < n; ++pc) {
        const Instruction* next = pc + 1 < n ? &code[pc + 1] : nullptr;
        if (auto problem = check_instruction(code[pc], next)) {
            defects.push_back({pc, problem->message, problem->scope});
            if (problem->scope == Defect::Scope::WholeProgram) {
                whole_program_defect = true;
                continue;
            }
        }
        if (code[pc].is_lddw()) is_second_slot[++pc] = true;
    }
    if (whole_program_defect) return defects;

    auto add = [&](size_t pc, std::string message) { defects.push_back({pc, std::move(message)}); };
    auto check_target = [&](size_t pc, int64_t target, std::string_view what) {
        if (target < 0 || size_t(target) >= n) {
            add(pc, fmt::format("{} target {} is outside the program (0..{})", what, target, n - 1));
            return false;
        }
        if (is_second_slot[size_t(target)]) {
            add(pc, fmt::format("{} target {} is the second half of an LDDW", what, target));
            return false;
        }
        return true;
    };
    auto is_function_start = [&](int64_t target) {
        return std::ranges::any_of(program.functions, [&](const Function& f) { return f.start == target; });
    };
    for (size_t pc = 0; pc < n; ++pc) {
        const Instruction& insn = code[pc];
        if (is_second_slot[pc]) continue;
        const bool unresolved = std::ranges::any_of(program.unresolved_calls, [&](const auto& u) { return u.pc == pc; });
        if (insn.is_jmp() && !insn.is_call() && !insn.is_exit()) {
            const int64_t target = int64_t(pc) + 1 + insn.jump_offset();
            if (!check_target(pc, target, "jump")) continue;
            // The kernel's check_subprogs: a jump stays inside its function.
            const Function* from = program.function_at(pc);
            if (from && (target < int64_t(from->start) || target >= int64_t(from->end)))
                add(pc, fmt::format("jump target {} is outside the function '{}' ({}..{})", target, from->name,
                                    from->start, from->end - 1));
        } else if (insn.is_local_call() && !unresolved) {
            int64_t target = int64_t(pc) + 1 + insn.imm;
            if (check_target(pc, target, "call") && !is_function_start(target))
                add(pc, fmt::format("call target {} is not the start of a function", target));
        } else if (insn.is_lddw() && LddwKind(insn.src) == LddwKind::Function) {
            int64_t target = int64_t(pc) + 1 + insn.imm;
            if (check_target(pc, target, "function pointer") && !is_function_start(target))
                add(pc, fmt::format("function pointer target {} is not the start of a function", target));
        }
    }
    // Falling off the end of a function (or of the whole program).
    auto check_end = [&](size_t end, std::string_view name) {
        size_t last = end - 1;
        if (last > 0 && is_second_slot[last]) --last;
        if (falls_through(code[last]))
            add(last, fmt::format("execution can fall through past the last instruction of '{}'", name));
    };
    if (program.functions.empty()) {
        check_end(n, program.name);
    } else {
        for (const auto& f : program.functions)
            if (f.end > f.start && f.end <= n) check_end(f.end, f.name);
    }
    return defects;
}

}  // namespace bpfvet::ir
