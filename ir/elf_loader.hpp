// Reads a BPF ELF relocatable object (clang -target bpf) into an Object:
// every program (one per global function of each program section), its .text
// subprograms linked in after it, maps from `maps` / `.maps` / global data
// sections, relocations applied, and BTF line info per instruction.
#pragma once

#include "ir/program.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace bpfvet::ir {

struct LoadLimits {
    uint64_t max_file_bytes = 256ull << 20;  // refuse absurd inputs up front
    uint32_t max_instructions = 1u << 20;    // per linked program
};

[[nodiscard]] Expected<Object> load_object(const std::string& path, const LoadLimits& limits = {});

// Same, from bytes already in memory; `name` is used in error messages.
[[nodiscard]] Expected<Object> load_object_from_memory(std::span<const uint8_t> bytes, const std::string& name,
                                                      const LoadLimits& limits = {});

}  // namespace bpfvet::ir
