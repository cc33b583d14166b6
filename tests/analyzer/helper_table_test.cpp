// The helper prototype table: its shape (one row per helper of Linux 6.18,
// against ir/helper_names and the running kernel's BTF), and the argument
// rules that read it, each with a program the kernel refuses and a safe twin.
#include "analyzer/helper_table.hpp"
#include "check_program.hpp"
#include "ir/elf_loader.hpp"
#include "ir/helper_names.hpp"
#include "ir/kernel_btf.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

namespace bpfvet::analyzer {
namespace {

using namespace test;
constexpr auto Tc = ir::ProgramType::SchedCls;

bool is_memory(ArgumentKind kind) {
    return kind == ArgumentKind::ReadableMemory || kind == ArgumentKind::ReadableMemoryOrNull ||
           kind == ArgumentKind::WritableMemory || kind == ArgumentKind::WritableMemoryOrNull;
}

bool is_fixed(ArgumentKind kind) {
    return kind == ArgumentKind::FixedReadable || kind == ArgumentKind::FixedInOut ||
           kind == ArgumentKind::FixedOutput;
}

TEST(HelperTableShape, EveryHelperOfTheKernelEnumHasOneRowNamedAsIrNamesIt) {
    ASSERT_EQ(ir::helper_count(), 212);  // BPF_FUNC_unspec .. BPF_FUNC_cgrp_storage_delete
    for (int32_t id = 1; id < ir::helper_count(); ++id) {
        const HelperPrototype* helper = helper_prototype(id);
        ASSERT_NE(helper, nullptr) << ir::helper_name(id);
        EXPECT_EQ(helper->id, id);
        EXPECT_EQ(helper->name, ir::helper_name(id));
    }
    EXPECT_EQ(helper_prototype(0), nullptr);
    EXPECT_EQ(helper_prototype(212), nullptr);
    EXPECT_EQ(helper_prototype(-1), nullptr);
}

TEST(HelperTableShape, SizesFollowTheirMemoryAndFixedArgumentsHaveSizes) {
    for (int32_t id = 1; id < ir::helper_count(); ++id) {
        const HelperPrototype& helper = *helper_prototype(id);
        bool ended = false;
        for (size_t i = 0; i < helper.arguments.size(); ++i) {
            const ArgumentKind kind = helper.arguments[i];
            const bool size = kind == ArgumentKind::Size || kind == ArgumentKind::SizeOrZero;
            EXPECT_FALSE(ended && kind != ArgumentKind::None) << helper.name << ": an argument after None";
            ended = ended || kind == ArgumentKind::None;
            if (is_memory(kind)) {
                ASSERT_LT(i + 1, helper.arguments.size()) << helper.name;
                const ArgumentKind next = helper.arguments[i + 1];
                EXPECT_TRUE(next == ArgumentKind::Size || next == ArgumentKind::SizeOrZero)
                    << helper.name << " argument " << i + 1 << " has no size after it";
            }
            if (size) EXPECT_TRUE(i > 0 && is_memory(helper.arguments[i - 1])) << helper.name << " argument " << i + 1;
            EXPECT_EQ(is_fixed(kind), helper.fixed_sizes[i] != 0) << helper.name << " argument " << i + 1;
        }
    }
}

// The running kernel's own enum bpf_func_id, from its BTF: every name has a
// row (skipped where the kernel exposes no BTF).
TEST(HelperTableShape, MatchesTheRunningKernelsEnum) {
    const std::string path = "/sys/kernel/btf/vmlinux";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
    auto btf = ir::KernelBtf::load(path);
    ASSERT_TRUE(btf.has_value()) << btf.error();
    auto id = (*btf)->find(ir::BtfKind::Enum, "bpf_func_id");
    ASSERT_TRUE(id.has_value());
    size_t checked = 0;
    for (const ir::BtfEnumerator& e : (*btf)->enumerators(*id)) {
        std::string_view name = e.name;
        if (name == "BPF_FUNC_unspec" || name == "__BPF_FUNC_MAX_ID") continue;
        ASSERT_TRUE(name.starts_with("BPF_FUNC_")) << name;
        const HelperPrototype* helper = helper_prototype(int32_t(e.value));
        ASSERT_NE(helper, nullptr) << name << " = " << e.value;
        EXPECT_EQ(helper->name, fmt::format("bpf_{}", name.substr(9))) << e.value;
        ++checked;
    }
    EXPECT_GE(checked, 211u);
}

// Every helper that the shared corpora call has a row (reference material:
// skipped without ../shared).
TEST(HelperTableShape, CoversEveryHelperTheSharedCorporaCall) {
    const std::filesystem::path shared = BPFVET_SHARED_DIR;
    if (!std::filesystem::exists(shared / "bcf-corpus")) GTEST_SKIP() << "../shared is absent";
    std::set<int32_t> called;
    size_t objects = 0;
    for (const char* corpus : {"bcf-corpus/objs", "kernel-selftests/objs", "corpus/ebpf-samples"}) {
        if (!std::filesystem::exists(shared / corpus)) continue;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(shared / corpus)) {
            if (entry.path().extension() != ".o") continue;
            auto object = ir::load_object(entry.path().string());
            if (!object) continue;
            ++objects;
            for (const ir::Program& program : object->programs)
                for (const ir::Instruction& insn : program.instructions)
                    if (insn.is_helper_call()) called.insert(insn.imm);
        }
    }
    EXPECT_GT(objects, 100u);
    for (int32_t id : called) {
        const HelperPrototype* helper = helper_prototype(id);
        EXPECT_NE(helper, nullptr) << "helper " << id << " (" << ir::helper_name(id) << ")";
    }
}

TEST(HelperTableShape, PacketChangingHelpersAreTheKernels) {
    for (int32_t id : {9, 10, 11, 13, 18, 19, 31, 38, 39, 43, 44, 50, 54, 63, 65, 73, 74, 75, 76, 90, 91, 143})
        EXPECT_TRUE(helper_changes_packet_data(id)) << ir::helper_name(id);
    // Checked against the 6.18 kernel: a packet pointer stays valid after these.
    for (int32_t id : {12, 23, 32, 40, 48, 135, 151, 152, 155, 192})
        EXPECT_FALSE(helper_changes_packet_data(id)) << ir::helper_name(id);
}

TEST(HelperTableShape, PacketAccessFollowsTheProgramType) {
    const HelperPrototype& csum_diff = *helper_prototype(28);
    const HelperPrototype& load_bytes = *helper_prototype(26);
    EXPECT_TRUE(helper_accepts_packet(csum_diff, Tc));
    EXPECT_TRUE(helper_accepts_packet(csum_diff, ir::ProgramType::CgroupSkb));
    EXPECT_FALSE(helper_accepts_packet(load_bytes, Tc));
    EXPECT_FALSE(helper_accepts_packet(csum_diff, ir::ProgramType::SockOps));  // no direct packet access
    EXPECT_TRUE(helper_accepts_packet(load_bytes, ir::ProgramType::CgroupSockopt));
}

// ---- nullable memory: null only with a size of 0 (the kernel's check_helper_mem_access)

std::string csum_diff_of_null(std::string_view size) {
    return fmt::format(R"(
        {}
        r1 = 0
        r3 = 0
        r4 = 0
        r5 = 0
        call bpf_csum_diff
        r0 = 0
        exit
    )",
                       size);
}

