// What the ELF loader produces: maps, programs with their subprograms linked in,
// and source locations from BTF line info.
#pragma once

#include "ir/instruction.hpp"
#include "ir/program_type.hpp"

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

namespace bpfvet::ir {

// Kernel map type numbers (enum bpf_map_type), the ones we model by name.
enum class MapType : uint32_t {
    Unspecified = 0, Hash = 1, Array = 2, ProgArray = 3, PerfEventArray = 4,
    PercpuHash = 5, PercpuArray = 6, StackTrace = 7, CgroupArray = 8,
    LruHash = 9, LruPercpuHash = 10, LpmTrie = 11, ArrayOfMaps = 12,
    HashOfMaps = 13, Devmap = 14, Sockmap = 15, Cpumap = 16, Xskmap = 17,
    Sockhash = 18, CgroupStorage = 19, ReuseportSockarray = 20,
    PercpuCgroupStorage = 21, Queue = 22, Stack = 23, SkStorage = 24,
    DevmapHash = 25, StructOps = 26, Ringbuf = 27, InodeStorage = 28,
    TaskStorage = 29, BloomFilter = 30, UserRingbuf = 31, CgrpStorage = 32,
    Arena = 33,
};

[[nodiscard]] const char* map_type_name(MapType type);  // "hash", "array", ... or "unknown"

// A field of a map value that the kernel finds in the value's BTF and keeps
// from direct loads and stores (btf_parse_fields): locks, timers, graph roots.
struct SpecialField {
    enum class Kind : uint8_t { SpinLock, ResSpinLock, Timer, Workqueue, TaskWork, ListHead, ListNode, RbRoot, RbNode, Refcount };
    Kind kind = Kind::SpinLock;
    uint32_t offset = 0;  // bytes from the start of the value
    uint32_t size = 0;
};
[[nodiscard]] const char* special_field_name(SpecialField::Kind kind);  // "bpf_spin_lock", ...

struct MapDefinition {
    std::string name;          // symbol name, or the section name for global data
    MapType type = MapType::Unspecified;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;
    std::optional<uint32_t> inner_map;  // index into Object::maps, for map-in-map
    // Global data (.data, .rodata, .bss, .data.*, .rodata.*): a one-entry array
    // whose value is the section, initialised with the section's bytes.
    bool is_global_data = false;
    bool read_only = false;             // .rodata*: the program may not write it
    std::vector<uint8_t> initial_value;
    uint32_t btf_key_type = 0, btf_value_type = 0;  // 0 when unknown
    std::vector<SpecialField> special_fields;        // from the value's BTF, by offset

