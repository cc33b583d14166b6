// The data tables: error codes, context layouts, helper prototypes.
#include "analyzer/context_table.hpp"
#include "analyzer/error_code.hpp"
#include "analyzer/helper_table.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace bpfvet::analyzer {
namespace {

TEST(ErrorCodes, NamesAreUniqueAndRoundTrip) {
    std::set<std::string> names;
    for (const auto& info : all_error_codes()) {
        EXPECT_TRUE(names.insert(std::string(info.name)).second) << info.name;
        EXPECT_EQ(error_code_from_name(info.name), info.code);
        EXPECT_FALSE(info.summary.empty());
        EXPECT_FALSE(info.fix_hint.empty());
    }
    // The codes the corpus manifest uses.
    for (const char* name : {"uninitialized-register", "uninitialized-stack", "stack-out-of-bounds",
                             "map-value-out-of-bounds", "context-access", "packet-out-of-bounds", "memory-access",
                             "null-dereference", "pointer-arithmetic", "pointer-comparison", "pointer-leak",
                             "helper-argument", "unknown-helper", "helper-not-allowed", "read-only-write",
                             "unbounded-loop", "budget-exceeded", "return-value", "unreachable-instruction",
                             "stack-depth", "invalid-map-reference", "tail-call", "invalid-instruction", "spin-lock"})
        EXPECT_TRUE(error_code_from_name(name).has_value()) << name;
}

TEST(ContextTable, XdpLoadsPacketPointersWithFourByteReads) {
    auto xdp = context_descriptor(ir::ProgramType::Xdp);
    ASSERT_TRUE(xdp);
    auto data = check_context_access(*xdp, 0, 4, false);
    ASSERT_TRUE(std::holds_alternative<ContextAccessAllowed>(data));
    EXPECT_EQ(std::get<ContextAccessAllowed>(data).load, ContextLoad::PacketStart);
    auto end = check_context_access(*xdp, 4, 4, false);
    ASSERT_TRUE(std::holds_alternative<ContextAccessAllowed>(end));
    EXPECT_EQ(std::get<ContextAccessAllowed>(end).load, ContextLoad::PacketEnd);
    EXPECT_TRUE(std::holds_alternative<std::string>(check_context_access(*xdp, 0, 8, false)));
    EXPECT_TRUE(std::holds_alternative<std::string>(check_context_access(*xdp, 0, 4, true)));
    EXPECT_TRUE(std::holds_alternative<std::string>(check_context_access(*xdp, 24, 4, false)));
}

TEST(ContextTable, SocketFilterCannotReadPacketPointersButTcCan) {
    auto socket = context_descriptor(ir::ProgramType::SocketFilter);
    auto tc = context_descriptor(ir::ProgramType::SchedCls);
    ASSERT_TRUE(socket && tc);
    EXPECT_TRUE(std::holds_alternative<std::string>(check_context_access(*socket, 76, 4, false)));
    auto data = check_context_access(*tc, 76, 4, false);
    ASSERT_TRUE(std::holds_alternative<ContextAccessAllowed>(data));
    EXPECT_EQ(std::get<ContextAccessAllowed>(data).load, ContextLoad::PacketStart);
    // mark: narrow reads allowed, writes only for tc.
    EXPECT_TRUE(std::holds_alternative<ContextAccessAllowed>(check_context_access(*socket, 8, 1, false)));
    EXPECT_TRUE(std::holds_alternative<std::string>(check_context_access(*socket, 8, 4, true)));
    EXPECT_TRUE(std::holds_alternative<ContextAccessAllowed>(check_context_access(*tc, 8, 4, true)));
    // cb[] is writable everywhere, in any aligned size.
    EXPECT_TRUE(std::holds_alternative<ContextAccessAllowed>(check_context_access(*socket, 48, 8, true)));
    EXPECT_TRUE(std::holds_alternative<std::string>(check_context_access(*socket, 64, 8, true)));
}

TEST(ContextTable, EveryListedProgramTypeHasADescriptor) {
    using ir::ProgramType;
    for (auto type : {ProgramType::SocketFilter, ProgramType::Kprobe, ProgramType::Tracepoint,
                      ProgramType::RawTracepoint, ProgramType::PerfEvent, ProgramType::Xdp, ProgramType::SchedCls,
                      ProgramType::SchedAct, ProgramType::CgroupSkb, ProgramType::CgroupSock, ProgramType::SockOps,
                      ProgramType::SkSkb, ProgramType::SkMsg, ProgramType::LwtIn, ProgramType::LwtOut,
                      ProgramType::LwtXmit, ProgramType::Tracing, ProgramType::Lsm, ProgramType::CgroupSockAddr})
        EXPECT_TRUE(context_descriptor(type).has_value()) << ir::program_type_name(type);
}

TEST(HelperTable, CoversEveryHelperOfTheSharedCorpus) {
    // Found with: llvm-objdump-19 -d on every object of ../shared/corpus/ebpf-samples.
    for (int32_t id : {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 18, 20, 21, 22, 23, 25, 26,
                       27, 28, 31, 33, 34, 36, 37, 38, 43, 44, 49, 51, 53, 54, 55, 56, 57, 58, 65, 69, 118, 130}) {
        const HelperPrototype* helper = helper_prototype(id);
        ASSERT_NE(helper, nullptr) << id;
        EXPECT_EQ(helper->id, id);
    }
    EXPECT_EQ(helper_prototype(100000), nullptr);
}

TEST(HelperTable, ProgramTypeRestrictions) {
    EXPECT_FALSE(helper_allowed(*helper_prototype(9), ir::ProgramType::SocketFilter));  // skb_store_bytes
    EXPECT_TRUE(helper_allowed(*helper_prototype(9), ir::ProgramType::SchedCls));
    EXPECT_FALSE(helper_allowed(*helper_prototype(53), ir::ProgramType::Xdp));  // sock_map_update
    EXPECT_TRUE(helper_allowed(*helper_prototype(53), ir::ProgramType::SockOps));
    EXPECT_TRUE(helper_allowed(*helper_prototype(1), ir::ProgramType::Kprobe));
    EXPECT_TRUE(map_allowed_for_helper(12, uint32_t(ir::MapType::ProgArray)));
    EXPECT_FALSE(map_allowed_for_helper(12, uint32_t(ir::MapType::Array)));
    EXPECT_FALSE(map_allowed_for_helper(1, uint32_t(ir::MapType::Ringbuf)));
}

}  // namespace
}  // namespace bpfvet::analyzer
