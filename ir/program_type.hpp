// Program types: kernel enum bpf_prog_type, names as the kernel spells them
// without the BPF_PROG_TYPE_ prefix, and the libbpf section-name conventions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bpfvet::ir {

enum class ProgramType : uint32_t {
    Unspecified = 0, SocketFilter = 1, Kprobe = 2, SchedCls = 3, SchedAct = 4,
    Tracepoint = 5, Xdp = 6, PerfEvent = 7, CgroupSkb = 8, CgroupSock = 9,
    LwtIn = 10, LwtOut = 11, LwtXmit = 12, SockOps = 13, SkSkb = 14,
    CgroupDevice = 15, SkMsg = 16, RawTracepoint = 17, CgroupSockAddr = 18,
    LwtSeg6local = 19, LircMode2 = 20, SkReuseport = 21, FlowDissector = 22,
    CgroupSysctl = 23, RawTracepointWritable = 24, CgroupSockopt = 25,
    Tracing = 26, StructOps = 27, Ext = 28, Lsm = 29, SkLookup = 30,
    Syscall = 31, Netfilter = 32,
};

// "socket_filter", "sched_cls", ... ("unspec" for Unspecified).
[[nodiscard]] std::string_view program_type_name(ProgramType type);
[[nodiscard]] std::optional<ProgramType> program_type_from_name(std::string_view name);

struct SectionTypeGuess {
    ProgramType type = ProgramType::Unspecified;
    std::string attach_target;
};

// A section name as libbpf reads it: "?xdp" is "xdp" with autoload off, so
// the leading '?' says nothing about the program's type or attach target.
[[nodiscard]] constexpr std::string_view without_autoload_marker(std::string_view section) {
    return section.starts_with('?') ? section.substr(1) : section;
}

// The program type libbpf would infer from a section name, e.g. "kprobe/sys_write"
// gives Kprobe with target "sys_write"; Unspecified when the name implies nothing.
[[nodiscard]] SectionTypeGuess program_type_from_section(std::string_view section);

}  // namespace bpfvet::ir
