#include "analyzer/causal_story.hpp"

#include "analyzer/helper_table.hpp"
#include "ir/disassembler.hpp"
#include "ir/helper_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace bpfvet::analyzer {

std::string_view lost_fact_cause_name(LostFactCause cause) {
    switch (cause) {
    case LostFactCause::Unknown: return "unknown";
    case LostFactCause::CheckedOnCopy: return "checked-on-copy";
    case LostFactCause::LostBySpill: return "lost-by-spill";
    case LostFactCause::PacketInvalidatedByHelper: return "packet-invalidated-by-helper";
    case LostFactCause::NeverCompared: return "never-compared";
    case LostFactCause::NullNotTested: return "null-not-tested";
    case LostFactCause::JoinInLoop: return "join-in-loop";
    }
    return "unknown";
}

namespace {

using ir::Instruction;
using ir::InstructionClass;

// How a value on the path was made: one node per instruction that wrote it.
enum class Origin : uint8_t {
    Entry,         // a register holding an argument when the exploration starts (r1: the context)
    FramePointer,  // r10
    Constant,
    Copy,          // a 64-bit move: the same value, as the kernel's ids see it
    Arithmetic,    // anything computed from its inputs
    Load,          // from memory (or stack bytes that hold no spilled value)
    Fill,          // a stack slot read back with the spilled value the analysis tracked
    LostFill,      // a stack slot read back without the value spilled there
    PacketLoad,    // a legacy LD_ABS/LD_IND
    CallResult,    // r0 after a helper, kfunc or global function
    Clobbered,     // r1..r5 after a call
    MapAddress,    // lddw of a map
    Joined,        // after a widened loop: the join of its iterations
};

struct Node {
    Origin origin = Origin::Arithmetic;
    size_t step = 0;  // index in the path
    uint32_t pc = 0;
    int reg = -1;
    std::array<int32_t, 2> inputs{-1, -1};
    int32_t address = -1;  // loads: the address register's node
    int16_t offset = 0;
    int width = 0;
    std::optional<int64_t> constant;
    std::optional<std::pair<size_t, int64_t>> stack;  // this value is frame pointer (frame) + offset
    int32_t helper = -1;
    bool helper_call = false;  // CallResult of a helper (not a kfunc or function)
    uint32_t spill_pc = 0;     // Fill, LostFill: the store of inputs[0]
    uint32_t other_spill_pc = 0;  // LostFill: the store of inputs[1]
    // LostFill: why, for the value in inputs[0] and (when a later narrow store
    // replaced part of an earlier spill) for the earlier one in inputs[1].
    std::array<std::string, 2> lost_reasons;
};

struct Comparison {
    size_t step = 0;
    uint32_t pc = 0;
    std::array<int32_t, 2> operands{-1, -1};
    std::array<int, 2> registers{-1, -1};
    bool narrow = false;  // a 32-bit comparison
};

struct CallSite {
    size_t step = 0;
    uint32_t pc = 0;
    int32_t helper = 0;
    bool changes_packet = false;
};

struct SlotStore {
    int64_t offset = 0;
    int width = 0;
    int32_t node = -1;
    uint32_t pc = 0;
};

using Registers = std::array<int32_t, 11>;

Node made(Origin origin, size_t step, uint32_t pc, int reg) {
    Node node;
    node.origin = origin;
    node.step = step;
    node.pc = pc;
    node.reg = reg;
    return node;
}

// The values of a path, followed forward: which node each register and
// spilled slot holds after each instruction, and the comparisons and calls met.
class PathFlow {
public:
    // Paths longer than this are followed from their last MostSteps
    // instructions only (the kernel's paths reach a million): registers
    // written before are unknown, and the story says only what it saw.
    static constexpr size_t MostSteps = 50'000;

    PathFlow(const ir::Program& program, const std::vector<PathStep>& path) : program_(program), path_(path) {
        if (path.empty()) return;
        const size_t first = path.size() > MostSteps ? path.size() - MostSteps : 0;
        const size_t base = path[first].frame;
        frame(base);
        if (first == 0)
            for (int r = 1; r <= 5; ++r) registers_[base][size_t(r)] = add(made(Origin::Entry, 0, path.front().pc, r));
        for (size_t f = 0; f <= base; ++f) registers_[f][10] = frame_pointer(f, path[first].pc);
        for (size_t i = first; i + 1 < path.size(); ++i) run(i);
    }

    [[nodiscard]] const std::vector<Node>& nodes() const { return nodes_; }
    [[nodiscard]] const std::vector<Comparison>& comparisons() const { return comparisons_; }
    [[nodiscard]] const std::vector<CallSite>& calls() const { return calls_; }
    // The registers right before the failing instruction.
    [[nodiscard]] int32_t at_failure(int reg) const {
        const size_t f = path_.back().frame;
        return f < registers_.size() && reg >= 0 && reg < 11 ? registers_[f][size_t(reg)] : -1;
    }
    // Follows moves and tracked fills back to the value they carry.
    [[nodiscard]] int32_t identity(int32_t n) const {
        while (n >= 0 && (nodes_[size_t(n)].origin == Origin::Copy || nodes_[size_t(n)].origin == Origin::Fill))
            n = nodes_[size_t(n)].inputs[0];
        return n;
    }

private:
    Registers& frame(size_t f) {
        if (registers_.size() <= f) {
            Registers none;
            none.fill(-1);
            registers_.resize(f + 1, none);
            stores_.resize(f + 1);
        }
        return registers_[f];
    }
    int32_t add(Node node) {
        nodes_.push_back(std::move(node));
        return int32_t(nodes_.size() - 1);
    }
    int32_t frame_pointer(size_t f, uint32_t pc) {
        Node node = made(Origin::FramePointer, 0, pc, 10);
        node.stack = std::pair{f, int64_t(0)};
        return add(node);
    }
    [[nodiscard]] const Node* node(int32_t n) const { return n >= 0 ? &nodes_[size_t(n)] : nullptr; }

