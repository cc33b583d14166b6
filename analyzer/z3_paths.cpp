#include "analyzer/z3_paths.hpp"

#include "analyzer/context_table.hpp"
#include "analyzer/helper_table.hpp"
#include "analyzer/z3_semantics.hpp"

#include <fmt/format.h>
#include <z3++.h>

#include <chrono>
#include <deque>
#include <map>
#include <set>

namespace bpfvet::analyzer {
namespace {

constexpr uint64_t MaxPacketLength = 65535;  // the runtime's (and the kernel's) largest packet
constexpr int32_t TailCallHelper = 12;

enum class ObjectKind : uint8_t { Context, Stack, Packet, MapValue, Other };

// One memory region a path may address: its bytes now, and at the start
// (the input the counterexample reports).
struct MemoryObject {
    ObjectKind kind;
    z3::expr initial;
    z3::expr bytes;
    int64_t size = 0;  // context and map values; the packet's is the length term
};

enum class Kind : uint8_t { Uninitialized, Number, Pointer, MapPointer };

struct SymbolicValue {
    explicit SymbolicValue(z3::context& c) : term(c.bv_val(0, 64)), null(c.bool_val(false)) {}
    Kind kind = Kind::Uninitialized;
    uint32_t object = 0;  // memory object (Pointer) or map index (MapPointer)
    z3::expr term;        // the number, or the offset into the object
    z3::expr null;        // a pointer that may be null: when it is
};

struct CallRecord {
    uint32_t pc = 0;
    int32_t helper = 0;
    z3::expr result;                        // Integer returns
    std::optional<z3::expr> null;           // lookups
    std::optional<uint32_t> value_object;   // lookups: the value's memory object
};

struct PathState {
    std::vector<SymbolicValue> registers;
    std::vector<MemoryObject> objects;
    std::map<uint32_t, uint32_t> global_objects;         // map index -> object (global data)
    std::map<int64_t, SymbolicValue> spilled_pointers;  // stack offset -> pointer spilled there
    std::vector<z3::expr> assumptions;                  // branch literals taken on this path
    std::vector<uint32_t> path;
    std::vector<CallRecord> calls;
    std::map<uint32_t, uint32_t> visits;
    uint32_t pc = 0;
};

constexpr uint32_t ContextObject = 0, StackObject = 1, PacketObject = 2;

std::optional<int64_t> constant_of(const z3::expr& term) {
    z3::expr simple = term.simplify();
    uint64_t value = 0;
    if (simple.is_numeral_u64(value)) return int64_t(value);
    return std::nullopt;
}

class Explorer {
public:
    Explorer(const ir::Object& object, const ir::Program& program, ir::ProgramType type, const Diagnostic& alarm,
             const PathSearchLimits& limits)
        : object_(object), program_(program), type_(type), alarm_(alarm), limits_(limits), solver_(context_),
          length_(context_.bv_const("packet_length", 64)), context_descriptor_(context_descriptor(type, program.attach_target)) {
        z3::params params(context_);
        params.set("timeout", limits.timeout_ms);
        solver_.set(params);
        solver_.add(z3::ule(length_, context_.bv_val(MaxPacketLength, 64)));
    }

    PathSearch run();

private:
    z3::sort byte_array() { return context_.array_sort(context_.bv_sort(64), context_.bv_sort(8)); }
    z3::expr fresh_bits(const std::string& prefix) {
        return context_.bv_const(fmt::format("{}_{}", prefix, fresh_++).c_str(), 64);
    }
    z3::expr fresh_bool(const std::string& prefix) {
        return context_.bool_const(fmt::format("{}_{}", prefix, fresh_++).c_str());
    }
    z3::expr fresh_array(const std::string& prefix) {
        return context_.constant(fmt::format("{}_{}", prefix, fresh_++).c_str(), byte_array());
    }
    SymbolicValue number(const z3::expr& term) {
        SymbolicValue v(context_);
        v.kind = Kind::Number;
        v.term = term;
        return v;
    }
    SymbolicValue pointer(uint32_t object, const z3::expr& offset) {
        SymbolicValue v(context_);
        v.kind = Kind::Pointer;
        v.object = object;
        v.term = offset;
        return v;
    }

