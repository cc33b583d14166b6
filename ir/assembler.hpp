// eBPF text to instructions. Reads two dialects, recognised line by line:
//
// (a) the conventional syntax the disassembler prints (ir/disassembler.hpp),
//     including its "   12:" pc prefixes, "name:" labels and "; ..." comments:
//         r0 = *(u32 *)(r1 + 4)
//         if r1 > 0x10 goto +3         (or "goto pc+3", or "goto some_label")
//         r1 = map[my_map] ll          call bpf_map_lookup_elem
//     Kernel verifier log spellings are accepted too: "12: (bf) r1 = r6",
//     "goto pc+3", "call bpf_map_lookup_elem#1", "(r10 -8)", "; R0_w=0"
//     state comments, "r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)",
//     "(18) r1 = 0x1234" (an LDDW without "ll"). Not its "r1 = map[id:5]"
//     (a kernel map id means nothing here) nor kfunc calls printed by name.
//
// (b) the uBPF / bpf_conformance dialect (the "-- asm" sections of the
//     conformance *.data files):
//         mov32 %r0, 1        ldxw %r0, [%r1+4]      stxdw [%r10-8], %r1
//         lddw %r0, 0x1122334455667788               jeq %r1, 5, label
//         ja +2    ja32 L1    call 5    call local func1    call %r2 (callx)
//         be16 %r0    bswap64 %r0    movsx1632 %r0, %r1    ldxsb %r0, [%r1]
//         lock add [%r1+0], %r2       lock fetch xor32 [%r10-4], %r3
//         lock xchg [%r10-8], %r1     lock cmpxchg32 [%r10-8], %r1
//     with '#' comments. As in bpf_conformance, a jump to the label "exit"
//     that is not declared goes to the first exit instruction.
//
// Numbers: decimal, hex (0x..), negative of either. Labels ("name:") may stand
// alone on a line or prefix an instruction; jumps and calls may name them.
// "invalid 0x<16 hex digits>" emits that raw slot, so even encodings the
// disassembler does not understand round-trip.
#pragma once

#include "ir/instruction.hpp"
#include "ir/program.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::ir {

struct AssemblyError {
    size_t line = 0;      // 1-based line of the text
    std::string message;

    [[nodiscard]] std::string to_string() const;
};

struct AssemblyOptions {
    // Turns a map name in "map[name]" / "map_value[name]" into the map index
    // stored in imm. Without a resolver the imm stays 0 and the reference is
    // only recorded (like an unrelocated ELF object); with one, an unknown
    // name is an error.
    std::function<std::optional<uint32_t>(std::string_view)> map_resolver;
};

struct AssembledProgram {
    std::vector<Instruction> instructions;  // an LDDW takes two slots
    // Symbolic map references: map name -> the slots of the LDDWs naming it.
    std::map<std::string, std::vector<size_t>, std::less<>> map_references;
    // Labels declared in the text -> the slot they mark.
    std::map<std::string, size_t, std::less<>> labels;
};

[[nodiscard]] std::expected<AssembledProgram, AssemblyError> assemble(std::string_view text,
                                                                      const AssemblyOptions& options = {});

// A Program from text, for tests and tools that start from assembly: its
// instructions, and its functions: one at slot 0 and one at every target of a
// local call or func[...] LDDW inside the program, each running up to the next
// and named by its label ("func_<pc>" without one). The program takes the
// first function's name. Example:
//   assemble_program("main: call sub\nexit\nsub: r0 = 1\nexit")
//     -> functions {main: [0, 2), sub: [2, 4)}, name "main"
[[nodiscard]] std::expected<Program, AssemblyError> assemble_program(std::string_view text,
                                                                     const AssemblyOptions& options = {});

}  // namespace bpfvet::ir
