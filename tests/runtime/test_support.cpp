#include "test_support.hpp"

#include "ir/assembler.hpp"

#include <gtest/gtest.h>
#include <sstream>
#include <stdexcept>

namespace bpfvet::runtime::test {

std::vector<ir::Instruction> assemble_or_die(std::string_view text, const std::vector<ir::MapDefinition>& maps) {
    ir::AssemblyOptions options;
    options.map_resolver = [&](std::string_view name) -> std::optional<uint32_t> {
        for (size_t i = 0; i < maps.size(); ++i)
            if (maps[i].name == name) return uint32_t(i);
        return std::nullopt;
    };
    auto assembled = ir::assemble(text, options);
    if (!assembled) throw std::runtime_error("assembly failed: " + assembled.error().to_string());
    return assembled->instructions;
}

ir::Object make_object(std::vector<ir::Instruction> code, ir::ProgramType type, std::vector<ir::MapDefinition> maps) {
    ir::Object object;
    object.path = "test.o";
    object.maps = std::move(maps);
    ir::Program program;
    program.section = "test";
    program.name = "test";
    program.type = type;
    program.functions.push_back(ir::Function{"test", 0, uint32_t(code.size())});
    program.instructions = std::move(code);
    object.programs.push_back(std::move(program));
    return object;
}

std::unique_ptr<LoadedObject> load_or_die(ir::Object object, RuntimeOptions options) {
    auto loaded = LoadedObject::create(std::move(object), std::move(options));
    if (!loaded) throw std::runtime_error("load failed: " + loaded.error().to_string());
    return std::move(*loaded);
}

ir::MapDefinition map_definition(std::string name, ir::MapType type, uint32_t key_size, uint32_t value_size,
                                 uint32_t max_entries) {
    ir::MapDefinition definition;
    definition.name = std::move(name);
    definition.type = type;
    definition.key_size = key_size;
    definition.value_size = value_size;
    definition.max_entries = max_entries;
    return definition;
}

std::vector<uint8_t> parse_hex_bytes(std::string_view text) {
    std::vector<uint8_t> bytes;
    std::istringstream in{std::string(text)};
    std::string token;
    while (in >> token) bytes.push_back(uint8_t(std::stoul(token, nullptr, 16)));
    return bytes;
}

}  // namespace bpfvet::runtime::test
