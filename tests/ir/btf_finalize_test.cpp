// The object's BTF as the kernel loader hands it over: DATASEC sizes and
// variable offsets filled from the ELF, as libbpf's btf_fixup_datasec does.
#include "ir/btf_finalize.hpp"

#include "btf_builder.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

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

// `extern ... __ksym` declarations: the kernel refuses a DATASEC holding a
// FUNC and a FUNC of extern linkage, so, as libbpf, each function's entry
// points to an appended VAR "dummy_ksym" and the function becomes global;
// a variable becomes an allocated global int.
TEST(BtfFinalize, KsymsBecomeAllocatedVariables) {
    test::BtfBuilder b;
    const uint32_t u64 = b.add_int("u64", 8);  // not the one: entries are 4 bytes
    const uint32_t i32 = b.add_int("int", 4, true);
    const uint32_t proto = b.add_func_proto(u64, {{"pid", i32}});
    const uint32_t function = b.add_raw("bpf_task_from_pid", 12, 2, proto, {});  // FUNC, extern linkage
    const uint32_t variable = b.add_raw("bpf_prog_active", 14, 0, i32, {2});    // VAR, extern
    b.add_raw(".ksyms", 15, 2, 0, {function, 0, 0, variable, 0, 0});
    const std::vector<uint8_t> raw = b.build();
    DatasecLayout layout;
    layout.section_size = [](std::string_view) -> std::optional<uint64_t> { return std::nullopt; };
    layout.symbol_offset = [](std::string_view, std::string_view) -> std::optional<uint64_t> { return std::nullopt; };

    const std::vector<uint8_t> done = finalize_btf(raw, layout);
    ASSERT_EQ(done.size(), raw.size() + 16 + 11);  // one VAR, one name
    EXPECT_EQ(word_at(done, 12), word_at(raw, 12) + 16);  // type_len
    EXPECT_EQ(word_at(done, 16), word_at(raw, 16) + 16);  // str_off
    // Types at 24: two INTs (16 each), FUNC_PROTO (12 + 8), FUNC (12), VAR (16), DATASEC (12 + 24), then the dummy VAR.
    const size_t func_at = 24 + 32 + 20, var_at = func_at + 12, datasec = var_at + 16, dummy = datasec + 36;
    EXPECT_EQ(word_at(done, func_at + 4) & 0xffff, 1u);  // global linkage
    EXPECT_EQ(word_at(done, var_at + 12), 1u);            // allocated global
    EXPECT_EQ(word_at(done, datasec + 8), 8u);            // two entries of 4 bytes
    EXPECT_EQ(word_at(done, datasec + 12), 7u);           // the function's entry: the dummy VAR, id 7
    EXPECT_EQ(word_at(done, datasec + 12 + 4), 0u);
    EXPECT_EQ(word_at(done, datasec + 24), variable);
    EXPECT_EQ(word_at(done, datasec + 24 + 4), 4u);
    EXPECT_EQ(word_at(done, dummy + 4) >> 24, 14u);        // VAR
    EXPECT_EQ(word_at(done, dummy + 8), i32);
    const size_t name = 24 + word_at(done, 16) + word_at(done, dummy);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(done.data() + name)), "dummy_ksym");
}

}  // namespace
}  // namespace bpfvet::ir
