#include "jit/lowering.hpp"

#include "jit/compiler.hpp"

#include "runtime/map.hpp"
#include "runtime/run_context.hpp"

#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace bpfvet::jit {
namespace {

using ir::Instruction;
using runtime::LoadedProgram;
using runtime::RunContext;

// ---------------------------------------------------------------- layout

// Where the engine reads "stop now" after a call: RunContext::control (one
// byte) and the engaged flag of RunContext::fault. The flag's place inside
// std::optional is the library's business, so it is found by probing (an empty
// optional has 0 there, an engaged one 1); when the probe does not confirm it,
// the lowered code asks the support function instead.
struct StopFlags {
    size_t control = 0;
    std::optional<size_t> fault_engaged;
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
StopFlags stop_flags() {
    StopFlags flags;
    flags.control = offsetof(RunContext, control);
    static_assert(sizeof(runtime::Control) == 1);
    using OptionalFault = std::optional<runtime::Fault>;
    if constexpr (sizeof(OptionalFault) > sizeof(runtime::Fault)) {
        OptionalFault probe;
        const auto* bytes = reinterpret_cast<const unsigned char*>(&probe);
        size_t at = sizeof(runtime::Fault);
        bool empty_is_zero = bytes[at] == 0;
        probe.emplace();
        if (empty_is_zero && bytes[at] == 1) flags.fault_engaged = offsetof(RunContext, fault) + at;
    }
    return flags;
}
// Where counting code keeps its budget (LoweringOptions::count_back_edges).
const size_t BackEdgesLeftOffset = offsetof(RunContext, back_edges_left);
const size_t CallDepthOffset = offsetof(RunContext, call_depth);
#pragma GCC diagnostic pop

// ---------------------------------------------------------------- functions

// A function of the program: [start, end) slots. Functions start at 0, at each
// local call target and at each LDDW of a function (callbacks); each runs to
// the next start. Example: calls at pc 3 (to 10) and an LDDW of pc 20 give
// [0,10) [10,20) [20,end).
struct FunctionRange {
    uint32_t start = 0;
    uint32_t end = 0;
};

std::expected<std::vector<FunctionRange>, std::string> function_ranges(const std::vector<Instruction>& code) {
    std::set<uint32_t> starts{0};
    for (size_t pc = 0; pc < code.size(); ++pc) {
        const Instruction& insn = code[pc];
        bool function_reference = insn.is_local_call() || (insn.is_lddw() && insn.src == uint8_t(ir::LddwKind::Function));
        if (function_reference) {
            int64_t target = int64_t(pc) + insn.imm + 1;
            if (target < 0 || size_t(target) >= code.size())
                return std::unexpected(fmt::format("pc {}: function target {} outside the program", pc, target));
            starts.insert(uint32_t(target));
        }
        if (insn.is_lddw()) ++pc;
    }
    std::vector<FunctionRange> ranges;
    for (auto it = starts.begin(); it != starts.end(); ++it) {
        auto next = std::next(it);
        ranges.push_back({*it, next == starts.end() ? uint32_t(code.size()) : *next});
    }
    return ranges;
}

// ---------------------------------------------------------------- lowering

class Lowering {
public:
    Lowering(const LoadedProgram& program, llvm::LLVMContext& context, const LoweringOptions& options)
        : program_(program), code_(program.instructions), options_(options), context_(context),
          module_(std::make_unique<llvm::Module>("bpfvet_" + program.section, context)), builder_(context),
          flags_(stop_flags()) {
        i8_ = builder_.getInt8Ty();
        i32_ = builder_.getInt32Ty();
        i64_ = builder_.getInt64Ty();
        ptr_ = builder_.getPtrTy();
        function_type_ = llvm::FunctionType::get(i64_, {i64_, i64_, i64_, i64_, i64_, ptr_}, false);
    }

    std::expected<std::unique_ptr<llvm::Module>, std::string> run() {
        if (code_.empty()) return std::unexpected(std::string("empty program"));
        auto ranges = function_ranges(code_);
        if (!ranges) return std::unexpected(ranges.error());
        ranges_ = std::move(*ranges);
        continuation_.assign(code_.size(), false);
        for (size_t pc = 0; pc < code_.size(); ++pc)
            if (code_[pc].is_lddw() && pc + 1 < code_.size()) continuation_[++pc] = true;
        for (const auto& range : ranges_) {
            auto* function = llvm::Function::Create(function_type_, llvm::Function::InternalLinkage,
                                                    fmt::format("bpf_function_{}", range.start), *module_);
            function->addFnAttr(llvm::Attribute::NoUnwind);
            functions_[range.start] = function;
        }
        compute_may_stop();
        for (const auto& range : ranges_)
            if (auto lowered = lower_function(range); !lowered) return std::unexpected(lowered.error());
        build_entry();
        std::string problems;
        llvm::raw_string_ostream stream(problems);
        if (llvm::verifyModule(*module_, &stream))
            return std::unexpected("internal error: lowered module does not verify: " + problems);
        return std::move(module_);
    }

private:
    // ---- which functions may end the run early (helper calls, transitively):
    // only calls to those need the fault/control check after them.
    void compute_may_stop() {
        // Counting code may stop anywhere: on the budget, or on the depth of calls.
        if (options_.count_back_edges)
            for (const auto& range : ranges_) may_stop_.insert(range.start);
        for (const auto& range : ranges_)
            for (uint32_t pc = range.start; pc < range.end; ++pc)
                if (code_[pc].is_call() && !code_[pc].is_local_call()) may_stop_.insert(range.start);
        for (bool changed = true; changed;) {
            changed = false;
            for (const auto& range : ranges_) {
                if (may_stop_.contains(range.start)) continue;
                for (uint32_t pc = range.start; pc < range.end; ++pc) {
                    const Instruction& insn = code_[pc];
                    if (insn.is_local_call() && may_stop_.contains(uint32_t(int64_t(pc) + insn.imm + 1))) {
                        may_stop_.insert(range.start);
                        changed = true;
                        break;
                    }
                }
            }
        }
    }

    llvm::Function* support(const char* name, llvm::FunctionType* type) {
        auto callee = module_->getOrInsertFunction(name, type);
        auto* function = llvm::cast<llvm::Function>(callee.getCallee());
        function->addFnAttr(llvm::Attribute::NoUnwind);
        return function;
    }

