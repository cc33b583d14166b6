#include "program_generator.hpp"

#include "ir/assembler.hpp"

#include <array>
#include <bit>
#include <fmt/format.h>
#include <random>

namespace bpfvet::generator {
namespace {

// A register set as bits (bit n: rn).
using Registers = uint32_t;
constexpr Registers bit(int r) { return Registers(1) << r; }
constexpr Registers CallerSaved = bit(1) | bit(2) | bit(3) | bit(4) | bit(5);
// The registers snippets compute with. r6 holds the context, r7/r8 the packet
// bounds where the type has direct packet access; r10 is the frame.
constexpr std::array ScalarPool = {0, 1, 2, 3, 4, 5, 9};

struct Width {
    int bytes;
    const char* unsigned_name;  // "u32"
    const char* signed_name;    // "s32", or null for 8 bytes (no LDSX of a u64)
};
constexpr std::array Widths = {Width{1, "u8", "s8"}, Width{2, "u16", "s16"}, Width{4, "u32", "s32"},
                               Width{8, "u64", nullptr}};

struct MapShape {
    const char* name;
    ir::MapType type;
    uint32_t key_size, value_size, max_entries;
};
constexpr std::array MapShapes = {MapShape{"values", ir::MapType::Array, 4, 32, 4},
                                  MapShape{"table", ir::MapType::Hash, 8, 16, 8},
                                  MapShape{"counters", ir::MapType::PercpuArray, 4, 8, 2}};

struct TypeShape {
    ir::ProgramType type;
    const char* section;
    bool direct_packet;   // data/data_end in the context
    bool skb;             // __sk_buff: LD_ABS, bpf_skb_load_bytes, cb[] writes
    uint32_t data_offset; // offsets of data and data_end in the context
};
constexpr std::array TypeShapes = {TypeShape{ir::ProgramType::Xdp, "xdp", true, false, 0},
                                   TypeShape{ir::ProgramType::SchedCls, "tc", true, true, 76},
                                   TypeShape{ir::ProgramType::SocketFilter, "socket", false, true, 0},
                                   TypeShape{ir::ProgramType::Kprobe, "kprobe/do_nanosleep", false, false, 0}};

// Readable 4-byte fields of the contexts (xdp_md; __sk_buff for socket filters and TC).
constexpr std::array XdpFields = {0u, 4u, 8u, 12u, 16u};
constexpr std::array SkbFields = {0u, 4u, 8u, 12u, 16u, 20u, 24u, 28u, 32u, 36u, 40u, 44u, 48u, 52u, 56u, 60u, 64u, 68u};

class Generator {
public:
    explicit Generator(uint64_t seed) : random_(seed) {
        program_.seed = seed;
        shape_ = TypeShapes[below(TypeShapes.size())];
        program_.type = shape_.type;
        program_.section = shape_.section;
        for (const auto& map : MapShapes) {
            ir::MapDefinition definition;
            definition.name = map.name;
            definition.type = map.type;
            definition.key_size = map.key_size;
            definition.value_size = map.value_size;
            definition.max_entries = map.max_entries;
            program_.maps.push_back(definition);
        }
    }

    GeneratedProgram generate() {
        emit("prog:");
        emit("r6 = r1");
        live_ = bit(6) | bit(10);
        if (shape_.direct_packet) {
            emit(fmt::format("r7 = *(u32 *)(r6 + {})", shape_.data_offset));
            emit(fmt::format("r8 = *(u32 *)(r6 + {})", shape_.data_offset + 4));
            reserved_ |= bit(7) | bit(8);
        }
        for (int r : ScalarPool)
            if (r != 1 && !chance(4)) set_constant(r);  // a few stay uninitialised: reading one is a mistake
        size_t snippets = 2 + below(9);
        for (size_t i = 0; i < snippets; ++i) snippet(0);
        if (!(live_ & bit(0)) || chance(85)) emit(fmt::format("r0 = {}", below(4)));
        emit("exit");
        for (auto& line : subprograms_) emit(std::move(line));
        return std::move(program_);
    }

private:
    uint64_t below(uint64_t n) { return random_() % n; }
    bool chance(int percent) { return below(100) < uint64_t(percent); }
    void emit(std::string line) { program_.lines.push_back(std::move(line)); }
    std::string label() { return fmt::format("L{}", labels_++); }

