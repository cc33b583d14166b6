#include "analyzer/pruning.hpp"

#include <algorithm>

namespace bpfvet::analyzer::detail {

namespace {

bool overlaps(const Spill& spill, int64_t offset, int64_t width) {
    return spill.offset < offset + width && offset < spill.offset + spill.width;
}

// The bytes of the slots in `slots` (slot i: [fp - 8 (i + 1), fp - 8 i)), as bits of Frame::initialized.
std::bitset<StackBytes> bytes_of(uint64_t slots) {
    std::bitset<StackBytes> bytes;
    for (int slot = 0; slot < 64; ++slot)
        if ((slots >> slot) & 1)
            for (int b = 0; b < 8; ++b) bytes.set(size_t(StackBytes - 8 * (slot + 1) + b));
    return bytes;
}

// Ids name links between values (copies, null checks shared by copies). Two
// paths number them differently, so an old id must stand for one current id
// throughout the comparison (the kernel's check_ids). An old id that only one
// compared value carries links it to nothing that matters: no constraint.
class IdMap {
public:
    void count(uint32_t id) {
        if (id == 0) return;
        for (auto& [known, n] : counts_)
            if (known == id) {
                ++n;
                return;
            }
        counts_.emplace_back(id, 1);
    }
    // An id that must stay itself (a reference the state holds is named by it).
    void pin(uint32_t id) {
        count(id);
        count(id);
        pairs_.emplace_back(id, id);
    }
    [[nodiscard]] bool consistent(const Value& old, const Value& current) {
        if (old.id == 0) return true;
        if (occurrences(old.id) <= 1) return true;
        if (current.id == 0 || old.delta != current.delta || old.delta_half != current.delta_half) return false;
        for (const auto& [from, to] : pairs_)
            if (from == old.id) return to == current.id;
        pairs_.emplace_back(old.id, current.id);
        return true;
    }

private:
    [[nodiscard]] int occurrences(uint32_t id) const {
        for (const auto& [known, n] : counts_)
            if (known == id) return n;
        return 0;
    }
    std::vector<std::pair<uint32_t, int>> counts_;
    std::vector<std::pair<uint32_t, uint32_t>> pairs_;
};

// value_leq without its id test: ids are compared through the map.
bool covers_value(const Value& old, const Value& current, bool precise, IdMap& ids) {
    if (old.is_uninitialized()) return true;  // dead, or never written: the old path never read it
    if (old.kind == ValueKind::Mixed) return !current.is_uninitialized();  // only ever copied
    if (old.is_scalar() && !precise) return current.is_scalar();  // its value mattered nowhere below
    if (current.kind != old.kind) return value_leq(current, old);  // 0 below "pointer or null"
    Value unlinked = old;
    unlinked.id = current.id;
    unlinked.delta = current.delta;
    unlinked.delta_half = current.delta_half;
    return value_leq(current, unlinked) && ids.consistent(old, current);
}

bool exact_slot(const FrameMarks& precise, const Spill& spill, CoverRules rules) {
    return rules.all_precise || (precise.slots & Marks::slots_of(spill.offset, spill.width)) != 0;
}

void count_ids(const Frame& old, const FrameMarks& precise, uint64_t read, CoverRules rules, IdMap& ids) {
    for (int r = 0; r < 11; ++r) {
        const Value& v = old.registers[size_t(r)];
        // Imprecise numbers are compared without their links.
        if (!v.is_scalar() || rules.all_precise || ((precise.registers >> r) & 1) != 0) ids.count(v.id);
    }
    for (const Spill& spill : old.spills)
        if ((read & Marks::slots_of(spill.offset, spill.width)) != 0 &&
            (!spill.value.is_scalar() || exact_slot(precise, spill, rules)))
            ids.count(spill.value.id);
}

bool covers_frame(const Frame& old, const FrameMarks& precise, uint64_t read, const Frame& current,
                  CoverRules rules, IdMap& ids) {
    if (old.function != current.function || old.callsite != current.callsite) return false;
    for (int r = 0; r < 11; ++r) {
        const bool exact = rules.all_precise || ((precise.registers >> r) & 1) != 0;
        if (!covers_value(old.registers[size_t(r)], current.registers[size_t(r)], exact, ids)) return false;
    }
    // Slots the old state's paths never read before writing them do not matter.
    auto live = [&](const Spill& spill) { return (read & Marks::slots_of(spill.offset, spill.width)) != 0; };
    if (!rules.uninit_readable && (old.initialized & ~current.initialized & bytes_of(read)).any()) return false;
    for (const Spill& spill : old.spills) {
        if (!live(spill)) continue;
        if (spill.value.is_scalar() && !exact_slot(precise, spill, rules)) {
            // Any number in those bytes will do (or bytes that read as one); a pointer will not.
            for (const Spill& other : current.spills)
                if (overlaps(other, spill.offset, spill.width) && !other.value.is_scalar()) return false;
            continue;
        }
        auto match = std::find_if(current.spills.begin(), current.spills.end(), [&](const Spill& other) {
            return other.offset == spill.offset && other.width == spill.width;
        });
        if (match == current.spills.end() || !covers_value(spill.value, match->value, true, ids)) return false;
    }
    // A pointer spilled where the old state had no spill: a fill there gave the
    // old path a number, this one a pointer.
    for (const Spill& spill : current.spills) {
        if (spill.value.is_scalar() || !live(spill)) continue;
        const bool matched = std::any_of(old.spills.begin(), old.spills.end(), [&](const Spill& other) {
            return other.offset == spill.offset && other.width == spill.width;
        });
        if (!matched) return false;
    }
    return true;
}

}  // namespace

bool covers(const AbstractState& old, const Marks& precise, const Marks& read, const AbstractState& current,
            CoverRules rules) {
    if (current.is_bottom()) return true;
    if (old.is_bottom()) return false;
    if (old.frame_count() != current.frame_count() || old.frame_count() > precise.frames.size()) return false;
    if (current.meta_range() < old.meta_range()) return false;
    if (old.references() != current.references()) return false;
    if (old.lock() != current.lock()) return false;
    if (old.derived() != current.derived()) return false;
    for (const PacketBase& base : old.packet_bases()) {
        const PacketBase* mine = current.packet_base(base.id);
        if (mine == nullptr || mine->range < base.range || !mine->offset.leq(base.offset)) return false;
    }
    IdMap ids;
    for (size_t f = 0; f < old.frame_count(); ++f)
        count_ids(old.frame(f), precise.frames[f], read.frames[f].slots, rules, ids);
    // References are tracked by id: those must be the same ids, not renamed.
    for (const Reference& reference : old.references()) ids.pin(reference.id);
    if (old.lock() && old.lock()->id != 0) ids.pin(old.lock()->id);
    for (const auto& [parent, child] : old.derived()) ids.pin(child);
    for (size_t f = 0; f < old.frame_count(); ++f)
        if (!covers_frame(old.frame(f), precise.frames[f], read.frames[f].slots, current.frame(f), rules, ids))
            return false;
    return true;
}

}  // namespace bpfvet::analyzer::detail