TEST(HelperArguments, NullableMemoryIsNullOnlyWithSizeZero) {
    auto ok = check(csum_diff_of_null("r2 = 0"), Tc);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto constant = check(csum_diff_of_null("r2 = 4"), Tc);
    EXPECT_TRUE(constant.rejected_with("helper-argument")) << constant.codes();
    EXPECT_NE(constant.codes().find("expected=fp"), std::string::npos) << constant.codes();
    // A size that may be 0 or 4: the kernel checks its maximum.
    auto maybe = check(csum_diff_of_null("r2 = *(u32 *)(r1 + 0)\n r2 &= 4"), Tc);
    EXPECT_TRUE(maybe.rejected_with("helper-argument")) << maybe.codes();
}

TEST(HelperArguments, NullableMemoryOfRedirectNeigh) {
    auto ok = check("r1 = 1\nr2 = 0\nr3 = 0\nr4 = 0\ncall bpf_redirect_neigh\nexit", Tc);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto bad = check("r1 = 1\nr2 = 0\nr3 = 8\nr4 = 0\ncall bpf_redirect_neigh\nexit", Tc);
    EXPECT_TRUE(bad.rejected_with("helper-argument")) << bad.codes();
    auto params = check(R"(
        r1 = 0
        *(u64 *)(r10 - 24) = r1
        *(u64 *)(r10 - 16) = r1
        *(u64 *)(r10 - 8) = r1
        r2 = r10
        r2 += -24
        r1 = 1
        r3 = 20
        r4 = 0
        call bpf_redirect_neigh
        exit
    )", Tc);
    EXPECT_TRUE(params.result.accepted) << params.codes();
}

