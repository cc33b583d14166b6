// Replays the counterexample Z3 found for an alarm (analyzer/refine.hpp) in
// the checked interpreter: the packet and context bytes become the run's
// input, and each helper call on the path returns what the counterexample
// says (a lookup: null, or a value holding the given bytes). The alarm is
// "confirmed" only when the run faults at the alarm's instruction.
#pragma once

#include "analyzer/analyzer.hpp"
#include "ir/program.hpp"

#include <string>

namespace bpfvet::tools {

struct ReplayOutcome {
    bool confirmed = false;
    std::string fault;  // the checked interpreter's fault, or what happened instead
};

[[nodiscard]] ReplayOutcome replay_counterexample(const ir::Object& object, size_t program_index,
                                                  const analyzer::Diagnostic& alarm);

// Replays every error's counterexample: Confirmed when the replay faults at
// its pc, otherwise the error stays Undecided with the reason.
void confirm_counterexamples(const ir::Object& object, size_t program_index, analyzer::AnalysisResult& result);

}  // namespace bpfvet::tools