    void run(size_t i) {
        const PathStep& step = path_[i];
        const size_t f = step.frame;
        Registers& regs = frame(f);
        if (step.widened_loop) {
            for (size_t g = 0; g < registers_.size(); ++g) {
                for (int r = 0; r < 10; ++r)
                    if (registers_[g][size_t(r)] >= 0)
                        registers_[g][size_t(r)] = add(made(Origin::Joined, i, step.pc, r));
                stores_[g].clear();
            }
            return;
        }
        if (step.pc >= program_.instructions.size()) return;
        const Instruction& insn = program_.instructions[step.pc];
        Node base = made(Origin::Arithmetic, i, step.pc, -1);
        switch (insn.cls()) {
        case InstructionClass::Alu:
        case InstructionClass::Alu64: alu(insn, regs, base); break;
        case InstructionClass::Ld:
            if (insn.is_lddw()) {
                base.reg = insn.dst;
                const auto kind = ir::LddwKind(insn.src);
                if (kind == ir::LddwKind::Immediate) {
                    base.origin = Origin::Constant;
                    if (step.pc + 1 < program_.instructions.size())
                        base.constant = int64_t(ir::lddw_value(insn, program_.instructions[step.pc + 1]));
                } else {
                    base.origin = Origin::MapAddress;
                }
                regs[insn.dst] = add(base);
            } else {
                base.origin = Origin::PacketLoad;
                base.reg = 0;
                base.width = insn.access_width();
                regs[0] = add(base);
                clobber(regs, base);
            }
            break;
        case InstructionClass::Ldx: load(insn, step, regs, base); break;
        case InstructionClass::St:
        case InstructionClass::Stx: store(insn, regs, base); break;
        case InstructionClass::Jmp:
        case InstructionClass::Jmp32: jump(insn, i, f, regs, base); break;
        }
    }

    void clobber(Registers& regs, Node base) {
        base.origin = Origin::Clobbered;
        for (int r = 1; r <= 5; ++r) {
            base.reg = r;
            regs[size_t(r)] = add(base);
        }
    }

    void alu(const Instruction& insn, Registers& regs, Node base) {
        const bool wide = insn.cls() == InstructionClass::Alu64;
        const auto op = insn.alu_op();
        const bool by_register = insn.source() == ir::Source::Reg && op != ir::AluOp::End && op != ir::AluOp::Neg;
        const int32_t dst = regs[insn.dst], src = by_register ? regs[insn.src] : -1;
        base.reg = insn.dst;
        if (op == ir::AluOp::Mov) {
            if (!by_register) {
                base.origin = Origin::Constant;
                base.constant = wide ? int64_t(insn.imm) : int64_t(uint32_t(insn.imm));
            } else {
                // A 64-bit move keeps the value (and the kernel's id); a 32-bit or
                // sign-extending one makes a new value from it.
                base.origin = wide && insn.offset == 0 ? Origin::Copy : Origin::Arithmetic;
                base.inputs[0] = src;
                if (const Node* from = node(src); from != nullptr && base.origin == Origin::Copy) {
                    base.stack = from->stack;
                    base.constant = from->constant;
                }
            }
            regs[insn.dst] = add(base);
            return;
        }
        base.origin = Origin::Arithmetic;
        base.inputs = {dst, src};
        const Node* left = node(dst);
        const Node* right = node(src);
        std::optional<int64_t> amount = by_register ? (right ? right->constant : std::nullopt)
                                                    : std::optional<int64_t>(insn.imm);
        if (wide && left != nullptr && amount && (op == ir::AluOp::Add || op == ir::AluOp::Sub)) {
            const int64_t delta = op == ir::AluOp::Add ? *amount : -*amount;
            if (left->stack) base.stack = std::pair{left->stack->first, left->stack->second + delta};
            if (left->constant) base.constant = *left->constant + delta;
        }
        if (wide && op == ir::AluOp::Add && by_register && right != nullptr && right->stack && left && left->constant)
            base.stack = std::pair{right->stack->first, right->stack->second + *left->constant};
        regs[insn.dst] = add(base);
    }

    // The stack slot `[offset, offset + width)` of frame `f` if `address` + insn offset points there.
    std::optional<std::pair<size_t, int64_t>> stack_place(int32_t address, const Instruction& insn) const {
        const Node* a = node(address);
        if (a == nullptr || !a->stack || a->stack->first >= stores_.size()) return std::nullopt;
        return std::pair{a->stack->first, a->stack->second + insn.offset};
    }

    void load(const Instruction& insn, const PathStep& step, Registers& regs, Node base) {
        const int32_t address = regs[insn.src];
        base.reg = insn.dst;
        base.address = address;
        base.offset = insn.offset;
        base.width = insn.access_width();
        base.origin = Origin::Load;
        if (auto place = stack_place(address, insn)) fill(*place, step, base);
        regs[insn.dst] = add(base);
    }

