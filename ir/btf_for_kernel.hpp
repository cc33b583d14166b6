// An object's .BTF as libbpf hands it to BPF_BTF_LOAD. Clang leaves fields
// for the loader to fill in and kinds the kernel refuses: libbpf's
// btf_fixup_datasec, its .ksyms/.kconfig extern handling and
// bpf_object__sanitize_btf. The kernel then checks global functions against
// this BTF (func_info) and finds spin locks and timers in map values through it.
#pragma once

#include <cstdint>
#include <expected>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace bpfvet::ir {

// What the ELF file says of one section a DATASEC describes.
struct DataSectionLayout {
    uint64_t size = 0;
    std::map<std::string, uint64_t> symbol_offsets;  // variable name -> offset in the section
};

// The raw .BTF blob with:
//  - each DATASEC's size set to its section's size and its variables' offsets
//    to their symbols' (clang writes 0), entries sorted by offset; entries that
//    are not variables (extern kfuncs in .ksyms) dropped; a DATASEC of a
//    section the file lacks (.kconfig, .ksyms) kept empty, with size 1;
//  - extern variables made global allocated and extern functions global, the
//    linkages the kernel accepts.
// An error when the blob is not well-formed little-endian BTF.
[[nodiscard]] std::expected<std::vector<uint8_t>, std::string> btf_for_kernel(
    std::span<const uint8_t> btf, const std::map<std::string, DataSectionLayout>& sections);

}  // namespace bpfvet::ir
