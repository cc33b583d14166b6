#include "runtime/interpreter.hpp"

#include <atomic>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <utility>

namespace bpfvet::runtime {
namespace {

using ir::Instruction;

constexpr uint64_t FrameSize = ir::StackSize;

struct Frame {
    const LoadedProgram* program;
    size_t return_pc;
    uint64_t saved[4];  // r6..r9
    uint64_t frame_pointer;
    // Counted per function invocation: the kernel keeps the counter in the frame.
    uint64_t may_goto_left = MayGotoBudget;
};

// One run's engine state; RunContext::engine_state points here so that
// callbacks (bpf_loop) can re-enter the interpreter on the same stack.
struct State {
    RunContext* context;
    InterpreterOptions options;
    alignas(16) uint8_t stack[MaxCallFrames * FrameSize];
    Frame frames[MaxCallFrames];
    int depth = 0;              // frames in use (0 = only the entry frame)
    const LoadedProgram* current = nullptr;  // the running program (tail calls change it)
    uint64_t executed = 0;
    std::optional<Fault> fault;

    uint64_t stack_top() const { return reinterpret_cast<uint64_t>(stack) + sizeof stack; }
    void set_stack_region(uint64_t frame_pointer) {
        // The active frames: from the current frame's bottom to the stack top.
        uint64_t bottom = frame_pointer - FrameSize;
        context->stack = Region{bottom, stack_top() - bottom, true, RegionKind::Stack};
    }
};

Fault make_fault(FaultKind kind, const LoadedProgram& program, size_t pc, std::string message) {
    Fault fault;
    fault.kind = kind;
    fault.pc = pc;
    fault.section = program.section;
    fault.message = std::move(message);
    return fault;
}

template <typename T>
T load(uint64_t address) {
    T value;
    std::memcpy(&value, reinterpret_cast<const void*>(address), sizeof value);
    return value;
}

template <typename T>
void store(uint64_t address, T value) {
    std::memcpy(reinterpret_cast<void*>(address), &value, sizeof value);
}

uint64_t load_width(uint64_t address, int width) {
    switch (width) {
    case 1: return load<uint8_t>(address);
    case 2: return load<uint16_t>(address);
    case 4: return load<uint32_t>(address);
    default: return load<uint64_t>(address);
    }
}

uint64_t load_signed(uint64_t address, int width) {
    switch (width) {
    case 1: return uint64_t(int64_t(load<int8_t>(address)));
    case 2: return uint64_t(int64_t(load<int16_t>(address)));
    default: return uint64_t(int64_t(load<int32_t>(address)));
    }
}

void store_width(uint64_t address, int width, uint64_t value) {
    switch (width) {
    case 1: store<uint8_t>(address, uint8_t(value)); break;
    case 2: store<uint16_t>(address, uint16_t(value)); break;
    case 4: store<uint32_t>(address, uint32_t(value)); break;
    default: store<uint64_t>(address, value); break;
    }
}

// Sign-extends the low `bits` of `value`: sign_extend(0x80, 8) == 0xffff...ff80.
constexpr uint64_t sign_extend(uint64_t value, int bits) {
    int shift = 64 - bits;
    return uint64_t(int64_t(value << shift) >> shift);
}

// ---- ALU: RFC 9669 4.1. Division by zero gives 0; modulo by zero leaves the
// dividend; signed INT_MIN / -1 wraps (INT_MIN) and INT_MIN % -1 is 0.

uint64_t alu64(const Instruction& insn, uint64_t d, uint64_t s) {
    switch (insn.alu_op()) {
    case ir::AluOp::Add: return d + s;
    case ir::AluOp::Sub: return d - s;
    case ir::AluOp::Mul: return d * s;
    case ir::AluOp::Div:
        if (insn.offset == 1) {
            auto sd = int64_t(s);
            if (sd == 0) return 0;
            if (sd == -1) return 0 - d;
            return uint64_t(int64_t(d) / sd);
        }
        return s ? d / s : 0;
    case ir::AluOp::Mod:
        if (insn.offset == 1) {
            auto sd = int64_t(s);
            if (sd == 0) return d;
            if (sd == -1) return 0;
            return uint64_t(int64_t(d) % sd);
        }
        return s ? d % s : d;
    case ir::AluOp::Or: return d | s;
    case ir::AluOp::And: return d & s;
    case ir::AluOp::Xor: return d ^ s;
    case ir::AluOp::Lsh: return d << (s & 63);
    case ir::AluOp::Rsh: return d >> (s & 63);
    case ir::AluOp::Arsh: return uint64_t(int64_t(d) >> (s & 63));
    case ir::AluOp::Neg: return 0 - d;
    case ir::AluOp::Mov:
        if (insn.source() == ir::Source::Reg && (insn.offset == 8 || insn.offset == 16 || insn.offset == 32))
            return sign_extend(s, insn.offset);
        return s;
    case ir::AluOp::End:  // Alu64 | End: unconditional byte swap (bswap16/32/64)
        switch (insn.imm) {
        case 16: return __builtin_bswap16(uint16_t(d));
        case 32: return __builtin_bswap32(uint32_t(d));
        default: return __builtin_bswap64(d);
        }
    }
    return d;
}

uint32_t alu32(const Instruction& insn, uint32_t d, uint32_t s) {
    switch (insn.alu_op()) {
    case ir::AluOp::Add: return d + s;
    case ir::AluOp::Sub: return d - s;
    case ir::AluOp::Mul: return d * s;
    case ir::AluOp::Div:
        if (insn.offset == 1) {
            auto sd = int32_t(s);
            if (sd == 0) return 0;
            if (sd == -1) return 0 - d;
            return uint32_t(int32_t(d) / sd);
        }
        return s ? d / s : 0;
    case ir::AluOp::Mod:
        if (insn.offset == 1) {
            auto sd = int32_t(s);
            if (sd == 0) return d;
            if (sd == -1) return 0;
            return uint32_t(int32_t(d) % sd);
        }
        return s ? d % s : d;
    case ir::AluOp::Or: return d | s;
    case ir::AluOp::And: return d & s;
    case ir::AluOp::Xor: return d ^ s;
    case ir::AluOp::Lsh: return d << (s & 31);
    case ir::AluOp::Rsh: return d >> (s & 31);
    case ir::AluOp::Arsh: return uint32_t(int32_t(d) >> (s & 31));
    case ir::AluOp::Neg: return 0 - d;
    case ir::AluOp::Mov:
        if (insn.source() == ir::Source::Reg && (insn.offset == 8 || insn.offset == 16))
            return uint32_t(sign_extend(s, insn.offset));
        return s;
    case ir::AluOp::End: return d;  // handled by byte_order()
    }
    return d;
}

// Alu | End: to little endian truncates (on our little-endian host), to big
// endian swaps: be16 of 0x1122 gives 0x2211, le16 of 0x11223344 gives 0x3344.
uint64_t byte_order(const Instruction& insn, uint64_t d) {
    bool to_big = insn.source() == ir::Source::Reg;
    switch (insn.imm) {
    case 16: return to_big ? __builtin_bswap16(uint16_t(d)) : uint16_t(d);
    case 32: return to_big ? __builtin_bswap32(uint32_t(d)) : uint32_t(d);
    default: return to_big ? __builtin_bswap64(d) : d;
    }
}

bool condition(const Instruction& insn, uint64_t a, uint64_t b) {
    bool wide = insn.cls() == ir::InstructionClass::Jmp;
    if (!wide) {
        a = uint32_t(a);
        b = uint32_t(b);
    }
    int64_t sa = wide ? int64_t(a) : int64_t(int32_t(a));
    int64_t sb = wide ? int64_t(b) : int64_t(int32_t(b));
    switch (insn.jmp_op()) {
    case ir::JmpOp::Jeq: return a == b;
    case ir::JmpOp::Jne: return a != b;
    case ir::JmpOp::Jgt: return a > b;
    case ir::JmpOp::Jge: return a >= b;
    case ir::JmpOp::Jlt: return a < b;
    case ir::JmpOp::Jle: return a <= b;
    case ir::JmpOp::Jset: return (a & b) != 0;
    case ir::JmpOp::Jsgt: return sa > sb;
    case ir::JmpOp::Jsge: return sa >= sb;
    case ir::JmpOp::Jslt: return sa < sb;
    case ir::JmpOp::Jsle: return sa <= sb;
    default: return false;
    }
}

template <typename T>
uint64_t atomic_operation(uint64_t address, int32_t operation, uint64_t value, uint64_t& r0, bool& fetched) {
    std::atomic_ref<T> target(*reinterpret_cast<T*>(address));
    T operand = T(value);
    fetched = (operation & ir::atomic::Fetch) != 0;
    switch (operation) {
    case ir::atomic::Add:
    case ir::atomic::Add | ir::atomic::Fetch: return target.fetch_add(operand);
    case ir::atomic::Or:
    case ir::atomic::Or | ir::atomic::Fetch: return target.fetch_or(operand);
    case ir::atomic::And:
    case ir::atomic::And | ir::atomic::Fetch: return target.fetch_and(operand);
    case ir::atomic::Xor:
    case ir::atomic::Xor | ir::atomic::Fetch: return target.fetch_xor(operand);
    case ir::atomic::Xchg: return target.exchange(operand);
    case ir::atomic::CmpXchg: {
        T expected = T(r0);
        target.compare_exchange_strong(expected, operand);
        r0 = uint64_t(expected);  // the old value, zero-extended for 32-bit
        fetched = false;
        return 0;
    }
    }
    fetched = false;
    return 0;
}

using ir::atomic::LoadAcquire, ir::atomic::StoreRelease;

template <bool Checked>
std::expected<uint64_t, Fault> execute(State& state, const LoadedProgram* program, size_t pc,
                                       uint64_t (&reg)[ir::RegisterCount], int base_depth);

// bpf_loop and friends call back into the interpreter here.
uint64_t invoke_callback(RunContext& context, uint64_t function, uint64_t r1, uint64_t r2, uint64_t r3,
                         uint64_t r4, uint64_t r5) {
    auto& state = *static_cast<State*>(context.engine_state);
    const LoadedProgram* program = state.current;
    if (state.depth + 1 >= MaxCallFrames) {
        context.fault = make_fault(FaultKind::CallDepthExceeded, *program, 0, "callback beyond the frame limit");
        return 0;
    }
    uint64_t reg[ir::RegisterCount] = {0, r1, r2, r3, r4, r5};
    int depth = ++state.depth;
    reg[10] = state.stack_top() - uint64_t(depth) * FrameSize;
    state.frames[depth] = Frame{program, 0, {}, reg[10]};
    uint64_t saved_stack_begin = context.stack.begin, saved_stack_size = context.stack.size;
    state.set_stack_region(reg[10]);
    auto result = state.options.checked ? execute<true>(state, program, size_t(function), reg, depth)
                                        : execute<false>(state, program, size_t(function), reg, depth);
    state.depth = depth - 1;
    state.current = program;
    context.stack.begin = saved_stack_begin;
    context.stack.size = saved_stack_size;
    if (!result) {
        context.fault = result.error();
        return 0;
    }
    return *result;
}

template <bool Checked>
std::expected<uint64_t, Fault> execute(State& state, const LoadedProgram* program, size_t pc,
                                       uint64_t (&reg)[ir::RegisterCount], int base_depth) {
    RunContext& context = *state.context;
    const Instruction* code = program->instructions.data();
    const uint64_t* resolved = program->resolved.data();
    size_t size = program->instructions.size();
    const uint64_t budget = state.options.instruction_budget;

    auto memory_fault = [&](uint64_t address, int width, bool write) {
        Fault fault = make_fault(FaultKind::MemoryViolation, *program, pc, "");
        fault.address = address;
        fault.size = uint32_t(width);
        fault.write = write;
        fault.region = context.describe(address, uint64_t(width));
        auto region = context.region_of(address, uint64_t(width));
        if (write && region && !region->writable) fault.message = "the region is read-only";
        return std::unexpected(std::move(fault));
    };

    for (;;) {
        if (pc >= size) return std::unexpected(make_fault(FaultKind::InvalidInstruction, *program, pc, "fell off the end of the program"));
        if (++state.executed > budget)
            return std::unexpected(make_fault(FaultKind::BudgetExhausted, *program, pc,
                                              fmt::format("more than {} instructions", budget)));
        if constexpr (Checked)
            if (state.options.executed && program == state.frames[0].program && pc < state.options.executed->size())
                (*state.options.executed)[pc] = 1;
        const Instruction& insn = code[pc];
        // Fast path: the common opcodes dispatched on the whole opcode byte
        // (one jump table); everything else takes the general path below.
        {
            uint64_t& d = reg[insn.dst];
            const uint64_t k = uint64_t(int64_t(insn.imm));
            const uint64_t x = reg[insn.src];
#define BPFVET_ALU64(code, expression_k, expression_x) \
    case code: d = (expression_k); ++pc; continue;     \
    case code | 0x08: d = (expression_x); ++pc; continue;
#define BPFVET_ALU32(code, expression_k, expression_x)          \
    case code: d = uint32_t(expression_k); ++pc; continue;      \
    case code | 0x08: d = uint32_t(expression_x); ++pc; continue;
#define BPFVET_JUMP(code, condition_k, condition_x)                                   \
    case code: pc += (condition_k) ? size_t(int64_t(insn.offset) + 1) : 1; continue;  \
    case code | 0x08: pc += (condition_x) ? size_t(int64_t(insn.offset) + 1) : 1; continue;
#define BPFVET_LOAD(code, type)                                                                        \
    case code: {                                                                                       \
        uint64_t address = x + uint64_t(int64_t(insn.offset));                                         \
        if constexpr (Checked)                                                                         \
            if (!context.may_access(address, sizeof(type), false)) return memory_fault(address, sizeof(type), false); \
        d = load<type>(address);                                                                       \
        ++pc;                                                                                          \
        continue;                                                                                      \
    }
#define BPFVET_STORE(code, type, value)                                                                \
    case code: {                                                                                       \
        uint64_t address = d + uint64_t(int64_t(insn.offset));                                         \
        if constexpr (Checked)                                                                         \
            if (!context.may_access(address, sizeof(type), true)) return memory_fault(address, sizeof(type), true); \
        store<type>(address, type(value));                                                             \
        ++pc;                                                                                          \
        continue;                                                                                      \
    }
            const uint32_t d32 = uint32_t(d), k32 = uint32_t(k), x32 = uint32_t(x);
            switch (insn.opcode) {
            BPFVET_ALU64(0x07, d + k, d + x)
            BPFVET_ALU64(0x17, d - k, d - x)
            BPFVET_ALU64(0x27, d * k, d * x)
            BPFVET_ALU64(0x47, d | k, d | x)
            BPFVET_ALU64(0x57, d & k, d & x)
            BPFVET_ALU64(0x67, d << (k & 63), d << (x & 63))
            BPFVET_ALU64(0x77, d >> (k & 63), d >> (x & 63))
            BPFVET_ALU64(0xa7, d ^ k, d ^ x)
            BPFVET_ALU64(0xc7, uint64_t(int64_t(d) >> (k & 63)), uint64_t(int64_t(d) >> (x & 63)))
            BPFVET_ALU32(0x04, d32 + k32, d32 + x32)
            BPFVET_ALU32(0x14, d32 - k32, d32 - x32)
            BPFVET_ALU32(0x24, d32 * k32, d32 * x32)
            BPFVET_ALU32(0x44, d32 | k32, d32 | x32)
            BPFVET_ALU32(0x54, d32 & k32, d32 & x32)
            BPFVET_ALU32(0x64, d32 << (k32 & 31), d32 << (x32 & 31))
            BPFVET_ALU32(0x74, d32 >> (k32 & 31), d32 >> (x32 & 31))
            BPFVET_ALU32(0xa4, d32 ^ k32, d32 ^ x32)
            case 0xb7: d = k; ++pc; continue;
            case 0xbf: if (insn.offset != 0) break; d = x; ++pc; continue;
            case 0xb4: d = k32; ++pc; continue;
            case 0xbc: if (insn.offset != 0) break; d = x32; ++pc; continue;
            case 0x05: pc = size_t(int64_t(pc) + insn.offset + 1); continue;
            BPFVET_JUMP(0x15, d == k, d == x)
            BPFVET_JUMP(0x55, d != k, d != x)
            BPFVET_JUMP(0x25, d > k, d > x)
            BPFVET_JUMP(0x35, d >= k, d >= x)
            BPFVET_JUMP(0xa5, d < k, d < x)
            BPFVET_JUMP(0xb5, d <= k, d <= x)
            BPFVET_JUMP(0x45, (d & k) != 0, (d & x) != 0)
            BPFVET_JUMP(0x65, int64_t(d) > int64_t(k), int64_t(d) > int64_t(x))
            BPFVET_JUMP(0x75, int64_t(d) >= int64_t(k), int64_t(d) >= int64_t(x))
            BPFVET_JUMP(0xc5, int64_t(d) < int64_t(k), int64_t(d) < int64_t(x))
            BPFVET_JUMP(0xd5, int64_t(d) <= int64_t(k), int64_t(d) <= int64_t(x))
            BPFVET_JUMP(0x16, d32 == k32, d32 == x32)
            BPFVET_JUMP(0x56, d32 != k32, d32 != x32)
            BPFVET_JUMP(0x26, d32 > k32, d32 > x32)
            BPFVET_JUMP(0x36, d32 >= k32, d32 >= x32)
            BPFVET_JUMP(0xa6, d32 < k32, d32 < x32)
            BPFVET_JUMP(0xb6, d32 <= k32, d32 <= x32)
            BPFVET_JUMP(0x46, (d32 & k32) != 0, (d32 & x32) != 0)
            BPFVET_JUMP(0x66, int32_t(d32) > int32_t(k32), int32_t(d32) > int32_t(x32))
            BPFVET_JUMP(0x76, int32_t(d32) >= int32_t(k32), int32_t(d32) >= int32_t(x32))
            BPFVET_JUMP(0xc6, int32_t(d32) < int32_t(k32), int32_t(d32) < int32_t(x32))
            BPFVET_JUMP(0xd6, int32_t(d32) <= int32_t(k32), int32_t(d32) <= int32_t(x32))
            BPFVET_LOAD(0x61, uint32_t)
            BPFVET_LOAD(0x69, uint16_t)
            BPFVET_LOAD(0x71, uint8_t)
            BPFVET_LOAD(0x79, uint64_t)
            BPFVET_STORE(0x63, uint32_t, x)
            BPFVET_STORE(0x6b, uint16_t, x)
            BPFVET_STORE(0x73, uint8_t, x)
            BPFVET_STORE(0x7b, uint64_t, x)
            BPFVET_STORE(0x62, uint32_t, k)
            BPFVET_STORE(0x6a, uint16_t, k)
            BPFVET_STORE(0x72, uint8_t, k)
            BPFVET_STORE(0x7a, uint64_t, k)
            case 0x18: d = resolved[pc]; pc += 2; continue;
            default: break;
            }
#undef BPFVET_ALU64
#undef BPFVET_ALU32
#undef BPFVET_JUMP
#undef BPFVET_LOAD
#undef BPFVET_STORE
        }
        switch (insn.cls()) {
        case ir::InstructionClass::Alu64:
        case ir::InstructionClass::Alu: {
            uint64_t source = insn.source() == ir::Source::Reg ? reg[insn.src] : uint64_t(int64_t(insn.imm));
            uint64_t& d = reg[insn.dst];
            if (insn.cls() == ir::InstructionClass::Alu64) d = alu64(insn, d, source);
            else if (insn.alu_op() == ir::AluOp::End) d = byte_order(insn, d);
            else d = alu32(insn, uint32_t(d), uint32_t(source));
            ++pc;
            break;
        }
        case ir::InstructionClass::Jmp:
        case ir::InstructionClass::Jmp32: {
            if (insn.is_goto()) {
                pc = size_t(int64_t(pc) + insn.jump_offset() + 1);
                break;
            }
            if (insn.is_may_goto()) {
                uint64_t& left = state.frames[state.depth].may_goto_left;
                if (left == 0) {
                    pc = size_t(int64_t(pc) + insn.jump_offset() + 1);
                } else {
                    --left;
                    ++pc;
                }
                break;
            }
            if (insn.is_exit()) {
                if (state.depth == base_depth) {
                    if constexpr (Checked) {
                        if (base_depth == 0 && !context.reservations.empty())
                            return std::unexpected(make_fault(FaultKind::LeakedReservation, *program, pc,
                                fmt::format("{} ring buffer record(s) neither submitted nor discarded",
                                            context.reservations.size())));
                    }
                    return reg[0];
                }
                Frame& frame = state.frames[state.depth--];
                std::memcpy(&reg[6], frame.saved, sizeof frame.saved);
                reg[10] = state.frames[state.depth].frame_pointer;
                if constexpr (Checked) state.set_stack_region(reg[10]);
                pc = frame.return_pc;
                if (frame.program != program) {
                    program = state.current = frame.program;
                    code = program->instructions.data();
                    resolved = program->resolved.data();
                    size = program->instructions.size();
                }
                break;
            }
            if (insn.is_local_call()) {
                if (state.depth + 1 >= MaxCallFrames)
                    return std::unexpected(make_fault(FaultKind::CallDepthExceeded, *program, pc,
                                                      fmt::format("more than {} call frames", MaxCallFrames)));
                Frame& frame = state.frames[++state.depth];
                frame.program = program;
                frame.return_pc = pc + 1;
                frame.may_goto_left = MayGotoBudget;
                std::memcpy(frame.saved, &reg[6], sizeof frame.saved);
                reg[10] -= FrameSize;
                frame.frame_pointer = reg[10];
                if constexpr (Checked) state.set_stack_region(reg[10]);
                pc = size_t(int64_t(pc) + insn.imm + 1);
                break;
            }
            if (insn.is_call()) {
                HelperFunction helper;
                if (insn.opcode == 0x8d) {  // callx: the register holds the helper id
                    int index = insn.dst ? insn.dst : insn.imm;
                    const HelperDefinition* definition =
                        program->helper_table && index >= 0 && index < ir::RegisterCount
                            ? program->helper_table->find(int32_t(reg[index])) : nullptr;
                    if (!definition)
                        return std::unexpected(make_fault(FaultKind::UnknownHelper, *program, pc,
                                                          fmt::format("callx to helper {}", int64_t(reg[index]))));
                    helper = definition->function;
                } else {
                    helper = reinterpret_cast<HelperFunction>(resolved[pc]);
                    if (!helper)
                        return std::unexpected(make_fault(FaultKind::InvalidInstruction, *program, pc, "unresolved call"));
                }
                reg[0] = helper(reg[1], reg[2], reg[3], reg[4], reg[5], &context);
                if (context.fault) {
                    Fault fault = *context.fault;
                    context.fault.reset();
                    if (fault.section.empty()) {
                        fault.pc = pc;
                        fault.section = program->section;
                    }
                    return std::unexpected(std::move(fault));
                }
                if (context.control != Control::Continue) {
                    Control control = std::exchange(context.control, Control::Continue);
                    if (control == Control::Stop) return context.stop_value;
                    // Tail call: the target replaces this program in the current frame.
                    program = state.current = context.tail_call_target;
                    code = program->instructions.data();
                    resolved = program->resolved.data();
                    size = program->instructions.size();
                    pc = 0;
                    break;
                }
                ++pc;
                break;
            }
            uint64_t source = insn.source() == ir::Source::Reg ? reg[insn.src] : uint64_t(int64_t(insn.imm));
            pc += condition(insn, reg[insn.dst], source) ? size_t(int64_t(insn.offset) + 1) : 1;
            break;
        }
        case ir::InstructionClass::Ldx: {
            int width = insn.access_width();
            uint64_t address = reg[insn.src] + uint64_t(int64_t(insn.offset));
            if constexpr (Checked)
                if (!context.may_access(address, uint64_t(width), false)) return memory_fault(address, width, false);
            reg[insn.dst] = insn.mem_mode() == ir::MemMode::MemSx ? load_signed(address, width)
                                                                  : load_width(address, width);
            ++pc;
            break;
        }
        case ir::InstructionClass::St:
        case ir::InstructionClass::Stx: {
            int width = insn.access_width();
            uint64_t address = reg[insn.dst] + uint64_t(int64_t(insn.offset));
            if (insn.mem_mode() == ir::MemMode::Atomic) {
                if (insn.imm == LoadAcquire) {
                    address = reg[insn.src] + uint64_t(int64_t(insn.offset));
                    if constexpr (Checked)
                        if (!context.may_access(address, uint64_t(width), false)) return memory_fault(address, width, false);
                    std::atomic_thread_fence(std::memory_order_acquire);
                    reg[insn.dst] = load_width(address, width);
                    ++pc;
                    break;
                }
                if constexpr (Checked) {
                    if (!context.may_access(address, uint64_t(width), true)) return memory_fault(address, width, true);
                    if (address % uint64_t(width) != 0) {
                        auto fault = memory_fault(address, width, true);
                        fault.error().message = "misaligned atomic access";
                        return fault;
                    }
                }
                if (insn.imm == StoreRelease) {
                    std::atomic_thread_fence(std::memory_order_release);
                    store_width(address, width, reg[insn.src]);
                    ++pc;
                    break;
                }
                bool fetched = false;
                uint64_t old = 0;
                if (width == 8) old = atomic_operation<uint64_t>(address, insn.imm, reg[insn.src], reg[0], fetched);
                else if (width == 4) old = atomic_operation<uint32_t>(address, insn.imm, reg[insn.src], reg[0], fetched);
                else return std::unexpected(make_fault(FaultKind::InvalidInstruction, *program, pc, "atomic of width 1 or 2"));
                if (fetched) reg[insn.src] = old;
                ++pc;
                break;
            }
            if constexpr (Checked)
                if (!context.may_access(address, uint64_t(width), true)) return memory_fault(address, width, true);
            uint64_t value = insn.cls() == ir::InstructionClass::St ? uint64_t(int64_t(insn.imm)) : reg[insn.src];
            store_width(address, width, value);
            ++pc;
            break;
        }
        case ir::InstructionClass::Ld: {
            if (insn.is_lddw()) {
                reg[insn.dst] = resolved[pc];
                pc += 2;
                break;
            }
            // Legacy packet loads (LD_ABS / LD_IND): r0 = the big-endian value at
            // data + imm (+ src); out of bounds ends the program with r0 = 0.
            ir::MemMode mode = insn.mem_mode();
            if (mode != ir::MemMode::Abs && mode != ir::MemMode::Ind)
                return std::unexpected(make_fault(FaultKind::InvalidInstruction, *program, pc,
                                                  fmt::format("opcode {:#04x}", insn.opcode)));
            int width = insn.access_width();
            uint64_t offset = uint64_t(int64_t(insn.imm)) + (mode == ir::MemMode::Ind ? uint64_t(uint32_t(reg[insn.src])) : 0);
            const PacketState& packet = context.packet;
            uint64_t length = packet.data ? uint64_t(packet.data_end - packet.data) : 0;
            if (width == 8 || offset > length || uint64_t(width) > length - offset) return uint64_t(0);
            uint64_t value = load_width(reinterpret_cast<uint64_t>(packet.data) + offset, width);
            reg[0] = width == 1 ? value : width == 2 ? __builtin_bswap16(uint16_t(value)) : __builtin_bswap32(uint32_t(value));
            ++pc;
            break;
        }
        }
    }
}

}  // namespace

std::expected<ExecutionResult, Fault>
interpret(const LoadedProgram& program, RunContext& context, const std::array<uint64_t, 5>& arguments,
          const InterpreterOptions& options) {
    // The state is large (4 KiB of stack): keep it on the host stack, no allocation per run.
    State state;
    state.context = &context;
    state.options = options;
    if (options.checked) std::memset(state.stack, 0, sizeof state.stack);  // deterministic replays
    uint64_t reg[ir::RegisterCount] = {0, arguments[0], arguments[1], arguments[2], arguments[3], arguments[4]};
    reg[10] = state.stack_top();
    state.frames[0] = Frame{&program, 0, {}, reg[10]};
    state.current = &program;
    state.set_stack_region(reg[10]);
    context.checked = options.checked;
    context.engine_state = &state;
    context.invoke_callback = &invoke_callback;
    context.control = Control::Continue;
    context.fault.reset();
    auto result = options.checked ? execute<true>(state, &program, 0, reg, 0) : execute<false>(state, &program, 0, reg, 0);
    context.engine_state = nullptr;
    if (!result) return std::unexpected(std::move(result.error()));
    return ExecutionResult{*result, state.executed};
}

}  // namespace bpfvet::runtime