    // A read of stack bytes: the spilled value back (tracked), or a reload
    // that lost it, saying why.
    void fill(std::pair<size_t, int64_t> place, const PathStep& step, Node& base) const {
        const auto& stores = stores_[place.first];
        const int64_t at = place.second, end = at + base.width;
        auto overlaps = [&](const SlotStore& s) { return s.offset < end && at < s.offset + s.width; };
        auto latest = std::find_if(stores.rbegin(), stores.rend(), overlaps);
        if (latest == stores.rend()) return;  // bytes nothing on this path wrote
        auto where = [&](uint32_t pc) {
            const ir::SourceLocation* line = program_.source_line(pc);
            return line ? fmt::format("line {} (instruction {})", line->line, pc) : fmt::format("instruction {}", pc);
        };
        if (latest->offset == at && latest->width == base.width) {
            base.inputs[0] = latest->node;
            base.spill_pc = latest->pc;
            if (step.stack_value) {
                base.origin = Origin::Fill;
                return;
            }
            base.origin = Origin::LostFill;
            base.lost_reasons[0] = base.width < 8
                                   ? fmt::format("the spill at {} stored {} bytes, and the kernel keeps no bound "
                                                 "through a narrow spill",
                                                 where(latest->pc), base.width)
                                   : fmt::format("the analysis does not track the value stored at {} in this slot",
                                                 where(latest->pc));
            return;
        }
        // The value spilled at this offset before, if a later store overwrote part of it.
        auto spilled = std::find_if(std::next(latest), stores.rend(),
                                    [&](const SlotStore& s) { return s.offset == at && s.width >= base.width; });
        const std::string overwritten =
            spilled == stores.rend()
                ? std::string()
                : fmt::format("{} byte{} of the slot {} overwritten at {}, after the spill at {}", latest->width,
                              latest->width == 1 ? "" : "s", latest->width == 1 ? "was" : "were", where(latest->pc),
                              where(spilled->pc));
        base.origin = Origin::LostFill;
        if (latest->offset == at) {
            // A narrow store at the slot's start: its value, spilled narrowly, or the
            // earlier spill it overwrote in part; which one was bounded tells.
            base.inputs[0] = latest->node;
            base.spill_pc = latest->pc;
            base.lost_reasons[0] =
                latest->width < base.width
                    ? fmt::format("the spill at {} stored only {} byte{} and the reload reads {}: the kernel keeps "
                                  "no bound through a narrow spill",
                                  where(latest->pc), latest->width, latest->width == 1 ? "" : "s", base.width)
                    : fmt::format("the reload reads {} of the {} bytes spilled at {}", base.width, latest->width,
                                  where(latest->pc));
            if (spilled != stores.rend()) {
                base.inputs[1] = spilled->node;
                base.other_spill_pc = spilled->pc;
                base.lost_reasons[1] = overwritten;
            }
        } else if (spilled != stores.rend()) {
            base.inputs[0] = spilled->node;
            base.spill_pc = spilled->pc;
            base.lost_reasons[0] = overwritten;
        } else {
            base.origin = Origin::Load;  // bytes of several stores: no one value
        }
    }

    void store(const Instruction& insn, Registers& regs, Node base) {
        const auto place = stack_place(regs[insn.dst], insn);
        const bool atomic = insn.mem_mode() == ir::MemMode::Atomic;
        if (atomic && (insn.imm & ir::atomic::Fetch) != 0) {
            // The old value comes back in src (r0 for cmpxchg).
            Node old = base;
            old.origin = Origin::Load;
            old.reg = insn.imm == ir::atomic::CmpXchg ? 0 : insn.src;
            old.address = regs[insn.dst];
            old.offset = insn.offset;
            old.width = insn.access_width();
            regs[size_t(old.reg)] = add(old);
        }
        if (!place) return;
        int32_t value = -1;
        if (insn.cls() == InstructionClass::St) {
            base.origin = Origin::Constant;
            base.constant = int64_t(insn.imm);
            value = add(base);
        } else if (atomic) {
            base.origin = Origin::Arithmetic;
            value = add(base);
        } else {
            value = regs[insn.src];
        }
        stores_[place->first].push_back(SlotStore{place->second, insn.access_width(), value, base.pc});
    }

    void jump(const Instruction& insn, size_t i, size_t f, Registers& regs, Node base) {
        if (insn.is_conditional_jump()) {
            Comparison c{i, base.pc, {regs[insn.dst], -1}, {insn.dst, -1}, insn.cls() == InstructionClass::Jmp32};
            if (insn.source() == ir::Source::Reg) {
                c.operands[1] = regs[insn.src];
                c.registers[1] = insn.src;
            }
            comparisons_.push_back(c);
            return;
        }
        const bool entered = i + 1 < path_.size() && path_[i + 1].frame == f + 1;
        if (insn.is_local_call() && entered) {
            Registers& callee = frame(f + 1);
            Registers& caller = registers_[f];
            callee.fill(-1);
            for (int r = 1; r <= 5; ++r) callee[size_t(r)] = caller[size_t(r)];
            callee[10] = frame_pointer(f + 1, base.pc);
            stores_[f + 1].clear();
            return;
        }
        if (insn.is_call()) {
            base.origin = Origin::CallResult;
            base.reg = 0;
            base.helper_call = insn.is_helper_call();
            base.helper = insn.imm;
            regs[0] = add(base);
            clobber(regs, base);
            calls_.push_back(CallSite{i, base.pc, insn.imm,
                                      insn.is_helper_call() && helper_changes_packet_data(insn.imm)});
            return;
        }
        if (insn.is_exit() && f > 0 && f < registers_.size()) {
            Registers& caller = registers_[f - 1];
            caller[0] = regs[0];
            clobber(caller, base);
            stores_[f].clear();
        }
    }

