#include "analyzer/context_argument.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer {

using ir::ProgramType;

std::string_view canonical_context_struct(ProgramType type) {
    switch (type) {
    case ProgramType::SocketFilter:
    case ProgramType::SchedCls:
    case ProgramType::SchedAct:
    case ProgramType::CgroupSkb:
    case ProgramType::LwtIn:
    case ProgramType::LwtOut:
    case ProgramType::LwtXmit:
    case ProgramType::LwtSeg6local:
    case ProgramType::SkSkb:
    case ProgramType::FlowDissector: return "__sk_buff";
    case ProgramType::Xdp: return "xdp_md";
    case ProgramType::CgroupSock: return "bpf_sock";
    case ProgramType::CgroupSockAddr: return "bpf_sock_addr";
    case ProgramType::SockOps: return "bpf_sock_ops";
    case ProgramType::SkMsg: return "sk_msg_md";
    case ProgramType::Kprobe: return "pt_regs";  // bpf_user_pt_regs_t on x86-64
    case ProgramType::PerfEvent: return "bpf_perf_event_data";
    case ProgramType::RawTracepoint:
    case ProgramType::RawTracepointWritable: return "bpf_raw_tracepoint_args";
    case ProgramType::CgroupDevice: return "bpf_cgroup_dev_ctx";
    case ProgramType::CgroupSysctl: return "bpf_sysctl";
    case ProgramType::CgroupSockopt: return "bpf_sockopt";
    case ProgramType::SkReuseport: return "sk_reuseport_md";
    case ProgramType::SkLookup: return "bpf_sk_lookup";
    case ProgramType::Netfilter: return "bpf_nf_ctx";
    default: return {};  // u64 (tracepoint), u32 (lirc_mode2) or void: no struct
    }
}

namespace {

using Pointee = ir::FunctionParameter::Pointee;

bool points_to_u64(const ir::FunctionParameter& parameter) {
    return parameter.pointee_kind == Pointee::Integer && parameter.pointee_size == 8u;
}

bool points_to_struct(const ir::FunctionParameter& parameter, std::string_view name) {
    return parameter.pointee_kind == Pointee::Struct && parameter.pointee_struct == name;
}

// The pointees a program type accepts besides its canonical struct.
bool special_case_accepts(const ir::FunctionParameter& parameter, ProgramType type,
                          std::optional<BtfAttachKind> attach) {
    switch (type) {
    case ProgramType::Tracepoint:
    case ProgramType::Syscall:
    case ProgramType::Ext: return true;  // any pointee
    case ProgramType::PerfEvent: return points_to_struct(parameter, "pt_regs");  // bpf_user_pt_regs_t on x86-64
    case ProgramType::RawTracepoint:
    case ProgramType::RawTracepointWritable:
    case ProgramType::Lsm:
    case ProgramType::StructOps: return points_to_u64(parameter);
    case ProgramType::Tracing:
        if (!attach) return false;
        switch (*attach) {
        case BtfAttachKind::RawTracepoint:
            return points_to_struct(parameter, "bpf_raw_tracepoint_args") || points_to_u64(parameter);
        case BtfAttachKind::Iterator:
            return parameter.pointee_kind == Pointee::Struct && parameter.pointee_struct.starts_with("bpf_iter__");
        case BtfAttachKind::Fentry:
        case BtfAttachKind::Fexit:
        case BtfAttachKind::ModifyReturn: return points_to_u64(parameter);
        default: return false;
        }
    default: return false;
    }
}

}  // namespace

std::optional<std::string> context_argument_problem(const ir::FunctionParameter& parameter, size_t index,
                                                    ProgramType type, std::optional<BtfAttachKind> attach) {
    const bool kprobe_like = type == ProgramType::Kprobe || type == ProgramType::PerfEvent;
    if (kprobe_like && parameter.pointee_name == "bpf_user_pt_regs_t") return std::nullopt;
    if (parameter.pointee_kind == Pointee::Void) return std::nullopt;
    if (parameter.pointee_struct.empty())
        return fmt::format("argument {} is tagged arg:ctx but its pointee type has no name (the kernel's \"arg#{} type "
                           "doesn't have a name\")",
                           index + 1, index);
    if (special_case_accepts(parameter, type, attach)) return std::nullopt;
    const std::string_view context = canonical_context_struct(type);
    if (context.empty())
        return fmt::format("argument {} is tagged arg:ctx but points to '{}'; this program type's context has no "
                           "struct type, so it must be `void *` (the kernel's \"arg#{} should be void pointer\")",
                           index + 1, parameter.pointee_struct, index);
    if (!points_to_struct(parameter, context))
        return fmt::format("argument {} is tagged arg:ctx but points to '{}', not to this program type's context "
                           "`struct {} *` (the kernel's \"arg#{} should be `struct {} *`\")",
                           index + 1, parameter.pointee_struct, context, index, context);
    return std::nullopt;
}

}  // namespace bpfvet::analyzer
