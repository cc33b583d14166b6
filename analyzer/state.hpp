// The abstract state at one program point: registers and stack of every active
// frame (the innermost frame is the running function), and the relations the
// kernel's verifier keeps besides values: how many packet bytes are proven
// readable past each packet base, and the shared ids of copies.
#pragma once

#include "analyzer/value.hpp"

#include <array>
#include <bitset>
#include <functional>
#include <optional>
#include <vector>

namespace bpfvet::analyzer {

inline constexpr int StackBytes = 512;

// A register written to the stack with its exact value (pointers too). The
// slot covers [offset, offset + width) from the frame pointer (offset < 0).
struct Spill {
    int16_t offset = 0;
    uint8_t width = 8;
    Value value;
};

// A kernel object that lives in stack bytes only kfuncs may touch: an
// open-coded iterator (the kernel's STACK_ITER; a dynptr, STACK_DYNPTR, is the
// other kind it is shaped for). Loads, stores and helpers may not read or write
// its bytes; the kfuncs of its type create, use and destroy it.
//
//   struct bpf_iter_num it;                 // 8 bytes at fp-8
//   bpf_iter_num_new(&it, 0, n);            // {offset -8, size 8, Iterator, Active, bpf_iter_num, id 57}
//   while (bpf_iter_num_next(&it)) ...      // Active (an element), or Drained (NULL) from then on
//   bpf_iter_num_destroy(&it);              // gone; reference 57 released
enum class StackObjectKind : uint8_t { Iterator, Dynptr };
enum class IteratorState : uint8_t { Active, Drained };

struct StackObject {
    int16_t offset = 0;  // from the frame pointer, a multiple of 8
    uint16_t size = 0;   // bytes, a multiple of 8 (bpf_iter_num 8, bpf_iter_bits 16)
    StackObjectKind kind = StackObjectKind::Iterator;
    IteratorState state = IteratorState::Active;  // iterators only
    uint32_t type = 0;   // the kernel BTF id of its struct (struct bpf_iter_num)
    uint32_t id = 0;     // the reference it holds until destroyed (AbstractState::references)
    // Iterators: `next` calls that returned an element on the way here (the
    // kernel's iter.depth). Never compared by pruning (it would stop loops
    // from converging); it keeps two iterations of a loop from looking like
    // an infinite loop (AbstractState::equals).
    uint32_t depth = 0;

    [[nodiscard]] bool overlaps(int64_t lo, int64_t hi) const { return offset < hi && lo < offset + int64_t(size); }
    // The same object in the same state, whatever its depth.
    [[nodiscard]] bool same_as(const StackObject& o) const {
        return offset == o.offset && size == o.size && kind == o.kind && state == o.state && type == o.type &&
               id == o.id;
    }
    friend bool operator==(const StackObject&, const StackObject&) = default;
};

struct Frame {
    // The running frame's registers; for callers, their registers at the call
    // (r6..r9 and r10 survive the call; r0..r5 are replaced on return).
    std::array<Value, 11> registers{};
    // Byte i describes fp - 512 + i.
    std::bitset<StackBytes> initialized;
    std::vector<Spill> spills;  // sorted by offset, non-overlapping
    std::vector<StackObject> objects;  // sorted by offset, non-overlapping, never overlapping a spill
    uint32_t function = 0;      // index into Program::functions
    int32_t depth = 0;          // bytes of stack touched, for the combined limit
    // The call instruction that pushed this frame (its return goes to callsite + 1);
    // 0 for the program's entry frame.
    uint32_t callsite = 0;

    [[nodiscard]] const StackObject* object_overlapping(int64_t lo, int64_t hi) const;
    [[nodiscard]] StackObject* object_at(int64_t offset);
    void add_object(StackObject object);
    void remove_object(int64_t offset);
};

// A base that packet pointers with a variable offset are measured from: the
// result of `data + x` for a non-constant x. Base 0 is the start of the packet.
struct PacketBase {
    uint32_t id = 0;
    Scalar offset = Scalar::constant(0);  // where the base lies from the packet start
    int64_t range = 0;                    // bytes from the base proven inside the packet
};

// A reference the program holds and must give back before it exits: a socket
// from bpf_sk_lookup_*, a ring buffer record from bpf_ringbuf_reserve. `id` is
// the id of the pointer (and of its copies); `pc` the acquiring call.
struct Reference {
    uint32_t id = 0;
    uint32_t pc = 0;
    friend bool operator==(const Reference&, const Reference&) = default;
};

// The bpf_spin_lock a path holds (the kernel's active lock): the map whose
// value holds it, the id of the map-value pointer it was taken through (0 for
// global data), and the bpf_spin_lock call. `ambiguous` after a join of paths
// that disagree: held on some, or another lock: nothing may rely on it.
struct HeldLock {
    uint32_t map = 0;
    uint32_t id = 0;
    uint32_t pc = 0;
    bool ambiguous = false;
    friend bool operator==(const HeldLock&, const HeldLock&) = default;
};

class AbstractState {
public:
    static AbstractState bottom();
    static AbstractState entry(uint32_t function);

