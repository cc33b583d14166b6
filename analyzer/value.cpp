#include "analyzer/value.hpp"

#include <fmt/format.h>

#include <tuple>
#include <utility>

namespace bpfvet::analyzer {

std::vector<uint32_t> maps_of(const Value& pointer) {
    if (pointer.maps == 0) return {pointer.region};
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < 64; ++i)
        if ((pointer.maps >> i) & 1) out.push_back(i);
    return out;
}

uint64_t map_mask(const Value& pointer) {
    if (pointer.maps != 0) return pointer.maps;
    return pointer.region < 64 ? uint64_t(1) << pointer.region : 0;
}

bool same_scalar(const Scalar& a, const Scalar& b) { return a.leq(b) && b.leq(a); }

bool same_value(const Value& a, const Value& b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case ValueKind::Uninitialized:
    case ValueKind::Mixed: return true;
    case ValueKind::Scalar: return same_link(a, b) && same_scalar(a.number, b.number);
    case ValueKind::Pointer:
        return a.pointer == b.pointer && a.region == b.region && a.maps == b.maps && a.maybe_null == b.maybe_null &&
               a.memory_tag == b.memory_tag && a.trusted == b.trusted && a.end_relation == b.end_relation && a.id == b.id &&
               same_scalar(a.number, b.number);
    }
    return false;
}

std::optional<Scalar> linked_range(const Scalar& range, const Value& from, const Value& to) {
    // to = from + (to.delta - from.delta), in the width of `to`'s link. A
    // 64-bit value follows from a 32-bit link only when it fits in 32 bits
    // (then it is its own low half, zero-extended).
    const bool to_fits_half = to.delta_half || to.number.umax() <= 0xffffffffULL;
    if (from.delta_half && !to_fits_half) return std::nullopt;
    const int64_t shift = int64_t(to.delta) - int64_t(from.delta);
    const domains::OperandWidth width =
        to.delta_half || from.delta_half ? domains::OperandWidth::Half : domains::OperandWidth::Full;
    if (shift == 0 && from.delta_half == to.delta_half) return range;
    return domains::apply(domains::BinaryOp::Add, range, Scalar::constant(uint64_t(shift)), width);
}

bool can_be_null(PointerKind kind) {
    return kind == PointerKind::MapValue || kind == PointerKind::MapPointer || kind == PointerKind::RingbufMemory ||
           kind == PointerKind::Memory || kind == PointerKind::Socket || kind == PointerKind::BtfObject;
}

namespace {

Value join_shapes(const Value& a, const Value& b) {
    if (a.is_uninitialized() || b.is_uninitialized()) return Value::uninitialized();
    if (a.kind == ValueKind::Mixed || b.kind == ValueKind::Mixed) return Value::mixed();
    if (a.is_scalar() && b.is_scalar()) {
        Value v = Value::scalar(a.number.join(b.number));
        if (same_link(a, b)) v.id = a.id, v.delta = a.delta, v.delta_half = a.delta_half;
        return v;
    }
    if (a.is_pointer() && b.is_pointer()) {
        const bool map_kind = a.pointer == PointerKind::MapPointer || a.pointer == PointerKind::MapValue;
        if (map_kind && a.pointer == b.pointer && (a.region != b.region || a.maps != b.maps)) {
            uint64_t ma = map_mask(a), mb = map_mask(b);
            if (ma == 0 || mb == 0) return Value::mixed();
            uint64_t mask = ma | mb;
            Value v = Value::make_pointer(a.pointer, uint32_t(__builtin_ctzll(mask)), a.number.join(b.number),
                                          a.maybe_null || b.maybe_null, a.id == b.id ? a.id : 0);
            v.maps = __builtin_popcountll(mask) > 1 ? mask : 0;
            return v;
        }
        // Pointers to different kernel structs (or memory tags) are different targets.
        if (a.pointer != b.pointer || a.region != b.region || a.memory_tag != b.memory_tag) return Value::mixed();
        Value v = Value::make_pointer(a.pointer, a.region, a.number.join(b.number), a.maybe_null || b.maybe_null,
                                      a.id == b.id ? a.id : 0);
        v.memory_tag = a.memory_tag;
        v.trusted = a.trusted && b.trusted;  // trusted only if trusted on both paths
        v.end_relation = std::min(a.end_relation, b.end_relation);  // what both paths know
        return v;
    }
    // A pointer on one side, the constant 0 on the other: the pointer or null,
    // as in `p = found ? lookup(...) : NULL`.
    const Value& pointer = a.is_pointer() ? a : b;
    const Value& number = a.is_pointer() ? b : a;
    if (number.is_constant(0) && can_be_null(pointer.pointer) && pointer.number.constant_value() == 0) {
        Value v = pointer;
        v.maybe_null = true;
        v.id = 0;
        return v;
    }
    return Value::mixed();
}

// The ghost survives a join when both sides follow the same origin.
void join_origin(const Value& a, const Value& b, Value& out) {
    if (a.origin != 0 && a.origin == b.origin && out.kind == a.kind) {
        out.origin = a.origin;
        out.step_min = std::min(a.step_min, b.step_min);
        out.step_max = std::max(a.step_max, b.step_max);
    } else {
        out.origin = 0;
        out.step_min = out.step_max = 0;
    }
}

bool same_pointer_target(const Value& a, const Value& b) {
    return a.is_pointer() && b.is_pointer() && a.pointer == b.pointer && a.region == b.region && a.maps == b.maps &&
           a.memory_tag == b.memory_tag;
}

}  // namespace