    const ir::Program& program_;
    const std::vector<PathStep>& path_;
    std::vector<Node> nodes_;
    std::vector<Registers> registers_;
    std::vector<std::vector<SlotStore>> stores_;
    std::vector<Comparison> comparisons_;
    std::vector<CallSite> calls_;
};

// ---- reading the story off the flow ----

class Storyteller {
public:
    Storyteller(const ir::Object& object, const ir::Program& program, const Diagnostic& diagnostic)
        : object_(object), program_(program), diagnostic_(diagnostic), flow_(program, diagnostic.path) {}

    CausalStory tell() {
        std::vector<int32_t> subjects;
        for (int r : subject_registers()) {
            const int32_t n = flow_.at_failure(r);
            if (n >= 0) subjects.push_back(n);
        }
        const std::set<int32_t> slice = slice_of(subjects);
        for (int32_t n : slice) origin_node(n);
        for (const Comparison& c : flow_.comparisons())
            for (int32_t operand : c.operands)
                if (operand >= 0 && slice.contains(flow_.identity(operand))) {
                    add_step(story_.origin, c.pc, c.step, fmt::format("compares r{}", c.registers[operand == c.operands[0] ? 0 : 1]));
                    break;
                }
        std::ranges::sort(story_.origin, {}, [&](const auto& s) { return order_[s.pc]; });
        // Causes, most specific first; the first with evidence tells the story.
        for (int32_t s : subjects)
            if (null_not_tested(s) || packet_invalidated(s)) return finish();
        if (about_bounds())
            for (int32_t candidate : bound_candidates(subjects, slice))
                if (bound_lost(candidate)) return finish();
        // An address that is not a pointer any more: lost through the stack?
        if (diagnostic_.code == ErrorCode::MemoryAccess)
            for (int32_t s : subjects)
                if (lost_through_stack(s, false)) return finish();
        for (int32_t s : subjects)
            if (packet_range(s)) return finish();
        return finish();
    }

private:
    CausalStory finish() {
        std::ranges::sort(story_.evidence, {}, [&](const auto& s) { return order_[s.pc]; });
        return std::move(story_);
    }

    // The path starts where the program does (not in a global function or a callback explored on its own).
    bool starts_at_program_entry() const {
        return diagnostic_.path.front().frame == 0 && !program_.functions.empty() &&
               diagnostic_.path.front().pc == program_.functions.front().start;
    }

    // Errors whose check needed a number's bound (an offset, an index, a size).
    bool about_bounds() const {
        switch (diagnostic_.code) {
        case ErrorCode::MapValueOutOfBounds:
        case ErrorCode::StackOutOfBounds:
        case ErrorCode::PacketOutOfBounds:
        case ErrorCode::MemoryAccess:
        case ErrorCode::HelperArgument:
        case ErrorCode::PointerArithmetic: return true;
        default: return false;
        }
    }

    // The register a failing load or store accesses memory through (-1: none).
    int memory_address_register() const {
        if (diagnostic_.pc >= program_.instructions.size()) return -1;
        const Instruction& insn = program_.instructions[diagnostic_.pc];
        if (insn.cls() == InstructionClass::Ldx) return insn.src;
        if (insn.cls() == InstructionClass::St || insn.cls() == InstructionClass::Stx) return insn.dst;
        return -1;
    }

    // The failing check's registers: those the analyzer named, and the address of a memory access.
    std::vector<int> subject_registers() const {
        std::vector<int> regs = diagnostic_.subject_registers;
        if (diagnostic_.pc < program_.instructions.size()) {
            const Instruction& insn = program_.instructions[diagnostic_.pc];
            if (insn.cls() == InstructionClass::Ldx) regs.push_back(insn.src);
            if (insn.cls() == InstructionClass::St || insn.cls() == InstructionClass::Stx) regs.push_back(insn.dst);
            if (insn.is_alu() && insn.source() == ir::Source::Reg) {
                regs.push_back(insn.dst);
                regs.push_back(insn.src);
            }
            if (insn.is_exit() && regs.empty()) regs.push_back(0);
        }
        std::vector<int> unique;
        for (int r : regs)
            if (r >= 0 && r < 11 && std::ranges::find(unique, r) == unique.end()) unique.push_back(r);
        return unique;
    }

    const Node& at(int32_t n) const { return flow_.nodes()[size_t(n)]; }

    // Value chains are followed this far back: a counter of a long loop
    // chains one node per iteration, and every comparison on the path may
    // look at a chain, so an unbounded walk would be quadratic in the path.
    static constexpr size_t MostChained = 64;

    // The nodes the subjects were made from: inputs, spilled values and load addresses.
    std::set<int32_t> slice_of(const std::vector<int32_t>& subjects) const {
        constexpr size_t MostShown = 24;
        std::set<int32_t> seen;
        std::vector<int32_t> work(subjects.rbegin(), subjects.rend());
        while (!work.empty() && seen.size() < MostShown) {
            const int32_t n = work.back();
            work.pop_back();
            if (n < 0 || !seen.insert(n).second) continue;
            const Node& node = at(n);
            for (int32_t input : node.inputs) work.push_back(input);
            if (node.origin == Origin::Load) work.push_back(node.address);
        }
        return seen;
    }

    std::string where(uint32_t pc) const {
        const ir::SourceLocation* line = program_.source_line(pc);
        return line ? fmt::format("line {}", line->line) : fmt::format("instruction {}", pc);
    }

    std::string helper_label(int32_t helper) const {
        const std::string_view name = ir::helper_name(helper);
        return name.empty() ? fmt::format("helper {}", helper) : std::string(name);
    }

    std::string call_label(const Node& node) const {
        if (node.helper_call) return helper_label(node.helper);
        const Instruction& insn = program_.instructions[node.pc];
        return insn.is_kfunc_call() ? "the kfunc call" : "the function call";
    }

