// When a state already proven safe covers a new one at the same instruction,
// the new path needs no exploring: everything it can do, the old one did.
// As in the kernel's states_equal: registers and stack compared value by value,
// numbers only where their exact value mattered below the old state (its
// precision marks, analyzer/precision.hpp); dead registers are removed from
// the old state before it is stored.
#pragma once

#include "analyzer/precision.hpp"
#include "analyzer/state.hpp"

namespace bpfvet::analyzer::detail {

struct CoverRules {
    bool all_precise = false;     // every number compared (recorded facts must hold on every path)
    bool uninit_readable = true;  // privileged: uninitialized stack reads as an unknown number
};

// Whether `old`, explored with the numbers in `precise` needed exactly and
// the stack slots in `read` read before written below it, covers `current`.
[[nodiscard]] bool covers(const AbstractState& old, const Marks& precise, const Marks& read,
                          const AbstractState& current, CoverRules rules);

}  // namespace bpfvet::analyzer::detail
