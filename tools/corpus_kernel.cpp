#include "tools/corpus_kernel.hpp"

#include "runtime/kernel_loader.hpp"

namespace bpfvet::tools::corpus {

KernelFields load_in_running_kernel(const ir::Object& object, const ir::Program& program, ir::ProgramType type) {
    namespace kernel = runtime::kernel;
    // Without a log on accept: the load is timed as the kernel would do it for
    // a user, and the processed count comes from BPF_OBJ_GET_INFO.
    const kernel::KernelLoadResult result = kernel::load_in_kernel(object, program, type);
    KernelFields fields;
    fields.verdict = std::string(kernel::kernel_verdict_name(result.verdict));
    fields.error = result.error;
    fields.processed_insns = result.processed_insns;
    fields.load_seconds = result.load_seconds;
    // A loader error or an unavailable kernel has no verifier line: its message says why.
    fields.first_error_line = result.first_error_line.empty() && result.verdict != kernel::KernelVerdict::Accept
                                  ? result.message
                                  : result.first_error_line;
    return fields;
}

}  // namespace bpfvet::tools::corpus