    void add_step(std::vector<StoryStep>& steps, uint32_t pc, size_t step, std::string note) {
        if (pc >= program_.instructions.size()) return;
        order_.try_emplace(pc, step);
        for (auto& existing : steps)
            if (existing.pc == pc && !existing.instruction.starts_with("(entry")) return;
        StoryStep s;
        s.pc = pc;
        if (const ir::SourceLocation* line = program_.source_line(pc)) s.location = *line;
        const Instruction* next = pc + 1 < program_.instructions.size() ? &program_.instructions[pc + 1] : nullptr;
        ir::DisassemblyContext context{pc, &object_, &program_.functions, nullptr};
        s.instruction = ir::disassemble(program_.instructions[pc], next, context);
        s.note = std::move(note);
        steps.push_back(std::move(s));
    }

    bool is_context_load(int32_t n) const {
        const Node& node = at(n);
        if (node.origin != Origin::Load) return false;
        const int32_t address = flow_.identity(node.address);
        return address >= 0 && at(address).origin == Origin::Entry && at(address).reg == 1 && starts_at_program_entry();
    }

    std::string load_note(const Node& node) const {
        if (is_context_load(int32_t(&node - flow_.nodes().data()))) return "loads a field of the context";
        const int32_t address = flow_.identity(node.address);
        if (address >= 0 && at(address).stack) return "reads stack bytes that hold no spilled value";
        if (address >= 0 && at(address).origin == Origin::CallResult)
            return fmt::format("loads from the memory {} returned", call_label(at(address)));
        return fmt::format("loads {} byte{} from memory", node.width, node.width == 1 ? "" : "s");
    }

    void origin_node(int32_t n) {
        const Node& node = at(n);
        std::string note;
        switch (node.origin) {
        case Origin::Entry: {
            StoryStep entry;
            entry.pc = node.pc;
            if (const ir::SourceLocation* line = program_.source_line(node.pc)) entry.location = *line;
            const ir::Function* function = program_.function_at(node.pc);
            entry.instruction = fmt::format("(entry of {})", function ? function->name : std::string("the program"));
            entry.note = node.reg == 1 && starts_at_program_entry()
                             ? "r1 holds the context when the program starts"
                             : fmt::format("r{} holds an argument when the function starts", node.reg);
            order_.try_emplace(node.pc, 0);
            story_.origin.insert(story_.origin.begin(), std::move(entry));
            return;
        }
        case Origin::FramePointer:
        case Origin::Joined: return;
        case Origin::Constant:
            note = node.constant ? fmt::format("sets r{} to {}", node.reg, *node.constant) : "a constant";
            break;
        case Origin::Copy: note = fmt::format("r{} becomes a copy", node.reg); break;
        case Origin::Arithmetic: note = fmt::format("computes r{}", node.reg); break;
        case Origin::Load: note = load_note(node); break;
        case Origin::Fill:
            note = fmt::format("reloads the value spilled at {}, with what was known about it", where(node.spill_pc));
            add_step(story_.origin, node.spill_pc, order_of(node.spill_pc, node.step), "spills it to the stack");
            break;
        case Origin::LostFill:
            note = node.inputs[1] >= 0 ? fmt::format("reloads the slot, which holds no one spilled value: {}",
                                                     node.lost_reasons[1])
                                       : fmt::format("reloads the slot without the spilled value's facts: {}",
                                                     node.lost_reasons[0]);
            break;
        case Origin::PacketLoad: note = "a legacy packet load (LD_ABS/LD_IND)"; break;
        case Origin::CallResult: note = fmt::format("r0 is the result of {}", call_label(node)); break;
        case Origin::Clobbered: note = fmt::format("the call leaves r{} unreadable (r1-r5 do not survive calls)", node.reg); break;
        case Origin::MapAddress: note = "the address of a map"; break;
        }
        add_step(story_.origin, node.pc, node.step, std::move(note));
    }

    // The position on the path of a store seen only through its pc: just before `before`.
    size_t order_of(uint32_t pc, size_t before) const {
        for (size_t i = std::min(before, diagnostic_.path.size()); i-- > 0;)
            if (diagnostic_.path[i].pc == pc) return i;
        return before;
    }

    // The comparisons of a value (any node with its identity), after it was made.
    std::vector<const Comparison*> comparisons_of(const std::set<int32_t>& identities) const {
        std::vector<const Comparison*> out;
        for (const Comparison& c : flow_.comparisons())
            for (int32_t operand : c.operands)
                if (operand >= 0 && identities.contains(flow_.identity(operand))) {
                    out.push_back(&c);
                    break;
                }
        return out;
    }