    // ---- per function state
    struct FunctionState {
        FunctionRange range;
        llvm::Function* function = nullptr;
        llvm::Value* context = nullptr;       // RunContext*
        llvm::AllocaInst* registers[10] = {};  // r0..r9
        llvm::AllocaInst* stack = nullptr;     // [512 x i8]
        llvm::AllocaInst* may_goto_left = nullptr;  // iterations left (runtime::MayGotoBudget)
        llvm::Value* frame_pointer = nullptr;  // r10 as i64
        std::map<uint32_t, llvm::BasicBlock*> blocks;  // by first pc
        llvm::BasicBlock* fell_off = nullptr;
    };

    llvm::Value* read(FunctionState& state, int reg) {
        if (reg == ir::FramePointer) return state.frame_pointer;
        // A number the analyzer proved constant here (e.g. on one side of a
        // branch) is that constant, whatever LLVM can see.
        if (current_facts_)
            if (auto constant = current_facts_->registers[size_t(reg)].constant()) return builder_.getInt64(*constant);
        return builder_.CreateLoad(i64_, state.registers[reg], fmt::format("r{}", reg));
    }
    void write(FunctionState& state, int reg, llvm::Value* value) {
        builder_.CreateStore(value, state.registers[reg]);
    }

    // The instruction's second operand: the src register or the sign-extended imm.
    llvm::Value* source_operand(FunctionState& state, const Instruction& insn) {
        if (insn.source() == ir::Source::Reg) return read(state, insn.src);
        return builder_.getInt64(uint64_t(int64_t(insn.imm)));
    }

    std::string at(uint32_t pc, const std::string& message) const { return fmt::format("pc {}: {}", pc, message); }

    std::expected<void, std::string> lower_function(const FunctionRange& range) {
        FunctionState state;
        state.range = range;
        state.function = functions_[range.start];
        auto* entry = llvm::BasicBlock::Create(context_, "entry", state.function);
        builder_.SetInsertPoint(entry);
        state.stack = builder_.CreateAlloca(llvm::ArrayType::get(i8_, ir::StackSize), nullptr, "stack");
        state.stack->setAlignment(llvm::Align(16));
        for (int reg = 0; reg < 10; ++reg) state.registers[reg] = builder_.CreateAlloca(i64_, nullptr, fmt::format("r{}.slot", reg));
        state.may_goto_left = builder_.CreateAlloca(i64_, nullptr, "may_goto_left");
        builder_.CreateStore(builder_.getInt64(runtime::MayGotoBudget), state.may_goto_left);
        state.context = state.function->getArg(5);
        for (int reg = 0; reg < 10; ++reg)
            builder_.CreateStore(reg >= 1 && reg <= 5 ? static_cast<llvm::Value*>(state.function->getArg(unsigned(reg - 1)))
                                                      : builder_.getInt64(0),
                                 state.registers[reg]);
        state.frame_pointer = builder_.CreatePtrToInt(
            builder_.CreateConstInBoundsGEP1_64(i8_, state.stack, ir::StackSize), i64_, "r10");
        if (options_.count_back_edges) count_call_depth(state, +1);

        // Leaders: the start, jump targets, and what follows a jump or exit.
        std::set<uint32_t> leaders{range.start};
        for (uint32_t pc = range.start; pc < range.end; ++pc) {
            const Instruction& insn = code_[pc];
            if (insn.is_lddw()) {
                ++pc;
                continue;
            }
            if (insn.is_jmp() && (insn.is_goto() || insn.is_conditional_jump())) {
                int64_t target = int64_t(pc) + insn.jump_offset() + 1;
                if (target < range.start || target >= range.end)
                    return std::unexpected(at(pc, fmt::format("jump to {} leaves its function [{}, {})", target,
                                                             range.start, range.end)));
                if (continuation_[size_t(target)])
                    return std::unexpected(at(pc, "jump into the middle of an lddw"));
                leaders.insert(uint32_t(target));
                leaders.insert(pc + 1);
            }
            if (insn.is_exit()) leaders.insert(pc + 1);
        }
        for (uint32_t leader : leaders)
            if (leader < range.end) state.blocks[leader] = llvm::BasicBlock::Create(context_, fmt::format("pc{}", leader), state.function);
        builder_.CreateBr(state.blocks[range.start]);

        bool terminated = true;
        for (uint32_t pc = range.start; pc < range.end; ++pc) {
            if (auto block = state.blocks.find(pc); block != state.blocks.end()) {
                if (!terminated) builder_.CreateBr(block->second);
                builder_.SetInsertPoint(block->second);
                terminated = false;
            } else if (terminated) {
                // Dead code after an exit or jump that no jump reaches.
                builder_.SetInsertPoint(llvm::BasicBlock::Create(context_, fmt::format("dead{}", pc), state.function));
                terminated = false;
            }
            if (state.blocks.contains(pc)) map_in_register_.fill(std::nullopt);  // other paths join here
            if (pc == folded_pc_) continue;  // the second half of a no-op shift pair (lower_alu)
            current_facts_ = facts_at(pc);
            auto lowered = lower_instruction(state, pc, terminated);
            current_facts_ = nullptr;
            if (!lowered) return std::unexpected(lowered.error());
            track_map_handles(pc);
            if (code_[pc].is_lddw()) ++pc;
        }
        if (!terminated) builder_.CreateBr(fell_off_block(state, range.end));
        return {};
    }


    // The run fell off the end of a function: the support function records the
    // fault the interpreter would report.
    llvm::BasicBlock* fell_off_block(FunctionState& state, uint32_t pc) {
        if (state.fell_off) return state.fell_off;
        auto saved = builder_.saveIP();
        state.fell_off = llvm::BasicBlock::Create(context_, "fell_off", state.function);
        builder_.SetInsertPoint(state.fell_off);
        auto* type = llvm::FunctionType::get(i64_, {ptr_, i64_}, false);
        builder_.CreateRet(builder_.CreateCall(support(FallOffSymbol, type), {state.context, builder_.getInt64(pc)}));
        builder_.restoreIP(saved);
        return state.fell_off;
    }

