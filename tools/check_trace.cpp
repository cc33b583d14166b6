#include "tools/check_trace.hpp"
#include "tools/parse_number.hpp"

#include "ir/disassembler.hpp"

#include <fmt/format.h>


namespace bpfvet::tools {
namespace {

bool same_file(std::string_view recorded, std::string_view wanted) {
    if (recorded == wanted) return true;
    auto ends_with_part = [](std::string_view path, std::string_view part) {
        return path.size() > part.size() && path.ends_with(part) && path[path.size() - part.size() - 1] == '/';
    };
    return ends_with_part(recorded, wanted) || ends_with_part(wanted, recorded);
}

bool on_line(const ir::Program& program, size_t pc, const std::pair<std::string, uint32_t>& line) {
    const ir::SourceLocation* location = program.source_line(pc);
    return location != nullptr && location->line == line.second && same_file(location->file, line.first);
}

std::string instruction_text(const ir::Object& object, const ir::Program& program, uint32_t pc) {
    if (pc >= program.instructions.size()) return "";
    const ir::Instruction* next = pc + 1 < program.instructions.size() ? &program.instructions[pc + 1] : nullptr;
    ir::DisassemblyContext context{pc, &object, &program.functions, nullptr};
    return ir::disassemble(program.instructions[pc], next, context);
}

// A conditional jump of the path and the way it went.
struct Decision {
    uint32_t pc = 0;
    bool taken = false;
};
// What a path did on its way: branch decisions, and loops it resumed after widening.
struct PathSummary {
    std::vector<Decision> decisions;
    std::vector<uint32_t> widened_loops;
};

PathSummary summarize(const ir::Program& program, const std::vector<analyzer::PathStep>& path) {
    PathSummary out;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
        const analyzer::PathStep& step = path[i];
        if (step.widened_loop) out.widened_loops.push_back(step.pc);
        if (step.pc >= program.instructions.size()) continue;
        const ir::Instruction& insn = program.instructions[step.pc];
        if (!insn.is_conditional_jump()) continue;
        // The next step of the same frame says which way it went (a jump never changes frames).
        const uint32_t target = uint32_t(int64_t(step.pc) + insn.jump_offset() + 1);
        const uint32_t next = path[i + 1].pc;
        if (target == step.pc + 1) continue;  // both ways lead to the same place
        out.decisions.push_back({step.pc, next == target});
    }
    return out;
}

// Whether the visit's path is the failing path of an error at its pc.
const analyzer::Diagnostic* failing_here(const analyzer::AnalysisResult& result, uint32_t pc,
                                         const analyzer::TraceVisit& visit) {
    for (const auto& error : result.errors) {
        if (error.pc != pc || error.path.size() != visit.path.size() || visit.path.empty()) continue;
        if (std::equal(error.path.begin(), error.path.end(), visit.path.begin(),
                       [](const analyzer::PathStep& a, const analyzer::PathStep& b) {
                           return a.pc == b.pc && a.frame == b.frame;
                       }))
            return &error;
    }
    return nullptr;
}

std::string ending_text(const analyzer::TraceVisit& visit) {
    switch (visit.end) {
        case analyzer::VisitEnd::Continued: return "the path goes on";
        case analyzer::VisitEnd::Pruned:
            return visit.covering_visit ? fmt::format("pruned: covered by the state verified at visit {}", *visit.covering_visit)
                                        : std::string("pruned: covered by a state verified here before");
        case analyzer::VisitEnd::Widened: return "the path went round this loop too often: the loop is widened here";
        case analyzer::VisitEnd::Stopped: return "the path stops here (it came back in a state it had here before)";
        case analyzer::VisitEnd::Joined: return "the pass of a widened loop: its iterations joined";
    }
    return "";
}

}  // namespace

std::expected<PlaceFilter, std::string> parse_place_filter(const std::string& pc, const std::string& line) {
    PlaceFilter filter;
    if (!pc.empty()) {
        const size_t dash = pc.find('-');
        auto first = parse_number(std::string_view(pc).substr(0, dash));
        auto last = dash == std::string::npos ? first : parse_number(std::string_view(pc).substr(dash + 1));
        if (!first || !last || *last < *first)
            return std::unexpected(fmt::format("--pc '{}' is not an instruction number N or a range A-B", pc));
        filter.pcs = {*first, *last};
    }
    if (!line.empty()) {
        const size_t colon = line.rfind(':');
        auto number = colon == std::string::npos ? std::nullopt : parse_number(std::string_view(line).substr(colon + 1));
        if (!number || colon == 0 || *number == 0)
            return std::unexpected(fmt::format("--line '{}' is not FILE:LINE (a source file and a line number)", line));
        filter.line = {line.substr(0, colon), *number};
    }
    return filter;
}

std::vector<uint32_t> filtered_pcs(const ir::Program& program, const PlaceFilter& filter) {
    std::vector<uint32_t> out;
    for (uint32_t pc = 0; pc < program.instructions.size(); ++pc) {
        if (filter.pcs && (pc < filter.pcs->first || pc > filter.pcs->second)) continue;
        if (filter.line && !on_line(program, pc, *filter.line)) continue;
        out.push_back(pc);
    }
    return out;
}

