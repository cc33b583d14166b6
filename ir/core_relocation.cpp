#include "ir/core_relocation.hpp"

#include <fmt/format.h>

#include <charconv>
#include <optional>

namespace bpfvet::ir {

namespace {

// enum bpf_core_relo_kind
enum CoreKind : uint32_t {
    FieldByteOffset = 0, FieldByteSize = 1, FieldExists = 2, FieldSigned = 3, FieldLshift = 4, FieldRshift = 5,
    TypeIdLocal = 6, TypeIdTarget = 7, TypeExists = 8, TypeSize = 9, EnumvalExists = 10, EnumvalValue = 11,
    TypeMatches = 12,
};

constexpr int MaxDepth = 32;

bool is_composite(const std::optional<BtfType>& t) {
    return t && (t->kind == BtfKind::Struct || t->kind == BtfKind::Union);
}

// "task_struct___old" and "task_struct" are the same type to CO-RE.
std::string_view essential_name(std::string_view name) {
    const size_t flavor = name.find("___");
    return flavor == std::string_view::npos ? name : name.substr(0, flavor);
}

// One step of an access string, read in the local BTF.
struct Step {
    std::string_view member;  // empty: an array index, or an anonymous member (skipped when matching)
    uint32_t index = 0;
    bool array = false;
};

struct Spec {
    uint32_t root = 0;
    uint64_t first_index = 0;  // the root pointer's array index (usually 0)
    std::vector<Step> steps;
    uint64_t bit_offset = 0;
    uint32_t field = 0;  // the accessed member's type
    bool bitfield = false;
};

std::expected<std::vector<uint32_t>, std::string> parse_access(std::string_view access) {
    std::vector<uint32_t> out;
    while (!access.empty()) {
        uint32_t value = 0;
        auto [end, error] = std::from_chars(access.data(), access.data() + access.size(), value);
        if (error != std::errc()) return std::unexpected(fmt::format("bad CO-RE access string '{}'", access));
        out.push_back(value);
        access.remove_prefix(size_t(end - access.data()));
        if (!access.empty()) {
            if (access.front() != ':') return std::unexpected(fmt::format("bad CO-RE access string '{}'", access));
            access.remove_prefix(1);
        }
    }
    if (out.empty()) return std::unexpected(std::string("empty CO-RE access string"));
    return out;
}

std::expected<Spec, std::string> local_spec(const KernelBtf& btf, uint32_t root, std::string_view access) {
    auto indices = parse_access(access);
    if (!indices) return std::unexpected(indices.error());
    Spec spec;
    spec.root = root;
    spec.first_index = indices->front();
    auto root_size = btf.size_of(root);
    if (!root_size) return std::unexpected(fmt::format("local type #{} has no size", root));
    spec.bit_offset = spec.first_index * *root_size * 8;
    uint32_t current = root;
    for (size_t i = 1; i < indices->size(); ++i) {
        const uint32_t index = (*indices)[i];
        const uint32_t id = btf.skip_modifiers(current);
        auto t = btf.type(id);
        if (is_composite(t)) {
            auto members = btf.members(id);
            if (index >= members.size())
                return std::unexpected(fmt::format("member {} of local {} does not exist", index, btf.describe(id)));
            spec.steps.push_back({members[index].name, index, false});
            spec.bit_offset += members[index].bit_offset;
            spec.bitfield = members[index].bitfield_size != 0;
            current = members[index].type;
        } else if (auto array = btf.array(id)) {
            auto element = btf.size_of(array->element_type);
            if (!element) return std::unexpected(std::string("local array element has no size"));
            spec.steps.push_back({{}, index, true});
            spec.bit_offset += uint64_t(index) * *element * 8;
            spec.bitfield = false;
            current = array->element_type;
        } else {
            return std::unexpected(fmt::format("CO-RE access '{}' goes through {}", access, btf.describe(id)));
        }
    }
    spec.field = current;
    return spec;
}

struct Found {
    uint64_t bit_offset = 0;
    uint32_t type = 0;
    bool bitfield = false;
};

// A named member of `id`, also inside anonymous struct and union members.
std::optional<Found> find_member(const KernelBtf& btf, uint32_t id, std::string_view name, int depth) {
    if (depth > MaxDepth) return std::nullopt;
    for (const auto& member : btf.members(btf.skip_modifiers(id))) {
        if (member.name == name) return Found{member.bit_offset, member.type, member.bitfield_size != 0};
        if (member.name.empty() && is_composite(btf.type(btf.skip_modifiers(member.type)))) {
            if (auto inner = find_member(btf, member.type, name, depth + 1)) {
                inner->bit_offset += member.bit_offset;
                return inner;
            }
        }
    }
    return std::nullopt;
}

// The root type in the kernel: same kind, same essential name.
std::optional<uint32_t> target_root(const KernelBtf& local, const KernelBtf& target, uint32_t root) {
    auto t = local.type(root);
    if (!t || t->name.empty()) return std::nullopt;
    return target.find(t->kind, essential_name(t->name));
}

// Int-like, pointer, composite and array fields are compatible among themselves.
int field_class(const KernelBtf& btf, uint32_t type) {
    auto t = btf.type(btf.skip_modifiers(type));
    if (!t) return -1;
    switch (t->kind) {
    case BtfKind::Int:
    case BtfKind::Enum:
    case BtfKind::Enum64: return 0;
    case BtfKind::Pointer: return 1;
    case BtfKind::Struct:
    case BtfKind::Union: return 2;
    case BtfKind::Array: return 3;
    default: return 4;
    }
}

std::optional<Found> match_field(const KernelBtf& local, const KernelBtf& target, const Spec& spec) {
    auto root = target_root(local, target, local.skip_modifiers(spec.root));
    if (!root) return std::nullopt;
    auto root_size = target.size_of(*root);
    if (!root_size) return std::nullopt;
    Found found{spec.first_index * *root_size * 8, *root, false};
    for (const Step& step : spec.steps) {
        if (step.array) {
            auto array = target.array(target.skip_modifiers(found.type));
            if (!array) return std::nullopt;
            auto element = target.size_of(array->element_type);
            if (!element || (array->count != 0 && step.index >= array->count)) return std::nullopt;
            found.bit_offset += uint64_t(step.index) * *element * 8;
            found.type = array->element_type;
            found.bitfield = false;
        } else if (!step.member.empty()) {
            auto member = find_member(target, found.type, step.member, 0);
            if (!member) return std::nullopt;
            found.bit_offset += member->bit_offset;
            found.type = member->type;
            found.bitfield = member->bitfield;
        }
    }
    if (field_class(local, spec.field) != field_class(target, found.type)) return std::nullopt;
    return found;
}

struct Values {
    uint64_t local = 0;
    std::optional<uint64_t> target;  // nullopt: poison the instruction
    uint32_t local_size = 0, target_size = 0;  // field sizes, for FIELD_BYTE_OFFSET loads
};

std::expected<Values, std::string> compute(const KernelBtf& local, const KernelBtf& target,
                                           const CoreRelocation& relocation) {
    Values values;
    switch (relocation.kind) {
    case FieldByteOffset:
    case FieldByteSize:
    case FieldExists: {
        auto spec = local_spec(local, relocation.type_id, relocation.access);
        if (!spec) return std::unexpected(spec.error());
        if (spec->bitfield && relocation.kind != FieldExists)
            return std::unexpected(std::string("CO-RE relocations of bitfields are not applied"));
        auto found = match_field(local, target, *spec);
        if (found && found->bitfield && relocation.kind != FieldExists)
            return std::unexpected(std::string("the kernel's field is a bitfield; not applied"));
        if (relocation.kind == FieldExists) {
            values.local = 1;
            values.target = found ? 1 : 0;
        } else if (relocation.kind == FieldByteOffset) {
            values.local = spec->bit_offset / 8;
            if (found) values.target = found->bit_offset / 8;
            values.local_size = uint32_t(local.size_of(spec->field).value_or(0));
            if (found) values.target_size = uint32_t(target.size_of(found->type).value_or(0));
        } else {
            values.local = local.size_of(spec->field).value_or(0);
            if (found) values.target = target.size_of(found->type);
        }
        return values;
    }
    case TypeIdLocal:
        values.local = values.target.emplace(relocation.type_id);
        return values;
    case TypeIdTarget:
    case TypeExists:
    case TypeSize: {
        auto root = target_root(local, target, relocation.type_id);
        if (relocation.kind == TypeIdTarget) {
            values.local = relocation.type_id;
            if (root) values.target = *root;
        } else if (relocation.kind == TypeExists) {
            values.local = 1;
            values.target = root ? 1 : 0;
        } else {
            values.local = local.size_of(relocation.type_id).value_or(0);
            if (root) values.target = target.size_of(*root);
        }
        return values;
    }
    default:
        return std::unexpected(fmt::format("CO-RE relocation kind {} is not applied by bpfvet", relocation.kind));
    }
}

MemSize size_bits(uint32_t bytes) {
    switch (bytes) {
    case 1: return MemSize::B;
    case 2: return MemSize::H;
    case 4: return MemSize::W;
    default: return MemSize::DW;
    }
}

std::expected<void, std::string> patch(Program& program, const CoreRelocation& relocation, const Values& values) {
    if (relocation.pc >= program.instructions.size())
        return std::unexpected(fmt::format("CO-RE relocation at {} is past the program", relocation.pc));
    Instruction& insn = program.instructions[relocation.pc];
    const std::string where = fmt::format("CO-RE relocation at instruction {} ({})", relocation.pc, relocation.access);
    if (!values.target) {
        if (insn.is_lddw()) return std::unexpected(where + ": the kernel lacks the type or field");
        insn = Instruction{0x85, 0, 0, 0, CorePoisonHelper};
        return {};
    }
    const uint64_t target = *values.target;
    if (insn.is_lddw()) {
        if (relocation.pc + 1 >= program.instructions.size()) return std::unexpected(where + ": truncated lddw");
        insn.imm = int32_t(uint32_t(target));
        program.instructions[relocation.pc + 1].imm = int32_t(uint32_t(target >> 32));
        return {};
    }
    if (insn.is_alu() && insn.source() == Source::Imm) {
        if (uint64_t(int64_t(insn.imm)) != values.local && uint64_t(uint32_t(insn.imm)) != values.local)
            return std::unexpected(fmt::format("{}: the instruction holds {}, not the local value {}", where, insn.imm,
                                               values.local));
        if (target > uint64_t(INT32_MAX)) return std::unexpected(fmt::format("{}: {} does not fit", where, target));
        insn.imm = int32_t(target);
        return {};
    }
    const bool memory = (insn.is_load() || insn.is_store()) &&
                        (insn.mem_mode() == MemMode::Mem || insn.mem_mode() == MemMode::MemSx);
    if (memory && relocation.kind == FieldByteOffset) {
        if (int64_t(insn.offset) != int64_t(values.local))
            return std::unexpected(fmt::format("{}: the instruction's offset is {}, not the local value {}", where,
                                               insn.offset, values.local));
        if (target > uint64_t(INT16_MAX)) return std::unexpected(fmt::format("{}: offset {} does not fit", where, target));
        insn.offset = int16_t(target);
        if (values.local_size != values.target_size && uint32_t(insn.access_width()) == values.local_size) {
            // The kernel's field has another width: load that width, as libbpf does.
            if (values.target_size != 1 && values.target_size != 2 && values.target_size != 4 && values.target_size != 8)
                return std::unexpected(fmt::format("{}: the kernel's field is {} bytes", where, values.target_size));
            insn.opcode = uint8_t((insn.opcode & ~0x18) | uint8_t(size_bits(values.target_size)));
        }
        return {};
    }
    return std::unexpected(where + ": the instruction cannot carry the relocated value");
}

}  // namespace

std::expected<Program, std::string> apply_core_relocations(const Program& program, const KernelBtf& local,
                                                           const KernelBtf& target) {
    Program out = program;
    for (const auto& relocation : program.core_relocations) {
        auto values = compute(local, target, relocation);
        if (!values)
            return std::unexpected(fmt::format("CO-RE relocation at instruction {}: {}", relocation.pc, values.error()));
        if (auto patched = patch(out, relocation, *values); !patched) return std::unexpected(patched.error());
    }
    out.core_relocations.clear();  // applied: nothing is left to relocate
    return out;
}

std::expected<Program, std::string> relocate_for_kernel(const Object& object, const Program& program,
                                                        const KernelBtf& target) {
    if (program.core_relocations.empty()) return program;
    auto local = KernelBtf::load(object.path);
    if (!local) return std::unexpected("the program's own BTF: " + local.error());
    return apply_core_relocations(program, **local, target);
}

}  // namespace bpfvet::ir
