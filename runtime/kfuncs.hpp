// The kernel functions (kfuncs) the runtime implements in user space, with
// the kernel's semantics: the open-coded iterators over numbers
// (bpf_iter_num_*, kernel/bpf/bpf_iter.c) and over bits (bpf_iter_bits_*,
// kernel/bpf/helpers.c). They are called like helpers (HelperFunction).
// Kfuncs on kernel objects (tasks, cgroups, ...) have no meaning here.
#pragma once

#include "runtime/helpers.hpp"

#include <string_view>

namespace bpfvet::runtime {

// The implementation of kfunc `name`, or nullptr when the runtime has none.
[[nodiscard]] HelperFunction find_kfunc_implementation(std::string_view name);

}  // namespace bpfvet::runtime