    int64_t interesting() {
        static constexpr std::array<int64_t, 12> values = {0, 1, -1, 2, 7, 8, 16, 255, 0x7fffffff,
                                                           -0x80000000LL, 4096, -4096};
        return chance(60) ? values[below(values.size())] : int64_t(int32_t(random_()));
    }
    void set_constant(int r) {
        emit(fmt::format("r{} = {}", r, interesting()));
        live_ |= bit(r);
    }
    // A register holding a number: mostly an initialised one, rarely (a
    // mistake) one never written.
    int scalar() {
        std::vector<int> choices;
        for (int r : ScalarPool)
            if ((live_ & bit(r)) && !(reserved_ & bit(r))) choices.push_back(r);
        if (choices.empty() || chance(2)) {
            std::vector<int> any;
            for (int r : ScalarPool)
                if (!(reserved_ & bit(r))) any.push_back(r);
            return any[below(any.size())];
        }
        return choices[below(choices.size())];
    }
    // A register to write a number into (other than `avoid`).
    int destination(int avoid = -1) {
        std::vector<int> choices;
        for (int r : ScalarPool)
            if (!(reserved_ & bit(r)) && r != avoid) choices.push_back(r);
        return choices[below(choices.size())];
    }
    // A number for a snippet that needs r0 for itself.
    int scalar_not_r0() {
        int r = scalar();
        return r == 0 ? destination(0) : r;
    }
    // r9 is free (not a loop's counter).
    [[nodiscard]] bool r9_free() const { return !(reserved_ & bit(9)); }
    // After a snippet left pointers in `registers`: mostly overwrite them with
    // numbers, sometimes (a mistake waiting to happen) keep them as numbers.
    void settle(Registers registers) {
        for (int r : ScalarPool)
            if ((registers & bit(r)) && !(reserved_ & bit(r))) {
                if (chance(90)) set_constant(r);
                else if (chance(50)) live_ &= ~bit(r);
            }
    }
    void clobber_call() { live_ &= ~CallerSaved; live_ |= bit(0); }
    const ir::MapDefinition& pick_map() { return program_.maps[below(program_.maps.size())]; }
    const Width& pick_width() { return Widths[below(Widths.size())]; }

    void snippet(int depth) {
        switch (below(depth < 2 ? 16 : 9)) {
        case 0: case 1: alu(); break;
        case 2: wide_constant(); break;
        case 3: stack(); break;
        case 4: context_access(); break;
        case 5: map_lookup(); break;
        case 6: packet(); break;
        case 7: atomic(); break;
        case 8: helper(); break;
        case 9: case 10: branch(depth); break;
        case 11: loop(depth); break;
        case 12: irreducible(); break;
        case 13: dead_code(depth); break;
        case 14: local_call(); break;
        default: map_update(); break;
        }
    }

