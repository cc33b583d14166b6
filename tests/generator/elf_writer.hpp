// A generated program as an ELF object, the way clang would leave it for a
// loader: the code in its program section (entry "prog", subprograms as local
// functions), LDDWs of maps relocated (R_BPF_64_64) against symbols in a
// legacy "maps" section (struct bpf_map_def), and a "license" section. So a
// program the oracle minimized can be kept as a file, and `bpfvet check`,
// `run` and `sections` read it like any object:
//
//   write_elf(generate_program(42), "seed42.o");   // then: bpfvet check seed42.o
#pragma once

#include "program_generator.hpp"

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace bpfvet::generator {

// The object's bytes (ELF64, little-endian, EM_BPF, ET_REL); an error when
// the text does not assemble.
[[nodiscard]] std::expected<std::vector<uint8_t>, std::string> elf_object(const GeneratedProgram& program);

// elf_object written to `path`.
[[nodiscard]] std::expected<void, std::string> write_elf(const GeneratedProgram& program, const std::string& path);

}  // namespace bpfvet::generator
