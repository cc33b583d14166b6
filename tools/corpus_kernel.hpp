// `bpfvet corpus --kernel`: the running kernel's verdict on a program, as a
// record's kernel fields. Called in the worker process, so a kernel load that
// hangs or a loader that crashes costs only that program.
#pragma once

#include "ir/program.hpp"
#include "tools/corpus_record.hpp"

namespace bpfvet::tools::corpus {

// kernel_verdict "unavailable" (with the reason in first_error_line) when
// bpf(2) is refused, e.g. without root.
[[nodiscard]] KernelFields load_in_running_kernel(const ir::Object& object, const ir::Program& program, ir::ProgramType type);

}  // namespace bpfvet::tools::corpus