    // The first field of `kind`, if the value has one.
    [[nodiscard]] const SpecialField* special_field(SpecialField::Kind kind) const {
        for (const auto& field : special_fields)
            if (field.kind == kind) return &field;
        return nullptr;
    }
};

struct SourceLocation {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
    std::string text;  // the source line as BTF recorded it
};

// A parameter of a function as its BTF FUNC_PROTO declares it: what the
// kernel types a global function's argument registers from.
struct FunctionParameter {
    enum class Kind : uint8_t {
        Scalar,   // an integer or enum: an unknown number
        Pointer,  // a pointer: the context if the pointee is the program type's context, else memory
        Other,    // anything else (a struct by value, a float): the kernel refuses it
    };
    Kind kind = Kind::Scalar;
    // The parameter's "arg:..." BTF decl tags (__arg_ctx, __arg_nonnull, ...),
    // which override what the kernel derives from the type.
    enum Tag : uint8_t {
        TagContext = 1 << 0,    // arg:ctx
        TagNonNull = 1 << 1,    // arg:nonnull
        TagNullable = 1 << 2,   // arg:nullable
        TagTrusted = 1 << 3,    // arg:trusted
        TagUntrusted = 1 << 4,  // arg:untrusted
        TagArena = 1 << 5,      // arg:arena
        TagUnknown = 1 << 7,    // any other "arg:" tag: the kernel refuses the function
    };
    uint8_t tags = 0;
    std::optional<uint32_t> pointee_size;  // Pointer: bytes of the pointee, none for void or incomplete types
    std::string pointee_name;              // Pointer: the pointee's name before typedefs ("bpf_user_pt_regs_t")
    std::string pointee_struct;            // Pointer: the struct's name after typedefs ("pt_regs")
    // Pointer: what the pointee is once modifiers and typedefs are skipped (arg:ctx
    // accepts `void *`, `u64 *` or a named struct, depending on the program type).
    enum class Pointee : uint8_t { Void, Struct, Integer, Other };
    Pointee pointee_kind = Pointee::Other;
};

// A function inside a linked program: the entry function first, then each
// subprogram from .text (or the same section) that it calls, transitively.
struct Function {
    std::string name;
    uint32_t start = 0;  // first slot
    uint32_t end = 0;    // one past the last slot
    // From BTF (FUNC linkage global): the kernel verifies a global function
    // once on its own, its arguments typed from `parameters`.
    bool global = false;
    std::vector<FunctionParameter> parameters{};
    bool returns_value = true;  // false for a void function
    uint32_t btf_type_id = 0;   // its BTF FUNC (the kernel's func_info), 0 without BTF
};

// A CO-RE relocation recorded from .BTF.ext (ir/core_relocation.hpp applies it).
struct CoreRelocation {
    uint32_t pc = 0;
    uint32_t type_id = 0;
    std::string access;  // access string, e.g. "0:1:2"
    uint32_t kind = 0;   // enum bpf_core_relo_kind
};

// A defect of the bytecode found when the object is loaded. It is the
// program's rejection, never the object's: the kernel refuses some before any
// analysis (unknown opcodes, jumps out of range, malformed LDDW, code falling
// off a function) and others only when a path reaches the instruction
// (reserved fields, register numbers, writes to r10, division by a constant 0,
// shifts beyond the width), so a defect on a dead path is harmless.
struct Defect {
    enum class Scope : uint8_t { WholeProgram, WhenReached };
    size_t pc = 0;
    std::string message;
    Scope scope = Scope::WholeProgram;
};

struct Program {
    std::string section;
    std::string name;         // the function symbol
    ProgramType type = ProgramType::Unspecified;
    std::string attach_target;  // what follows the prefix, e.g. "do_unlinkat" in "fentry/do_unlinkat"
    std::vector<Instruction> instructions;
    std::vector<Function> functions;
    // Index into `locations` for each slot, or -1 where BTF has no line.
    std::vector<int32_t> location_of;
    std::vector<SourceLocation> locations;
    std::vector<CoreRelocation> core_relocations;
    // Every function has a BTF FUNC, as the func_info libbpf passes to the
    // kernel: without it the kernel refuses tail calls and LD_ABS in subprograms.
    bool function_info = false;
    // Calls to functions the object does not define (libbpf would refuse them;
    // the kernel never sees them). Kept so `sections` can list the program and
    // `check` can reject it with the symbol's name.
    struct UnresolvedCall {
        uint32_t pc = 0;
        std::string symbol;
    };
    std::vector<UnresolvedCall> unresolved_calls;
    // Calls of kernel functions (kfuncs): `extern ... __ksym` functions, which
    // BTF declares with extern linkage. The call instruction is made a kfunc
    // call (src BPF_PSEUDO_KFUNC_CALL, imm 0) as libbpf does before it writes
    // the kernel's BTF id into imm; the name is what the analyzer, the runtime
    // and the kernel loader resolve.
    struct KfuncCall {
        uint32_t pc = 0;
        std::string name;
    };
    std::vector<KfuncCall> kfunc_calls;
    // The kfunc called at pc, nullptr when pc is no named kfunc call.
    [[nodiscard]] const KfuncCall* kfunc_call(size_t pc) const {
        for (const auto& call : kfunc_calls)
            if (call.pc == pc) return &call;
        return nullptr;
    }
    // What the validator found (ir/validator.hpp); empty for well-formed code.
    std::vector<Defect> defects;

    // The first defect that rejects the program before any analysis.
    [[nodiscard]] const Defect* whole_program_defect() const {
        for (const auto& d : defects)
            if (d.scope == Defect::Scope::WholeProgram) return &d;
        return nullptr;
    }
    // The defect of the instruction at pc that rejects any path reaching it.
    [[nodiscard]] const Defect* defect_when_reached(size_t pc) const {
        for (const auto& d : defects)
            if (d.pc == pc && d.scope == Defect::Scope::WhenReached) return &d;
        return nullptr;
    }

    // The line-info entry of the instruction at pc itself, if it has one.
    [[nodiscard]] const SourceLocation* location(size_t pc) const {
        if (pc >= location_of.size() || location_of[pc] < 0) return nullptr;
        return &locations[size_t(location_of[pc])];
    }
    // The source line pc belongs to, for diagnostics: its own entry, else the
    // nearest before it in the same function, as the kernel's log attributes
    // instructions to lines. Entries of line 0 (code the compiler made up)
    // are skipped; nullptr only where the function has no line before pc.
    [[nodiscard]] const SourceLocation* source_line(size_t pc) const;
    // The function containing pc.
    [[nodiscard]] const Function* function_at(size_t pc) const {
        for (const auto& f : functions)
            if (pc >= f.start && pc < f.end) return &f;
        return nullptr;
    }
    // Indices of the maps referenced by LDDW instructions.
    [[nodiscard]] std::vector<uint32_t> maps_used() const;
};

struct Object {
    std::string path;
    std::vector<MapDefinition> maps;
    std::vector<Program> programs;
    std::string license;
    std::optional<uint32_t> kernel_version;
    // The .BTF section completed as libbpf loads it (ir/btf_finalize.hpp);
    // empty without BTF. The kernel loader hands it to the kernel.
    std::vector<uint8_t> btf;
};

// A located error on user input. pc is the slot index within the section when known.
struct LoadError {
    std::string file;
    std::string section;
    std::optional<size_t> pc;
    std::string message;

    [[nodiscard]] std::string to_string() const;
};

template <typename T>
using Expected = std::expected<T, LoadError>;

}  // namespace bpfvet::ir
