// ir/program_type.hpp: the type a section name implies, as the loaders that
// produced the objects read it (libbpf today, libbpf before 1.0, iproute2),
// and no type at all for a name none of them gives one.
#include "ir/program_type.hpp"

#include <gtest/gtest.h>

namespace bpfvet::ir {
namespace {

ProgramType type_of(std::string_view section) { return program_type_from_section(section).type; }

TEST(ProgramType, LibbpfNames) {
    EXPECT_EQ(type_of("xdp"), ProgramType::Xdp);
    EXPECT_EQ(type_of("tc"), ProgramType::SchedCls);
    EXPECT_EQ(type_of("socket"), ProgramType::SocketFilter);
    EXPECT_EQ(type_of("kprobe/do_unlinkat"), ProgramType::Kprobe);
    EXPECT_EQ(program_type_from_section("kprobe/do_unlinkat").attach_target, "do_unlinkat");
    // "?" only turns autoload off (libbpf); the rest of the name decides.
    EXPECT_EQ(type_of("?xdp"), ProgramType::Xdp);
    EXPECT_EQ(program_type_from_section("?kprobe/do_unlinkat").attach_target, "do_unlinkat");
    EXPECT_EQ(type_of("cgroup/connect4"), ProgramType::CgroupSockAddr);
}

// libbpf before 1.0 (SEC_SLOPPY_PFX) and iproute2 matched these prefixes with
// anything after them: the kernel samples' "socket1", "xdp_prog", tc's "classifier".
TEST(ProgramType, LegacyPrefixes) {
    EXPECT_EQ(type_of("socket1"), ProgramType::SocketFilter);
    EXPECT_EQ(type_of("xdp_redirect_map"), ProgramType::Xdp);
    EXPECT_EQ(type_of("xdp1"), ProgramType::Xdp);
    EXPECT_EQ(type_of("classifier"), ProgramType::SchedCls);
    EXPECT_EQ(type_of("classifier_ingress"), ProgramType::SchedCls);
    EXPECT_EQ(type_of("action"), ProgramType::SchedAct);
    EXPECT_EQ(type_of("sockops_prog"), ProgramType::SockOps);
    EXPECT_EQ(type_of("lwt_xmit_encap"), ProgramType::LwtXmit);
    EXPECT_EQ(program_type_from_section("xdp_prog").attach_target, "") << "no '/': nothing to attach to";
}

// Prefixes that always needed '/' stay strict: "kprobex" is no kprobe.
TEST(ProgramType, NamesThatImplyNothing) {
    for (std::string_view section : {"filter", "prog", "ingress", ".text", "test", "kprobex", "tracepointy", "tcx1", "maps"})
        EXPECT_EQ(type_of(section), ProgramType::Unspecified) << section;
}

}  // namespace
}  // namespace bpfvet::ir
