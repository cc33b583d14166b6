#include "ir/btf_finalize.hpp"

#include <cstring>
#include <string_view>

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

// The .ksyms DATASEC as libbpf rewrites it for the kernel (in
// bpf_object__collect_externs): the kernel accepts only VARs in a DATASEC and
// no FUNC of extern linkage, so each extern variable becomes an allocated
// global int, and each extern function a global one whose entry points to an
// appended VAR "dummy_ksym"; every entry gets 4 bytes of its own. `btf` is
// unchanged when it has no 4-byte INT to type them with or its strings do not follow
// its types (never so from clang).
std::vector<uint8_t> allocate_ksyms(std::vector<uint8_t> btf, const std::vector<size_t>& type_at, size_t ksyms) {
    constexpr uint32_t KindInt = 1, KindFunc = 12, KindFuncProto = 13;
    constexpr uint32_t VarGlobalAllocated = 1, FuncGlobal = 1;
    auto kind_of = [&](size_t id) { return read32(btf, type_at[id] + 4) >> 24 & 0x1f; };
    std::optional<uint32_t> int_id;
    for (size_t id = 1; id < type_at.size() && !int_id; ++id)  // 4 bytes, as each entry's size
        if (kind_of(id) == KindInt && read32(btf, type_at[id] + 8) == 4) int_id = uint32_t(id);
    const uint32_t header = read32(btf, 4);
    const uint32_t types_length = read32(btf, 12), strings_offset = read32(btf, 16), strings_length = read32(btf, 20);
    if (!int_id || strings_offset != read32(btf, 8) + types_length ||
        uint64_t(header) + strings_offset + strings_length != btf.size())
        return btf;
    // Append the VAR (after the types) and its name (after the strings).
    const uint32_t dummy_id = uint32_t(type_at.size());
    const uint32_t dummy_name = strings_length;
    const size_t types_end = size_t(header) + read32(btf, 8) + types_length;
    std::vector<uint8_t> var(16);
    std::vector<uint8_t> out(btf.begin(), btf.begin() + long(types_end));
    out.insert(out.end(), var.begin(), var.end());
    write32(out, types_end, dummy_name);
    write32(out, types_end + 4, KindVar << 24);
    write32(out, types_end + 8, *int_id);
    write32(out, types_end + 12, VarGlobalAllocated);
    out.insert(out.end(), btf.begin() + long(types_end), btf.end());
    for (char c : std::string_view("dummy_ksym")) out.push_back(uint8_t(c));
    out.push_back(0);
    write32(out, 12, types_length + 16);
    write32(out, 16, strings_offset + 16);
    write32(out, 20, strings_length + 11);

    const size_t at = type_at[ksyms];
    const uint32_t count = read32(out, at + 4) & 0xffff;
    for (uint32_t i = 0; i < count; ++i) {
        const size_t entry = at + CommonSize + size_t(i) * 12;
        const uint32_t target = read32(out, entry);
        if (target == 0 || target >= type_at.size()) return btf;
        const size_t target_at = type_at[target];
        const uint32_t info = read32(out, target_at + 4);
        if ((info >> 24 & 0x1f) == KindFunc) {
            write32(out, target_at + 4, (info & ~0xffffU) | FuncGlobal);
            const uint32_t proto = read32(out, target_at + 8);
            if (proto != 0 && proto < type_at.size() && kind_of(proto) == KindFuncProto) {
                const size_t proto_at = type_at[proto];
                const uint32_t parameters = read32(out, proto_at + 4) & 0xffff;
                for (uint32_t p = 0; p < parameters; ++p) {
                    const size_t parameter = proto_at + CommonSize + size_t(p) * 8;
                    if (read32(out, parameter) == 0 && read32(out, parameter + 4) != 0)
                        write32(out, parameter, dummy_name);
                }
            }
            write32(out, entry, dummy_id);
        } else if ((info >> 24 & 0x1f) == KindVar) {
            write32(out, target_at + 8, *int_id);
            write32(out, target_at + CommonSize, VarGlobalAllocated);
        }
        write32(out, entry + 4, i * 4);
        write32(out, entry + 8, 4);
    }
    write32(out, at + 8, count * 4);
    return out;
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
    std::optional<size_t> ksyms;  // the .ksyms DATASEC, which no ELF section backs
    for (size_t id = 1; id < type_at.size(); ++id) {
        const size_t at = type_at[id];
        const uint32_t info = read32(btf, at + 4);
        if ((info >> 24 & 0x1f) != KindDatasec) continue;
        auto section = string_at(read32(btf, at));
        if (!section) return {};
        if (*section == ".ksyms") {
            ksyms = id;
            continue;
        }
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
    if (ksyms) return allocate_ksyms(std::move(btf), type_at, *ksyms);
    return btf;
}

}  // namespace bpfvet::ir
