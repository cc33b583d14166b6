#include "analyzer/pruning.hpp"

#include <algorithm>
#include <array>
#include <vector>

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

// A list kept in place while short, moved to the heap when it grows: pruning
// compares states millions of times, and most comparisons meet a few ids.
template <typename T, size_t Inline = 16>
class ShortList {
public:
    void push_back(T item) {
        if (heap_.empty() && size_ < Inline) {
            inline_[size_++] = item;
            return;
        }
        if (heap_.empty()) heap_.assign(inline_.begin(), inline_.begin() + size_);
        heap_.push_back(item);
        ++size_;
    }
    T* begin() { return heap_.empty() ? inline_.data() : heap_.data(); }
    T* end() { return begin() + size_; }

private:
    std::array<T, Inline> inline_{};
    size_t size_ = 0;
    std::vector<T> heap_;
};

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
        counts_.push_back({id, 1});
    }
    // An id that must stay itself (a reference the state holds is named by it).
    void pin(uint32_t id) {
        count(id);
        count(id);
        pairs_.push_back({id, id});
    }
    [[nodiscard]] bool consistent(const Value& old, const Value& current) {
        if (old.id == 0) return true;
        if (occurrences(old.id) <= 1) return true;
        if (current.id == 0 || old.delta != current.delta || old.delta_half != current.delta_half) return false;
        for (const auto& [from, to] : pairs_)
            if (from == old.id) return to == current.id;
        pairs_.push_back({old.id, current.id});
        return true;
    }

private:
    [[nodiscard]] int occurrences(uint32_t id) {
        for (const auto& [known, n] : counts_)
            if (known == id) return n;
        return 0;
    }
    ShortList<std::pair<uint32_t, int>> counts_;
    ShortList<std::pair<uint32_t, uint32_t>> pairs_;
};

// value_leq with ids compared through the map; without a map (the first,
// quick pass of covers) ids are not compared at all.
bool covers_value(const Value& old, const Value& current, bool precise, IdMap* ids) {
    if (old.is_uninitialized()) return true;  // dead, or never written: the old path never read it
    if (old.kind == ValueKind::Mixed) return !current.is_uninitialized();  // only ever copied
    if (old.is_scalar() && !precise) return current.is_scalar();  // its value mattered nowhere below
    if (current.kind != old.kind) return value_leq(current, old);  // 0 below "pointer or null"
    return value_leq_ignoring_links(current, old) && (ids == nullptr || ids->consistent(old, current));
}

void count_ids(const Frame& old, const FrameMarks& precise, uint64_t read, CoverRules rules, IdMap& ids) {
    for (int r = 0; r < 11; ++r) {
        const Value& v = old.registers[size_t(r)];
        // Imprecise numbers are compared without their links.
        if (!v.is_scalar() || rules.all_precise || ((precise.registers >> r) & 1) != 0) ids.count(v.id);
    }
    for (const Spill& spill : old.spills) {
        const uint64_t slots = Marks::slots_of(spill.offset, spill.width);
        if ((read & slots) != 0 && (!spill.value.is_scalar() || rules.all_precise || (precise.slots & slots) != 0))
            ids.count(spill.value.id);
    }
}

bool covers_frame(const Frame& old, const FrameMarks& precise, uint64_t read, const Frame& current,
                  CoverRules rules, IdMap* ids) {
    if (old.function != current.function || old.callsite != current.callsite) return false;
    // Iterators (and later dynptrs) must be the same objects in the same
    // state, whatever their depth (the kernel's stacksafe for STACK_ITER).
    // Their ids are references, which covers compares exactly.
    if (!std::ranges::equal(old.objects, current.objects,
                            [](const StackObject& a, const StackObject& b) { return a.same_as(b); }))
        return false;
    for (int r = 0; r < 11; ++r) {
        const bool exact = rules.all_precise || ((precise.registers >> r) & 1) != 0;
        if (!covers_value(old.registers[size_t(r)], current.registers[size_t(r)], exact, ids)) return false;
    }
    // Slots the old state's paths never read before writing them do not matter.
    if (!rules.uninit_readable && (old.initialized & ~current.initialized & bytes_of(read)).any()) return false;
    // Both spill lists are sorted by offset: one walk finds each old spill's match.
    auto other = current.spills.begin();
    for (const Spill& spill : old.spills) {
        const uint64_t slots = Marks::slots_of(spill.offset, spill.width);
        if ((read & slots) == 0) continue;
        while (other != current.spills.end() && other->offset + other->width <= spill.offset) ++other;
        if (spill.value.is_scalar() && !rules.all_precise && (precise.slots & slots) == 0) {
            // Any number in those bytes will do (or bytes that read as one); a pointer will not.
            for (auto o = other; o != current.spills.end() && overlaps(*o, spill.offset, spill.width); ++o)
                if (!o->value.is_scalar()) return false;
            continue;
        }
        if (other == current.spills.end() || other->offset != spill.offset || other->width != spill.width ||
            !covers_value(spill.value, other->value, true, ids))
            return false;
    }
    // A pointer spilled where the old state had no spill: a fill there gave the
    // old path a number, this one a pointer.
    auto mine = old.spills.begin();
    for (const Spill& spill : current.spills) {
        if (spill.value.is_scalar() || (read & Marks::slots_of(spill.offset, spill.width)) == 0) continue;
        while (mine != old.spills.end() && mine->offset < spill.offset) ++mine;
        if (mine == old.spills.end() || mine->offset != spill.offset || mine->width != spill.width) return false;
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
    // First without ids: most comparisons fail on a value, and mapping ids costs.
    for (size_t f = 0; f < old.frame_count(); ++f)
        if (!covers_frame(old.frame(f), precise.frames[f], read.frames[f].slots, current.frame(f), rules, nullptr))
            return false;
    IdMap ids;
    for (size_t f = 0; f < old.frame_count(); ++f)
        count_ids(old.frame(f), precise.frames[f], read.frames[f].slots, rules, ids);
    // References are tracked by id: those must be the same ids, not renamed.
    for (const Reference& reference : old.references()) ids.pin(reference.id);
    if (old.lock() && old.lock()->id != 0) ids.pin(old.lock()->id);
    for (const auto& [parent, child] : old.derived()) ids.pin(child);
    for (size_t f = 0; f < old.frame_count(); ++f)
        if (!covers_frame(old.frame(f), precise.frames[f], read.frames[f].slots, current.frame(f), rules, &ids))
            return false;
    return true;
}

}  // namespace bpfvet::analyzer::detail
