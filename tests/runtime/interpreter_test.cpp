// The interpreter beyond the conformance cases: checked-mode faults (located,
// returned as values), budgets, call depth, tail calls, contexts and helpers.
#include "test_support.hpp"

#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>
#include <linux/bpf.h>

namespace bpfvet::runtime::test {
namespace {

using ir::MapType;
using ir::ProgramType;

using Fixture = ProgramFixture;

Fixture load(std::string_view text, ProgramType type = ProgramType::Unspecified,
             std::vector<ir::MapDefinition> maps = {}, RuntimeOptions options = {}) {
    return load_program_or_die(text, type, std::move(maps), std::move(options));
}
RunOutcome run(Fixture& f, RunInput input = {}, bool checked = true) { return run_program(f, std::move(input), checked); }
std::vector<uint8_t> frame(size_t size) { return counting_frame(size); }

TEST(Interpreter, StackOverrunIsALocatedFault) {
    auto f = load("r0 = 0\nr0 = *(u64 *)(r10 + 8)\nexit");
    auto outcome = run(f);
    ASSERT_FALSE(outcome.result);
    const Fault& fault = outcome.result.error();
    EXPECT_EQ(fault.kind, FaultKind::MemoryViolation);
    EXPECT_EQ(fault.pc, 1u);
    EXPECT_EQ(fault.size, 8u);
    EXPECT_FALSE(fault.write);
    EXPECT_EQ(fault.section, "test");
    EXPECT_EQ(fault.region, "8 bytes past the end of the stack") << fault.to_string();
}

// The soundness oracle compares the slots a run executes with those the
// analyzer reached: the interpreter marks exactly the slots it ran, in local
// calls too (a skipped branch and an LDDW's second slot stay unmarked).
TEST(Interpreter, MarksTheSlotsItExecutes) {
    auto f = load("r1 = 0x100000000 ll\n"  // slots 0, 1
                  "if r1 != 0 goto +1\n"   // 2
                  "r0 = 7\n"               // 3: skipped
                  "call f\n"               // 4
                  "exit\n"                 // 5
                  "f:\n"
                  "r0 = 1\n"               // 6: the callee
                  "exit");                 // 7
    std::vector<uint8_t> executed(8, 0);
    RunOptions options;
    options.executed = &executed;
    ASSERT_TRUE(f.runner->set_input({}));
    auto outcome = f.runner->run(options);
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(executed, (std::vector<uint8_t>{1, 0, 1, 0, 1, 1, 1, 1}));
}

// The analyzer knows every helper of Linux 6.18; the runtime implements only
// some: loading a program that calls another one is a clear error naming it.
TEST(Interpreter, UnimplementedHelperIsAClearLoadError) {
    try {
        load("r1 = 1\nr2 = 0\ncall bpf_redirect_peer\nr0 = 0\nexit", ProgramType::SchedCls);
        FAIL() << "loaded a program calling a helper the runtime lacks";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("helper 155 (bpf_redirect_peer) is not provided by the runtime"),
                  std::string::npos)
            << error.what();
    }
}

TEST(Interpreter, XdpReadsThePacketThroughThe32BitContextFields) {
    // r2 = ctx->data, r3 = ctx->data_end; return the packet's second byte plus its length.
    auto f = load(
        "r2 = *(u32 *)(r1 + 0)\n"
        "r3 = *(u32 *)(r1 + 4)\n"
        "r0 = *(u8 *)(r2 + 1)\n"
        "r3 -= r2\n"
        "r0 += r3\n"
        "exit",
        ProgramType::Xdp);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 1u + 60u);
}

TEST(Interpreter, PacketReadPastDataEndFaultsInCheckedMode) {
    auto f = load(
        "r2 = *(u32 *)(r1 + 0)\n"
        "r0 = *(u32 *)(r2 + 58)\n"
        "exit",
        ProgramType::Xdp);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().pc, 1u);
    EXPECT_EQ(outcome.result.error().region, "packet: the access ends 2 bytes past its end")
        << outcome.result.error().to_string();
}

