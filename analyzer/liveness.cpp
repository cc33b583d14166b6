#include "analyzer/liveness.hpp"

#include "analyzer/helper_table.hpp"

namespace bpfvet::analyzer {

namespace {

constexpr RegisterSet bit(int r) { return RegisterSet(1u << r); }
constexpr RegisterSet arguments = bit(1) | bit(2) | bit(3) | bit(4) | bit(5);
constexpr RegisterSet caller_saved = bit(0) | arguments;

}  // namespace

RegisterEffect register_effect(const ir::Instruction& insn) {
    using ir::InstructionClass;
    RegisterEffect e;
    switch (insn.cls()) {
    case InstructionClass::Alu:
    case InstructionClass::Alu64:
        e.writes = bit(insn.dst);
        if (insn.alu_op() != ir::AluOp::Mov) e.reads |= bit(insn.dst);
        if (insn.source() == ir::Source::Reg && insn.alu_op() != ir::AluOp::Neg && insn.alu_op() != ir::AluOp::End)
            e.reads |= bit(insn.src);
        return e;
    case InstructionClass::Ldx:
        e.reads = bit(insn.src);
        e.writes = bit(insn.dst);
        return e;
    case InstructionClass::St: e.reads = bit(insn.dst); return e;
    case InstructionClass::Stx:
        e.reads = bit(insn.dst) | bit(insn.src);
        if (insn.is_load_acquire()) {
            e.reads = bit(insn.src);
            e.writes = bit(insn.dst);
        } else if (insn.mem_mode() == ir::MemMode::Atomic) {
            if (insn.imm == ir::atomic::CmpXchg) {
                e.reads |= bit(0);
                e.writes |= bit(0);
            } else if ((insn.imm & ir::atomic::Fetch) != 0) {
                e.writes |= bit(insn.src);
            }
        }
        return e;
    case InstructionClass::Ld:
        if (insn.is_lddw()) {
            e.writes = bit(insn.dst);
        } else {  // legacy packet loads read r6 (and the index) and clobber r0..r5
            e.reads = bit(6) | (insn.mem_mode() == ir::MemMode::Ind ? bit(insn.src) : 0);
            e.writes = caller_saved;
        }
        return e;
    case InstructionClass::Jmp:
    case InstructionClass::Jmp32:
        if (insn.is_exit()) {
            e.reads = bit(0);
        } else if (insn.is_call()) {
            e.reads = arguments;
            if (insn.is_helper_call()) {
                if (const HelperPrototype* helper = helper_prototype(insn.imm)) {
                    e.reads = 0;
                    for (size_t i = 0; i < helper->arguments.size(); ++i)
                        if (helper->arguments[i] != ArgumentKind::None) e.reads |= bit(int(i) + 1);
                }
            }
            e.writes = caller_saved;
        } else if (insn.is_conditional_jump() && !insn.is_may_goto()) {
            e.reads = bit(insn.dst) | (insn.source() == ir::Source::Reg ? bit(insn.src) : 0);
        }
        return e;
    }
    return e;
}

std::vector<std::vector<RegisterSet>> compute_liveness(const ir::Program& program, const ir::ProgramCfg& cfg) {
    std::vector<std::vector<RegisterSet>> live_in(cfg.functions.size());
    for (size_t f = 0; f < cfg.functions.size(); ++f) {
        const ir::FunctionCfg& function = cfg.functions[f];
        const size_t blocks = boost::num_vertices(function.graph);
        std::vector<RegisterSet> uses(blocks, 0), defs(blocks, 0);
        for (size_t b = 0; b < blocks; ++b) {
            const ir::BasicBlock& block = function.graph[b];
            for (uint32_t pc = block.first; pc <= block.last && pc < program.instructions.size();) {
                const ir::Instruction& insn = program.instructions[pc];
                RegisterEffect e = register_effect(insn);
                uses[b] |= RegisterSet(e.reads & ~defs[b]);
                defs[b] |= e.writes;
                pc += insn.is_lddw() ? 2 : 1;
            }
        }
        std::vector<RegisterSet>& in = live_in[f];
        in.assign(blocks, 0);
        bool changed = true;
        while (changed) {
            changed = false;
            for (size_t b = blocks; b-- > 0;) {
                RegisterSet out = 0;
                for (auto [it, end] = boost::out_edges(b, function.graph); it != end; ++it)
                    out |= in[boost::target(*it, function.graph)];
                RegisterSet next = RegisterSet(uses[b] | (out & ~defs[b]));
                if (next != in[b]) {
                    in[b] = next;
                    changed = true;
                }
            }
        }
    }
    return live_in;
}

std::vector<RegisterSet> live_before_instructions(const ir::Program& program, const ir::ProgramCfg& cfg,
                                                 const std::vector<std::vector<RegisterSet>>& live_in) {
    std::vector<RegisterSet> before(program.instructions.size(), 0);
    for (size_t f = 0; f < cfg.functions.size(); ++f) {
        const ir::FunctionCfg& function = cfg.functions[f];
        for (size_t b = 0; b < boost::num_vertices(function.graph); ++b) {
            RegisterSet live = 0;
            for (auto [it, end] = boost::out_edges(b, function.graph); it != end; ++it)
                live |= live_in[f][boost::target(*it, function.graph)];
            const ir::BasicBlock& block = function.graph[b];
            std::vector<uint32_t> pcs;
            for (uint32_t pc = block.first; pc <= block.last && pc < program.instructions.size();)
                pcs.push_back(pc), pc += program.instructions[pc].is_lddw() ? 2 : 1;
            for (auto it = pcs.rbegin(); it != pcs.rend(); ++it) {
                const RegisterEffect e = register_effect(program.instructions[*it]);
                live = RegisterSet((live & ~e.writes) | e.reads);
                before[*it] = live;
            }
        }
    }
    return before;
}

}  // namespace bpfvet::analyzer
