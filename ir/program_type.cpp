#include "ir/program_type.hpp"

#include <array>
#include <utility>

namespace bpfvet::ir {
namespace {

struct TypeName {
    ProgramType type;
    std::string_view name;
};

constexpr std::array<TypeName, 33> type_names{{
    {ProgramType::Unspecified, "unspec"},
    {ProgramType::SocketFilter, "socket_filter"},
    {ProgramType::Kprobe, "kprobe"},
    {ProgramType::SchedCls, "sched_cls"},
    {ProgramType::SchedAct, "sched_act"},
    {ProgramType::Tracepoint, "tracepoint"},
    {ProgramType::Xdp, "xdp"},
    {ProgramType::PerfEvent, "perf_event"},
    {ProgramType::CgroupSkb, "cgroup_skb"},
    {ProgramType::CgroupSock, "cgroup_sock"},
    {ProgramType::LwtIn, "lwt_in"},
    {ProgramType::LwtOut, "lwt_out"},
    {ProgramType::LwtXmit, "lwt_xmit"},
    {ProgramType::SockOps, "sock_ops"},
    {ProgramType::SkSkb, "sk_skb"},
    {ProgramType::CgroupDevice, "cgroup_device"},
    {ProgramType::SkMsg, "sk_msg"},
    {ProgramType::RawTracepoint, "raw_tracepoint"},
    {ProgramType::CgroupSockAddr, "cgroup_sock_addr"},
    {ProgramType::LwtSeg6local, "lwt_seg6local"},
    {ProgramType::LircMode2, "lirc_mode2"},
    {ProgramType::SkReuseport, "sk_reuseport"},
    {ProgramType::FlowDissector, "flow_dissector"},
    {ProgramType::CgroupSysctl, "cgroup_sysctl"},
    {ProgramType::RawTracepointWritable, "raw_tracepoint_writable"},
    {ProgramType::CgroupSockopt, "cgroup_sockopt"},
    {ProgramType::Tracing, "tracing"},
    {ProgramType::StructOps, "struct_ops"},
    {ProgramType::Ext, "ext"},
    {ProgramType::Lsm, "lsm"},
    {ProgramType::SkLookup, "sk_lookup"},
    {ProgramType::Syscall, "syscall"},
    {ProgramType::Netfilter, "netfilter"},
}};

// libbpf's section-name conventions (libbpf.c section_defs), longest match
// first where one prefix extends another. `exact` entries match the whole name;
// the others match the name itself or the name followed by '/'; `legacy`
// entries match any name they begin, as libbpf before 1.0 (SEC_SLOPPY_PFX:
// "socket1", "xdp_prog", "classifier_ingress") and iproute2 (`classifier`,
// `action`) accepted them.
struct SectionRule {
    std::string_view prefix;
    ProgramType type;
    bool exact = false;
    bool legacy = false;
};

constexpr std::array<SectionRule, 58> section_rules{{
    {"socket", ProgramType::SocketFilter, false, true},
    {"sk_reuseport/migrate", ProgramType::SkReuseport, false, true},
    {"sk_reuseport", ProgramType::SkReuseport, false, true},
    {"kprobe.multi", ProgramType::Kprobe},
    {"kretprobe.multi", ProgramType::Kprobe},
    {"uprobe.multi", ProgramType::Kprobe},
    {"uretprobe.multi", ProgramType::Kprobe},
    {"kprobe", ProgramType::Kprobe},
    {"kretprobe", ProgramType::Kprobe},
    {"uprobe", ProgramType::Kprobe},
    {"uretprobe", ProgramType::Kprobe},
    {"ksyscall", ProgramType::Kprobe},
    {"kretsyscall", ProgramType::Kprobe},
    {"usdt", ProgramType::Kprobe},
    {"tcx", ProgramType::SchedCls},
    {"netkit", ProgramType::SchedCls},
    {"tc", ProgramType::SchedCls},
    {"classifier", ProgramType::SchedCls, false, true},
    {"action", ProgramType::SchedAct, false, true},
    {"tracepoint", ProgramType::Tracepoint},
    {"tp", ProgramType::Tracepoint},
    {"raw_tracepoint.w", ProgramType::RawTracepointWritable},
    {"raw_tp.w", ProgramType::RawTracepointWritable},
    {"raw_tracepoint", ProgramType::RawTracepoint},
    {"raw_tp", ProgramType::RawTracepoint},
    {"tp_btf", ProgramType::Tracing},
    {"fentry", ProgramType::Tracing},
    {"fmod_ret", ProgramType::Tracing},
    {"fexit", ProgramType::Tracing},
    {"fentry.s", ProgramType::Tracing},
    {"fexit.s", ProgramType::Tracing},
    {"iter", ProgramType::Tracing},
    {"freplace", ProgramType::Ext},
    {"lsm", ProgramType::Lsm},
    {"lsm.s", ProgramType::Lsm},
    {"lsm_cgroup", ProgramType::Lsm},
    {"xdp.frags", ProgramType::Xdp},
    {"xdp", ProgramType::Xdp, false, true},
    {"perf_event", ProgramType::PerfEvent, false, true},
    {"lwt_in", ProgramType::LwtIn, false, true},
    {"lwt_out", ProgramType::LwtOut, false, true},
    {"lwt_xmit", ProgramType::LwtXmit, false, true},
    {"lwt_seg6local", ProgramType::LwtSeg6local, false, true},
    {"sockops", ProgramType::SockOps, false, true},
    {"sk_skb", ProgramType::SkSkb, false, true},
    {"sk_msg", ProgramType::SkMsg, false, true},
    {"lirc_mode2", ProgramType::LircMode2, false, true},
    {"flow_dissector", ProgramType::FlowDissector, false, true},
    {"cgroup_skb", ProgramType::CgroupSkb, false, true},
    {"cgroup/skb", ProgramType::CgroupSkb, false, true},
    {"cgroup/sock_create", ProgramType::CgroupSock, false, true},
    {"cgroup/sock_release", ProgramType::CgroupSock, false, true},
    {"cgroup/post_bind", ProgramType::CgroupSock, false, true},
    {"cgroup/sock", ProgramType::CgroupSock, false, true},
    {"cgroup/dev", ProgramType::CgroupDevice, false, true},
    {"cgroup/sysctl", ProgramType::CgroupSysctl, false, true},
    {"sk_lookup", ProgramType::SkLookup, false, true},
    {"syscall", ProgramType::Syscall},
}};

// cgroup/<hook> names for sock_addr and sockopt programs.
constexpr std::array<std::string_view, 17> sock_addr_hooks{
    "bind4", "bind6", "connect4", "connect6", "connect_unix", "sendmsg4", "sendmsg6",
    "sendmsg_unix", "recvmsg4", "recvmsg6", "recvmsg_unix", "getpeername4", "getpeername6",
    "getpeername_unix", "getsockname4", "getsockname6", "getsockname_unix"};

}  // namespace

std::string_view program_type_name(ProgramType type) {
    for (const auto& entry : type_names)
        if (entry.type == type) return entry.name;
    return "unknown";
}

std::optional<ProgramType> program_type_from_name(std::string_view name) {
    for (const auto& entry : type_names)
        if (entry.name == name) return entry.type;
    // Accept the kernel's full enum spelling too.
    constexpr std::string_view prefix = "BPF_PROG_TYPE_";
    if (name.starts_with(prefix)) {
        std::string lower;
        for (char c : name.substr(prefix.size())) lower += char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        return program_type_from_name(lower);
    }
    return std::nullopt;
}

SectionTypeGuess program_type_from_section(std::string_view section) {
    section = without_autoload_marker(section);
    if (section.starts_with("cgroup/")) {
        std::string_view hook = section.substr(7);
        for (auto h : sock_addr_hooks)
            if (hook == h) return {ProgramType::CgroupSockAddr, std::string(hook)};
        if (hook == "getsockopt" || hook == "setsockopt") return {ProgramType::CgroupSockopt, std::string(hook)};
    }
    const SectionRule* best = nullptr;
    for (const auto& rule : section_rules) {
        const bool longer = !rule.exact && section.size() > rule.prefix.size() && section.starts_with(rule.prefix);
        const bool matches = section == rule.prefix || (longer && (rule.legacy || section[rule.prefix.size()] == '/'));
        if (matches && (!best || rule.prefix.size() > best->prefix.size())) best = &rule;
    }
    if (!best) return {};
    std::string target;
    if (section.size() > best->prefix.size() && section[best->prefix.size()] == '/')
        target = std::string(section.substr(best->prefix.size() + 1));
    return {best->type, std::move(target)};
}

}  // namespace bpfvet::ir