    llvm::BasicBlock* block_at(FunctionState& state, uint32_t pc) { return state.blocks.at(pc); }

    std::expected<void, std::string> lower_instruction(FunctionState& state, uint32_t pc, bool& terminated) {
        const Instruction& insn = code_[pc];
        switch (insn.cls()) {
        case ir::InstructionClass::Alu:
        case ir::InstructionClass::Alu64: return lower_alu(state, pc);
        case ir::InstructionClass::Jmp:
        case ir::InstructionClass::Jmp32: return lower_jump(state, pc, terminated);
        case ir::InstructionClass::Ldx: return lower_load(state, pc);
        case ir::InstructionClass::St:
        case ir::InstructionClass::Stx: return lower_store(state, pc);
        case ir::InstructionClass::Ld: return lower_ld(state, pc);
        }
        return std::unexpected(at(pc, fmt::format("opcode {:#04x}", insn.opcode)));
    }

    // ---- ALU

    // Division and modulo with the ISA's rules: x / 0 = 0, x % 0 = x, and for
    // signed, INT_MIN / -1 = INT_MIN (wraps), INT_MIN % -1 = 0. With an
    // immediate divisor the selects fold away.
    // With `nonzero` (the analyzer proved the divisor is never 0) the zero
    // check is left out, with `not_minus_one` the signed -1 case.
    llvm::Value* divide(llvm::Value* d, llvm::Value* s, bool is_signed, bool modulo, bool nonzero, bool not_minus_one) {
        auto* type = d->getType();
        auto* zero = llvm::ConstantInt::get(type, 0);
        auto* one = llvm::ConstantInt::get(type, 1);
        llvm::Value* is_zero = nonzero ? static_cast<llvm::Value*>(builder_.getFalse()) : builder_.CreateICmpEQ(s, zero);
        if (!is_signed) {
            auto* safe = builder_.CreateSelect(is_zero, one, s);
            if (modulo) return builder_.CreateSelect(is_zero, d, builder_.CreateURem(d, safe));
            return builder_.CreateSelect(is_zero, zero, builder_.CreateUDiv(d, safe));
        }
        auto* minus_one = llvm::ConstantInt::getSigned(type, -1);
        llvm::Value* is_minus_one = not_minus_one ? static_cast<llvm::Value*>(builder_.getFalse()) : builder_.CreateICmpEQ(s, minus_one);
        auto* safe = builder_.CreateSelect(builder_.CreateOr(is_zero, is_minus_one), one, s);
        if (modulo)
            return builder_.CreateSelect(is_zero, d, builder_.CreateSelect(is_minus_one, zero, builder_.CreateSRem(d, safe)));
        return builder_.CreateSelect(is_zero, zero,
                                     builder_.CreateSelect(is_minus_one, builder_.CreateNeg(d), builder_.CreateSDiv(d, safe)));
    }

    const InstructionFacts* facts_at(uint32_t pc) const {
        if (!options_.facts) return nullptr;
        auto found = options_.facts->find(pc);
        return found == options_.facts->end() ? nullptr : &found->second;
    }

    llvm::Value* byte_swap(llvm::Value* value, unsigned bits) {
        auto* narrow = builder_.CreateTrunc(value, builder_.getIntNTy(bits));
        auto* swapped = builder_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, narrow);
        return builder_.CreateZExt(swapped, i64_);
    }

    // `x <<= K; x >>= K` clears the top K bits (64-bit code's zero-extension
    // idiom, e.g. of a 32-bit loop counter). When the analyzer proved them
    // clear already, the pair leaves x as it is: lowering it as nothing lets
    // LLVM see the induction variable through it (and count, and unroll, the
    // loop: ../shared/bench/checksum.c).
    bool is_needless_zero_extension(const FunctionState& state, uint32_t pc) const {
        const Instruction& shift_left = code_[pc];
        constexpr uint8_t left = uint8_t(ir::InstructionClass::Alu64) | uint8_t(ir::AluOp::Lsh) | uint8_t(ir::Source::Imm);
        constexpr uint8_t right = uint8_t(ir::InstructionClass::Alu64) | uint8_t(ir::AluOp::Rsh) | uint8_t(ir::Source::Imm);
        if (shift_left.opcode != left || shift_left.imm <= 0 || shift_left.imm >= 64 || !current_facts_) return false;
        if (pc + 1 >= state.range.end || state.blocks.contains(pc + 1)) return false;
        const Instruction& shift_right = code_[pc + 1];
        if (shift_right.opcode != right || shift_right.dst != shift_left.dst || shift_right.imm != shift_left.imm) return false;
        const analyzer::RegisterFact& value = current_facts_->registers[shift_left.dst];
        return value.kind == analyzer::FactKind::Number && value.unsigned_max < (uint64_t(1) << (64 - shift_left.imm));
    }