    // --- null result not tested
    bool null_not_tested(int32_t subject) {
        const bool about_null = diagnostic_.code == ErrorCode::NullDereference ||
                                diagnostic_.message.find("null") != std::string::npos;
        const int32_t root = flow_.identity(subject);
        if (!about_null || root < 0) return false;
        const Node& call = at(root);
        if (call.origin != Origin::CallResult && call.origin != Origin::Entry) return false;
        const auto tests = comparisons_of({root});
        const auto wide = std::ranges::find_if(tests, [](const Comparison* c) { return !c->narrow; });
        if (wide != tests.end()) return false;  // tested: the story lies elsewhere
        story_.cause = LostFactCause::NullNotTested;
        if (call.origin == Origin::Entry) {
            const ir::Function* function = program_.function_at(call.pc);
            const std::string name = function ? function->name : std::string("the function");
            story_.because = fmt::format("r{} is an argument of {} that may be NULL (its type says so), and no "
                                         "test against NULL on this path comes before its use at {}",
                                         call.reg, name, where(diagnostic_.pc));
            story_.hint = fmt::format("test the argument against NULL at the start of {} (if (!p) return 0;)", name);
            story_.root = fmt::format("null-argument@{}:{}", call.pc, call.reg);
            return true;
        }
        add_step(story_.evidence, call.pc, call.step,
                 fmt::format("{} may return NULL", call_label(call)));
        if (!tests.empty()) {
            const Comparison& narrow = *tests.front();
            add_step(story_.evidence, narrow.pc, narrow.step,
                     "compares only the low 32 bits, which does not prove the 64-bit pointer non-NULL");
            story_.because = fmt::format(
                "r{} is the result of {} at {}, which may be NULL; the only test of it on this path, at {}, is a "
                "32-bit comparison, which proves nothing about the pointer",
                at(subject).reg, call_label(call), where(call.pc), where(narrow.pc));
        } else {
            story_.because = fmt::format("r{} is the result of {} at {}, which may be NULL, and no test against NULL "
                                         "on this path comes between the call and its use at {}",
                                         at(subject).reg, call_label(call), where(call.pc), where(diagnostic_.pc));
            // A test of another call's result (equal at run time, perhaps, but another value).
            for (const Comparison& c : flow_.comparisons()) {
                const int32_t other = flow_.identity(c.operands[0]);
                if (c.narrow || other < 0 || other == root || at(other).origin != Origin::CallResult ||
                    at(other).helper != call.helper)
                    continue;
                add_step(story_.evidence, c.pc, c.step,
                         fmt::format("tests r{}, the result of another call (at {})", c.registers[0], where(at(other).pc)));
                story_.because += fmt::format("; the test at {} is of r{}, the result of another call of {} at {}, "
                                              "which proves nothing about this one",
                                              where(c.pc), c.registers[0], call_label(call), where(at(other).pc));
                break;
            }
        }
        story_.hint = fmt::format("test the pointer right after the call at {} (if (!p) return ...;), with a "
                                  "64-bit comparison, before any use",
                                  where(call.pc));
        story_.root = fmt::format("null-not-tested@{}", call.pc);
        return true;
    }

    bool derives_from_context(int32_t n) const {
        std::set<int32_t> seen;
        std::vector<int32_t> work{n};
        while (!work.empty() && seen.size() < MostChained) {
            const int32_t m = work.back();
            work.pop_back();
            if (m < 0 || !seen.insert(m).second) continue;
            if (is_context_load(m)) return true;
            for (int32_t input : at(m).inputs) work.push_back(input);
        }
        return false;
    }

    // The analyzer's description of register `reg` at the failure.
    std::string_view described(int reg) const {
        const std::string prefix = fmt::format("r{} = ", reg);
        for (const auto& r : diagnostic_.registers)
            if (r.starts_with(prefix)) return std::string_view(r).substr(prefix.size());
        return {};
    }

    // --- packet pointer invalidated by a helper call
    bool packet_invalidated(int32_t subject) {
        const Node& node = at(subject);
        if (node.reg < 0 || described(node.reg).find("packet") != std::string_view::npos) return false;
        if (!derives_from_context(subject)) return false;
        const size_t made = at(flow_.identity(subject)).step;
        const CallSite* call = nullptr;
        for (const CallSite& c : flow_.calls())
            if (c.changes_packet && c.step > made) {
                call = &c;
                break;
            }
        if (call == nullptr) return false;
        story_.cause = LostFactCause::PacketInvalidatedByHelper;
        const std::string name = helper_label(call->helper);
        add_step(story_.evidence, call->pc, call->step,
                 fmt::format("{} may change the packet: every packet pointer made before it is invalid", name));
        story_.because = fmt::format("r{} was made from the packet before the call of {} at {}, which may move or "
                                     "resize the packet, so the pointer is no longer valid at {}",
                                     node.reg, name, where(call->pc), where(diagnostic_.pc));
        story_.hint = fmt::format("recompute the pointer after {} (at {}): reload data and data_end from the "
                                  "context and check the bounds again",
                                  name, where(call->pc));
        story_.root = fmt::format("packet-invalidated@{}", call->pc);
        return true;
    }

    // Numbers the failing check depended on: offsets added to pointers, and
    // subjects that are numbers themselves (sizes, indexes).
    std::vector<int32_t> bound_candidates(const std::vector<int32_t>& subjects, const std::set<int32_t>& slice) const {
        std::vector<int32_t> out;
        auto add = [&](int32_t n) {
            if (n >= 0 && !at(n).constant && std::ranges::find(out, n) == out.end()) out.push_back(n);
        };
        for (int32_t n : slice) {
            const Node& node = at(n);
            if (node.origin == Origin::Arithmetic && node.inputs[1] >= 0 && node.inputs[0] >= 0 &&
                !at(node.inputs[0]).constant)
                add(node.inputs[1]);
        }
        // A subject the analyzer described as a pointer is not a bound; one it did not describe may be.
        const int address = memory_address_register();
        for (int32_t s : subjects) {
            if (at(s).reg == address) continue;  // the pointer itself, not a bound
            const std::string_view description = described(at(s).reg);
            const Origin origin = at(flow_.identity(s)).origin;
            if (description.find("number") != std::string_view::npos ||
                (description.empty() && origin != Origin::MapAddress && origin != Origin::FramePointer &&
                 origin != Origin::CallResult))
                add(s);
        }
        return out;
    }

