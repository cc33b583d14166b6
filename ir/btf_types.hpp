// The parts of BTF the loader needs: type sizes and BTF-defined map structs
// (`struct { __uint(type, ...); __type(key, ...); ... } name SEC(".maps")`).
#pragma once

#include "ir/program.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llvm {
class BTFParser;
}

namespace bpfvet::ir {

struct BtfMapFields {
    std::string name;
    uint32_t section_offset = 0;  // the variable's offset in .maps
    uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0, flags = 0;
    uint32_t key_type = 0, value_type = 0;
    // For map-in-map: the inner map's definition (anonymous struct in `values`).
    std::vector<BtfMapFields> inner;
};

class BtfTypes {
public:
    explicit BtfTypes(const llvm::BTFParser& parser) : parser_(parser) {}

    // Size in bytes of a type, following typedefs and qualifiers.
    [[nodiscard]] std::optional<uint64_t> size_of(uint32_t type_id) const;
    // The FUNC named `name`: whether its linkage is global, and its parameters.
    struct FunctionSignature {
        bool global = false;
        // BTF_FUNC_EXTERN: declared, not defined here (`extern ... __ksym`,
        // a kernel function that libbpf resolves by name).
        bool external = false;
        std::vector<FunctionParameter> parameters;
        bool returns_value = true;
        uint32_t type_id = 0;  // the FUNC's id
    };
    [[nodiscard]] std::optional<FunctionSignature> function_signature(std::string_view name) const;
    // The fields of the struct `type_id` (nested structs and arrays searched
    // as the kernel's btf_find_field does) that are kernel objects: locks, timers, ...
    [[nodiscard]] std::vector<SpecialField> special_fields(uint32_t type_id) const;
    // Every variable of the DATASEC named `section` interpreted as a map definition.
    [[nodiscard]] std::expected<std::vector<BtfMapFields>, std::string> map_definitions(const std::string& section) const;

private:
    [[nodiscard]] std::expected<BtfMapFields, std::string> parse_map_struct(uint32_t struct_id, int depth) const;
    void collect_special_fields(uint32_t type_id, uint32_t offset, int depth, size_t& visits,
                                std::vector<SpecialField>& out) const;
    [[nodiscard]] uint32_t skip_modifiers(uint32_t type_id) const;
    // Sets each parameter's tags from the "arg:..." decl tags on the FUNC.
    void add_argument_tags(uint32_t function_id, std::vector<FunctionParameter>& parameters) const;
    const llvm::BTFParser& parser_;
};

}  // namespace bpfvet::ir
