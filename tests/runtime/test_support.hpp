// Shared by the runtime tests: build programs from assembly or instructions,
// load them into a runtime with given maps, and run them.
#pragma once

#include "ir/program.hpp"
#include "runtime/runtime.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
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

// One program of an object built from assembly, with a Runner on worker 0.
struct ProgramFixture {
    std::unique_ptr<LoadedObject> object;
    const LoadedProgram* program = nullptr;
    std::unique_ptr<Runner> runner;
};
// Assembles `text` as the program of section "test" (or throws).
ProgramFixture load_program_or_die(std::string_view text, ir::ProgramType type = ir::ProgramType::Unspecified,
                                   std::vector<ir::MapDefinition> maps = {}, RuntimeOptions options = {});
// Runs it once on `input` (checked by default, budget 100000 instructions), or throws on a bad input.
RunOutcome run_program(ProgramFixture& fixture, RunInput input = {}, bool checked = true);
// A frame of `size` bytes whose byte i is i (mod 256).
std::vector<uint8_t> counting_frame(size_t size);

ir::MapDefinition map_definition(std::string name, ir::MapType type, uint32_t key_size, uint32_t value_size,
                                 uint32_t max_entries);

// Parses whitespace-separated hex bytes ("00 01 ff").
std::vector<uint8_t> parse_hex_bytes(std::string_view text);

// One conformance case (a bpf_conformance `.data` file, format in ../shared/conformance/README.md).
struct ConformanceCase {
    std::string name;
    std::string path;
};
inline void PrintTo(const ConformanceCase& c, std::ostream* os) { *os << c.name; }

// The `.data` files of `directory`, sorted by name; empty when it does not exist.
std::vector<ConformanceCase> conformance_cases_in(const std::filesystem::path& directory);

// Sections of a .data file: "-- asm", "-- mem", "-- result", ...; '#' lines are comments.
std::map<std::string, std::string> read_conformance_sections(const std::string& path);

// uBPF's helper 5 ("unwind"), used by the conformance cases: returns its argument,
// and a zero ends the program.
uint64_t conformance_unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context);

}  // namespace bpfvet::runtime::test
