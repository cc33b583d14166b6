#include "analyzer/refine.hpp"

#include "analyzer/z3_paths.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace bpfvet::analyzer {
namespace {

constexpr int MaxRounds = 4;
constexpr size_t MaxSplitBranches = 32;  // two tag bits each in a 64-bit word

std::string list_of(const std::vector<uint32_t>& pcs) {
    std::string out;
    for (uint32_t pc : pcs) out += fmt::format("{}{}", out.empty() ? "" : ", ", pc);
    return out;
}

bool same_alarm(const Diagnostic& a, const Diagnostic& b) { return a.pc == b.pc && a.code == b.code; }

}  // namespace

AnalysisResult refine_alarms(const ir::Object& object, const ir::Program& program, const AnalysisOptions& options,
                             AnalysisResult plain) {
    const auto started = std::chrono::steady_clock::now();
    PathSearchLimits limits;
    limits.timeout_ms = options.z3_timeout_ms;
    // One alarm's search gets a share of the budget; all searches together at
    // most max_seconds, after which the remaining alarms stay undecided.
    limits.max_seconds = std::clamp(options.max_seconds / 4, 0.5, 3.0);
    auto budget_left = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() < options.max_seconds;
    };
    auto search = [&](const Diagnostic& error, ir::ProgramType type) {
        if (!budget_left()) {
            PathSearch out;
            out.reason = fmt::format("the refinement's budget of {} s was spent on earlier alarms", options.max_seconds);
            return out;
        }
        return search_alarm_paths(object, program, type, error, limits);
    };

    AnalysisOptions rerun = options;
    rerun.refine = Refinement::None;
    std::vector<uint32_t> splits = options.split_branches;
    AnalysisResult current = std::move(plain);
    // Alarms Z3 found unreachable, by (pc, code), with the search that said so.
    std::vector<std::pair<Diagnostic, PathSearch>> unreachable;
    std::map<std::pair<uint32_t, ErrorCode>, PathSearch> searched;

    for (int round = 0; round < MaxRounds && !current.accepted; ++round) {
        std::vector<uint32_t> new_splits;
        for (Diagnostic& error : current.errors) {
            auto key = std::make_pair(error.pc, error.code);
            auto known = searched.find(key);
            if (known == searched.end())
                known = searched.emplace(key, search(error, current.type)).first;
            const PathSearch& search = known->second;
            if (search.verdict == PathVerdict::Reachable) continue;
            for (uint32_t pc : search.blamed_branches)
                if (std::find(splits.begin(), splits.end(), pc) == splits.end() &&
                    std::find(new_splits.begin(), new_splits.end(), pc) == new_splits.end())
                    new_splits.push_back(pc);
            if (search.verdict == PathVerdict::Unreachable &&
                std::none_of(unreachable.begin(), unreachable.end(),
                             [&](const auto& entry) { return same_alarm(entry.first, error); }))
                unreachable.emplace_back(error, search);
        }
        if (new_splits.empty() || splits.size() >= MaxSplitBranches) break;
        for (uint32_t pc : new_splits)
            if (splits.size() < MaxSplitBranches) splits.push_back(pc);
        rerun.split_branches = splits;
        current = analyze_program(object, program, rerun);
    }

    // Label what is left; what the last abstract run no longer reports was discharged.
    for (Diagnostic& error : current.errors) {
        auto known = searched.find({error.pc, error.code});
        if (known == searched.end())
            known = searched.emplace(std::make_pair(error.pc, error.code), search(error, current.type)).first;
        const PathSearch& search = known->second;
        error.status = AlarmStatus::Undecided;
        if (search.verdict == PathVerdict::Reachable) {
            error.counterexample = search.counterexample;
            error.status_reason = "Z3 found an input that reaches the failing check; not yet replayed";
        } else if (search.verdict == PathVerdict::Unreachable && search.complete) {
            // Safe by proof: every path to the check was encoded and none can fail it.
            // The kernel keeps no more relations than our abstract analysis
            // did, so it will still refuse the program: the verdict stays its.
            error.status = AlarmStatus::Discharged;
            error.status_reason = fmt::format(
                "safe: Z3 proves that none of the {} path(s) to this check can fail it, from a relation between "
                "values that neither the kernel's verifier nor the abstract analysis keeps; the kernel will still "
                "reject the program (rewrite the check so the bound is on the value used here)",
                search.paths);
        } else if (search.verdict == PathVerdict::Unreachable) {
            error.status_reason = fmt::format(
                "Z3 finds the check unsatisfiable on all {} path(s) it explored, but some paths were cut (loops "
                "unrolled {} times), so this is no proof",
                search.paths, limits.loop_bound);
        } else {
            error.status_reason = search.reason;
        }
    }
    if (options.verdict_by_safety) {
        // Research runs: our own proof decides. Alarms proven safe no longer reject.
        for (Diagnostic& error : current.errors)
            if (error.status == AlarmStatus::Discharged) current.discharged.push_back(error);
        std::erase_if(current.errors, [](const Diagnostic& e) { return e.status == AlarmStatus::Discharged; });
        current.accepted = current.errors.empty();
    }
    for (auto& [error, search] : unreachable) {
        auto same = [&](const Diagnostic& other) { return same_alarm(other, error); };
        if (std::any_of(current.errors.begin(), current.errors.end(), same) ||
            std::any_of(current.discharged.begin(), current.discharged.end(), same))
            continue;
        error.status = AlarmStatus::Discharged;
        error.status_reason = fmt::format(
            "unsatisfiable on all {} path(s) to it; the abstract analysis split at branches [{}] no longer reports it",
            search.paths, list_of(splits));
        current.discharged.push_back(std::move(error));
    }
    current.refine_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return current;
}

}  // namespace bpfvet::analyzer