    void alu() {
        bool narrow = chance(40);
        char prefix = narrow ? 'w' : 'r';
        int width = narrow ? 32 : 64;
        int dst = destination();
        if (chance(15)) {
            int src = scalar();
            switch (below(4)) {
            case 0: emit(fmt::format("{0}{1} = -{0}{1}", prefix, dst)); break;
            case 1: {
                static constexpr std::array forms = {"be16", "be32", "be64", "le16", "le32", "le64",
                                                     "bswap16", "bswap32", "bswap64"};
                emit(fmt::format("r{0} = {1} r{0}", dst, forms[below(forms.size())]));
                break;
            }
            case 2: emit(fmt::format("r{} = (s{})r{}", dst, 8 << below(3), src)); break;
            default: emit(fmt::format("w{} = (s{})w{}", dst, 8 << below(2), src)); break;
            }
            if (!(live_ & bit(dst)) && chance(50)) set_constant(dst);  // negation and swaps read dst
            live_ |= bit(dst);
            return;
        }
        static constexpr std::array operators = {"+=", "-=", "*=", "/=", "s/=", "%=", "s%=", "|=",
                                                 "&=", "^=", "<<=", ">>=", "s>>=", "="};
        std::string op = operators[below(operators.size())];
        bool shift = op == "<<=" || op == ">>=" || op == "s>>=";
        if (op != "=" && !(live_ & bit(dst)) && chance(90)) set_constant(dst);
        if (chance(50)) {
            int64_t imm = interesting();
            if (shift) imm = chance(97) ? int64_t(below(width)) : int64_t(width + below(8));
            emit(fmt::format("{}{} {} {}", prefix, dst, op, imm));
        } else {
            emit(fmt::format("{}{} {} {}{}", prefix, dst, op, prefix, scalar()));
        }
        live_ |= bit(dst);
    }

    void wide_constant() {
        int dst = destination();
        emit(fmt::format("r{} = {:#x} ll", dst, random_()));
        live_ |= bit(dst);
    }

    // Stack offsets below r10: 8-aligned slots of the 512-byte frame, rarely
    // misaligned or outside it.
    int stack_offset(int bytes) {
        int offset = -int(8 * (1 + below(64)));
        if (chance(10)) offset += int(below(8)) & ~(bytes - 1);
        if (chance(2)) offset = chance(50) ? -512 - 8 : 0;
        return offset;
    }
    // "r0 + 8", "r0 - 8": the assembler's spelling of a base and an offset.
    static std::string address(int base, int offset) {
        return offset < 0 ? fmt::format("r{} - {}", base, -offset) : fmt::format("r{} + {}", base, offset);
    }
    static std::string frame(int offset) { return address(10, offset); }

    void stack() {
        const Width& width = pick_width();
        int offset = stack_offset(width.bytes);
        if (chance(15)) {
            // Spill the context and fill it back (sometimes narrower: no longer a pointer).
            int slot = -int(8 * (1 + below(64)));
            emit(fmt::format("*(u64 *)({}) = r6", frame(slot)));
            int dst = destination();
            emit(fmt::format("r{} = *({} *)({})", dst, chance(92) ? "u64" : "u32", frame(slot)));
            emit(fmt::format("r{} = *(u32 *)(r{} + {})", dst, dst, context_field()));
            live_ |= bit(dst);
            return;
        }
        if (!chance(8)) {
            if (chance(50)) emit(fmt::format("*({} *)({}) = r{}", width.unsigned_name, frame(offset), scalar()));
            else emit(fmt::format("*({} *)({}) = {}", width.unsigned_name, frame(offset), interesting()));
        }
        const Width& load = chance(75) ? width : pick_width();
        int load_offset = chance(80) ? offset : stack_offset(load.bytes);
        int dst = destination();
        bool sign = load.signed_name && chance(20);
        emit(fmt::format("r{} = *({} *)({})", dst, sign ? load.signed_name : load.unsigned_name, frame(load_offset)));
        live_ |= bit(dst);
    }

    uint32_t context_field() {
        if (shape_.type == ir::ProgramType::Xdp) return XdpFields[below(XdpFields.size())];
        if (shape_.skb) return SkbFields[below(SkbFields.size())];
        return uint32_t(8 * below(21));  // pt_regs
    }

