// `bpfvet corpus --plot out.svg`: two panels drawn by our own small SVG writer
// (no gnuplot, no network): our analysis time against the kernel's load time
// per program on log-log axes, with the diagonal where both are equal, and a
// histogram of our analysis times in logarithmic bins.
#pragma once

#include "tools/corpus_record.hpp"

#include <string>
#include <vector>

namespace bpfvet::tools::corpus {

[[nodiscard]] std::string render_plot_svg(const std::vector<CorpusRecord>& records);

// The decades a log axis spans, widened to whole powers of ten.
// Example: values 0.0031 .. 0.42 give {-3, 0}: the axis runs from 1e-3 to 1e0.
struct Decades {
    int low = 0;
    int high = 1;
};
[[nodiscard]] Decades decades_of(double smallest, double largest);

}  // namespace bpfvet::tools::corpus
