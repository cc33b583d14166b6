// Path formulas for one alarm: symbolic execution of a program in Z3 from its
// entry to the instruction where the abstract analysis reported an error,
// along every CFG path that can reach it (loops unrolled up to a bound), asking
// on each whether the failing condition can hold.
//
//   bad_packet_out_of_bounds: reading 4 bytes at data + 10 after "data + 8 <= data_end"
//     -> reachable; packet of 8 bytes; path 0 1 2 ... 6
//   refine_correlated_index: index < 16 was tested at 7, the flag at 17
//     -> unreachable on all 4 paths; the unsat cores blame the branches at 7 and 17
//
// The model: registers are 64-bit terms with a kind (number, pointer into one
// memory object, uninitialized); the packet, the context, the stack and each
// map value returned by a lookup are byte arrays; the packet length is free
// (data_end = data + length); helper results are fresh terms constrained by
// their prototypes (a lookup is null or a value). A verdict "unreachable" is
// used only to choose where the abstract analysis splits its states: the
// acceptance of a program always rests on the abstract re-run.
#pragma once

#include "analyzer/diagnostic.hpp"
#include "ir/program.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bpfvet::analyzer {

struct PathSearchLimits {
    unsigned timeout_ms = 2000;      // per solver query
    double max_seconds = 10.0;       // the whole search
    uint32_t loop_bound = 24;        // visits of one instruction on one path
    uint64_t max_steps = 200'000;    // symbolic instruction steps
    uint64_t max_paths = 4096;       // paths reaching the alarm
};

enum class PathVerdict : uint8_t {
    Reachable,    // a model reaches the failing condition: `counterexample`
    Unreachable,  // every path explored has an unsatisfiable failing condition
    Unknown,      // not encodable, or a query timed out
};

struct PathSearch {
    PathVerdict verdict = PathVerdict::Unknown;
    std::string reason;                     // why unknown, or a summary
    std::vector<uint32_t> blamed_branches;  // unsat cores' conditional jumps, sorted
    bool complete = false;                  // no path cut by a bound or the budget
    uint64_t paths = 0;                     // paths that reached the alarm
    std::optional<Counterexample> counterexample;
};

[[nodiscard]] PathSearch search_alarm_paths(const ir::Object& object, const ir::Program& program,
                                            ir::ProgramType type, const Diagnostic& alarm,
                                            const PathSearchLimits& limits = {});

}  // namespace bpfvet::analyzer