// ---- packet memory only for helpers whose prototype has pkt_access

// A tc program that proves 8 packet bytes and passes them to a helper: `call`
// sets r1..r5 from r6 (context) and r7 (the packet).
std::string with_packet(std::string_view call) {
    return fmt::format(R"(
        r6 = r1
        r7 = *(u32 *)(r6 + 76)
        r3 = *(u32 *)(r6 + 80)
        r4 = r7
        r4 += 8
        if r4 > r3 goto out
        {}
    out:
        r0 = 0
        exit
    )",
                       call);
}

TEST(HelperArguments, PacketPointerOnlyForHelpersWithPacketAccess) {
    auto bad = check(with_packet("r1 = r6\n r2 = 0\n r3 = r7\n r4 = 8\n call bpf_skb_load_bytes"), Tc);
    EXPECT_TRUE(bad.rejected_with("helper-argument")) << bad.codes();
    EXPECT_NE(bad.codes().find("helper access to the packet is not allowed"), std::string::npos) << bad.codes();
    auto store = check(with_packet("r1 = r6\n r2 = 0\n r3 = r7\n r4 = 8\n r5 = 0\n call bpf_skb_store_bytes"), Tc);
    EXPECT_TRUE(store.rejected_with("helper-argument")) << store.codes();
    // The safe twin: the stack as destination.
    auto ok = check(with_packet("r1 = r6\n r2 = 0\n r3 = r10\n r3 += -8\n r4 = 8\n call bpf_skb_load_bytes"), Tc);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    // bpf_csum_diff has pkt_access: it may read the packet.
    auto csum = check(with_packet("r1 = r7\n r2 = 8\n r3 = 0\n r4 = 0\n r5 = 0\n call bpf_csum_diff"), Tc);
    EXPECT_TRUE(csum.result.accepted) << csum.codes();
    // A map key in the packet, for a lookup (pkt_access) but not for bpf_map_pop_elem's value.
    auto lookup = check(with_packet("r1 = map[values] ll\n r2 = r7\n call bpf_map_lookup_elem"), Tc,
                        {map_of("values", 8)});
    EXPECT_TRUE(lookup.result.accepted) << lookup.codes();
}

// ---- fixed-size memory

TEST(HelperArguments, StrtolStoresAnAlignedLong) {
    constexpr std::string_view program = R"(
        r1 = 12345
        *(u64 *)(r10 - 16) = r1
        r1 = r10
        r1 += -16
        r2 = 8
        r3 = 10
        r4 = r10
        r4 += {}
        call bpf_strtol
        r0 = 0
        exit
    )";
    auto ok = check(fmt::format(fmt::runtime(program), -8), Socket);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto misaligned = check(fmt::format(fmt::runtime(program), -4), Socket);
    EXPECT_TRUE(misaligned.rejected_with("helper-argument")) << misaligned.codes();
    auto outside = check(fmt::format(fmt::runtime(program), -520), Socket);
    EXPECT_FALSE(outside.result.accepted) << outside.codes();
}

TEST(HelperArguments, CheckMtuReadsAndWritesItsLength) {
    constexpr std::string_view program = R"(
        r2 = 1500
        *(u32 *)(r10 - 4) = r2
        r2 = 0
        r3 = {}
        r4 = 0
        r5 = 0
        call bpf_check_mtu
        r0 = 0
        exit
    )";
    auto ok = check(fmt::format(fmt::runtime(program), "r10\n r3 += -4"), Tc);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto number = check(fmt::format(fmt::runtime(program), "1500"), Tc);
    EXPECT_TRUE(number.rejected_with("helper-argument")) << number.codes();
    auto too_small = check(fmt::format(fmt::runtime(program), "r10\n r3 += -2"), Tc);
    EXPECT_FALSE(too_small.result.accepted) << too_small.codes();
}

