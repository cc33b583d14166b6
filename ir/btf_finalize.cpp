#include "ir/btf_finalize.hpp"

#include <cstring>

namespace bpfvet::ir {

namespace {

constexpr uint16_t BtfMagic = 0xeb9f;
constexpr uint32_t HeaderSize = 24;  // struct btf_header up to str_len
constexpr uint32_t CommonSize = 12;  // struct btf_type
constexpr uint32_t KindVar = 14, KindDatasec = 15;

uint32_t read32(const std::vector<uint8_t>& bytes, size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, bytes.data() + at, 4);
    return v;
}
void write32(std::vector<uint8_t>& bytes, size_t at, uint32_t v) { std::memcpy(bytes.data() + at, &v, 4); }

// Bytes after the common part of a type of `kind` with `vlen` members; nullopt for unknown kinds.
std::optional<uint32_t> trailing_size(uint32_t kind, uint32_t vlen) {
    switch (kind) {
    case 1: return 4;                      // INT
    case 3: return 12;                     // ARRAY
    case 4: case 5: return vlen * 12;      // STRUCT, UNION
    case 6: return vlen * 8;               // ENUM
    case 13: return vlen * 8;              // FUNC_PROTO
    case 14: return 4;                     // VAR
    case 15: return vlen * 12;             // DATASEC
    case 17: return 4;                     // DECL_TAG
    case 19: return vlen * 12;             // ENUM64
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 0;
    default: return std::nullopt;
    }
}

}  // namespace

std::vector<uint8_t> finalize_btf(std::span<const uint8_t> raw, const DatasecLayout& layout) {
    std::vector<uint8_t> btf(raw.begin(), raw.end());
    if (btf.size() < HeaderSize) return {};
    uint16_t magic = 0;
    std::memcpy(&magic, btf.data(), 2);
    const uint32_t header = read32(btf, 4);
    if (magic != BtfMagic || header < HeaderSize || header > btf.size()) return {};
    const uint64_t types_at = uint64_t(header) + read32(btf, 8), types_end = types_at + read32(btf, 12);
    const uint64_t strings_at = uint64_t(header) + read32(btf, 16), strings_end = strings_at + read32(btf, 20);
    if (types_end > btf.size() || strings_end > btf.size()) return {};
    auto string_at = [&](uint32_t offset) -> std::optional<std::string_view> {
        if (strings_at + offset >= strings_end) return std::nullopt;
        const char* start = reinterpret_cast<const char*>(btf.data() + strings_at + offset);
        const size_t length = strnlen(start, size_t(strings_end - strings_at - offset));
        if (strings_at + offset + length >= strings_end) return std::nullopt;
        return std::string_view(start, length);
    };
    // Where each type starts (ids from 1).
    std::vector<size_t> type_at{0};
    for (uint64_t at = types_at; at < types_end;) {
        if (at + CommonSize > types_end) return {};
        const uint32_t info = read32(btf, size_t(at) + 4);
        auto extra = trailing_size(info >> 24 & 0x1f, info & 0xffff);
        if (!extra || at + CommonSize + *extra > types_end) return {};
        type_at.push_back(size_t(at));
        at += CommonSize + *extra;
    }
    for (size_t id = 1; id < type_at.size(); ++id) {
        const size_t at = type_at[id];
        const uint32_t info = read32(btf, at + 4);
        if ((info >> 24 & 0x1f) != KindDatasec) continue;
        auto section = string_at(read32(btf, at));
        if (!section) return {};
        auto size = layout.section_size(*section);
        if (!size || *size > UINT32_MAX) return {};
        if (read32(btf, at + 8) == 0) write32(btf, at + 8, uint32_t(*size));
        for (uint32_t i = 0; i < (info & 0xffff); ++i) {
            const size_t entry = at + CommonSize + size_t(i) * 12;
            const uint32_t var = read32(btf, entry);
            if (var == 0 || var >= type_at.size()) return {};
            const size_t var_at = type_at[var];
            if ((read32(btf, var_at + 4) >> 24 & 0x1f) != KindVar) continue;  // functions in .ksyms: left as they are
            auto name = string_at(read32(btf, var_at));
            if (!name) return {};
            auto offset = layout.symbol_offset(*section, *name);
            if (!offset || *offset > UINT32_MAX) return {};
            write32(btf, entry + 4, uint32_t(*offset));
        }
    }
    return btf;
}

}  // namespace bpfvet::ir