    // The nodes a number was computed from (its value chain), not through
    // reloads that lost the value (collected in `lost`) nor load addresses.
    std::set<int32_t> value_chain(int32_t n, std::vector<int32_t>* lost) const {
        std::set<int32_t> seen;
        std::vector<int32_t> work{n};
        while (!work.empty() && seen.size() < MostChained) {
            const int32_t m = work.back();
            work.pop_back();
            if (m < 0 || !seen.insert(m).second) continue;
            const Node& node = at(m);
            if (node.origin == Origin::LostFill) {
                if (lost) lost->push_back(m);
                continue;
            }
            if (node.origin == Origin::Copy || node.origin == Origin::Fill || node.origin == Origin::Arithmetic)
                for (int32_t input : node.inputs) work.push_back(input);
        }
        return seen;
    }

    // Two loads of the same bytes through the same pointer: equal at run time, unrelated for the analysis.
    bool same_bytes(const Node& a, const Node& b) const {
        return a.origin == Origin::Load && b.origin == Origin::Load && a.offset == b.offset && a.width == b.width &&
               a.address >= 0 && flow_.identity(a.address) == flow_.identity(b.address);
    }

    std::string made_how(int32_t n) const {
        const Node& node = at(n);
        return fmt::format("r{} made at {}", node.reg, where(node.pc));
    }

    // Through the stack: the value spilled was checked (a bound, or for a
    // pointer, not NULL), the one reloaded is not it. With `needs_check`
    // false (an address that became a number), any spilled pointer counts.
    bool lost_through_stack(int32_t value, bool needs_check) {
        std::vector<int32_t> lost;
        value_chain(value, &lost);
        for (int32_t fill : lost) {
          const Node& reload = at(fill);
          for (size_t k = 0; k < 2; ++k) {
            if (reload.inputs[k] < 0) continue;
            const auto checks = comparisons_of(value_chain(reload.inputs[k], nullptr));
            const Origin spilled = at(flow_.identity(reload.inputs[k])).origin;
            const bool pointer = spilled == Origin::CallResult || spilled == Origin::FramePointer ||
                                 spilled == Origin::MapAddress || derives_from_context(reload.inputs[k]);
            if (checks.empty() && (needs_check || !pointer)) continue;
            const uint32_t spill_pc = k == 0 ? reload.spill_pc : reload.other_spill_pc;
            story_.cause = LostFactCause::LostBySpill;
            std::string what = "the value spilled";
            if (!checks.empty()) {
                const Comparison& check = *checks.back();
                add_step(story_.evidence, check.pc, check.step, fmt::format("checks r{}", check.registers[0]));
                what = fmt::format("the value checked at {}", where(check.pc));
            }
            add_step(story_.evidence, spill_pc, order_of(spill_pc, reload.step), "spills it to the stack");
            add_step(story_.evidence, reload.pc, reload.step, "reloads the slot, without what was known about it");
            story_.because = fmt::format("{} was spilled to the stack at {} and reloaded at {} without what was "
                                         "known about it: {}",
                                         what, where(spill_pc), where(reload.pc), reload.lost_reasons[k]);
            story_.hint = "keep the bounded value in a register until the access, or bound it again after the reload, "
                          "right before the access (with clang, barrier_var(x) after the check keeps the checked "
                          "register the one used; a full 8-byte spill keeps the bound)";
            story_.root = fmt::format("lost-by-spill@{}", reload.pc);
            return true;
          }
        }
        return false;
    }

    bool bound_lost(int32_t candidate) {
        const std::set<int32_t> chain = value_chain(candidate, nullptr);
        const Node& used = at(candidate);
        if (lost_through_stack(candidate, true)) return true;
        const auto direct = comparisons_of(chain);
        if (!direct.empty()) return false;  // compared, and yet not enough: no cause we can name
        // The bound was proven on another value made the same way.
        for (const Comparison& c : flow_.comparisons()) {
            for (size_t k = 0; k < 2; ++k) {
                const int32_t operand = flow_.identity(c.operands[k]);
                if (operand < 0) continue;
                const std::set<int32_t> other = value_chain(operand, nullptr);
                const bool related = std::ranges::any_of(other, [&](int32_t o) {
                    return std::ranges::any_of(chain, [&](int32_t m) { return same_bytes(at(o), at(m)); });
                });
                if (!related) continue;
                story_.cause = LostFactCause::CheckedOnCopy;
                add_step(story_.evidence, c.pc, c.step, fmt::format("bounds r{}", c.registers[k]));
                add_step(story_.evidence, at(operand).pc, at(operand).step,
                         fmt::format("makes r{}, the value checked", at(operand).reg));
                const int32_t twin = *std::ranges::find_if(chain, [&](int32_t m) {
                    return std::ranges::any_of(other, [&](int32_t o) { return same_bytes(at(o), at(m)); });
                });
                add_step(story_.evidence, at(twin).pc, at(twin).step,
                         fmt::format("makes r{} again, a separate value for the analysis", at(twin).reg));
                story_.because = fmt::format("the bound was checked on r{} at {}, but the access uses r{}, which is "
                                             "not a copy of it ({}, a separate load of the same bytes), so the "
                                             "bound does not carry over",
                                             c.registers[k], where(c.pc), used.reg, made_how(twin));
                story_.hint = fmt::format("compare the register the access uses (r{}) right before the access, or "
                                          "use the checked value (r{}) itself for the access",
                                          used.reg, c.registers[k]);
                story_.root = fmt::format("checked-on-copy@{}", c.pc);
                return true;
            }
        }
        for (int32_t m : chain)
            if (at(m).origin == Origin::Joined) {
                const uint32_t head = at(m).pc;
                story_.cause = LostFactCause::JoinInLoop;
                add_step(story_.evidence, head, at(m).step, "the loop's iterations are merged here");
                story_.because = fmt::format(
                    "r{} comes out of the loop at {} (instruction {}), whose iterations the analysis merged "
                    "(widening): only what holds on every iteration is kept, and the bound is not among it",
                    at(m).reg, where(head), head);
                story_.hint = "keep the value's kind and bound the same on every iteration: bound the index inside "
                              "the loop right before the access, or compute the pointer after the loop "
                              "(barrier_var(x) stops clang from merging a checked copy with an unchecked one)";
                story_.root = fmt::format("join-in-loop@{}", head);
                return true;
            }
        return never_compared(candidate, chain);
    }

