// The end of `bpfvet corpus --kernel`: the programs that disagree with the
// kernel, by name, and how well our predicted processed-instruction counts
// match the kernel's.
#include "tools/corpus_summary.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace bpfvet::tools::corpus {
namespace {

CorpusRecord record(const std::string& program, std::string_view verdict, uint64_t processed, const std::string& kernel_verdict,
                    std::optional<uint64_t> kernel_processed) {
    CorpusRecord r;
    r.key = {"x.o", "xdp", program};
    r.verdict = verdict;
    r.processed_insns = processed;
    r.kernel = KernelFields{kernel_verdict, 0, kernel_processed, 0.001, kernel_verdict == "reject" ? "R1 invalid mem access" : ""};
    return r;
}

TEST(CorpusSummary, ComplexityAgreementOnProgramsBothAccept) {
    const std::vector<CorpusRecord> records = {
        record("a", VerdictAccept, 100, "accept", 100),
        record("b", VerdictAccept, 2000, "accept", 1000),
        record("c", VerdictAccept, 10000, "accept", 10000),
        record("rejected", VerdictReject, 5, "accept", 100000),  // not both accepted: left out
        record("no count", VerdictAccept, 50, "accept", std::nullopt),
    };
    const ComplexityAgreement agreement = complexity_agreement(records);
    EXPECT_EQ(agreement.programs, 3u);
    EXPECT_DOUBLE_EQ(agreement.median_ratio, 1.0);
    EXPECT_GT(agreement.log_correlation, 0.98);
    EXPECT_LE(agreement.log_correlation, 1.0);
}

TEST(CorpusSummary, ComplexityAgreementWithoutDataIsEmpty) {
    const ComplexityAgreement none = complexity_agreement({});
    EXPECT_EQ(none.programs, 0u);
    EXPECT_TRUE(std::isnan(none.log_correlation));
    const ComplexityAgreement one = complexity_agreement({record("a", VerdictAccept, 10, "accept", 20)});
    EXPECT_DOUBLE_EQ(one.median_ratio, 0.5);
    EXPECT_TRUE(std::isnan(one.log_correlation)) << "no correlation from one point";
}

TEST(CorpusSummary, NamesTheDisagreementsWithTheKernel) {
    auto text = summarize({record("fine", VerdictAccept, 10, "accept", 10), record("ours_too_strict", VerdictReject, 10, "accept", 10),
                           record("unsafe", VerdictAccept, 10, "reject", std::nullopt)},
                          1, 0, true);
    EXPECT_NE(text.find("disagreements with the kernel (2)"), std::string::npos) << text;
    EXPECT_NE(text.find("x.o xdp ours_too_strict: we reject, the kernel accepts"), std::string::npos) << text;
    EXPECT_NE(text.find("x.o xdp unsafe: we accept, the kernel rejects (R1 invalid mem access)"), std::string::npos) << text;
    EXPECT_EQ(text.find("fine:"), std::string::npos) << text;
    EXPECT_NE(text.find("median ratio 1.00"), std::string::npos) << text;
}

}  // namespace
}  // namespace bpfvet::tools::corpus
