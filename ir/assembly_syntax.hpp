// The text form of eBPF as data, shared by the disassembler and the assembler.
//
// Every instruction shape is one Form: an opcode, the values its unused fields
// must hold, and a template such as "{dst} += {imm}". The disassembler fills
// a template in; the assembler matches a line against the same template. So
// the two directions cannot drift apart: a new form is one row in
// build_forms(), and it is printed and parsed from then on.
//
// Internal to ir/: include it only from the disassembler and assembler.
#pragma once

#include "ir/instruction.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bpfvet::ir::syntax {

// ---------------------------------------------------------------------------
// Operation tables (the only place mnemonics and operator symbols are spelled)

struct AluOperation {
    AluOp op;
    int16_t offset;             // 1 selects the signed variant of div and mod (v4)
    std::string_view mnemonic;  // uBPF: "add", "sdiv" (with "32" appended for Alu)
    std::string_view symbol;    // conventional: "+=", "s/="
    bool bitwise;               // immediate printed in hex: r1 &= 0xff
};

inline constexpr std::array<AluOperation, 14> alu_operations{{
    {AluOp::Add, 0, "add", "+=", false},   {AluOp::Sub, 0, "sub", "-=", false},
    {AluOp::Mul, 0, "mul", "*=", false},   {AluOp::Div, 0, "div", "/=", false},
    {AluOp::Div, 1, "sdiv", "s/=", false}, {AluOp::Or, 0, "or", "|=", true},
    {AluOp::And, 0, "and", "&=", true},    {AluOp::Lsh, 0, "lsh", "<<=", false},
    {AluOp::Rsh, 0, "rsh", ">>=", false},  {AluOp::Mod, 0, "mod", "%=", false},
    {AluOp::Mod, 1, "smod", "s%=", false}, {AluOp::Xor, 0, "xor", "^=", true},
    {AluOp::Mov, 0, "mov", "=", false},    {AluOp::Arsh, 0, "arsh", "s>>=", false},
}};

struct JumpCondition {
    JmpOp op;
    std::string_view mnemonic;  // uBPF: "jeq" (with "32" appended for Jmp32)
    std::string_view symbol;    // conventional: "==", "s>"
    bool is_signed;             // immediate printed in decimal, else hex
};

inline constexpr std::array<JumpCondition, 11> jump_conditions{{
    {JmpOp::Jeq, "jeq", "==", false},   {JmpOp::Jne, "jne", "!=", false},
    {JmpOp::Jgt, "jgt", ">", false},    {JmpOp::Jge, "jge", ">=", false},
    {JmpOp::Jlt, "jlt", "<", false},    {JmpOp::Jle, "jle", "<=", false},
    {JmpOp::Jset, "jset", "&", false},  {JmpOp::Jsgt, "jsgt", "s>", true},
    {JmpOp::Jsge, "jsge", "s>=", true}, {JmpOp::Jslt, "jslt", "s<", true},
    {JmpOp::Jsle, "jsle", "s<=", true},
}};

struct MemoryWidth {
    MemSize size;
    int bits;
    std::string_view suffix;  // uBPF: ldx"w", st"dw"
};

inline constexpr std::array<MemoryWidth, 4> memory_widths{{
    {MemSize::B, 8, "b"}, {MemSize::H, 16, "h"}, {MemSize::W, 32, "w"}, {MemSize::DW, 64, "dw"},
}};

// Byte swaps: Alu|End with the Source bit choosing little (to_le) or big (to_be)
// endian, and Alu64|End|Imm the unconditional swap (v4). imm is the width.
struct ByteSwap {
    uint8_t opcode;
    std::string_view name;  // both dialects: "le", "be", "bswap" followed by the width
};

inline constexpr std::array<ByteSwap, 3> byte_swaps{{
    {0xd4, "le"}, {0xdc, "be"}, {0xd7, "bswap"},
}};

// Atomic operations (imm of Stx|Atomic). load_acquire / store_release are the
// newest (kernel 6.15) and exist for every width; the others only for W and DW.
inline constexpr int32_t load_acquire = atomic::LoadAcquire;
inline constexpr int32_t store_release = atomic::StoreRelease;

struct AtomicOperation {
    int32_t imm;
    std::string_view mnemonic;       // uBPF: "lock <mnemonic>[32] [%rD+off], %rS"
    std::string_view symbol;         // conventional compound assignment, or empty
    std::string_view function;       // conventional function name, or empty
};

inline constexpr std::array<AtomicOperation, 10> atomic_operations{{
    {atomic::Add, "add", "+=", ""},
    {atomic::Or, "or", "|=", ""},
    {atomic::And, "and", "&=", ""},
    {atomic::Xor, "xor", "^=", ""},
    {atomic::Add | atomic::Fetch, "fetch add", "", "atomic_fetch_add"},
    {atomic::Or | atomic::Fetch, "fetch or", "", "atomic_fetch_or"},
    {atomic::And | atomic::Fetch, "fetch and", "", "atomic_fetch_and"},
    {atomic::Xor | atomic::Fetch, "fetch xor", "", "atomic_fetch_xor"},
    {atomic::Xchg, "xchg", "", "xchg"},
    {atomic::CmpXchg, "cmpxchg", "", "cmpxchg"},
}};

