// Calls of kernel functions (kfuncs), as the kernel's check_kfunc_call and
// check_kfunc_args check them: the kfunc's row (flags, program types) from
// kfunc_table.hpp, its prototype from the kernel's BTF.
//
//   struct task_struct *t = bpf_task_from_pid(pid);   // KF_ACQUIRE | KF_RET_NULL
//   if (!t) return 0;                                   // r0: trusted task_struct or null, reference held
//   bpf_task_release(t);                                // KF_RELEASE: the reference ends, in every copy
//
// What is modelled: scalar arguments (`__k`: a known constant; `__ign`:
// anything), pointers to kernel structs (trusted ones for KF_TRUSTED_ARGS and
// KF_RCU: acquired references and the arguments of hooks the kernel trusts),
// acquire / release / return-null, scalar and struct-pointer results, open-coded
// iterators (transfer_iterator.cpp). What is not (dynptrs, allocated objects, graph nodes, memory and size
// pairs, RCU and preemption sections, sleepable kfuncs, ...) is refused with
// the kfunc's name: never accepted unchecked.
#include "analyzer/engine.hpp"
#include "analyzer/kfunc_table.hpp"
#include "ir/helper_names.hpp"

#include <fmt/format.h>

#include <array>

namespace bpfvet::analyzer::detail {
namespace {

// Kfuncs whose effect is more than their prototype says (sections that must
// be closed, state the verifier tracks, hook-specific filters): refused until
// modelled, with what they are.
struct UnmodelledKfunc {
    std::string_view name;
    std::string_view what;
};
constexpr auto unmodelled_kfuncs = std::to_array<UnmodelledKfunc>({
    {"__bpf_trap", "a trap the kernel ends the program with"},
    {"bpf_cast_to_kern_ctx", "casts of the context"},
    {"bpf_get_file_xattr", "file-system kfuncs (an LSM-only filter)"},
    {"bpf_get_task_exe_file", "file-system kfuncs (an LSM-only filter)"},
    {"bpf_iter_css_task_new", "css_task iterators (allowed in LSM, iter and sleepable programs only)"},
    {"bpf_local_irq_restore", "interrupt-disabled sections"},
    {"bpf_local_irq_save", "interrupt-disabled sections"},
    {"bpf_path_d_path", "file-system kfuncs (an LSM-only filter)"},
    {"bpf_preempt_disable", "preemption-disabled sections"},
    {"bpf_preempt_enable", "preemption-disabled sections"},
    {"bpf_put_file", "file-system kfuncs (an LSM-only filter)"},
    {"bpf_rcu_read_lock", "RCU read sections"},
    {"bpf_rcu_read_unlock", "RCU read sections"},
    {"bpf_rdonly_cast", "untrusted casts"},
    {"bpf_session_cookie", "kprobe session programs"},
    {"bpf_session_is_return", "kprobe session programs"},
    {"bpf_sock_destroy", "socket iterators (a hook filter)"},
    {"bpf_throw", "exceptions"},
});

// Structs that kfuncs take as special arguments (the kernel's
// KF_ARG_PTR_TO_DYNPTR, _LIST_HEAD, _RB_NODE, _ITER, _WORKQUEUE, ...).
bool is_special_struct(std::string_view name) {
    for (std::string_view special : {"bpf_dynptr", "bpf_list_head", "bpf_list_node", "bpf_rb_root", "bpf_rb_node",
                                     "bpf_refcount", "bpf_wq", "bpf_timer", "bpf_res_spin_lock", "bpf_spin_lock",
                                     "bpf_task_work", "bpf_crypto_params"})
        if (name == special) return true;
    return name.starts_with("bpf_iter_");
}

// The suffix of a parameter's name after "__" (the kernel's is_kfunc_arg_*
// annotations: "size__k" -> "k"), empty without one.
std::string_view annotation(std::string_view parameter) {
    const size_t at = parameter.rfind("__");
    return at == std::string_view::npos || at == 0 ? std::string_view() : parameter.substr(at + 2);
}

// The flags that put a kfunc out of the modelled part, with what they mean.
std::optional<std::string_view> unmodelled_by_flags(uint32_t flags) {
    using namespace kfunc_flag;
    if (flags & Sleepable) return "sleepable kfuncs";
    if (flags & Destructive) return "destructive kfuncs";
    if (flags & RcuProtected) return "kfuncs that need an RCU read section";
    if (flags & (ArenaReturn | ArenaArgument1 | ArenaArgument2)) return "arena kfuncs";
    return std::nullopt;
}

// Whether an object of struct `from` may be passed where struct `to` is
// expected: the same struct, or (non-strict) `to` nested as the first member
// at offset 0, as the kernel's btf_struct_ids_match walks it
// (struct bpf_cpumask begins with a struct cpumask).
bool struct_matches(const ir::KernelBtf& btf, uint32_t from, uint32_t to, bool strict) {
    for (int depth = 0; depth < 8; ++depth) {
        if (from == to) return true;
        if (strict) return false;
        auto members = btf.members(from);
        if (members.empty() || members.front().bit_offset != 0) return false;
        from = btf.skip_modifiers(members.front().type);
        auto type = btf.type(from);
        if (!type || (type->kind != ir::BtfKind::Struct && type->kind != ir::BtfKind::Union)) return false;
    }
    return false;
}

}  // namespace

void Engine::execute_kfunc_call(uint32_t pc, AbstractState& state) {
    const ir::Program::KfuncCall* call = program_.kfunc_call(pc);
    if (!call) {
        report(state, ErrorCode::UnknownKfunc, pc,
               fmt::format("kfunc call of BTF id {}: bpfvet knows kfuncs by the name the object declares "
                           "(`extern ... __ksym`), and this call has none",
                           program_.instructions[pc].imm),
               {});
        return;
    }
    const std::string& name = call->name;
    const KfuncDescription* kfunc = find_kfunc(name);
    if (!kfunc) {
        // A helper declared as an extern function comes here as a kfunc: name the mistake.
        if (ir::helper_id(name) && name.starts_with("bpf_"))
            report(state, ErrorCode::UnknownHelper, pc, ir::undefined_call_message(name), {});
        else
            report(state, ErrorCode::UnknownKfunc, pc,
                   fmt::format("unknown kfunc {}: Linux 6.18 has no such kernel function (libbpf would fail to "
                               "resolve it)",
                               name),
                   {});
        return;
    }
    if (options_.unprivileged) {
        report(state, ErrorCode::KfuncNotAllowed, pc,
               fmt::format("calling kernel function {} is not allowed for unprivileged programs", name), {});
        return;
    }
    if (!license_is_gpl_compatible(object_.license)) {
        report(state, ErrorCode::KfuncNotAllowed, pc,
               fmt::format("cannot call kernel function {} from a program whose license '{}' is not GPL-compatible",
                           name, object_.license),
               {});
        return;
    }
    if (!kfunc_allowed(*kfunc, type_)) {
        report(state, ErrorCode::KfuncNotAllowed, pc,
               fmt::format("calling kernel function {} is not allowed in {} programs (no kfunc set of its is "
                           "registered for them)",
                           name, ir::program_type_name(type_)),
               {});
        return;
    }
    if (state.lock()) {
        report(state, ErrorCode::SpinLock, pc,
               fmt::format("kernel function {} is called while the bpf_spin_lock taken at instruction {} is held",
                           name, state.lock()->pc),
               {});
        return;
    }
    auto unmodelled = [&](std::string_view what) {
        report(state, ErrorCode::UnmodelledKfunc, pc,
               fmt::format("kernel function {}: {} are not modelled yet; bpfvet cannot check this call", name, what),
               {});
    };
    if (auto what = unmodelled_by_flags(kfunc->flags)) return unmodelled(*what);
    for (const auto& entry : unmodelled_kfuncs)
        if (entry.name == name) return unmodelled(entry.what);
    if (!options_.kernel_btf) {
        report(state, ErrorCode::UnmodelledKfunc, pc,
               fmt::format("kernel function {} cannot be checked without the kernel's BTF for its prototype (give "
                           "--kernel-btf, or run where /sys/kernel/btf/vmlinux exists)",
                           name),
               {});
        return;
    }
    const ir::KernelBtf& btf = *options_.kernel_btf;
    const auto function = btf.find(ir::BtfKind::Function, name);
    const auto function_type = function ? btf.type(*function) : std::nullopt;
    const auto proto = function_type ? btf.type(function_type->type) : std::nullopt;
    if (!proto || proto->kind != ir::BtfKind::FunctionProto) {
        report(state, ErrorCode::UnknownKfunc, pc,
               fmt::format("kernel function {} is not in the kernel BTF '{}'", name, btf.origin()), {});
        return;
    }
    const std::vector<ir::BtfParam> parameters = btf.params(function_type->type);
    if (parameters.size() > 5 || (!parameters.empty() && parameters.back().type == 0)) {
        report(state, ErrorCode::UnmodelledKfunc, pc,
               fmt::format("kernel function {} takes more than 5 or variadic arguments", name), {});
        return;
    }

    // The arguments, as check_kfunc_args takes them one by one.
    using namespace kfunc_flag;
    const bool needs_trusted = (kfunc->flags & (TrustedArguments | Rcu)) != 0;
    const bool releases = (kfunc->flags & Release) != 0;
    const bool iterates = (kfunc->flags & (IteratorNew | IteratorNext | IteratorDestroy)) != 0;
    std::optional<std::pair<size_t, int16_t>> iterator_at;  // the iterator argument's (frame, offset)
    uint32_t iterator_type = 0;
    std::optional<int> released_reg;
    for (size_t i = 0; i < parameters.size(); ++i) {
        const int reg = int(i) + 1;
        const std::string_view note = annotation(parameters[i].name);
        if (note == "ign") continue;  // the kernel checks nothing about it
        if (!require_initialized(pc, state, reg)) return;
        const Value arg = state.reg(reg);
        const uint32_t type_id = btf.skip_modifiers(parameters[i].type);
        const auto type = btf.type(type_id);
        if (!type) return unmodelled("arguments of unknown BTF types");
        auto wrong = [&](ErrorCode code, std::string what) {
            report(state, code, pc,
                   fmt::format("argument {} ({}) of kernel function {} must be {}, but r{} is {}", reg,
                               parameters[i].name, name, what, reg, describe_value(arg, &object_)),
                   {reg});
        };
        const bool scalar_type = type->kind == ir::BtfKind::Int || type->kind == ir::BtfKind::Enum ||
                                 type->kind == ir::BtfKind::Enum64;
        if (scalar_type) {
            if (!note.empty() && note != "k") return unmodelled(fmt::format("'__{}' arguments", note));
            if (!arg.is_scalar()) return wrong(ErrorCode::KfuncArgument, "a number");
            if (note == "k" && !arg.number.constant_value()) return wrong(ErrorCode::KfuncArgument, "a known constant");
            continue;
        }
        if (type->kind != ir::BtfKind::Pointer) return unmodelled("arguments passed by value other than numbers");
        const uint32_t pointee_id = btf.skip_modifiers(type->type);
        const auto pointee = btf.type(pointee_id);
        const bool to_struct =
            pointee && (pointee->kind == ir::BtfKind::Struct || pointee->kind == ir::BtfKind::Union);
        if (!to_struct) return unmodelled("memory arguments (pointers to other than kernel structs)");
        if (iterates && i == 0 && pointee->name.starts_with("bpf_iter_")) {
            iterator_type = pointee_id;
            iterator_at = check_iterator_argument(pc, state, name, kfunc->flags, pointee_id);
            if (!iterator_at) return;
            continue;
        }
        if (is_special_struct(pointee->name))
            return unmodelled(fmt::format("'struct {}' arguments", pointee->name));
        const bool nullable = note == "nullable";
        if (!note.empty() && !nullable) return unmodelled(fmt::format("'__{}' arguments", note));
        if (nullable && arg.is_constant(0)) continue;
        const std::string expected = fmt::format("a pointer to kernel 'struct {}'", pointee->name);
        if (!arg.is_pointer(PointerKind::BtfObject)) return wrong(ErrorCode::KfuncArgument, expected);
        if (arg.maybe_null && !nullable)
            return wrong(ErrorCode::KfuncArgument, expected + " checked against null (possibly NULL pointer passed)");
        if (arg.memory_tag != 0) return wrong(ErrorCode::KfuncArgument, expected + " in kernel memory");
        if (arg.number.constant_value() != 0)
            return wrong(ErrorCode::KfuncArgument, expected + " at offset 0 (the object itself)");
        const bool referenced = arg.id != 0 && state.holds_reference(arg.id);
        if (!struct_matches(btf, arg.region, pointee_id, releases && referenced))
            return wrong(ErrorCode::KfuncArgument, expected);
        if (needs_trusted && !(arg.trusted || referenced))
            return wrong(ErrorCode::KfuncArgument,
                         expected + ((kfunc->flags & Rcu) ? " that is trusted or RCU-protected (an acquired "
                                                            "reference, or an argument the kernel trusts)"
                                                          : " that is trusted (an acquired reference, or an argument "
                                                            "the kernel trusts)"));
        if (releases && referenced) {
            if (released_reg) return wrong(ErrorCode::KfuncArgument, "the only referenced argument");
            released_reg = reg;
        }
    }
    if (iterates && !iterator_at) return unmodelled("iterator kfuncs whose first argument is not an iterator");
    if (releases && !released_reg) {
        report(state, ErrorCode::KfuncArgument, pc,
               fmt::format("release kernel function {} expects a referenced pointer (from an acquiring kfunc, not "
                           "released yet): none of its arguments holds a reference here",
                           name),
               {1});
        return;
    }

    // The result, before the release: an acquiring kfunc that also releases
    // (bpf_ct_insert_entry) hands over the argument's object.
    const uint32_t return_id = btf.skip_modifiers(proto->type);
    const auto return_type = btf.type(return_id);
    Value result = Value::uninitialized();  // void: r0 is not set
    if (return_id != 0) {
        if (!return_type) return unmodelled("results of unknown BTF types");
        const bool scalar_type = return_type->kind == ir::BtfKind::Int || return_type->kind == ir::BtfKind::Enum ||
                                 return_type->kind == ir::BtfKind::Enum64;
        if (scalar_type) {
            result = Value::unknown_scalar();
        } else if (return_type->kind == ir::BtfKind::Pointer) {
            const uint32_t pointee_id = btf.skip_modifiers(return_type->type);
            const auto pointee = btf.type(pointee_id);
            const bool to_struct =
                pointee && (pointee->kind == ir::BtfKind::Struct || pointee->kind == ir::BtfKind::Union);
            const bool to_number = pointee && pointee->kind == ir::BtfKind::Int;
            if ((kfunc->flags & IteratorNext) && (to_struct || to_number)) {
                // An element: memory the size of the number (bpf_iter_num_next's int *),
                // or a trusted kernel object borrowed for this iteration.
                result = to_struct ? Value::make_pointer(PointerKind::BtfObject, pointee_id, Scalar::constant(0), true)
                                   : Value::make_pointer(PointerKind::Memory, pointee->size, Scalar::constant(0), true);
                result.trusted = to_struct;
                result.maybe_null = true;
                if (!apply_iterator_kfunc(pc, state, name, kfunc->flags, iterator_type, *iterator_at)) return;
                for (int r = 1; r <= 5; ++r) state.reg(r) = Value::uninitialized();
                state.reg(0) = result;
                return;
            }
            if (!to_struct) return unmodelled("results that are memory (pointers to other than kernel structs)");
            // Without KF_ACQUIRE a struct pointer is borrowed (list and rbtree
            // nodes, kmem caches): its lifetime rules are not modelled.
            if (!(kfunc->flags & Acquire)) return unmodelled("borrowed kernel objects returned without a reference");
            const uint32_t id = (pc << 2 | uint32_t(IdTag::Lookup)) + 1;  // what fresh_id gives here
            if (state.holds_reference(id)) {
                report(state, ErrorCode::UnreleasedReference, pc,
                       fmt::format("the reference taken here on an earlier iteration (id {}) is still held when "
                                   "kernel function {} runs again",
                                   id, name),
                       {});
                return;
            }
            const uint32_t fresh = fresh_id(state, pc, IdTag::Lookup);
            state.acquire_reference(Reference{fresh, pc});
            result = Value::make_pointer(PointerKind::BtfObject, pointee_id, Scalar::constant(0),
                                         (kfunc->flags & ReturnsNull) != 0, fresh);
            result.trusted = true;
        } else {
            return unmodelled("results passed by value other than numbers");
        }
    }
    if (released_reg) {
        const uint32_t id = state.reg(*released_reg).id;
        state.release_reference(id);
        // The object is gone after the release, in every copy.
        state.update_copies(id, [](Value& v) { v = Value::unknown_scalar(); });
    }
    if (iterator_at && !apply_iterator_kfunc(pc, state, name, kfunc->flags, iterator_type, *iterator_at)) return;
    for (int r = 1; r <= 5; ++r) state.reg(r) = Value::uninitialized();
    state.reg(0) = result;
}

}  // namespace bpfvet::analyzer::detail
