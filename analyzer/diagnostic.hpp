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

struct Diagnostic {
    ErrorCode code = ErrorCode::InvalidInstruction;
    uint32_t pc = 0;
    std::string instruction;  // disassembled
    std::string message;      // plain words, specific to this instruction
    std::optional<ir::SourceLocation> location;
    std::vector<std::string> registers;  // "r1 = pointer to stack frame 0, offset -8"

    [[nodiscard]] std::string_view code_name() const { return error_code_name(code); }
    // error[null-dereference] at 12: r0 = *(u32 *)(r1 + 0)
    //   r1 may be null ...
    [[nodiscard]] std::string to_text() const;
    [[nodiscard]] nlohmann::json to_json() const;
};

}  // namespace bpfvet::analyzer
