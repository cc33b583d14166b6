// bpf_spin_lock, bpf_for_each_map_elem and timers, against the rules of the
// Linux 6.18 verifier (process_spin_lock, set_map_elem_callback_state,
// set_timer_callback_state, process_timer_func, check_map_access).
#include "check_program.hpp"

#include <fmt/format.h>

namespace bpfvet::analyzer::test {
namespace {

constexpr auto Tc = ir::ProgramType::SchedCls;

// struct { u64 packets; struct bpf_spin_lock lock; u32 pad; u64 bytes; } or
// the same with a struct bpf_timer (16 bytes) at 8: `kind` at offset 8.
ir::MapDefinition map_with(std::string name, ir::SpecialField::Kind kind, ir::MapType type = ir::MapType::Hash) {
    ir::MapDefinition map = map_of(std::move(name), 32, type);
    map.btf_key_type = 1;
    map.btf_value_type = 2;
    map.special_fields.push_back({kind, 8, kind == ir::SpecialField::Kind::Timer ? 16u : 4u});
    return map;
}
ir::MapDefinition locked(std::string name = "stats") { return map_with(std::move(name), ir::SpecialField::Kind::SpinLock); }

// r6 = lookup(map, &0) tested against null, then `body`.
std::string with_value(std::string_view map, std::string_view body) {
    return fmt::format(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[{}] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r6 = r0
{}
    out:
        r0 = 0
        exit
)",
                       map, body);
}

constexpr std::string_view lock_r6 = "r1 = r6\nr1 += 8\ncall bpf_spin_lock\n";
constexpr std::string_view unlock_r6 = "r1 = r6\nr1 += 8\ncall bpf_spin_unlock\n";

TEST(SpinLock, LockedUpdateIsAccepted) {
    auto ok = check(with_value("stats", fmt::format("{}r1 = *(u64 *)(r6 + 0)\nr1 += 1\n*(u64 *)(r6 + 0) = r1\n"
                                                    "*(u64 *)(r6 + 16) = r1\n{}",
                                                    lock_r6, unlock_r6)),
                    Tc, {locked()});
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(SpinLock, MisuseIsRejectedWithTheKernelsReasons) {
    auto expect_lock_error = [](std::string body, std::string_view needle, std::vector<ir::MapDefinition> maps = {locked()}) {
        auto checked = check(with_value("stats", body), Tc, std::move(maps));
        EXPECT_TRUE(checked.rejected_with("spin-lock")) << body << "\n" << checked.codes();
        EXPECT_NE(checked.codes().find(needle), std::string::npos) << checked.codes();
    };
    // Exit with the lock held.
    expect_lock_error(std::string(lock_r6), "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock");
    // A helper call inside the critical section.
    expect_lock_error(fmt::format("{}call bpf_ktime_get_ns\n{}", lock_r6, unlock_r6),
                      "function calls are not allowed while holding a lock");
    // Not the lock's offset.
    expect_lock_error("r1 = r6\nr1 += 4\ncall bpf_spin_lock\n", "doesn't point to 'struct bpf_spin_lock' that is at 8");
    // Two locks: the second bpf_spin_lock is a call inside the critical section.
    expect_lock_error(fmt::format("{}{}", lock_r6, lock_r6), "function calls are not allowed while holding a lock");
    // Unlock without lock.
    expect_lock_error(std::string(unlock_r6), "bpf_spin_unlock without taking a lock");
    // The lock word read directly.
    expect_lock_error("r0 = *(u32 *)(r6 + 8)\n", "bpf_spin_lock cannot be accessed directly by load/store");
    // A map without BTF.
    ir::MapDefinition untyped = locked();
    untyped.btf_value_type = 0;
    expect_lock_error(std::string(lock_r6), "has to have BTF in order to use bpf_spin_lock", {untyped});
    // A value without a lock.
    ir::MapDefinition plain = locked();
    plain.special_fields.clear();
    expect_lock_error(std::string(lock_r6), "has no valid bpf_spin_lock", {plain});
}

TEST(SpinLock, UnlockMustBeTheLockTaken) {
    // Two lookups of the same map: two elements, two locks (the kernel tells them apart by id).
    auto other = check(with_value("stats", fmt::format(R"(
        r1 = 1
        *(u32 *)(r10 - 8) = r1
        r2 = r10
        r2 += -8
        r1 = map[stats] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r7 = r0
        {}
        r1 = r7
        r1 += 8
        call bpf_spin_unlock
)",
                                                       lock_r6)),
                       Tc, {locked()});
    EXPECT_TRUE(other.rejected_with("spin-lock")) << other.codes();
    EXPECT_NE(other.codes().find("bpf_spin_unlock of different lock"), std::string::npos) << other.codes();
    // A copy of the same pointer is the same lock.
    auto copy = check(with_value("stats", fmt::format("{}r7 = r6\nr1 = r7\nr1 += 8\ncall bpf_spin_unlock\n", lock_r6)),
                      Tc, {locked()});
    EXPECT_TRUE(copy.result.accepted) << copy.codes();
}

TEST(SpinLock, TracingAndSocketFilterProgramsCannotUseLockedMaps) {
    auto kprobe = check(with_value("stats", "r0 = *(u64 *)(r6 + 0)\n"), ir::ProgramType::Kprobe, {locked()});
    EXPECT_TRUE(kprobe.rejected_with("spin-lock")) << kprobe.codes();
    EXPECT_NE(kprobe.codes().find("tracing progs cannot use bpf_spin_lock"), std::string::npos) << kprobe.codes();
    auto socket = check(with_value("stats", "r0 = *(u64 *)(r6 + 0)\n"), Socket, {locked()});
    EXPECT_TRUE(socket.rejected_with("spin-lock")) << socket.codes();
}

// bpf_for_each_map_elem(map, cb, fp - 8, 0), cb(map, key, value, ctx) = `callback`.
std::string walk(std::string_view callback) {
    return fmt::format(R"(
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = map[ports] ll
        r2 = func[cb] ll
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_for_each_map_elem
        r0 = *(u64 *)(r10 - 8)
        exit
    cb:
{}
)",
                       callback);
}

