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

    [[nodiscard]] std::string_view code_name() const { return error_code_name(code); }
    // error[null-dereference] at 12: r0 = *(u32 *)(r1 + 0)
    //   r1 may be null ...
    [[nodiscard]] std::string to_text() const;
    [[nodiscard]] nlohmann::json to_json() const;
};

}  // namespace bpfvet::analyzer
