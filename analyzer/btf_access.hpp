// Programs typed by the kernel's BTF (fentry/fexit/fmod_ret/tp_btf/lsm): what
// reading their context (a u64 array of the attach target's arguments) and
// loading through the kernel pointers found there give. Pure functions over
// ir::KernelBtf that follow the kernel's btf_ctx_access (kernel/bpf/btf.c) and
// btf_struct_walk:
//
//   fentry/do_unlinkat (int dfd, struct filename *name):
//     ctx[0] (8 bytes)  -> number
//     ctx[1] (8 bytes)  -> pointer to struct filename (not null-checked: the
//                          kernel's loads through it are exception-handled)
//     ctx[1] (4 bytes)  -> "must be read with size 8"
//     ctx[2]            -> "has no argument 2"  (fexit: the return value)
//   struct filename { const char *name; ... int refcnt; ... }
//     load 8 at 0  -> number (pointer to char: no further walking)
//     load 4 at 4  -> "cannot access ptr member name with moff 0 ..."
#pragma once

#include "analyzer/context_table.hpp"
#include "ir/kernel_btf.hpp"
#include "ir/program_type.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bpfvet::analyzer {

enum class BtfAttachKind : uint8_t { Fentry, Fexit, ModifyReturn, RawTracepoint, Lsm, LsmCgroup, Iterator };

// From the section's prefix: "fentry/f", "fentry.s/f" -> Fentry, "tp_btf/t" ->
// RawTracepoint, "lsm/hook" -> Lsm, ... nullopt for other sections.
[[nodiscard]] std::optional<BtfAttachKind> btf_attach_kind(ir::ProgramType type, std::string_view section);
[[nodiscard]] std::string_view btf_attach_kind_name(BtfAttachKind kind);  // "fentry", "tp_btf", ...
// What r0 may be at exit: fentry and fexit programs must return 0, LSM hooks
// an errno or 0; nullopt where the kernel does not check.
[[nodiscard]] std::optional<ReturnRange> btf_return_range(BtfAttachKind kind);

// One argument slot group of the context.
struct BtfArgument {
    std::string_view name;
    uint32_t type = 0;         // the parameter's BTF type
    uint32_t first_slot = 0;   // ctx[first_slot] .. ctx[first_slot + slots - 1]
    uint32_t slots = 1;        // structs passed by value may take two
    bool return_value = false; // the slot after the parameters (fexit, fmod_ret, lsm)
};

struct BtfAttach {
    BtfAttachKind kind = BtfAttachKind::Fentry;
    std::string label;          // "fentry/do_unlinkat", for messages
    std::string target;         // kernel name, see ir::btf_attach_target
    uint32_t target_id = 0;     // the FUNC (or TYPEDEF for tp_btf) in the kernel BTF
    std::vector<BtfArgument> arguments;  // parameters, then the return value if readable
    // tp_btf: arguments that may be null (the kernel's raw_tp_null_args) or
    // carry an error pointer (read as numbers), bit i for argument i.
    uint32_t nullable = 0;
    uint32_t error_pointer = 0;
    bool returns_void = false;  // the target's return type (lsm hooks returning void may return anything)
};

// Finds the attach target in the kernel BTF and lays out its arguments.
// Fails (with the reason) when the target or its prototype is missing or
// unsupported (variadic, iterators).
[[nodiscard]] std::expected<BtfAttach, std::string> resolve_btf_attach(const ir::KernelBtf& btf, BtfAttachKind kind,
                                                                       std::string_view section);

// What a load gives: a number, or a pointer to a kernel struct or union.
struct BtfLoad {
    bool pointer = false;
    uint32_t struct_id = 0;  // the struct/union (modifiers skipped)
    bool maybe_null = false;
    uint8_t memory_tag = 0;  // BtfMemoryTag bits: __user / __percpu memory, never dereferenced
    // A number known to lie in [min, max]: an lsm program reading the return
    // value the earlier hooks decided (an errno or 0).
    std::optional<ReturnRange> range;
};

enum BtfMemoryTag : uint8_t { BtfUserMemory = 1, BtfPercpuMemory = 2 };

// A read of `size` bytes at `offset` of the context (the kernel's btf_ctx_access).
[[nodiscard]] std::variant<BtfLoad, std::string> btf_context_read(const ir::KernelBtf& btf, const BtfAttach& attach,
                                                                  int64_t offset, int size);

// A read of `size` bytes at constant `offset` of a `struct_id` object (the
// kernel's btf_struct_walk): a number, a pointer (a whole pointer member to
// a struct or union), or why not.
[[nodiscard]] std::variant<BtfLoad, std::string> btf_struct_read(const ir::KernelBtf& btf, uint32_t struct_id,
                                                                 int64_t offset, int size);

// "struct file" for messages; "BTF type #N" when unknown.
[[nodiscard]] std::string btf_struct_label(const ir::KernelBtf& btf, uint32_t struct_id);

}  // namespace bpfvet::analyzer