TEST(ForEachMapElem, CallbackGetsKeyValueAndContext) {
    const std::vector<ir::MapDefinition> ports{map_of("ports", 8, ir::MapType::Hash)};
    auto ok = check(walk(R"(
        r5 = *(u32 *)(r2 + 0)
        r0 = *(u64 *)(r3 + 0)
        r0 += r5
        *(u64 *)(r3 + 0) = r0
        r1 = *(u64 *)(r4 + 0)
        r1 += r0
        *(u64 *)(r4 + 0) = r1
        r0 = 0
        exit)"),
                    Tc, ports);
    EXPECT_TRUE(ok.result.accepted) << ok.codes();

    auto key_write = check(walk("r1 = 0\n*(u32 *)(r2 + 0) = r1\nr0 = 0\nexit"), Tc, ports);
    EXPECT_TRUE(key_write.rejected_with("read-only-write")) << key_write.codes();
    auto past_key = check(walk("r0 = *(u32 *)(r2 + 4)\nr0 = 0\nexit"), Tc, ports);
    EXPECT_TRUE(past_key.rejected_with("memory-access")) << past_key.codes();
    auto past_value = check(walk("r0 = *(u64 *)(r3 + 8)\nr0 = 0\nexit"), Tc, ports);
    EXPECT_TRUE(past_value.rejected_with("map-value-out-of-bounds")) << past_value.codes();
    auto bad_return = check(walk("r0 = *(u32 *)(r2 + 0)\nexit"), Tc, ports);
    EXPECT_TRUE(bad_return.rejected_with("return-value")) << bad_return.codes();
    auto stop = check(walk("r0 = 1\nexit"), Tc, ports);
    EXPECT_TRUE(stop.result.accepted) << stop.codes();
    auto ring = check(walk("r0 = 0\nexit"), Tc, {map_of("ports", 8, ir::MapType::Ringbuf)});
    EXPECT_TRUE(ring.rejected_with("helper-argument")) << ring.codes();
}

