// Networking helpers beyond the packet basics (runtime/network_helpers.cpp):
// FIB lookups against the host's routes, resizing skbs, VLAN tags, socket
// options and cgroup membership, each with the kernel's return codes.
#include "test_support.hpp"

#include <cerrno>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

namespace bpfvet::runtime::test {
namespace {

using ir::MapType;
using ir::ProgramType;

// XDP program: bpf_fib_lookup(ctx, fp-64, 64, FLAGS) on a zeroed
// bpf_fib_lookup with family AF_INET, tot_len TOTLEN and ipv4_dst 10.1.2.3;
// returns the result, plus the output ifindex << 8 and mtu_result << 32.
std::string fib_program(uint32_t flags, uint32_t length = 64, uint16_t tot_len = 100) {
    std::string text;
    for (int offset = -64; offset < 0; offset += 8) text += fmt::format("*(u64 *)(r10 {}) = 0\n", offset);
    text += "*(u8 *)(r10 - 64) = 2\n";
    text += fmt::format("*(u16 *)(r10 - 58) = {}\n", tot_len);
    text += "*(u32 *)(r10 - 32) = 0x0302010a\n";  // 10.1.2.3 in network order
    text += fmt::format("r2 = r10\nr2 += -64\nr3 = {}\nr4 = {}\ncall bpf_fib_lookup\n", length, flags);
    text += "r1 = *(u32 *)(r10 - 56)\nr1 <<= 8\nr0 += r1\n";
    text += "r1 = *(u16 *)(r10 - 58)\nr1 <<= 32\nr0 += r1\nexit";
    return text;
}

FibRoute route(uint8_t a, uint8_t b, uint8_t length, uint32_t ifindex, bool neighbour) {
    FibRoute r;
    r.prefix[0] = a;
    r.prefix[1] = b;
    r.prefix_length = length;
    r.ifindex = ifindex;
    if (neighbour) r.neighbour_mac = std::array<uint8_t, 6>{2, 0, 0, 0, 0, 9};
    return r;
}

uint64_t run_fib(const std::vector<FibRoute>& routes, const std::string& program) {
    RuntimeOptions options;
    options.environment.routes = routes;
    auto f = load_program_or_die(program, ProgramType::Xdp, {}, options);
    auto outcome = run_program(f, {.packet = counting_frame(60)});
    if (!outcome.result) throw std::runtime_error(outcome.result.error().to_string());
    return outcome.result->return_value;
}

TEST(FibLookup, WithoutARouteThePacketIsNotForwarded) {
    EXPECT_EQ(run_fib({}, fib_program(0)) & 0xff, uint64_t(BPF_FIB_LKUP_RET_NOT_FWDED));
}

TEST(FibLookup, TheLongestMatchingPrefixGivesTheEgressDevice) {
    auto result = run_fib({route(10, 0, 8, 2, true), route(10, 1, 16, 3, true), route(10, 2, 16, 4, true)},
                          fib_program(0));
    EXPECT_EQ(result & 0xff, uint64_t(BPF_FIB_LKUP_RET_SUCCESS));
    EXPECT_EQ((result >> 8) & 0xffffff, 3u);
}

TEST(FibLookup, AnUnknownNeighbourNeedsTheStackUnlessSkipped) {
    EXPECT_EQ(run_fib({route(10, 0, 8, 2, false)}, fib_program(0)) & 0xff, uint64_t(BPF_FIB_LKUP_RET_NO_NEIGH));
    EXPECT_EQ(run_fib({route(10, 0, 8, 2, false)}, fib_program(BPF_FIB_LOOKUP_SKIP_NEIGH)) & 0xff,
              uint64_t(BPF_FIB_LKUP_RET_SUCCESS));
}

TEST(FibLookup, APacketAboveTheMtuNeedsFragmentingAndLearnsTheMtu) {
    auto result = run_fib({route(10, 0, 8, 2, true)}, fib_program(0, 64, 2000));
    EXPECT_EQ(result & 0xff, uint64_t(BPF_FIB_LKUP_RET_FRAG_NEEDED));
    EXPECT_EQ(result >> 32, 1500u);
}

TEST(FibLookup, AShortParameterBlockOrUnknownFlagIsInvalid) {
    EXPECT_EQ(int32_t(run_fib({}, fib_program(0, 32))), -EINVAL);
    EXPECT_EQ(int32_t(run_fib({}, fib_program(1u << 20))), -EINVAL);
}

RunOutcome run_tc(const std::string& text, std::vector<uint8_t> packet, RuntimeOptions options = {},
                  std::vector<ir::MapDefinition> maps = {}) {
    auto f = load_program_or_die(text, ProgramType::SchedCls, std::move(maps), std::move(options));
    auto outcome = run_program(f, {.packet = std::move(packet)});
    if (!outcome.result) throw std::runtime_error(outcome.result.error().to_string());
    return outcome;
}

TEST(SkbResize, ChangeTailGrowsWithZerosAndShrinks) {
    auto grown = run_tc("r2 = 100\nr3 = 0\ncall bpf_skb_change_tail\nexit", counting_frame(60));
    EXPECT_EQ(grown.result->return_value, 0u);
    ASSERT_EQ(grown.packet.size(), 100u);
    EXPECT_EQ(grown.packet[59], 59u);
    EXPECT_EQ(grown.packet[60], 0u);
    EXPECT_EQ(grown.packet[99], 0u);

    auto shrunk = run_tc("r2 = 20\nr3 = 0\ncall bpf_skb_change_tail\nexit", counting_frame(60));
    EXPECT_EQ(shrunk.result->return_value, 0u);
    EXPECT_EQ(shrunk.packet.size(), 20u);

    auto flags = run_tc("r2 = 100\nr3 = 1\ncall bpf_skb_change_tail\nexit", counting_frame(60));
    EXPECT_EQ(int64_t(flags.result->return_value), -EINVAL);
    EXPECT_EQ(flags.packet.size(), 60u);
}

TEST(SkbResize, ChangeTailUpdatesTheContextLength) {
    auto outcome = run_tc("r6 = r1\nr2 = 90\nr3 = 0\ncall bpf_skb_change_tail\nr0 = *(u32 *)(r6 + 0)\nexit",
                          counting_frame(60));
    EXPECT_EQ(outcome.result->return_value, 90u);
}

TEST(SkbResize, ChangeHeadPrependsZeroBytes) {
    auto outcome = run_tc("r2 = 4\nr3 = 0\ncall bpf_skb_change_head\nexit", counting_frame(60));
    EXPECT_EQ(outcome.result->return_value, 0u);
    ASSERT_EQ(outcome.packet.size(), 64u);
    EXPECT_EQ(outcome.packet[3], 0u);
    EXPECT_EQ(outcome.packet[5], 1u);
}

std::vector<uint8_t> ipv4_frame(size_t size) {
    auto packet = counting_frame(size);
    packet[12] = 0x08;
    packet[13] = 0x00;
    return packet;
}

TEST(SkbResize, ChangeProtoMakesRoomForAnIpv6HeaderAfterTheMacHeader) {
    // htons(ETH_P_IPV6) as the program passes it: 0xdd86.
    auto outcome = run_tc("r2 = 0xdd86\nr3 = 0\ncall bpf_skb_change_proto\nexit", ipv4_frame(60));
    EXPECT_EQ(outcome.result->return_value, 0u);
    ASSERT_EQ(outcome.packet.size(), 80u);
    EXPECT_EQ(outcome.packet[0], 0u);
    EXPECT_EQ(outcome.packet[11], 11u);
    EXPECT_EQ(outcome.packet[13], 0x00);
    EXPECT_EQ(outcome.packet[14], 0u) << "the new room is zero";
    EXPECT_EQ(outcome.packet[34], 14u) << "the old network header follows the room";

    auto unsupported = run_tc("r2 = 0x0608\nr3 = 0\ncall bpf_skb_change_proto\nexit", ipv4_frame(60));
    EXPECT_EQ(int64_t(unsupported.result->return_value), -524) << "ENOTSUPP for ARP";
}

TEST(Vlan, ASecondPushMovesTheFirstTagIntoThePacket) {
    auto first = run_tc("r6 = r1\nr2 = 0x0081\nr3 = 5\ncall bpf_skb_vlan_push\nr0 = *(u32 *)(r6 + 24)\nexit",
                        ipv4_frame(60));
    EXPECT_EQ(first.result->return_value, 5u) << "vlan_tci of the accelerated tag";
    EXPECT_EQ(first.packet.size(), 60u) << "the first tag is not in the bytes";

    auto second = run_tc(
        "r6 = r1\nr2 = 0x0081\nr3 = 5\ncall bpf_skb_vlan_push\n"
        "r1 = r6\nr2 = 0x0081\nr3 = 7\ncall bpf_skb_vlan_push\nexit",
        ipv4_frame(60));
    EXPECT_EQ(second.result->return_value, 0u);
    ASSERT_EQ(second.packet.size(), 64u);
    EXPECT_EQ(second.packet[12], 0x81);
    EXPECT_EQ(second.packet[13], 0x00);
    EXPECT_EQ(second.packet[15], 5u);
    EXPECT_EQ(second.packet[16], 0x08) << "the original ethertype follows the tag";

    auto popped = run_tc(
        "r6 = r1\nr2 = 0x0081\nr3 = 5\ncall bpf_skb_vlan_push\n"
        "r1 = r6\nr2 = 0x0081\nr3 = 7\ncall bpf_skb_vlan_push\n"
        "r1 = r6\ncall bpf_skb_vlan_pop\nr0 = *(u32 *)(r6 + 24)\nexit",
        ipv4_frame(60));
    EXPECT_EQ(popped.result->return_value, 5u) << "the tag in the bytes became the accelerated one";
    EXPECT_EQ(popped.packet.size(), 60u);

    auto bad = run_tc("r2 = 0x0008\nr3 = 5\ncall bpf_skb_vlan_push\nexit", ipv4_frame(60));
    EXPECT_EQ(int64_t(bad.result->return_value), -EINVAL);
}

// setsockopt(ctx, level, name, fp-16, length) then getsockopt into fp-32.
uint64_t socket_options(const std::string& set, const std::string& get) {
    auto f = load_program_or_die(
        "r6 = r1\n*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 32) = 0\n*(u64 *)(r10 - 24) = 0\n" +
            set + get,
        ProgramType::SockOps);
    auto outcome = run_program(f);
    if (!outcome.result) throw std::runtime_error(outcome.result.error().to_string());
    return outcome.result->return_value;
}

TEST(SocketOptions, WhatIsSetIsReadBack) {
    // SO_MARK (level SOL_SOCKET 1, name 36) = 77.
    auto value = socket_options(
        "*(u32 *)(r10 - 16) = 77\nr1 = r6\nr2 = 1\nr3 = 36\nr4 = r10\nr4 += -16\nr5 = 4\ncall bpf_setsockopt\n"
        "if r0 != 0 goto out\n",
        "r1 = r6\nr2 = 1\nr3 = 36\nr4 = r10\nr4 += -32\nr5 = 4\ncall bpf_getsockopt\n"
        "if r0 != 0 goto out\nr0 = *(u32 *)(r10 - 32)\nout: exit");
    EXPECT_EQ(value, 77u);
}

TEST(SocketOptions, UnknownOptionsAndWrongLengthsAreInvalid) {
    EXPECT_EQ(int64_t(socket_options("r1 = r6\nr2 = 1\nr3 = 9999\nr4 = r10\nr4 += -16\nr5 = 4\ncall bpf_setsockopt\n",
                                     "exit")),
              -EINVAL);
    EXPECT_EQ(int64_t(socket_options("r1 = r6\nr2 = 1\nr3 = 36\nr4 = r10\nr4 += -16\nr5 = 2\ncall bpf_setsockopt\n",
                                     "exit")),
              -EINVAL);
}

TEST(SocketOptions, TheCongestionControlStartsAsCubic) {
    // TCP_CONGESTION: level IPPROTO_TCP 6, name 13; first byte of the name.
    auto value = socket_options("", "r1 = r6\nr2 = 6\nr3 = 13\nr4 = r10\nr4 += -32\nr5 = 16\ncall bpf_getsockopt\n"
                                    "if r0 != 0 goto out\nr0 = *(u8 *)(r10 - 32)\nout: exit");
    EXPECT_EQ(value, uint64_t('c'));
}

TEST(SocketLookup, FindsNoSocketInARuntimeWithoutSockets) {
    auto f = load_program_or_die(
        "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\nr2 = r10\nr2 += -16\nr3 = 12\nr4 = -1\nr5 = 0\n"
        "call bpf_sk_lookup_tcp\nexit",
        ProgramType::Xdp);
    auto outcome = run_program(f, {.packet = counting_frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 0u);
}

TEST(Cgroups, TheTaskIsUnderItsCgroupAndItsAncestors) {
    RuntimeOptions options;
    options.environment.task.cgroup_id = 40;
    options.environment.task.ancestor_cgroup_ids = {30, 1};
    auto cgroups = map_definition("cgroups", MapType::CgroupArray, 4, 4, 4);
    for (auto [index, expected] : std::initializer_list<std::pair<int, int64_t>>{{0, 1}, {1, 1}, {2, 0}, {3, -EAGAIN}, {9, -E2BIG}}) {
        auto program = load_program_or_die(
            fmt::format("r1 = map[cgroups] ll\nr2 = {}\ncall bpf_current_task_under_cgroup\nexit", index),
            ProgramType::Kprobe, {cgroups}, options);
        Map* map = program.object->find_map("cgroups");
        ASSERT_NE(map, nullptr);
        // Slots 0..2 hold the task's cgroup, an ancestor and an unrelated one; slot 3 is empty.
        for (auto [slot, id] : {std::pair<uint32_t, uint32_t>{0, 40}, {1, 30}, {2, 99}})
            ASSERT_EQ(map->host_update(&slot, &id, UpdateAny), 0);
        auto outcome = run_program(program);
        ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
        EXPECT_EQ(int64_t(outcome.result->return_value), expected) << "index " << index;
    }
}

}  // namespace
}  // namespace bpfvet::runtime::test
