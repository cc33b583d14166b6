// Records the visits of `check --trace` (analyzer/trace.hpp) as the explorer
// makes them. The engine holds one only when tracing was asked for: the
// explorer's hooks then cost a null test per step and nothing else.
#pragma once

#include "analyzer/state.hpp"
#include "analyzer/trace.hpp"

#include <map>
#include <unordered_map>
#include <vector>

namespace bpfvet::analyzer::detail {

class Tracer {
public:
    Tracer(const TraceRequest& request, size_t program_size, const ir::Object* object);

    [[nodiscard]] bool wants(uint32_t pc) const { return pc < wanted_.size() && wanted_[pc]; }
    // Whether the next visit of pc is kept whole (its path is worth building).
    [[nodiscard]] bool keeps_next(uint32_t pc) const;
    // A path arrives at pc in `state`; the following calls describe how this visit ends.
    void visit(uint32_t pc, const AbstractState& state, std::vector<PathStep> path);
    // The pass of a widened loop reaches pc: one joined state for all its iterations.
    void visit_joined(uint32_t pc, const AbstractState& state);
    // The last visit stored its state for pruning as `checkpoint` (an identity only).
    void stored_as(const void* checkpoint);
    void pruned_by(const void* checkpoint, const AbstractState& covering);
    void ended(VisitEnd end);

    [[nodiscard]] std::vector<TracedPoint> result() const;

private:
    struct Point {
        std::vector<TraceVisit> visits;
        uint64_t total = 0;
        AbstractState join = AbstractState::bottom();
    };
    TraceRequest request_;
    const ir::Object* object_;  // names maps in the states
    std::vector<bool> wanted_;
    std::map<uint32_t, Point> points_;
    std::unordered_map<const void*, uint64_t> stored_by_;  // checkpoint -> visit number
    uint32_t last_pc_ = 0;
    uint64_t last_number_ = 0;
    TraceVisit* last_kept_ = nullptr;  // the last visit when kept whole
};

}  // namespace bpfvet::analyzer::detail
