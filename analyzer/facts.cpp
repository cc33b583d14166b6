#include "analyzer/facts.hpp"

#include "analyzer/engine.hpp"

#include <algorithm>
#include <bit>
#include <set>
#include <vector>

namespace bpfvet::analyzer {
namespace {

// ---------------------------------------------------------------- call depths

// Where each function of the program starts, and the one call depth it runs
// at (0 for the entry), or none when it may run at several depths or as a
// callback. Example: main calls f and g, f calls g: g runs at depths 1 and 2,
// so g gets none; f gets 1.
struct FunctionDepths {
    std::vector<uint32_t> starts;             // sorted; starts[0] == 0
    std::vector<std::optional<int>> depth;    // per function
    std::vector<size_t> function_of_pc;       // per slot: index into starts
};

FunctionDepths function_depths(const ir::Program& program) {
    const auto& code = program.instructions;
    std::set<uint32_t> starts{0};
    std::set<uint32_t> callbacks;
    std::vector<std::pair<uint32_t, uint32_t>> calls;  // (call pc, target)
    for (size_t pc = 0; pc < code.size(); ++pc) {
        const ir::Instruction& insn = code[pc];
        const bool callback = insn.is_lddw() && insn.src == uint8_t(ir::LddwKind::Function);
        if (insn.is_local_call() || callback) {
            const int64_t target = int64_t(pc) + insn.imm + 1;
            if (target >= 0 && size_t(target) < code.size()) {
                starts.insert(uint32_t(target));
                if (callback) callbacks.insert(uint32_t(target));
                else calls.emplace_back(uint32_t(pc), uint32_t(target));
            }
        }
        if (insn.is_lddw()) ++pc;
    }
    FunctionDepths depths;
    depths.starts.assign(starts.begin(), starts.end());
    depths.function_of_pc.resize(code.size());
    for (size_t f = 0; f < depths.starts.size(); ++f) {
        const size_t end = f + 1 < depths.starts.size() ? depths.starts[f + 1] : code.size();
        for (size_t pc = depths.starts[f]; pc < end; ++pc) depths.function_of_pc[pc] = f;
    }
    auto index_of = [&](uint32_t start) {
        return size_t(std::lower_bound(depths.starts.begin(), depths.starts.end(), start) - depths.starts.begin());
    };
    // All depths each function may run at; recursion is rejected by the
    // analyzer, so the sets stay small (at most MaxCallFrames deep).
    std::vector<std::set<int>> seen(depths.starts.size());
    seen[0].insert(0);
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& [pc, target] : calls) {
            const size_t caller = depths.function_of_pc[pc];
            const size_t callee = index_of(target);
            for (int depth : std::set<int>(seen[caller]))
                if (depth < 16 && seen[callee].insert(depth + 1).second) changed = true;
        }
    }
    depths.depth.resize(depths.starts.size());
    for (size_t f = 0; f < depths.starts.size(); ++f)
        if (seen[f].size() == 1 && !callbacks.contains(depths.starts[f])) depths.depth[f] = *seen[f].begin();
    return depths;
}

// ---------------------------------------------------------------- values

FactRegion region_of(PointerKind kind) {
    switch (kind) {
    case PointerKind::Context: return FactRegion::Context;
    case PointerKind::Stack: return FactRegion::Stack;
    case PointerKind::MapValue: return FactRegion::MapValue;
    case PointerKind::MapPointer: return FactRegion::MapHandle;
    case PointerKind::Packet: return FactRegion::Packet;
    case PointerKind::PacketEnd: return FactRegion::PacketEnd;
    case PointerKind::PacketMeta: return FactRegion::PacketMeta;
    case PointerKind::RingbufMemory: return FactRegion::RingbufMemory;
    case PointerKind::Socket: return FactRegion::Socket;
    case PointerKind::BtfObject: break;  // not described to the JIT (fact_of leaves it unknown)
    case PointerKind::Function: break;
    case PointerKind::Memory: break;  // only inside global functions, which are not described either
    case PointerKind::MapKey: break;  // only inside map callbacks, which `run` does not execute
    }
    return FactRegion::Context;
}

// Low bits known to be 0. Example: tnum value 0x10, mask 0x0f -> none known
// (bit 0 may be 1); value 0x10, mask 0x08 -> 3 bits (0x10 or 0x18).
uint8_t trailing_zeros(const Scalar& number) {
    const auto tnum = number.tnum();
    const uint64_t maybe_one = tnum.value() | tnum.mask();
    return uint8_t(maybe_one == 0 ? 63 : std::countr_zero(maybe_one));
}

void fill_ranges(RegisterFact& fact, const Scalar& number) {
    fact.unsigned_min = number.umin();
    fact.unsigned_max = number.umax();
    fact.signed_min = number.smin();
    fact.signed_max = number.smax();
    fact.known_trailing_zeros = trailing_zeros(number);
}

