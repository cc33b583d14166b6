// Path-by-path exploration, the kernel verifier's strategy: follow one path at
// a time through the instructions, pushing the other side of each branch for
// later, calls entered with a frame of their own; stop a path when a state
// already explored to the end at the same instruction covers it
// (analyzer/pruning.hpp). Nothing is ever joined, so every correlation the
// kernel keeps between registers along a path, we keep too.
//
// Long loops are where this costs most: a path going round a loop the 64th
// time hands the loop to the fixpoint machinery (Engine::widen_loop), which
// proves an invariant and termination and continues from the loop's exits;
// when that fails the path goes on unrolling, as the kernel does, until the
// instruction budget ends it.
#pragma once

#include "analyzer/diagnostic.hpp"
#include "analyzer/precision.hpp"
#include "analyzer/state.hpp"

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace bpfvet::analyzer::detail {

class Engine;

// What one exploration counts, the kernel's way (processed instructions are Engine::steps_).
struct ExplorationStats {
    uint64_t states = 0;       // checkpoints stored (the kernel's total_states)
    uint64_t peak_states = 0;  // most stored at once (peak_states)
    uint64_t pruned = 0;       // paths ended by a covering state
};

class Explorer {
public:
    // Explores the function whose frame is the innermost of `entry` (entry
    // holds `base_frames` frames), from instruction `pc`.
    Explorer(Engine& engine, size_t base_frames);
    // Returns the join of the states in which that function returns (for the
    // program's entry function, whose exits are checked as program exits: bottom).
    AbstractState run(uint32_t pc, const AbstractState& entry);
    // The running path from this exploration's entry to `pc` (inclusive), for
    // the diagnostic of an error found there: rebuilt from the checkpoint
    // parents only when an error is reported, so accepted paths pay nothing.
    [[nodiscard]] std::vector<PathStep> failing_path(uint32_t pc) const;

private:
    struct Checkpoint {
        AbstractState state;  // dead registers removed
        uint32_t pc = 0;
        Checkpoint* parent = nullptr;
        uint32_t branches = 1;  // paths still running below it
        Marks precise;          // numbers whose value mattered below it (final once branches is 0)
        // Numbers compared exactly because a path below it ended on a loop
        // ancestor still being explored (prune_by_loop): pruning compares them
        // as precise; widening (widen_imprecise_numbers) does not count them.
        Marks loop_precise;
        Marks read;             // stack slots read below it before being written (the kernel's REG_LIVE_READ)
        Marks written;          // stack slots written whole between the parent and here
        Segment segment;        // the instructions from the parent to here (dropped once finished)
        uint32_t hits = 0, misses = 0;
        bool listed = false;
        uint64_t fingerprint = 0;  // of `state`, to find an identical state of a loop quickly
        uint32_t may_goto_depth = 0;
    };
    struct LoopVisit {
        uint32_t head_pc = 0;
        size_t frame = 0;
        uint64_t visits = 0;  // times the path came back to the head from inside the loop
    };
    struct Path {
        uint32_t pc = 0;
        AbstractState state;
        Checkpoint* parent = nullptr;
        Segment segment;
        Marks written;  // stack slots written whole since the parent
        std::vector<LoopVisit> loops;
        uint32_t previous_pc = UINT32_MAX;  // the instruction run before pc, in the same frame
        // Iterations entered past a may_goto: the kernel's may_goto_depth. States
        // of different depths at a may_goto may prune each other (visit).
        uint32_t may_goto_depth = 0;
    };

    void run_path(Path& path);
    // At a prune point: false when a covering state ends the path (or it loops forever).
    bool visit(Path& path);
    void push_branch(Path& path, uint32_t target, AbstractState state);
    // After a legacy packet load: the path on which it failed and left the function.
    void leave_after_failed_packet_load(Path& path);
    // may_goto: the path leaves the loop; one more iteration is pushed, one level deeper.
    void take_may_goto(Path& path, Step step);
    // After an iterator's `next` (Engine::iterator_next_): this path goes on
    // with NULL and the iterator drained; an active one also gives an element
    // on a pushed path, one depth deeper.
    void take_iterator_next(Path& path, std::pair<size_t, int16_t> where);
    // Numbers that changed since the previous iteration at `pc` and decided nothing become unknown.
    void widen_imprecise_numbers(const Path& path, uint32_t pc, AbstractState& again) const;
    // The path ends on an ancestor at a loop's may_goto or iterator `next`.
    void prune_by_loop(Path& path, Checkpoint& c);
    // The path ends on a covering state `c` (a finished one, or at a may_goto an ancestor).
    void prune_by(Path& path, Checkpoint& c);
    // The path ended: checkpoints with no path left below them are finished.
    void finish(Path& path);
    // Marks `needed` (values right before path.pc) precise, back along the path.
    // `loop_only`: into Checkpoint::loop_precise instead.
    void mark_precise(Path& path, Marks needed, bool loop_only = false);
    void mark_all_precise(Checkpoint* from, bool loop_only = false);
    // precise and loop_precise: what pruning against `c` compares exactly.
    static Marks compared_exactly(const Checkpoint& c);
    // The path read these stack slots (right before path.pc): the checkpoints
    // before the writes they saw must keep them.
    void mark_read(Path& path, const Marks& slots);
    // After an instruction: its stack reads and whole-slot writes (Engine::stack_accesses_).
    void note_stack_accesses(Path& path);
    // Arriving at a loop head: counts visits and hands long loops to widening.
    // true when widening took the path over.
    bool arrive_at_loop_head(Path& path);
    bool widen(Path& path, uint64_t visits);
    // A function in the path's innermost frame returns: back to its caller
    // (false: error), or the end of the path when it is the base frame.
    bool return_or_exit(Path& path);
    AbstractState trimmed(const AbstractState& state, uint32_t pc) const;
    Step step_of(const Path& path, const ir::Instruction& insn) const;
    void record_links(Path& path, Step& step, const ir::Instruction& insn) const;
    Marks precision_uses(const Path& path, const ir::Instruction& insn) const;

    Engine& engine_;
    const size_t base_frames_;
    const Path* running_ = nullptr;  // the path run_path is following
    const Checkpoint* last_cover_ = nullptr;  // the state that pruned the last pruned path (for --trace)
    std::vector<Path> stack_;
    std::deque<Checkpoint> checkpoints_;              // stable addresses
    std::vector<std::vector<Checkpoint*>> explored_;  // per pc: finished checkpoints to compare with
    // Checkpoints still being explored (ancestors of the running path), by pc
    // and fingerprint: the path coming back to one in the same state loops forever.
    std::unordered_map<uint64_t, std::vector<Checkpoint*>> in_progress_;
    std::vector<uint32_t> in_progress_at_;  // per pc: how many; most visits meet none and skip the fingerprint
    uint64_t listed_ = 0, in_progress_count_ = 0;
    // The kernel's heuristic: a new checkpoint only after 2 jumps and 8 instructions.
    uint64_t jumps_ = 0, instructions_ = 0, jumps_at_checkpoint_ = 0, instructions_at_checkpoint_ = 0;
    AbstractState returns_ = AbstractState::bottom();
};

}  // namespace bpfvet::analyzer::detail