    void context_access() {
        int dst = destination();
        if (shape_.skb && chance(25)) {
            // cb[] is the program's scratch; other fields are mostly read-only.
            uint32_t field = chance(85) ? 48 + 4 * uint32_t(below(5)) : context_field();
            emit(fmt::format("*(u32 *)(r6 + {}) = r{}", field, scalar()));
            return;
        }
        uint32_t field = context_field();
        const char* width = shape_.type == ir::ProgramType::Kprobe ? "u64" : "u32";
        if (chance(8)) {
            field += uint32_t(below(4));  // misaligned, or past the end
            width = pick_width().unsigned_name;
        } else if (chance(5)) {
            width = shape_.type == ir::ProgramType::Kprobe ? "s32" : "s16";  // sign-extending
        }
        emit(fmt::format("r{} = *({} *)(r6 + {})", dst, width, field));
        live_ |= bit(dst);
    }

    // r2 = address of a key for `map` on the stack (written unless a mistake).
    void key_on_stack(const ir::MapDefinition& map, int offset) {
        if (!chance(5)) emit(fmt::format("*({} *)({}) = {}", map.key_size == 8 ? "u64" : "u32", frame(offset),
                                         below(map.max_entries + 1)));
        emit("r2 = r10");
        emit(fmt::format("r2 += {}", offset));
    }

    void map_lookup() {
        const auto& map = pick_map();
        key_on_stack(map, -8);
        emit(fmt::format("r1 = map[{}] ll", map.name));
        emit("call bpf_map_lookup_elem");
        clobber_call();
        std::string done = label();
        if (!chance(8)) emit(fmt::format("if r0 == 0 goto {}", done));
        size_t accesses = 1 + below(3);
        for (size_t i = 0; i < accesses; ++i) value_access(map);
        emit(done + ":");
        settle(bit(0));
    }

    void value_access(const ir::MapDefinition& map) {
        const Width& width = pick_width();
        int value = int(map.value_size);
        int offset = int(below(uint64_t(value / width.bytes))) * width.bytes;
        if (chance(6)) offset = chance(50) ? value - width.bytes + 1 + int(below(8)) : -width.bytes;
        switch (below(4)) {
        case 0: {
            int dst = destination(0);
            emit(fmt::format("r{} = *({} *)({})", dst, width.unsigned_name, address(0, offset)));
            live_ |= bit(dst);
            break;
        }
        case 1: emit(fmt::format("*({} *)({}) = r{}", width.unsigned_name, address(0, offset), scalar())); break;
        case 2: {
            int slot = int(below(uint64_t(value / 8))) * 8;
            int src = scalar_not_r0();
            emit(fmt::format("lock *(u64 *)(r0 + {}) += r{}", slot, src));
            break;
        }
        default: {
            // A bounded variable offset into the value (unbounded: a mistake).
            int index = scalar_not_r0();
            if (!chance(8)) emit(fmt::format("r{} &= {}", index, value - 8));
            emit(fmt::format("r0 += r{}", index));
            int dst = destination(0);
            emit(fmt::format("r{} = *(u64 *)(r0 + 0)", dst));
            live_ |= bit(dst);
            break;
        }
        }
    }

    void map_update() {
        const auto& map = pick_map();
        // Value at [-64, -64 + value_size), key at -8.
        int filled = int(map.value_size);
        if (chance(6)) filled -= 8;  // the helper would read uninitialised bytes
        for (int offset = 0; offset < filled; offset += 8)
            emit(fmt::format("*(u64 *)(r10 - {}) = {}", 64 - offset, interesting()));
        key_on_stack(map, -8);
        if (chance(5)) emit(fmt::format("r1 = {}", below(3)));  // a number where the map should be
        else emit(fmt::format("r1 = map[{}] ll", map.name));
        emit("r3 = r10");
        emit(fmt::format("r3 += {}", chance(95) ? -64 : -8));
        emit(fmt::format("r4 = {}", chance(95) ? 0 : 7));
        emit("call bpf_map_update_elem");
        clobber_call();
    }

