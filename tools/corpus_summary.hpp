// The few lines `bpfvet corpus` prints at the end: how many programs got each
// verdict and, with --kernel, how our verdicts line up with the kernel's.
#pragma once

#include "tools/corpus_record.hpp"

#include <string>
#include <vector>

namespace bpfvet::tools::corpus {

// Example (three programs, one object, no kernel):
//   bpfvet corpus: 3 programs in 1 objects: 2 accept, 1 reject, 0 bad-input, 0 timeout, 0 out-of-memory, 0 crashed (0 from an earlier run)
// With kernel fields, an agreement matrix follows: rows our verdict, columns the kernel's.
[[nodiscard]] std::string summarize(const std::vector<CorpusRecord>& records, size_t objects, size_t resumed, bool kernel);

}  // namespace bpfvet::tools::corpus
