// States on demand (`bpfvet check --trace`): the abstract state at chosen
// instructions on each path the exploration follows there, rather than only
// their join. The kernel-like explorer visits an instruction once per path
// that is not pruned before it; each visit is kept with the path that led to
// it and how it ended there (went on, pruned by a verified state, handed to
// widening), up to a cap per instruction, the rest only counted and joined.
#pragma once

#include "analyzer/diagnostic.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bpfvet::analyzer {

struct TraceRequest {
    std::vector<uint32_t> pcs;  // empty: no tracing (and no cost)
    size_t max_visits = 20;     // visits kept per pc; the others are counted and joined
};

enum class VisitEnd : uint8_t {
    Continued,  // the path went on from here
    Pruned,     // a state already verified here covers this one: the path stops
    Widened,    // the path went round a loop too often: the loop was handed to widening here
    Stopped,    // the path stopped here for another reason (the same state came back: a loop without bound)
    Joined,     // not a path: the pass of a widened loop, whose iterations are joined
};
[[nodiscard]] std::string_view visit_end_name(VisitEnd end);

struct TraceVisit {
    uint64_t number = 0;         // 1-based, in the order the exploration made them
    std::vector<PathStep> path;  // from the exploration's entry to pc (inclusive); empty for Joined
    std::string state;           // the state before the instruction
    VisitEnd end = VisitEnd::Continued;
    std::string covering_state;           // Pruned: the verified state (dead registers removed) that covers it
    std::optional<uint64_t> covering_visit;  // Pruned: the visit that stored that state, when traced
};

struct TracedPoint {
    uint32_t pc = 0;
    std::vector<TraceVisit> visits;  // the first max_visits
    uint64_t total_visits = 0;
    std::string join;  // of every visit's state ("" when never reached)
};

}  // namespace bpfvet::analyzer
