#include "analyzer/tracer.hpp"

#include <algorithm>

namespace bpfvet::analyzer {

std::string_view visit_end_name(VisitEnd end) {
    switch (end) {
        case VisitEnd::Continued: return "continued";
        case VisitEnd::Pruned: return "pruned";
        case VisitEnd::Widened: return "widened";
        case VisitEnd::Stopped: return "stopped";
        case VisitEnd::Joined: return "joined";
    }
    return "continued";
}

namespace detail {

Tracer::Tracer(const TraceRequest& request, size_t program_size, const ir::Object* object)
    : request_(request), object_(object), wanted_(program_size, false) {
    for (uint32_t pc : request.pcs)
        if (pc < program_size) wanted_[pc] = true;
}

bool Tracer::keeps_next(uint32_t pc) const {
    auto found = points_.find(pc);
    return found == points_.end() || found->second.visits.size() < request_.max_visits;
}

void Tracer::visit(uint32_t pc, const AbstractState& state, std::vector<PathStep> path) {
    Point& point = points_[pc];
    ++point.total;
    point.join = point.join.join(state);
    last_pc_ = pc;
    last_number_ = point.total;
    last_kept_ = nullptr;
    if (point.visits.size() >= request_.max_visits) return;
    TraceVisit& visit = point.visits.emplace_back();
    visit.number = point.total;
    visit.path = std::move(path);
    visit.state = state.to_string(object_);
    last_kept_ = &visit;
}

void Tracer::visit_joined(uint32_t pc, const AbstractState& state) {
    visit(pc, state, {});
    if (last_kept_ != nullptr) last_kept_->end = VisitEnd::Joined;
    last_kept_ = nullptr;
}

void Tracer::stored_as(const void* checkpoint) { stored_by_[checkpoint] = last_number_; }

void Tracer::pruned_by(const void* checkpoint, const AbstractState& covering) {
    if (last_kept_ == nullptr) return;
    last_kept_->end = VisitEnd::Pruned;
    last_kept_->covering_state = covering.to_string(object_);
    if (auto found = stored_by_.find(checkpoint); found != stored_by_.end()) last_kept_->covering_visit = found->second;
}

void Tracer::ended(VisitEnd end) {
    if (last_kept_ != nullptr) last_kept_->end = end;
}

std::vector<TracedPoint> Tracer::result() const {
    std::vector<TracedPoint> out;
    for (uint32_t pc : request_.pcs) {
        if (pc >= wanted_.size() || std::any_of(out.begin(), out.end(), [&](const TracedPoint& p) { return p.pc == pc; }))
            continue;
        TracedPoint& traced = out.emplace_back();
        traced.pc = pc;
        auto found = points_.find(pc);
        if (found == points_.end()) continue;
        traced.visits = found->second.visits;
        traced.total_visits = found->second.total;
        traced.join = found->second.join.to_string(object_);
    }
    return out;
}

}  // namespace detail
}  // namespace bpfvet::analyzer