    std::expected<void, std::string> lower_alu(FunctionState& state, uint32_t pc) {
        const Instruction& insn = code_[pc];
        bool wide = insn.cls() == ir::InstructionClass::Alu64;
        if (insn.dst >= ir::FramePointer) return std::unexpected(at(pc, "write to r10"));
        if (insn.source() == ir::Source::Reg && insn.src > ir::FramePointer) return std::unexpected(at(pc, "bad source register"));
        auto op = insn.alu_op();
        if (is_needless_zero_extension(state, pc)) {
            folded_pc_ = pc + 1;
            return {};
        }
        if (op == ir::AluOp::End) {
            unsigned bits = unsigned(insn.imm);
            if (bits != 16 && bits != 32 && bits != 64) return std::unexpected(at(pc, fmt::format("byte swap of {} bits", bits)));
            llvm::Value* d = read(state, insn.dst);
            bool swap = wide || insn.source() == ir::Source::Reg;  // Alu64: bswap; Alu: to-BE swaps, to-LE truncates
            llvm::Value* result = swap ? byte_swap(d, bits) : bits == 64 ? d : builder_.CreateZExt(builder_.CreateTrunc(d, builder_.getIntNTy(bits)), i64_);
            write(state, insn.dst, result);
            return {};
        }
        const InstructionFacts* facts = current_facts_;
        llvm::Value* d = op == ir::AluOp::Mov ? nullptr : read(state, insn.dst);
        llvm::Value* s = source_operand(state, insn);
        bool nonzero = facts && facts->divisor_nonzero;
        bool not_minus_one = facts && facts->divisor_not_minus_one;
        // A shift amount proved below the width needs no mask (`r1 <<= r2` with r2 in [0, 7]).
        bool small_shift = facts && insn.source() == ir::Source::Reg &&
                           facts->registers[insn.src].kind == analyzer::FactKind::Number &&
                           facts->registers[insn.src].unsigned_max < (wide ? 64u : 32u);
        llvm::Type* type = wide ? i64_ : i32_;
        if (!wide) {
            if (d) d = builder_.CreateTrunc(d, i32_);
            s = builder_.CreateTrunc(s, i32_);
        }
        unsigned width = wide ? 64 : 32;
        auto* mask = llvm::ConstantInt::get(type, width - 1);
        bool is_signed = insn.offset == 1;
        llvm::Value* result = nullptr;
        switch (op) {
        case ir::AluOp::Add: result = builder_.CreateAdd(d, s); break;
        case ir::AluOp::Sub: result = builder_.CreateSub(d, s); break;
        case ir::AluOp::Mul: result = builder_.CreateMul(d, s); break;
        case ir::AluOp::Div: result = divide(d, s, is_signed, false, nonzero, not_minus_one); break;
        case ir::AluOp::Mod: result = divide(d, s, is_signed, true, nonzero, not_minus_one); break;
        case ir::AluOp::Or: result = builder_.CreateOr(d, s); break;
        case ir::AluOp::And: result = builder_.CreateAnd(d, s); break;
        case ir::AluOp::Xor: result = builder_.CreateXor(d, s); break;
        case ir::AluOp::Lsh: result = builder_.CreateShl(d, small_shift ? s : builder_.CreateAnd(s, mask)); break;
        case ir::AluOp::Rsh: result = builder_.CreateLShr(d, small_shift ? s : builder_.CreateAnd(s, mask)); break;
        case ir::AluOp::Arsh: result = builder_.CreateAShr(d, small_shift ? s : builder_.CreateAnd(s, mask)); break;
        case ir::AluOp::Neg: result = builder_.CreateNeg(d); break;
        case ir::AluOp::Mov: {
            int bits = insn.offset;
            bool sign_extending = insn.source() == ir::Source::Reg &&
                                  (bits == 8 || bits == 16 || (wide && bits == 32));
            result = sign_extending ? builder_.CreateSExt(builder_.CreateTrunc(s, builder_.getIntNTy(unsigned(bits))), type) : s;
            break;
        }
        default: return std::unexpected(at(pc, fmt::format("alu opcode {:#04x}", insn.opcode)));
        }
        if (!wide) result = builder_.CreateZExt(result, i64_);
        write(state, insn.dst, result);
        return {};
    }

    // ---- jumps, calls, exit

    llvm::Value* condition(FunctionState& state, const Instruction& insn) {
        llvm::Value* a = read(state, insn.dst);
        llvm::Value* b = source_operand(state, insn);
        if (insn.cls() == ir::InstructionClass::Jmp32) {
            a = builder_.CreateTrunc(a, i32_);
            b = builder_.CreateTrunc(b, i32_);
        }
        switch (insn.jmp_op()) {
        case ir::JmpOp::Jeq: return builder_.CreateICmpEQ(a, b);
        case ir::JmpOp::Jne: return builder_.CreateICmpNE(a, b);
        case ir::JmpOp::Jgt: return builder_.CreateICmpUGT(a, b);
        case ir::JmpOp::Jge: return builder_.CreateICmpUGE(a, b);
        case ir::JmpOp::Jlt: return builder_.CreateICmpULT(a, b);
        case ir::JmpOp::Jle: return builder_.CreateICmpULE(a, b);
        case ir::JmpOp::Jset: return builder_.CreateICmpNE(builder_.CreateAnd(a, b), llvm::ConstantInt::get(a->getType(), 0));
        case ir::JmpOp::Jsgt: return builder_.CreateICmpSGT(a, b);
        case ir::JmpOp::Jsge: return builder_.CreateICmpSGE(a, b);
        case ir::JmpOp::Jslt: return builder_.CreateICmpSLT(a, b);
        case ir::JmpOp::Jsle: return builder_.CreateICmpSLE(a, b);
        default: return nullptr;
        }
    }

    // After a call that may end the run: if context->fault is set or
    // context->control is not Continue, leave this function. A tail call
    // (control == TailCall, no fault) runs the target in this frame's place.
    void check_after_call(FunctionState& state, uint32_t pc, llvm::Value* r1_at_call, bool may_tail_call) {
        llvm::Value* control = builder_.CreateLoad(i8_, builder_.CreateConstInBoundsGEP1_64(i8_, state.context, flags_.control), "control");
        llvm::Value* fault = nullptr;
        if (flags_.fault_engaged) {
            fault = builder_.CreateLoad(i8_, builder_.CreateConstInBoundsGEP1_64(i8_, state.context, *flags_.fault_engaged), "fault");
        } else {
            auto* type = llvm::FunctionType::get(i8_, {ptr_}, false);
            fault = builder_.CreateCall(support("bpfvet_jit_fault_pending", type), {state.context});
        }
        auto* stop = builder_.CreateOr(builder_.CreateICmpNE(control, builder_.getInt8(0)),
                                       builder_.CreateICmpNE(fault, builder_.getInt8(0)));
        auto* leave = llvm::BasicBlock::Create(context_, fmt::format("leave{}", pc), state.function);
        auto* next = llvm::BasicBlock::Create(context_, fmt::format("after{}", pc), state.function);
        llvm::MDBuilder weights(context_);
        builder_.CreateCondBr(stop, leave, next, weights.createBranchWeights(1, 1000));
        builder_.SetInsertPoint(leave);
        if (may_tail_call) {
            auto* tail = llvm::BasicBlock::Create(context_, fmt::format("tail{}", pc), state.function);
            auto* bail = llvm::BasicBlock::Create(context_, fmt::format("bail{}", pc), state.function);
            auto* is_tail = builder_.CreateAnd(
                builder_.CreateICmpEQ(control, builder_.getInt8(uint8_t(runtime::Control::TailCall))),
                builder_.CreateICmpEQ(fault, builder_.getInt8(0)));
            builder_.CreateCondBr(is_tail, tail, bail);
            builder_.SetInsertPoint(tail);
            if (options_.count_back_edges) count_call_depth(state, -1);  // the target runs in this frame's place
            auto* type = llvm::FunctionType::get(i64_, {ptr_, i64_}, false);
            builder_.CreateRet(builder_.CreateCall(support(TailCallSymbol, type), {state.context, r1_at_call}));
            builder_.SetInsertPoint(bail);
        }
        builder_.CreateRet(builder_.getInt64(0));
        builder_.SetInsertPoint(next);
    }

