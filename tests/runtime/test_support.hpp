// Shared by the runtime tests: build programs from assembly or instructions,
// load them into a runtime with given maps, and run them.
#pragma once

#include "ir/program.hpp"
#include "runtime/runtime.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::runtime::test {

// Assembles `text` (either dialect) or fails the test.
// Assembles `text` (either dialect) or throws; map[name] refers to `maps` by name.
std::vector<ir::Instruction> assemble_or_die(std::string_view text, const std::vector<ir::MapDefinition>& maps = {});

// An object with one program (section "test") of `type` and `maps`.
ir::Object make_object(std::vector<ir::Instruction> code, ir::ProgramType type = ir::ProgramType::Unspecified,
                       std::vector<ir::MapDefinition> maps = {});

std::unique_ptr<LoadedObject> load_or_die(ir::Object object, RuntimeOptions options = {});

ir::MapDefinition map_definition(std::string name, ir::MapType type, uint32_t key_size, uint32_t value_size,
                                 uint32_t max_entries);

// Parses whitespace-separated hex bytes ("00 01 ff").
std::vector<uint8_t> parse_hex_bytes(std::string_view text);

}  // namespace bpfvet::runtime::test
