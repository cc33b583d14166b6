// The object's .BTF as libbpf hands it to the kernel: clang leaves each
// DATASEC's size and its variables' offsets 0 in a relocatable object, and
// the kernel refuses such BTF; libbpf fills them from the ELF section sizes
// and symbol values (btf_fixup_datasec), and so does this.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace bpfvet::ir {

struct DatasecLayout {
    // The size of the ELF section named `section`, if it exists.
    std::function<std::optional<uint64_t>(std::string_view section)> section_size;
    // The value (offset in its section) of the symbol `name` defined in `section`.
    std::function<std::optional<uint64_t>(std::string_view section, std::string_view name)> symbol_offset;
};

// `raw` with every DATASEC completed; empty when `raw` is not well-formed BTF
// or a DATASEC names a section or variable the object does not define.
[[nodiscard]] std::vector<uint8_t> finalize_btf(std::span<const uint8_t> raw, const DatasecLayout& layout);

}  // namespace bpfvet::ir