Value join_values(const Value& a, const Value& b) {
    Value out = join_shapes(a, b);
    join_origin(a, b, out);
    return out;
}

// Example (thresholds 0, 64, 100, 128, ...): a = [0, 1], next = [0, 2] gives
// [0, 64]; then [0, 64] and [0, 65] give [0, 100].
Value widen_values(const Value& a, const Value& next, const domains::Thresholds& thresholds) {
    Value out = join_values(a, next);
    if ((out.is_scalar() && a.is_scalar()) || (out.is_pointer() && same_pointer_target(a, out))) {
        Scalar widened = a.number.widen(out.number, thresholds);
        // The tnum's join loses one bit per round at worst (64 rounds): once it
        // changes, give up its bits; the intervals keep the bounds.
        if (!out.number.tnum().leq(a.number.tnum()))
            widened = Scalar::from_components_unreduced(Scalar::TnumType::top(), widened.unsigned_interval(),
                                                        widened.signed_interval(), widened.unsigned_half(),
                                                        widened.signed_half());
        out.number = widened;
    }
    // A step that still changes would grow forever: stop following it.
    if (out.origin != 0 && (a.step_min != next.step_min || a.step_max != next.step_max)) {
        out.origin = 0;
        out.step_min = out.step_max = 0;
    }
    return out;
}

Value narrow_values(const Value& a, const Value& next) {
    const bool comparable = (a.is_scalar() && next.is_scalar()) || same_pointer_target(a, next);
    if (!comparable) return a;
    Scalar met = a.number.meet(next.number);
    if (met.is_bottom()) return a;
    Value out = a;
    out.number = met;
    if (a.is_pointer()) out.maybe_null = a.maybe_null && next.maybe_null;
    return out;
}

// Example: r1 tagged 7 with step 0 and range [0, 99]; `r1 += 1` gives [1, 100]
// tagged 7 with step 1. With range [0, 2^64 - 1] the addition may wrap: untagged.
void step_origin(const Value& value, const Scalar& amount, bool subtract, bool half, Value& result) {
    result.origin = 0;
    result.step_min = result.step_max = 0;
    if (value.origin == 0 || value.kind != result.kind) return;
    constexpr int64_t largest_step = int64_t(1) << 24;
    int64_t lo = amount.smin(), hi = amount.smax();
    if (lo < -largest_step || hi > largest_step || (lo <= 0 && hi >= 0)) return;  // must move one way
    if (subtract) std::tie(lo, hi) = std::pair(-hi, -lo);
    if (value.is_pointer()) {
        // Offsets stay far from the signed extremes (the kernel bounds them by 2^29).
        constexpr int64_t far = int64_t(1) << 62;
        if (half || value.number.smax() > far || value.number.smin() < -far) return;
    } else {
        const uint64_t limit = half ? 0xffffffffULL : ~uint64_t(0);
        if (value.number.umax() > limit) return;
        if (hi > 0 && value.number.umax() > limit - uint64_t(hi)) return;   // could carry out
        if (lo < 0 && value.number.umin() < uint64_t(-lo)) return;          // could borrow
    }
    const int64_t step_min = int64_t(value.step_min) + lo, step_max = int64_t(value.step_max) + hi;
    constexpr int64_t limit = int64_t(1) << 30;
    if (step_min < -limit || step_max > limit) return;
    result.origin = value.origin;
    result.step_min = int32_t(step_min);
    result.step_max = int32_t(step_max);
}

