#include "test_support.hpp"

#include "ir/assembler.hpp"

#include <algorithm>
#include <fstream>
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
    program.functions.push_back(ir::Function{.name = "test", .start = 0, .end = uint32_t(code.size())});
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

std::vector<ConformanceCase> conformance_cases_in(const std::filesystem::path& directory) {
    std::vector<ConformanceCase> cases;
    std::error_code error;
    if (!std::filesystem::is_directory(directory, error)) return cases;
    for (const auto& entry : std::filesystem::directory_iterator(directory))
        if (entry.path().extension() == ".data") cases.push_back({entry.path().stem().string(), entry.path().string()});
    std::sort(cases.begin(), cases.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return cases;
}

std::map<std::string, std::string> read_conformance_sections(const std::string& path) {
    std::ifstream in(path);
    std::map<std::string, std::string> sections;
    std::string line, current;
    while (std::getline(in, line)) {
        if (line.rfind("-- ", 0) == 0) {
            current = line.substr(3);
            while (!current.empty() && (current.back() == '\r' || current.back() == ' ')) current.pop_back();
            sections[current];
            continue;
        }
        if (line.rfind("#", 0) == 0 || current.empty()) continue;
        sections[current] += line + "\n";
    }
    return sections;
}

uint64_t conformance_unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (r1 == 0) {
        context->control = Control::Stop;
        context->stop_value = 0;
    }
    return r1;
}

ProgramFixture load_program_or_die(std::string_view text, ir::ProgramType type, std::vector<ir::MapDefinition> maps,
                                   RuntimeOptions options) {
    auto code = assemble_or_die(text, maps);
    ProgramFixture fixture;
    fixture.object = load_or_die(make_object(code, type, maps), std::move(options));
    auto program = fixture.object->program("test");
    if (!program) throw std::runtime_error(program.error().to_string());
    fixture.program = *program;
    fixture.runner = std::make_unique<Runner>(*fixture.object, *fixture.program, 0);
    return fixture;
}

RunOutcome run_program(ProgramFixture& fixture, RunInput input, bool checked) {
    auto set = fixture.runner->set_input(std::move(input));
    if (!set) throw std::runtime_error(set.error());
    RunOptions options;
    options.checked = checked;
    options.instruction_budget = 100000;
    return fixture.runner->run(options);
}

std::vector<uint8_t> counting_frame(size_t size) {
    std::vector<uint8_t> packet(size);
    for (size_t i = 0; i < size; ++i) packet[i] = uint8_t(i);
    return packet;
}

}  // namespace bpfvet::runtime::test
