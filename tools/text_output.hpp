// Bytes from an object file (section, symbol and BTF names) are not text we
// can trust: every writer of a structured format goes through these so that
// a byte that is not UTF-8 is replaced, never an abort or a malformed document.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace bpfvet::tools {

// `text` with every byte that does not start a well-formed UTF-8 sequence
// (stray continuation bytes, overlongs, surrogates, truncated sequences, code
// points above U+10FFFF) replaced by U+FFFD:
//   valid_utf8("caf\xc3\xa9") == "café";  valid_utf8("a\xffz") == "a\uFFFDz"
[[nodiscard]] std::string valid_utf8(std::string_view text);

// The JSON text of `value` (indent as nlohmann's dump), invalid UTF-8 in
// strings replaced by U+FFFD. Every JSON and SARIF writer uses this.
[[nodiscard]] std::string json_text(const nlohmann::json& value, int indent = 2);

}  // namespace bpfvet::tools
