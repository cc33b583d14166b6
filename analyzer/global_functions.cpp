// Global functions (BTF FUNC linkage global), as the kernel verifies them:
// once, on their own, with arguments typed from their BTF prototype (an
// integer is an unknown number, a pointer to the program's context struct is
// the context, any other pointer is memory of the pointee's size that may be
// null); each call is checked only against that prototype and returns an
// unknown number. Static functions stay analysed in their caller's context.
//
//   int sum(struct pair *p) { return p->a + p->b; }   // global
//   "R1 invalid mem access 'mem_or_null'": p may be null whoever calls it.
#include "analyzer/engine.hpp"

#include "analyzer/context_argument.hpp"
#include "analyzer/helper_table.hpp"

#include <fmt/format.h>

#include <variant>

namespace bpfvet::analyzer::detail {

namespace {

constexpr int32_t tail_call_helper = 12;
constexpr size_t max_arguments = 5;

bool is_legacy_packet_load(const ir::Instruction& insn) {
    return insn.cls() == ir::InstructionClass::Ld && !insn.is_lddw();
}

// What a parameter's BTF type makes of the argument register.
struct ArgumentType {
    enum class Kind : uint8_t { Number, Context, Memory };
    Kind kind = Kind::Number;
    uint32_t size = 0;      // Memory: bytes the callee may read and write
    bool non_null = false;  // Memory tagged arg:nonnull: callers must pass a valid pointer
};

// The type, or why the kernel refuses the prototype (btf_prepare_func_args).
std::variant<ArgumentType, std::string> argument_type(const ir::FunctionParameter& parameter, size_t index,
                                                      const std::optional<ContextDescriptor>& context,
                                                      ir::ProgramType type, std::optional<BtfAttachKind> attach) {
    using Kind = ir::FunctionParameter::Kind;
    using Parameter = ir::FunctionParameter;
    const uint8_t tags = parameter.tags;
    if (tags & Parameter::TagUnknown)
        return fmt::format("argument {} has an \"arg:\" tag the kernel does not know (\"arg#{} has unsupported set of "
                           "tags\")",
                           index + 1, index);
    if (parameter.kind != Kind::Pointer && tags != 0)
        return fmt::format("argument {} has a pointer tag but is not a pointer (the kernel's \"arg#{} has pointer tag, "
                           "but is not a pointer type\")",
                           index + 1, index);
    switch (parameter.kind) {
    case Kind::Scalar: return ArgumentType{ArgumentType::Kind::Number, 0};
    case Kind::Other:
        return fmt::format("argument {} is neither an integer nor a pointer, which the kernel does not support",
                           index + 1);
    case Kind::Pointer: break;
    }
    const bool is_context =
        context && (parameter.pointee_struct == context->struct_name || parameter.pointee_name == context->struct_name ||
                    (type == ir::ProgramType::Kprobe && parameter.pointee_name == "bpf_user_pt_regs_t"));
    if (tags & Parameter::TagContext) {
        if (tags != Parameter::TagContext)
            return fmt::format("argument {} combines arg:ctx with other tags (the kernel's \"arg#{} has invalid "
                               "combination of tags\")",
                               index + 1, index);
        if (auto problem = context_argument_problem(parameter, index, type, attach)) return *problem;
        if (!context)
            return fmt::format("argument {} is tagged arg:ctx, but the context of this program type is not modelled",
                               index + 1);
        return ArgumentType{ArgumentType::Kind::Context, 0};
    }
    if (is_context) return ArgumentType{ArgumentType::Kind::Context, 0};
    if (tags & (Parameter::TagTrusted | Parameter::TagUntrusted | Parameter::TagArena))
        return fmt::format("argument {} is tagged {}, a kernel-object or arena pointer, which bpfvet does not model yet",
                           index + 1,
                           tags & Parameter::TagTrusted     ? "arg:trusted"
                           : tags & Parameter::TagUntrusted ? "arg:untrusted"
                                                            : "arg:arena");
    if (!parameter.pointee_size)
        return fmt::format("argument {} points to '{}', whose size cannot be determined (the kernel's \"reference "
                           "type size cannot be determined\")",
                           index + 1, parameter.pointee_name.empty() ? "void" : parameter.pointee_name);
    return ArgumentType{ArgumentType::Kind::Memory, *parameter.pointee_size, (tags & Parameter::TagNonNull) != 0};
}

}  // namespace

std::optional<uint32_t> Engine::callee_at(uint32_t pc) const {
    const ir::Instruction& insn = program_.instructions[pc];
    const int64_t target = int64_t(pc) + insn.imm + 1;
    for (size_t f = 0; f < program_.functions.size(); ++f)
        if (program_.functions[f].start == target) return uint32_t(f);
    return std::nullopt;
}

bool Engine::summarize_call(uint32_t pc) const {
    const auto callee = callee_at(pc);
    return callee && *callee != 0 && program_.functions[*callee].global;
}

void Engine::call_global_function(uint32_t pc, uint32_t callee, AbstractState& state) {
    const ir::Function& function = program_.functions[callee];
    if (function.parameters.size() > max_arguments) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("global function {} takes {} arguments; the kernel allows at most {}", function.name,
                           function.parameters.size(), max_arguments),
               {});
        return;
    }
    for (size_t i = 0; i < function.parameters.size(); ++i) {
        const int reg = int(i) + 1;
        auto typed = argument_type(function.parameters[i], i, context_, type_, btf_kind_);
        if (auto* why = std::get_if<std::string>(&typed)) {
            report(state, ErrorCode::HelperArgument, pc, fmt::format("global function {}: {}", function.name, *why),
                   {});
            return;
        }
        if (!require_initialized(pc, state, reg)) return;
        const Value argument = state.reg(reg);
        auto wrong = [&](std::string_view what) {
            report(state, ErrorCode::HelperArgument, pc,
                   fmt::format("argument {} of global function {} must be {}, but r{} is {}", reg, function.name, what,
                               reg, describe_value(argument, &object_)),
                   {reg});
        };
        const ArgumentType type = std::get<ArgumentType>(typed);
        switch (type.kind) {
        case ArgumentType::Kind::Number:
            if (!argument.is_scalar()) return wrong("a number (its BTF type is an integer)");
            break;
        case ArgumentType::Kind::Context:
            if (!argument.is_pointer(PointerKind::Context) || argument.number.constant_value() != 0)
                return wrong("the unmodified context pointer");
            break;
        case ArgumentType::Kind::Memory: {
            if (type.non_null && (argument.is_constant(0) || (argument.is_pointer() && argument.maybe_null)))
                return wrong(fmt::format("a valid pointer to {} bytes, never null (the parameter is tagged arg:nonnull)",
                                         type.size));
            if (argument.is_constant(0)) break;  // null: the callee checks for it
            if (!argument.is_pointer())
                return wrong(fmt::format("null or a pointer to {} bytes the function may read and write", type.size));
            // As the kernel's check_mem_reg: a pointer that may be null is
            // checked as if it were not; the callee reads and writes the bytes.
            state.reg(reg).maybe_null = false;
            if (!access_memory(pc, state, reg, 0, type.size, Access::Read, nullptr, true)) return;
            if (!access_memory(pc, state, reg, 0, type.size, Access::Write, nullptr, true)) return;
            state.reg(reg) = argument;
            break;
        }
        }
    }
    for (int r = 1; r <= 5; ++r) state.reg(r) = Value::uninitialized();
    state.reg(0) = Value::unknown_scalar();
    if (changes_packet_data_[callee]) state.invalidate_packet_pointers();
}