    // Refinement (analyzer/refine.hpp): the outcomes of the split branches
    // (AnalysisOptions::split_branches) on the way here, two bits per branch
    // (taken, fallthrough). States with different tags are never joined while
    // room remains, so a correlation decided at a split branch survives merges.
    // Only precision depends on it, never soundness.
    uint64_t branch_tags = 0;

    [[nodiscard]] bool is_bottom() const { return bottom_; }
    [[nodiscard]] Value& reg(int r) { return frames_.back().registers[size_t(r)]; }
    [[nodiscard]] const Value& reg(int r) const { return frames_.back().registers[size_t(r)]; }
    [[nodiscard]] Frame& frame(size_t index) { return frames_[index]; }
    [[nodiscard]] const Frame& frame(size_t index) const { return frames_[index]; }
    [[nodiscard]] Frame& current_frame() { return frames_.back(); }
    [[nodiscard]] const Frame& current_frame() const { return frames_.back(); }
    [[nodiscard]] size_t frame_count() const { return frames_.size(); }
    void push_frame(Frame frame) { frames_.push_back(std::move(frame)); }
    void pop_frame() { frames_.pop_back(); }

    // Packet bases and the metadata range.
    [[nodiscard]] const PacketBase* packet_base(uint32_t id) const;
    [[nodiscard]] const std::vector<PacketBase>& packet_bases() const { return packet_bases_; }
    [[nodiscard]] PacketBase& packet_base_or_start(uint32_t id);
    void add_packet_base(PacketBase base);
    [[nodiscard]] int64_t meta_range() const { return meta_range_; }
    void set_meta_range(int64_t range) { meta_range_ = range; }
    // Where a packet pointer lies from the packet start.
    [[nodiscard]] Scalar packet_offset_from_start(const Value& pointer) const;
    // Re-expresses every pointer measured from `base` from the packet start and drops the base.
    void drop_packet_base(uint32_t base);
    // Gives the base `from` (and every pointer on it) the id `to`.
    void rename_packet_base(uint32_t from, uint32_t to);
    // After a helper that may move packet data: every packet pointer becomes an unknown number.
    void invalidate_packet_pointers();
    // Forgets bases (other than the packet start) that no value refers to any more.
    void forget_unused_packet_bases();

    // Every value: registers of all frames and spilled slots.
    void for_each_value(const std::function<void(Value&)>& visit);
    // Forgets `id` everywhere, so it can be handed out anew.
    void release_id(uint32_t id);
    // Applies `update` to every value carrying `id` (nonzero).
    void update_copies(uint32_t id, const std::function<void(Value&)>& update);

    // References held: on some path (after a join, held on any of them).
    [[nodiscard]] const std::vector<Reference>& references() const { return references_; }
    [[nodiscard]] bool holds_reference(uint32_t id) const;
    void acquire_reference(Reference reference);
    // Releasing a reference also ends the pointers derived from it.
    void release_reference(uint32_t id);
    // `child` (the id of bpf_sk_fullsock's result) was cast from the
    // referenced `parent`: it becomes unusable when `parent` is released
    // (the kernel gives ptr cast results the parent's ref_obj_id).
    void derive(uint32_t parent, uint32_t child);
    [[nodiscard]] bool is_derived(uint32_t id) const;
    [[nodiscard]] const std::vector<std::pair<uint32_t, uint32_t>>& derived() const { return derived_; }

    [[nodiscard]] const std::optional<HeldLock>& lock() const { return lock_; }
    void set_lock(std::optional<HeldLock> lock) { lock_ = lock; }

    [[nodiscard]] bool same_packet_ranges(const AbstractState& other) const;
    [[nodiscard]] AbstractState join(const AbstractState& other) const;
    // At a loop head: this state widened by the next iterate (numbers and
    // offsets jump to thresholds), and narrowed by a later one below it.
    [[nodiscard]] AbstractState widen(const AbstractState& next, const domains::Thresholds& thresholds) const;
    [[nodiscard]] AbstractState narrow(const AbstractState& next) const;
    [[nodiscard]] bool leq(const AbstractState& other) const;
    [[nodiscard]] bool equals(const AbstractState& other) const;

    // Lines like "r1 = pointer to stack frame 0, offset -8", for the registers that are initialized.
    [[nodiscard]] std::string to_string(const ir::Object* object) const;

private:
    [[nodiscard]] AbstractState combine(const AbstractState& other,
                                        const std::function<Value(const Value&, const Value&)>& combine_values,
                                        const std::function<Scalar(const Scalar&, const Scalar&)>& combine_offsets,
                                        bool rebase) const;

    bool bottom_ = false;
    std::vector<Frame> frames_;
    std::vector<PacketBase> packet_bases_;  // sorted by id; always holds id 0
    std::vector<Reference> references_;     // sorted by id
    std::vector<std::pair<uint32_t, uint32_t>> derived_;  // (parent reference, child id), sorted
    int64_t meta_range_ = 0;
    std::optional<HeldLock> lock_;
};

}  // namespace bpfvet::analyzer