    bool never_compared(int32_t candidate, const std::set<int32_t>& chain) {
        // The value's first maker: a load, a call's result, an argument.
        int32_t source = candidate;
        for (int32_t m : chain)
            if (at(m).step <= at(source).step && at(m).origin != Origin::Constant) source = m;
        const Node& made = at(source);
        const Node& used = at(candidate);
        story_.cause = LostFactCause::NeverCompared;
        if (made.origin != Origin::Entry)
            add_step(story_.evidence, made.pc, made.step, fmt::format("makes the value of r{}, unbounded", made.reg));
        const std::string made_at =
            made.origin == Origin::Entry ? "an argument" : fmt::format("made at {}", where(made.pc));
        story_.because = fmt::format("r{} ({}) is never compared with a bound on this path before it is used at {}",
                                     used.reg, made_at, where(diagnostic_.pc));
        switch (diagnostic_.code) {
        case ErrorCode::MapValueOutOfBounds:
            story_.hint = fmt::format("bound r{} right before the access (if (i >= N) return ...;) so that offset + "
                                      "access size stays within the map value",
                                      used.reg);
            break;
        case ErrorCode::StackOutOfBounds:
            story_.hint = fmt::format("bound r{} right before the access so the offset stays inside the buffer on "
                                      "the stack",
                                      used.reg);
            break;
        case ErrorCode::HelperArgument:
            story_.hint = fmt::format("bound r{} before the call (if (n > sizeof(buf)) return ...;), and from below "
                                      "too when zero is not allowed",
                                      used.reg);
            break;
        default:
            story_.hint = fmt::format("compare r{} with the bound the check at {} needs, right before it", used.reg,
                                      where(diagnostic_.pc));
        }
        story_.root = fmt::format("never-compared@{}", made.pc);
        return true;
    }

    // --- a packet pointer whose checks against data_end cover fewer bytes than the access
    bool packet_range(int32_t subject) {
        if (diagnostic_.code != ErrorCode::PacketOutOfBounds || !derives_from_context(subject)) return false;
        const Node& used = at(subject);
        // The packet's start: the context load the pointer was computed from.
        std::set<int32_t> roots;
        for (int32_t m : value_chain(subject, nullptr))
            if (is_context_load(m)) roots.insert(m);
        const Comparison* check = nullptr;
        // A check against data_end compares two pointers made from context loads, one from the packet's start.
        for (const Comparison& c : flow_.comparisons()) {
            if (c.operands[1] < 0 || !derives_from_context(c.operands[0]) || !derives_from_context(c.operands[1]))
                continue;
            for (int32_t operand : c.operands)
                if (std::ranges::any_of(value_chain(flow_.identity(operand), nullptr),
                                        [&](int32_t m) { return roots.contains(m); }))
                    check = &c;
        }
        story_.cause = LostFactCause::NeverCompared;
        if (check != nullptr) {
            add_step(story_.evidence, check->pc, check->step, "checks the packet's length, for fewer bytes");
            story_.because = fmt::format("no comparison with the packet's end covers this access: the check at {} "
                                         "proves fewer bytes than {} reads through r{}",
                                         where(check->pc), where(diagnostic_.pc), used.reg);
            story_.root = fmt::format("packet-range@{}", check->pc);
        } else {
            story_.because = fmt::format("r{} points into the packet, and no comparison with the packet's end "
                                         "(data_end) on this path proves the bytes read at {}",
                                         used.reg, where(diagnostic_.pc));
            story_.root = fmt::format("packet-unchecked@{}", diagnostic_.pc);
        }
        story_.hint = "check the bytes read against data_end right before the access "
                      "(if ((void *)(p + 1) > data_end) return ...;), for the whole header read";
        return true;
    }

    const ir::Object& object_;
    const ir::Program& program_;
    const Diagnostic& diagnostic_;
    PathFlow flow_;
    CausalStory story_;
    std::map<uint32_t, size_t> order_;  // pc -> position on the path, to sort steps
};

}  // namespace

std::optional<CausalStory> tell_story(const ir::Object& object, const ir::Program& program,
                                      const Diagnostic& diagnostic) {
    if (diagnostic.path.empty()) return std::nullopt;
    return Storyteller(object, program, diagnostic).tell();
}

void tell_stories(const ir::Object& object, const ir::Program& program, std::vector<Diagnostic>& errors) {
    std::vector<Diagnostic> kept;
    std::map<std::string, size_t> by_root;
    for (Diagnostic& error : errors) {
        error.story = tell_story(object, program, error);
        const std::string root = error.story ? error.story->root : std::string();
        if (!root.empty()) {
            if (auto first = by_root.find(root); first != by_root.end()) {
                StoryStep also;
                also.pc = error.pc;
                also.location = error.location;
                also.instruction = error.instruction;
                also.note = error.message;
                kept[first->second].also_at.push_back(std::move(also));
                continue;
            }
            by_root.emplace(root, kept.size());
        }
        kept.push_back(std::move(error));
    }
    errors = std::move(kept);
}

}  // namespace bpfvet::analyzer
