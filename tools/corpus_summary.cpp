#include "tools/corpus_summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
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

// The programs where we and the kernel decided differently, by name: what a
// researcher looks at first.
std::string disagreements(const std::vector<CorpusRecord>& records) {
    constexpr size_t Shown = 20;
    std::vector<const CorpusRecord*> differing;
    for (const auto& record : records) {
        if (!record.kernel) continue;
        const std::string& kernel = record.kernel->verdict;
        const bool both_decided = (kernel == "accept" || kernel == "reject") &&
                                  (record.verdict == VerdictAccept || record.verdict == VerdictReject);
        if (both_decided && kernel != record.verdict) differing.push_back(&record);
    }
    if (differing.empty()) return {};
    std::string text = fmt::format("disagreements with the kernel ({}):\n", differing.size());
    for (size_t i = 0; i < std::min(Shown, differing.size()); ++i) {
        const CorpusRecord& record = *differing[i];
        text += fmt::format("  {}: we {}{}, the kernel {}s{}\n", record.key.to_string(), record.verdict,
                            record.error_code.empty() ? "" : " (" + record.error_code + ")", record.kernel->verdict,
                            record.kernel->first_error_line.empty() ? "" : " (" + record.kernel->first_error_line + ")");
    }
    if (differing.size() > Shown) text += fmt::format("  ... and {} more (filter the records on kernel_verdict)\n", differing.size() - Shown);
    return text;
}

}  // namespace

ComplexityAgreement complexity_agreement(const std::vector<CorpusRecord>& records) {
    std::vector<std::pair<double, double>> logs;  // (log ours, log kernel)
    std::vector<double> ratios;
    for (const auto& record : records) {
        if (record.verdict != VerdictAccept || !record.kernel || record.kernel->verdict != "accept") continue;
        if (!record.kernel->processed_insns || *record.kernel->processed_insns == 0 || record.processed_insns == 0) continue;
        const double ours = double(record.processed_insns), kernel = double(*record.kernel->processed_insns);
        logs.emplace_back(std::log(ours), std::log(kernel));
        ratios.push_back(ours / kernel);
    }
    ComplexityAgreement agreement;
    agreement.programs = ratios.size();
    agreement.log_correlation = std::numeric_limits<double>::quiet_NaN();
    if (ratios.empty()) return agreement;
    std::ranges::sort(ratios);
    const size_t middle = ratios.size() / 2;
    agreement.median_ratio = ratios.size() % 2 ? ratios[middle] : (ratios[middle - 1] + ratios[middle]) / 2;
    if (logs.size() < 2) return agreement;
    double mean_x = 0, mean_y = 0;
    for (auto [x, y] : logs) mean_x += x, mean_y += y;
    mean_x /= double(logs.size()), mean_y /= double(logs.size());
    double sxy = 0, sxx = 0, syy = 0;
    for (auto [x, y] : logs) sxy += (x - mean_x) * (y - mean_y), sxx += (x - mean_x) * (x - mean_x), syy += (y - mean_y) * (y - mean_y);
    if (sxx > 0 && syy > 0) agreement.log_correlation = sxy / std::sqrt(sxx * syy);
    return agreement;
}

std::string summarize(const std::vector<CorpusRecord>& records, size_t objects, size_t resumed, bool kernel) {
    std::string counts;
    for (auto verdict : AllVerdicts) {
        const auto count = std::ranges::count(records, verdict, &CorpusRecord::verdict);
        counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count, verdict);
    }
    std::string text = fmt::format("bpfvet corpus: {} programs in {} objects: {} ({} from an earlier run)\n", records.size(),
                                   objects, counts, resumed);
    if (!kernel) return text;
    text += agreement_matrix(records);
    text += disagreements(records);
    const ComplexityAgreement complexity = complexity_agreement(records);
    if (complexity.programs > 0)
        text += fmt::format("predicted processed instructions against the kernel's, on {} programs both accept: "
                            "median ratio {:.2f}, correlation of logarithms {:.3f}\n",
                            complexity.programs, complexity.median_ratio, complexity.log_correlation);
    return text;
}

}  // namespace bpfvet::tools::corpus
