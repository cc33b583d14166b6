// Which pointee types a global function's `arg:ctx` parameter may have, as the
// kernel decides it (btf_validate_prog_ctx_type): `void *` always; the program
// type's own context struct; and per type a few more (`u64 *` for raw
// tracepoints, fentry/fexit, lsm and struct_ops; any type for tracepoints and
// syscall programs; `struct bpf_iter__*` for iterators; pt_regs for kprobes).
#pragma once

#include "analyzer/btf_access.hpp"
#include "ir/program.hpp"
#include "ir/program_type.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace bpfvet::analyzer {

// The struct that the kernel's BTF names as the context of `type`
// (include/linux/bpf_types.h: __sk_buff, xdp_md, bpf_raw_tracepoint_args, ...);
// empty when the context is no named struct (tracing, lsm, struct_ops, syscall).
[[nodiscard]] std::string_view canonical_context_struct(ir::ProgramType type);

// Why the kernel refuses `parameter` (argument `index`, from 0) tagged arg:ctx in
// a program of `type` attached as `attach`; nullopt when it accepts it.
[[nodiscard]] std::optional<std::string> context_argument_problem(const ir::FunctionParameter& parameter,
                                                                  size_t index, ir::ProgramType type,
                                                                  std::optional<BtfAttachKind> attach);

}  // namespace bpfvet::analyzer
