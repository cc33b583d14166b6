#include "tools/corpus_summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace bpfvet::tools::corpus {

namespace {

constexpr std::string_view KernelColumns[] = {"accept", "reject", "loader-error", "unavailable", "none"};

std::string agreement_matrix(const std::vector<CorpusRecord>& records) {
    std::map<std::pair<std::string, std::string>, size_t> cells;
    for (const auto& record : records) {
        const std::string kernel = record.kernel ? record.kernel->verdict : "none";
        ++cells[{record.verdict, kernel}];
    }
    std::string text = "kernel agreement (rows: bpfvet, columns: the running kernel):\n";
    text += fmt::format("  {:<14}", "");
    for (auto column : KernelColumns) text += fmt::format(" {:>12}", column);
    text += "\n";
    for (auto row : AllVerdicts) {
        text += fmt::format("  {:<14}", row);
        for (auto column : KernelColumns) text += fmt::format(" {:>12}", cells[{std::string(row), std::string(column)}]);
        text += "\n";
    }
    const size_t agree = cells[{"accept", "accept"}] + cells[{"reject", "reject"}];
    const size_t decided = agree + cells[{"accept", "reject"}] + cells[{"reject", "accept"}];
    text += fmt::format("  agree on {} of {} programs both decided; we reject {} the kernel accepts, accept {} it rejects\n",
                        agree, decided, cells[{"reject", "accept"}], cells[{"accept", "reject"}]);
    return text;
}

}  // namespace

std::string summarize(const std::vector<CorpusRecord>& records, size_t objects, size_t resumed, bool kernel) {
    std::string counts;
    for (auto verdict : AllVerdicts) {
        const auto count = std::ranges::count(records, verdict, &CorpusRecord::verdict);
        counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count, verdict);
    }
    std::string text = fmt::format("bpfvet corpus: {} programs in {} objects: {} ({} from an earlier run)\n", records.size(),
                                   objects, counts, resumed);
    if (kernel) text += agreement_matrix(records);
    return text;
}

}  // namespace bpfvet::tools::corpus