    PathState entry_state();
    std::vector<bool> instructions_reaching(uint32_t target) const;
    // Executes the instruction at state.pc; returns the states that continue (0, 1 or 2).
    std::vector<PathState> step(PathState state);
    void execute_alu(PathState& state, const ir::Instruction& insn);
    void execute_load(PathState& state, const ir::Instruction& insn);
    void execute_store(PathState& state, const ir::Instruction& insn);
    void execute_atomic(PathState& state, const ir::Instruction& insn);
    void execute_lddw(PathState& state, const ir::Instruction& insn, const ir::Instruction& next);
    void execute_helper(PathState& state, const ir::Instruction& insn);
    z3::expr branch_condition(PathState& state, const ir::Instruction& insn);
    std::optional<z3::expr> failing_condition(PathState& state);
    z3::expr read(PathState& state, const SymbolicValue& pointer, int64_t offset, int width, bool sign_extend,
                  SymbolicValue& loaded);
    void write(PathState& state, const SymbolicValue& pointer, int64_t offset, const SymbolicValue& value, int width);
    void havoc(PathState& state, const SymbolicValue& pointer, const SymbolicValue& size);
    uint32_t global_object(PathState& state, uint32_t map);
    Counterexample counterexample(const PathState& state, const z3::model& model);
    void check_alarm(PathState& state);
    bool feasible(const std::vector<z3::expr>& assumptions);
    bool out_of_budget();

