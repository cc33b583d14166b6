// A decimal number that fills its whole text ("12", not "12x" or ""), as
// option values and record keys spell them.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bpfvet::tools {

[[nodiscard]] inline std::optional<uint32_t> parse_number(std::string_view text) {
    uint32_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

}  // namespace bpfvet::tools