// Opcodes without an enum of their own in instruction.hpp.
inline constexpr uint8_t opcode_callx = 0x8d;    // Jmp|Call|Reg: call the helper whose id is in dst
inline constexpr uint8_t opcode_may_goto = 0xe5; // Jmp|Jcond|Imm (kernel 6.9): bounded loop escape
inline constexpr uint8_t opcode_gotol = 0x06;    // Jmp32|Ja: 32-bit jump distance in imm

// ---------------------------------------------------------------------------
// Tokens (both dialects use the same tokenizer)

enum class TokenKind : uint8_t { Identifier, Number, Operator };

struct Token {
    TokenKind kind;
    std::string_view text;
    size_t column;  // where the token starts on its line
};

// Splits one line, comments already removed. Identifiers may contain '.', so
// map names like ".rodata.str1.1" are one token; "s>=" and friends are one
// operator token. Examples:
//   "r1 s>>= 3"              -> r1 | s>>= | 3
//   "*(u32 *)(r10 - 4) = 0"  -> * | ( | u32 | * | ) | ( | r10 | - | 4 | ) | = | 0
//   "ldxw %r0, [%r1+4]"      -> ldxw | % | r0 | , | [ | % | r1 | + | 4 | ]
[[nodiscard]] std::vector<Token> tokenize(std::string_view line);

// The line without its comment: ';' and "//" anywhere, '#' at the start of the
// line or after a blank (so "bpf_map_lookup_elem#1" in a kernel log keeps it).
[[nodiscard]] std::string_view strip_comment(std::string_view line);

// ---------------------------------------------------------------------------
// Forms

// A placeholder in a template names which field(s) it prints and reads, and how.
enum class Operand : uint8_t {
    Dst,          // "r3" from dst
    Dst32,        // "w3" from dst
    Src,          // "r3" from src
    Src32,        // "w3" from src
    Imm,          // imm in decimal: "-5"
    HexImm,       // imm in hex when large: "0xff", "7", "-8"
    MemoryOffset, // offset as "+ 4" / "- 8" inside an address
    OffsetNumber, // offset as a plain number: the module of a kfunc
    IndexOffset,  // imm as "+ 4" / "- 8" inside skb[...]
    JumpOffset,   // offset as a jump target: "+3", "-1", or a label
    JumpImm,      // imm as a jump target (gotol)
    CallTarget,   // imm as a local call target: "pc+5", or a function name
    Helper,       // imm as a helper: "bpf_map_lookup_elem", or "999" if unknown
    Imm64,        // imm and next slot's imm as one 64-bit constant
    Map,          // imm as a map: "my_map" (by name from the Object) or "3"
    NextImm,      // next slot's imm as an unsigned number (map value offset)
    FunctionRef,  // imm as a relative function target in lddw: "+5" or a label
};

struct Template {
    // A template is literal text interleaved with operands:
    // "{dst} += {imm}" -> [Operand::Dst, " += ", Operand::Imm].
    std::vector<std::variant<std::string, Operand>> pieces;
};

// Which fields a form's template reads and writes; the others are fixed.
struct BoundFields {
    bool dst = false, src = false, offset = false, imm = false, next_imm = false;
};

struct Form {
    uint8_t opcode = 0;
    // Values of the fields the template does not bind.
    uint8_t dst = 0, src = 0;
    int16_t offset = 0;
    int32_t imm = 0;
    bool wide = false;      // LDDW: a second slot (opcode 0, only imm used)
    bool read_only = false; // another spelling the assembler reads (the kernel log's); never printed
    int32_t next_imm = 0;   // fixed second-slot imm when the template does not bind it
    std::string text;       // the template as written, e.g. "{dst} += {imm}"
    Template pattern;
    BoundFields bound;
};

// All forms, built once. Forms with the same opcode differ in a fixed field
// (div/sdiv in offset, helper/local/kfunc call in src, atomics in imm), or the
// earlier one is a special case of the later (kfunc in module 0 before a kfunc
// in any module): the disassembler uses the first form that fits.
[[nodiscard]] const std::vector<Form>& forms();

// The forms with this opcode (indices into forms()).
[[nodiscard]] std::span<const uint16_t> forms_with_opcode(uint8_t opcode);

// True when the unbound fields of `insn` (and `next` for a wide form) hold the
// values the form requires and its registers are r0..r10.
[[nodiscard]] bool fits(const Form& form, const Instruction& insn, const Instruction* next);

// The printable form `insn` is an instance of, or nullptr for an encoding we do not know
// (reserved fields set, undefined opcode, LDDW without its second slot, ...).
[[nodiscard]] const Form* find_form(const Instruction& insn, const Instruction* next);

// Names the disassembler may print where the assembler reads a name back:
// identifiers ([A-Za-z_.$][A-Za-z0-9_.$]*). Function names (labels and call
// targets) must also not be registers, helper names ("call foo" would be
// ambiguous), jump labels (".L12") or "pc", "local", "helper", "runtime".
[[nodiscard]] bool is_printable_map_name(std::string_view name);
[[nodiscard]] bool is_printable_function_name(std::string_view name);

// Register names: "r0".."r10" (or "w0".."w10") -> the number.
[[nodiscard]] std::optional<uint8_t> parse_register(std::string_view text, char prefix);

}  // namespace bpfvet::ir::syntax
