// tools/text_output.hpp: bytes that are not UTF-8 become U+FFFD, valid text is
// unchanged, and JSON written through json_text never throws on them.
#include "tools/text_output.hpp"

#include <gtest/gtest.h>

namespace bpfvet::tools {
namespace {

const std::string Replacement = "\xEF\xBF\xBD";

TEST(TextOutput, ValidTextIsUnchanged) {
    for (const std::string text : {"", "plain", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"})
        EXPECT_EQ(valid_utf8(text), text);
}

TEST(TextOutput, EachBadByteBecomesOneReplacement) {
    EXPECT_EQ(valid_utf8("a\xFFz"), "a" + Replacement + "z");
    EXPECT_EQ(valid_utf8("\x80"), Replacement);                          // stray continuation
    EXPECT_EQ(valid_utf8("\xC3"), Replacement);                          // truncated at the end
    EXPECT_EQ(valid_utf8("\xC3(x"), Replacement + "(x");                 // bad continuation
    EXPECT_EQ(valid_utf8("\xC0\xAF"), Replacement + Replacement);         // overlong '/'
    EXPECT_EQ(valid_utf8("\xED\xA0\x80"), Replacement + Replacement + Replacement);  // a surrogate
    EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80").substr(0, 3), Replacement);  // above U+10FFFF
}

TEST(TextOutput, JsonNeverThrowsOnBadBytes) {
    nlohmann::json value = {{"name", "bad\xFF"}, {"list", {"\xC3", "ok"}}};
    std::string text;
    ASSERT_NO_THROW(text = json_text(value));
    auto parsed = nlohmann::json::parse(text);
    EXPECT_EQ(parsed["name"], "bad" + Replacement);
    EXPECT_EQ(json_text(value, -1).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace bpfvet::tools
