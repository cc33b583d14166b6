#include "runtime/loaded_program.hpp"

#include "ir/helper_names.hpp"
#include "runtime/kfuncs.hpp"
#include "runtime/map.hpp"

#include <fmt/format.h>

namespace bpfvet::runtime {
namespace {

ir::LoadError error_at(const ir::Program& program, const std::string& file, size_t pc, std::string message) {
    return ir::LoadError{file, program.section, pc, std::move(message)};
}

// The address a MapValue LDDW stands for: the map's one value (key 0) plus offset.
std::optional<uint64_t> value_address(Map* map, uint32_t offset) {
    uint32_t key = 0;
    void* value = map->lookup(&key, 0);
    if (!value || offset >= map->definition().value_size) return std::nullopt;
    return reinterpret_cast<uint64_t>(value) + offset;
}

}  // namespace

std::expected<std::unique_ptr<LoadedProgram>, ir::LoadError>
link_program(const ir::Program& program, std::span<Map* const> maps, const HelperTable& helpers,
             const std::string& file) {
    auto loaded = std::make_unique<LoadedProgram>();
    loaded->section = program.section;
    loaded->name = program.name;
    loaded->type = program.type;
    loaded->helper_table = &helpers;
    loaded->instructions = program.instructions;
    loaded->resolved.assign(program.instructions.size(), 0);
    const auto& code = program.instructions;
    auto map_at = [&](int32_t index) -> Map* {
        return index >= 0 && size_t(index) < maps.size() ? maps[size_t(index)] : nullptr;
    };

    for (size_t pc = 0; pc < code.size(); ++pc) {
        const ir::Instruction& insn = code[pc];
        if (insn.is_lddw()) {
            if (pc + 1 >= code.size()) return std::unexpected(error_at(program, file, pc, "lddw without its second slot"));
            const ir::Instruction& next = code[pc + 1];
            switch (ir::LddwKind(insn.src)) {
            case ir::LddwKind::Immediate: loaded->resolved[pc] = ir::lddw_value(insn, next); break;
            case ir::LddwKind::MapFd:
            case ir::LddwKind::MapIndex: {
                Map* map = map_at(insn.imm);
                if (!map) return std::unexpected(error_at(program, file, pc, fmt::format("lddw of unknown map {}", insn.imm)));
                loaded->resolved[pc] = reinterpret_cast<uint64_t>(map);
                break;
            }
            case ir::LddwKind::MapValue:
            case ir::LddwKind::MapIndexValue: {
                Map* map = map_at(insn.imm);
                if (!map) return std::unexpected(error_at(program, file, pc, fmt::format("lddw of unknown map {}", insn.imm)));
                auto address = value_address(map, uint32_t(next.imm));
                if (!address)
                    return std::unexpected(error_at(program, file, pc,
                        fmt::format("lddw of map '{}' value at offset {}: not a one-value array or offset out of range",
                                    map->name(), next.imm)));
                loaded->resolved[pc] = *address;
                break;
            }
            case ir::LddwKind::Function: {
                int64_t target = int64_t(pc) + insn.imm + 1;
                if (target < 0 || size_t(target) >= code.size())
                    return std::unexpected(error_at(program, file, pc, "lddw of a function outside the program"));
                loaded->resolved[pc] = uint64_t(target);  // engines read it as the callback's first slot
                break;
            }
            default:
                return std::unexpected(error_at(program, file, pc,
                    fmt::format("lddw with src {} (BTF id / kernel symbol) is not supported by the runtime", insn.src)));
            }
            ++pc;
            continue;
        }
        if (insn.is_helper_call()) {
            const HelperDefinition* helper = helpers.find(insn.imm);
            if (!helper) {
                auto name = ir::helper_name(insn.imm);
                return std::unexpected(error_at(program, file, pc,
                    fmt::format("helper {} ({}) is not provided by the runtime", insn.imm,
                                name.empty() ? std::string_view("unknown") : name)));
            }
            loaded->resolved[pc] = reinterpret_cast<uint64_t>(helper->function);
            loaded->helpers_used.push_back(insn.imm);
        } else if (insn.is_kfunc_call()) {
            // The iterators over numbers and bits run in user space; any other kfunc is refused by name.
            const ir::Program::KfuncCall* kfunc = program.kfunc_call(pc);
            HelperFunction function = kfunc ? find_kfunc_implementation(kfunc->name) : nullptr;
            if (!function)
                return std::unexpected(error_at(program, file, pc,
                    kfunc ? fmt::format("the kernel function (kfunc) {} is not implemented by the runtime", kfunc->name)
                          : fmt::format("kfunc call (BTF id {}) is not supported by the runtime", insn.imm)));
            loaded->resolved[pc] = reinterpret_cast<uint64_t>(function);
        } else if (insn.is_local_call()) {
            int64_t target = int64_t(pc) + insn.imm + 1;
            if (target < 0 || size_t(target) >= code.size())
                return std::unexpected(error_at(program, file, pc, "local call outside the program"));
        }
    }
    return loaded;
}

}  // namespace bpfvet::runtime
