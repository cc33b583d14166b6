// Helper functions with the kernel's semantics, as one table.
//
// ABI (shared with the JIT, docs/runtime.md): a helper is a plain C function
//   uint64_t helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunContext* context)
// so a JIT'd program calls it with r1..r5 in rdi, rsi, rdx, rcx, r8 (System V)
// and the run context in r9, and finds the result in rax (r0). After the call
// the engine must look at context->fault (stop with that fault) and
// context->control (tail call or stop).
#pragma once

#include "runtime/run_context.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bpfvet::runtime {

using HelperFunction = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                                    RunContext* context);

struct HelperDefinition {
    int32_t id;           // enum bpf_func_id
    const char* name;     // without the bpf_ prefix
    HelperFunction function;
};

// The helpers the runtime implements, one row each.
[[nodiscard]] std::span<const HelperDefinition> standard_helpers();

// The helpers a program may call, by id. Tests and the conformance runner
// build their own (e.g. uBPF's helper 5 "unwind").
class HelperTable {
public:
    [[nodiscard]] static HelperTable standard();
    void set(int32_t id, const char* name, HelperFunction function);
    [[nodiscard]] const HelperDefinition* find(int32_t id) const;

private:
    std::vector<std::optional<HelperDefinition>> by_id_;
};

}  // namespace bpfvet::runtime