    llvm::Value* helper_callee(uint32_t pc) {
        const Instruction& insn = code_[pc];
        if (options_.addressing == Addressing::Symbolic)
            return support(fmt::format("bpfvet_helper_{}", insn.imm).c_str(), function_type_);
        return builder_.CreateIntToPtr(builder_.getInt64(program_.resolved[pc]), ptr_);
    }

    std::expected<void, std::string> lower_jump(FunctionState& state, uint32_t pc, bool& terminated) {
        const Instruction& insn = code_[pc];
        if (insn.is_exit()) {
            if (options_.count_back_edges) count_call_depth(state, -1);
            builder_.CreateRet(read(state, 0));
            terminated = true;
            return {};
        }
        if (insn.is_goto()) {
            builder_.CreateBr(edge_to(state, pc, uint32_t(int64_t(pc) + insn.jump_offset() + 1)));
            terminated = true;
            return {};
        }
        if (insn.is_local_call()) {
            uint32_t target = uint32_t(int64_t(pc) + insn.imm + 1);
            llvm::Value* arguments[6] = {read(state, 1), read(state, 2), read(state, 3), read(state, 4), read(state, 5), state.context};
            write(state, 0, builder_.CreateCall(functions_.at(target), arguments));
            if (may_stop_.contains(target)) check_after_call(state, pc, nullptr, false);
            return {};
        }
        if (insn.is_call()) {
            llvm::Value* arguments[6] = {read(state, 1), read(state, 2), read(state, 3), read(state, 4), read(state, 5), state.context};
            if (insn.opcode == 0x8d) {  // callx: the helper id is in a register
                int index = insn.dst ? insn.dst : insn.imm;
                if (index < 0 || index >= ir::RegisterCount) return std::unexpected(at(pc, "callx register out of range"));
                auto* type = llvm::FunctionType::get(i64_, {i64_, i64_, i64_, i64_, i64_, ptr_, ptr_, i64_, i64_}, false);
                llvm::Value* program = options_.addressing == Addressing::Absolute
                                           ? builder_.CreateIntToPtr(builder_.getInt64(reinterpret_cast<uint64_t>(&program_)), ptr_)
                                           : static_cast<llvm::Value*>(llvm::ConstantPointerNull::get(ptr_));
                write(state, 0, builder_.CreateCall(support(CallxSymbol, type),
                    {arguments[0], arguments[1], arguments[2], arguments[3], arguments[4], state.context, program,
                     read(state, index), builder_.getInt64(pc)}));
            } else if (insn.is_helper_call()) {
                if (options_.addressing == Addressing::Absolute && program_.resolved[pc] == 0)
                    return std::unexpected(at(pc, "unresolved helper call"));
                if (auto* looked_up = direct_map_lookup(state, pc)) {
                    write(state, 0, looked_up);
                    return {};
                }
                auto* call = builder_.CreateCall(function_type_, helper_callee(pc), arguments);
                write(state, 0, call);
            } else if (options_.addressing == Addressing::Absolute && program_.resolved[pc] != 0) {
                // A kfunc the runtime implements (runtime/kfuncs.hpp), called like a helper.
                write(state, 0, builder_.CreateCall(function_type_, helper_callee(pc), arguments));
            } else {
                return std::unexpected(at(pc, "kfunc calls are not supported (only those the runtime implements, "
                                              "with absolute addressing)"));
            }
            // Only bpf_tail_call (and callx, which may be it) asks for a tail call.
            constexpr int32_t TailCallHelper = 12;  // BPF_FUNC_tail_call
            check_after_call(state, pc, arguments[0], insn.opcode == 0x8d || insn.imm == TailCallHelper);
            return {};
        }
        if (insn.is_may_goto()) {  // jump once the budget is spent, else count one more iteration
            llvm::Value* left = builder_.CreateLoad(i64_, state.may_goto_left, "may_goto_left");
            llvm::Value* spent = builder_.CreateICmpEQ(left, builder_.getInt64(0));
            builder_.CreateStore(builder_.CreateSelect(spent, left, builder_.CreateSub(left, builder_.getInt64(1))),
                                 state.may_goto_left);
            builder_.CreateCondBr(spent, block_at(state, uint32_t(int64_t(pc) + insn.offset + 1)),
                                  block_at(state, pc + 1));
            terminated = true;
            return {};
        }
        llvm::Value* taken = condition(state, insn);
        if (!taken) return std::unexpected(at(pc, fmt::format("jump opcode {:#04x}", insn.opcode)));
        builder_.CreateCondBr(taken, edge_to(state, pc, uint32_t(int64_t(pc) + insn.offset + 1)), block_at(state, pc + 1));
        terminated = true;
        return {};
    }

    // ---- the budget of code the verifier did not prove to terminate

    llvm::Value* context_field(FunctionState& state, size_t offset) {
        return builder_.CreateConstInBoundsGEP1_64(i8_, state.context, offset);
    }

