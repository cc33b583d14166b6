#include "tools/map_creation.hpp"

#include "ir/disassembler.hpp"
#include "runtime/map_limits.hpp"

#include <fmt/format.h>

namespace bpfvet::tools {
namespace {

// The first instruction of `program` that loads map `index`, or 0.
uint32_t first_reference(const ir::Program& program, uint32_t index) {
    for (uint32_t pc = 0; pc < program.instructions.size(); ++pc) {
        const ir::Instruction& insn = program.instructions[pc];
        if (!insn.is_lddw() || uint32_t(insn.imm) != index) continue;
        const auto kind = ir::LddwKind(insn.src);
        if (kind == ir::LddwKind::MapFd || kind == ir::LddwKind::MapValue || kind == ir::LddwKind::MapIndex ||
            kind == ir::LddwKind::MapIndexValue)
            return pc;
    }
    return 0;
}

}  // namespace

void reject_for_uncreatable_maps(const ir::Object& object, const ir::Program& program, analyzer::AnalysisResult& result) {
    for (uint32_t index = 0; index < object.maps.size(); ++index) {
        const ir::MapDefinition& map = object.maps[index];
        auto refusal = runtime::kernel_size_refusal(map);
        if (!refusal) continue;
        analyzer::Diagnostic diagnostic;
        diagnostic.code = analyzer::ErrorCode::InvalidMapReference;
        diagnostic.pc = first_reference(program, index);
        if (diagnostic.pc < program.instructions.size()) {
            const ir::Instruction* next =
                diagnostic.pc + 1 < program.instructions.size() ? &program.instructions[diagnostic.pc + 1] : nullptr;
            ir::DisassemblyContext context{diagnostic.pc, &object, &program.functions, nullptr};
            diagnostic.instruction = ir::disassemble(program.instructions[diagnostic.pc], next, context);
        }
        if (const auto* location = program.source_line(diagnostic.pc)) diagnostic.location = *location;
        diagnostic.message = fmt::format("map '{}' cannot be created by the kernel ({}), so no program of this object "
                                         "can be loaded",
                                         map.name, *refusal);
        result.errors.push_back(std::move(diagnostic));
        result.accepted = false;
    }
}

}  // namespace bpfvet::tools
