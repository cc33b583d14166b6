// CO-RE: the relocations the ELF loader records from .BTF.ext
// (Program::core_relocations), applied against the kernel's BTF as libbpf
// does before loading. A field access compiled against the program's own
// declaration (`struct file { u32 f_mode; } __attribute__((preserve_access_index))`,
// f_mode at 0) is moved to where the kernel has the field (f_mode at 4):
//
//   r2 = *(u32 *)(r1 + 0)    FIELD_BYTE_OFFSET file:0:0  ->  r2 = *(u32 *)(r1 + 4)
//
// The access string ("0:1:2": array index on the root, then member or array
// indices) is read in the program's own BTF; members are matched in the
// kernel's by name, through anonymous structs and unions, with "___flavor"
// suffixes of type names ignored. A field the kernel lacks makes FIELD_EXISTS
// 0; any other relocation of it poisons the instruction (a call to helper
// 0xbad2310, as libbpf does), so that reaching it is an error.
#pragma once

#include "ir/kernel_btf.hpp"
#include "ir/program.hpp"

#include <expected>
#include <string>

namespace bpfvet::ir {

// The relocation kinds applied: field byte offset, byte size and existence;
// local and target type id, type existence and size. Others (bitfield shifts,
// signedness, enum values, type matches) make the result an error, as does an
// instruction that does not hold the value the local BTF gives.
[[nodiscard]] std::expected<Program, std::string> apply_core_relocations(const Program& program,
                                                                         const KernelBtf& local,
                                                                         const KernelBtf& target);

// The same with the program's own BTF read from `object.path`; `program`
// unchanged when it has no relocations.
[[nodiscard]] std::expected<Program, std::string> relocate_for_kernel(const Object& object, const Program& program,
                                                                      const KernelBtf& target);

inline constexpr int32_t CorePoisonHelper = 0xbad2310;

}  // namespace bpfvet::ir
