// The kernel's own BTF: raw BTF as /sys/kernel/btf/vmlinux exposes it, or the
// .BTF section of a vmlinux ELF. Answers what the analyzer needs for programs
// typed by the kernel's functions (fentry/fexit/fmod_ret/tp_btf/lsm): a FUNC or
// TYPEDEF by name, the parameters of a FUNC_PROTO, the members of a struct or
// union with their bit offsets, sizes, and the type behind typedefs and
// qualifiers.
//
//   auto btf = KernelBtf::load("/sys/kernel/btf/vmlinux");
//   uint32_t f = *(*btf)->find(BtfKind::Function, "do_unlinkat");
//   auto proto = (*btf)->type((*btf)->type(f)->type);   // FUNC -> FUNC_PROTO
//   (*btf)->params(...)                                  // {dfd: int, name: struct filename *}
//
// Parsing uses LLVM's BTFParser, which reads ELF objects: raw BTF is wrapped
// into a minimal in-memory ELF (.BTF plus an empty .BTF.ext). Malformed BTF
// is an error value, never a crash: every accessor checks ids and returns
// nothing for what does not exist, and type chains are followed a bounded
// number of steps (cycles are possible in hostile input).
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bpfvet::ir {

// BTF_KIND_* values.
enum class BtfKind : uint8_t {
    Void = 0, Int = 1, Pointer = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Forward = 7, Typedef = 8,
    Volatile = 9, Const = 10, Restrict = 11, Function = 12, FunctionProto = 13, Variable = 14, DataSection = 15,
    Float = 16, DeclTag = 17, TypeTag = 18, Enum64 = 19,
};

[[nodiscard]] std::string_view btf_kind_name(BtfKind kind);  // "struct", "ptr", "func_proto", ...

struct BtfType {
    BtfKind kind = BtfKind::Void;
    std::string_view name;
    uint32_t size = 0;  // bytes, for int, enum, struct, union, float, datasec
    uint32_t type = 0;  // the referenced type: pointer, typedef, qualifiers, func, func_proto (return), var
    uint16_t vlen = 0;  // members, params, enumerators
    bool kind_flag = false;
};

struct BtfMember {
    std::string_view name;
    uint32_t type = 0;
    uint32_t bit_offset = 0;
    uint32_t bitfield_size = 0;  // 0: not a bitfield
};

struct BtfParam {
    std::string_view name;
    uint32_t type = 0;  // 0 in the last place: variadic
};

struct BtfEnumerator {
    std::string_view name;
    int64_t value = 0;
};

struct BtfArray {
    uint32_t element_type = 0;
    uint32_t count = 0;
};

class KernelBtf {
public:
    // Reads a file (raw BTF or an ELF with .BTF). Files over 256 MiB are refused.
    [[nodiscard]] static std::expected<std::shared_ptr<const KernelBtf>, std::string> load(const std::string& path);
    // Parses raw BTF bytes or an ELF image; `origin` names them in messages.
    [[nodiscard]] static std::expected<std::shared_ptr<const KernelBtf>, std::string> parse(
        const std::vector<uint8_t>& bytes, std::string origin);

    ~KernelBtf();
    KernelBtf(const KernelBtf&) = delete;
    KernelBtf& operator=(const KernelBtf&) = delete;

    [[nodiscard]] const std::string& origin() const { return origin_; }
    [[nodiscard]] size_t type_count() const;  // including void (id 0)
    [[nodiscard]] std::optional<BtfType> type(uint32_t id) const;
    // The first type of `kind` named `name`.
    [[nodiscard]] std::optional<uint32_t> find(BtfKind kind, std::string_view name) const;
    // Follows typedefs, const, volatile, restrict and type tags.
    [[nodiscard]] uint32_t skip_modifiers(uint32_t id) const;
    [[nodiscard]] std::vector<BtfMember> members(uint32_t struct_id) const;  // empty unless struct/union
    [[nodiscard]] std::vector<BtfParam> params(uint32_t proto_id) const;     // empty unless func_proto
    [[nodiscard]] std::vector<BtfEnumerator> enumerators(uint32_t enum_id) const;  // empty unless enum (32-bit)
    [[nodiscard]] std::optional<BtfArray> array(uint32_t id) const;
    // Size in bytes after modifiers (arrays multiply, pointers are 8), nullopt
    // for types without one (void, functions, forward declarations).
    [[nodiscard]] std::optional<uint64_t> size_of(uint32_t id) const;
    // "struct file", "int", "ptr", "func_proto", for messages.
    [[nodiscard]] std::string describe(uint32_t id) const;

    struct Parsed;

private:
    explicit KernelBtf(std::unique_ptr<Parsed> parsed, std::string origin);
    [[nodiscard]] std::string describe_named(uint32_t id) const;
    std::unique_ptr<Parsed> parsed_;
    std::string origin_;
};

// The kernel BTF entity a BTF-typed program attaches to, named by its section
// (libbpf's conventions): "fentry/do_unlinkat" (also fexit, fmod_ret, their
// ".s" forms) -> FUNC do_unlinkat; "lsm/file_open" -> FUNC bpf_lsm_file_open;
// "tp_btf/sched_switch" -> TYPEDEF btf_trace_sched_switch; "iter/task" ->
// FUNC bpf_iter_task. nullopt for other sections or an empty target.
struct BtfAttachTarget {
    BtfKind kind = BtfKind::Function;
    std::string name;
};
[[nodiscard]] std::optional<BtfAttachTarget> btf_attach_target(std::string_view section);

// Where tools look for the running kernel's BTF when given no path.
inline constexpr std::string_view DefaultKernelBtfPath = "/sys/kernel/btf/vmlinux";

}  // namespace bpfvet::ir
