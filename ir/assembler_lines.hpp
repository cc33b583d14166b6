// Internal to the assembler: one line of text to its slots, before labels and
// map names are resolved. assembler.cpp drives it; the conventional dialect
// lives there too, the uBPF dialect in assembler_ubpf.cpp.
#pragma once

#include "ir/assembly_syntax.hpp"

#include <expected>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace bpfvet::ir::assembly {

using syntax::Token;

// A label named as a jump or call target, to be turned into a distance.
struct LabelUse {
    enum class Field : uint8_t { Offset, Imm };
    size_t slot = 0;  // within the line's slots
    std::string label;
    Field field = Field::Offset;
};

// A map named in map[...] / map_value[...], to be resolved to an index.
struct MapUse {
    size_t slot = 0;
    std::string name;
};

struct Line {
    std::vector<Instruction> slots;
    std::vector<LabelUse> label_uses;
    std::vector<MapUse> map_uses;
};

using LineResult = std::expected<Line, std::string>;

// Tells "call foo" to a local function labelled foo from a helper called foo.
using IsLabel = std::function<bool(std::string_view)>;

// A number in the text: "42", "-0x10", "0xffffffff".
struct Number {
    uint64_t magnitude = 0;
    bool negative = false;
};

// Reads an optional sign and a number token at tokens[position], advancing
// position past them. Fails on a malformed or overflowing literal.
[[nodiscard]] std::optional<Number> read_number(std::span<const Token> tokens, size_t& position);

// Range checks. imm accepts [-2^31, 2^32): 0xffffffff is the bit pattern of -1,
// as in the kernel log and the conformance files. Offsets are [-2^15, 2^15).
[[nodiscard]] std::optional<int32_t> to_imm32(Number number);
[[nodiscard]] std::optional<int16_t> to_offset16(Number number);
[[nodiscard]] std::optional<uint64_t> to_imm64(Number number);

[[nodiscard]] bool is_ubpf_line(std::span<const Token> tokens);
[[nodiscard]] LineResult assemble_ubpf_line(std::span<const Token> tokens, const IsLabel& is_label);
[[nodiscard]] LineResult assemble_conventional_line(std::span<const Token> tokens, const IsLabel& is_label);

}  // namespace bpfvet::ir::assembly
