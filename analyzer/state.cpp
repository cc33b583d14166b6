#include "analyzer/state.hpp"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

namespace bpfvet::analyzer {

const StackObject* Frame::object_overlapping(int64_t lo, int64_t hi) const {
    for (const auto& object : objects)
        if (object.overlaps(lo, hi)) return &object;
    return nullptr;
}

StackObject* Frame::object_at(int64_t offset) {
    for (auto& object : objects)
        if (object.offset == offset) return &object;
    return nullptr;
}

void Frame::add_object(StackObject object) {
    std::erase_if(spills, [&](const Spill& s) { return object.overlaps(s.offset, s.offset + s.width); });
    objects.insert(std::upper_bound(objects.begin(), objects.end(), object,
                                    [](const StackObject& a, const StackObject& b) { return a.offset < b.offset; }),
                   object);
}

void Frame::remove_object(int64_t offset) {
    std::erase_if(objects, [&](const StackObject& o) { return o.offset == offset; });
}

AbstractState AbstractState::bottom() {
    AbstractState s;
    s.bottom_ = true;
    return s;
}

AbstractState AbstractState::entry(uint32_t function) {
    AbstractState s;
    Frame frame;
    frame.function = function;
    s.frames_.push_back(std::move(frame));
    s.packet_bases_.push_back(PacketBase{});
    return s;
}

const PacketBase* AbstractState::packet_base(uint32_t id) const {
    for (const auto& base : packet_bases_)
        if (base.id == id) return &base;
    return nullptr;
}

PacketBase& AbstractState::packet_base_or_start(uint32_t id) {
    for (auto& base : packet_bases_)
        if (base.id == id) return base;
    return packet_bases_.front();
}

void AbstractState::add_packet_base(PacketBase base) {
    drop_packet_base(base.id);
    packet_bases_.push_back(std::move(base));
    std::sort(packet_bases_.begin(), packet_bases_.end(),
              [](const PacketBase& a, const PacketBase& b) { return a.id < b.id; });
}

Scalar AbstractState::packet_offset_from_start(const Value& pointer) const {
    const PacketBase* base = packet_base(pointer.region);
    if (pointer.region == 0 || base == nullptr) return pointer.region == 0 ? pointer.number : Scalar::top();
    return domains::apply(domains::BinaryOp::Add, base->offset, pointer.number, domains::OperandWidth::Full);
}

void AbstractState::drop_packet_base(uint32_t id) {
    if (id == 0) return;
    const PacketBase* base = packet_base(id);
    if (base == nullptr) return;
    Scalar base_offset = base->offset;
    for_each_value([&](Value& v) {
        if (v.is_pointer(PointerKind::Packet) && v.region == id) {
            v.number = domains::apply(domains::BinaryOp::Add, base_offset, v.number, domains::OperandWidth::Full);
            v.region = 0;
            v.origin = 0;  // measured from elsewhere now: the loop ghost no longer applies
        }
    });
    std::erase_if(packet_bases_, [&](const PacketBase& b) { return b.id == id; });
}

void AbstractState::rename_packet_base(uint32_t from, uint32_t to) {
    if (from == 0 || packet_base(from) == nullptr) return;
    drop_packet_base(to);
    for_each_value([&](Value& v) {
        if (v.is_pointer(PointerKind::Packet) && v.region == from) {
            v.region = to;
            v.origin = 0;
        }
    });
    for (auto& base : packet_bases_)
        if (base.id == from) base.id = to;
    std::sort(packet_bases_.begin(), packet_bases_.end(),
              [](const PacketBase& a, const PacketBase& b) { return a.id < b.id; });
}

void AbstractState::invalidate_packet_pointers() {
    for_each_value([](Value& v) {
        if (v.is_pointer(PointerKind::Packet) || v.is_pointer(PointerKind::PacketEnd) ||
            v.is_pointer(PointerKind::PacketMeta))
            v = Value::unknown_scalar();
    });
    packet_bases_.clear();
    packet_bases_.push_back(PacketBase{});
    meta_range_ = 0;
}

void AbstractState::forget_unused_packet_bases() {
    if (packet_bases_.size() <= 1) return;
    std::vector<uint32_t> used;
    for_each_value([&](Value& v) {
        if (v.is_pointer(PointerKind::Packet) && v.region != 0) used.push_back(v.region);
    });
    std::erase_if(packet_bases_, [&](const PacketBase& b) {
        return b.id != 0 && std::find(used.begin(), used.end(), b.id) == used.end();
    });
}

bool AbstractState::holds_reference(uint32_t id) const {
    return std::any_of(references_.begin(), references_.end(), [&](const Reference& r) { return r.id == id; });
}

void AbstractState::acquire_reference(Reference reference) {
    release_reference(reference.id);
    references_.insert(std::upper_bound(references_.begin(), references_.end(), reference,
                                        [](const Reference& a, const Reference& b) { return a.id < b.id; }),
                       reference);
}

void AbstractState::release_reference(uint32_t id) {
    std::erase_if(references_, [&](const Reference& r) { return r.id == id; });
    for (const auto& [parent, child] : std::vector(derived_))
        if (parent == id) update_copies(child, [](Value& v) { v = Value::unknown_scalar(); });
    std::erase_if(derived_, [&](const auto& pair) { return pair.first == id; });
}

void AbstractState::derive(uint32_t parent, uint32_t child) {
    const std::pair pair{parent, child};
    auto at = std::lower_bound(derived_.begin(), derived_.end(), pair);
    if (at == derived_.end() || *at != pair) derived_.insert(at, pair);
}

bool AbstractState::is_derived(uint32_t id) const {
    return std::any_of(derived_.begin(), derived_.end(), [&](const auto& pair) { return pair.second == id; });
}

void AbstractState::for_each_value(const std::function<void(Value&)>& visit) {
    for (auto& frame : frames_) {
        for (auto& r : frame.registers) visit(r);
        for (auto& spill : frame.spills) visit(spill.value);
    }
}

void AbstractState::release_id(uint32_t id) {
    if (id == 0) return;
    for_each_value([id](Value& v) {
        if (v.id == id) v.id = 0, v.delta = 0, v.delta_half = false;
    });
}

void AbstractState::update_copies(uint32_t id, const std::function<void(Value&)>& update) {
    if (id == 0) return;
    for_each_value([&](Value& v) {
        if (v.id == id) update(v);
    });
}

namespace {

using ValueCombiner = std::function<Value(const Value&, const Value&)>;

Frame join_frames(const Frame& a, const Frame& b, const ValueCombiner& combine) {
    Frame out;
    out.function = a.function;
    out.depth = std::max(a.depth, b.depth);
    for (size_t r = 0; r < a.registers.size(); ++r) out.registers[r] = combine(a.registers[r], b.registers[r]);
    out.initialized = a.initialized & b.initialized;
    for (const auto& spill : a.spills) {
        for (const auto& other : b.spills) {
            if (other.offset != spill.offset || other.width != spill.width) continue;
            Value joined = combine(spill.value, other.value);
            if (!joined.is_uninitialized()) out.spills.push_back(Spill{spill.offset, spill.width, joined});
        }
    }
    // An object both paths hold: an iterator drained on one path only may
    // still give elements (Active covers both). One path's object alone is
    // dropped: every later use of it is then refused, and its reference,
    // held on some path, still has to be released.
    for (const auto& object : a.objects) {
        for (const auto& other : b.objects) {
            if (other.offset != object.offset || other.size != object.size || other.kind != object.kind ||
                other.type != object.type || other.id != object.id)
                continue;
            StackObject joined = object;
            if (other.state != object.state) joined.state = IteratorState::Active;
            joined.depth = std::max(object.depth, other.depth);
            out.objects.push_back(joined);
        }
    }
    return out;
}

bool frame_leq(const Frame& a, const Frame& b) {
    for (size_t r = 0; r < a.registers.size(); ++r)
        if (!value_leq(a.registers[r], b.registers[r])) return false;
    if ((b.initialized & ~a.initialized).any()) return false;
    for (const auto& spill : b.spills) {
        auto it = std::find_if(a.spills.begin(), a.spills.end(), [&](const Spill& s) {
            return s.offset == spill.offset && s.width == spill.width;
        });
        if (it == a.spills.end() || !value_leq(it->value, spill.value)) return false;
    }
    // Every object of `b` is in `a`, in a state `b`'s allows (Drained is below Active).
    for (const auto& object : b.objects) {
        auto it = std::find_if(a.objects.begin(), a.objects.end(), [&](const StackObject& o) {
            return o.offset == object.offset && o.size == object.size && o.kind == object.kind &&
                   o.type == object.type && o.id == object.id;
        });
        if (it == a.objects.end()) return false;
        if (it->state != object.state && object.state != IteratorState::Active) return false;
    }
    return true;
}

// Packet pointers whose base the other state does not share, or that sit on
// different bases in the two states, are re-expressed from the packet start.
void reconcile_packet_bases(AbstractState& a, AbstractState& b) {
    std::vector<uint32_t> drop;
    auto collect = [&](AbstractState& s, const AbstractState& other) {
        s.for_each_value([&](Value& v) {
            if (v.is_pointer(PointerKind::Packet) && v.region != 0 && other.packet_base(v.region) == nullptr)
                drop.push_back(v.region);
        });
    };
    collect(a, b);
    collect(b, a);
    for (uint32_t id : drop) {
        a.drop_packet_base(id);
        b.drop_packet_base(id);
    }
}

// Bytes proven inside the packet from `pointer` on: what its base proves,
// less the largest offset of the pointer from the base.
int64_t bytes_proven_from(const AbstractState& state, const Value& pointer) {
    const PacketBase* base = state.packet_base(pointer.region);
    const int64_t range = base ? base->range : 0;
    if (pointer.number.smin() < 0 || pointer.number.smax() >= range) return 0;
    return range - pointer.number.smax();
}

// The id of a base a join makes for the packet pointer in a slot: the frame,
// then the register (0-10) or 16 + the spill's place in the 512-byte frame,
// and the low two bits clear (Engine::fresh_id's packet bases end in binary 11).
// The same slot gets the same id at every join, so the states at a loop head settle.
uint32_t join_base_id(size_t frame, uint32_t slot) { return 0x80000000u | uint32_t(frame) << 14 | slot << 2; }

// Packet pointers that lie at different places in the two states (p = data + 2
// on one path, data + 4 on the other, or on different bases) are re-expressed
// from a new base at the pointer itself in both states: its offset from the
// start is the join of the two places, and its range the bytes proven from the
// pointer on both paths. Joining the offsets instead would keep only the range
// proven from the old base, so `p + 1 <= data_end` after such a join would
// prove one byte from the start instead of one byte at p. Pointers in other
// slots that sit at the same constant distance from it on both paths move to
// the new base with it (copies, p + 14); pointers that used the id of a new
// base for something else are measured from the start.
void rebase_divergent_packet_pointers(AbstractState& a, AbstractState& b, size_t frames) {
    struct Group {
        uint32_t region_a, region_b;
        Scalar offset_a, offset_b;
        PacketBase base_a, base_b;  // the new base as seen in each state
    };
    struct Move {
        Value* in_a;
        Value* in_b;
        size_t group;
        int64_t distance;
    };
    std::vector<Group> groups;
    std::vector<Move> moves;
    auto visit = [&](size_t frame, uint32_t slot, Value& va, Value& vb) {
        if (!va.is_pointer(PointerKind::Packet) || !vb.is_pointer(PointerKind::Packet)) return;
        if (va.region == vb.region && same_scalar(va.number, vb.number)) return;
        for (size_t g = 0; g < groups.size(); ++g) {
            const Group& group = groups[g];
            if (va.region != group.region_a || vb.region != group.region_b) continue;
            if (same_scalar(va.number, group.offset_a) && same_scalar(vb.number, group.offset_b)) {
                moves.push_back({&va, &vb, g, 0});
                return;
            }
            auto ca = va.number.constant_value(), cb = vb.number.constant_value();
            auto ga = group.offset_a.constant_value(), gb = group.offset_b.constant_value();
            if (ca && cb && ga && gb && int64_t(*ca - *ga) == int64_t(*cb - *gb)) {
                moves.push_back({&va, &vb, g, int64_t(*ca - *ga)});
                return;
            }
        }
        const uint32_t id = join_base_id(frame, slot);
        Group group{va.region, vb.region, va.number, vb.number,
                    PacketBase{id, a.packet_offset_from_start(va), bytes_proven_from(a, va)},
                    PacketBase{id, b.packet_offset_from_start(vb), bytes_proven_from(b, vb)}};
        groups.push_back(std::move(group));
        moves.push_back({&va, &vb, groups.size() - 1, 0});
    };
    for (size_t f = 0; f < frames; ++f) {
        Frame& fa = a.frame(f);
        Frame& fb = b.frame(f);
        for (uint32_t r = 0; r < 11; ++r) visit(f, r, fa.registers[r], fb.registers[r]);
        for (auto& sa : fa.spills)
            for (auto& sb : fb.spills)
                if (sa.offset == sb.offset && sa.width == sb.width)
                    visit(f, 16 + uint32_t(sa.offset + int32_t(StackBytes)), sa.value, sb.value);
    }
    if (groups.empty()) return;
    // Out of the way while the ids of the new bases are freed: the moved
    // values, then whatever else still refers to a base of that id.
    constexpr uint32_t moving = 0xFFFFFFFFu;
    for (const Move& move : moves) move.in_a->region = move.in_b->region = moving;
    for (const Group& group : groups) {
        a.drop_packet_base(group.base_a.id);
        b.drop_packet_base(group.base_b.id);
    }
    for (const Move& move : moves) {
        for (Value* v : {move.in_a, move.in_b}) {
            v->region = groups[move.group].base_a.id;
            v->number = Scalar::constant(uint64_t(move.distance));
            v->origin = 0;  // measured from a new base: the loop ghost no longer applies
        }
    }
    for (const Group& group : groups) {
        a.add_packet_base(group.base_a);
        b.add_packet_base(group.base_b);
    }
}

}  // namespace

AbstractState AbstractState::join(const AbstractState& other) const {
    return combine(other, join_values, [](const Scalar& a, const Scalar& b) { return a.join(b); }, true);
}

AbstractState AbstractState::widen(const AbstractState& next, const domains::Thresholds& thresholds) const {
    return combine(
        next, [&](const Value& a, const Value& b) { return widen_values(a, b, thresholds); },
        [&](const Scalar& a, const Scalar& b) { return a.widen(a.join(b), thresholds); }, true);
}

// The shape is the join's (for a `next` below this state, this state's own);
// numbers and offsets meet.
AbstractState AbstractState::narrow(const AbstractState& next) const {
    if (bottom_ || next.bottom_) return *this;
    return combine(next, narrow_values, [](const Scalar& a, const Scalar& b) {
        Scalar met = a.meet(b);
        return met.is_bottom() ? a : met;
    }, false);
}

AbstractState AbstractState::combine(const AbstractState& other,
                                     const std::function<Value(const Value&, const Value&)>& combine_values,
                                     const std::function<Scalar(const Scalar&, const Scalar&)>& combine_offsets,
                                     bool rebase) const {
    if (bottom_) return other;
    if (other.bottom_) return *this;
    AbstractState a = *this;
    AbstractState b = other;
    reconcile_packet_bases(a, b);
    if (rebase) rebase_divergent_packet_pointers(a, b, std::min(a.frames_.size(), b.frames_.size()));
    // Registers still on different bases in the two states: measure both from the start.
    for (size_t f = 0; f < a.frames_.size(); ++f) {
        auto fix = [&](Value& va, Value& vb) {
            if (va.is_pointer(PointerKind::Packet) && vb.is_pointer(PointerKind::Packet) && va.region != vb.region) {
                va.number = a.packet_offset_from_start(va);
                va.region = 0;
                va.origin = 0;
                vb.number = b.packet_offset_from_start(vb);
                vb.region = 0;
                vb.origin = 0;
            }
        };
        for (size_t r = 0; r < 11; ++r) fix(a.frames_[f].registers[r], b.frames_[f].registers[r]);
        for (auto& sa : a.frames_[f].spills)
            for (auto& sb : b.frames_[f].spills)
                if (sa.offset == sb.offset && sa.width == sb.width) fix(sa.value, sb.value);
    }
    AbstractState out;
    out.meta_range_ = std::min(a.meta_range_, b.meta_range_);
    // A reference held on either path may be held.
    std::set_union(a.references_.begin(), a.references_.end(), b.references_.begin(), b.references_.end(),
                   std::back_inserter(out.references_),
                   [](const Reference& x, const Reference& y) { return x.id < y.id; });
    // A cast on either path ends with its parent on both (never more usable than on one).
    std::set_union(a.derived_.begin(), a.derived_.end(), b.derived_.begin(), b.derived_.end(),
                   std::back_inserter(out.derived_));
    // Paths that disagree on the lock leave it ambiguous: unlocking or
    // leaving then is refused (the exploration keeps such paths apart first).
    out.lock_ = a.lock_;
    if (a.lock_ != b.lock_) {
        out.lock_ = a.lock_ ? a.lock_ : b.lock_;
        out.lock_->ambiguous = true;
    }
    for (const auto& base : a.packet_bases_) {
        const PacketBase* ob = b.packet_base(base.id);
        if (ob == nullptr) continue;
        out.packet_bases_.push_back(
            PacketBase{base.id, combine_offsets(base.offset, ob->offset), std::min(base.range, ob->range)});
    }
    for (size_t f = 0; f < a.frames_.size() && f < b.frames_.size(); ++f)
        out.frames_.push_back(join_frames(a.frames_[f], b.frames_[f], combine_values));
    return out;
}

bool AbstractState::leq(const AbstractState& other) const {
    if (bottom_) return true;
    if (other.bottom_) return false;
    if (frames_.size() != other.frames_.size()) return false;
    if (meta_range_ < other.meta_range_) return false;
    for (const auto& reference : references_)
        if (!other.holds_reference(reference.id)) return false;
    if (lock_ != other.lock_ && !(other.lock_ && other.lock_->ambiguous)) return false;
    if (!std::includes(other.derived_.begin(), other.derived_.end(), derived_.begin(), derived_.end())) return false;
    for (const auto& base : other.packet_bases_) {
        const PacketBase* mine = packet_base(base.id);
        if (mine == nullptr || mine->range < base.range || !mine->offset.leq(base.offset)) return false;
    }
    for (size_t f = 0; f < frames_.size(); ++f)
        if (!frame_leq(frames_[f], other.frames_[f])) return false;
    return true;
}

bool AbstractState::same_packet_ranges(const AbstractState& other) const {
    if (packet_bases_.size() != other.packet_bases_.size()) return false;
    for (size_t i = 0; i < packet_bases_.size(); ++i)
        if (packet_bases_[i].id != other.packet_bases_[i].id || packet_bases_[i].range != other.packet_bases_[i].range)
            return false;
    return true;
}

bool AbstractState::equals(const AbstractState& other) const {
    if (!leq(other) || !other.leq(*this)) return false;
    // Iterators at other depths are other iterations of a loop the iterator bounds.
    for (size_t f = 0; f < frames_.size(); ++f)
        if (frames_[f].objects != other.frames_[f].objects) return false;
    return true;
}

std::string AbstractState::to_string(const ir::Object* object) const {
    if (bottom_) return "unreachable";
    std::string out;
    for (int r = 0; r < 11; ++r) {
        const Value& v = reg(r);
        if (v.is_uninitialized()) continue;
        out += fmt::format("r{} = {}", r, describe_value(v, object));
        if (v.id != 0) out += fmt::format(" (id {})", v.id);
        out += "; ";
    }
    for (const auto& spill : current_frame().spills)
        out += fmt::format("fp{} = {}; ", spill.offset, describe_value(spill.value, object));
    for (const auto& object : current_frame().objects)
        out += fmt::format("fp{}..fp{} = {}{} (id {}); ", object.offset, object.offset + object.size,
                           object.kind == StackObjectKind::Iterator ? "iterator" : "dynptr",
                           object.kind != StackObjectKind::Iterator        ? ""
                           : object.state == IteratorState::Active ? ", active"
                                                                   : ", drained",
                           object.id);
    for (const auto& base : packet_bases_)
        if (base.range > 0) out += fmt::format("packet bytes proven from base #{}: {}; ", base.id, base.range);
    if (meta_range_ > 0) out += fmt::format("metadata bytes proven: {}; ", meta_range_);
    if (!out.empty()) out.resize(out.size() - 2);
    return out;
}

}  // namespace bpfvet::analyzer
