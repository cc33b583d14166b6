#include "ir/btf_types.hpp"

#include <llvm/DebugInfo/BTF/BTFParser.h>

#include <fmt/format.h>

#include <algorithm>

namespace bpfvet::ir {
namespace {

// Trailing records follow each CommonType in the parser's contiguous buffer.
template <typename Record>
const Record* trailing(const llvm::BTF::CommonType* type) {
    return reinterpret_cast<const Record*>(reinterpret_cast<const char*>(type) + sizeof(llvm::BTF::CommonType));
}

constexpr int MaxTypeChain = 32;  // guards against cyclic or absurd BTF

FunctionParameter::Pointee pointee_kind_of(const llvm::BTF::CommonType* type) {
    using Pointee = FunctionParameter::Pointee;
    if (!type) return Pointee::Other;
    switch (type->getKind()) {
    case llvm::BTF::BTF_KIND_STRUCT: return Pointee::Struct;
    case llvm::BTF::BTF_KIND_INT: return Pointee::Integer;
    default: return Pointee::Other;
    }
}

}  // namespace

uint32_t BtfTypes::skip_modifiers(uint32_t type_id) const {
    for (int i = 0; i < MaxTypeChain; ++i) {
        const auto* type = parser_.findType(type_id);
        if (!type) return type_id;
        switch (type->getKind()) {
        case llvm::BTF::BTF_KIND_TYPEDEF:
        case llvm::BTF::BTF_KIND_VOLATILE:
        case llvm::BTF::BTF_KIND_CONST:
        case llvm::BTF::BTF_KIND_RESTRICT:
        case llvm::BTF::BTF_KIND_TYPE_TAG:
            type_id = type->Type;
            break;
        default:
            return type_id;
        }
    }
    return type_id;
}

std::optional<uint64_t> BtfTypes::size_of(uint32_t type_id) const {
    uint64_t multiplier = 1;
    for (int i = 0; i < MaxTypeChain; ++i) {
        type_id = skip_modifiers(type_id);
        const auto* type = parser_.findType(type_id);
        if (!type) return std::nullopt;
        switch (type->getKind()) {
        case llvm::BTF::BTF_KIND_INT:
        case llvm::BTF::BTF_KIND_ENUM:
        case llvm::BTF::BTF_KIND_ENUM64:
        case llvm::BTF::BTF_KIND_STRUCT:
        case llvm::BTF::BTF_KIND_UNION:
        case llvm::BTF::BTF_KIND_DATASEC:
        case llvm::BTF::BTF_KIND_FLOAT:
            return multiplier * type->Size;
        case llvm::BTF::BTF_KIND_PTR:
            return multiplier * 8;
        case llvm::BTF::BTF_KIND_ARRAY: {
            const auto* array = trailing<llvm::BTF::BTFArray>(type);
            multiplier *= array->Nelems;
            type_id = array->ElemType;
            break;
        }
        default:
            return std::nullopt;
        }
    }
    return std::nullopt;
}

// `__uint(name, value)` is `int (*name)[value]`: a pointer to an array whose
// element count carries the value.
static std::optional<uint32_t> uint_field(const llvm::BTFParser& parser, uint32_t ptr_id) {
    const auto* ptr = parser.findType(ptr_id);
    if (!ptr || ptr->getKind() != llvm::BTF::BTF_KIND_PTR) return std::nullopt;
    const auto* array = parser.findType(ptr->Type);
    if (!array || array->getKind() != llvm::BTF::BTF_KIND_ARRAY) return std::nullopt;
    return trailing<llvm::BTF::BTFArray>(array)->Nelems;
}

std::expected<BtfMapFields, std::string> BtfTypes::parse_map_struct(uint32_t struct_id, int depth) const {
    if (depth > 2) return std::unexpected("map-in-map nesting is too deep");
    const auto* type = parser_.findType(skip_modifiers(struct_id));
    if (!type || type->getKind() != llvm::BTF::BTF_KIND_STRUCT)
        return std::unexpected(fmt::format("BTF type {} of a map definition is not a struct", struct_id));
    BtfMapFields map;
    const auto* members = trailing<llvm::BTF::BTFMember>(type);
    for (uint32_t i = 0; i < type->getVlen(); ++i) {
        std::string field = parser_.findString(members[i].NameOff).str();
        uint32_t member_type = skip_modifiers(members[i].Type);
        auto number = [&]() -> std::expected<uint32_t, std::string> {
            if (auto v = uint_field(parser_, member_type)) return *v;
            return std::unexpected(fmt::format("map field '{}' is not an __uint(...)", field));
        };
        auto pointee_size = [&](uint32_t& type_out) -> std::expected<uint32_t, std::string> {
            const auto* ptr = parser_.findType(member_type);
            if (!ptr || ptr->getKind() != llvm::BTF::BTF_KIND_PTR)
                return std::unexpected(fmt::format("map field '{}' is not a __type(...)", field));
            type_out = ptr->Type;
            auto size = size_of(ptr->Type);
            if (!size) return std::unexpected(fmt::format("map field '{}' has a type of unknown size", field));
            return uint32_t(*size);
        };
        // g++ 12's std::expected has no transform(): store through a small helper.
        auto store = [](std::expected<uint32_t, std::string> v, uint32_t& out) -> std::expected<uint32_t, std::string> {
            if (v) out = *v;
            return v;
        };
        std::expected<uint32_t, std::string> value = 0u;
        if (field == "type") value = store(number(), map.type);
        else if (field == "key_size") value = store(number(), map.key_size);
        else if (field == "value_size") value = store(number(), map.value_size);
        else if (field == "max_entries") value = store(number(), map.max_entries);
        else if (field == "map_flags") value = store(number(), map.flags);
        else if (field == "key") value = store(pointee_size(map.key_type), map.key_size);
        else if (field == "value") value = store(pointee_size(map.value_type), map.value_size);
        else if (field == "values") {
            // `__array(values, struct inner)` is a zero-length array of pointers to the inner definition.
            const auto* array = parser_.findType(member_type);
            if (!array || array->getKind() != llvm::BTF::BTF_KIND_ARRAY)
                return std::unexpected("map field 'values' is not an array");
            const auto* ptr = parser_.findType(skip_modifiers(trailing<llvm::BTF::BTFArray>(array)->ElemType));
            if (!ptr || ptr->getKind() != llvm::BTF::BTF_KIND_PTR)
                return std::unexpected("map field 'values' is not an array of pointers");
            // Program arrays list programs (`int (*)(void *)`): no inner map to describe.
            map.value_size = 4;
            const auto* pointee = parser_.findType(skip_modifiers(ptr->Type));
            if (pointee && pointee->getKind() == llvm::BTF::BTF_KIND_FUNC_PROTO) continue;
            auto inner = parse_map_struct(ptr->Type, depth + 1);
            if (!inner) return std::unexpected(inner.error());
            // Maps of maps hold 4-byte map ids; program arrays likewise hold program ids.
            map.inner.push_back(std::move(*inner));
        }
        // pinning, numa_node and unknown fields do not change the map's shape.
        if (!value) return std::unexpected(value.error());
    }
    return map;
}

void BtfTypes::add_argument_tags(uint32_t function_id, std::vector<FunctionParameter>& parameters) const {
    constexpr unsigned decl_tag_kind = 17;  // BTF_KIND_DECL_TAG, followed by its s32 component_idx
    for (uint32_t id = 1; id < parser_.typesCount(); ++id) {
        const auto* type = parser_.findType(id);
        if (!type || type->getKind() != decl_tag_kind || type->Type != function_id) continue;
        const int32_t component = *trailing<int32_t>(type);
        if (component < 0 || size_t(component) >= parameters.size()) continue;
        const std::string tag = parser_.findString(type->NameOff).str();
        if (!tag.starts_with("arg:")) continue;
        static constexpr std::pair<std::string_view, uint8_t> known[] = {
            {"arg:ctx", FunctionParameter::TagContext},         {"arg:nonnull", FunctionParameter::TagNonNull},
            {"arg:nullable", FunctionParameter::TagNullable},   {"arg:trusted", FunctionParameter::TagTrusted},
            {"arg:untrusted", FunctionParameter::TagUntrusted}, {"arg:arena", FunctionParameter::TagArena}};
        uint8_t bit = FunctionParameter::TagUnknown;
        for (const auto& [name, value] : known)
            if (tag == name) bit = value;
        parameters[size_t(component)].tags |= bit;
    }
}

std::optional<BtfTypes::FunctionSignature> BtfTypes::function_signature(std::string_view name) const {
    constexpr uint32_t global_linkage = 1;  // BTF_FUNC_GLOBAL
    constexpr uint32_t extern_linkage = 2;  // BTF_FUNC_EXTERN
    for (uint32_t id = 1; id < parser_.typesCount(); ++id) {
        const auto* type = parser_.findType(id);
        if (!type || type->getKind() != llvm::BTF::BTF_KIND_FUNC || parser_.findString(type->NameOff).str() != name) continue;
        FunctionSignature signature;
        signature.type_id = id;
        signature.global = type->getVlen() == global_linkage;
        signature.external = type->getVlen() == extern_linkage;
        const auto* proto = parser_.findType(type->Type);
        if (!proto || proto->getKind() != llvm::BTF::BTF_KIND_FUNC_PROTO) return signature;
        signature.returns_value = proto->Type != 0;
        const auto* params = trailing<llvm::BTF::BTFParam>(proto);
        for (uint32_t i = 0; i < proto->getVlen(); ++i) {
            FunctionParameter parameter;
            const auto* param = parser_.findType(skip_modifiers(params[i].Type));
            const unsigned kind = param ? unsigned(param->getKind()) : unsigned(llvm::BTF::BTF_KIND_UNKN);
            if (kind == llvm::BTF::BTF_KIND_INT || kind == llvm::BTF::BTF_KIND_ENUM ||
                kind == llvm::BTF::BTF_KIND_ENUM64) {
                parameter.kind = FunctionParameter::Kind::Scalar;
            } else if (kind == llvm::BTF::BTF_KIND_PTR) {
                parameter.kind = FunctionParameter::Kind::Pointer;
                // The name before typedefs (kprobe's bpf_user_pt_regs_t), const and volatile skipped.
                uint32_t pointee = param->Type;
                for (int step = 0; step < MaxTypeChain; ++step) {
                    const auto* t = parser_.findType(pointee);
                    if (!t || (t->getKind() != llvm::BTF::BTF_KIND_CONST && t->getKind() != llvm::BTF::BTF_KIND_VOLATILE &&
                               t->getKind() != llvm::BTF::BTF_KIND_RESTRICT && t->getKind() != llvm::BTF::BTF_KIND_TYPE_TAG))
                        break;
                    pointee = t->Type;
                }
                if (const auto* t = parser_.findType(pointee)) parameter.pointee_name = parser_.findString(t->NameOff).str();
                const uint32_t resolved_id = skip_modifiers(pointee);
                const auto* resolved = resolved_id ? parser_.findType(resolved_id) : nullptr;
                if (resolved) parameter.pointee_struct = parser_.findString(resolved->NameOff).str();
                parameter.pointee_kind = resolved_id == 0 ? FunctionParameter::Pointee::Void : pointee_kind_of(resolved);
                if (auto size = size_of(pointee); size && *size > 0 && *size <= UINT32_MAX) parameter.pointee_size = uint32_t(*size);
            } else {
                parameter.kind = FunctionParameter::Kind::Other;
            }
            signature.parameters.push_back(std::move(parameter));
        }
        add_argument_tags(id, signature.parameters);
        return signature;
    }
    return std::nullopt;
}

std::expected<std::vector<BtfMapFields>, std::string> BtfTypes::map_definitions(const std::string& section) const {
    for (uint32_t id = 1; id < parser_.typesCount(); ++id) {
        const auto* type = parser_.findType(id);
        if (!type || type->getKind() != llvm::BTF::BTF_KIND_DATASEC) continue;
        if (parser_.findString(type->NameOff) != section) continue;
        std::vector<BtfMapFields> maps;
        const auto* vars = trailing<llvm::BTF::BTFDataSec>(type);
        for (uint32_t i = 0; i < type->getVlen(); ++i) {
            const auto* var = parser_.findType(vars[i].Type);
            if (!var || var->getKind() != llvm::BTF::BTF_KIND_VAR)
                return std::unexpected(fmt::format("entry {} of BTF section {} is not a variable", i, section));
            auto map = parse_map_struct(var->Type, 0);
            if (!map) return std::unexpected(fmt::format("map '{}': {}", parser_.findString(var->NameOff).str(), map.error()));
            map->name = parser_.findString(var->NameOff).str();
            map->section_offset = vars[i].Offset;
            maps.push_back(std::move(*map));
        }
        return maps;
    }
    return std::unexpected(fmt::format("no BTF DATASEC describes section {}", section));
}

}  // namespace bpfvet::ir

