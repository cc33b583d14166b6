// Precision backtracking, as the kernel's mark_chain_precision does it: which
// numbers' exact values a safety decision depended on, followed backwards
// through the instructions that computed them.
//
// A path-by-path exploration prunes a new state when a state already proven
// safe at the same place covers it. A number whose value no decision below the
// old state ever used (a counter only printed, a flag only stored) need not be
// covered: only "precise" numbers are compared. Decisions mark their operands
// precise (an offset added to a pointer, a helper's size, a branch that could
// go only one way, r0 at exit); backtracking carries the mark to the values
// they were computed from, up to the checkpoints of the path.
//
//   r2 = *(u32 *)(r1 + 0)     <- r2 loaded: backtracking stops (r2 needed no further)
//   r3 = r2                   <- r3 needed: r2 needed
//   r3 += 4                   <- r3 needed: r3 needed
//   r4 += r3                  <- pointer arithmetic: r3 must be precise
#pragma once

#include "ir/instruction.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfvet::analyzer::detail {

inline constexpr int MaxFrames = 8;

// Registers and 8-byte stack slots of each active frame; slot i of a frame
// holds the bytes [fp - 8 (i + 1), fp - 8 i).
struct FrameMarks {
    uint16_t registers = 0;
    uint64_t slots = 0;
    friend bool operator==(const FrameMarks&, const FrameMarks&) = default;
};

struct Marks {
    std::array<FrameMarks, MaxFrames> frames{};

    [[nodiscard]] bool empty() const {  // inline: asked after every instruction
        uint64_t any = 0;
        for (const auto& frame : frames) any |= frame.registers | frame.slots;
        return any == 0;
    }
    [[nodiscard]] bool has_register(size_t frame, int reg) const { return (frames[frame].registers >> reg) & 1; }
    void add_register(size_t frame, int reg) { frames[frame].registers |= uint16_t(1u << reg); }
    void remove_register(size_t frame, int reg) { frames[frame].registers &= uint16_t(~(1u << reg)); }
    // The slots that bytes [offset, offset + size) from the frame pointer touch.
    // Example: bytes [-12, -4) touch slot 0 ([-8, 0)) and slot 1 ([-16, -8)).
    // Inline: pruning asks it for every spill of every compared state.
    [[nodiscard]] static uint64_t slots_of(int64_t offset, int64_t size) {
        if (size <= 0) return 0;
        const int64_t lo = offset > -512 ? offset : -512, hi = offset + size < 0 ? offset + size : 0;
        if (lo >= hi) return 0;
        const int64_t first = -hi / 8;        // slot of the highest byte
        const int64_t last = (-lo - 1) / 8;   // slot of the lowest byte (at most 63)
        return (~uint64_t(0) >> (63 - last)) & (~uint64_t(0) << first);
    }
    void add(const Marks& other);
    // Everything: registers r0..r9 and every slot of the first `frames` frames.
    static Marks all(size_t frames);
    friend bool operator==(const Marks&, const Marks&) = default;
};

// One executed instruction of a path, with what backtracking cannot read off
// the instruction itself.
struct Step {
    static constexpr uint8_t NoStack = 0xff;
    uint32_t pc = 0;
    uint8_t frame = 0;                  // the frame that ran it (0: the program's entry function)
    uint8_t stack_frame = NoStack;      // loads, stores, atomics on the stack at a constant offset: its frame
    int16_t stack_offset = 0;           // ... and the offset from that frame pointer
    // Conditional jumps on scalars with copies: 1 + index into the segment's
    // link table (the registers and slots that shared the operand's id).
    uint32_t links = 0;
    // Where backtracking cannot follow the values (after a widened loop):
    // everything before is needed precise.
    bool opaque = false;
};

// The instructions a path ran between two checkpoints, in order.
struct Segment {
    std::vector<Step> steps;
    std::vector<Marks> links;
};

// Given the values needed precise right after `step` ran `insn`, leaves in
// `needed` those needed right before it. Returns false when the step is
// opaque (the caller must then treat everything as needed).
//   needed {r1}, r1 += r2       -> {r1, r2}
//   needed {r1}, r1 = 5         -> {}
//   needed {r1}, r1 = *(u64 *)(r10 - 8)  -> {frame slot 0}
//   needed {slot 0}, *(u64 *)(r10 - 8) = r3  -> {r3}
[[nodiscard]] bool backtrack(const ir::Instruction& insn, const Step& step, const Segment& segment, Marks& needed);

}  // namespace bpfvet::analyzer::detail
