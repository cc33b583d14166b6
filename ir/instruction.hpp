// One eBPF instruction (RFC 9669), in its encoded fields plus typed accessors.
//
// A program is a vector of these with the same indices as the bytecode: an LDDW
// occupies two slots, the second being its continuation (opcode 0). Keeping raw
// indices means every diagnostic's pc matches what the kernel and objdump print.
#pragma once

#include <cstdint>

namespace bpfvet::ir {

enum class InstructionClass : uint8_t {
    Ld = 0x00, Ldx = 0x01, St = 0x02, Stx = 0x03,
    Alu = 0x04, Jmp = 0x05, Jmp32 = 0x06, Alu64 = 0x07,
};

enum class AluOp : uint8_t {
    Add = 0x00, Sub = 0x10, Mul = 0x20, Div = 0x30, Or = 0x40, And = 0x50,
    Lsh = 0x60, Rsh = 0x70, Neg = 0x80, Mod = 0x90, Xor = 0xa0, Mov = 0xb0,
    Arsh = 0xc0, End = 0xd0,
};

enum class JmpOp : uint8_t {
    Ja = 0x00, Jeq = 0x10, Jgt = 0x20, Jge = 0x30, Jset = 0x40, Jne = 0x50,
    Jsgt = 0x60, Jsge = 0x70, Call = 0x80, Exit = 0x90, Jlt = 0xa0, Jle = 0xb0,
    Jslt = 0xc0, Jsle = 0xd0,
    Jcond = 0xe0,  // may_goto (v4)
};

// Bit 3 of ALU/JMP opcodes: operand is the immediate (K) or src register (X).
// For ALU End it selects the byte order: To-LE (0) or To-BE (1); for Alu64
// End (v4) it means an unconditional byte swap.
enum class Source : uint8_t { Imm = 0x00, Reg = 0x08 };

enum class MemSize : uint8_t { W = 0x00, H = 0x08, B = 0x10, DW = 0x18 };

enum class MemMode : uint8_t {
    Imm = 0x00,     // only LDDW (Ld | DW | Imm)
    Abs = 0x20,     // legacy packet access
    Ind = 0x40,     // legacy packet access
    Mem = 0x60,
    MemSx = 0x80,   // v4 sign-extending loads
    Atomic = 0xc0,
};

// Atomic operation in the imm field of Stx|Atomic.
namespace atomic {
inline constexpr int32_t Add = 0x00, Or = 0x40, And = 0x50, Xor = 0xa0;
inline constexpr int32_t Fetch = 0x01;
inline constexpr int32_t Xchg = 0xe0 | Fetch, CmpXchg = 0xf0 | Fetch;
// v4 (Linux 6.15): dst = load_acquire(src + off), store_release(dst + off, src); any width.
inline constexpr int32_t LoadAcquire = 0x100, StoreRelease = 0x110;
}  // namespace atomic

// The src field of LDDW: what the 64-bit immediate means.
enum class LddwKind : uint8_t {
    Immediate = 0,     // plain 64-bit constant
    MapFd = 1,         // imm = map (our map index after loading)
    MapValue = 2,      // imm = map, next imm = offset into its value
    BtfId = 3,         // imm = BTF id of a kernel variable
    Function = 4,      // imm = relative pc of a local function
    MapIndex = 5,      // imm = map index
    MapIndexValue = 6, // imm = map index, next imm = offset
};

// The src field of CALL.
enum class CallKind : uint8_t { Helper = 0, Local = 1, Kfunc = 2 };

inline constexpr int RegisterCount = 11;  // r0..r10
inline constexpr int FramePointer = 10;
inline constexpr int StackSize = 512;

struct Instruction {
    uint8_t opcode = 0;
    uint8_t dst = 0;  // 4 bits in the encoding
    uint8_t src = 0;  // 4 bits in the encoding
    int16_t offset = 0;
    int32_t imm = 0;

