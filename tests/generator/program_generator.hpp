// Random, plausible eBPF programs, reproducible from a seed: the raw material
// of the soundness oracle, the JIT differential and the kernel differential
// (docs/robustness.md, "Generated programs").
//
// A program is assembly text (ir/assembler.hpp), one instruction or label a
// line, built from snippets a compiler would emit, each sometimes with the one
// mistake that makes it unsafe: map lookups with and without the null check,
// packet reads with and without the bounds check, stack spills and fills of
// every width (some of uninitialised bytes), pointer arithmetic, bounded,
// unbounded and irreducible loops, dead code, local calls, helper calls with
// right and wrong arguments, every ALU, JMP, LD, ST and atomic form at 32 and
// 64 bits. Text keeps a failing program readable and lets the minimizer
// delete lines.
//
//   GeneratedProgram p = generate_program(42);
//   auto object = build_object(p);   // ir::Object with one program, its maps
#pragma once

#include "ir/program.hpp"

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace bpfvet::generator {

struct GeneratedProgram {
    uint64_t seed = 0;
    ir::ProgramType type = ir::ProgramType::Unspecified;
    std::string section;  // libbpf's section name for the type ("xdp", "tc", ...)
    std::vector<ir::MapDefinition> maps;
    std::vector<std::string> lines;  // assembly: instructions and "label:" lines

    [[nodiscard]] std::string text() const;
};

// The program of `seed`; the same seed gives the same program.
[[nodiscard]] GeneratedProgram generate_program(uint64_t seed);

// An object holding `program` as its only program (license GPL), maps
// resolved by name; an error when the text does not assemble (the minimizer
// deletes lines, which may leave a jump to a missing label).
[[nodiscard]] std::expected<ir::Object, std::string> build_object(const GeneratedProgram& program);

}  // namespace bpfvet::generator
