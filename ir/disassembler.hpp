// eBPF instructions as text, in the conventional syntax of the kernel verifier
// log and llvm-objdump:
//
//   r0 = *(u32 *)(r1 + 4)            *(u64 *)(r10 - 8) = r1
//   w1 += 3                          r1 s>>= 3          r1 = (s8)r2
//   r1 = be16 r1                     r1 = bswap64 r1
//   r0 = 0x1122334455667788 ll       r1 = map[my_map] ll
//   r1 = map_value[.data] + 8 ll     r1 = func[+5] ll   r1 = btf_id[123] ll
//   if r1 > 0x10 goto +3             if w1 s< w2 goto -4
//   goto +3      gotol +70000        may_goto +2
//   call bpf_map_lookup_elem         call 999 (unknown helper)
//   call pc+5    call my_function    call kfunc[123]    callx r2    exit
//   call kfunc[2:123] (BTF id 123 of the module at fd_array[2])
//   lock *(u64 *)(r1 + 0) += r2      r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
//   r2 = xchg_64(r1 + 0, r2)         r0 = cmpxchg_64(r1 + 0, r0, r2)
//   r0 = *(u8 *)skb[4]               r0 = *(u16 *)skb[r1 + 4]
//   invalid 0x00000000000000ff       (an encoding we do not know, as its raw slot)
//
// The forms are the table in ir/assembly_syntax.hpp, which the assembler reads
// too, so everything printed here assembles back to the same slots.
#pragma once

#include "ir/instruction.hpp"
#include "ir/program.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace bpfvet::ir {

struct DisassemblyContext {
    size_t pc = 0;                           // slot of the instruction: local call targets are pc-relative
    const Object* object = nullptr;          // map names for map[...]; by index without it
    const std::vector<Function>* functions = nullptr;  // "call name" instead of "call pc+5"
    // Jump targets t with (*labelled_pcs)[t] print as ".L<t>" instead of "+3";
    // the caller prints the ".L<t>:" lines (disassemble_program does).
    const std::vector<bool>* labelled_pcs = nullptr;
};

// One instruction. `next_slot` is the following slot (needed by LDDW), or
// nullptr at the end of the program. Never fails: unknown encodings print as
// "invalid 0x<slot>".
[[nodiscard]] std::string disassemble(const Instruction& insn, const Instruction* next_slot,
                                      const DisassemblyContext& context = {});

// How many slots the instruction at `pc` occupies as printed: 2 for a well-formed LDDW, else 1.
[[nodiscard]] size_t printed_width(const Instruction& insn, const Instruction* next_slot);

struct DisassemblyOptions {
    bool with_pc = true;          // "   12: r0 = 1"
    bool with_source = false;     // "; <source line>  [file:line]" before each new source line
    bool function_labels = true;  // "name:" before each function, and "call name"
    bool jump_labels = false;     // ".L12:" before jump targets, and "goto .L12"
};

// A whole program, one instruction per line (an LDDW takes one line and two pcs).
// `object` supplies map names and may be null.
[[nodiscard]] std::string disassemble_program(const Program& program, const Object* object,
                                              const DisassemblyOptions& options = {});

// A source line as `disasm --source` prints it: "; <text>  [file:line]".
[[nodiscard]] std::string source_comment(const SourceLocation& location);

// The label the disassembler prints for a jump target at `pc` (".L12").
[[nodiscard]] std::string jump_label(size_t pc);

}  // namespace bpfvet::ir