// lookup(windows, &0); bpf_timer_init(&v->timer, init_map, 1); set_callback(cb); start.
std::string arm_timer(std::string_view init_map, int timer_offset, std::string_view callback) {
    return fmt::format(R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[windows] ll
        call bpf_map_lookup_elem
        if r0 == 0 goto out
        r6 = r0
        r6 += {}
        r1 = r6
        r2 = map[{}] ll
        r3 = 1
        call bpf_timer_init
        r1 = r6
        r2 = func[cb] ll
        call bpf_timer_set_callback
        r1 = r6
        r2 = 1000
        r3 = 0
        call bpf_timer_start
    out:
        r0 = 0
        exit
    cb:
{}
)",
                       timer_offset, init_map, callback);
}

TEST(Timer, ArmedTimerWithItsOwnMapIsAccepted) {
    const std::vector<ir::MapDefinition> maps{map_with("windows", ir::SpecialField::Kind::Timer, ir::MapType::Array),
                                              map_with("others", ir::SpecialField::Kind::Timer, ir::MapType::Array)};
    const std::string_view reset = "r0 = 0\n*(u64 *)(r3 + 0) = r0\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit";
    auto ok = check(arm_timer("windows", 8, reset), Tc, maps, {}, "GPL");
    EXPECT_TRUE(ok.result.accepted) << ok.codes();

    auto other_map = check(arm_timer("others", 8, reset), Tc, maps, {}, "GPL");
    EXPECT_TRUE(other_map.rejected_with("helper-argument")) << other_map.codes();
    EXPECT_NE(other_map.codes().find("doesn't match map pointer in R2"), std::string::npos) << other_map.codes();
    auto wrong_offset = check(arm_timer("windows", 16, reset), Tc, maps, {}, "GPL");
    EXPECT_TRUE(wrong_offset.rejected_with("helper-argument")) << wrong_offset.codes();
    EXPECT_NE(wrong_offset.codes().find("doesn't point to 'struct bpf_timer' that is at 8"), std::string::npos)
        << wrong_offset.codes();
    auto returns_one = check(arm_timer("windows", 8, "r0 = 1\nexit"), Tc, maps, {}, "GPL");
    EXPECT_TRUE(returns_one.rejected_with("return-value")) << returns_one.codes();
    // The timer itself is off limits to loads and stores, in the callback too.
    auto touches_timer = check(arm_timer("windows", 8, "r0 = *(u64 *)(r3 + 8)\nr0 = 0\nexit"), Tc, maps, {}, "GPL");
    EXPECT_TRUE(touches_timer.rejected_with("memory-access")) << touches_timer.codes();
    EXPECT_NE(touches_timer.codes().find("bpf_timer cannot be accessed directly"), std::string::npos)
        << touches_timer.codes();
    auto kprobe = check(arm_timer("windows", 8, reset), ir::ProgramType::Kprobe, maps, {}, "GPL");
    EXPECT_TRUE(kprobe.rejected_with("helper-not-allowed")) << kprobe.codes();
}

// .rodata holding "rm\0%u:%u\0%u:%u:%u\0" then 2 bytes without a NUL.
ir::MapDefinition rodata_strings() {
    ir::MapDefinition rodata = map_of(".rodata", 0);
    rodata.is_global_data = true;
    rodata.read_only = true;
    const std::string text("rm\0%u:%u\0%u:%u:%u\0ab", 20);
    rodata.initial_value.assign(text.begin(), text.end());
    rodata.value_size = uint32_t(rodata.initial_value.size());
    return rodata;
}

// bpf_strncmp(fp-16, 16, .rodata + offset) after zeroing fp-16.
std::string compare_name(std::string_view map, int offset) {
    return fmt::format(R"(
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        *(u64 *)(r10 - 16) = r1
        r1 = r10
        r1 += -16
        r2 = 16
        r3 = map_value[{}] + {} ll
        call bpf_strncmp
        exit
)",
                       map, offset);
}