TEST(Interpreter, XdpContextIsReadOnly) {
    auto f = load("r2 = 0\n*(u32 *)(r1 + 12) = r2\nr0 = 0\nexit", ProgramType::Xdp);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_FALSE(outcome.result);
    EXPECT_TRUE(outcome.result.error().write);
    EXPECT_EQ(outcome.result.error().message, "the region is read-only");
}

TEST(Interpreter, ReadOnlyGlobalDataRefusesWrites) {
    auto rodata = map_definition(".rodata", MapType::Array, 4, 8, 1);
    rodata.is_global_data = true;
    rodata.read_only = true;
    rodata.initial_value = {42, 0, 0, 0, 0, 0, 0, 0};
    auto f = load("r1 = map_value[.rodata] + 0 ll\nr0 = *(u64 *)(r1 + 0)\n*(u64 *)(r1 + 0) = r0\nexit",
                  ProgramType::Unspecified, {rodata});
    auto outcome = run(f);
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().pc, 3u);
    EXPECT_NE(outcome.result.error().region.find("read-only"), std::string::npos) << outcome.result.error().to_string();
    // The read before it saw the initial value: unchecked, the same program returns 42.
    auto f2 = load("r1 = map_value[.rodata] + 0 ll\nr0 = *(u64 *)(r1 + 0)\nexit", ProgramType::Unspecified, {rodata});
    auto unchecked = run(f2, {}, false);
    ASSERT_TRUE(unchecked.result);
    EXPECT_EQ(unchecked.result->return_value, 42u);
}

TEST(Interpreter, BudgetStopsAnEndlessLoop) {
    auto f = load("r0 = 0\nloop: r0 += 1\ngoto loop\nexit");
    auto outcome = run(f);
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().kind, FaultKind::BudgetExhausted);
}

TEST(Interpreter, RecursionStopsAtTheFrameLimit) {
    auto f = load("call f\nexit\nf: call f\nexit");
    auto outcome = run(f);
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().kind, FaultKind::CallDepthExceeded);
}

TEST(Interpreter, MapHelpersFromAProgram) {
    // counts[0] += 1 via lookup; then update key 1 with 7; return counts[0].
    auto counts = map_definition("counts", MapType::Array, 4, 8, 2);
    auto f = load(
        "*(u32 *)(r10 - 4) = 0\n"
        "r1 = map[counts] ll\n"
        "r2 = r10\n"
        "r2 += -4\n"
        "call bpf_map_lookup_elem\n"
        "if r0 == 0 goto out\n"
        "r1 = 1\n"
        "lock *(u64 *)(r0 + 0) += r1\n"
        "*(u32 *)(r10 - 4) = 1\n"
        "*(u64 *)(r10 - 16) = 7\n"
        "r1 = map[counts] ll\n"
        "r2 = r10\n"
        "r2 += -4\n"
        "r3 = r10\n"
        "r3 += -16\n"
        "r4 = 0\n"
        "call bpf_map_update_elem\n"
        "out: exit",
        ProgramType::Unspecified, {counts});
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(run(f).result);
    uint32_t key = 0;
    uint64_t value = 0;
    ASSERT_EQ(f.object->find_map("counts")->host_lookup(&key, &value), 0);
    EXPECT_EQ(value, 3u);
    key = 1;
    ASSERT_EQ(f.object->find_map("counts")->host_lookup(&key, &value), 0);
    EXPECT_EQ(value, 7u);
}

TEST(Interpreter, HelperGivenABadKeyPointerFaults) {
    auto counts = map_definition("counts", MapType::Hash, 4, 8, 2);
    auto f = load("r1 = map[counts] ll\nr2 = r10\nr2 += 8\ncall bpf_map_lookup_elem\nexit", ProgramType::Unspecified,
                  {counts});
    auto outcome = run(f);
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().kind, FaultKind::HelperViolation);
    EXPECT_EQ(outcome.result.error().pc, 4u);
    EXPECT_EQ(outcome.result.error().message, "map key");
}