// ---- sockets, gates and unmodelled kinds

constexpr std::string_view socket_lookup = R"(
        r6 = r1
        r1 = 0
        *(u64 *)(r10 - 16) = r1
        *(u64 *)(r10 - 8) = r1
        r1 = r6
        r2 = r10
        r2 += -16
        r3 = 12
        r4 = -1
        r5 = 0
        call bpf_sk_lookup_tcp
        {}
        r7 = r0
        {}
        r1 = r7
        call bpf_sk_release
    out:
        r0 = 0
        exit
)";

TEST(HelperArguments, SkAssignTakesASocketTestedAgainstNull) {
    const char* assign = "r1 = r6\n r2 = r7\n r3 = 0\n call bpf_sk_assign";
    auto ok = check(fmt::format(fmt::runtime(socket_lookup), "if r0 == 0 goto out", assign), Tc);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto unchecked = check(fmt::format(fmt::runtime(socket_lookup), "", assign), Tc);
    EXPECT_TRUE(unchecked.rejected_with("helper-argument")) << unchecked.codes();
}

TEST(HelperArguments, SkFullsockMayReturnNull) {
    auto ok = check(fmt::format(fmt::runtime(socket_lookup), "if r0 == 0 goto out",
                                "r1 = r7\n call bpf_sk_fullsock\n if r0 == 0 goto release\n r1 = *(u32 *)(r0 + 4)\n "
                                "release:"),
                    Tc);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto unchecked = check(fmt::format(fmt::runtime(socket_lookup), "if r0 == 0 goto out",
                                       "r1 = r7\n call bpf_sk_fullsock\n r1 = *(u32 *)(r0 + 4)"),
                           Tc);
    EXPECT_FALSE(unchecked.result.accepted) << unchecked.codes();
}

// bpf_get_local_storage returns the program's own cgroup storage value: never null.
TEST(HelperArguments, LocalStorageIsANonNullMapValue) {
    constexpr std::string_view program = R"(
        r1 = map[storage] ll
        r2 = 0
        call bpf_get_local_storage
        r0 = *(u64 *)(r0 + {})
        r0 = 1
        exit
    )";
    auto storage = std::vector{map_of("storage", 8, ir::MapType::CgroupStorage)};
    auto ok = check(fmt::format(fmt::runtime(program), 0), ir::ProgramType::CgroupSkb, storage);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto past = check(fmt::format(fmt::runtime(program), 8), ir::ProgramType::CgroupSkb, storage);
    EXPECT_TRUE(past.rejected_with("map-value-out-of-bounds")) << past.codes();
    auto array = check(fmt::format(fmt::runtime(program), 0), ir::ProgramType::CgroupSkb,
                       {map_of("storage", 8, ir::MapType::Array)});
    EXPECT_TRUE(array.rejected_with("helper-argument")) << array.codes();
}

// bpf_sk_storage_get(map, sk, value or null, flags): the value is the map's
// value size of initialized bytes, or 0.
TEST(HelperArguments, SocketStorageTakesAValueOrNull) {
    constexpr std::string_view program = R"(
        r6 = *(u64 *)(r1 + 168)
        if r6 == 0 goto out
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = map[storage] ll
        r2 = r6
        {}
        r4 = 1
        call bpf_sk_storage_get
        if r0 == 0 goto out
        r0 = *(u64 *)(r0 + 0)
    out:
        r0 = 1
        exit
    )";
    auto storage = std::vector{map_of("storage", 8, ir::MapType::SkStorage)};
    auto null = check(fmt::format(fmt::runtime(program), "r3 = 0"), ir::ProgramType::CgroupSkb, storage);
    EXPECT_TRUE(null.result.accepted) << null.codes();
    auto value = check(fmt::format(fmt::runtime(program), "r3 = r10\n r3 += -8"), ir::ProgramType::CgroupSkb, storage);
    EXPECT_TRUE(value.result.accepted) << value.codes();
    auto short_value =
        check(fmt::format(fmt::runtime(program), "r3 = r10\n r3 += -4"), ir::ProgramType::CgroupSkb, storage);
    EXPECT_FALSE(short_value.result.accepted) << short_value.codes();
    auto number = check(fmt::format(fmt::runtime(program), "r3 = 8"), ir::ProgramType::CgroupSkb, storage);
    EXPECT_TRUE(number.rejected_with("helper-argument")) << number.codes();
}

