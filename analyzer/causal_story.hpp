// The causal story of an error, computed from its failing path: where the
// values the failing check looked at came from (a backward slice along the
// path through moves, arithmetic, spills and fills, helper results, context
// and packet loads), where the fact the check needed was lost, among a closed
// set of causes each recognised from evidence on the path, and the fix for
// that cause. When no cause has evidence, the story says only the origin.
//
//   r8 = *(u8 *)(r6 + 14)     line 30   <- the byte checked
//   r9 = *(u8 *)(r6 + 14)     line 31   <- the same byte, loaded again
//   if r8 > 7 goto ...        line 32   <- bounds r8 only
//   r0 += r9                  line 40   <- the access uses r9
//   => cause: checked on a copy (r8 at line 32); hint: compare r9 itself.
#pragma once

#include "analyzer/diagnostic.hpp"
#include "ir/program.hpp"

#include <vector>

namespace bpfvet::analyzer {

// The story of `diagnostic` (its path and subject registers), or nullopt when
// it has no path to tell it from.
[[nodiscard]] std::optional<CausalStory> tell_story(const ir::Object& object, const ir::Program& program,
                                                    const Diagnostic& diagnostic);

// Computes every error's story, then keeps one error per root cause: errors
// whose stories name the same lost fact become "also at" pcs of the first.
void tell_stories(const ir::Object& object, const ir::Program& program, std::vector<Diagnostic>& errors);

}  // namespace bpfvet::analyzer