    const ir::Object& object_;
    const ir::Program& program_;
    ir::ProgramType type_;
    const Diagnostic& alarm_;
    PathSearchLimits limits_;
    z3::context context_;
    z3::solver solver_;
    z3::expr length_;
    std::optional<ContextDescriptor> context_descriptor_;
    uint64_t fresh_ = 0;
    uint64_t steps_ = 0;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::map<std::string, uint32_t> literal_pcs_;  // branch literal name -> its jump
    std::set<uint32_t> blamed_;
    uint64_t paths_ = 0;
    bool cut_ = false;
    std::string unknown_;
    std::optional<Counterexample> found_;
    std::vector<bool> reaches_;
};

PathState Explorer::entry_state() {
    PathState state;
    state.registers.assign(ir::RegisterCount, SymbolicValue(context_));
    int64_t context_size = context_descriptor_ ? int64_t(context_descriptor_->size) : 0;
    z3::expr context_bytes = context_.constant("context", byte_array());
    z3::expr packet_bytes = context_.constant("packet", byte_array());
    z3::expr stack_bytes = context_.constant("stack", byte_array());
    state.objects.push_back({ObjectKind::Context, context_bytes, context_bytes, context_size});
    state.objects.push_back({ObjectKind::Stack, stack_bytes, stack_bytes, ir::StackSize});
    state.objects.push_back({ObjectKind::Packet, packet_bytes, packet_bytes, 0});
    state.registers[1] = pointer(ContextObject, context_.bv_val(0, 64));
    state.registers[10] = pointer(StackObject, context_.bv_val(0, 64));
    return state;
}

// Instructions from which the target can be reached, walking the jumps backwards.
std::vector<bool> Explorer::instructions_reaching(uint32_t target) const {
    const auto& code = program_.instructions;
    std::vector<std::vector<uint32_t>> predecessors(code.size());
    for (uint32_t pc = 0; pc < code.size(); ++pc) {
        const ir::Instruction& insn = code[pc];
        if (pc > 0 && code[pc - 1].is_lddw()) continue;  // continuation slot
        auto link = [&](int64_t to) {
            if (to >= 0 && size_t(to) < code.size()) predecessors[size_t(to)].push_back(pc);
        };
        if (insn.is_exit()) continue;
        if (insn.is_goto()) {
            link(int64_t(pc) + 1 + insn.jump_offset());
            continue;
        }
        if (insn.is_conditional_jump()) link(int64_t(pc) + 1 + insn.jump_offset());
        link(int64_t(pc) + (insn.is_lddw() ? 2 : 1));
    }
    std::vector<bool> reaches(code.size(), false);
    std::vector<uint32_t> work{target};
    reaches[target] = true;
    while (!work.empty()) {
        uint32_t pc = work.back();
        work.pop_back();
        for (uint32_t from : predecessors[pc])
            if (!reaches[from]) reaches[from] = true, work.push_back(from);
    }
    return reaches;
}

bool Explorer::out_of_budget() {
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    return steps_ > limits_.max_steps || seconds > limits_.max_seconds || paths_ >= limits_.max_paths;
}

bool Explorer::feasible(const std::vector<z3::expr>& assumptions) {
    z3::expr_vector vector(context_);
    for (const auto& a : assumptions) vector.push_back(a);
    z3::check_result result = solver_.check(vector);
    if (result == z3::unknown) {
        // A timeout keeps the path (it may be feasible) but the search is no longer exact.
        cut_ = true;
        if (unknown_.empty()) unknown_ = "a solver query timed out";
    }
    return result != z3::unsat;
}

uint32_t Explorer::global_object(PathState& state, uint32_t map) {
    auto found = state.global_objects.find(map);
    if (found != state.global_objects.end()) return found->second;
    z3::expr bytes = context_.constant(fmt::format("global_{}", map).c_str(), byte_array());
    state.objects.push_back({ObjectKind::MapValue, bytes, bytes, int64_t(object_.maps[map].value_size)});
    uint32_t index = uint32_t(state.objects.size() - 1);
    state.global_objects[map] = index;
    return index;
}

z3::expr Explorer::read(PathState& state, const SymbolicValue& pointer, int64_t offset, int width,
                        bool sign_extend, SymbolicValue& loaded) {
    loaded = number(fresh_bits("unknown"));
    if (pointer.kind != Kind::Pointer) return loaded.term;
    MemoryObject& memory = state.objects[pointer.object];
    z3::expr address = pointer.term + context_.bv_val(uint64_t(offset), 64);
    std::optional<int64_t> constant = constant_of(address);
    if (memory.kind == ObjectKind::Context && context_descriptor_) {
        if (!constant) return loaded.term;
        auto allowed = check_context_access(*context_descriptor_, *constant, width, false);
        if (const auto* field = std::get_if<ContextAccessAllowed>(&allowed)) {
            switch (field->load) {
            case ContextLoad::PacketStart:
            case ContextLoad::PacketMeta: loaded = this->pointer(PacketObject, context_.bv_val(0, 64)); return loaded.term;
            case ContextLoad::PacketEnd: loaded = this->pointer(PacketObject, length_); return loaded.term;
            case ContextLoad::SocketOrNull:
            case ContextLoad::SockCommonOrNull: {
                z3::expr bytes = fresh_array("socket");
                state.objects.push_back({ObjectKind::Other, bytes, bytes, 0});
                loaded = this->pointer(uint32_t(state.objects.size() - 1), context_.bv_val(0, 64));
                loaded.null = fresh_bool("socket_null");
                return loaded.term;
            }
            case ContextLoad::Scalar: break;
            }
            // __sk_buff.len is the packet's length in the runtime's model.
            if (context_descriptor_->struct_name == "__sk_buff" && *constant == 0 && width == 4) {
                loaded = number(length_);
                return loaded.term;
            }
        }
    }
    if (memory.kind == ObjectKind::Stack && constant && width == 8) {
        auto spilled = state.spilled_pointers.find(*constant);
        if (spilled != state.spilled_pointers.end()) {
            loaded = spilled->second;
            return loaded.term;
        }
    }
    if (memory.kind == ObjectKind::Other) return loaded.term;
    loaded = number(load_bytes(memory.bytes, address, width, sign_extend));
    return loaded.term;
}

void Explorer::write(PathState& state, const SymbolicValue& pointer, int64_t offset, const SymbolicValue& value,
                     int width) {
    if (pointer.kind != Kind::Pointer) return;
    MemoryObject& memory = state.objects[pointer.object];
    if (memory.kind == ObjectKind::Other) return;
    z3::expr address = pointer.term + context_.bv_val(uint64_t(offset), 64);
    if (memory.kind == ObjectKind::Stack) {
        std::optional<int64_t> constant = constant_of(address);
        if (!constant) {
            state.spilled_pointers.clear();
        } else {
            std::erase_if(state.spilled_pointers,
                          [&](const auto& entry) { return entry.first < *constant + width && *constant < entry.first + 8; });
            if (width == 8 && (value.kind == Kind::Pointer || value.kind == Kind::MapPointer))
                state.spilled_pointers.emplace(*constant, value);
        }
    }
    z3::expr stored = value.kind == Kind::Number ? value.term : fresh_bits("stored");
    memory.bytes = store_bytes(memory.bytes, address, stored, width);
}

// A helper wrote `size` unknown bytes at `pointer`.
void Explorer::havoc(PathState& state, const SymbolicValue& pointer, const SymbolicValue& size) {
    if (pointer.kind != Kind::Pointer) return;
    MemoryObject& memory = state.objects[pointer.object];
    if (memory.kind == ObjectKind::Other || memory.kind == ObjectKind::Context) return;
    z3::expr index = context_.bv_const("i", 64);
    z3::expr start = pointer.term;
    z3::expr count = size.kind == Kind::Number ? size.term : context_.bv_val(uint64_t(ir::StackSize), 64);
    z3::expr written = fresh_array("written");
    memory.bytes = z3::lambda(index, z3::ite(z3::ult(index - start, count), z3::select(written, index),
                                             z3::select(memory.bytes, index)));
    if (memory.kind == ObjectKind::Stack) state.spilled_pointers.clear();
}

void Explorer::execute_alu(PathState& state, const ir::Instruction& insn) {
    SymbolicValue& dst = state.registers[insn.dst];
    SymbolicValue source = insn.source() == ir::Source::Reg ? state.registers[insn.src]
                                                            : number(operand(context_, insn, context_.bv_val(0, 64)));
    const bool wide = insn.cls() == ir::InstructionClass::Alu64;
    const ir::AluOp op = insn.alu_op();
    if (op == ir::AluOp::Mov && wide && insn.offset == 0) {
        dst = source;
        return;
    }
    if (wide && dst.kind == Kind::Pointer && source.kind == Kind::Number &&
        (op == ir::AluOp::Add || op == ir::AluOp::Sub)) {
        dst.term = op == ir::AluOp::Add ? dst.term + source.term : dst.term - source.term;
        return;
    }
    if (wide && op == ir::AluOp::Add && dst.kind == Kind::Number && source.kind == Kind::Pointer) {
        SymbolicValue sum = source;
        sum.term = source.term + dst.term;
        dst = sum;
        return;
    }
    if (wide && op == ir::AluOp::Sub && dst.kind == Kind::Pointer && source.kind == Kind::Pointer &&
        dst.object == source.object) {
        dst = number(dst.term - source.term);
        return;
    }
    const bool unary = op == ir::AluOp::Neg || op == ir::AluOp::End;
    if (dst.kind != Kind::Number && !(op == ir::AluOp::Mov)) {
        dst = number(fresh_bits("pointer_bits"));
        return;
    }
    if (!unary && source.kind != Kind::Number) {
        dst = number(fresh_bits("pointer_bits"));
        return;
    }
    dst = number(alu_result(insn, dst.term, source.term));
}

void Explorer::execute_load(PathState& state, const ir::Instruction& insn) {
    SymbolicValue loaded(context_);
    SymbolicValue base = state.registers[insn.src];
    (void)read(state, base, insn.offset, insn.access_width(), insn.mem_mode() == ir::MemMode::MemSx, loaded);
    state.registers[insn.dst] = loaded;
}

void Explorer::execute_store(PathState& state, const ir::Instruction& insn) {
    SymbolicValue value = insn.cls() == ir::InstructionClass::St
                              ? number(context_.bv_val(uint64_t(int64_t(insn.imm)), 64))
                              : state.registers[insn.src];
    write(state, state.registers[insn.dst], insn.offset, value, insn.access_width());
}

void Explorer::execute_atomic(PathState& state, const ir::Instruction& insn) {
    const int width = insn.access_width();
    SymbolicValue old(context_);
    SymbolicValue base = state.registers[insn.dst];
    (void)read(state, base, insn.offset, width, false, old);
    SymbolicValue operand_value = state.registers[insn.src];
    z3::expr b = operand_value.kind == Kind::Number ? operand_value.term : fresh_bits("pointer_bits");
    z3::expr result = old.term;
    switch (insn.imm & ~ir::atomic::Fetch) {
    case ir::atomic::Add: result = old.term + b; break;
    case ir::atomic::Or: result = old.term | b; break;
    case ir::atomic::And: result = old.term & b; break;
    case ir::atomic::Xor: result = old.term ^ b; break;
    default: break;
    }
    if (insn.imm == ir::atomic::Xchg) result = b;
    if (insn.imm == ir::atomic::CmpXchg) {
        z3::expr expected = state.registers[0].kind == Kind::Number ? state.registers[0].term : fresh_bits("pointer_bits");
        z3::expr mask = context_.bv_val(uint64_t(width == 8 ? ~uint64_t(0) : 0xffffffffULL), 64);
        result = z3::ite((old.term & mask) == (expected & mask), b, old.term);
        state.registers[0] = old;
    } else if (insn.imm & ir::atomic::Fetch) {
        state.registers[insn.src] = old;
    }
    write(state, base, insn.offset, number(result), width);
}

void Explorer::execute_lddw(PathState& state, const ir::Instruction& insn, const ir::Instruction& next) {
    SymbolicValue& dst = state.registers[insn.dst];
    uint32_t map = uint32_t(insn.imm);
    switch (ir::LddwKind(insn.src)) {
    case ir::LddwKind::MapFd:
    case ir::LddwKind::MapIndex:
        dst = SymbolicValue(context_);
        dst.kind = map < object_.maps.size() ? Kind::MapPointer : Kind::Number;
        dst.object = map;
        return;
    case ir::LddwKind::MapValue:
    case ir::LddwKind::MapIndexValue:
        if (map >= object_.maps.size()) break;
        dst = pointer(global_object(state, map), context_.bv_val(uint64_t(uint32_t(next.imm)), 64));
        return;
    case ir::LddwKind::Immediate: dst = number(context_.bv_val(ir::lddw_value(insn, next), 64)); return;
    default: break;
    }
    dst = number(fresh_bits("lddw"));
}

void Explorer::execute_helper(PathState& state, const ir::Instruction& insn) {
    const HelperPrototype* prototype = helper_prototype(insn.imm);
    CallRecord record{state.pc, insn.imm, fresh_bits(fmt::format("helper{}_at{}", insn.imm, state.pc)), {}, {}};
    SymbolicValue result = number(record.result);
    if (prototype != nullptr) {
        // Memory a helper may write becomes unknown over the size it is given.
        for (size_t i = 0; i < prototype->arguments.size(); ++i) {
            ArgumentKind kind = prototype->arguments[i];
            if ((kind == ArgumentKind::WritableMemory || kind == ArgumentKind::WritableMemoryOrNull) && i + 1 < 5)
                havoc(state, state.registers[i + 1], state.registers[i + 2]);
            if (kind == ArgumentKind::FixedOutput || kind == ArgumentKind::FixedInOut)
                havoc(state, state.registers[i + 1], number(context_.bv_val(prototype->fixed_sizes[i], 64)));
            if (kind == ArgumentKind::MapValueOutput) havoc(state, state.registers[i + 1], number(context_.bv_val(ir::StackSize, 64)));
        }
        switch (prototype->returns) {
        case ReturnKind::MapValueOrNull: {
            const SymbolicValue& map = state.registers[1];
            int64_t size = map.kind == Kind::MapPointer ? int64_t(object_.maps[map.object].value_size) : 0;
            z3::expr bytes = fresh_array(fmt::format("value_at{}", state.pc));
            state.objects.push_back({ObjectKind::MapValue, bytes, bytes, size});
            record.value_object = uint32_t(state.objects.size() - 1);
            record.null = fresh_bool(fmt::format("null_at{}", state.pc));
            result = pointer(*record.value_object, context_.bv_val(0, 64));
            result.null = *record.null;
            break;
        }
        case ReturnKind::RingbufMemoryOrNull:
        case ReturnKind::SocketOrNull:
        case ReturnKind::SockCommonOrNull:
        case ReturnKind::SocketOrNullUnreferenced:
        case ReturnKind::TcpSockOrNull:
        case ReturnKind::KernelObject:
        case ReturnKind::MemoryOrNull: {
            z3::expr bytes = fresh_array("helper_memory");
            state.objects.push_back({ObjectKind::Other, bytes, bytes, 0});
            record.null = fresh_bool(fmt::format("null_at{}", state.pc));
            result = pointer(uint32_t(state.objects.size() - 1), context_.bv_val(0, 64));
            result.null = *record.null;
            break;
        }
        case ReturnKind::Void: result = SymbolicValue(context_); break;
        case ReturnKind::Integer: break;
        case ReturnKind::MapValue: {  // never null
            const SymbolicValue& map = state.registers[1];
            int64_t size = map.kind == Kind::MapPointer ? int64_t(object_.maps[map.object].value_size) : 0;
            z3::expr bytes = fresh_array(fmt::format("value_at{}", state.pc));
            state.objects.push_back({ObjectKind::MapValue, bytes, bytes, size});
            result = pointer(uint32_t(state.objects.size() - 1), context_.bv_val(0, 64));
            break;
        }
        }
        if (helper_changes_packet_data(insn.imm)) {
            for (auto& value : state.registers)
                if (value.kind == Kind::Pointer && value.object == PacketObject) value = number(fresh_bits("stale"));
        }
    }
    state.calls.push_back(record);
    state.registers[0] = result;
    for (int r = 1; r <= 5; ++r) state.registers[size_t(r)] = SymbolicValue(context_);
}

z3::expr Explorer::branch_condition(PathState& state, const ir::Instruction& insn) {
    const SymbolicValue& dst = state.registers[insn.dst];
    SymbolicValue source = insn.source() == ir::Source::Reg ? state.registers[insn.src]
                                                            : number(operand(context_, insn, context_.bv_val(0, 64)));
    if (dst.kind == Kind::Number && source.kind == Kind::Number) return jump_condition(insn, dst.term, source.term);
    const bool wide = insn.cls() == ir::InstructionClass::Jmp;
    const ir::JmpOp op = insn.jmp_op();
    // A null check: a pointer against the number 0.
    auto null_check = [&](const SymbolicValue& p, const SymbolicValue& n) -> std::optional<z3::expr> {
        if (p.kind != Kind::Pointer || n.kind != Kind::Number || !wide) return std::nullopt;
        std::optional<int64_t> constant = constant_of(n.term);
        if (!constant || *constant != 0) return std::nullopt;
        if (op == ir::JmpOp::Jeq) return p.null;
        if (op == ir::JmpOp::Jne) return !p.null;
        return std::nullopt;
    };
    if (auto check = null_check(dst, source)) return *check;
    if (auto check = null_check(source, dst)) return *check;
    if (wide && dst.kind == Kind::Pointer && source.kind == Kind::Pointer && dst.object == source.object) {
        // Same region: addresses compare as offsets (no region wraps around).
        z3::expr a = dst.term, b = source.term;
        switch (op) {
        case ir::JmpOp::Jeq: return a == b;
        case ir::JmpOp::Jne: return a != b;
        case ir::JmpOp::Jgt: case ir::JmpOp::Jsgt: return a > b;
        case ir::JmpOp::Jge: case ir::JmpOp::Jsge: return a >= b;
        case ir::JmpOp::Jlt: case ir::JmpOp::Jslt: return a < b;
        case ir::JmpOp::Jle: case ir::JmpOp::Jsle: return a <= b;
        default: break;
        }
    }
    return fresh_bool("comparison");
}

// The condition under which the alarm's access faults, in the path's terms.
std::optional<z3::expr> Explorer::failing_condition(PathState& state) {
    const ir::Instruction& insn = program_.instructions[alarm_.pc];
    switch (alarm_.code) {
    case ErrorCode::PacketOutOfBounds:
    case ErrorCode::MapValueOutOfBounds:
    case ErrorCode::StackOutOfBounds:
    case ErrorCode::MemoryAccess:
    case ErrorCode::NullDereference: break;
    default: return std::nullopt;
    }
    int reg = -1;
    if (insn.is_load() && (insn.mem_mode() == ir::MemMode::Mem || insn.mem_mode() == ir::MemMode::MemSx))
        reg = insn.src;
    else if (insn.is_store() && (insn.mem_mode() == ir::MemMode::Mem || insn.mem_mode() == ir::MemMode::Atomic))
        reg = insn.dst;
    if (reg < 0) return std::nullopt;
    const SymbolicValue& p = state.registers[size_t(reg)];
    if (p.kind != Kind::Pointer) return p.kind == Kind::MapPointer ? std::nullopt : std::optional(context_.bool_val(true));
    const MemoryObject& memory = state.objects[p.object];
    // 66-bit arithmetic: an offset near 2^63 must not wrap into range.
    auto wide = [](const z3::expr& e) { return z3::sext(e, 2); };
    z3::expr start = wide(p.term) + context_.bv_val(int64_t(insn.offset), 66);
    z3::expr end = start + context_.bv_val(insn.access_width(), 66);
    z3::expr outside = context_.bool_val(false);
    switch (memory.kind) {
    case ObjectKind::Stack:
        outside = start < context_.bv_val(-int64_t(ir::StackSize), 66) || end > context_.bv_val(0, 66);
        break;
    case ObjectKind::Packet: outside = start < context_.bv_val(0, 66) || end > z3::zext(length_, 2); break;
    case ObjectKind::MapValue:
    case ObjectKind::Context:
        outside = start < context_.bv_val(0, 66) || end > context_.bv_val(memory.size, 66);
        break;
    case ObjectKind::Other: return std::nullopt;
    }
    return p.null || outside;
}

Counterexample Explorer::counterexample(const PathState& state, const z3::model& model) {
    auto byte_at = [&](const z3::model& m, const z3::expr& array, uint64_t index) {
        return uint8_t(m.eval(z3::select(array, context_.bv_val(index, 64)), true).get_numeral_uint64());
    };
    Counterexample out;
    const bool has_packet = context_descriptor_ && (context_descriptor_->struct_name == "xdp_md" ||
                                                    context_descriptor_->struct_name == "__sk_buff");
    if (has_packet) {
        uint64_t length = std::min<uint64_t>(model.eval(length_, true).get_numeral_uint64(), MaxPacketLength);
        for (uint64_t i = 0; i < length; ++i) out.packet.push_back(byte_at(model, state.objects[PacketObject].initial, i));
    }
    uint64_t context_size = context_descriptor_ && context_descriptor_->size > 0 ? context_descriptor_->size : 0;
    for (uint64_t i = 0; i < context_size; ++i) out.context.push_back(byte_at(model, state.objects[ContextObject].initial, i));
    for (const auto& call : state.calls) {
        HelperOutcome outcome{call.pc, call.helper, 0, {}};
        if (call.null) {
            bool is_null = model.eval(*call.null, true).is_true();
            outcome.result = is_null ? 0 : 1;
            if (!is_null && call.value_object) {
                const MemoryObject& value = state.objects[*call.value_object];
                for (int64_t i = 0; i < value.size; ++i) outcome.value.push_back(byte_at(model, value.initial, uint64_t(i)));
            }
        } else {
            outcome.result = model.eval(call.result, true).get_numeral_uint64();
        }
        out.calls.push_back(std::move(outcome));
    }
    out.path = state.path;
    for (uint32_t pc : state.path) {
        const ir::SourceLocation* location = program_.source_line(pc);
        if (location == nullptr) continue;
        std::string line = fmt::format("{}:{}: {}", location->file, location->line, location->text);
        if (out.path_lines.empty() || out.path_lines.back() != line) out.path_lines.push_back(std::move(line));
    }
    return out;
}

void Explorer::check_alarm(PathState& state) {
    std::optional<z3::expr> failing = failing_condition(state);
    if (!failing) {
        cut_ = true;
        if (unknown_.empty())
            unknown_ = fmt::format("the failing condition of a {} error is not encoded", error_code_name(alarm_.code));
        return;
    }
    ++paths_;
    z3::expr literal = fresh_bool("fails");
    solver_.add(z3::implies(literal, *failing));
    z3::expr_vector assumptions(context_);
    for (const auto& a : state.assumptions) assumptions.push_back(a);
    assumptions.push_back(literal);
    z3::check_result result = solver_.check(assumptions);
    if (result == z3::sat) {
        // Prefer a short packet: easier to read and to replay.
        z3::model model = solver_.get_model();
        if (model.eval(length_, true).get_numeral_uint64() > 256) {
            solver_.push();
            solver_.add(z3::ule(length_, context_.bv_val(256, 64)));
            if (solver_.check(assumptions) == z3::sat) model = solver_.get_model();
            found_ = counterexample(state, model);
            solver_.pop();
        } else {
            found_ = counterexample(state, model);
        }
        return;
    }
    if (result == z3::unknown) {
        cut_ = true;
        if (unknown_.empty()) unknown_ = "a solver query timed out";
        return;
    }
    for (const auto& blamed : solver_.unsat_core()) {
        auto found = literal_pcs_.find(blamed.to_string());
        if (found != literal_pcs_.end()) blamed_.insert(found->second);
    }
}

std::vector<PathState> Explorer::step(PathState state) {
    const auto& code = program_.instructions;
    const uint32_t pc = state.pc;
    const ir::Instruction& insn = code[pc];
    state.path.push_back(pc);
    if (++state.visits[pc] > limits_.loop_bound) {
        cut_ = true;
        return {};
    }
    if (pc == alarm_.pc) {
        check_alarm(state);
        if (found_) return {};
    }
    auto advance = [&](uint32_t width) -> std::vector<PathState> {
        state.pc = pc + width;
        if (state.pc >= code.size()) return {};
        std::vector<PathState> out;
        out.push_back(std::move(state));
        return out;
    };
    if (insn.is_exit()) return {};  // the entry function returns: the path ends
    if (insn.is_goto()) {
        state.pc = uint32_t(int64_t(pc) + 1 + insn.jump_offset());
        std::vector<PathState> out;
        out.push_back(std::move(state));
        return out;
    }
    if (insn.is_conditional_jump()) {
        // may_goto jumps when the kernel's loop budget runs out: either way is possible.
        z3::expr taken = insn.is_may_goto()
                             ? context_.bool_const(fmt::format("may_goto_{}_{}", pc, fresh_++).c_str())
                             : branch_condition(state, insn);
        std::vector<PathState> out;
        for (bool outcome : {true, false}) {
            uint32_t target = outcome ? uint32_t(int64_t(pc) + 1 + insn.jump_offset()) : pc + 1;
            if (target >= code.size() || !reaches_[target]) continue;
            std::string name = fmt::format("branch_{}_{}_{}", pc, outcome ? "taken" : "fallthrough", fresh_++);
            z3::expr literal = context_.bool_const(name.c_str());
            literal_pcs_[name] = pc;
            solver_.add(z3::implies(literal, outcome ? taken : !taken));
            PathState next = state;
            next.assumptions.push_back(literal);
            if (!feasible(next.assumptions)) continue;
            next.pc = target;
            out.push_back(std::move(next));
        }
        return out;
    }
    if (insn.is_call()) {
        if (!insn.is_helper_call()) {
            cut_ = true;
            if (unknown_.empty()) unknown_ = "calls to subprograms and kfuncs are not encoded";
            return {};
        }
        execute_helper(state, insn);
        if (insn.imm == TailCallHelper) {
            // A tail call that succeeds never comes back; the path continues as if it failed.
        }
        return advance(1);
    }
    if (insn.is_lddw()) {
        execute_lddw(state, insn, code[pc + 1]);
        return advance(2);
    }
    if (insn.is_alu()) {
        execute_alu(state, insn);
        return advance(1);
    }
    if (insn.is_load()) {
        execute_load(state, insn);
        return advance(1);
    }
    if (insn.is_store()) {
        if (insn.mem_mode() == ir::MemMode::Atomic) execute_atomic(state, insn);
        else execute_store(state, insn);
        return advance(1);
    }
    if (insn.cls() == ir::InstructionClass::Ld) {
        // Legacy packet loads (ld_abs, ld_ind): r0 is a packet word; r1..r5 are clobbered.
        state.registers[0] = number(fresh_bits("legacy_load"));
        for (int r = 1; r <= 5; ++r) state.registers[size_t(r)] = SymbolicValue(context_);
        return advance(1);
    }
    cut_ = true;
    if (unknown_.empty()) unknown_ = fmt::format("instruction {} is not encoded", pc);
    return {};
}

PathSearch Explorer::run() {
    PathSearch out;
    const auto& code = program_.instructions;
    if (alarm_.pc >= code.size()) {
        out.reason = "the alarm is not at an instruction";
        return out;
    }
    if (!context_descriptor_) {
        out.reason = "the program type's context is not modelled";
        return out;
    }
    switch (alarm_.code) {
    case ErrorCode::PacketOutOfBounds:
    case ErrorCode::MapValueOutOfBounds:
    case ErrorCode::StackOutOfBounds:
    case ErrorCode::MemoryAccess:
    case ErrorCode::NullDereference: break;
    default:
        out.reason = fmt::format("the failing condition of a {} error is not encoded", error_code_name(alarm_.code));
        return out;
    }
    reaches_ = instructions_reaching(alarm_.pc);
    std::vector<PathState> work;
    work.push_back(entry_state());
    try {
        while (!work.empty() && !found_) {
            if (out_of_budget()) {
                cut_ = true;
                if (unknown_.empty()) unknown_ = "the path search ran out of its budget";
                break;
            }
            PathState state = std::move(work.back());
            work.pop_back();
            ++steps_;
            for (auto& next : step(std::move(state))) work.push_back(std::move(next));
        }
    } catch (const z3::exception& error) {
        out.reason = fmt::format("Z3 failed: {}", error.msg());
        return out;
    }
    out.paths = paths_;
    out.complete = !cut_;
    out.blamed_branches.assign(blamed_.begin(), blamed_.end());
    if (found_) {
        out.verdict = PathVerdict::Reachable;
        out.counterexample = std::move(found_);
        out.reason = "an input reaches the failing condition";
        return out;
    }
    if (cut_) {
        out.reason = unknown_.empty() ? "some paths were cut by the loop bound" : unknown_;
        if (unknown_.empty()) out.reason = fmt::format("paths were cut after {} visits of one instruction", limits_.loop_bound);
        return out;
    }
    out.verdict = PathVerdict::Unreachable;
    out.reason = fmt::format("the failing condition is unsatisfiable on all {} paths to the alarm", paths_);
    return out;
}

}  // namespace

PathSearch search_alarm_paths(const ir::Object& object, const ir::Program& program, ir::ProgramType type,
                              const Diagnostic& alarm, const PathSearchLimits& limits) {
    Explorer explorer(object, program, type, alarm, limits);
    return explorer.run();
}

}  // namespace bpfvet::analyzer