    void packet() {
        if (!shape_.direct_packet) {
            if (shape_.skb) legacy_packet_load();
            else helper();
            return;
        }
        int length = 1 + int(below(64));
        std::string done = label();
        emit("r2 = r7");
        emit(fmt::format("r2 += {}", length));
        if (!chance(7)) emit(chance(50) ? fmt::format("if r2 > r8 goto {}", done) : fmt::format("if r8 < r2 goto {}", done));
        size_t accesses = 1 + below(3);
        for (size_t i = 0; i < accesses; ++i) {
            const Width& width = pick_width();
            int offset = length >= width.bytes ? int(below(uint64_t(length - width.bytes + 1))) : 0;
            if (length < width.bytes || chance(6)) offset = length - width.bytes + 1 + int(below(4));
            if (chance(30)) {
                emit(fmt::format("*({} *)({}) = r{}", width.unsigned_name, address(7, offset), scalar()));
            } else {
                int dst = destination();
                emit(fmt::format("r{} = *({} *)({})", dst, width.unsigned_name, address(7, offset)));
                live_ |= bit(dst);
            }
        }
        if (chance(30) && length >= 1) {
            // A variable offset: checked again against data_end.
            emit("r3 = *(u8 *)(r7 + 0)");
            emit("r3 &= 15");
            emit("r2 = r7");
            emit("r2 += r3");
            emit("r4 = r2");
            emit("r4 += 4");
            if (!chance(7)) emit(fmt::format("if r4 > r8 goto {}", done));
            emit("r5 = *(u32 *)(r2 + 0)");
            live_ |= bit(3) | bit(4) | bit(5);
        }
        emit(done + ":");
        settle(bit(2) | bit(4));
    }

    void legacy_packet_load() {
        const char* width = std::array{"u8", "u16", "u32"}[below(3)];
        if (chance(60)) emit(fmt::format("r0 = *({} *)skb[{}]", width, below(64)));
        else emit(fmt::format("r0 = *({} *)skb[r{} + {}]", width, scalar(), below(16)));
        clobber_call();
    }

    void atomic() {
        int offset = -int(8 * (1 + below(64)));
        if (!chance(8)) emit(fmt::format("*(u64 *)({}) = {}", frame(offset), interesting()));
        int src = scalar_not_r0();
        bool narrow = chance(35);
        char p = narrow ? 'w' : 'r';
        const char* u = narrow ? "u32" : "u64";
        std::string slot = frame(offset);
        switch (below(6)) {
        case 0: emit(fmt::format("lock *({} *)({}) {} {}{}", u, slot, std::array{"+=", "|=", "&=", "^="}[below(4)], p, src)); break;
        case 1:
            emit(fmt::format("{0}{1} = atomic_fetch_{2}(({3} *)({4}), {0}{1})", p, src,
                             std::array{"add", "or", "and", "xor"}[below(4)], u, slot));
            break;
        case 2: emit(fmt::format("{0}{1} = {2}({3}, {0}{1})", p, src, narrow ? "xchg32_32" : "xchg_64", slot)); break;
        case 3:
            if (!(live_ & bit(0))) set_constant(0);
            emit(fmt::format("{0}0 = {1}({2}, {0}0, {0}{3})", p, narrow ? "cmpxchg32_32" : "cmpxchg_64", slot, src));
            break;
        case 4: emit(fmt::format("{}{} = load_acquire(({} *)({}))", p, src, u, slot)); break;
        default: emit(fmt::format("store_release(({} *)({}), {}{})", u, slot, p, src)); break;
        }
        live_ |= bit(src);
    }

