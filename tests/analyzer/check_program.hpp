// Shared by the analyzer tests: assemble a small program (maps referenced by
// name), analyse it, and read the verdict and error codes back.
#pragma once

#include "analyzer/analyzer.hpp"
#include "ir/assembler.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::analyzer::test {

struct Checked {
    AnalysisResult result;
    // "null-dereference@12 <message>" per error, one a line.
    [[nodiscard]] std::string codes() const {
        std::string out;
        for (const auto& e : result.errors)
            out += std::string(e.code_name()) + "@" + std::to_string(e.pc) + " " + e.message + "\n";
        return out;
    }
    [[nodiscard]] bool rejected_with(std::string_view code) const {
        return !result.accepted && !result.errors.empty() && result.errors.front().code_name() == code;
    }
};

// A one-entry map with 4-byte keys (a 4096-byte ring buffer for Ringbuf).
inline ir::MapDefinition map_of(std::string name, uint32_t value_size, ir::MapType type = ir::MapType::Array) {
    ir::MapDefinition map;
    map.name = std::move(name);
    map.type = type;
    map.key_size = type == ir::MapType::Ringbuf ? 0 : 4;
    map.value_size = type == ir::MapType::Ringbuf ? 0 : value_size;
    map.max_entries = type == ir::MapType::Ringbuf ? 4096 : 1;
    return map;
}

// Assembles `text` as section "test" of `type` and analyses it (an empty
// license: no license section). `adjust` edits the assembled program first,
// for BTF facts the assembler cannot express (func_info, global functions).
inline Checked check(std::string_view text, ir::ProgramType type, std::vector<ir::MapDefinition> maps = {},
                     AnalysisOptions options = {}, std::string license = {},
                     const std::function<void(ir::Program&)>& adjust = {}) {
    ir::Object object;
    object.maps = std::move(maps);
    object.license = std::move(license);
    ir::AssemblyOptions assembly;
    assembly.map_resolver = [&](std::string_view name) -> std::optional<uint32_t> {
        for (size_t i = 0; i < object.maps.size(); ++i)
            if (object.maps[i].name == name) return uint32_t(i);
        return std::nullopt;
    };
    auto program = ir::assemble_program(text, assembly);
    EXPECT_TRUE(program.has_value()) << (program ? "" : program.error().to_string());
    if (!program) return {};
    program->type = type;
    program->section = "test";
    if (adjust) adjust(*program);
    return Checked{analyze_program(object, *program, options)};
}

inline constexpr auto Xdp = ir::ProgramType::Xdp;
inline constexpr auto Socket = ir::ProgramType::SocketFilter;

}  // namespace bpfvet::analyzer::test
