#include "analyzer/analyzer.hpp"

#include "analyzer/causal_story.hpp"
#include "analyzer/engine.hpp"
#include "analyzer/refine.hpp"
#include "ir/disassembler.hpp"
#include "ir/helper_names.hpp"
#include "ir/validator.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer {
namespace detail {

namespace {

// Loop bounds are usually constants compared against (`i < 100`) or moved
// into a register first (`r2 = 100; if r1 < r2`): a widened bound stops at
// them (c, c - 1 for `i < 100` tested after `i++`, c + 1 for `i <= 99`; the
// thresholds add the negations).
domains::Thresholds comparison_thresholds(const ir::Program& program) {
    domains::Thresholds thresholds;
    size_t added = 0;
    constexpr size_t max_added = 256;
    for (const auto& insn : program.instructions) {
        const bool jump = insn.is_conditional_jump() && insn.source() == ir::Source::Imm;
        const bool move = (insn.cls() == ir::InstructionClass::Alu64 || insn.cls() == ir::InstructionClass::Alu) &&
                          insn.alu_op() == ir::AluOp::Mov && insn.source() == ir::Source::Imm;
        if ((!jump && !move) || added >= max_added) continue;
        const uint64_t c = uint64_t(int64_t(insn.imm));
        thresholds.add(c - 1);
        thresholds.add(c);
        thresholds.add(c + 1);
        added += 3;
    }
    return thresholds;
}

// The kernel's prune points (check_cfg): conditional jumps and their targets,
// goto targets, calls, the instruction after each call, callee starts.
std::vector<bool> prune_points_of(const ir::Program& program) {
    const size_t n = program.instructions.size();
    std::vector<bool> points(n, false);
    auto mark = [&](int64_t pc) {
        if (pc >= 0 && size_t(pc) < n) points[size_t(pc)] = true;
    };
    for (size_t pc = 0; pc < n; ++pc) {
        const ir::Instruction& insn = program.instructions[pc];
        if (insn.is_lddw()) {
            ++pc;
            continue;
        }
        if (insn.is_conditional_jump()) {
            mark(int64_t(pc));
            mark(int64_t(pc) + insn.jump_offset() + 1);
        } else if (insn.is_goto()) {
            mark(int64_t(pc) + insn.jump_offset() + 1);
        } else if (insn.is_call()) {
            mark(int64_t(pc) + 1);
            if (insn.is_local_call()) {
                mark(int64_t(pc));
                mark(int64_t(pc) + insn.imm + 1);
            }
        }
    }
    return points;
}

void collect_loop_heads(const ir::FunctionCfg& function, const ir::WtoElement& element,
                        std::map<uint32_t, LoopHead>& heads) {
    if (!element.is_component) return;
    LoopHead head;
    head.function = function.function_index;
    head.component = &element;
    head.members.assign(boost::num_vertices(function.graph), false);
    std::vector<const ir::WtoElement*> work{&element};
    while (!work.empty()) {
        const ir::WtoElement* e = work.back();
        work.pop_back();
        head.members[e->block] = true;
        for (const auto& inner : e->body) work.push_back(&inner);
    }
    heads.emplace(function.graph[element.block].first, std::move(head));
    for (const auto& inner : element.body) collect_loop_heads(function, inner, heads);
}

}  // namespace

Engine::Engine(const ir::Object& object, const ir::Program& program, const ir::ProgramCfg& cfg,
               const AnalysisOptions& options, ir::ProgramType type)
    : object_(object), program_(program), cfg_(cfg), options_(options), type_(type),
      context_(context_descriptor(type, program.attach_target)), live_in_(compute_liveness(program, cfg)),
      live_before_(live_before_instructions(program, cfg, live_in_)), prune_points_(prune_points_of(program)), access_kinds_(program.instructions.size(), 0), splits_(program.instructions.size(), 0),
      thresholds_(comparison_thresholds(program)) {
    function_depths_.assign(program.functions.size(), 0);
    for (const auto& function : cfg.functions)
        for (const auto& element : function.wto) collect_loop_heads(function, element, loop_heads_);
    for (const auto& [pc, head] : loop_heads_)
        if (pc < prune_points_.size()) prune_points_[pc] = true;
    // An iterator's `next` is where its loop converges (the kernel's is_iter_next_insn prune point).
    for (uint32_t pc = 0; pc < prune_points_.size(); ++pc)
        if (is_iterator_next(pc)) prune_points_[pc] = true;
    if (!options.trace.pcs.empty())
        tracer_ = std::make_unique<Tracer>(options.trace, program.instructions.size(), &object);
    btf_kind_ = btf_attach_kind(type, program.section);
    if (!btf_kind_) return;
    if (context_) {
        if (auto range = btf_return_range(*btf_kind_)) context_->return_range = range;
    }
    if (!options.kernel_btf) {
        btf_untyped_reason_ = "no kernel BTF";
        return;
    }
    auto attach = resolve_btf_attach(*options.kernel_btf, *btf_kind_, program.section);
    if (attach) btf_attach_ = std::move(*attach);
    else btf_untyped_reason_ = attach.error();
    // An lsm hook returning void accepts any return value.
    if (btf_attach_ && btf_attach_->returns_void && *btf_kind_ == BtfAttachKind::Lsm && context_)
        context_->return_range.reset();
}

void Engine::report(AbstractState& state, ErrorCode code, uint32_t pc, std::string message,
                    std::vector<int> regs) {
    if (silent_) {
        ++silent_errors_;
        state = AbstractState::bottom();
        return;
    }
    if (errors_.empty()) steps_at_first_error_ = steps_;
    if (reported_.insert({pc, code}).second && errors_.size() < options_.max_errors) {
        Diagnostic d;
        d.code = code;
        d.pc = pc;
        const ir::Instruction* next = pc + 1 < program_.instructions.size() ? &program_.instructions[pc + 1] : nullptr;
        ir::DisassemblyContext context{pc, &object_, &program_.functions, nullptr};
        d.instruction = pc < program_.instructions.size() ? ir::disassemble(program_.instructions[pc], next, context)
                                                           : std::string("(end of program)");
        d.message = std::move(message);
        if (const ir::SourceLocation* location = program_.source_line(pc)) d.location = *location;
        if (!state.is_bottom() && state.frame_count() > 0) {
            for (int r : regs)
                d.registers.push_back(fmt::format("r{} = {}", r, describe_value(state.reg(r), &object_)));
        }
        d.subject_registers = std::move(regs);
        if (explorer_ != nullptr) d.path = explorer_->failing_path(pc);
        errors_.push_back(std::move(d));
    }
    state = AbstractState::bottom();
}

bool Engine::require_initialized(uint32_t pc, AbstractState& state, int reg) {
    if (!state.reg(reg).is_uninitialized()) return true;
    report(state, ErrorCode::UninitializedRegister, pc,
           fmt::format("r{} is read here but no value was written to it on some path to this instruction", reg), {});
    return false;
}

uint32_t Engine::fresh_id(AbstractState& state, uint32_t pc, IdTag tag) {
    uint32_t id = (pc << 2 | uint32_t(tag)) + 1;
    if (tag == IdTag::PacketBase) {
        // Pointers on an older base from this pc (an earlier loop pass) keep
        // their proven range under a new name: id + generation << 24.
        if (state.packet_base(id) != nullptr) {
            uint32_t generation = 1;
            while (generation < 256 && state.packet_base(id | generation << 24) != nullptr) ++generation;
            if (generation < 256) state.rename_packet_base(id, id | generation << 24);
            else state.drop_packet_base(id);
        }
    } else
        state.release_id(id);
    return id;
}

bool Engine::can_write_packet() const {
    using ir::ProgramType;
    switch (type_) {
    case ProgramType::Xdp:
    case ProgramType::SchedCls:
    case ProgramType::SchedAct:
    case ProgramType::LwtXmit:
    case ProgramType::LwtSeg6local:
    case ProgramType::SkSkb:
    case ProgramType::SkMsg: return true;
    default: return false;
    }
}

namespace {
constexpr uint64_t extra_steps_after_error = 100'000;
}  // namespace

bool Engine::budget_spent(uint32_t pc, AbstractState& state) {
    if (aborted_) return true;
    ++steps_;
    bool over_steps = steps_ + charged_steps_ > options_.max_steps;
    bool over_time = false;
    if ((steps_ & 0xfff) == 0) {
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        over_time = seconds > options_.max_seconds;
    }
    // After an error the program is rejected: exploring further only looks
    // for more errors, within a bounded extra effort and without a budget error.
    if (!errors_.empty() && steps_ > steps_at_first_error_ + extra_steps_after_error) {
        aborted_ = true;
        return true;
    }
    if (!over_steps && !over_time) return false;
    aborted_ = true;
    silent_ = false;  // running out of budget ends the analysis, whatever pass it happens in
    // Steps are the budget (as the kernel's one million processed
    // instructions, the same on every machine); wall-clock time is only a
    // safety net, and a verdict it decides says so.
    std::string why = over_steps
        ? fmt::format("the analysis took more than {} instruction steps (the kernel's limit on processed instructions)",
                      options_.max_steps)
        : fmt::format("the analysis ran into its wall-clock safety net of {} seconds before deciding (a limit of this "
                      "machine's speed and load, not the kernel's: raise --max-seconds)",
                      options_.max_seconds);
    if (!loops_.empty() && loops_.back().passes > 64) {
        const LoopRun& loop = loops_.back();
        report(state, ErrorCode::UnboundedLoop, loop.head_pc,
               fmt::format("{} while the loop at instruction {} had run {} passes without exiting; {}", why,
                           loop.head_pc, loop.passes,
                           loop.widening_failure.empty()
                               ? std::string("its number of iterations is not bounded by anything the analysis can see")
                               : loop.widening_failure),
               {});
    } else if (hot_loop_visits_ > 64) {
        auto reason = widening_failures_.find(hot_loop_pc_);
        report(state, ErrorCode::UnboundedLoop, hot_loop_pc_,
               fmt::format("{}; one path had gone round the loop at "
                           "instruction {} {} times without leaving it; {}",
                           why, hot_loop_pc_, hot_loop_visits_,
                           reason != widening_failures_.end() && !reason->second.empty()
                               ? reason->second
                               : std::string("its number of iterations is not bounded by anything the analysis can see")),
               {});
    } else {
        report(state, ErrorCode::BudgetExceeded, pc,
               fmt::format("{}: the program has too many paths "
                           "that no explored state covers{}",
                           why, busiest_branches()),
               {});
    }
    return true;
}

std::string Engine::busiest_branches() const {
    std::vector<uint32_t> order;
    for (uint32_t pc = 0; pc < splits_.size(); ++pc)
        if (splits_[pc] > 0) order.push_back(pc);
    if (order.empty()) return "";
    const size_t shown = std::min<size_t>(order.size(), 3);
    std::partial_sort(order.begin(), order.begin() + ptrdiff_t(shown), order.end(),
                      [&](uint32_t a, uint32_t b) { return splits_[a] > splits_[b]; });
    std::string out = "; the paths split most at ";
    for (size_t i = 0; i < shown; ++i) {
        const uint32_t pc = order[i];
        std::string where;
        if (const ir::SourceLocation* line = program_.source_line(pc))
            where = fmt::format(" ({}:{})", line->file, line->line);
        out += fmt::format("{}instruction {}{}, {} times", i == 0 ? "" : ", ", pc, where, splits_[pc]);
    }
    return out;
}

void Engine::check_exit(uint32_t pc, AbstractState& state) {
    if (state.frame_count() > 1) return;  // a subprogram returns to its caller
    if (state.lock()) {
        report(state, ErrorCode::SpinLock, pc,
               fmt::format("the program may exit holding the bpf_spin_lock taken at instruction {} (the kernel: "
                           "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region)",
                           state.lock()->pc),
               {});
        return;
    }
    if (!state.references().empty()) {
        // The kernel's "Unreleased reference id=N alloc_insn=M".
        const Reference& held = state.references().front();
        const ir::Instruction& call = program_.instructions[held.pc];
        const ir::Program::KfuncCall* kfunc = call.is_kfunc_call() ? program_.kfunc_call(held.pc) : nullptr;
        std::string_view name = kfunc ? std::string_view(kfunc->name) : ir::helper_name(call.imm);
        report(state, ErrorCode::UnreleasedReference, pc,
               fmt::format("the program may exit still holding the reference taken by {} at instruction {} "
                           "(id {}); release it on every path",
                           name.empty() ? std::string_view("a helper") : name, held.pc, held.id),
               {});
        return;
    }
    const ir::Function& function = program_.functions[state.frame(0).function];
    if (state.frame(0).function != 0) {
        // A global function verified on its own: its callers see an unknown number.
        if (!function.returns_value) return;
        if (!require_initialized(pc, state, 0)) return;
        if (!state.reg(0).is_scalar())
            report(state, ErrorCode::ReturnValue, pc,
                   fmt::format("global function {} must return a number, but r0 is {}", function.name,
                               describe_value(state.reg(0), &object_)),
                   {0});
        return;
    }
    if (!require_initialized(pc, state, 0)) return;
    const Value& r0 = state.reg(0);
    std::optional<ReturnRange> range = context_ ? context_->return_range : std::nullopt;
    if (!r0.is_scalar()) {
        if (options_.unprivileged) {
            report(state, ErrorCode::PointerLeak, pc, "the program returns a pointer, which leaks a kernel address",
                   {0});
            return;
        }
        if (range) {
            report(state, ErrorCode::ReturnValue, pc,
                   fmt::format("r0 must be a number in [{}, {}] at exit, not a pointer", range->min, range->max), {0});
        }
        return;
    }
    const bool outside = range && (range->low_32_bits
                                       ? (r0.number.s32min() < range->min || r0.number.s32max() > range->max)
                                       : (r0.number.smin() < range->min || r0.number.smax() > range->max));
    if (outside) {
        report(state, ErrorCode::ReturnValue, pc,
               fmt::format("this program type must return a value in [{}, {}], but r0 may be {}", range->min,
                           range->max, r0.number.to_compact_string()),
               {0});
    }
}

bool Engine::reject_if_defective(uint32_t pc, AbstractState& state) {
    const ir::Defect* defect = program_.defect_when_reached(pc);
    if (!defect) return false;
    const ir::Instruction& insn = program_.instructions[pc];
    const bool divides_by_zero = insn.is_alu() && insn.source() == ir::Source::Imm && insn.imm == 0 &&
                                 (insn.alu_op() == ir::AluOp::Div || insn.alu_op() == ir::AluOp::Mod);
    report(state, divides_by_zero ? ErrorCode::DivisionByZero : ErrorCode::InvalidInstruction, pc, defect->message,
           {});
    state = AbstractState::bottom();
    return true;
}

AnalysisResult Engine::run() {
    started_ = std::chrono::steady_clock::now();
    AnalysisResult result;
    result.type = type_;
    AbstractState none = AbstractState::bottom();
    // The kernel refuses code that no path reaches.
    for (const auto& function : cfg_.functions) {
        for (ir::BlockId block : function.unreachable_blocks) {
            uint32_t first = function.graph[block].first;
            report(none, ErrorCode::UnreachableInstruction, first,
                   fmt::format("instruction {} cannot be reached from the start of its function", first), {});
        }
    }
    if (!context_) {
        report(none, ErrorCode::ContextAccess, 0,
               fmt::format("program type '{}' is not modelled by this analyzer", ir::program_type_name(type_)), {});
    }
    // Refused before any exploration, as the kernel does.
    const bool subprograms_allowed = check_map_program_compatibility() && check_subprogram_rules();
    if (subprograms_allowed && errors_.empty()) {
        AbstractState entry = AbstractState::entry(0);
        entry.reg(1) = Value::make_pointer(PointerKind::Context, 0, Scalar::constant(0));
        entry.reg(10) = Value::make_pointer(PointerKind::Stack, 0, Scalar::constant(0));
        (void)analyze_function(0, entry);
        analyze_global_functions();
        if (errors_.empty()) check_call_chain_depth();
    }
    result.errors = std::move(errors_);
    std::sort(result.errors.begin(), result.errors.end(),
              [](const Diagnostic& a, const Diagnostic& b) { return a.pc < b.pc; });
    result.accepted = result.errors.empty();
    result.steps = steps_;
    result.processed_instructions =
        result.accepted ? std::min(steps_ + charged_steps_, options_.max_steps + 1) : steps_at_first_error_;
    result.total_states = exploration_.states;
    result.peak_states = exploration_.peak_states;
    result.pruned_paths = exploration_.pruned;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    for (const auto& [pc, state] : invariants_) result.invariants[pc] = state.to_string(&object_);
    if (tracer_) result.traces = tracer_->result();
    return result;
}

}  // namespace detail