namespace bpfvet::ir {

namespace {

std::optional<SpecialField::Kind> special_kind(std::string_view struct_name) {
    using K = SpecialField::Kind;
    if (struct_name == "bpf_spin_lock") return K::SpinLock;
    if (struct_name == "bpf_res_spin_lock") return K::ResSpinLock;
    if (struct_name == "bpf_timer") return K::Timer;
    if (struct_name == "bpf_wq") return K::Workqueue;
    if (struct_name == "bpf_task_work") return K::TaskWork;
    if (struct_name == "bpf_list_head") return K::ListHead;
    if (struct_name == "bpf_list_node") return K::ListNode;
    if (struct_name == "bpf_rb_root") return K::RbRoot;
    if (struct_name == "bpf_rb_node") return K::RbNode;
    if (struct_name == "bpf_refcount") return K::Refcount;
    return std::nullopt;
}

constexpr int MaxNesting = 8;             // the kernel's MAX_RESOLVE_DEPTH bounds its search too
constexpr uint32_t MaxArrayElements = 64;  // arrays of special fields beyond this are not expanded
constexpr size_t MaxSpecialFields = 256;
// Types visited per value: nested arrays of structs multiply, and a crafted
// BTF must not make the search run for ever.
constexpr size_t MaxVisits = 4096;

}  // namespace

void BtfTypes::collect_special_fields(uint32_t type_id, uint32_t offset, int depth, size_t& visits,
                                      std::vector<SpecialField>& out) const {
    if (depth > MaxNesting || out.size() >= MaxSpecialFields || ++visits > MaxVisits) return;
    const auto* type = parser_.findType(skip_modifiers(type_id));
    if (!type) return;
    const unsigned kind = type->getKind();
    if (kind == llvm::BTF::BTF_KIND_ARRAY) {
        const auto* array = trailing<llvm::BTF::BTFArray>(type);
        auto element_size = size_of(array->ElemType);
        if (!element_size || *element_size == 0) return;
        const uint32_t count = std::min(array->Nelems, MaxArrayElements);
        for (uint32_t i = 0; i < count; ++i)
            collect_special_fields(array->ElemType, offset + uint32_t(i * *element_size), depth + 1, visits, out);
        return;
    }
    if (kind != llvm::BTF::BTF_KIND_STRUCT && kind != llvm::BTF::BTF_KIND_UNION) return;
    if (auto special = special_kind(parser_.findString(type->NameOff).str())) {
        out.push_back(SpecialField{*special, offset, type->Size});
        return;
    }
    const bool bitfield_offsets = type->Info & (1u << 31);  // kind_flag: bit offsets in the low 24 bits
    const auto* members = trailing<llvm::BTF::BTFMember>(type);
    for (uint32_t i = 0; i < type->getVlen(); ++i) {
        const uint32_t bits = bitfield_offsets ? members[i].Offset & 0xffffff : members[i].Offset;
        if (bits % 8 != 0) continue;  // a bit field is never a struct
        collect_special_fields(members[i].Type, offset + bits / 8, depth + 1, visits, out);
    }
}

std::vector<SpecialField> BtfTypes::special_fields(uint32_t type_id) const {
    std::vector<SpecialField> out;
    size_t visits = 0;
    if (type_id != 0) collect_special_fields(type_id, 0, 0, visits, out);
    std::ranges::sort(out, {}, &SpecialField::offset);
    return out;
}

}  // namespace bpfvet::ir
