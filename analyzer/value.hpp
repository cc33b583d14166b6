// What the analyzer knows about one register or spilled stack slot: nothing
// yet (uninitialized), a number (a domains::Scalar), or a pointer with its kind,
// region, offset and nullness.
//
//   r1 at entry of an XDP program:  pointer to context, offset 0
//   r0 after bpf_map_lookup_elem:   pointer to map value (map 2) or null, offset 0, id 7
//   r2 = r10; r2 += -8:             pointer to stack (frame 0), offset -8
#pragma once

#include "domains/scalar.hpp"
#include "ir/program.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bpfvet::analyzer {

using domains::Scalar;

enum class ValueKind : uint8_t {
    Uninitialized,
    Scalar,
    Pointer,
    // A pointer on some paths and a number (or another pointer) on others: it
    // may be copied, spilled or passed where anything goes, never dereferenced.
    Mixed,
};

enum class PointerKind : uint8_t {
    Context,
    Stack,          // region = frame index
    MapValue,       // region = map index
    MapPointer,     // region = map index (the map itself, for helpers)
    Packet,         // region = packet base id (0: start of the packet)
    PacketEnd,
    PacketMeta,
    RingbufMemory,  // region = size of the reserved record
    Socket,         // struct bpf_sock; region = SocketCommon: only its struct sock_common part
    // A kernel object typed by BTF (fentry/fexit/tp_btf/lsm arguments and the
    // pointers loaded through them): region = the struct's or union's type id
    // in the kernel BTF, offset a number. Loads only; the kernel handles faults
    // of these loads, so they need no null check (maybe_null only for
    // arguments the kernel marks nullable).
    BtfObject,
    // A function of the program (LDDW of a function: a callback for bpf_loop):
    // region = its index in Program::functions. Passed to helpers only.
    Function,
    // Memory of `region` bytes that a global function's pointer argument
    // points to (the kernel's PTR_TO_MEM): typed from BTF, it may be null.
    Memory,
    // The key a map callback is handed (bpf_for_each_map_elem, timers; the
    // kernel's PTR_TO_MAP_KEY): region = map index; read-only, key_size bytes.
    MapKey,
};

// The region of a Socket pointer that is only a struct sock_common
// (__sk_buff->sk, bpf_skc_lookup_tcp): the fields of a full socket (type,
// protocol, mark, priority) need bpf_sk_fullsock() first.
inline constexpr uint32_t SocketCommon = 1;

enum class EndRelation : uint8_t { Unknown, AtOrPast, Past };

struct Value {
    ValueKind kind = ValueKind::Uninitialized;
    PointerKind pointer = PointerKind::Context;
    bool maybe_null = false;
    // BtfObject: __user or __percpu memory (BtfMemoryTag bits), which the
    // kernel refuses to dereference. (Placed in padding.)
    uint8_t memory_tag = 0;
    // Packet pointers known to lie at or past the packet end on this path
    // (the kernel's AT_PKT_END / BEYOND_PKT_END after `p >= end` / `p > end`):
    // a second test of the same pointer is then decided. (Placed in padding.)
    EndRelation end_relation = EndRelation::Unknown;
    // Numbers with an id: this value is the id's base value plus `delta`, at
    // 64 bits, or (delta_half) in the low 32 bits, zero-extended: `w7 = w4;
    // w7 -= 54` makes r7 the base r4 minus 54. A bound learned on one linked
    // value then bounds the others (the kernel's BPF_ADD_CONST links, 6.11 on).
    bool delta_half = false;
    // BtfObject: an object the kernel trusts (PTR_TRUSTED or a reference the
    // program holds): one acquired from a kfunc, or an argument of a hook whose
    // arguments the kernel trusts (tp_btf, iter). Kfuncs with KF_TRUSTED_ARGS or
    // KF_RCU accept only these; pointers loaded from them are not. (Placed in padding.)
    bool trusted = false;
    // For numbers read from argument N of a BTF-typed program that no kernel
    // BTF typed: N + 1, so that dereferencing one can say why (message only;
    // joins and comparisons ignore it). For pointers see PointerKind.
    uint32_t region = 0;
    // Copies of one value share an id: a bound or null check learned on one
    // copy holds for every copy (0: no known copies).
    uint32_t id = 0;
    // Ghost for the termination proof of a widened loop (fixpoint.cpp): when
    // `origin` is nonzero, this number (or offset) equals the value tagged
    // `origin` at the loop head plus a step in [step_min, step_max], every
    // addition on the way made without wrapping around. `i += 1` on a value
    // tagged with step 0 gives step 1; anything but constant additions drops
    // the tag. It never influences a verdict except that proof. (Placed here
    // and 32-bit to fill padding: Value is copied everywhere.)
    uint32_t origin = 0;
    int32_t step_min = 0;
    int32_t step_max = 0;
    int32_t delta = 0;
    // For map and map-value pointers that may refer to one of several maps
    // (paths choosing between maps were merged): a mask of the map indices,
    // region being the lowest. 0 when there is just `region`.
    uint64_t maps = 0;
    Scalar number = Scalar::top();  // the scalar's value, or the pointer's offset