void Engine::analyze_global_functions() {
    for (uint32_t f = 1; f < program_.functions.size() && !aborted_; ++f) {
        const ir::Function& function = program_.functions[f];
        if (!function.global) continue;
        AbstractState entry = AbstractState::entry(f);
        entry.reg(10) = Value::make_pointer(PointerKind::Stack, 0, Scalar::constant(0));
        bool typed = function.parameters.size() <= max_arguments;
        for (size_t i = 0; i < function.parameters.size() && typed; ++i) {
            auto type = argument_type(function.parameters[i], i, context_, type_, btf_kind_);
            if (std::holds_alternative<std::string>(type)) {
                typed = false;  // every call of it is refused already
                break;
            }
            const ArgumentType& argument = std::get<ArgumentType>(type);
            Value& reg = entry.reg(int(i) + 1);
            switch (argument.kind) {
            case ArgumentType::Kind::Number: reg = Value::unknown_scalar(); break;
            case ArgumentType::Kind::Context:
                reg = Value::make_pointer(PointerKind::Context, 0, Scalar::constant(0));
                break;
            case ArgumentType::Kind::Memory:
                reg = argument.non_null
                          ? Value::make_pointer(PointerKind::Memory, argument.size, Scalar::constant(0))
                          : Value::make_pointer(PointerKind::Memory, argument.size, Scalar::constant(0), true,
                                                fresh_id(entry, function.start + uint32_t(i), IdTag::Lookup));
                break;
            }
        }
        if (typed) (void)analyze_function(f, entry);
    }
}

bool Engine::check_subprogram_rules() {
    // Which functions change packet data themselves, then through their calls.
    const size_t count = program_.functions.size();
    changes_packet_data_.assign(count, false);
    std::vector<std::vector<uint32_t>> callees(count);
    bool ok = true;
    AbstractState none = AbstractState::bottom();
    for (uint32_t f = 0; f < count; ++f) {
        const ir::Function& function = program_.functions[f];
        for (uint32_t pc = function.start; pc < function.end && pc < program_.instructions.size(); ++pc) {
            const ir::Instruction& insn = program_.instructions[pc];
            const bool tail_call = insn.is_helper_call() && insn.imm == tail_call_helper;
            if (tail_call || (insn.is_helper_call() && helper_changes_packet_data(insn.imm)))
                changes_packet_data_[f] = true;
            if (insn.is_local_call())
                if (auto callee = callee_at(pc)) callees[f].push_back(*callee);
            if (f == 0 || program_.function_info) continue;
            // The kernel's check_subprogs: without func_info it cannot tell
            // these subprograms' frames apart safely.
            if (tail_call || is_legacy_packet_load(insn)) {
                report(none, ErrorCode::InvalidInstruction, pc,
                       fmt::format("{} is not allowed in a subprogram ({}) of a program loaded without BTF; the kernel "
                                   "refuses it (\"{} is not allowed in subprogs without BTF\")",
                                   tail_call ? "bpf_tail_call" : "a legacy packet load (LD_ABS/LD_IND)", function.name,
                                   tail_call ? "tail_call" : "LD_ABS"),
                       {});
                ok = false;
            }
        }
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (uint32_t f = 0; f < count; ++f) {
            if (changes_packet_data_[f]) continue;
            for (uint32_t callee : callees[f]) {
                if (!changes_packet_data_[callee]) continue;
                changes_packet_data_[f] = true;
                changed = true;
                break;
            }
        }
    }
    return ok;
}

}  // namespace bpfvet::analyzer::detail
