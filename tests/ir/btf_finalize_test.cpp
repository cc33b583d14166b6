// The object's BTF as the kernel loader hands it over: DATASEC sizes and
// variable offsets filled from the ELF, as libbpf's btf_fixup_datasec does.
#include "ir/btf_finalize.hpp"

#include "btf_builder.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace bpfvet::ir {
namespace {

uint32_t word_at(const std::vector<uint8_t>& btf, size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, btf.data() + at, 4);
    return v;
}

TEST(BtfFinalize, DatasecGetsSectionSizeAndSymbolOffsets) {
    test::BtfBuilder b;
    const uint32_t u64 = b.add_int("u64", 8);
    const uint32_t first = b.add_raw("first", 14, 0, u64, {1});   // VAR, global
    const uint32_t second = b.add_raw("second", 14, 0, u64, {1});
    b.add_raw(".maps", 15, 2, 0, {first, 0, 8, second, 0, 8});     // DATASEC of size 0, offsets 0
    const std::vector<uint8_t> raw = b.build();

    DatasecLayout layout;
    layout.section_size = [](std::string_view section) -> std::optional<uint64_t> {
        if (section == ".maps") return 16;
        return std::nullopt;
    };
    layout.symbol_offset = [](std::string_view section, std::string_view name) -> std::optional<uint64_t> {
        if (section != ".maps") return std::nullopt;
        if (name == "first") return 0;
        if (name == "second") return 8;
        return std::nullopt;
    };
    const std::vector<uint8_t> done = finalize_btf(raw, layout);
    ASSERT_EQ(done.size(), raw.size());
    // Types start at 24: INT (16 bytes), two VARs (16 each), then the DATASEC.
    const size_t datasec = 24 + 16 + 16 + 16;
    EXPECT_EQ(word_at(done, datasec + 8), 16u);       // its size
    EXPECT_EQ(word_at(done, datasec + 12 + 4), 0u);   // first's offset
    EXPECT_EQ(word_at(done, datasec + 24 + 4), 8u);   // second's offset

    // A variable the object does not define: unusable, so nothing is handed over.
    DatasecLayout missing = layout;
    missing.symbol_offset = [](std::string_view, std::string_view) -> std::optional<uint64_t> { return std::nullopt; };
    EXPECT_TRUE(finalize_btf(raw, missing).empty());
    // Not BTF at all.
    EXPECT_TRUE(finalize_btf(std::vector<uint8_t>(30, 0), layout).empty());
    // A truncated type section.
    std::vector<uint8_t> truncated = raw;
    truncated.resize(40);
    EXPECT_TRUE(finalize_btf(truncated, layout).empty());
}

}  // namespace
}  // namespace bpfvet::ir