    // The block a jump from `pc` to `target` goes to: the target itself, or on
    // a back edge of counting code a block that takes one from the budget
    // first and stops the run when none is left.
    llvm::BasicBlock* edge_to(FunctionState& state, uint32_t pc, uint32_t target) {
        if (!options_.count_back_edges || target > pc) return block_at(state, target);
        auto saved = builder_.saveIP();
        auto* count = llvm::BasicBlock::Create(context_, fmt::format("count{}", pc), state.function);
        auto* spent = llvm::BasicBlock::Create(context_, fmt::format("spent{}", pc), state.function);
        builder_.SetInsertPoint(count);
        llvm::Value* field = context_field(state, BackEdgesLeftOffset);
        llvm::Value* left = builder_.CreateLoad(i64_, field, "left");
        builder_.CreateStore(builder_.CreateSub(left, builder_.getInt64(1)), field);
        llvm::MDBuilder weights(context_);
        builder_.CreateCondBr(builder_.CreateICmpEQ(left, builder_.getInt64(0)), spent, block_at(state, target),
                              weights.createBranchWeights(1, 1000));
        builder_.SetInsertPoint(spent);
        out_of_budget(state, pc, runtime::FaultKind::BudgetExhausted);
        builder_.restoreIP(saved);
        return count;
    }

    // Records the fault (support function) and leaves the function.
    void out_of_budget(FunctionState& state, uint32_t pc, runtime::FaultKind kind) {
        auto* type = llvm::FunctionType::get(i64_, {ptr_, i64_, i64_}, false);
        builder_.CreateRet(builder_.CreateCall(support(BudgetSymbol, type),
                                               {state.context, builder_.getInt64(pc), builder_.getInt64(uint64_t(kind))}));
    }

    // On entry (+1) a function deeper than MaxCallFrames stops the run; on exit (-1) the depth is given back.
    void count_call_depth(FunctionState& state, int step) {
        llvm::Value* field = context_field(state, CallDepthOffset);
        llvm::Value* depth = builder_.CreateLoad(i64_, field, "depth");
        if (step < 0) {
            builder_.CreateStore(builder_.CreateSub(depth, builder_.getInt64(1)), field);
            return;
        }
        auto* deep = llvm::BasicBlock::Create(context_, "too_deep", state.function);
        auto* body = llvm::BasicBlock::Create(context_, "body", state.function);
        builder_.CreateCondBr(builder_.CreateICmpUGE(depth, builder_.getInt64(runtime::MaxCallFrames)), deep, body);
        builder_.SetInsertPoint(deep);
        out_of_budget(state, state.range.start, runtime::FaultKind::CallDepthExceeded);
        builder_.SetInsertPoint(body);
        builder_.CreateStore(builder_.CreateAdd(depth, builder_.getInt64(1)), field);
    }

    // ---- map handles and array lookups

    // Which map handle (the pc of its LDDW) each register holds, as far as the
    // straight-line code of the current block shows: what a lookup's r1 is.
    void track_map_handles(uint32_t pc) {
        const Instruction& insn = code_[pc];
        if (insn.is_call()) {
            for (int reg = 0; reg <= 5; ++reg) map_in_register_[size_t(reg)].reset();
            return;
        }
        if (insn.is_lddw()) {
            auto kind = ir::LddwKind(insn.src);
            bool handle = kind == ir::LddwKind::MapFd || kind == ir::LddwKind::MapIndex;
            map_in_register_[insn.dst] = handle ? std::optional<uint32_t>(pc) : std::nullopt;
            return;
        }
        switch (insn.cls()) {
        case ir::InstructionClass::Alu:
        case ir::InstructionClass::Alu64:
        case ir::InstructionClass::Ldx:
        case ir::InstructionClass::Ld: map_in_register_[insn.dst].reset(); break;
        case ir::InstructionClass::Stx:
            // Atomics with fetch write src; cmpxchg writes r0.
            if (insn.mem_mode() == ir::MemMode::Atomic) map_in_register_.fill(std::nullopt);
            break;
        default: break;
        }
    }

    // bpf_map_lookup_elem on a map the code names directly, which unchecked is
    // just map->lookup (it cannot fault or stop the run: no check after it).
    // On a plain array map, the lookup's own arithmetic (runtime ArrayMap),
    // inline. Example: r1 = map[counters]; r2 = fp - 4; call 1 ->
    //   %i = load i32 [fp - 4]; r0 = %i < 64 ? values + %i * 8 : 0
    // On other maps, a direct call of the map's lookup (bpfvet_jit_map_lookup),
    // without the helper's argument checks for checked runs.
    llvm::Value* direct_map_lookup(FunctionState& state, uint32_t pc) {
        constexpr int32_t MapLookupElem = 1;
        if (code_[pc].imm != MapLookupElem || options_.addressing != Addressing::Absolute) return nullptr;
        const auto& handle = map_in_register_[1];
        if (!handle) return nullptr;
        const auto* map = reinterpret_cast<const runtime::Map*>(program_.resolved[*handle]);
        if (map == nullptr) return nullptr;
        auto array = map->direct_array();
        if (!array) {
            auto* type = llvm::FunctionType::get(i64_, {i64_, i64_, ptr_}, false);
            auto* callee = builder_.CreateIntToPtr(builder_.getInt64(reinterpret_cast<uint64_t>(&bpfvet_jit_map_lookup)), ptr_);
            return builder_.CreateCall(type, callee, {builder_.getInt64(program_.resolved[*handle]), read(state, 2), state.context});
        }
        llvm::Value* key = builder_.CreateIntToPtr(read(state, 2), ptr_);
        llvm::Value* index = builder_.CreateAlignedLoad(i32_, key, llvm::Align(1), "index");
        llvm::Value* inside = builder_.CreateICmpULT(index, builder_.getInt32(array->max_entries));
        llvm::Value* offset = builder_.CreateMul(builder_.CreateZExt(index, i64_), builder_.getInt64(array->stride));
        llvm::Value* value = builder_.CreateAdd(builder_.getInt64(reinterpret_cast<uint64_t>(array->values)), offset);
        return builder_.CreateSelect(inside, value, builder_.getInt64(0), "value_or_null");
    }

    // ---- memory

    // The address [base + offset] as a pointer. Accesses through r10 address
    // the frame's stack alloca directly, so that SROA can promote its slots
    // when the stack's address is never taken.
    llvm::Value* address(FunctionState& state, int base, int16_t offset, int width) {
        if (base == ir::FramePointer && offset < 0 && int(offset) + width <= 0 && -int(offset) <= ir::StackSize)
            return builder_.CreateConstInBoundsGEP1_64(i8_, state.stack, uint64_t(ir::StackSize + offset));
        // base + offset as a GEP from the base register's pointer (not inttoptr
        // of a sum): accesses at different offsets from one register are then
        // visibly adjacent, so LLVM can combine and vectorise them (the eBPF
        // compiler splits wide or unaligned accesses into byte loads).
        // No inbounds: the ISA lets a program form any address.
        llvm::Value* pointer = builder_.CreateIntToPtr(read(state, base), ptr_);
        return offset == 0 ? pointer : builder_.CreateGEP(i8_, pointer, builder_.getInt64(uint64_t(int64_t(offset))));
    }

