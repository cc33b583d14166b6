#include "analyzer/error_code.hpp"

#include <array>
#include <stdexcept>

namespace bpfvet::analyzer {
namespace {

constexpr std::array<ErrorCodeInfo, 32> error_codes{{
    {ErrorCode::UninitializedRegister, "uninitialized-register",
     "a register is read before anything was written to it",
     "assign the register on every path that reaches this instruction"},
    {ErrorCode::UninitializedStack, "uninitialized-stack",
     "stack bytes are read before they were written",
     "initialise the variable (e.g. with = {} or memset) before reading it or passing it to a helper"},
    {ErrorCode::StackOutOfBounds, "stack-out-of-bounds",
     "a stack access falls outside the 512-byte frame",
     "keep stack accesses within [r10-512, r10) and sizes within the variable"},
    {ErrorCode::MapValueOutOfBounds, "map-value-out-of-bounds",
     "an access to a map value may fall outside the value",
     "check the offset against the value size before the access"},
    {ErrorCode::ContextAccess, "context-access",
     "the context is accessed at an offset, size or mode this program type does not allow",
     "read context fields directly through the context pointer with their natural size"},
    {ErrorCode::PacketOutOfBounds, "packet-out-of-bounds",
     "a packet access is not proven to be within the packet",
     "compare the pointer plus the access size against data_end before the access"},
    {ErrorCode::MemoryAccess, "memory-access",
     "memory is accessed through a value that is not a pointer allowing this access",
     "dereference only pointers to the stack, context, packet or map values"},
    {ErrorCode::NullDereference, "null-dereference",
     "a pointer that may be null is dereferenced",
     "test the pointer against NULL (e.g. the result of bpf_map_lookup_elem) before using it"},
    {ErrorCode::PointerArithmetic, "pointer-arithmetic",
     "this arithmetic on a pointer is not allowed",
     "only add or subtract bounded scalars to pointers that allow arithmetic"},
    {ErrorCode::PointerComparison, "pointer-comparison",
     "pointers to different regions, or a pointer and a scalar, are compared or subtracted",
     "compare packet pointers only with packet pointers, and test other pointers only against 0"},
    {ErrorCode::PointerLeak, "pointer-leak",
     "a kernel pointer would be leaked to a place the program's user can read",
     "store scalars instead of pointers in maps, the context and the return value"},
    {ErrorCode::HelperArgument, "helper-argument",
     "a helper is called with an argument of the wrong kind or size",
     "pass arguments of the kinds the helper's prototype asks for"},
    {ErrorCode::UnknownHelper, "unknown-helper",
     "the program calls a helper function this analyzer does not know",
     "use a helper known to the kernel, or add its prototype to analyzer/helper_table.cpp"},
    {ErrorCode::UnmodelledHelper, "unmodelled-helper",
     "the helper takes or returns something this analyzer does not model (BTF objects, dynptrs, timers, ...)",
     "check the program with the kernel itself, or keep the call out of the code bpfvet gates"},
    {ErrorCode::HelperNotAllowed, "helper-not-allowed",
     "this helper may not be called from this program type",
     "use a helper available to this program type, or load the program with another type"},
    {ErrorCode::ReadOnlyWrite, "read-only-write",
     "the program writes to read-only memory",
     "do not write to .rodata, read-only maps or read-only context fields"},
    {ErrorCode::UnboundedLoop, "unbounded-loop",
     "a loop is not proven to terminate",
     "give the loop a constant upper bound on its iterations"},
    {ErrorCode::BudgetExceeded, "budget-exceeded",
     "the analysis exceeded its budget of instruction steps or time",
     "simplify the program: fewer paths, smaller loop bounds, or split it into tail calls"},
    {ErrorCode::ReturnValue, "return-value",
     "the program may return a value outside the range its type allows",
     "return one of the values the program type defines (e.g. XDP_PASS)"},
    {ErrorCode::UnreachableInstruction, "unreachable-instruction",
     "some instructions can never be reached",
     "remove dead code (the kernel rejects unreachable instructions)"},
    {ErrorCode::StackDepth, "stack-depth",
     "the combined stack of the call chain exceeds 512 bytes",
     "use fewer or smaller local variables in nested function calls, or a per-CPU map as scratch space"},
    {ErrorCode::InvalidMapReference, "invalid-map-reference",
     "a map reference is invalid, or a map pointer is used where it may not be",
     "refer to maps only through their definitions and pass map pointers unchanged to helpers"},
    {ErrorCode::TailCall, "tail-call",
     "a tail call is made in a way the kernel does not allow",
     "call bpf_tail_call with the context and a program array map"},
    {ErrorCode::InvalidInstruction, "invalid-instruction",
     "an instruction is malformed or not allowed",
     "recompile the program with a supported compiler and target"},
    {ErrorCode::UnreleasedReference, "unreleased-reference",
     "a reference taken by the program (a socket lookup, a ring buffer reservation, an acquiring kfunc) is still held at exit",
     "release sockets with bpf_sk_release, submit or discard ring buffer records, and release kfunc-acquired objects on every path"},
    {ErrorCode::MisalignedAccess, "misaligned-access",
     "a stack access, or an atomic operation, is not aligned to its size",
     "access stack variables and atomic counters at offsets that are multiples of the access size"},
    {ErrorCode::DivisionByZero, "division-by-zero",
     "a division or modulo by the constant 0",
     "divide by a non-zero constant, or by a register (the kernel defines x / 0 as 0 only for registers)"},
    {ErrorCode::SpinLock, "spin-lock",
     "a bpf_spin_lock is misused: not the value's lock, taken twice, not released, or held across a call or exit",
     "take one lock at a time through a map value pointer, call nothing while holding it, unlock it on every path"},
    {ErrorCode::UnknownKfunc, "unknown-kfunc",
     "the program calls a kernel function (kfunc) that Linux 6.18 does not have, or that the kernel BTF lacks",
     "call a kfunc the kernel offers (its BTF lists them), or add its row to analyzer/kfunc_table.cpp"},
    {ErrorCode::UnmodelledKfunc, "unmodelled-kfunc",
     "the kfunc takes or returns something this analyzer does not model yet (iterators, dynptrs, allocated objects, ...)",
     "check the program with the kernel itself (check --kernel)"},
    {ErrorCode::KfuncNotAllowed, "kfunc-not-allowed",
     "this kfunc may not be called from this program type, or not without a GPL-compatible license",
     "use a kfunc registered for this program type, or load the program with another type"},
    {ErrorCode::KfuncArgument, "kfunc-argument",
     "a kfunc is called with an argument of the wrong kind: not trusted, possibly null, released already, ...",
     "pass pointers the kernel trusts (acquired references, tp_btf arguments) and check them against null first"},
}};

}  // namespace

const ErrorCodeInfo& error_code_info(ErrorCode code) {
    for (const auto& info : error_codes)
        if (info.code == code) return info;
    throw std::logic_error("error code missing from the table");
}

std::string_view error_code_name(ErrorCode code) { return error_code_info(code).name; }

std::optional<ErrorCode> error_code_from_name(std::string_view name) {
    for (const auto& info : error_codes)
        if (info.name == name) return info.code;
    return std::nullopt;
}

std::span<const ErrorCodeInfo> all_error_codes() { return error_codes; }

}  // namespace bpfvet::analyzer
