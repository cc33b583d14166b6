#include "analyzer/analyzer.hpp"

#include "analyzer/engine.hpp"
#include "analyzer/refine.hpp"
#include "ir/disassembler.hpp"
#include "ir/helper_names.hpp"

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

}  // namespace

Engine::Engine(const ir::Object& object, const ir::Program& program, const ir::ProgramCfg& cfg,
               const AnalysisOptions& options, ir::ProgramType type)
    : object_(object), program_(program), cfg_(cfg), options_(options), type_(type),
      context_(context_descriptor(type, program.attach_target)), live_in_(compute_liveness(program, cfg)),
      thresholds_(comparison_thresholds(program)) {
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
    if (reported_.insert({pc, code}).second && errors_.size() < options_.max_errors) {
        Diagnostic d;
        d.code = code;
        d.pc = pc;
        const ir::Instruction* next = pc + 1 < program_.instructions.size() ? &program_.instructions[pc + 1] : nullptr;
        ir::DisassemblyContext context{pc, &object_, &program_.functions, nullptr};
        d.instruction = pc < program_.instructions.size() ? ir::disassemble(program_.instructions[pc], next, context)
                                                           : std::string("(end of program)");
        d.message = std::move(message);
        if (const ir::SourceLocation* location = program_.location(pc)) d.location = *location;
        if (!state.is_bottom() && state.frame_count() > 0) {
            for (int r : regs)
                d.registers.push_back(fmt::format("r{} = {}", r, describe_value(state.reg(r), &object_)));
        }
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

bool Engine::budget_spent(uint32_t pc, AbstractState& state) {
    if (aborted_) return true;
    ++steps_;
    bool over_steps = steps_ + charged_steps_ > options_.max_steps;
    bool over_time = false;
    if ((steps_ & 0xfff) == 0) {
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        over_time = seconds > options_.max_seconds;
    }
    if (!over_steps && !over_time) return false;
    aborted_ = true;
    silent_ = false;  // running out of budget ends the analysis, whatever pass it happens in
    std::string why = over_steps ? fmt::format("the analysis took more than {} instruction steps", options_.max_steps)
                                 : fmt::format("the analysis took more than {} seconds", options_.max_seconds);
    if (!loops_.empty() && loops_.back().passes > 64) {
        const LoopRun& loop = loops_.back();
        report(state, ErrorCode::UnboundedLoop, loop.head_pc,
               fmt::format("{} while the loop at instruction {} had run {} passes without exiting; {}", why,
                           loop.head_pc, loop.passes,
                           loop.widening_failure.empty()
                               ? std::string("its number of iterations is not bounded by anything the analysis can see")
                               : loop.widening_failure),
               {});
    } else {
        report(state, ErrorCode::BudgetExceeded, pc, why, {});
    }
    return true;
}

void Engine::check_exit(uint32_t pc, AbstractState& state) {
    if (state.frame_count() > 1) return;  // a subprogram returns to its caller
    if (!state.references().empty()) {
        // The kernel's "Unreleased reference id=N alloc_insn=M".
        const Reference& held = state.references().front();
        const ir::Instruction& call = program_.instructions[held.pc];
        std::string_view name = ir::helper_name(call.imm);
        report(state, ErrorCode::UnreleasedReference, pc,
               fmt::format("the program may exit still holding the reference taken by {} at instruction {} "
                           "(id {}); release it on every path",
                           name.empty() ? std::string_view("a helper") : name, held.pc, held.id),
               {});
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
    if (errors_.empty()) {
        AbstractState entry = AbstractState::entry(0);
        entry.reg(1) = Value::make_pointer(PointerKind::Context, 0, Scalar::constant(0));
        entry.reg(10) = Value::make_pointer(PointerKind::Stack, 0, Scalar::constant(0));
        (void)analyze_function(0, entry);
    }
    result.errors = std::move(errors_);
    std::sort(result.errors.begin(), result.errors.end(),
              [](const Diagnostic& a, const Diagnostic& b) { return a.pc < b.pc; });
    result.accepted = result.errors.empty();
    result.steps = steps_;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    for (const auto& [pc, state] : invariants_) result.invariants[pc] = state.to_string(&object_);
    return result;
}

}  // namespace detail

AnalysisResult analyze_program(const ir::Object& object, const ir::Program& program, const AnalysisOptions& options) {
    ir::ProgramType type = options.type.value_or(program.type);
    // A section name that implies no type (".text", "test") is loaded as a
    // socket filter, as the kernel-verdict reference loads did.
    if (type == ir::ProgramType::Unspecified) type = ir::ProgramType::SocketFilter;
    auto cfg = ir::build_cfg(program);
    if (!cfg) {
        AnalysisResult result;
        result.type = type;
        Diagnostic d;
        d.code = ErrorCode::InvalidInstruction;
        d.pc = uint32_t(cfg.error().pc.value_or(0));
        d.message = cfg.error().message;
        d.instruction = "";
        result.errors.push_back(std::move(d));
        return result;
    }
    // Facts are read from the per-pc states, which the engine records for invariants.
    AnalysisOptions effective = options;
    effective.record_invariants = options.record_invariants || options.record_facts;
    detail::Engine engine(object, program, *cfg, effective, type);
    AnalysisResult result = engine.run();
    if (options.record_facts && result.accepted) result.facts = collect_facts(engine, program);
    if (!options.record_invariants) result.invariants.clear();
    if (options.refine == Refinement::Z3 && !result.accepted)
        return refine_alarms(object, program, options, std::move(result));
    return result;
}

}  // namespace bpfvet::analyzer
