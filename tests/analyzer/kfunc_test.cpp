// Kfunc calls (analyzer/transfer_kfunc.cpp, analyzer/kfunc_table.hpp): the
// table's facts, then each rule on small programs checked against the
// running kernel's BTF (skipped where /sys/kernel/btf/vmlinux is unreadable).
#include "analyzer/kfunc_table.hpp"
#include "kfunc_program.hpp"

#include <gtest/gtest.h>

#include <set>

namespace bpfvet::analyzer::test {
namespace {

TEST(KfuncTable, RowsCarryTheKernelsFlagsAndSets) {
    const KfuncDescription* acquire = find_kfunc("bpf_task_acquire");
    ASSERT_NE(acquire, nullptr);
    EXPECT_EQ(acquire->flags, kfunc_flag::Acquire | kfunc_flag::Rcu | kfunc_flag::ReturnsNull);
    EXPECT_TRUE(kfunc_allowed(*acquire, ir::ProgramType::Tracing));
    EXPECT_TRUE(kfunc_allowed(*acquire, ir::ProgramType::Lsm));  // lsm shares the tracing hook
    EXPECT_TRUE(kfunc_allowed(*acquire, ir::ProgramType::CgroupSkb));
    EXPECT_FALSE(kfunc_allowed(*acquire, ir::ProgramType::Kprobe));
    EXPECT_FALSE(kfunc_allowed(*acquire, ir::ProgramType::RawTracepoint));
    const KfuncDescription* cpumask = find_kfunc("bpf_cpumask_create");
    ASSERT_NE(cpumask, nullptr);
    EXPECT_FALSE(kfunc_allowed(*cpumask, ir::ProgramType::Xdp));
    EXPECT_TRUE(kfunc_allowed(*cpumask, ir::ProgramType::Syscall));
    // The common set (BPF_PROG_TYPE_UNSPEC) serves every program type.
    const KfuncDescription* lock = find_kfunc("bpf_rcu_read_lock");
    ASSERT_NE(lock, nullptr);
    EXPECT_TRUE(kfunc_allowed(*lock, ir::ProgramType::SocketFilter));
    EXPECT_TRUE(kfunc_allowed(*lock, ir::ProgramType::RawTracepoint));
    EXPECT_EQ(find_kfunc("bpf_no_such_kfunc"), nullptr);
    std::set<std::string_view> names;
    for (const auto& row : kfunc_table()) EXPECT_TRUE(names.insert(row.name).second) << row.name;
}

// Every function the running kernel's BTF marks as a kfunc (a DECL_TAG
// "bpf_kfunc" on its FUNC) has a row.
TEST(KfuncTable, CoversEveryKfuncOfTheRunningKernel) {
    auto btf = running_kernel_btf();
    if (!btf) GTEST_SKIP() << ir::DefaultKernelBtfPath << " is unreadable";
    std::vector<std::string> missing;
    size_t kfuncs = 0;
    for (uint32_t id = 1; id < btf->type_count(); ++id) {
        auto tag = btf->type(id);
        if (!tag || tag->kind != ir::BtfKind::DeclTag || tag->name != "bpf_kfunc") continue;
        auto function = btf->type(tag->type);
        if (!function || function->kind != ir::BtfKind::Function) continue;
        ++kfuncs;
        if (!find_kfunc(function->name)) missing.emplace_back(function->name);
    }
    EXPECT_GT(kfuncs, 0U);
    std::string list;
    for (const auto& name : missing) list += " " + name;
    EXPECT_TRUE(missing.empty()) << missing.size() << " kfuncs without a row:" << list;
}

class KfuncRules : public NeedsKernelBtf {};

constexpr std::string_view FromPidReleased = R"(
    r1 = 1
    call kfunc[0]
    if r0 == 0 goto out
    r1 = r0
    call kfunc[0]
out:
    r0 = 0
    exit
)";

TEST_F(KfuncRules, AcquiredTaskReleasedOnEveryPathIsAccepted) {
    auto checked = check_kfuncs(FromPidReleased, {"bpf_task_from_pid", "bpf_task_release"});
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
}

TEST_F(KfuncRules, ReferenceLeakedAtExit) {
    auto checked = check_kfuncs(R"(
        r1 = 1
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_task_from_pid"});
    EXPECT_TRUE(checked.rejected_with("unreleased-reference")) << checked.codes();
}

TEST_F(KfuncRules, ReleasedTwice) {
    auto checked = check_kfuncs(R"(
        r1 = 1
        call kfunc[0]
        if r0 == 0 goto out
        r6 = r0
        r1 = r0
        call kfunc[0]
        r1 = r6
        call kfunc[0]
    out:
        r0 = 0
        exit
    )", {"bpf_task_from_pid", "bpf_task_release", "bpf_task_release"});
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
}

TEST_F(KfuncRules, NullableResultPassedUnchecked) {
    auto checked = check_kfuncs(R"(
        r1 = 1
        call kfunc[0]
        r1 = r0
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_task_from_pid", "bpf_task_release"});
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
}

TEST_F(KfuncRules, TrustedTracepointArgumentIsAcquiredAndReleased) {
    auto checked = check_kfuncs(R"(
        r1 = *(u64 *)(r1 + 0)
        call kfunc[0]
        if r0 == 0 goto out
        r1 = r0
        call kfunc[0]
    out:
        r0 = 0
        exit
    )", {"bpf_task_acquire", "bpf_task_release"});
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
}

TEST_F(KfuncRules, CurrentTaskFromTheHelperIsTrusted) {
    // bpf_get_current_task_btf (158): a trusted task_struct, never null.
    auto checked = check_kfuncs(R"(
        call 158
        r1 = r0
        call kfunc[0]
        if r0 == 0 goto out
        r1 = r0
        call kfunc[0]
    out:
        r0 = 0
        exit
    )", {"bpf_task_acquire", "bpf_task_release"});
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
}

TEST_F(KfuncRules, FentryArgumentsAreNotTrusted) {
    // fentry arguments are not trusted (prog_args_trusted): KF_RCU refuses them.
    auto checked = check_kfuncs(R"(
        r1 = *(u64 *)(r1 + 0)
        call kfunc[0]
        if r0 == 0 goto out
        r1 = r0
        call kfunc[0]
    out:
        r0 = 0
        exit
    )", {"bpf_task_acquire", "bpf_task_release"}, ir::ProgramType::Tracing, "fentry/wake_up_new_task");
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
}

TEST_F(KfuncRules, ReleaseOfAnUnreferencedPointer) {
    // The tracepoint's task is trusted but not a reference the program holds.
    auto checked = check_kfuncs(R"(
        r1 = *(u64 *)(r1 + 0)
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_task_release"});
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
}

TEST_F(KfuncRules, ScalarWhereAStructPointerIsExpected) {
    auto checked = check_kfuncs(R"(
        r1 = 7
        call kfunc[0]
        r0 = 0
        exit
    )", {"bpf_task_acquire"});
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
}

TEST_F(KfuncRules, CpumaskPassedAsItsFirstMember) {
    // struct bpf_cpumask begins with a struct cpumask: accepted where one is expected.
    auto checked = check_kfuncs(R"(
        call kfunc[0]
        if r0 == 0 goto out
        r6 = r0
        r1 = 0
        r2 = r6
        call kfunc[0]
        r1 = r6
        call kfunc[0]
    out:
        r0 = 0
        exit
    )", {"bpf_cpumask_create", "bpf_cpumask_test_cpu", "bpf_cpumask_release"});
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
}

TEST_F(KfuncRules, NotAllowedForTheProgramType) {
    auto checked = check_kfuncs(FromPidReleased, {"bpf_task_from_pid", "bpf_task_release"}, ir::ProgramType::Kprobe,
                                "kprobe/do_nanosleep");
    EXPECT_TRUE(checked.rejected_with("kfunc-not-allowed")) << checked.codes();
    EXPECT_NE(checked.codes().find("calling kernel function bpf_task_from_pid is not allowed"), std::string::npos)
        << checked.codes();
}

TEST_F(KfuncRules, NeedsAGplCompatibleLicense) {
    auto checked = check_kfuncs(FromPidReleased, {"bpf_task_from_pid", "bpf_task_release"}, ir::ProgramType::Tracing,
                                "tp_btf/task_newtask", "Proprietary");
    EXPECT_TRUE(checked.rejected_with("kfunc-not-allowed")) << checked.codes();
}

TEST_F(KfuncRules, UnknownKfuncIsNamed) {
    auto checked = check_kfuncs("call kfunc[0]\nr0 = 0\nexit", {"bpf_no_such_kfunc"});
    EXPECT_TRUE(checked.rejected_with("unknown-kfunc")) << checked.codes();
    EXPECT_NE(checked.codes().find("unknown kfunc bpf_no_such_kfunc"), std::string::npos) << checked.codes();
}

// A helper declared as an extern function reaches us as a kfunc call: the
// message names the undefined symbol and how helpers are declared.
TEST_F(KfuncRules, HelperDeclaredAsExternIsAnUndefinedSymbol) {
    auto checked = check_kfuncs("call kfunc[0]\nr0 = 0\nexit", {"bpf_map_lookup_elem"});
    EXPECT_TRUE(checked.rejected_with("unknown-helper")) << checked.codes();
    EXPECT_NE(checked.codes().find("bpf_map_lookup_elem is an undefined symbol: declare helpers as in bpf_helpers.h"),
              std::string::npos)
        << checked.codes();
}

// Iterators over numbers and bits are modelled (iterator_test.cpp); those that
// need an RCU section or are allowed only in some programs are not yet.
TEST_F(KfuncRules, UnmodelledIteratorsAndRcuSectionsAreRefusedByName) {
    for (const char* name : {"bpf_iter_task_new", "bpf_iter_css_task_new"}) {
        auto iterator = check_kfuncs("r1 = r10\nr1 += -8\nr2 = 0\nr3 = 10\ncall kfunc[0]\nr0 = 0\nexit", {name});
        EXPECT_TRUE(iterator.rejected_with("unmodelled-kfunc")) << iterator.codes();
        EXPECT_NE(iterator.codes().find(name), std::string::npos) << iterator.codes();
    }
    auto rcu = check_kfuncs("call kfunc[0]\nr0 = 0\nexit", {"bpf_rcu_read_lock"});
    EXPECT_TRUE(rcu.rejected_with("unmodelled-kfunc")) << rcu.codes();
}

TEST_F(KfuncRules, WithoutKernelBtfTheCallCannotBeChecked) {
    auto checked = check_kfuncs(FromPidReleased, {"bpf_task_from_pid", "bpf_task_release"}, ir::ProgramType::SchedCls,
                                "tc", "GPL", false);
    EXPECT_TRUE(checked.rejected_with("unmodelled-kfunc")) << checked.codes();
    EXPECT_NE(checked.codes().find("cannot be checked without the kernel's BTF"), std::string::npos)
        << checked.codes();
}

TEST_F(KfuncRules, UseAfterReleaseThroughACopy) {
    auto checked = check_kfuncs(R"(
        call kfunc[0]
        if r0 == 0 goto out
        r6 = r0
        r1 = r0
        call kfunc[0]
        r1 = 0
        r2 = r6
        call kfunc[0]
    out:
        r0 = 0
        exit
    )", {"bpf_cpumask_create", "bpf_cpumask_release", "bpf_cpumask_test_cpu"});
    EXPECT_TRUE(checked.rejected_with("kfunc-argument")) << checked.codes();
}

}  // namespace
}  // namespace bpfvet::analyzer::test