    llvm::Align alignment(int base, int16_t offset, int width) const {
        // The stack is 16-aligned, so r10-relative slots have known alignment;
        // so are accesses through other registers the analyzer proved to be
        // stack pointers (their alignment relative to r10 is the fact's).
        // Elsewhere eBPF allows misaligned accesses (packets), so assume none.
        if (base == ir::FramePointer) {
            unsigned known = unsigned(ir::StackSize + offset) & 15u;
            unsigned align = known == 0 ? 16 : known & -known;
            return llvm::Align(std::min<unsigned>(align, unsigned(width)));
        }
        if (current_facts_ && current_facts_->registers[size_t(base)].kind == analyzer::FactKind::Pointer &&
            current_facts_->registers[size_t(base)].region == analyzer::FactRegion::Stack)
            return llvm::Align(std::min<unsigned>(current_facts_->access_alignment, unsigned(width)));
        return llvm::Align(1);
    }

    // !range on a load whose result the analyzer bounded: the fact of the
    // destination at the next instruction (every path through this load goes
    // there, so the loaded value lies in that joined range). Example: a u16
    // load the program later proved <= 1500 gets !range [0, 1501).
    void annotate_range(llvm::LoadInst* load, uint32_t pc, int destination, unsigned bits) {
        if (functions_.contains(pc + 1)) return;  // the next slot belongs to another function
        const InstructionFacts* next = facts_at(pc + 1);
        if (!next) return;
        const analyzer::RegisterFact& fact = next->registers[size_t(destination)];
        if (fact.kind != analyzer::FactKind::Number) return;
        const uint64_t top = bits == 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1;
        if (fact.unsigned_max >= top || fact.unsigned_min > fact.unsigned_max) return;
        llvm::MDBuilder metadata(context_);
        load->setMetadata(llvm::LLVMContext::MD_range,
                          metadata.createRange(llvm::APInt(bits, fact.unsigned_min), llvm::APInt(bits, fact.unsigned_max + 1)));
    }

    std::expected<void, std::string> lower_load(FunctionState& state, uint32_t pc) {
        const Instruction& insn = code_[pc];
        int width = insn.access_width();
        if (insn.dst >= ir::FramePointer || insn.src > ir::FramePointer) return std::unexpected(at(pc, "bad register"));
        auto mode = insn.mem_mode();
        if (mode != ir::MemMode::Mem && mode != ir::MemMode::MemSx) return std::unexpected(at(pc, fmt::format("load mode {:#04x}", insn.opcode)));
        if (mode == ir::MemMode::MemSx && width == 8) return std::unexpected(at(pc, "sign-extending load of 8 bytes"));
        auto* type = builder_.getIntNTy(unsigned(width * 8));
        auto* value = builder_.CreateAlignedLoad(type, address(state, insn.src, insn.offset, width), alignment(insn.src, insn.offset, width));
        if (mode == ir::MemMode::Mem) annotate_range(value, pc, insn.dst, unsigned(width * 8));
        write(state, insn.dst, mode == ir::MemMode::MemSx ? builder_.CreateSExt(value, i64_) : builder_.CreateZExt(value, i64_));
        return {};
    }

    std::expected<void, std::string> lower_store(FunctionState& state, uint32_t pc) {
        const Instruction& insn = code_[pc];
        int width = insn.access_width();
        auto* type = builder_.getIntNTy(unsigned(width * 8));
        if (insn.dst > ir::FramePointer || insn.src > ir::FramePointer) return std::unexpected(at(pc, "bad register"));
        auto mode = insn.mem_mode();
        if (mode == ir::MemMode::Atomic) {
            if (insn.cls() != ir::InstructionClass::Stx) return std::unexpected(at(pc, "atomic st"));
            return lower_atomic(state, pc, type, width);
        }
        if (mode != ir::MemMode::Mem) return std::unexpected(at(pc, fmt::format("store mode {:#04x}", insn.opcode)));
        llvm::Value* value = insn.cls() == ir::InstructionClass::St ? builder_.getInt64(uint64_t(int64_t(insn.imm))) : read(state, insn.src);
        builder_.CreateAlignedStore(builder_.CreateTrunc(value, type), address(state, insn.dst, insn.offset, width),
                                    alignment(insn.dst, insn.offset, width));
        return {};
    }

    std::expected<void, std::string> lower_atomic(FunctionState& state, uint32_t pc, llvm::Type* type, int width) {
        const Instruction& insn = code_[pc];
        auto natural = llvm::Align(unsigned(width));
        if (insn.imm == ir::atomic::LoadAcquire) {
            if (insn.dst >= ir::FramePointer) return std::unexpected(at(pc, "write to r10"));
            auto* load = builder_.CreateAlignedLoad(type, address(state, insn.src, insn.offset, width), natural);
            load->setAtomic(llvm::AtomicOrdering::Acquire);
            write(state, insn.dst, builder_.CreateZExt(load, i64_));
            return {};
        }
        llvm::Value* pointer = address(state, insn.dst, insn.offset, width);
        if (insn.imm == ir::atomic::StoreRelease) {
            auto* store = builder_.CreateAlignedStore(builder_.CreateTrunc(read(state, insn.src), type), pointer, natural);
            store->setAtomic(llvm::AtomicOrdering::Release);
            return {};
        }
        if (width != 4 && width != 8) return std::unexpected(at(pc, "atomic of width 1 or 2"));
        llvm::Value* operand = builder_.CreateTrunc(read(state, insn.src), type);
        auto ordering = llvm::AtomicOrdering::SequentiallyConsistent;
        if (insn.imm == ir::atomic::CmpXchg) {
            llvm::Value* expected = builder_.CreateTrunc(read(state, 0), type);
            auto* exchange = builder_.CreateAtomicCmpXchg(pointer, expected, operand, natural, ordering, ordering);
            write(state, 0, builder_.CreateZExt(builder_.CreateExtractValue(exchange, 0), i64_));
            return {};
        }
        llvm::AtomicRMWInst::BinOp operation;
        switch (insn.imm & ~ir::atomic::Fetch) {
        case ir::atomic::Add: operation = llvm::AtomicRMWInst::Add; break;
        case ir::atomic::Or: operation = llvm::AtomicRMWInst::Or; break;
        case ir::atomic::And: operation = llvm::AtomicRMWInst::And; break;
        case ir::atomic::Xor: operation = llvm::AtomicRMWInst::Xor; break;
        case ir::atomic::Xchg & ~ir::atomic::Fetch:
            if (insn.imm != ir::atomic::Xchg) return std::unexpected(at(pc, "xchg without fetch"));
            operation = llvm::AtomicRMWInst::Xchg;
            break;
        default: return std::unexpected(at(pc, fmt::format("atomic operation {:#x}", insn.imm)));
        }
        auto* old = builder_.CreateAtomicRMW(operation, pointer, operand, natural, ordering);
        if (insn.imm & ir::atomic::Fetch) write(state, insn.src, builder_.CreateZExt(old, i64_));
        return {};
    }