RegisterFact fact_of(const AbstractState& state, const Value& value) {
    RegisterFact fact;
    if (value.is_scalar() && !value.number.is_bottom()) {
        fact.kind = FactKind::Number;
        fill_ranges(fact, value.number);
    } else if (value.is_pointer() && !value.number.is_bottom() && value.pointer != PointerKind::BtfObject &&
               value.pointer != PointerKind::Function && value.pointer != PointerKind::Memory &&
               value.pointer != PointerKind::MapKey) {
        fact.kind = FactKind::Pointer;
        fact.region = region_of(value.pointer);
        fact.non_null = !value.maybe_null;
        if (value.pointer == PointerKind::Packet) {
            const Scalar from_start = state.packet_offset_from_start(value);
            if (!from_start.is_bottom()) {
                fill_ranges(fact, from_start);
                fact.offset_from_packet_start = true;
            }
        } else {
            fill_ranges(fact, value.number);
        }
    }
    return fact;
}

// Whether `number` (at the ALU's width) can be 0, or -1.
bool may_be_zero(const Scalar& number, bool wide) {
    if (wide) return number.contains(0);
    return number.u32min() == 0 && (number.tnum().value() & 0xffffffffULL) == 0;
}

bool may_be_minus_one(const Scalar& number, bool wide) {
    if (wide) return number.smin() <= -1 && number.smax() >= -1;
    return number.s32min() <= -1 && number.s32max() >= -1;
}

// Alignment of base + offset within its region, from the base's known zero
// bits; 1 when the base is not a pointer. Example: a stack pointer at offset
// -16 (4 known zero bits) with insn offset 8: 8-aligned.
uint8_t access_alignment(const RegisterFact& base, int16_t offset) {
    if (base.kind != FactKind::Pointer) return 1;
    unsigned zeros = std::min<unsigned>(base.known_trailing_zeros, 3);  // at most 8 matters for eBPF accesses
    if (offset != 0) zeros = std::min<unsigned>(zeros, unsigned(std::countr_zero(uint16_t(offset))));
    return uint8_t(1u << zeros);
}

InstructionFacts instruction_facts(const AbstractState& state, const ir::Instruction& insn) {
    InstructionFacts facts;
    for (int r = 0; r < 11; ++r) facts.registers[size_t(r)] = fact_of(state, state.reg(r));
    const auto cls = insn.cls();
    const bool alu = cls == ir::InstructionClass::Alu || cls == ir::InstructionClass::Alu64;
    if (alu && insn.source() == ir::Source::Reg && insn.src < 11 &&
        (insn.alu_op() == ir::AluOp::Div || insn.alu_op() == ir::AluOp::Mod)) {
        const Value& divisor = state.reg(insn.src);
        if (divisor.is_scalar()) {
            const bool wide = cls == ir::InstructionClass::Alu64;
            facts.divisor_nonzero = !may_be_zero(divisor.number, wide);
            facts.divisor_not_minus_one = !may_be_minus_one(divisor.number, wide);
        }
    }
    if (cls == ir::InstructionClass::Ldx && insn.src < 11)
        facts.access_alignment = access_alignment(facts.registers[insn.src], insn.offset);
    if ((cls == ir::InstructionClass::St || cls == ir::InstructionClass::Stx) && insn.dst < 11)
        facts.access_alignment = access_alignment(facts.registers[insn.dst], insn.offset);
    return facts;
}

}  // namespace

ProgramFacts collect_facts(const detail::Engine& engine, const ir::Program& program) {
    ProgramFacts facts;
    if (program.instructions.empty()) return facts;
    // Sanity check of the states themselves: every call returns, so a call
    // the analysis reached whose next instruction it never reached means the
    // continuation was dropped (an analyzer bug: seen on ebpf-samples
    // bpf2bpf.o, where the states after a subprogram's return went missing).
    // Then the states do not cover every execution: trust none of them.
    for (const auto& [pc, state] : engine.invariants_) {
        if (pc + 1 >= program.instructions.size()) continue;
        const auto& insn = program.instructions[pc];
        if (insn.is_call() && !state.is_bottom() &&
            !engine.invariants_.contains(pc + 1))
            return {};
    }
    const FunctionDepths depths = function_depths(program);
    for (const auto& [pc, state] : engine.invariants_) {
        if (pc >= program.instructions.size() || state.is_bottom()) continue;
        const std::optional<int> depth = depths.depth[depths.function_of_pc[pc]];
        // Every state at this pc had depth + 1 frames, so the join was frame by frame.
        if (!depth || state.frame_count() != size_t(*depth) + 1) continue;
        facts.emplace(pc, instruction_facts(state, program.instructions[pc]));
    }
    return facts;
}

}  // namespace bpfvet::analyzer