TEST(Interpreter, TailCallsStopAfter33) {
    // Each run of the program counts itself, then tail-calls slot 0: itself.
    auto counter = map_definition("counter", MapType::Array, 4, 8, 1);
    auto jumps = map_definition("jumps", MapType::ProgArray, 4, 4, 1);
    auto f = load(
        "r6 = r1\n"
        "*(u32 *)(r10 - 4) = 0\n"
        "r1 = map[counter] ll\n"
        "r2 = r10\n"
        "r2 += -4\n"
        "call bpf_map_lookup_elem\n"
        "if r0 == 0 goto out\n"
        "r1 = 1\n"
        "lock *(u64 *)(r0 + 0) += r1\n"
        "r1 = r6\n"
        "r2 = map[jumps] ll\n"
        "r3 = 0\n"
        "call bpf_tail_call\n"
        "out: r0 = 9\n"
        "exit",
        ProgramType::Xdp, {counter, jumps});
    uint32_t slot = 0, program_id = f.program->id;
    ASSERT_EQ(f.object->find_map("jumps")->host_update(&slot, &program_id, UpdateAny), 0);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 9u);
    uint64_t runs = 0;
    ASSERT_EQ(f.object->find_map("counter")->host_lookup(&slot, &runs), 0);
    EXPECT_EQ(runs, 34u) << "the first run and 33 tail calls";
}

TEST(Interpreter, TracePrintkGoesToTheSink) {
    // "x=%d %s\n" on the stack, then trace_printk(fmt, 10, 5, fmt).
    auto f = load(
        "r1 = 0x0a7325206425 ll\n"  // "%d %s\n\0\0" little-endian
        "*(u64 *)(r10 - 8) = r1\n"
        "r1 = 0x3d78 ll\n"          // "x=" then zeros
        "*(u64 *)(r10 - 16) = r1\n"
        "*(u16 *)(r10 - 14) = 0x6425\n"  // "%d"
        "*(u64 *)(r10 - 24) = 0\n"
        "r1 = r10\n"
        "r1 += -16\n"
        "r2 = 5\n"
        "r3 = -3\n"
        "call bpf_trace_printk\n"
        "exit");
    auto outcome = run(f);
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    auto lines = f.object->trace().take();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "x=-3");
    EXPECT_EQ(outcome.result->return_value, 4u);
}

TEST(Interpreter, RingBufferRecordsFromAProgram) {
    auto events = map_definition("events", MapType::Ringbuf, 0, 0, 4096);
    auto f = load(
        "r1 = map[events] ll\n"
        "r2 = 8\n"
        "r3 = 0\n"
        "call bpf_ringbuf_reserve\n"
        "if r0 == 0 goto out\n"
        "r1 = 0x1122334455667788 ll\n"
        "*(u64 *)(r0 + 0) = r1\n"
        "r1 = r0\n"
        "r2 = 0\n"
        "call bpf_ringbuf_submit\n"
        "out: r0 = 0\n"
        "exit",
        ProgramType::Unspecified, {events});
    ASSERT_TRUE(run(f).result);
    ASSERT_TRUE(run(f).result);
    auto& ring = static_cast<RingBuffer&>(*f.object->find_map("events"));
    std::vector<uint64_t> records;
    ring.consume([&](std::span<const uint8_t> r) {
        uint64_t v;
        std::memcpy(&v, r.data(), 8);
        records.push_back(v);
    });
    EXPECT_EQ(records, (std::vector<uint64_t>{0x1122334455667788ULL, 0x1122334455667788ULL}));
}

TEST(Interpreter, ALeakedReservationIsAFaultAndTheRecordIsDiscarded) {
    auto events = map_definition("events", MapType::Ringbuf, 0, 0, 4096);
    auto f = load("r1 = map[events] ll\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve\nr0 = 0\nexit",
                  ProgramType::Unspecified, {events});
    auto outcome = run(f);
    ASSERT_FALSE(outcome.result);
    EXPECT_EQ(outcome.result.error().kind, FaultKind::LeakedReservation);
    auto& ring = static_cast<RingBuffer&>(*f.object->find_map("events"));
    EXPECT_EQ(ring.consume([](auto) {}), 0u);
    EXPECT_EQ(ring.available(), 0u) << "the consumer is not blocked by the leaked record";
}