    std::expected<void, std::string> lower_ld(FunctionState& state, uint32_t pc) {
        const Instruction& insn = code_[pc];
        if (insn.is_lddw()) {
            if (pc + 1 >= code_.size()) return std::unexpected(at(pc, "lddw without its second slot"));
            if (insn.dst >= ir::FramePointer) return std::unexpected(at(pc, "write to r10"));
            write(state, insn.dst, lddw_value(pc));
            return {};
        }
        auto mode = insn.mem_mode();
        if (mode != ir::MemMode::Abs && mode != ir::MemMode::Ind) return std::unexpected(at(pc, fmt::format("opcode {:#04x}", insn.opcode)));
        // Legacy packet loads: the support function does the bounds check and
        // byte order; out of bounds it asks the run to stop with r0 = 0.
        llvm::Value* offset = builder_.getInt64(uint64_t(int64_t(insn.imm)));
        if (mode == ir::MemMode::Ind)
            offset = builder_.CreateAdd(offset, builder_.CreateZExt(builder_.CreateTrunc(read(state, insn.src), i32_), i64_));
        auto* type = llvm::FunctionType::get(i64_, {ptr_, i64_, i64_}, false);
        write(state, 0, builder_.CreateCall(support(LegacyLoadSymbol, type), {state.context, offset, builder_.getInt64(uint64_t(insn.access_width()))}));
        check_after_call(state, pc, nullptr, false);
        return {};
    }

    llvm::Value* lddw_value(uint32_t pc) {
        const Instruction& insn = code_[pc];
        const Instruction& next = code_[pc + 1];
        auto kind = ir::LddwKind(insn.src);
        if (kind == ir::LddwKind::Function) {
            // The callback's address: helpers hand it back to invoke_callback.
            return builder_.CreatePtrToInt(functions_.at(uint32_t(int64_t(pc) + insn.imm + 1)), i64_);
        }
        bool map_handle = kind == ir::LddwKind::MapFd || kind == ir::LddwKind::MapIndex;
        bool map_value = kind == ir::LddwKind::MapValue || kind == ir::LddwKind::MapIndexValue;
        if (options_.addressing == Addressing::Symbolic && (map_handle || map_value)) {
            const char* table_name = map_handle ? "bpfvet_maps" : "bpfvet_map_values";
            auto* table = module_->getOrInsertGlobal(table_name, llvm::ArrayType::get(ptr_, 0));
            auto* slot = builder_.CreateConstInBoundsGEP2_64(llvm::ArrayType::get(ptr_, 0), table, 0, uint64_t(uint32_t(insn.imm)));
            llvm::Value* base = builder_.CreatePtrToInt(builder_.CreateLoad(ptr_, slot), i64_);
            return map_value ? builder_.CreateAdd(base, builder_.getInt64(uint64_t(uint32_t(next.imm)))) : base;
        }
        if (options_.addressing == Addressing::Symbolic) return builder_.getInt64(ir::lddw_value(insn, next));
        return builder_.getInt64(program_.resolved[pc]);
    }

    // ---- the entry point

    void build_entry() {
        auto* type = llvm::FunctionType::get(i64_, {i64_, i64_, ptr_}, false);
        auto* entry = llvm::Function::Create(type, llvm::Function::ExternalLinkage, options_.entry_name, *module_);
        entry->addFnAttr(llvm::Attribute::NoUnwind);
        builder_.SetInsertPoint(llvm::BasicBlock::Create(context_, "entry", entry));
        auto* zero = builder_.getInt64(0);
        builder_.CreateRet(builder_.CreateCall(functions_.at(0), {entry->getArg(0), entry->getArg(1), zero, zero, zero, entry->getArg(2)}));
    }

    const LoadedProgram& program_;
    const std::vector<Instruction>& code_;
    const LoweringOptions& options_;
    llvm::LLVMContext& context_;
    std::unique_ptr<llvm::Module> module_;
    llvm::IRBuilder<> builder_;
    StopFlags flags_;
    llvm::Type* i8_ = nullptr;
    llvm::Type* i32_ = nullptr;
    llvm::Type* i64_ = nullptr;
    llvm::PointerType* ptr_ = nullptr;
    llvm::FunctionType* function_type_ = nullptr;
    std::vector<FunctionRange> ranges_;
    std::map<uint32_t, llvm::Function*> functions_;
    std::set<uint32_t> may_stop_;
    const InstructionFacts* current_facts_ = nullptr;  // of the instruction being lowered
    std::array<std::optional<uint32_t>, ir::RegisterCount> map_in_register_{};  // see track_map_handles
    uint32_t folded_pc_ = UINT32_MAX;  // see is_needless_zero_extension
    std::vector<bool> continuation_;  // second slots of LDDWs
};

}  // namespace

std::expected<std::unique_ptr<llvm::Module>, std::string>
lower_program(const LoadedProgram& program, llvm::LLVMContext& context, const LoweringOptions& options) {
    return Lowering(program, context, options).run();
}

}  // namespace bpfvet::jit