TEST(HelperArguments, GplOnlyHelpersNeedAGplLicense) {
    const char* program = "call bpf_get_current_task\nr0 = 0\nexit";
    EXPECT_TRUE(check(program, Socket, {}, {}, "GPL").result.accepted);
    EXPECT_TRUE(check(program, Socket, {}, {}, "Dual BSD/GPL").result.accepted);
    auto proprietary = check(program, Socket, {}, {}, "Proprietary");
    EXPECT_TRUE(proprietary.rejected_with("helper-not-allowed")) << proprietary.codes();
    EXPECT_TRUE(check("call bpf_ktime_get_ns\nr0 = 0\nexit", Socket, {}, {}, "Proprietary").result.accepted);
}

TEST(HelperArguments, UnmodelledKindsAreRejectedNamingTheHelper) {
    auto dynptr = check("r1 = r10\nr1 += -16\nr2 = 0\ncall bpf_ringbuf_discard_dynptr\nr0 = 0\nexit", Tc);
    EXPECT_TRUE(dynptr.rejected_with("unmodelled-helper")) << dynptr.codes();
    EXPECT_NE(dynptr.codes().find("bpf_ringbuf_discard_dynptr#200"), std::string::npos) << dynptr.codes();
    auto task = check("call bpf_get_current_task_btf\nr0 = 0\nexit", ir::ProgramType::Kprobe);
    EXPECT_TRUE(task.rejected_with("unmodelled-helper")) << task.codes();
    auto sleeps = check("r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall bpf_copy_from_user\nr0 = 0\nexit",
                        ir::ProgramType::Kprobe);
    EXPECT_TRUE(sleeps.rejected_with("helper-not-allowed")) << sleeps.codes();
}

TEST(HelperArguments, ProgramTypesFollowTheKernel) {
    EXPECT_TRUE(check("r1 = 1\nr2 = 0\ncall bpf_redirect_peer\nexit", Tc).result.accepted);
    EXPECT_TRUE(check("r1 = 1\nr2 = 0\ncall bpf_redirect_peer\nexit", Xdp).rejected_with("helper-not-allowed"));
    EXPECT_TRUE(check("call bpf_get_netns_cookie\nr0 = 0\nexit", Tc).result.accepted);  // the context
    EXPECT_TRUE(check("r1 = 0\ncall bpf_get_netns_cookie\nr0 = 0\nexit", Tc).result.accepted);  // or null
    EXPECT_TRUE(check("r1 = 1\ncall bpf_get_netns_cookie\nr0 = 0\nexit", Tc).rejected_with("helper-argument"));
    EXPECT_TRUE(check("call bpf_ktime_get_coarse_ns\nr0 = 0\nexit", Xdp).result.accepted);
    EXPECT_TRUE(
        check("call bpf_ktime_get_coarse_ns\nr0 = 0\nexit", ir::ProgramType::Kprobe).rejected_with("helper-not-allowed"));
}

TEST(HelperArguments, PacketPointersSurviveHelpersThatKeepThePacket) {
    auto kept = check(with_packet("r1 = r6\n r2 = 0\n call bpf_skb_change_type\n r0 = *(u8 *)(r7 + 0)"), Tc);
    EXPECT_TRUE(kept.result.accepted) << kept.codes();
    auto moved = check(with_packet("r1 = r6\n r2 = 0\n r3 = 0\n call bpf_skb_change_proto\n r0 = *(u8 *)(r7 + 0)"), Tc);
    EXPECT_FALSE(moved.result.accepted) << moved.codes();
}

TEST(HelperArguments, LoopContextIsStackOrNull) {
    constexpr std::string_view program = R"(
        r1 = 10
        r2 = func[cb] ll
        {}
        r4 = 0
        call bpf_loop
        r0 = 0
        exit
    cb:
        r0 = 0
        exit
    )";
    EXPECT_TRUE(check(fmt::format(fmt::runtime(program), "r3 = 0"), Socket).result.accepted);
    auto map = check(fmt::format(fmt::runtime(program), "r3 = map[values] ll"), Socket, {map_of("values", 8)});
    EXPECT_TRUE(map.rejected_with("helper-argument")) << map.codes();
}

}  // namespace
}  // namespace bpfvet::analyzer
