// Builds small raw BTF blobs by hand for tests that must not depend on the
// machine's /sys/kernel/btf/vmlinux: each add_* appends one type and returns
// its id (ids start at 1), build() lays out header, types and strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::test {

class BtfBuilder {
public:
    struct Member {
        std::string name;
        uint32_t type = 0;
        uint32_t bit_offset = 0;
        uint32_t bitfield_size = 0;
    };
    struct Param {
        std::string name;
        uint32_t type = 0;
    };

    uint32_t add_int(std::string_view name, uint32_t size, bool is_signed = false) {
        return add(name, 1, 0, size, {(is_signed ? 1u << 24 : 0u) | (size * 8)});
    }
    uint32_t add_pointer(uint32_t target) { return add("", 2, 0, target, {}); }
    uint32_t add_array(uint32_t element, uint32_t index, uint32_t count) {
        return add("", 3, 0, 0, {element, index, count});
    }
    uint32_t add_struct(std::string_view name, uint32_t size, const std::vector<Member>& members, bool is_union = false) {
        bool bitfields = false;
        for (const auto& m : members) bitfields = bitfields || m.bitfield_size != 0;
        std::vector<uint32_t> tail;
        for (const auto& m : members) {
            tail.push_back(string(m.name));
            tail.push_back(m.type);
            tail.push_back(bitfields ? (m.bitfield_size << 24 | m.bit_offset) : m.bit_offset);
        }
        return add(name, is_union ? 5 : 4, uint32_t(members.size()) | (bitfields ? 1u << 31 : 0u), size, tail);
    }
    uint32_t add_enum(std::string_view name, uint32_t size) { return add(name, 6, 1, size, {string("ONE"), 1}); }
    uint32_t add_typedef(std::string_view name, uint32_t type) { return add(name, 8, 0, type, {}); }
    uint32_t add_const(uint32_t type) { return add("", 10, 0, type, {}); }
    uint32_t add_type_tag(std::string_view tag, uint32_t type) { return add(tag, 18, 0, type, {}); }
    uint32_t add_func_proto(uint32_t return_type, const std::vector<Param>& params) {
        std::vector<uint32_t> tail;
        for (const auto& p : params) {
            tail.push_back(string(p.name));
            tail.push_back(p.type);
        }
        return add("", 13, uint32_t(params.size()), return_type, tail);
    }
    uint32_t add_func(std::string_view name, uint32_t proto) { return add(name, 12, 1, proto, {}); }
    // Any record, for malformed input: kind, vlen, size/type and trailing words.
    uint32_t add_raw(std::string_view name, uint32_t kind, uint32_t vlen, uint32_t size_or_type,
                     const std::vector<uint32_t>& tail) {
        return add(name, kind, vlen, size_or_type, tail);
    }

    [[nodiscard]] std::vector<uint8_t> build() const {
        std::vector<uint8_t> out;
        auto u16 = [&](uint16_t v) { out.push_back(uint8_t(v)); out.push_back(uint8_t(v >> 8)); };
        auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i))); };
        u16(0xeb9f);
        out.push_back(1);
        out.push_back(0);
        u32(24);
        u32(0);
        u32(uint32_t(types_.size() * 4));
        u32(uint32_t(types_.size() * 4));
        u32(uint32_t(strings_.size()));
        for (uint32_t word : types_) u32(word);
        out.insert(out.end(), strings_.begin(), strings_.end());
        return out;
    }

private:
    uint32_t string(std::string_view s) {
        if (s.empty()) return 0;
        uint32_t offset = uint32_t(strings_.size());
        strings_.insert(strings_.end(), s.begin(), s.end());
        strings_.push_back('\0');
        return offset;
    }
    uint32_t add(std::string_view name, uint32_t kind, uint32_t vlen_and_flag, uint32_t size_or_type,
                 const std::vector<uint32_t>& tail) {
        types_.push_back(string(name));
        types_.push_back(kind << 24 | vlen_and_flag);
        types_.push_back(size_or_type);
        types_.insert(types_.end(), tail.begin(), tail.end());
        return ++count_;
    }

    std::vector<uint32_t> types_;
    std::string strings_ = std::string(1, '\0');
    uint32_t count_ = 0;
};

}  // namespace bpfvet::test