std::vector<uint32_t> trace_points(const ir::Program& program, const PlaceFilter& filter) {
    std::vector<uint32_t> pcs = filtered_pcs(program, filter);
    if (!filter.line) return pcs;
    std::vector<uint32_t> firsts;
    for (size_t i = 0; i < pcs.size(); ++i) {
        // An LDDW's second slot is no instruction: the run goes on over it.
        const bool continues = i > 0 && (pcs[i - 1] + 1 == pcs[i] ||
                                         (pcs[i - 1] + 2 == pcs[i] && program.instructions[pcs[i - 1]].is_lddw()));
        if (!continues) firsts.push_back(pcs[i]);
    }
    return firsts;
}

std::string trace_text(const ir::Object& object, const ir::Program& program, const analyzer::AnalysisResult& result,
                       size_t max_visits, size_t max_branches) {
    std::string out;
    for (const analyzer::TracedPoint& point : result.traces) {
        const ir::SourceLocation* source = program.source_line(point.pc);
        out += fmt::format("  trace of instruction {}: reached on {} path{}\n", point.pc, point.total_visits,
                           point.total_visits == 1 ? "" : "s");
        if (source != nullptr) out += fmt::format("    {}\n", ir::source_comment(*source));
        out += fmt::format("    {:>5}: {}\n", point.pc, instruction_text(object, program, point.pc));
        for (const analyzer::TraceVisit& visit : point.visits) {
            const PathSummary summary = summarize(program, visit.path);
            out += fmt::format("  visit {}: {}\n", visit.number, ending_text(visit));
            if (const analyzer::Diagnostic* error = failing_here(result, point.pc, visit))
                out += fmt::format("    the failing path of error[{}] at {}\n", error->code_name(), error->pc);
            if (visit.end != analyzer::VisitEnd::Joined) {
                const size_t shown = std::min(summary.decisions.size(), max_branches);
                out += fmt::format("    path: {} branch decision{}", summary.decisions.size(),
                                   summary.decisions.size() == 1 ? "" : "s");
                if (shown < summary.decisions.size()) out += fmt::format(" (the last {} shown)", shown);
                if (!summary.widened_loops.empty())
                    out += fmt::format(", through {} widened loop{}", summary.widened_loops.size(),
                                       summary.widened_loops.size() == 1 ? "" : "s");
                out += "\n";
                const ir::SourceLocation* last = nullptr;
                for (size_t i = summary.decisions.size() - shown; i < summary.decisions.size(); ++i) {
                    const Decision& d = summary.decisions[i];
                    const ir::SourceLocation* line = program.source_line(d.pc);
                    if (line != nullptr && (last == nullptr || line->file != last->file || line->line != last->line))
                        out += fmt::format("      {}\n", ir::source_comment(*line));
                    last = line;
                    out += fmt::format("      {:>5}: {}   -> {}\n", d.pc, instruction_text(object, program, d.pc),
                                       d.taken ? "taken" : "not taken");
                }
            }
            out += fmt::format("    {{ {} }}\n", visit.state);
            if (visit.end == analyzer::VisitEnd::Pruned)
                out += fmt::format("    covered by {{ {} }}\n", visit.covering_state);
        }
        if (point.total_visits > point.visits.size())
            out += fmt::format("  ... {} more visit{} not shown (--trace-paths {})\n",
                               point.total_visits - point.visits.size(),
                               point.total_visits - point.visits.size() == 1 ? "" : "s", max_visits);
        if (point.total_visits == 0) out += "  never reached\n";
        else out += fmt::format("  join of the {} visit{}: {{ {} }}\n", point.total_visits,
                                point.total_visits == 1 ? "" : "s", point.join);
    }
    return out;
}

nlohmann::json trace_json(const ir::Object& object, const ir::Program& program, const analyzer::AnalysisResult& result) {
    nlohmann::json points = nlohmann::json::array();
    auto located = [&](nlohmann::json& item, uint32_t pc) {
        if (const ir::SourceLocation* source = program.source_line(pc)) {
            item["file"] = source->file;
            item["line"] = source->line;
            item["source"] = source->text;
        }
    };
    for (const analyzer::TracedPoint& point : result.traces) {
        nlohmann::json item = {{"pc", point.pc},
                               {"instruction", instruction_text(object, program, point.pc)},
                               {"total_visits", point.total_visits},
                               {"shown_visits", point.visits.size()}};
        located(item, point.pc);
        if (point.total_visits > 0) item["join"] = point.join;
        nlohmann::json visits = nlohmann::json::array();
        for (const analyzer::TraceVisit& visit : point.visits) {
            const PathSummary summary = summarize(program, visit.path);
            nlohmann::json branches = nlohmann::json::array();
            for (const Decision& d : summary.decisions) {
                nlohmann::json branch = {{"pc", d.pc},
                                         {"instruction", instruction_text(object, program, d.pc)},
                                         {"taken", d.taken}};
                located(branch, d.pc);
                branches.push_back(std::move(branch));
            }
            nlohmann::json v = {{"number", visit.number},
                                {"end", std::string(analyzer::visit_end_name(visit.end))},
                                {"state", visit.state},
                                {"branches", branches},
                                {"widened_loops", summary.widened_loops}};
            if (visit.end == analyzer::VisitEnd::Pruned) {
                v["covering_state"] = visit.covering_state;
                if (visit.covering_visit) v["covering_visit"] = *visit.covering_visit;
            }
            if (const analyzer::Diagnostic* error = failing_here(result, point.pc, visit))
                v["failing_error"] = std::string(error->code_name());
            visits.push_back(std::move(v));
        }
        item["visits"] = std::move(visits);
        points.push_back(std::move(item));
    }
    return points;
}

}  // namespace bpfvet::tools
