// The analyzer's machinery, shared by the transfer_*.cpp and fixpoint.cpp files.
// Not part of the public interface (see analyzer.hpp).
#pragma once

#include "analyzer/analyzer.hpp"
#include "analyzer/btf_access.hpp"
#include "analyzer/context_table.hpp"
#include "analyzer/explorer.hpp"
#include "analyzer/helper_table.hpp"
#include "analyzer/liveness.hpp"
#include "analyzer/state.hpp"
#include "analyzer/tracer.hpp"
#include "ir/cfg.hpp"

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>

namespace bpfvet::analyzer::detail {

enum class Access : uint8_t { Read, Write };

inline constexpr int max_call_frames = 8;  // the kernel's MAX_CALL_FRAMES

// How a helper calls a callback of the program (callbacks.cpp): its
// arguments, built from the caller's state at the helper call, and the range
// the kernel wants its r0 in.
struct CallbackCall {
    std::string_view helper;                        // for messages: "bpf_loop"
    std::function<void(const AbstractState& caller, Frame& callee)> arguments;
    uint64_t max_return = 1;                        // r0 in [0, max_return]
    // Async (timers): it runs later, on its own; the caller goes on as if it had
    // not been called, and the callback must leave with no lock or reference of its own.
    bool async = false;
};

// Tags keep ids handed out at the same pc apart.
enum class IdTag : uint32_t { Copy = 0, Lookup = 1, PacketBase = 2, Socket = 3 };

// A small set of states kept apart instead of joined: paths where registers
// hold different kinds of values (a stack pointer here, a map value there) or
// where different packet ranges are proven stay separate, as the kernel's
// path-by-path exploration keeps them. States of the same shape are joined;
// beyond `limit` states, a new one is joined into the most similar.
class StateSet {
public:
    void add(const AbstractState& state, size_t limit);
    void add_all(const StateSet& other, size_t limit);
    [[nodiscard]] bool empty() const { return states_.empty(); }
    [[nodiscard]] bool equals(const StateSet& other) const;
    [[nodiscard]] const std::vector<AbstractState>& states() const { return states_; }
    [[nodiscard]] AbstractState joined() const;

private:
    std::vector<AbstractState> states_;
};

// Where the key of an array-map lookup lies when r2 points to the stack at a
// known offset: (offset from the frame pointer, frame), for the kernel's
// constant-key rule (Engine::known_present_key).
[[nodiscard]] std::optional<std::pair<int16_t, int16_t>> constant_key_slot(const AbstractState& state,
                                                                            const ir::MapDefinition& map);

// A loop of a function's weak topological order: where the exploration may
// hand it to widening.
struct LoopHead {
    uint32_t function = 0;
    const ir::WtoElement* component = nullptr;
    std::vector<bool> members;  // blocks of the loop, nested loops included
};

struct BranchStates {
    AbstractState taken;
    AbstractState fallthrough;
};

class Engine {
public:
    Engine(const ir::Object& object, const ir::Program& program, const ir::ProgramCfg& cfg,
           const AnalysisOptions& options, ir::ProgramType type);

    AnalysisResult run();
    // Loops finished by widening rather than unrolling.
    [[nodiscard]] uint64_t widened_loops() const { return widened_loops_; }

    // Every path through `function`, whose frame is the innermost of `entry`,
    // explored one by one (explorer.cpp); returns the join of the states it
    // returns in (bottom for the program's entry function).
    AbstractState analyze_function(uint32_t function, const AbstractState& entry);

