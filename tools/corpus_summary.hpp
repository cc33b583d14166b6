// The few lines `bpfvet corpus` prints at the end: how many programs got each
// verdict and, with --kernel, how our verdicts line up with the kernel's.
#pragma once

#include "tools/corpus_record.hpp"

#include <string>
#include <vector>

namespace bpfvet::tools::corpus {

// Our predicted processed instructions against the kernel's, over the programs
// both accepted with a count on both sides: the Pearson correlation of the
// logarithms (counts span six orders of magnitude) and the median of ours / kernel.
// Example: counts (100, 100), (1000, 2000), (10000, 10000) give median ratio 1.
struct ComplexityAgreement {
    size_t programs = 0;
    double log_correlation = 0;  // NaN when fewer than two programs or no spread
    double median_ratio = 0;     // 0 when no programs
};
[[nodiscard]] ComplexityAgreement complexity_agreement(const std::vector<CorpusRecord>& records);

// Example (three programs, one object, no kernel):
//   bpfvet corpus: 3 programs in 1 objects: 2 accept, 1 reject, 0 bad-input, 0 timeout, 0 out-of-memory, 0 crashed (0 from an earlier run)
// With kernel fields, an agreement matrix follows: rows our verdict, columns the kernel's,
// then the programs where the two differ (the first few, by name), then how well our
// predicted processed-instruction counts match the kernel's (ComplexityAgreement).
[[nodiscard]] std::string summarize(const std::vector<CorpusRecord>& records, size_t objects, size_t resumed, bool kernel);

}  // namespace bpfvet::tools::corpus
