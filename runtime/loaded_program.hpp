// A program linked against a runtime: map references resolved to Map*
// addresses, global data to value addresses, helper calls to functions.
#pragma once

#include "ir/program.hpp"
#include "runtime/helpers.hpp"

#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bpfvet::runtime {

class Map;

struct LoadedProgram {
    uint32_t id = 0;                 // its index in the object (prog array values)
    std::string section;
    std::string name;
    ir::ProgramType type = ir::ProgramType::Unspecified;
    std::vector<ir::Instruction> instructions;
    // Per slot: an LDDW's resolved 64-bit value (in its first slot), or a
    // helper call's HelperFunction; 0 elsewhere.
    std::vector<uint64_t> resolved;
    std::vector<int32_t> helpers_used;
    const HelperTable* helper_table = nullptr;  // for callx (register-indirect helper call)
};

// Programs by id, for tail calls.
class ProgramTable {
public:
    void add(std::unique_ptr<LoadedProgram> program) { programs_.push_back(std::move(program)); }
    [[nodiscard]] const LoadedProgram* find(uint32_t id) const {
        return id < programs_.size() ? programs_[id].get() : nullptr;
    }
    [[nodiscard]] size_t size() const { return programs_.size(); }
    [[nodiscard]] const LoadedProgram* at(size_t index) const { return programs_[index].get(); }

private:
    std::vector<std::unique_ptr<LoadedProgram>> programs_;
};

// Resolves `program` against `maps` (indexed as Object::maps) and `helpers`.
// Fails, naming the instruction, for a helper the table lacks ("helper 6
// (bpf_trace_printk) is not provided by the runtime"), a kfunc call, an
// unknown map index, or an LDDW kind we cannot give a meaning to.
[[nodiscard]] std::expected<std::unique_ptr<LoadedProgram>, ir::LoadError>
link_program(const ir::Program& program, std::span<Map* const> maps, const HelperTable& helpers,
             const std::string& file = "");

}  // namespace bpfvet::runtime