namespace {
AnalysisResult analyze_validated(const ir::Object& object, const ir::Program& program, const AnalysisOptions& options);
}  // namespace

AnalysisResult analyze_program(const ir::Object& object, const ir::Program& program, const AnalysisOptions& options) {
    if (program.defects.empty()) {
        // Programs that did not come from the ELF loader (assembled, raw
        // bytecode) are validated here: the engine only runs on decoded code.
        if (auto defects = ir::validate(program); !defects.empty()) {
            ir::Program validated = program;
            validated.defects = std::move(defects);
            return analyze_validated(object, validated, options);
        }
    }
    AnalysisResult result = analyze_validated(object, program, options);
    // Stories from the failing paths; errors with one root cause become one.
    tell_stories(object, program, result.errors);
    return result;
}

namespace {
AnalysisResult analyze_validated(const ir::Object& object, const ir::Program& program, const AnalysisOptions& options) {
    ir::ProgramType type = options.type.value_or(program.type);
    // A section name that implies no type (".text", "test") is loaded as a
    // socket filter, as the kernel-verdict reference loads did.
    if (type == ir::ProgramType::Unspecified) type = ir::ProgramType::SocketFilter;
    // The kernel refuses malformed code before analysing anything.
    auto refused = [&](size_t pc, std::string message) {
        AnalysisResult result;
        result.type = type;
        Diagnostic d;
        d.code = ErrorCode::InvalidInstruction;
        d.pc = uint32_t(pc);
        d.message = std::move(message);
        d.instruction = "";
        if (const ir::SourceLocation* location = program.source_line(pc)) d.location = *location;
        result.errors.push_back(std::move(d));
        return result;
    };
    if (const ir::Defect* defect = program.whole_program_defect()) return refused(defect->pc, defect->message);
    auto cfg = ir::build_cfg(program);
    if (!cfg) return refused(cfg.error().pc.value_or(0), cfg.error().message);
    // Facts are read from the per-pc states, which the engine records for invariants.
    AnalysisOptions effective = options;
    effective.record_invariants = options.record_invariants || options.record_facts;
    detail::Engine engine(object, program, *cfg, effective, type);
    AnalysisResult result = engine.run();
    if (!result.accepted && engine.widened_loops() > 0 && options.max_unrolled_passes != kNoWidening) {
        // Widening joins what unrolling keeps apart: a rejection may come from
        // that. The kernel unrolls, so the verdict is unrolling's.
        effective.max_unrolled_passes = kNoWidening;
        detail::Engine unrolled(object, program, *cfg, effective, type);
        AnalysisResult again = unrolled.run();
        if (options.record_facts && again.accepted) again.facts = collect_facts(unrolled, program);
        if (!options.record_invariants) again.invariants.clear();
        if (options.refine == Refinement::Z3 && !again.accepted)
            return refine_alarms(object, program, options, std::move(again));
        return again;
    }
    if (options.record_facts && result.accepted) result.facts = collect_facts(engine, program);
    if (!options.record_invariants) result.invariants.clear();
    if (options.refine == Refinement::Z3 && !result.accepted)
        return refine_alarms(object, program, options, std::move(result));
    return result;
}
}  // namespace

}  // namespace bpfvet::analyzer