TEST(Interpreter, ProbeReadReadsHostSuppliedMemoryAndFailsSafelyElsewhere) {
    RuntimeOptions options;
    options.environment.probe_memory.push_back(ProbeMemory{0xffff888000001000ULL, {1, 2, 3, 4, 5, 6, 7, 8}, false});
    // probe_read_kernel(fp-8, 8, task) then probe_read_kernel(fp-16, 8, 0x1000): r0 = first result + second value
    auto f = load(
        "r1 = r10\n"
        "r1 += -8\n"
        "r2 = 8\n"
        "r3 = 0xffff888000001000 ll\n"
        "call bpf_probe_read_kernel\n"
        "r6 = r0\n"
        "r1 = r10\n"
        "r1 += -16\n"
        "r2 = 8\n"
        "r3 = 0x1000\n"
        "call bpf_probe_read_kernel\n"
        "r7 = r0\n"
        "r0 = *(u64 *)(r10 - 8)\n"
        "r1 = *(u64 *)(r10 - 16)\n"
        "r0 += r1\n"
        "r0 += r6\n"
        "r0 += r7\n"
        "exit",
        ProgramType::Kprobe, {}, options);
    auto outcome = run(f);
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 0x0807060504030201ULL + 0 + 0 - EFAULT);
}

TEST(Interpreter, TaskHelpersComeFromTheEnvironment) {
    RuntimeOptions options;
    options.environment.task.pid = 7;
    options.environment.task.tgid = 6;
    options.environment.task.comm = "nginx";
    auto f = load(
        "r1 = r10\n"
        "r1 += -16\n"
        "r2 = 16\n"
        "call bpf_get_current_comm\n"
        "call bpf_get_current_pid_tgid\n"
        "r1 = *(u8 *)(r10 - 16)\n"  // 'n'
        "r0 += r1\n"
        "exit",
        ProgramType::Kprobe, {}, options);
    auto outcome = run(f);
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, (6ULL << 32 | 7) + 'n');
}

TEST(Interpreter, XdpAdjustHeadMovesDataAndTheResultShowsIt) {
    // Drop the first 14 bytes; then read the new first byte.
    auto f = load(
        "r6 = r1\n"
        "r2 = 14\n"
        "call bpf_xdp_adjust_head\n"
        "if r0 != 0 goto out\n"
        "r2 = *(u32 *)(r6 + 0)\n"
        "r3 = *(u32 *)(r6 + 4)\n"
        "r4 = r2\n"
        "r4 += 1\n"
        "if r4 > r3 goto out\n"
        "r0 = *(u8 *)(r2 + 0)\n"
        "out: exit",
        ProgramType::Xdp);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 14u);
    EXPECT_EQ(outcome.packet.size(), 46u);
    EXPECT_EQ(outcome.packet[0], 14u);
}

TEST(Interpreter, RedirectIsRecorded) {
    auto f = load("r1 = 3\nr2 = 0\ncall bpf_redirect\nexit", ProgramType::Xdp);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result);
    EXPECT_EQ(outcome.result->return_value, uint64_t(XDP_REDIRECT));
    ASSERT_TRUE(outcome.redirect);
    EXPECT_EQ(outcome.redirect->target, 3u);
}