    void helper() {
        int kind = int(below(4));
        if (kind == 3 && shape_.skb) {
            int length = 1 + int(below(16));
            if (chance(5)) length = chance(50) ? 0 : 24;
            emit("r1 = r6");
            emit(fmt::format("r2 = {}", below(40)));
            emit("r3 = r10");
            emit("r3 += -16");
            emit(fmt::format("r4 = {}", length));
            emit("call bpf_skb_load_bytes");
            clobber_call();
            int dst = destination();
            emit(fmt::format("r{} = *(u64 *)(r10 - 16)", dst));
            live_ |= bit(dst);
            return;
        }
        if (kind == 3 && shape_.type == ir::ProgramType::Kprobe) {
            int size = chance(95) ? 8 : 24;
            emit("r1 = r10");
            emit("r1 += -16");
            emit(fmt::format("r2 = {}", size));
            emit(fmt::format("r3 = *(u64 *)(r6 + {})", 8 * below(21)));
            emit("call bpf_probe_read_kernel");
            clobber_call();
            int dst = destination();
            emit(fmt::format("r{} = *(u64 *)(r10 - 16)", dst));
            live_ |= bit(dst);
            return;
        }
        emit(std::array{"call bpf_get_prandom_u32", "call bpf_ktime_get_ns", "call bpf_get_smp_processor_id",
                        "call bpf_get_prandom_u32"}[kind]);
        clobber_call();
    }

    static std::string condition(std::string_view op, char prefix, int r, const std::string& right) {
        return fmt::format("if {}{} {} {}", prefix, r, op, right);
    }
    std::string random_condition(const std::string& target) {
        static constexpr std::array operators = {"==", "!=", ">", ">=", "<", "<=", "s>", "s>=", "s<", "s<=", "&"};
        char prefix = chance(30) ? 'w' : 'r';
        std::string right = chance(60) ? std::to_string(interesting()) : fmt::format("{}{}", prefix, scalar());
        return condition(operators[below(operators.size())], prefix, scalar(), right) + " goto " + target;
    }

    void branch(int depth) {
        std::string other = label(), done = label();
        Registers before = live_;
        emit(random_condition(other));
        snippet(depth + 1);
        Registers then_live = live_;
        if (chance(50)) {
            emit("goto " + done);
            emit(other + ":");
            live_ = before;
            snippet(depth + 1);
            live_ &= then_live;
            emit(done + ":");
        } else {
            emit(other + ":");
            live_ = before & then_live;
        }
    }

    void loop(int depth) {
        if (!r9_free()) return alu();
        std::string head = label();
        int counter = 9;
        Registers saved_reserved = reserved_;
        int bound = 1 + int(below(12));
        // Mostly counted loops; the unbounded one is rare, as it costs both
        // verifiers a million steps to refuse.
        switch (below(40)) {
        case 0: case 1: case 2: case 3: {
            // Bounded by the value: shifting an unknown number right ends it.
            emit("r9 = *(u32 *)(r6 + 0)");
            emit(head + ":");
            emit("r9 >>= 1");
            emit(fmt::format("if r9 != 0 goto {}", head));
            live_ |= bit(9);
            return;
        }
        case 4:
            // Unbounded: counts up from 1 while not 0 (a mistake).
            emit("r9 = 1");
            emit(head + ":");
            emit("r9 += 1");
            emit(fmt::format("if r9 != 0 goto {}", head));
            live_ |= bit(9);
            return;
        default: break;
        }
        emit(fmt::format("{}{} = 0", chance(30) ? 'w' : 'r', counter));
        live_ |= bit(counter);
        reserved_ |= bit(counter);
        emit(head + ":");
        Registers before = live_;
        snippet(depth + 1);
        live_ &= before;
        emit(fmt::format("r{} += 1", counter));
        emit(fmt::format("if r{} {} {} goto {}", counter, std::array{"<", "s<", "!=", "<="}[below(4)], bound, head));
        reserved_ = saved_reserved;
    }