    static Value uninitialized() { return Value{}; }
    static Value mixed() { return Value{ValueKind::Mixed}; }
    static Value scalar(const Scalar& number) {
        Value v;
        v.kind = ValueKind::Scalar;
        v.number = number;
        return v;
    }
    static Value unknown_scalar() { return scalar(Scalar::top()); }
    static Value constant(uint64_t c) { return scalar(Scalar::constant(c)); }
    static Value make_pointer(PointerKind kind, uint32_t region, const Scalar& offset, bool maybe_null = false,
                              uint32_t id = 0) {
        Value v;
        v.kind = ValueKind::Pointer;
        v.pointer = kind;
        v.region = region;
        v.number = offset;
        v.maybe_null = maybe_null;
        v.id = id;
        return v;
    }

    [[nodiscard]] bool is_uninitialized() const { return kind == ValueKind::Uninitialized; }
    [[nodiscard]] bool is_scalar() const { return kind == ValueKind::Scalar; }
    [[nodiscard]] bool is_pointer() const { return kind == ValueKind::Pointer; }
    [[nodiscard]] bool is_pointer(PointerKind k) const { return kind == ValueKind::Pointer && pointer == k; }
    [[nodiscard]] bool is_constant(uint64_t c) const {
        return is_scalar() && number.constant_value() == c;
    }
};

// The maps a map or map-value pointer may refer to.
[[nodiscard]] std::vector<uint32_t> maps_of(const Value& pointer);
[[nodiscard]] uint64_t map_mask(const Value& pointer);  // 0 when some index is >= 64

[[nodiscard]] bool same_scalar(const Scalar& a, const Scalar& b);
// Whether two values are the same link (id, delta and its width) of one base value.
[[nodiscard]] inline bool same_link(const Value& a, const Value& b) {
    return a.id == b.id && a.delta == b.delta && a.delta_half == b.delta_half;
}
// What `known` (a value of `from`'s link, now known to be `range`) says of the
// value `to` linked to it: nullopt when the link cannot tell (a 64-bit value
// from a 32-bit one).
[[nodiscard]] std::optional<Scalar> linked_range(const Scalar& range, const Value& from, const Value& to);
[[nodiscard]] bool same_value(const Value& a, const Value& b);
// Over-approximates both; ids survive only when both sides agree. Packet bases
// are reconciled by the caller (AbstractState::join) before values are joined.
[[nodiscard]] Value join_values(const Value& a, const Value& b);
[[nodiscard]] bool value_leq(const Value& a, const Value& b);
// value_leq for two values of the same kind, neither uninitialized nor Mixed,
// without comparing their ids and links (pruning maps ids on its own).
[[nodiscard]] bool value_leq_ignoring_links(const Value& a, const Value& b);
// `a` widened by `next` (a loop head's next iterate): like join_values, with
// numbers and offsets widened to the thresholds so that iteration stops.
[[nodiscard]] Value widen_values(const Value& a, const Value& next, const domains::Thresholds& thresholds);
// `a` narrowed by `next` (a new iterate below it): numbers and offsets of the
// same kind of value meet; otherwise `a` stays.
[[nodiscard]] Value narrow_values(const Value& a, const Value& next);
// Follows `value` + `amount` (or - `amount`) in the ghost (see Value::origin):
// `value` is the operand before the operation, `result` the value after it,
// computed at 64 bits (`half` false) or on the low 32 bits. Drops the tag
// unless no member can wrap around.
void step_origin(const Value& value, const Scalar& amount, bool subtract, bool half, Value& result);
[[nodiscard]] std::string_view pointer_kind_name(PointerKind kind);
// In plain words, e.g. "pointer to map value of 'counters' (or null), offset 0".
[[nodiscard]] std::string describe_value(const Value& value, const ir::Object* object);
[[nodiscard]] bool can_be_null(PointerKind kind);

}  // namespace bpfvet::analyzer