TEST(Interpreter, RedirectMapOnlyRedirectsToAFilledSlot) {
    auto ports = map_definition("ports", MapType::Devmap, 4, 4, 4);
    // redirect_map(ports, key = r6, flags = XDP_PASS as the fallback action)
    auto f = load("r1 = map[ports] ll\nr2 = 1\nr3 = 2\ncall bpf_redirect_map\nexit", ProgramType::Xdp, {ports});
    auto empty = run(f, {.packet = frame(60)});
    ASSERT_TRUE(empty.result);
    EXPECT_EQ(empty.result->return_value, uint64_t(XDP_PASS)) << "an empty slot falls back to flags & 3";
    EXPECT_FALSE(empty.redirect);
    uint32_t key = 1, ifindex = 7;
    ASSERT_EQ(f.object->find_map("ports")->host_update(&key, &ifindex, UpdateAny), 0);
    auto filled = run(f, {.packet = frame(60)});
    ASSERT_TRUE(filled.result);
    EXPECT_EQ(filled.result->return_value, uint64_t(XDP_REDIRECT));
    ASSERT_TRUE(filled.redirect);
    EXPECT_EQ(filled.redirect->target, 1u);
    EXPECT_EQ(filled.redirect->map, f.object->find_map("ports"));
}

TEST(Interpreter, SkbLoadBytesAndStoreBytes) {
    // Copy packet[0..4) to the stack, store it at offset 4, return skb_load_bytes past the end.
    auto f = load(
        "r6 = r1\n"
        "r2 = 0\n"
        "r3 = r10\n"
        "r3 += -8\n"
        "r4 = 4\n"
        "call bpf_skb_load_bytes\n"
        "r1 = r6\n"
        "r2 = 4\n"
        "r3 = r10\n"
        "r3 += -8\n"
        "r4 = 4\n"
        "r5 = 0\n"
        "call bpf_skb_store_bytes\n"
        "r1 = r6\n"
        "r2 = 58\n"
        "r3 = r10\n"
        "r3 += -8\n"
        "r4 = 4\n"
        "call bpf_skb_load_bytes\n"
        "exit",
        ProgramType::SchedCls);
    auto outcome = run(f, {.packet = frame(60)});
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(int64_t(outcome.result->return_value), -EFAULT);
    EXPECT_EQ(outcome.packet[4], 0u);
    EXPECT_EQ(outcome.packet[7], 3u);
}

TEST(Interpreter, BpfLoopCallsBackIntoTheProgram) {
    // bpf_loop(10, cb, fp-8, 0) with cb adding its index to *ctx; returns iterations + sum.
    auto f = load(
        "*(u64 *)(r10 - 8) = 0\n"
        "r1 = 10\n"
        "r2 = func[cb] ll\n"
        "r3 = r10\n"
        "r3 += -8\n"
        "r4 = 0\n"
        "call bpf_loop\n"
        "r1 = *(u64 *)(r10 - 8)\n"
        "r0 += r1\n"
        "exit\n"
        "cb: r3 = *(u64 *)(r2 + 0)\n"
        "r3 += r1\n"
        "*(u64 *)(r2 + 0) = r3\n"
        "r0 = 0\n"
        "exit");
    auto outcome = run(f);
    ASSERT_TRUE(outcome.result) << outcome.result.error().to_string();
    EXPECT_EQ(outcome.result->return_value, 10u + 45u);
}

TEST(Interpreter, LoadingFailsForAHelperTheRuntimeLacks) {
    auto code = assemble_or_die("call 53\nexit");  // bpf_sock_map_update: sockets are not modelled
    auto object = load_or_die(make_object(code));
    auto program = object->program("test");
    ASSERT_FALSE(program);
    EXPECT_NE(program.error().message.find("bpf_sock_map_update"), std::string::npos) << program.error().message;
    EXPECT_EQ(program.error().pc, 0u);
}

TEST(Interpreter, CheckedAndUncheckedAgreeOnAWellBehavedProgram) {
    // The same well-behaved program gives the same r0 in both modes.
    auto f = load("r0 = 5\nr1 = r10\nr1 += -8\n*(u64 *)(r1 + 0) = r0\nr0 = *(u64 *)(r10 - 8)\nexit");
    auto checked = run(f, {}, true);
    auto unchecked = run(f, {}, false);
    ASSERT_TRUE(checked.result && unchecked.result);
    EXPECT_EQ(checked.result->return_value, unchecked.result->return_value);
}

}  // namespace
}  // namespace bpfvet::runtime::test
