// Refinement of the abstract analysis's alarms by Z3 (issue 7).
//
// For each error of a rejected program, the path formulas (z3_paths.hpp) say
// whether an input reaches the failing check:
//   - reachable: the error gets the input (a Counterexample); the tools replay
//     it in the checked interpreter and call it "confirmed" when the replay
//     faults at the same instruction;
//   - unreachable on every path: the branches Z3's unsat cores blame become
//     split points (AnalysisOptions::split_branches) and the abstract analysis
//     runs again, keeping states apart by those branches' outcomes. The program
//     is accepted only if that abstract re-run has no error: acceptance rests
//     on an abstract fixpoint, never on the bounded path search;
//   - otherwise, or when the re-run still errs: "undecided", the rejection stands.
//
//   refine_correlated_index: plain analysis rejects at 21 (map value index 0..2040);
//   Z3 blames the branches at 7 and 16; the re-run split there accepts.
#pragma once

#include "analyzer/analyzer.hpp"

namespace bpfvet::analyzer {

// `plain` is the result of analyze_program with `options` (refine ignored).
[[nodiscard]] AnalysisResult refine_alarms(const ir::Object& object, const ir::Program& program,
                                           const AnalysisOptions& options, AnalysisResult plain);

}  // namespace bpfvet::analyzer
