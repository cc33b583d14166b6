// One finding of the analyzer, built in one place (make_diagnostic) and printed
// as text or JSON by the check command.
#pragma once

#include "analyzer/error_code.hpp"
#include "ir/program.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace bpfvet::analyzer {

// What refinement (analyzer/refine.hpp) concluded about an alarm.
enum class AlarmStatus : uint8_t {
    None,        // no refinement asked
    Confirmed,   // an input reaches the fault, and replaying it faults at this pc
    Discharged,  // no execution reaches the fault (the split re-run has no error)
    Undecided,   // neither could be established; the rejection stands
};
[[nodiscard]] std::string_view alarm_status_name(AlarmStatus status);

// One helper call on a counterexample's path, in execution order.
struct HelperOutcome {
    uint32_t pc = 0;  // the call instruction
    int32_t helper = 0;
    uint64_t result = 0;         // r0 after the call; 0 is null for lookups
    std::vector<uint8_t> value;  // a lookup that found a value: the bytes the path reads
};

// An input that drives the program from its entry to the failing check.
struct Counterexample {
    std::vector<uint8_t> packet;   // empty for programs without packets
    std::vector<uint8_t> context;  // the context's bytes (fields the path reads)
    std::vector<HelperOutcome> calls;
    std::vector<uint32_t> path;         // instructions executed, entry to the fault
    std::vector<std::string> path_lines;  // "file:line: source", each once in order
    std::string replayed_fault;         // the checked interpreter's fault, once replayed
};

// One instruction of the path that failed: which frame ran it (0: the
// exploration's entry function, callees above it).
struct PathStep {
    uint32_t pc = 0;
    uint8_t frame = 0;
    // A loop finished by widening: the path resumes after the loop here, its
    // iterations merged (joined), not followed one by one.
    bool widened_loop = false;
    // A load or store of a stack slot whose spilled value the analysis tracks
    // (a spill, or a fill that gets the spilled value back).
    bool stack_value = false;
};

// Why the fact the failing check needed was missing (analyzer/causal_story.hpp).
enum class LostFactCause : uint8_t {
    Unknown,                    // only the origin chain is known
    CheckedOnCopy,              // the bound was proven on another register than the one used
    LostBySpill,                // a bounded value went through the stack and came back without its bound
    PacketInvalidatedByHelper,  // a helper call that may move packet data invalidated the pointer
    NeverCompared,              // no comparison on the path bounds the value
    NullNotTested,              // a helper's or lookup's result is used without a NULL test
    JoinInLoop,                 // a widened loop merged its iterations: the value's kind or bound depends on them
};
[[nodiscard]] std::string_view lost_fact_cause_name(LostFactCause cause);

// One instruction of a causal story, with its source line.
struct StoryStep {
    uint32_t pc = 0;
    std::optional<ir::SourceLocation> location;
    std::string instruction;  // disassembled
    std::string note;         // what it does to the value, in plain words
};

// How the value a failing check needed was made and where its needed fact was
// lost, computed from the failing path (analyzer/causal_story.cpp).
struct CausalStory {
    std::vector<StoryStep> origin;  // the chain of instructions that made the values, in path order
    LostFactCause cause = LostFactCause::Unknown;
    std::string because;             // the cause in plain words ("" when unknown)
    std::vector<StoryStep> evidence;  // where the fact was lost (the copy's check, the spill, the call...)
    std::string hint;                 // the fix for this cause ("" when unknown)
    // The lost fact, to recognise errors with one root cause: "" when unknown.
    std::string root;
};

[[nodiscard]] nlohmann::json story_json(const CausalStory& story);

struct Diagnostic {
    ErrorCode code = ErrorCode::InvalidInstruction;
    uint32_t pc = 0;
    std::string instruction;  // disassembled
    std::string message;      // plain words, specific to this instruction
    std::optional<ir::SourceLocation> location;
    std::vector<std::string> registers;  // "r1 = pointer to stack frame 0, offset -8"
    AlarmStatus status = AlarmStatus::None;
    std::string status_reason;  // why undecided, or how it was discharged
    std::optional<Counterexample> counterexample;
    // The registers the failing check looked at (the analyzer's report).
    std::vector<int> subject_registers;
    // The failing path from the exploration's entry to pc (inclusive); empty
    // when the error was found outside a path (a rule checked before exploring).
    std::vector<PathStep> path;
    std::optional<CausalStory> story;
    // Other errors with the same root cause, reported once here.
    std::vector<StoryStep> also_at;

    [[nodiscard]] std::string_view code_name() const { return error_code_name(code); }
    // error[null-dereference] at 12: r0 = *(u32 *)(r1 + 0)
    //   r1 may be null ...
    [[nodiscard]] std::string to_text() const;
    [[nodiscard]] nlohmann::json to_json() const;
};

}  // namespace bpfvet::analyzer
