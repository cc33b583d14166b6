// Open-coded iterators, as the kernel's process_iter_arg checks them: the
// iterator is a struct on the stack (analyzer/state.hpp StackObject) that its
// `_new` kfunc creates on bytes holding no iterator, its `_next` and
// `_destroy` kfuncs use only where one of their type was created, and that
// holds a reference from `_new` to `_destroy`:
//
//   struct bpf_iter_num it;
//   bpf_iter_num_new(&it, 0, 10);        // fp-8: iterator bpf_iter_num, active, reference held
//   while ((v = bpf_iter_num_next(&it)))  // the exploration splits here (explorer.cpp)
//       sum += *v;
//   bpf_iter_num_destroy(&it);           // gone; the reference is released
//
// Loads, stores and helpers never touch its bytes (access_memory refuses them).
#include "analyzer/engine.hpp"
#include "analyzer/kfunc_table.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::detail {

bool Engine::is_iterator_next(uint32_t pc) const {
    if (pc >= program_.instructions.size() || !program_.instructions[pc].is_kfunc_call()) return false;
    const ir::Program::KfuncCall* call = program_.kfunc_call(pc);
    const KfuncDescription* kfunc = call ? find_kfunc(call->name) : nullptr;
    return kfunc != nullptr && (kfunc->flags & kfunc_flag::IteratorNext) != 0;
}

std::optional<std::pair<size_t, int16_t>> Engine::check_iterator_argument(uint32_t pc, AbstractState& state,
                                                                          std::string_view kfunc, uint32_t flags,
                                                                          uint32_t iterator) {
    if (!require_initialized(pc, state, 1)) return std::nullopt;
    const ir::KernelBtf& btf = *options_.kernel_btf;
    const auto type = btf.type(iterator);
    const std::string name = type ? std::string(type->name) : std::string("bpf_iter");
    const int64_t size = type ? int64_t(type->size) : 0;
    const std::string kernel_name = name.starts_with("bpf_") ? name.substr(4) : name;  // the kernel says "iter_num"
    const Value arg = state.reg(1);
    auto wrong = [&](std::string what) {
        report(state, ErrorCode::KfuncArgument, pc,
               fmt::format("argument 1 of kernel function {} must be {}, but r1 is {}", kfunc, what,
                           describe_value(arg, &object_)),
               {1});
        return std::nullopt;
    };
    const auto offset = arg.number.constant_value();
    if (!arg.is_pointer(PointerKind::Stack) || arg.maybe_null || !offset)
        return wrong(fmt::format("a pointer to a struct {} on the stack, at a constant offset", name));
    const int64_t lo = int64_t(*offset);
    if (size <= 0 || size % 8 != 0) return wrong(fmt::format("a struct {} of whole 8-byte slots", name));
    if (lo % 8 != 0)
        return wrong(fmt::format("a struct {} at an offset that is a multiple of 8 (the kernel: cannot pass in "
                                 "iter at an offset={})",
                                 name, lo));
    if (lo < -StackBytes || lo + size > 0)
        return wrong(fmt::format("a struct {} ({} bytes) inside the stack frame", name, size));
    Frame& frame = state.frame(arg.region);
    const std::pair where{size_t(arg.region), int16_t(lo)};
    if (flags & kfunc_flag::IteratorNew) {
        if (const StackObject* there = frame.object_overlapping(lo, lo + size)) {
            report(state, ErrorCode::KfuncArgument, pc,
                   fmt::format("kernel function {} creates an iterator over fp{}..fp{}, but fp{}..fp{} already hold "
                               "an iterator (id {}) that was not destroyed (the kernel: expected uninitialized {} "
                               "as arg #0)",
                               kfunc, lo, lo + size, there->offset, there->offset + there->size, there->id,
                               kernel_name),
                   {1});
            return std::nullopt;
        }
        // The kernel writes the slots as the kfunc would (stack depth, spills overwritten).
        if (!access_memory(pc, state, 1, 0, size, Access::Write, nullptr)) return std::nullopt;
        return where;
    }
    StackObject* object = frame.object_at(lo);
    if (object == nullptr || object->kind != StackObjectKind::Iterator || object->type != iterator ||
        object->size != size) {
        report(state, ErrorCode::KfuncArgument, pc,
               fmt::format("kernel function {} needs a struct {} created by its _new kfunc and not destroyed, but "
                           "fp{}..fp{} hold {} (the kernel: expected an initialized {} as arg #0)",
                           kfunc, name, lo, lo + size,
                           object == nullptr ? std::string("none") : fmt::format("another object (id {})", object->id),
                           kernel_name),
               {1});
        return std::nullopt;
    }
    frame.depth = std::max<int32_t>(frame.depth, int32_t(-lo));
    stack_accesses_.push_back(StackAccess{uint32_t(arg.region), lo, lo + size, false, false});
    return where;
}

bool Engine::apply_iterator_kfunc(uint32_t pc, AbstractState& state, std::string_view kfunc, uint32_t flags,
                                  uint32_t iterator, std::pair<size_t, int16_t> where) {
    Frame& frame = state.frame(where.first);
    if (flags & kfunc_flag::IteratorNew) {
        const uint32_t id = (pc << 2 | uint32_t(IdTag::Lookup)) + 1;  // what fresh_id gives here
        if (state.holds_reference(id)) {
            report(state, ErrorCode::UnreleasedReference, pc,
                   fmt::format("the iterator {} created here on an earlier iteration (id {}) is still alive when it "
                               "runs again: destroy it first",
                               kfunc, id),
                   {});
            return false;
        }
        const uint32_t fresh = fresh_id(state, pc, IdTag::Lookup);
        state.acquire_reference(Reference{fresh, pc});
        const auto type = options_.kernel_btf->type(iterator);
        StackObject object;
        object.offset = where.second;
        object.size = uint16_t(type ? type->size : 8);
        object.type = iterator;
        object.id = fresh;
        frame.add_object(object);
        return true;
    }
    StackObject* object = frame.object_at(where.second);
    if (flags & kfunc_flag::IteratorNext) {
        iterator_next_ = where;
        return true;
    }
    // Destroy: the reference ends and the bytes are nobody's (the kernel's STACK_INVALID).
    state.release_reference(object->id);
    for (int64_t o = object->offset; o < object->offset + object->size; ++o) frame.initialized.reset(size_t(o + StackBytes));
    frame.remove_object(where.second);
    return true;
}

}  // namespace bpfvet::analyzer::detail