    [[nodiscard]] constexpr InstructionClass cls() const { return InstructionClass(opcode & 0x07); }
    [[nodiscard]] constexpr bool is_alu() const {
        return cls() == InstructionClass::Alu || cls() == InstructionClass::Alu64;
    }
    [[nodiscard]] constexpr bool is_jmp() const {
        return cls() == InstructionClass::Jmp || cls() == InstructionClass::Jmp32;
    }
    [[nodiscard]] constexpr bool is_load() const {
        return cls() == InstructionClass::Ldx;
    }
    [[nodiscard]] constexpr bool is_store() const {
        return cls() == InstructionClass::St || cls() == InstructionClass::Stx;
    }
    [[nodiscard]] constexpr AluOp alu_op() const { return AluOp(opcode & 0xf0); }
    [[nodiscard]] constexpr JmpOp jmp_op() const { return JmpOp(opcode & 0xf0); }
    [[nodiscard]] constexpr Source source() const { return Source(opcode & 0x08); }
    [[nodiscard]] constexpr MemSize mem_size() const { return MemSize(opcode & 0x18); }
    [[nodiscard]] constexpr MemMode mem_mode() const { return MemMode(opcode & 0xe0); }

    [[nodiscard]] constexpr bool is_lddw() const { return opcode == 0x18; }
    [[nodiscard]] constexpr bool is_exit() const { return opcode == 0x95; }
    [[nodiscard]] constexpr bool is_call() const { return opcode == 0x85 || opcode == 0x8d; }
    [[nodiscard]] constexpr bool is_helper_call() const { return opcode == 0x85 && src == 0; }
    [[nodiscard]] constexpr bool is_local_call() const { return opcode == 0x85 && src == 1; }
    [[nodiscard]] constexpr bool is_kfunc_call() const { return opcode == 0x85 && src == 2; }
    // Unconditional jump: JA (16-bit offset) or, in Jmp32, gotol (32-bit imm).
    [[nodiscard]] constexpr bool is_goto() const { return opcode == 0x05 || opcode == 0x06; }
    // may_goto (JMP|JCOND, v4, Linux 6.9): jumps when the loop budget is spent, else falls through.
    [[nodiscard]] constexpr bool is_may_goto() const { return opcode == 0xe5; }
    [[nodiscard]] constexpr bool is_load_acquire() const { return (opcode & 0xe7) == 0xc3 && imm == atomic::LoadAcquire; }
    [[nodiscard]] constexpr bool is_conditional_jump() const {
        return is_jmp() && !is_goto() && !is_call() && !is_exit();
    }
    // Relative jump distance in slots (gotol keeps it in imm).
    [[nodiscard]] constexpr int64_t jump_offset() const { return opcode == 0x06 ? imm : offset; }
    // Width of a memory access in bytes.
    [[nodiscard]] constexpr int access_width() const {
        switch (mem_size()) {
        case MemSize::B: return 1;
        case MemSize::H: return 2;
        case MemSize::W: return 4;
        case MemSize::DW: return 8;
        }
        return 0;
    }
    friend constexpr bool operator==(const Instruction&, const Instruction&) = default;
};

// Encoding helpers: one 8-byte slot <-> Instruction (little-endian, as in ELF objects).
[[nodiscard]] constexpr Instruction decode_slot(uint64_t word) {
    Instruction insn;
    insn.opcode = uint8_t(word & 0xff);
    insn.dst = uint8_t((word >> 8) & 0x0f);
    insn.src = uint8_t((word >> 12) & 0x0f);
    insn.offset = int16_t(uint16_t(word >> 16));
    insn.imm = int32_t(uint32_t(word >> 32));
    return insn;
}

[[nodiscard]] constexpr uint64_t encode_slot(const Instruction& insn) {
    return uint64_t(insn.opcode) | uint64_t(insn.dst & 0x0f) << 8 | uint64_t(insn.src & 0x0f) << 12 |
           uint64_t(uint16_t(insn.offset)) << 16 | uint64_t(uint32_t(insn.imm)) << 32;
}

// The 64-bit constant of an LDDW whose first slot is `first` and second `second`.
[[nodiscard]] constexpr uint64_t lddw_value(const Instruction& first, const Instruction& second) {
    return uint64_t(uint32_t(first.imm)) | uint64_t(uint32_t(second.imm)) << 32;
}

}  // namespace bpfvet::ir