    // Two entries into one loop: the head, and the comparison in its middle.
    void irreducible() {
        if (!r9_free()) return alu();
        std::string middle = label(), head = label();
        int guard = scalar();
        // r9 counts up to the bound: from a small start (or, rarely, from
        // whatever it held, maybe nothing or a huge negative number).
        if (chance(90)) emit(fmt::format("r9 = {}", below(5)));
        emit(fmt::format("if r{} == {} goto {}", guard, interesting(), middle));
        emit(head + ":");
        emit("r9 += 1");
        emit(middle + ":");
        emit(fmt::format("if r9 s< {} goto {}", 1 + below(10), head));
        live_ |= bit(9);
    }

    // Code the analysis should prove dead, holding a fault.
    void dead_code(int depth) {
        std::string skip = label();
        Registers before = live_;
        if (chance(50)) {
            emit("goto " + skip);
        } else {
            int r = destination();
            int64_t value = int64_t(below(100));
            emit(fmt::format("r{} = {}", r, value));
            emit(fmt::format("if r{} != {} goto {}", r, chance(95) ? value : value + 1, skip));
            before |= bit(r);
        }
        if (chance(60)) {
            emit("r1 = 0");
            emit("r0 = *(u64 *)(r1 + 0)");
        } else {
            snippet(depth + 1);
        }
        emit(skip + ":");
        live_ = before;
    }

    void local_call() {
        std::string name = fmt::format("sub{}", subprograms_count_++);
        bool pointer_argument = chance(40);
        if (pointer_argument) {
            int offset = -int(8 * (1 + below(8)));
            if (!chance(5)) emit(fmt::format("*(u64 *)({}) = {}", frame(offset), interesting()));
            emit("r1 = r10");
            emit(fmt::format("r1 += {}", offset));
        } else {
            emit(fmt::format("r1 = {}", interesting()));
        }
        emit(fmt::format("r2 = {}", interesting()));
        emit("call " + name);
        clobber_call();
        // The callee: reads its arguments (a mistake: one not passed), may
        // use its own frame, and rarely leaves r0 unset (the caller may then
        // not read it).
        bool sets_r0 = !chance(5);
        subprograms_.push_back(name + ":");
        subprograms_.push_back(pointer_argument ? "r3 = *(u64 *)(r1 + 0)" : "r3 = r1");
        if (chance(50)) {
            subprograms_.push_back("*(u64 *)(r10 - 8) = r2");
            subprograms_.push_back("r2 = *(u64 *)(r10 - 8)");
        }
        subprograms_.push_back(chance(95) ? "r3 += r2" : "r3 += r4");
        if (sets_r0) subprograms_.push_back("r0 = r3");
        subprograms_.push_back("exit");
        if (!sets_r0) live_ &= ~bit(0);
    }

    std::mt19937_64 random_;
    GeneratedProgram program_;
    TypeShape shape_{};
    Registers live_ = 0;      // registers written on every path to here
    Registers reserved_ = 0;  // registers snippets may not write (packet bounds, loop counters)
    int labels_ = 0;
    int subprograms_count_ = 0;
    std::vector<std::string> subprograms_;
};

}  // namespace

std::string GeneratedProgram::text() const {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
}

GeneratedProgram generate_program(uint64_t seed) { return Generator(seed).generate(); }

std::expected<ir::Object, std::string> build_object(const GeneratedProgram& generated) {
    ir::Object object;
    object.path = fmt::format("generated-{}", generated.seed);
    object.maps = generated.maps;
    object.license = "GPL";
    ir::AssemblyOptions options;
    options.map_resolver = [&](std::string_view name) -> std::optional<uint32_t> {
        for (size_t i = 0; i < object.maps.size(); ++i)
            if (object.maps[i].name == name) return uint32_t(i);
        return std::nullopt;
    };
    auto program = ir::assemble_program(generated.text(), options);
    if (!program) return std::unexpected(program.error().to_string());
    program->type = generated.type;
    program->section = generated.section;
    if (auto slash = generated.section.find('/'); slash != std::string::npos)
        program->attach_target = generated.section.substr(slash + 1);
    object.programs.push_back(std::move(*program));
    return object;
}

}  // namespace bpfvet::generator
