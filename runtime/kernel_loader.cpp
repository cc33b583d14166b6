// The kernel loader: bpf(2) in a few small wrappers, libbpf's map and attach
// choices as tables, and the verifier log read the way veristat reads it.
#include "runtime/kernel_loader.hpp"

#include "ir/core_relocation.hpp"
#include "ir/program_type.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <span>

namespace bpfvet::runtime::kernel {
namespace {

long bpf_call(int command, union bpf_attr& attr) { return syscall(__NR_bpf, command, &attr, sizeof(attr)); }

template <typename T>
uint64_t pointer_to_u64(const T* pointer) {
    return uint64_t(reinterpret_cast<uintptr_t>(pointer));
}

// A file descriptor closed when it goes out of scope.
class Descriptor {
public:
    explicit Descriptor(int fd = -1) : fd_(fd) {}
    Descriptor(Descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Descriptor& operator=(Descriptor&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() {
        if (fd_ >= 0) close(fd_);
    }
    [[nodiscard]] int get() const { return fd_; }

private:
    int fd_;
};

// bpf(2) refused altogether rather than this program or map: no verdict.
bool means_unavailable(int error) { return error == EPERM || error == ENOSYS; }

// The kernel's object names allow [A-Za-z0-9_.] and 15 characters.
void copy_object_name(char (&target)[BPF_OBJ_NAME_LEN], const std::string& name) {
    size_t length = 0;
    for (char c : name) {
        if (length + 1 >= BPF_OBJ_NAME_LEN) break;
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') target[length++] = c;
    }
    target[length] = 0;
}

struct Failure {
    std::string message;
    int error = 0;  // errno
};

Failure failure_from_errno(const std::string& what) {
    const int error = errno;
    return Failure{what + ": " + std::strerror(error), error};
}

// The object's BTF in the kernel (libbpf's bpf_object__load_btf): map values
// typed by it (locks, timers) and func_info for callbacks and global
// functions. -1 when the object has none or the kernel refuses it; libbpf
// then goes on without, and so does this.
// On refusal `reason` receives the last line of the kernel's BTF log.
Descriptor load_btf(const ir::Object& object, std::string& reason) {
    if (object.btf.empty()) return Descriptor();
    union bpf_attr attr {};
    attr.btf = pointer_to_u64(object.btf.data());
    attr.btf_size = uint32_t(object.btf.size());
    Descriptor loaded(int(bpf_call(BPF_BTF_LOAD, attr)));
    if (loaded.get() >= 0 || errno == EPERM || errno == ENOSYS) return loaded;
    const int error = errno;
    std::vector<char> log(64 * 1024, '\0');
    attr.btf_log_buf = pointer_to_u64(log.data());
    attr.btf_log_size = uint32_t(log.size());
    attr.btf_log_level = 1;
    Descriptor again(int(bpf_call(BPF_BTF_LOAD, attr)));
    if (again.get() >= 0) return again;
    const auto lines = last_log_lines(std::string_view(log.data()), 1);
    if (!lines.empty()) reason = lines.back();
    errno = error;
    return Descriptor();
}

// Map types libbpf creates without BTF types whatever the object says
// (bpf_map__is_struct_ops aside: their values are not the object's to type).
bool typed_by_btf(ir::MapType type) {
    using enum ir::MapType;
    switch (type) {
    case PerfEventArray: case CgroupArray: case StackTrace: case ArrayOfMaps: case HashOfMaps: case Devmap:
    case DevmapHash: case Cpumap: case Xskmap: case Sockmap: case Sockhash: case Queue: case Stack: case Ringbuf:
    case UserRingbuf: case Unspecified:
        return false;
    default: return true;
    }
}

// Creates the kernel map for `map` (libbpf's choices: 4-byte values for
// map-in-map whose BTF gives none; global data as a one-entry array holding
// the section, read-only sections frozen; key and value typed by the
// object's BTF, or untyped when the kernel refuses the types).
std::expected<Descriptor, Failure> create_map(const ir::MapDefinition& map, int inner_fd, int btf_fd) {
    union bpf_attr attr {};
    attr.map_type = uint32_t(map.type);
    attr.key_size = map.key_size;
    attr.value_size = map.value_size;
    attr.max_entries = map.max_entries;
    attr.map_flags = map.flags;
    if ((map.type == ir::MapType::ArrayOfMaps || map.type == ir::MapType::HashOfMaps) && attr.value_size == 0)
        attr.value_size = 4;
    if (inner_fd >= 0) attr.inner_map_fd = uint32_t(inner_fd);
    if (map.read_only) attr.map_flags |= BPF_F_RDONLY_PROG;
    copy_object_name(attr.map_name, map.name);
    Descriptor fd;
    if (btf_fd >= 0 && map.btf_value_type != 0 && typed_by_btf(map.type)) {
        union bpf_attr typed = attr;
        typed.btf_fd = uint32_t(btf_fd);
        typed.btf_key_type_id = map.btf_key_type;
        typed.btf_value_type_id = map.btf_value_type;
        fd = Descriptor(int(bpf_call(BPF_MAP_CREATE, typed)));
    }
    if (fd.get() < 0) fd = Descriptor(int(bpf_call(BPF_MAP_CREATE, attr)));
    if (fd.get() < 0) return std::unexpected(failure_from_errno("BPF_MAP_CREATE " + map.name));
    if (map.is_global_data) {
        uint32_t zero = 0;
        std::vector<uint8_t> value = map.initial_value;
        value.resize(map.value_size);
        union bpf_attr update {};
        update.map_fd = uint32_t(fd.get());
        update.key = pointer_to_u64(&zero);
        update.value = pointer_to_u64(value.data());
        if (bpf_call(BPF_MAP_UPDATE_ELEM, update) < 0)
            return std::unexpected(failure_from_errno("initialising " + map.name));
        if (map.read_only) {
            union bpf_attr freeze {};
            freeze.map_fd = uint32_t(fd.get());
            if (bpf_call(BPF_MAP_FREEZE, freeze) < 0) return std::unexpected(failure_from_errno("freezing " + map.name));
        }
    }
    return fd;
}

// All maps of the object, indexed like Object::maps; inner map templates first.
std::expected<std::vector<Descriptor>, Failure> create_maps(const ir::Object& object, int btf_fd) {
    std::vector<Descriptor> fds(object.maps.size());
    auto is_outer = [](const ir::MapDefinition& map) { return map.inner_map.has_value(); };
    for (bool outer_pass : {false, true})
        for (size_t i = 0; i < object.maps.size(); ++i) {
            const auto& map = object.maps[i];
            if (is_outer(map) != outer_pass) continue;
            int inner_fd = map.inner_map && *map.inner_map < fds.size() ? fds[*map.inner_map].get() : -1;
            auto fd = create_map(map, inner_fd, btf_fd);
            if (!fd) return std::unexpected(fd.error());
            fds[i] = std::move(*fd);
        }
    return fds;
}

// The program's bytecode with map indices replaced by the maps' fds. An index
// naming no map becomes fd -1, which the kernel refuses as it would any
// stale descriptor (a raw index could happen to be an open fd of this process).
std::vector<uint64_t> encode_for_kernel(const ir::Program& program, const std::vector<Descriptor>& maps) {
    std::vector<uint64_t> slots;
    slots.reserve(program.instructions.size());
    for (auto insn : program.instructions) {
        const auto kind = ir::LddwKind(insn.src);
        const bool names_map = kind == ir::LddwKind::MapFd || kind == ir::LddwKind::MapIndex;
        const bool names_value = kind == ir::LddwKind::MapValue || kind == ir::LddwKind::MapIndexValue;
        if (insn.is_lddw() && (names_map || names_value)) {
            // By index needs an fd_array; by fd says the same with one less attribute.
            const auto index = uint32_t(insn.imm);
            insn.imm = index < maps.size() ? maps[index].get() : -1;
            insn.src = uint8_t(names_map ? ir::LddwKind::MapFd : ir::LddwKind::MapValue);
        }
        slots.push_back(ir::encode_slot(insn));
    }
    return slots;
}

// ---- libbpf's attach choices, as tables ----

// enum bpf_attach_type values newer than the installed <linux/bpf.h> (6.1).
constexpr uint32_t AttachNetfilter = 45, AttachTcxIngress = 46, AttachTcxEgress = 47, AttachUprobeMulti = 48,
                   AttachUnixConnect = 49, AttachUnixSendmsg = 50, AttachUnixRecvmsg = 51,
                   AttachUnixGetpeername = 52, AttachUnixGetsockname = 53, AttachNetkitPrimary = 54,
                   AttachNetkitPeer = 55;

// Section names (libbpf.c section_defs) whose expected_attach_type is not 0.
// A rule matches the section itself or the section followed by '/'; the
// longest matching rule of the program's type wins.
struct AttachRule {
    std::string_view section;
    ir::ProgramType type;
    uint32_t attach_type;
};

constexpr std::array<AttachRule, 53> attach_rules{{
    {"sk_reuseport/migrate", ir::ProgramType::SkReuseport, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE},
    {"sk_reuseport", ir::ProgramType::SkReuseport, BPF_SK_REUSEPORT_SELECT},
    {"kprobe.multi", ir::ProgramType::Kprobe, BPF_TRACE_KPROBE_MULTI},
    {"kretprobe.multi", ir::ProgramType::Kprobe, BPF_TRACE_KPROBE_MULTI},
    {"uprobe.multi", ir::ProgramType::Kprobe, AttachUprobeMulti},
    {"uretprobe.multi", ir::ProgramType::Kprobe, AttachUprobeMulti},
    {"tcx/ingress", ir::ProgramType::SchedCls, AttachTcxIngress},
    {"tcx/egress", ir::ProgramType::SchedCls, AttachTcxEgress},
    {"netkit/primary", ir::ProgramType::SchedCls, AttachNetkitPrimary},
    {"netkit/peer", ir::ProgramType::SchedCls, AttachNetkitPeer},
    {"tp_btf", ir::ProgramType::Tracing, BPF_TRACE_RAW_TP},
    {"fentry", ir::ProgramType::Tracing, BPF_TRACE_FENTRY},
    {"fentry.s", ir::ProgramType::Tracing, BPF_TRACE_FENTRY},
    {"fmod_ret", ir::ProgramType::Tracing, BPF_MODIFY_RETURN},
    {"fexit", ir::ProgramType::Tracing, BPF_TRACE_FEXIT},
    {"fexit.s", ir::ProgramType::Tracing, BPF_TRACE_FEXIT},
    {"iter", ir::ProgramType::Tracing, BPF_TRACE_ITER},
    {"iter.s", ir::ProgramType::Tracing, BPF_TRACE_ITER},
    {"lsm", ir::ProgramType::Lsm, BPF_LSM_MAC},
    {"lsm.s", ir::ProgramType::Lsm, BPF_LSM_MAC},
    {"lsm_cgroup", ir::ProgramType::Lsm, BPF_LSM_CGROUP},
    {"xdp.frags/devmap", ir::ProgramType::Xdp, BPF_XDP_DEVMAP},
    {"xdp/devmap", ir::ProgramType::Xdp, BPF_XDP_DEVMAP},
    {"xdp.frags/cpumap", ir::ProgramType::Xdp, BPF_XDP_CPUMAP},
    {"xdp/cpumap", ir::ProgramType::Xdp, BPF_XDP_CPUMAP},
    {"xdp.frags", ir::ProgramType::Xdp, BPF_XDP},
    {"xdp", ir::ProgramType::Xdp, BPF_XDP},
    {"cgroup_skb/egress", ir::ProgramType::CgroupSkb, BPF_CGROUP_INET_EGRESS},
    {"cgroup/sock_create", ir::ProgramType::CgroupSock, BPF_CGROUP_INET_SOCK_CREATE},
    {"cgroup/sock_release", ir::ProgramType::CgroupSock, BPF_CGROUP_INET_SOCK_RELEASE},
    {"cgroup/post_bind4", ir::ProgramType::CgroupSock, BPF_CGROUP_INET4_POST_BIND},
    {"cgroup/post_bind6", ir::ProgramType::CgroupSock, BPF_CGROUP_INET6_POST_BIND},
    {"cgroup/bind4", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET4_BIND},
    {"cgroup/bind6", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET6_BIND},
    {"cgroup/connect4", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET4_CONNECT},
    {"cgroup/connect6", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET6_CONNECT},
    {"cgroup/connect_unix", ir::ProgramType::CgroupSockAddr, AttachUnixConnect},
    {"cgroup/sendmsg4", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_UDP4_SENDMSG},
    {"cgroup/sendmsg6", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_UDP6_SENDMSG},
    {"cgroup/sendmsg_unix", ir::ProgramType::CgroupSockAddr, AttachUnixSendmsg},
    {"cgroup/recvmsg4", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_UDP4_RECVMSG},
    {"cgroup/recvmsg6", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_UDP6_RECVMSG},
    {"cgroup/recvmsg_unix", ir::ProgramType::CgroupSockAddr, AttachUnixRecvmsg},
    {"cgroup/getpeername4", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET4_GETPEERNAME},
    {"cgroup/getpeername6", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET6_GETPEERNAME},
    {"cgroup/getpeername_unix", ir::ProgramType::CgroupSockAddr, AttachUnixGetpeername},
    {"cgroup/getsockname4", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET4_GETSOCKNAME},
    {"cgroup/getsockname6", ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET6_GETSOCKNAME},
    {"cgroup/getsockname_unix", ir::ProgramType::CgroupSockAddr, AttachUnixGetsockname},
    {"cgroup/getsockopt", ir::ProgramType::CgroupSockopt, BPF_CGROUP_GETSOCKOPT},
    {"cgroup/setsockopt", ir::ProgramType::CgroupSockopt, BPF_CGROUP_SETSOCKOPT},
    {"sk_skb/stream_parser", ir::ProgramType::SkSkb, BPF_SK_SKB_STREAM_PARSER},
    {"sk_skb/stream_verdict", ir::ProgramType::SkSkb, BPF_SK_SKB_STREAM_VERDICT},
}};

// Where the section says nothing, the attach type the kernel insists on for
// the program type (bpf_prog_load_check_attach refuses 0 for these) or the one
// libbpf always gives. cgroup_sock_addr and cgroup_sockopt have no natural
// default: connect4 and getsockopt are what a bare "cgroup_sock_addr" load
// most often means.
struct AttachDefault {
    ir::ProgramType type;
    uint32_t attach_type;
};

constexpr std::array<AttachDefault, 14> attach_defaults{{
    {ir::ProgramType::CgroupSock, BPF_CGROUP_INET_SOCK_CREATE},
    {ir::ProgramType::CgroupSockAddr, BPF_CGROUP_INET4_CONNECT},
    {ir::ProgramType::CgroupSockopt, BPF_CGROUP_GETSOCKOPT},
    {ir::ProgramType::SkLookup, BPF_SK_LOOKUP},
    {ir::ProgramType::SkReuseport, BPF_SK_REUSEPORT_SELECT},
    {ir::ProgramType::Netfilter, AttachNetfilter},
    {ir::ProgramType::SockOps, BPF_CGROUP_SOCK_OPS},
    {ir::ProgramType::CgroupDevice, BPF_CGROUP_DEVICE},
    {ir::ProgramType::SkMsg, BPF_SK_MSG_VERDICT},
    {ir::ProgramType::LircMode2, BPF_LIRC_MODE2},
    {ir::ProgramType::FlowDissector, BPF_FLOW_DISSECTOR},
    {ir::ProgramType::CgroupSysctl, BPF_CGROUP_SYSCTL},
    {ir::ProgramType::PerfEvent, BPF_PERF_EVENT},
    {ir::ProgramType::Xdp, BPF_XDP},
}};

bool section_matches(std::string_view section, std::string_view rule) {
    return section == rule || (section.size() > rule.size() && section.starts_with(rule) && section[rule.size()] == '/');
}

// prog_flags a section asks for: "xdp.frags" programs may see multi-buffer
// packets; ".s" sections are sleepable, and so are "syscall" programs (libbpf's
// SEC_SLEEPABLE: the kernel refuses a syscall program that is not).
uint32_t program_flags(ir::ProgramType type, std::string_view section) {
    section = ir::without_autoload_marker(section);
    constexpr uint32_t Sleepable = 1u << 4;  // BPF_F_SLEEPABLE
    uint32_t flags = 0;
    if (type == ir::ProgramType::Xdp && section_matches(section.substr(0, section.find('/')), "xdp.frags"))
        flags |= BPF_F_XDP_HAS_FRAGS;
    const std::string_view prefix = section.substr(0, section.find('/'));
    if (prefix.ends_with(".s") && (type == ir::ProgramType::Tracing || type == ir::ProgramType::Lsm ||
                                   type == ir::ProgramType::Kprobe))
        flags |= Sleepable;
    if (type == ir::ProgramType::Syscall && prefix == "syscall") flags |= Sleepable;
    return flags;
}

// ---- The verifier log ----

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    while (!text.empty()) {
        const size_t end = text.find('\n');
        lines.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return lines;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

// Reads a decimal number at the front of `text`, consuming it.
std::optional<uint64_t> take_number(std::string_view& text) {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end == text.data()) return std::nullopt;
    text.remove_prefix(size_t(end - text.data()));
    return value;
}

// "12: (bf) r1 = r6" -> 12; anything else -> nullopt.
std::optional<int64_t> instruction_line_pc(std::string_view line) {
    auto pc = take_number(line);
    if (!pc || !line.starts_with(": (") || line.size() < 6 || line[5] != ')') return std::nullopt;
    if (!std::isxdigit(static_cast<unsigned char>(line[3])) || !std::isxdigit(static_cast<unsigned char>(line[4])))
        return std::nullopt;
    return int64_t(*pc);
}

// "processed 4 insns (limit 1000000) ..." -> 4.
std::optional<uint64_t> processed_line_count(std::string_view line) {
    constexpr std::string_view prefix = "processed ";
    if (!line.starts_with(prefix)) return std::nullopt;
    line.remove_prefix(prefix.size());
    auto count = take_number(line);
    if (!count || !line.starts_with(" insns")) return std::nullopt;
    return count;
}

// Some messages lack their newline, so the statistics follow on the same line:
//   "expected prog array map for tail callprocessed 3 insns (limit ...)"
// becomes "expected prog array map for tail call" and "processed 3 insns (limit ...)".
std::vector<std::string_view> split_statistics(const std::vector<std::string_view>& lines) {
    std::vector<std::string_view> result;
    for (auto line : lines) {
        const size_t at = line.rfind("processed ");
        if (at != std::string_view::npos && at > 0 && processed_line_count(line.substr(at))) {
            result.push_back(line.substr(0, at));
            result.push_back(line.substr(at));
        } else {
            result.push_back(line);
        }
    }
    return result;
}

// A register or stack dump ("5: R0=ctx() R10=fp0", "from 4 to 6: R0_w=0",
// " frame1: R1=..."), which shows state rather than a reason.
bool is_state_dump(std::string_view line) {
    std::string_view rest = trim(line);
    if (rest.starts_with("from ")) {  // "from 4 to 6: ..."
        const size_t colon = rest.find(": ");
        if (colon == std::string_view::npos) return false;
        rest = rest.substr(colon + 2);
    } else if (std::string_view digits = rest; take_number(digits) && digits.starts_with(": ")) {
        rest = digits.substr(2);
    }
    // "infinite loop detected at insn 3" is followed by "cur state: R0=..." and "old state: ...".
    if (rest.starts_with("cur state:") || rest.starts_with("old state:")) return true;
    if (rest.starts_with("frame") || rest.starts_with("fp-")) return true;
    if (rest.size() < 2 || rest[0] != 'R' || !std::isdigit(static_cast<unsigned char>(rest[1]))) return false;
    const size_t token_end = rest.find(' ');
    return rest.substr(0, token_end).find('=') != std::string_view::npos;  // "R1=ctx()" but not "R1 type=ctx"
}

// The kernel prints a conditional jump without its newline when something
// follows at once, so a reason (or a state) can share the jump's line:
//   "1: (55) if r0 != 0x7 goto pc-2 infinite loop detected at insn 0" -> "infinite loop detected at insn 0"
//   "1: (55) if r0 != 0x7 goto pc-2 0: R0=scalar() R10=fp0"            -> "0: R0=scalar() R10=fp0"
std::string_view text_after_jump(std::string_view line) {
    const size_t at = line.find(" goto pc");
    if (at == std::string_view::npos) return {};
    std::string_view rest = line.substr(at + 8);
    if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) rest.remove_prefix(1);
    if (!take_number(rest)) return {};
    return trim(rest);
}

// The reason a line gives, or nothing for lines that carry none: statistics,
// source annotations, instructions, state dumps, the function headers.
std::string_view reason_in_line(std::string_view line) {
    const std::string_view text = trim(line);
    if (text.empty() || text.starts_with(";")) return {};
    if (text.starts_with("verification time") || text.starts_with("stack depth")) return {};
    if (text.starts_with("func#") || text.starts_with("Func#")) return {};
    if (instruction_line_pc(text)) {
        const std::string_view rest = text_after_jump(text);
        return rest.empty() || rest.starts_with(";") || is_state_dump(rest) ? std::string_view() : rest;
    }
    return is_state_dump(text) ? std::string_view() : text;
}

}  // namespace

VerifierLogSummary summarize_verifier_log(std::string_view log) {
    VerifierLogSummary summary;
    const auto lines = split_statistics(split_lines(log));
    size_t end = lines.size();  // the reason lies before "processed N insns"
    for (size_t i = 0; i < lines.size(); ++i)
        if (auto count = processed_line_count(trim(lines[i]))) {
            summary.processed_insns = count;
            end = i;
        }
    for (size_t i = end; i-- > 0;)
        if (const auto reason = reason_in_line(lines[i]); !reason.empty()) {
            summary.first_error_line = std::string(reason);
            break;
        }
    for (size_t i = end; i-- > 0;)
        if (auto pc = instruction_line_pc(trim(lines[i]))) {
            summary.error_pc = pc;
            break;
        }
    return summary;
}

std::vector<std::string> last_log_lines(std::string_view log, size_t count) {
    std::vector<std::string> lines;
    for (auto line : split_lines(log))
        if (!trim(line).empty()) lines.emplace_back(line);
    if (lines.size() > count) lines.erase(lines.begin(), lines.end() - std::ptrdiff_t(count));
    return lines;
}

std::expected<uint32_t, std::string> attach_btf_id(const ir::KernelBtf& btf, std::string_view section) {
    auto target = ir::btf_attach_target(section);
    if (!target) return 0;
    auto id = btf.find(target->kind, target->name);
    if (!id)
        return std::unexpected(fmt::format("the kernel BTF ({}) has no {} '{}' to attach {} to", btf.origin(),
                                           ir::btf_kind_name(target->kind), target->name, section));
    return *id;
}

uint32_t expected_attach_type(ir::ProgramType type, std::string_view section) {
    section = ir::without_autoload_marker(section);
    const AttachRule* best = nullptr;
    for (const auto& rule : attach_rules)
        if (rule.type == type && section_matches(section, rule.section) && (!best || rule.section.size() > best->section.size()))
            best = &rule;
    if (best) return best->attach_type;
    for (const auto& entry : attach_defaults)
        if (entry.type == type) return entry.attach_type;
    return 0;
}

std::string_view kernel_verdict_name(KernelVerdict verdict) {
    switch (verdict) {
        case KernelVerdict::Accept: return "accept";
        case KernelVerdict::Reject: return "reject";
        case KernelVerdict::LoaderError: return "loader-error";
        case KernelVerdict::Unavailable: return "unavailable";
    }
    return "unknown";
}

std::pair<int, int> running_kernel_version() {
    utsname name{};
    if (uname(&name) != 0) return {0, 0};
    int major = 0, minor = 0;
    if (std::sscanf(name.release, "%d.%d", &major, &minor) != 2) return {0, 0};
    return {major, minor};
}

// ---- The loaded program ----

struct KernelProgram::State {
    Descriptor btf;
    std::vector<Descriptor> maps;
    Descriptor program;
    ir::ProgramType type = ir::ProgramType::Unspecified;
};

KernelProgram::KernelProgram(std::unique_ptr<State> state) : state_(std::move(state)) {}
KernelProgram::~KernelProgram() = default;
KernelProgram::KernelProgram(KernelProgram&&) noexcept = default;
KernelProgram& KernelProgram::operator=(KernelProgram&&) noexcept = default;

int KernelProgram::fd() const { return state_ ? state_->program.get() : -1; }

namespace {

// The bytes the kernel is given for `packet`. Socket filters and cgroup_skb
// programs see the packet after the kernel has pulled an Ethernet header
// (eth_type_trans), so a dummy IPv4 one is put in front; XDP and TC programs
// see the bytes as given.
std::vector<uint8_t> test_input(ir::ProgramType type, const std::vector<uint8_t>& packet) {
    static constexpr uint8_t DummyEthernet[] = {0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00};
    const bool pulls_ethernet = type == ir::ProgramType::SocketFilter || type == ir::ProgramType::CgroupSkb;
    std::vector<uint8_t> input;
    if (pulls_ethernet) input.assign(std::begin(DummyEthernet), std::end(DummyEthernet));
    input.insert(input.end(), packet.begin(), packet.end());
    return input;
}

struct RunFigures {
    uint32_t return_value = 0;
    uint32_t nanoseconds_per_run = 0;
};

std::expected<RunFigures, std::string> run_in_kernel(int fd, ir::ProgramType type, const std::vector<uint8_t>& packet,
                                                     uint32_t repeat) {
    std::vector<uint8_t> input = test_input(type, packet);
    std::vector<uint8_t> output(input.size() + 4096);
    union bpf_attr attr {};
    attr.test.prog_fd = uint32_t(fd);
    attr.test.data_in = pointer_to_u64(input.data());
    attr.test.data_size_in = uint32_t(input.size());
    attr.test.data_out = pointer_to_u64(output.data());
    attr.test.data_size_out = uint32_t(output.size());
    attr.test.repeat = repeat;
    if (bpf_call(BPF_PROG_TEST_RUN, attr) < 0) return std::unexpected(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    return RunFigures{attr.test.retval, attr.test.duration};
}

}  // namespace

std::expected<uint32_t, std::string> KernelProgram::test_run(const std::vector<uint8_t>& packet) const {
    if (!state_) return std::unexpected(std::string("no program loaded"));
    auto figures = run_in_kernel(fd(), state_->type, packet, 1);
    if (!figures) return std::unexpected(figures.error());
    return figures->return_value;
}

std::expected<double, std::string> KernelProgram::time_runs(const std::vector<uint8_t>& packet, uint32_t repeat) const {
    if (!state_) return std::unexpected(std::string("no program loaded"));
    auto figures = run_in_kernel(fd(), state_->type, packet, std::max(repeat, 1u));
    if (!figures) return std::unexpected(figures.error());
    return double(figures->nanoseconds_per_run);
}

// ---- Loading ----

namespace {

struct LoadAttempt {
    Descriptor fd;
    int error = 0;       // errno when fd < 0
    double seconds = 0;  // wall time of the call
};

// The verifier's log levels: 1 shows the instructions and the reason,
// 4 (BPF_LOG_STATS) only "processed N insns" and the verification time.
constexpr uint32_t LogInstructions = 1, LogStates = 2, LogStatistics = 4;

// The func_info libbpf passes with the object's BTF: each function's first
// instruction and BTF FUNC; empty unless every function has one.
std::vector<bpf_func_info> function_info(const ir::Program& program) {
    std::vector<bpf_func_info> info;
    if (!program.function_info) return info;
    for (const ir::Function& function : program.functions) {
        if (function.btf_type_id == 0) return {};
        info.push_back(bpf_func_info{function.start, function.btf_type_id});
    }
    std::ranges::sort(info, {}, &bpf_func_info::insn_off);
    return info;
}

LoadAttempt attempt_load(const ir::Object& object, const ir::Program& program, ir::ProgramType type,
                         const std::vector<uint64_t>& slots, uint32_t btf_id, int program_btf_fd, uint32_t log_level,
                         std::vector<char>* log) {
    // The object's license, as libbpf passes it; GPL where the object has none
    // (what the reference verdicts did, so GPL-only helpers stay usable).
    const std::string license = object.license.empty() ? "GPL" : object.license;
    union bpf_attr attr {};
    attr.prog_type = uint32_t(type);
    attr.expected_attach_type = expected_attach_type(type, program.section);
    attr.prog_flags = program_flags(type, program.section);
    attr.insn_cnt = uint32_t(slots.size());
    attr.insns = pointer_to_u64(slots.data());
    attr.license = pointer_to_u64(license.c_str());
    attr.kern_version = object.kernel_version.value_or(0);
    attr.attach_btf_id = btf_id;  // in vmlinux (attach_btf_obj_fd 0)
    const std::vector<bpf_func_info> functions = program_btf_fd >= 0 ? function_info(program) : std::vector<bpf_func_info>{};
    if (!functions.empty()) {
        attr.prog_btf_fd = uint32_t(program_btf_fd);
        attr.func_info_rec_size = sizeof(bpf_func_info);
        attr.func_info = pointer_to_u64(functions.data());
        attr.func_info_cnt = uint32_t(functions.size());
    }
    copy_object_name(attr.prog_name, program.name);
    if (log) {
        std::ranges::fill(*log, 0);
        attr.log_level = log_level;
        attr.log_buf = pointer_to_u64(log->data());
        attr.log_size = uint32_t(log->size());
    }
    LoadAttempt attempt;
    const auto start = std::chrono::steady_clock::now();
    attempt.fd = Descriptor(int(bpf_call(BPF_PROG_LOAD, attr)));
    attempt.error = attempt.fd.get() < 0 ? errno : 0;
    attempt.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return attempt;
}

std::string log_text(const std::vector<char>& log) { return std::string(log.data(), strnlen(log.data(), log.size())); }

// verified_insns of a loaded program (Linux 5.16+), the kernel's "processed N insns".
std::optional<uint64_t> verified_instructions(int fd) {
    bpf_prog_info info{};
    union bpf_attr attr {};
    attr.info.bpf_fd = uint32_t(fd);
    attr.info.info_len = sizeof(info);
    attr.info.info = pointer_to_u64(&info);
    if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, attr) < 0 || info.verified_insns == 0) return std::nullopt;
    return info.verified_insns;
}

// The kernel BTF of the options, else the running kernel's; null when neither
// is readable, with `result` saying it is unavailable and what it was for.
std::shared_ptr<const ir::KernelBtf> kernel_btf_or_unavailable(const KernelLoadOptions& options,
                                                               std::string_view purpose, KernelLoadResult& result) {
    if (options.kernel_btf) return options.kernel_btf;
    auto parsed = ir::KernelBtf::load(std::string(ir::DefaultKernelBtfPath));
    if (parsed) return std::move(*parsed);
    result.verdict = KernelVerdict::Unavailable;
    result.error = ENOENT;
    result.message = fmt::format("no kernel BTF to {}: {}", purpose, parsed.error());
    return nullptr;
}

}  // namespace

KernelLoadResult load_in_kernel(const ir::Object& object, const ir::Program& program, ir::ProgramType type,
                                const KernelLoadOptions& options, std::optional<KernelProgram>* loaded) {
    KernelLoadResult result;
    // libbpf refuses calls to functions the object does not define before the
    // kernel sees anything; so do we, as the reference verdicts record.
    if (!program.unresolved_calls.empty()) {
        result.verdict = KernelVerdict::LoaderError;
        result.error = ENOENT;
        result.message = "unresolved call to " + program.unresolved_calls.front().symbol;
        return result;
    }
    // libbpf writes each kfunc's BTF id in the kernel into its call's imm
    // (bpf_object__resolve_ksym_func_btf_id); a name the kernel does not
    // have fails the load before the kernel sees it.
    if (std::ranges::any_of(program.kfunc_calls, [&](const auto& call) { return program.instructions[call.pc].imm == 0; })) {
        std::shared_ptr<const ir::KernelBtf> btf = kernel_btf_or_unavailable(options, "resolve kfuncs in", result);
        if (!btf) return result;
        ir::Program resolved = program;
        for (const auto& call : program.kfunc_calls) {
            auto id = btf->find(ir::BtfKind::Function, call.name);
            if (!id) {
                result.verdict = KernelVerdict::LoaderError;
                result.error = ESRCH;
                result.message = fmt::format("extern (func ksym) '{}': not found in kernel BTF", call.name);
                return result;
            }
            resolved.instructions[call.pc].imm = int32_t(*id);
        }
        KernelLoadOptions with_btf = options;
        with_btf.kernel_btf = std::move(btf);
        return load_in_kernel(object, resolved, type, with_btf, loaded);
    }
    // Programs typed by kernel BTF name their target by its BTF id, which
    // libbpf looks up before loading (and fails to find, like us, when absent).
    uint32_t btf_id = 0;
    if ((type == ir::ProgramType::Tracing || type == ir::ProgramType::Lsm) && ir::btf_attach_target(program.section)) {
        std::shared_ptr<const ir::KernelBtf> btf = kernel_btf_or_unavailable(options, "find the attach target in", result);
        if (!btf) return result;
        auto id = attach_btf_id(*btf, program.section);
        if (!id) {
            result.verdict = KernelVerdict::LoaderError;
            result.error = ESRCH;
            result.message = id.error();
            return result;
        }
        btf_id = *id;
        // libbpf applies CO-RE relocations before loading.
        if (!program.core_relocations.empty()) {
            auto moved = ir::relocate_for_kernel(object, program, *btf);
            if (!moved) {
                result.verdict = KernelVerdict::LoaderError;
                result.error = EINVAL;
                result.message = moved.error();
                return result;
            }
            KernelLoadOptions plain = options;
            plain.kernel_btf = std::move(btf);
            return load_in_kernel(object, *moved, type, plain, loaded);
        }
    }
    std::string btf_reason;
    Descriptor btf = load_btf(object, btf_reason);
    const int btf_error = errno;
    result.with_btf = btf.get() >= 0 && !function_info(program).empty();
    if (object.btf.empty()) result.btf_note = "the object has no usable BTF: loaded without it, as libbpf does";
    else if (btf.get() < 0)
        result.btf_note = fmt::format("the kernel refuses the object's BTF ({}{}): loaded without it, as libbpf does",
                                      std::strerror(btf_error), btf_reason.empty() ? "" : ": " + btf_reason);
    else if (!result.with_btf)
        result.btf_note = "not every function has a BTF FUNC: loaded without func_info";
    auto maps = create_maps(object, btf.get());
    if (!maps) {
        result.verdict = means_unavailable(maps.error().error) ? KernelVerdict::Unavailable : KernelVerdict::LoaderError;
        result.error = maps.error().error;
        result.message = maps.error().message;
        return result;
    }
    const auto slots = encode_for_kernel(program, *maps);
    // First without a log: a level-1 log of a big accepted program costs
    // seconds, and its absence cannot change the verdict.
    LoadAttempt attempt = attempt_load(object, program, type, slots, btf_id, btf.get(), 0, nullptr);
    result.load_seconds = attempt.seconds;
    std::vector<char> log(std::max<uint32_t>(options.log_size, 4096));

    if (attempt.fd.get() >= 0) {
        result.verdict = KernelVerdict::Accept;
        result.processed_insns = verified_instructions(attempt.fd.get());
        if (options.collect_log_on_accept) {
            (void)attempt_load(object, program, type, slots, btf_id, btf.get(),
                               options.log_states ? LogStates | LogStatistics : LogStatistics, &log);
            result.log = log_text(log);
            if (auto count = summarize_verifier_log(result.log).processed_insns) result.processed_insns = count;
        }
        if (loaded) {
            auto state = std::make_unique<KernelProgram::State>();
            state->btf = std::move(btf);
            state->maps = std::move(*maps);
            state->program = std::move(attempt.fd);
            state->type = type;
            loaded->emplace(std::move(state));
        }
        return result;
    }

    result.error = attempt.error;
    result.message = std::string("BPF_PROG_LOAD: ") + std::strerror(attempt.error);
    // Again with a log, for the reason. The kernel keeps the log's tail when
    // it overflows, which is where the reason is.
    const bool quick = attempt.seconds < options.full_log_below_seconds;
    (void)attempt_load(object, program, type, slots, btf_id, btf.get(), quick ? LogInstructions : LogStatistics, &log);
    result.log = log_text(log);
    // EPERM with a log is the verifier speaking (we are allowed bpf(2));
    // EPERM or ENOSYS without one is bpf(2) refused altogether.
    if (means_unavailable(attempt.error) && result.log.empty()) {
        result.verdict = KernelVerdict::Unavailable;
        return result;
    }
    result.verdict = KernelVerdict::Reject;
    const VerifierLogSummary summary = summarize_verifier_log(result.log);
    result.first_error_line = summary.first_error_line;
    result.error_pc = summary.error_pc;
    result.processed_insns = summary.processed_insns;
    if (result.first_error_line.empty()) result.first_error_line = result.message;
    return result;
}

}  // namespace bpfvet::runtime::kernel
