// btf_for_kernel: the fixups libbpf makes to an object's .BTF before the
// kernel sees it, on a hand-made blob.
#include "ir/btf_for_kernel.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace bpfvet::ir {
namespace {

// A little-endian BTF blob written type by type (ids from 1).
class Blob {
public:
    uint32_t string(const std::string& text) {
        const auto at = uint32_t(strings_.size());
        strings_ += text;
        strings_ += '\0';
        return at;
    }
    void type(uint32_t name, uint32_t kind, uint32_t vlen, uint32_t size_or_type, std::initializer_list<uint32_t> tail) {
        for (uint32_t word : {name, (kind << 24) | vlen, size_or_type}) put(word);
        for (uint32_t word : tail) put(word);
    }
    std::vector<uint8_t> bytes() const {
        std::vector<uint8_t> out(24);
        const uint16_t magic = 0xeB9F;
        std::memcpy(out.data(), &magic, 2);
        out[2] = 1;
        const uint32_t header[] = {24, 0, uint32_t(types_.size()), uint32_t(types_.size()), uint32_t(strings_.size())};
        std::memcpy(out.data() + 4, header, sizeof(header));
        out.insert(out.end(), types_.begin(), types_.end());
        out.insert(out.end(), strings_.begin(), strings_.end());
        return out;
    }

private:
    void put(uint32_t word) {
        const size_t at = types_.size();
        types_.resize(at + 4);
        std::memcpy(types_.data() + at, &word, 4);
    }
    std::vector<uint8_t> types_;
    std::string strings_ = std::string(1, '\0');
};

uint32_t word(const std::vector<uint8_t>& blob, size_t at) {
    uint32_t value;
    std::memcpy(&value, blob.data() + at, 4);
    return value;
}

TEST(BtfForKernel, FillsDataSectionsAndFixesExternLinkage) {
    Blob blob;
    const uint32_t int_name = blob.string("int"), first = blob.string("first"), second = blob.string("second"),
                   kfunc = blob.string("bpf_kfunc"), data = blob.string(".data"), ksyms = blob.string(".ksyms");
    blob.type(int_name, 1, 0, 4, {32});          // 1: int
    blob.type(first, 14, 0, 1, {1});             // 2: VAR first, global
    blob.type(second, 14, 0, 1, {2});            // 3: VAR second, extern
    blob.type(0, 13, 0, 1, {});                  // 4: FUNC_PROTO int(void)
    blob.type(kfunc, 12, 2, 4, {});              // 5: FUNC bpf_kfunc, extern
    blob.type(data, 15, 2, 0, {3, 0, 4, 2, 0, 4});  // 6: DATASEC .data {second, first}, size 0
    blob.type(ksyms, 15, 1, 0, {5, 0, 0});       // 7: DATASEC .ksyms {bpf_kfunc}
    std::map<std::string, DataSectionLayout> layouts;
    layouts[".data"] = {16, {{"first", 4}, {"second", 12}}};
    auto fixed = btf_for_kernel(blob.bytes(), layouts);
    ASSERT_TRUE(fixed.has_value()) << fixed.error();
    const auto& out = *fixed;
    const size_t types = 24;
    // Types 1..5 are 16, 16, 16, 12, 12 bytes long.
    EXPECT_EQ(word(out, types + 16 + 16 + 12), 1u);                   // second: now global allocated
    EXPECT_EQ(word(out, types + 16 + 16 + 16 + 12 + 4) & 0xffff, 1u);  // bpf_kfunc: now global
    const size_t datasec = types + 16 + 16 + 16 + 12 + 12;
    EXPECT_EQ(word(out, datasec + 4) & 0xffff, 2u);
    EXPECT_EQ(word(out, datasec + 8), 16u);  // the section's size
    // Sorted by the symbols' offsets: first (type 2) at 4, second (type 3) at 12.
    EXPECT_EQ(word(out, datasec + 12), 2u);
    EXPECT_EQ(word(out, datasec + 16), 4u);
    EXPECT_EQ(word(out, datasec + 24), 3u);
    EXPECT_EQ(word(out, datasec + 28), 12u);
    // .ksyms is not a section of the file and holds a FUNC: kept, empty, size 1.
    const size_t ksyms_at = datasec + 12 + 24;
    EXPECT_EQ(word(out, ksyms_at + 4) & 0xffff, 0u);
    EXPECT_EQ(word(out, ksyms_at + 8), 1u);
    // The strings follow the types unchanged.
    EXPECT_EQ(out.size(), ksyms_at + 12 + word(out, 20));
}

TEST(BtfForKernel, RefusesMalformedBlobs) {
    EXPECT_FALSE(btf_for_kernel(std::vector<uint8_t>(10, 0), {}).has_value());
    Blob blob;
    blob.type(blob.string("int"), 1, 0, 4, {32});
    auto bytes = blob.bytes();
    bytes[0] ^= 0xff;  // big-endian or garbage magic
    EXPECT_FALSE(btf_for_kernel(bytes, {}).has_value());
    Blob unknown;
    unknown.type(0, 31, 0, 0, {});  // kind 31 does not exist
    EXPECT_FALSE(btf_for_kernel(unknown.bytes(), {}).has_value());
}

}  // namespace
}  // namespace bpfvet::ir