bool value_leq(const Value& a, const Value& b) {
    if (b.is_uninitialized()) return true;
    if (a.is_uninitialized()) return false;
    if (b.kind == ValueKind::Mixed) return true;
    if (a.kind != b.kind) {
        // 0 is below "pointer or null" with offset 0.
        return a.is_constant(0) && b.is_pointer() && b.maybe_null && b.number.contains(0);
    }
    if (b.id != 0 && a.id != b.id) return false;
    if (a.is_scalar() && b.id != 0 && !same_link(a, b)) return false;
    return value_leq_ignoring_links(a, b);
}

bool value_leq_ignoring_links(const Value& a, const Value& b) {
    if (a.is_scalar()) return a.number.leq(b.number);
    if (a.pointer != b.pointer || (a.maybe_null && !b.maybe_null)) return false;
    if (a.end_relation < b.end_relation) return false;  // b's paths relied on knowing more
    if (a.pointer == PointerKind::BtfObject && (a.region != b.region || a.memory_tag != b.memory_tag)) return false;
    if (b.trusted && !a.trusted) return false;  // b's paths relied on the kernel trusting it
    if (a.region != b.region || a.maps != b.maps) {
        uint64_t ma = map_mask(a), mb = map_mask(b);
        if (ma == 0 || mb == 0 || (ma & ~mb) != 0) return false;
    }
    return a.number.leq(b.number);
}

std::string_view pointer_kind_name(PointerKind kind) {
    switch (kind) {
    case PointerKind::Context: return "context";
    case PointerKind::Stack: return "stack";
    case PointerKind::MapValue: return "map value";
    case PointerKind::MapPointer: return "map";
    case PointerKind::Packet: return "packet";
    case PointerKind::PacketEnd: return "packet end";
    case PointerKind::PacketMeta: return "packet metadata";
    case PointerKind::RingbufMemory: return "ring buffer record";
    case PointerKind::Socket: return "socket";
    case PointerKind::BtfObject: return "kernel object";
    case PointerKind::Function: return "function";
    case PointerKind::Memory: return "memory";
    case PointerKind::MapKey: return "map key";
    }
    return "?";
}

namespace {

std::string map_name(uint32_t index, const ir::Object* object) {
    if (object && index < object->maps.size()) return fmt::format("'{}'", object->maps[index].name);
    return fmt::format("#{}", index);
}

std::string describe_number(const Scalar& number) {
    if (auto c = number.constant_value()) {
        int64_t s = int64_t(*c);
        if (s < 0 && s > -(int64_t(1) << 32)) return fmt::format("{}", s);
        return fmt::format("{}", *c);
    }
    return number.to_compact_string();
}

}  // namespace

std::string describe_value(const Value& value, const ir::Object* object) {
    switch (value.kind) {
    case ValueKind::Uninitialized: return "uninitialized";
    case ValueKind::Mixed: return "a pointer or a number depending on the path";
    case ValueKind::Scalar: return fmt::format("number {}", describe_number(value.number));
    case ValueKind::Pointer: break;
    }
    std::string what;
    switch (value.pointer) {
    case PointerKind::MapValue:
    case PointerKind::MapPointer: {
        std::string names;
        for (uint32_t m : maps_of(value)) names += (names.empty() ? "" : " or ") + map_name(m, object);
        what = value.pointer == PointerKind::MapValue ? fmt::format("pointer to a value of map {}", names)
                                                      : fmt::format("map {}", names);
        break;
    }
    case PointerKind::Stack: what = fmt::format("pointer to stack frame {}", value.region); break;
    case PointerKind::Packet:
        what = value.region == 0 ? std::string("pointer into the packet")
                                 : fmt::format("pointer into the packet (variable base #{})", value.region);
        break;
    case PointerKind::RingbufMemory: what = fmt::format("pointer to a {}-byte ring buffer record", value.region); break;
    case PointerKind::Memory: what = fmt::format("pointer to {} bytes of memory", value.region); break;
    case PointerKind::MapKey: what = fmt::format("pointer to a key of map {}", map_name(value.region, object)); break;
    case PointerKind::Socket:
        what = value.region == SocketCommon ? std::string("pointer to a struct sock_common (not a full socket)")
                                            : std::string("pointer to a socket");
        break;
    case PointerKind::BtfObject:
        what = fmt::format("pointer to a kernel object (BTF type {}{}{})", value.region,
                           value.memory_tag == 1   ? ", __user memory"
                           : value.memory_tag == 2 ? ", __percpu memory"
                                                   : "",
                           value.trusted ? ", trusted" : "");
        break;
    default: what = fmt::format("pointer to {}", pointer_kind_name(value.pointer)); break;
    }
    if (value.maybe_null) what += " or null";
    if (value.pointer != PointerKind::MapPointer) what += fmt::format(", offset {}", describe_number(value.number));
    return what;
}

}  // namespace bpfvet::analyzer