TEST(ConstString, StrncmpReadsANulTerminatedStringOfFrozenRodata) {
    auto ok = check(compare_name(".rodata", 0), Socket, {rodata_strings()});
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto unterminated = check(compare_name(".rodata", 19), Socket, {rodata_strings()});
    EXPECT_TRUE(unterminated.rejected_with("helper-argument")) << unterminated.codes();
    EXPECT_NE(unterminated.codes().find("not zero-terminated"), std::string::npos) << unterminated.codes();
    ir::MapDefinition data = rodata_strings();
    data.name = ".data";
    data.read_only = false;
    auto writable = check(compare_name(".data", 0), Socket, {data});
    EXPECT_TRUE(writable.rejected_with("helper-argument")) << writable.codes();
    EXPECT_NE(writable.codes().find("does not point to a readonly map"), std::string::npos) << writable.codes();
    auto stack = check("r1 = r10\nr1 += -8\nr2 = 0\n*(u64 *)(r10 - 8) = r2\nr2 = 8\nr3 = r1\ncall bpf_strncmp\nexit",
                       Socket);
    EXPECT_TRUE(stack.rejected_with("helper-argument")) << stack.codes();
}

// bpf_snprintf(fp-32, 16, .rodata + format, fp-48, data_len) with two u64 arguments at fp-48.
std::string format_two(int format, int data_len) {
    return fmt::format(R"(
        r1 = 7
        *(u64 *)(r10 - 48) = r1
        *(u64 *)(r10 - 40) = r1
        r1 = r10
        r1 += -32
        r2 = 16
        r3 = map_value[.rodata] + {} ll
        r4 = r10
        r4 += -48
        r5 = {}
        call bpf_snprintf
        r0 = 0
        exit
)",
                       format, data_len);
}

TEST(ConstString, SnprintfFormatMustMatchItsArguments) {
    auto ok = check(format_two(3, 16), Socket, {rodata_strings()}, {}, "GPL");
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto one_argument = check(format_two(3, 8), Socket, {rodata_strings()}, {}, "GPL");
    EXPECT_TRUE(one_argument.rejected_with("helper-argument")) << one_argument.codes();
    auto missing = check(format_two(9, 16), Socket, {rodata_strings()}, {}, "GPL");
    EXPECT_TRUE(missing.rejected_with("helper-argument")) << missing.codes();
    EXPECT_NE(missing.codes().find("Invalid format string"), std::string::npos) << missing.codes();
    auto odd = check(format_two(3, 12), Socket, {rodata_strings()}, {}, "GPL");
    EXPECT_TRUE(odd.rejected_with("helper-argument")) << odd.codes();
}

// sk = bpf_sk_lookup_tcp(...); full = bpf_sk_fullsock(sk); then `rest` with
// r7 = sk (referenced) and r8 = full (maybe null).
std::string fullsock_of_lookup(std::string_view rest) {
    return fmt::format(R"(
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
        if r0 == 0 goto out
        r7 = r0
        r1 = r0
        call bpf_sk_fullsock
        r8 = r0
{}
    out:
        r0 = 0
        exit
)",
                       rest);
}

TEST(SocketCasts, FullsockResultEndsWithTheReleasedSocket) {
    auto read_then_release = check(fullsock_of_lookup(R"(
        r9 = 0
        if r8 == 0 goto release
        r9 = *(u32 *)(r8 + 4)
    release:
        r1 = r7
        call bpf_sk_release
        r0 = r9
        exit)"),
                                   Tc);
    EXPECT_TRUE(read_then_release.result.accepted) << read_then_release.codes();
    auto release_then_read = check(fullsock_of_lookup(R"(
        r1 = r7
        call bpf_sk_release
        if r8 == 0 goto out
        r0 = *(u32 *)(r8 + 4)
        exit)"),
                                   Tc);
    EXPECT_TRUE(release_then_read.rejected_with("memory-access")) << release_then_read.codes();
}

}  // namespace
}  // namespace bpfvet::analyzer::test
