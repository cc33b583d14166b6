#include "ir/btf_for_kernel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace bpfvet::ir {
namespace {

constexpr uint16_t BtfMagic = 0xeB9F;
constexpr size_t HeaderSize = 24;  // magic, version, flags, hdr_len, type_off, type_len, str_off, str_len
constexpr size_t CommonSize = 12;  // name_off, info, size_or_type

enum Kind : uint32_t {
    Int = 1, Ptr, Array, Struct, Union, Enum, Fwd, Typedef, Volatile, Const, Restrict,
    Func, FuncProto, Var, DataSec, Float, DeclTag, TypeTag, Enum64,
};
constexpr uint32_t LinkageGlobal = 1;  // BTF_FUNC_GLOBAL and BTF_VAR_GLOBAL_ALLOCATED

uint32_t read_u32(std::span<const uint8_t> bytes, size_t at) {
    uint32_t value;
    std::memcpy(&value, bytes.data() + at, 4);
    return value;
}
void write_u32(std::vector<uint8_t>& bytes, size_t at, uint32_t value) { std::memcpy(bytes.data() + at, &value, 4); }
void append_u32(std::vector<uint8_t>& bytes, uint32_t value) {
    const size_t at = bytes.size();
    bytes.resize(at + 4);
    write_u32(bytes, at, value);
}

// Bytes that follow the common header of a type of `kind` with `vlen` entries.
std::optional<size_t> trailing_size(uint32_t kind, uint32_t vlen) {
    switch (kind) {
    case Int: case Var: case DeclTag: return 4;
    case Ptr: case Fwd: case Typedef: case Volatile: case Const: case Restrict: case Func: case Float: case TypeTag:
        return 0;
    case Array: return 12;
    case Struct: case Union: case DataSec: case Enum64: return size_t(vlen) * 12;
    case Enum: case FuncProto: return size_t(vlen) * 8;
    default: return std::nullopt;
    }
}

struct Type {
    size_t offset = 0;  // of its common header in the type section
    uint32_t kind = 0;
    uint32_t vlen = 0;
};

std::string string_at(std::span<const uint8_t> strings, uint32_t offset) {
    if (offset >= strings.size()) return {};
    const auto* start = reinterpret_cast<const char*>(strings.data() + offset);
    return std::string(start, strnlen(start, strings.size() - offset));
}

}  // namespace

std::expected<std::vector<uint8_t>, std::string> btf_for_kernel(std::span<const uint8_t> btf,
                                                                const std::map<std::string, DataSectionLayout>& sections) {
    if (btf.size() < HeaderSize) return std::unexpected("BTF shorter than its header");
    uint16_t magic;
    std::memcpy(&magic, btf.data(), 2);
    if (magic != BtfMagic) return std::unexpected("not little-endian BTF (bad magic)");
    const uint32_t header_length = read_u32(btf, 4);
    const uint32_t type_offset = read_u32(btf, 8), type_length = read_u32(btf, 12);
    const uint32_t string_offset = read_u32(btf, 16), string_length = read_u32(btf, 20);
    if (header_length < HeaderSize || uint64_t(header_length) + type_offset + type_length > btf.size() ||
        uint64_t(header_length) + string_offset + string_length > btf.size())
        return std::unexpected("BTF sections outside the blob");
    const auto types = btf.subspan(header_length + type_offset, type_length);
    const auto strings = btf.subspan(header_length + string_offset, string_length);

    // Walk every type once: the new type section is rebuilt record by record,
    // so a record may change its length (a DATASEC losing entries).
    std::vector<Type> index;
    for (size_t at = 0; at < types.size();) {
        if (types.size() - at < CommonSize) return std::unexpected(fmt::format("truncated BTF type at byte {}", at));
        const uint32_t info = read_u32(types, at + 4);
        Type type{at, (info >> 24) & 0x1f, info & 0xffff};
        auto extra = trailing_size(type.kind, type.vlen);
        if (!extra) return std::unexpected(fmt::format("unknown BTF kind {} at byte {}", type.kind, at));
        if (types.size() - at - CommonSize < *extra) return std::unexpected(fmt::format("truncated BTF type at byte {}", at));
        index.push_back(type);
        at += CommonSize + *extra;
    }
    auto type_kind = [&](uint32_t id) -> uint32_t { return id >= 1 && id <= index.size() ? index[id - 1].kind : 0; };

    std::vector<uint8_t> out_types;
    out_types.reserve(types.size());
    for (const Type& type : index) {
        const size_t begin = out_types.size();
        const size_t length = CommonSize + *trailing_size(type.kind, type.vlen);
        out_types.insert(out_types.end(), types.begin() + ptrdiff_t(type.offset),
                         types.begin() + ptrdiff_t(type.offset + length));
        const uint32_t info = read_u32(types, type.offset + 4);
        if (type.kind == Func && type.vlen > LinkageGlobal) {
            write_u32(out_types, begin + 4, (info & ~0xffffu) | LinkageGlobal);
        } else if (type.kind == Var && read_u32(types, type.offset + CommonSize) > LinkageGlobal) {
            write_u32(out_types, begin + CommonSize, LinkageGlobal);
        } else if (type.kind == DataSec) {
            struct Entry {
                uint32_t type, offset, size;
            };
            const std::string name = string_at(strings, read_u32(types, type.offset));
            auto layout = sections.find(name);
            std::vector<Entry> entries;
            for (uint32_t i = 0; i < type.vlen; ++i) {
                const size_t at = type.offset + CommonSize + size_t(i) * 12;
                Entry entry{read_u32(types, at), read_u32(types, at + 4), read_u32(types, at + 8)};
                if (type_kind(entry.type) != Var || layout == sections.end()) continue;
                const std::string variable = string_at(strings, read_u32(types, index[entry.type - 1].offset));
                if (auto symbol = layout->second.symbol_offsets.find(variable); symbol != layout->second.symbol_offsets.end())
                    entry.offset = uint32_t(symbol->second);
                entries.push_back(entry);
            }
            std::ranges::sort(entries, {}, &Entry::offset);
            out_types.resize(begin + CommonSize);
            write_u32(out_types, begin + 4, (info & ~0xffffu) | uint32_t(entries.size()));
            const uint64_t size = layout == sections.end() ? 1 : std::max<uint64_t>(layout->second.size, 1);
            write_u32(out_types, begin + 8, uint32_t(size));
            for (const Entry& entry : entries) {
                append_u32(out_types, entry.type);
                append_u32(out_types, entry.offset);
                append_u32(out_types, entry.size);
            }
        }
    }

    std::vector<uint8_t> out(HeaderSize);
    std::memcpy(out.data(), btf.data(), 8);  // magic, version, flags, hdr_len (rewritten below)
    write_u32(out, 4, HeaderSize);
    write_u32(out, 8, 0);
    write_u32(out, 12, uint32_t(out_types.size()));
    write_u32(out, 16, uint32_t(out_types.size()));
    write_u32(out, 20, uint32_t(strings.size()));
    out.insert(out.end(), out_types.begin(), out_types.end());
    out.insert(out.end(), strings.begin(), strings.end());
    return out;
}

}  // namespace bpfvet::ir