    // --- transfer_call.cpp: local calls.
    // Pushes the callee's frame (arguments r1..r5, a new stack); the callee's
    // index, or nullopt after reporting an error.
    std::optional<uint32_t> enter_call(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    // The innermost frame's function exits at `pc`: pops its frame, r0 carried
    // to the caller; the caller's pc to resume at, or nullopt after reporting.
    std::optional<uint32_t> return_from_call(uint32_t pc, AbstractState& state);
    // Whether the local call at `pc` is checked against the callee's own
    // verification (a summary) rather than entered by the exploration: calls
    // of global functions (global_functions.cpp).
    [[nodiscard]] bool summarize_call(uint32_t pc) const;

    // --- global_functions.cpp: the kernel verifies each global function once,
    // on its own, from its BTF signature, and checks each call against it.
    // The function a local call at `pc` enters, if it starts one.
    [[nodiscard]] std::optional<uint32_t> callee_at(uint32_t pc) const;
    // A call of a global function: arguments checked against its signature,
    // r0 an unknown number, r1..r5 gone, packet pointers invalid if it may change packet data.
    void call_global_function(uint32_t pc, uint32_t callee, AbstractState& state);
    // Verifies every global function from its typed arguments (after the entry function).
    void analyze_global_functions();
    // Rules the kernel checks before exploring: subprograms may use tail calls
    // and LD_ABS/LD_IND only with BTF (func_info); false after reporting.
    bool check_subprogram_rules();
    // Per function: whether calling it may change packet data (a helper that
    // does, a tail call, or such a call further down): the caller's packet
    // pointers are invalid when it returns.
    std::vector<bool> changes_packet_data_;
    // A lookup in an array map whose key (r2) is a known number below max_entries finds a value.
    [[nodiscard]] bool known_present_key(const AbstractState& state, const ir::MapDefinition& map) const;

    // --- transfer_*.cpp: each leaves `state` bottom after reporting an error.
    void execute(uint32_t pc, AbstractState& state);
    BranchStates branch(uint32_t pc, const AbstractState& state);
    void check_exit(uint32_t pc, AbstractState& state);

private:
    friend class Explorer;
    struct EdgeState {
        ir::BlockId target = 0;
        StateSet states;
    };
    // One run of the fixpoint machinery over a function's blocks (widening a loop).
    struct FunctionRun {
        const ir::FunctionCfg& cfg;
        AbstractState entry;
        AbstractState exits = AbstractState::bottom();
        // States on the edges leaving each block, keyed by (block, edge kind).
        std::map<std::pair<ir::BlockId, ir::EdgeKind>, EdgeState> edges;
    };
    void run_sequence(FunctionRun& run, const std::vector<ir::WtoElement>& elements);
    void run_component(FunctionRun& run, const ir::WtoElement& component);
    // One pass through a loop from `in` at its head; returns the states coming back to the head.
    StateSet run_pass(FunctionRun& run, const ir::WtoElement& component, const std::vector<bool>& members,
                      const StateSet& in);
    // A loop still running after max_unrolled_passes: widening, narrowing, a
    // silent checking pass with the termination proof, and if all succeed the
    // reporting pass from the invariant found. false: go on unrolling.
    bool widen_loop(FunctionRun& run, const ir::WtoElement& component, const std::vector<bool>& members,
                    const AbstractState& start);
    struct Termination {
        bool proven = false;
        uint64_t iterations = 0;  // at most, from the head state on
        std::string reason;       // the bounding variable, or why none bounds the loop
    };
    // `head` carries ghost tags (Value::origin); `back` the states returning to it.
    Termination prove_termination(const AbstractState& head, const StateSet& back) const;
    void run_block(FunctionRun& run, ir::BlockId block, AbstractState state);
    void tag_split_branch(uint32_t pc, BranchStates& out) const;
    void run_blocks(FunctionRun& run, ir::BlockId block, const StateSet& states);
    StateSet incoming(FunctionRun& run, ir::BlockId block, const std::vector<bool>* inside, bool from_inside);
    void add_edge(FunctionRun& run, ir::BlockId source, ir::EdgeKind kind, const AbstractState& state);

    void execute_alu(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    void pointer_arithmetic(uint32_t pc, const ir::Instruction& insn, AbstractState& state, const Value& src);
    bool add_to_pointer(uint32_t pc, AbstractState& state, Value& pointer, const Scalar& amount, bool subtract,
                        int reg);
    void execute_load(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    void execute_store(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    void execute_atomic(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    void execute_lddw(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    void execute_legacy_packet_load(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    void execute_helper_call(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    // transfer_kfunc.cpp: a call of a kernel function, checked against its
    // row in the kfunc table and its prototype in the kernel's BTF.
    void execute_kfunc_call(uint32_t pc, AbstractState& state);
    // transfer_iterator.cpp: the iterator argument (r1) of an open-coded
    // iterator kfunc (KF_ITER_NEW / NEXT / DESTROY), checked as the kernel's
    // process_iter_arg; `iterator` the struct's kernel BTF id. The iterator's
    // (frame, offset), or nullopt after reporting.
    std::optional<std::pair<size_t, int16_t>> check_iterator_argument(uint32_t pc, AbstractState& state,
                                                                      std::string_view kfunc, uint32_t flags,
                                                                      uint32_t iterator);
    // After the other arguments passed: creates, advances or destroys it;
    // false after reporting. `next` leaves r0 to the caller.
    bool apply_iterator_kfunc(uint32_t pc, AbstractState& state, std::string_view kfunc, uint32_t flags,
                              uint32_t iterator, std::pair<size_t, int16_t> where);
    void execute_local_call(uint32_t pc, const ir::Instruction& insn, AbstractState& state);
    // A callback run by a helper any number of times (or later, when async):
    // false when it reported (callbacks.cpp).
    bool execute_callback(uint32_t pc, AbstractState& state, uint32_t callback, const CallbackCall& call);
    // The callback argument of `helper` (bpf_loop, bpf_for_each_map_elem,
    // bpf_timer_set_callback): how it is called, or nullopt after reporting.
    std::optional<CallbackCall> callback_call(uint32_t pc, AbstractState& state, const HelperPrototype& helper,
                                              std::optional<uint32_t> timer_map);
    // spin_lock.cpp: bpf_spin_lock / bpf_spin_unlock on `arg`; false after reporting.
    bool execute_spin_lock(uint32_t pc, AbstractState& state, const HelperPrototype& helper, int reg);
    // Whether a map value pointer may point to a value holding a bpf_spin_lock
    // (the kernel keeps such pointers' ids after a null check: the lock's identity).
    [[nodiscard]] bool may_point_to_spin_lock(const Value& value) const;
    // The kernel's check_map_prog_compatibility for the maps the program uses:
    // locks and timers are not for tracing programs; false after reporting.
    bool check_map_program_compatibility();
    // const_string.cpp: an ARG_PTR_TO_CONST_STR argument: the string, or nullopt after reporting.
    std::optional<std::string_view> check_const_string(uint32_t pc, AbstractState& state,
                                                       const HelperPrototype& helper, int reg);
    // bpf_snprintf's format against its data_len (bpf_bprintf_prepare); false after reporting.
    bool check_format_string(uint32_t pc, AbstractState& state, const HelperPrototype& helper,
                             std::string_view format);
    // timer.cpp: a struct bpf_timer argument: the map whose value holds it, or nullopt after reporting.
    std::optional<uint32_t> check_timer_argument(uint32_t pc, AbstractState& state, const HelperPrototype& helper,
                                                 int reg);
    // Checks that a special field of `kind` lies exactly where `reg` points in a map value
    // (process_spin_lock, process_timer_func); false after reporting with `code`.
    bool check_special_field(uint32_t pc, AbstractState& state, const HelperPrototype& helper, int reg,
                             ir::SpecialField::Kind kind, ErrorCode code);

public:
    // --- transfer_memory.cpp
    // Checks an access of `size` bytes at `pointer` + `offset`. For reads,
    // returns the loaded value; for writes, stores `stored` (may be null for
    // "unknown bytes"). nullopt after reporting an error. `what` names the
    // access in messages ("read", "helper argument r2").
    // The kernel's check_ptr_alignment: stack accesses are always strict (its
    // spill tracking assumes aligned slots); atomics are strict everywhere.
    bool check_alignment(uint32_t pc, AbstractState& state, int reg, int64_t offset, int64_t size, bool atomic);
    // The kernel's save_aux_ptr_type: an instruction that reads or writes the
    // context (or a socket, a kernel object) on one path may not access another
    // kind of memory on another.
    bool check_same_pointer_kind(uint32_t pc, AbstractState& state, int reg);
    std::optional<Value> access_memory(uint32_t pc, AbstractState& state, int reg, int64_t offset, int64_t size,
                                       Access access, const Value* stored, bool variable_size = false);
    bool check_stack_depth(uint32_t pc, AbstractState& state);
    // After the exploration, the kernel's check_max_stack_depth: along every
    // chain of calls in the code, each function's whole depth (function_depths_).
    void check_call_chain_depth();
    // transfer_call.cpp: unprivileged helpers may not read spilled pointers from the stack.
    bool check_helper_gates(uint32_t pc, AbstractState& state, const HelperPrototype& helper);
    bool check_helper_memory(uint32_t pc, AbstractState& state, int reg, int64_t bytes, Access access,
                             const HelperPrototype& helper);
    bool check_no_spilled_pointer(uint32_t pc, AbstractState& state, int reg, int64_t size,
                                  const HelperPrototype& helper);

    // Reports an error with the registers `regs` described; the state becomes bottom.
    void report(AbstractState& state, ErrorCode code, uint32_t pc, std::string message, std::vector<int> regs);
    // A path reached an instruction the kernel refuses when reached (ir::Defect):
    // reports it and ends the path (state becomes bottom).
    bool reject_if_defective(uint32_t pc, AbstractState& state);
    bool require_initialized(uint32_t pc, AbstractState& state, int reg);
    uint32_t fresh_id(AbstractState& state, uint32_t pc, IdTag tag);
    bool can_write_packet() const;
    bool budget_spent(uint32_t pc, AbstractState& state);

    const ir::Object& object_;
    const ir::Program& program_;
    const ir::ProgramCfg& cfg_;
    const AnalysisOptions& options_;
    ir::ProgramType type_;
    std::optional<ContextDescriptor> context_;
    // BTF-typed programs (fentry/fexit/fmod_ret/tp_btf/lsm): the attach kind
    // from the section, its target resolved in options_.kernel_btf, or why
    // the arguments stay untyped numbers.
    std::optional<BtfAttachKind> btf_kind_;
    std::optional<BtfAttach> btf_attach_;
    std::string btf_untyped_reason_;
    // transfer_memory.cpp: loads through the context of a BTF-typed program and through kernel objects.
    std::optional<Value> access_btf_context(uint32_t pc, AbstractState& state, int reg, int64_t offset, int64_t size,
                                            Access access, bool variable_size);
    std::optional<Value> access_btf_object(uint32_t pc, AbstractState& state, int reg, int64_t offset, int64_t size,
                                           Access access, bool variable_size);
    std::vector<Diagnostic> errors_;
    // The innermost exploration running, whose path an error's diagnostic records.
    const Explorer* explorer_ = nullptr;
    // With options.trace only: null otherwise, so the hooks cost one test per step.
    std::unique_ptr<Tracer> tracer_;
    std::set<std::pair<uint32_t, ErrorCode>> reported_;
    // Per function: the most stack bytes any of its frames touched on any path
    // (the kernel's subprog stack_depth).
    std::vector<int32_t> function_depths_;
    uint64_t steps_ = 0;
    uint64_t steps_at_first_error_ = 0;
    bool aborted_ = false;
    std::chrono::steady_clock::time_point started_;
    std::map<uint32_t, AbstractState> invariants_;
    std::vector<std::vector<RegisterSet>> live_in_;
    // Registers live before each instruction, for the states the exploration stores.
    std::vector<RegisterSet> live_before_;
    // Where the exploration compares states, as the kernel does: conditional
    // jumps, jump targets, calls and their return points, function starts.
    std::vector<bool> prune_points_;
    // Per memory instruction, the kind of pointer it first accessed through
    // (0: none yet, else PointerKind + 1): the kernel rewrites context and
    // socket accesses per instruction, so one instruction serves one kind.
    std::vector<uint8_t> access_kinds_;
    // Loop heads (by pc) of each function's weak topological order, for widening.
    std::map<uint32_t, LoopHead> loop_heads_;
    ExplorationStats exploration_;
    uint64_t widened_loops_ = 0;
    // Stack bytes the instruction being run read or wrote, for the exploration's
    // stack liveness (filled by access_memory).
    struct StackAccess {
        uint32_t frame = 0;
        int64_t lo = 0, hi = 0;  // bytes [lo, hi) from that frame's pointer
        bool write = false;
        bool variable = false;   // a variable offset: some of these bytes
    };
    std::vector<StackAccess> stack_accesses_;
    // Set by the iterator `next` kfunc the instruction being run called: the
    // iterator's (frame, offset). The exploration splits there, as the
    // kernel's process_iter_next_call: NULL and drained, or an element and
    // one iteration deeper.
    std::optional<std::pair<size_t, int16_t>> iterator_next_;
    // Whether `pc` calls an iterator's `next` kfunc (a forced checkpoint, where loops converge).
    [[nodiscard]] bool is_iterator_next(uint32_t pc) const;
    // The loop a path has gone round most often, for the budget's message.
    // Per conditional jump: how often a path split there (both ways feasible),
    // to name the branches that use up the budget.
    std::vector<uint64_t> splits_;
    [[nodiscard]] std::string busiest_branches() const;
    uint32_t hot_loop_pc_ = 0;
    uint64_t hot_loop_visits_ = 0;
    // Why widening could not finish the loop at each head pc, for that message.
    std::map<uint32_t, std::string> widening_failures_;
    // Loops being analysed, innermost last: head pc, passes so far, and why
    // widening could not finish it (for the message if the budget runs out).
    struct LoopRun {
        uint32_t head_pc = 0;
        uint64_t passes = 0;
        std::string widening_failure;
    };
    std::vector<LoopRun> loops_;
    // While searching a widened loop's invariant, errors only cut the path:
    // the pass from the invariant found reports them.
    bool silent_ = false;
    uint64_t silent_errors_ = 0;  // errors met while silent
    // Steps the kernel would spend on iterations of widened loops that we did
    // not unroll (iterations x steps of one pass), counted against max_steps.
    uint64_t charged_steps_ = 0;
    // Widening thresholds: the defaults and the program's comparison constants.
    domains::Thresholds thresholds_;
    domains::Thresholds extremes_ = domains::Thresholds::none();
    // Ghost tags (Value::origin) handed out to loop heads being proven.
    uint32_t next_origin_ = 1;
};

}  // namespace bpfvet::analyzer::detail
