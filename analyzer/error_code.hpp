// The stable error codes of the analyzer: one table of code, message template
// and fix hint. The codes are part of our interface (corpus/manifest.json and
// `bpfvet check --format json` use them); add rows, never rename.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace bpfvet::analyzer {

enum class ErrorCode {
    UninitializedRegister,
    UninitializedStack,
    StackOutOfBounds,
    MapValueOutOfBounds,
    ContextAccess,
    PacketOutOfBounds,
    MemoryAccess,
    NullDereference,
    PointerArithmetic,
    PointerComparison,
    PointerLeak,
    HelperArgument,
    UnknownHelper,
    UnmodelledHelper,
    HelperNotAllowed,
    ReadOnlyWrite,
    UnboundedLoop,
    BudgetExceeded,
    ReturnValue,
    UnreachableInstruction,
    StackDepth,
    InvalidMapReference,
    TailCall,
    InvalidInstruction,
    UnreleasedReference,
    MisalignedAccess,
    DivisionByZero,
    SpinLock,
    UnknownKfunc,
    UnmodelledKfunc,
    KfuncNotAllowed,
    KfuncArgument,
};

struct ErrorCodeInfo {
    ErrorCode code;
    std::string_view name;      // stable, e.g. "null-dereference"
    std::string_view summary;   // one line in plain words
    std::string_view fix_hint;  // what usually makes the program acceptable
};

[[nodiscard]] const ErrorCodeInfo& error_code_info(ErrorCode code);
[[nodiscard]] std::string_view error_code_name(ErrorCode code);
[[nodiscard]] std::optional<ErrorCode> error_code_from_name(std::string_view name);
[[nodiscard]] std::span<const ErrorCodeInfo> all_error_codes();

}  // namespace bpfvet::analyzer
