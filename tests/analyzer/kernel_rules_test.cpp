// Kernel rules that were safety holes (issue 15): each test has the program
// the kernel refuses (with its log line) and a safe twin it accepts. The
// kernel's verdicts were taken from Linux 6.18 loading the same code with
// libbpf (BTF and func_info included).
#include "analyzer/context_argument.hpp"
#include "check_program.hpp"

#include "ir/elf_loader.hpp"

#include <fmt/format.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

namespace bpfvet::analyzer::test {
namespace {

constexpr auto Tc = ir::ProgramType::SchedCls;
constexpr auto Tracepoint = ir::ProgramType::Tracepoint;

// As check(), with the assembled program adjusted first (BTF facts the
// assembler cannot express: func_info, global functions and their prototypes).
Checked check_adjusted(std::string_view text, ir::ProgramType type, std::vector<ir::MapDefinition> maps,
                       const std::function<void(ir::Program&)>& adjust) {
    return check(text, type, std::move(maps), {}, {}, adjust);
}

// Loaded with BTF: every function has func_info.
void with_function_info(ir::Program& program) { program.function_info = true; }

ir::FunctionParameter pointer_to(uint32_t size, std::string name) {
    ir::FunctionParameter parameter;
    parameter.kind = ir::FunctionParameter::Kind::Pointer;
    parameter.pointee_size = size;
    parameter.pointee_name = name;
    parameter.pointee_struct = std::move(name);
    parameter.pointee_kind = ir::FunctionParameter::Pointee::Struct;
    return parameter;
}

ir::FunctionParameter integer() { return ir::FunctionParameter{}; }

// Makes the function named `name` global with these parameters.
std::function<void(ir::Program&)> global(std::string name, std::vector<ir::FunctionParameter> parameters) {
    return [name = std::move(name), parameters = std::move(parameters)](ir::Program& program) {
        program.function_info = true;
        for (auto& function : program.functions) {
            if (function.name != name) continue;
            function.global = true;
            function.parameters = parameters;
        }
    };
}

ir::MapDefinition program_array() {
    ir::MapDefinition map = map_of("jumps", 4, ir::MapType::ProgArray);
    map.max_entries = 4;
    return map;
}

// ---------------------------------------------------------------- tracepoint context

TEST(KernelRules, TracepointRecordIsReadableOnlyFromByteEight) {
    // Kernel: "invalid bpf_context access off=0 size=4": the common header is not the program's.
    auto header = check("r0 = *(u32 *)(r1 + 0)\nr0 = 0\nexit", Tracepoint);
    EXPECT_TRUE(header.rejected_with("context-access")) << header.codes();
    auto first = check("r0 = *(u64 *)(r1 + 8)\nr0 = 0\nexit", Tracepoint);
    EXPECT_TRUE(first.result.accepted) << first.codes();
    // The kernel allows up to PERF_MAX_TRACE_SIZE (8192) bytes, not 2048.
    auto last = check("r0 = *(u64 *)(r1 + 8184)\nr0 = 0\nexit", Tracepoint);
    EXPECT_TRUE(last.result.accepted) << last.codes();
    auto past = check("r0 = *(u64 *)(r1 + 8192)\nr0 = 0\nexit", Tracepoint);
    EXPECT_TRUE(past.rejected_with("context-access")) << past.codes();
}

// ---------------------------------------------------------------- sign-extending context loads

TEST(KernelRules, SignExtendingLoadOfAPointerFieldIsRefused) {
    // Kernel: "invalid bpf_context access off=0 size=4" for xdp_md.data, off=76 for __sk_buff.data.
    auto data = check("r2 = *(s32 *)(r1 + 0)\nr0 = 2\nexit", Xdp);
    EXPECT_TRUE(data.rejected_with("context-access")) << data.codes();
    auto skb_data = check("r2 = *(s32 *)(r1 + 76)\nr0 = 0\nexit", Tc);
    EXPECT_TRUE(skb_data.rejected_with("context-access")) << skb_data.codes();
    // Number fields may be sign-extended (the kernel accepts both).
    auto ifindex = check("r2 = *(s32 *)(r1 + 12)\nr0 = 2\nexit", Xdp);
    EXPECT_TRUE(ifindex.result.accepted) << ifindex.codes();
    auto len = check("r2 = *(s32 *)(r1 + 0)\nr2 = *(s16 *)(r1 + 4)\nr0 = 0\nexit", Tc);
    EXPECT_TRUE(len.result.accepted) << len.codes();
}

// ---------------------------------------------------------------- __sk_buff->sk

TEST(KernelRules, SkbSocketIsASockCommonUntilFullsock) {
    constexpr std::string_view read_field = R"(
        r2 = *(u64 *)(r1 + 168)
        if r2 == 0 goto out
        r0 = *(u32 *)(r2 + {})
    out:
        r0 = 0
        exit)";
    // Kernel: "invalid sock_common access off=8 size=4" (type), 12 (protocol).
    for (int offset : {8, 12, 16, 20}) {
        auto full_field = check(fmt::format(fmt::runtime(read_field), offset), Tc);
        EXPECT_TRUE(full_field.rejected_with("memory-access")) << offset << "\n" << full_field.codes();
    }
    // family and the addresses are sock_common's own.
    for (int offset : {4, 24, 48}) {
        auto common_field = check(fmt::format(fmt::runtime(read_field), offset), Tc);
        EXPECT_TRUE(common_field.result.accepted) << offset << "\n" << common_field.codes();
    }
    // After bpf_sk_fullsock and a null check, the full socket's fields are readable.
    auto fullsock = check(R"(
        r1 = *(u64 *)(r1 + 168)
        if r1 == 0 goto out
        call bpf_sk_fullsock
        if r0 == 0 goto out
        r0 = *(u32 *)(r0 + 8)
    out:
        r0 = 0
        exit)",
                          Tc);
    EXPECT_TRUE(fullsock.result.accepted) << fullsock.codes();
    auto unchecked = check(R"(
        r1 = *(u64 *)(r1 + 168)
        if r1 == 0 goto out
        call bpf_sk_fullsock
        r0 = *(u32 *)(r0 + 8)
    out:
        r0 = 0
        exit)",
                           Tc);
    EXPECT_TRUE(unchecked.rejected_with("null-dereference")) << unchecked.codes();
}

// ---------------------------------------------------------------- tail calls and packet pointers

// The caller proves one packet byte, calls `sub`, then reads the byte.
constexpr std::string_view read_after_call = R"(
    main:
        r6 = r1
        r7 = *(u32 *)(r6 + 76)
        r8 = *(u32 *)(r6 + 80)
        r1 = r7
        r1 += 1
        if r1 > r8 goto out
        r1 = r6
        call sub
        r0 = *(u8 *)(r7 + 0)
    out:
        r0 = 0
        exit
    sub:
        r6 = r1
{}
        r0 = 0
        exit)";

TEST(KernelRules, SubprogramThatMayTailCallInvalidatesTheCallersPacketPointers) {
    // Kernel: "R7 invalid mem access 'scalar'" at the read after the call.
    auto tail = check_adjusted(fmt::format(fmt::runtime(read_after_call), R"(
        r1 = r6
        r2 = map[jumps] ll
        r3 = 0
        call bpf_tail_call)"),
                               Tc, {program_array()}, with_function_info);
    EXPECT_TRUE(tail.rejected_with("memory-access")) << tail.codes();
    // The same subprogram without the tail call keeps the caller's pointers.
    auto plain = check_adjusted(fmt::format(fmt::runtime(read_after_call), "        call bpf_get_prandom_u32"), Tc,
                                {program_array()}, with_function_info);
    EXPECT_TRUE(plain.result.accepted) << plain.codes();
    // A tail call that falls through in the entry function leaves them valid (the kernel accepts).
    auto in_main = check(R"(
        r6 = r1
        r7 = *(u32 *)(r6 + 76)
        r8 = *(u32 *)(r6 + 80)
        r1 = r7
        r1 += 1
        if r1 > r8 goto out
        r1 = r6
        r2 = map[jumps] ll
        r3 = 0
        call bpf_tail_call
        r0 = *(u8 *)(r7 + 0)
    out:
        r0 = 0
        exit)",
                         Tc, {program_array()});
    EXPECT_TRUE(in_main.result.accepted) << in_main.codes();
}

TEST(KernelRules, TailCallsAndLegacyLoadsInSubprogramsNeedBtf) {
    // Kernel, loading without func_info: "tail_call is not allowed in subprogs without BTF".
    auto tail = check(fmt::format(fmt::runtime(read_after_call), R"(
        r1 = r6
        r2 = map[jumps] ll
        r3 = 0
        call bpf_tail_call)"),
                      Tc, {program_array()});
    EXPECT_TRUE(tail.rejected_with("invalid-instruction")) << tail.codes();
    // "LD_ABS is not allowed in subprogs without BTF".
    auto legacy = check(fmt::format(fmt::runtime(read_after_call), "        r0 = *(u8 *)skb[20]"), Tc);
    EXPECT_TRUE(legacy.rejected_with("invalid-instruction")) << legacy.codes();
}

// ---------------------------------------------------------------- LD_ABS leaving a subprogram

// `sub` returns 5 when its legacy load succeeds; a failing load returns 0 from it.
constexpr std::string_view legacy_load_in_subprogram = R"(
    main:
        r6 = r1
        call sub
{}
        if r0 == 5 goto out
        r1 = 0
        r0 = *(u64 *)(r1 + 0)
    out:
        r0 = 0
        exit
    sub:
        r6 = r1
        r0 = *(u8 *)skb[1000]
        r0 = 5
        exit)";

TEST(KernelRules, FailingLegacyLoadReturnsZeroToTheCaller) {
    // Kernel: the failing path returns with "R0=0" and "R1 invalid mem access 'scalar'".
    auto bad = check_adjusted(fmt::format(fmt::runtime(legacy_load_in_subprogram), ""), Socket, {},
                              with_function_info);
    EXPECT_TRUE(bad.rejected_with("memory-access")) << bad.codes();
    // The caller that also handles 0 is safe.
    auto safe = check_adjusted(fmt::format(fmt::runtime(legacy_load_in_subprogram), "        if r0 == 0 goto out"),
                               Socket, {}, with_function_info);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
}

TEST(KernelRules, LegacyLoadGivesAnUnknownNumberAsTheKernelSays) {
    // check_ld_abs: mark_reg_unknown(r0), although at most 4 bytes are loaded.
    // The kernel explores the path where the byte exceeds 255 and refuses the
    // dereference there (kernel differential seed 2188: "R1 invalid mem access 'scalar'").
    constexpr std::string_view program = R"(
        r6 = r1
        r0 = *({} *)skb[{}]
        if r0 <= {} goto out
        r1 = 0
        r0 = *(u64 *)(r1 + 0)
    out:
        r0 = 0
        exit)";
    // (A u32 load cannot be told apart this way: an immediate of 0xffffffff is -1, all of u64.)
    for (auto [width, limit] : {std::pair{"u8", 255u}, {"u16", 65535u}}) {
        auto loaded = check(fmt::format(fmt::runtime(program), width, 4, limit), Socket);
        EXPECT_TRUE(loaded.rejected_with("memory-access")) << width << ": " << loaded.codes();
    }
}

TEST(KernelRules, LegacyLoadWhileHoldingAReferenceIsRefused) {
    // Kernel: "BPF_LD_[ABS|IND] would lead to reference leak".
    constexpr std::string_view program = R"(
        r6 = r1
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        *(u64 *)(r10 - 16) = r1
        *(u64 *)(r10 - 24) = r1
        *(u64 *)(r10 - 32) = r1
        *(u64 *)(r10 - 40) = r1
        r1 = r6
        r2 = r10
        r2 += -40
        r3 = 12
        r4 = -1
        r5 = 0
        call bpf_sk_lookup_tcp
        if r0 == 0 goto out
        r7 = r0
{}
        r1 = r7
        call bpf_sk_release
    out:
        r0 = 0
        exit)";
    auto bad = check(fmt::format(fmt::runtime(program), "        r0 = *(u8 *)skb[0]"), Tc);
    EXPECT_TRUE(bad.rejected_with("unreleased-reference")) << bad.codes();
    auto safe = check(fmt::format(fmt::runtime(program), ""), Tc);
    EXPECT_TRUE(safe.result.accepted) << safe.codes();
}

// ---------------------------------------------------------------- fidelity: 32-bit null checks, shifts

TEST(KernelRules, ThirtyTwoBitNullCheckDoesNotProveAPointerNotNull) {
    constexpr std::string_view lookup = R"(
        r1 = 0
        *(u32 *)(r10 - 4) = r1
        r2 = r10
        r2 += -4
        r1 = map[values] ll
        call bpf_map_lookup_elem
        if {} == 0 goto out
        r0 = *(u64 *)(r0 + 0)
    out:
        r0 = 2
        exit)";
    const std::vector<ir::MapDefinition> maps{map_of("values", 8, ir::MapType::Hash)};
    // Kernel: "R0 invalid mem access 'map_value_or_null'" after `if w0 == 0`.
    auto half = check(fmt::format(fmt::runtime(lookup), "w0"), Xdp, maps);
    EXPECT_TRUE(half.rejected_with("null-dereference")) << half.codes();
    auto full = check(fmt::format(fmt::runtime(lookup), "r0"), Xdp, maps);
    EXPECT_TRUE(full.result.accepted) << full.codes();
}

TEST(KernelRules, EqualToANonNullPointerIsNotNull) {
    // Two lookups; r6 is tested, then compared with r7 (selftest null_ptr_to_map_value):
    // where r6 == r7, r7 is not null either (the kernel's check_cond_jmp_op).
    constexpr std::string_view two_lookups = R"(
        r1 = 0
        *(u32 *)(r10 - 8) = r1
        r1 = map[values] ll
        r2 = r10
        r2 += -8
        call bpf_map_lookup_elem
        r6 = r0
        r1 = map[values] ll
        r2 = r10
        r2 += -8
        call bpf_map_lookup_elem
        r7 = r0
        if r6 == 0 goto out
        {}
        r0 = *(u32 *)(r7 + 0)
    out:
        r0 = 2
        exit)";
    const std::vector<ir::MapDefinition> maps{map_of("values", 8, ir::MapType::Hash)};
    auto equal = check(fmt::format(fmt::runtime(two_lookups), "if r6 != r7 goto out"), Xdp, maps);
    EXPECT_TRUE(equal.result.accepted) << equal.codes();
    // Kernel: "R7 invalid mem access 'map_value_or_null'" on the unequal side...
    auto unequal = check(fmt::format(fmt::runtime(two_lookups), "if r6 == r7 goto out"), Xdp, maps);
    EXPECT_TRUE(unequal.rejected_with("null-dereference")) << unequal.codes();
    // ...and a 32-bit comparison teaches nothing.
    auto half = check(fmt::format(fmt::runtime(two_lookups), "if w6 != w7 goto out"), Xdp, maps);
    EXPECT_TRUE(half.rejected_with("null-dereference")) << half.codes();
}

TEST(KernelRules, APointerIsSpilledOnlyWhole) {
    // Found by the kernel differential (generated seed 6109): a 4-byte store of
    // the stack pointer at a fixed offset; Linux 6.18, as root: "invalid size
    // of register spill". The whole 8-byte spill is accepted.
    auto narrow = check("r2 = r10\n *(u32 *)(r10 - 8) = r2\n r0 = 0\n exit", Socket);
    EXPECT_TRUE(narrow.rejected_with("memory-access")) << narrow.codes();
    auto whole = check("r2 = r10\n *(u64 *)(r10 - 8) = r2\n r0 = 0\n exit", Socket);
    EXPECT_TRUE(whole.result.accepted) << whole.codes();
}

TEST(KernelRules, ThirtyTwoBitPacketComparisonProvesNoRange) {
    constexpr std::string_view program = R"(
        r2 = *(u32 *)(r1 + 0)
        r3 = *(u32 *)(r1 + 4)
        r4 = r2
        r4 += 14
        if {} > {} goto out
        r0 = *(u8 *)(r2 + 0)
    out:
        r0 = 2
        exit)";
    auto half = check(fmt::format(fmt::runtime(program), "w4", "w3"), Xdp);
    EXPECT_TRUE(half.rejected_with("packet-out-of-bounds")) << half.codes();
    auto full = check(fmt::format(fmt::runtime(program), "r4", "r3"), Xdp);
    EXPECT_TRUE(full.result.accepted) << full.codes();
}

TEST(KernelRules, NullCheckNeedsTheImmediateZero) {
    // `if r0 != r7` with r0 known 0 is no null check of r7 for the kernel:
    // "R7 invalid mem access 'sock_or_null'" (selftest verifier_jeq_infer_not_null).
    constexpr std::string_view program = R"(
        r6 = *(u64 *)(r1 + 168)
        if r6 == 0 goto out
        r1 = r6
        call bpf_sk_fullsock
        r7 = r0
        r0 = 0
        if {} goto out
        r0 = *(u32 *)(r7 + 4)
    out:
        r0 = 0
        exit)";
    auto by_register = check(fmt::format(fmt::runtime(program), "r7 == r0"), ir::ProgramType::CgroupSkb);
    EXPECT_TRUE(by_register.rejected_with("null-dereference")) << by_register.codes();
    auto by_immediate = check(fmt::format(fmt::runtime(program), "r7 == 0"), ir::ProgramType::CgroupSkb);
    EXPECT_TRUE(by_immediate.result.accepted) << by_immediate.codes();
}

TEST(KernelRules, FreshPacketStartHasNoRangeYet) {
    // r2 = data; check 14 bytes; r5 = data again: the kernel's r5 has r=0
    // ("R5 offset is outside of the packet"), while r2 keeps its range.
    constexpr std::string_view program = R"(
        r2 = *(u32 *)(r1 + 0)
        r3 = *(u32 *)(r1 + 4)
        r4 = r2
        r4 += 14
        if r4 > r3 goto out
        r5 = *(u32 *)(r1 + 0)
{}
    out:
        r0 = 2
        exit)";
    auto fresh = check(fmt::format(fmt::runtime(program), "        r0 = *(u8 *)(r5 + 0)"), Xdp);
    EXPECT_TRUE(fresh.rejected_with("packet-out-of-bounds")) << fresh.codes();
    auto old = check(fmt::format(fmt::runtime(program), "        r0 = *(u8 *)(r2 + 13)"), Xdp);
    EXPECT_TRUE(old.result.accepted) << old.codes();
    // A check through the fresh pointer proves bytes for the older one too (the kernel accepts).
    auto both = check(fmt::format(fmt::runtime(program), R"(
        r6 = r5
        r6 += 20
        if r6 > r3 goto out
        r0 = *(u8 *)(r2 + 19)
        r0 = *(u8 *)(r5 + 19))"),
                      Xdp);
    EXPECT_TRUE(both.result.accepted) << both.codes();
}

TEST(KernelRules, ShiftByAConstantOfTheWidthOrMoreIsRefused) {
    // Kernel: "invalid shift 64", "invalid shift 32".
    for (std::string_view shift : {"r0 <<= 64", "r0 >>= 100", "w0 >>= 32", "w0 s>>= 32"}) {
        auto bad = check(fmt::format("r0 = 1\n{}\nr0 = 2\nexit", shift), Xdp);
        EXPECT_TRUE(bad.rejected_with("invalid-instruction")) << shift << "\n" << bad.codes();
    }
    auto widest = check("r0 = 1\nr0 s>>= 63\nw0 <<= 31\nr0 = 2\nexit", Xdp);
    EXPECT_TRUE(widest.result.accepted) << widest.codes();
    // A register amount is masked by the hardware and not refused.
    auto by_register = check("r0 = 1\nr1 = 64\nr0 <<= r1\nr0 = 2\nexit", Xdp);
    EXPECT_TRUE(by_register.result.accepted) << by_register.codes();
}

// ---------------------------------------------------------------- global functions

// main passes fp-8 (8 initialized bytes), or fp-4, to `sum`, whose body follows.
constexpr std::string_view call_sum = R"(
    main:
        r1 = 1
        *(u64 *)(r10 - 8) = r1
        r1 = r10
        r1 += {}
        call sum
        exit
    sum:
{}
        exit)";
constexpr std::string_view read_unchecked = "        r0 = *(u32 *)(r1 + 0)";

TEST(GlobalFunctions, PointerArgumentMayBeNullWhateverTheCallerPasses) {
    const auto sum_global = global("sum", {pointer_to(8, "pair")});
    // Kernel: "Validating sum() func#1 ... R1 invalid mem access 'mem_or_null'".
    auto unchecked = check_adjusted(fmt::format(fmt::runtime(call_sum), -8, read_unchecked), Socket, {}, sum_global);
    EXPECT_TRUE(unchecked.rejected_with("null-dereference")) << unchecked.codes();
    // Static, it is analysed with its caller's (non-null) pointer: accepted, as the kernel does.
    auto as_static = check_adjusted(fmt::format(fmt::runtime(call_sum), -8, read_unchecked), Socket, {},
                                    with_function_info);
    EXPECT_TRUE(as_static.result.accepted) << as_static.codes();
    auto checked = check_adjusted(fmt::format(fmt::runtime(call_sum), -8, R"(
        r0 = 0
        if r1 == 0 goto +1
        r0 = *(u32 *)(r1 + 4))"),
                                  Socket, {}, sum_global);
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
    // The callee may read and write the whole pointee: fp-4 has 4 bytes, not 8.
    // Kernel: "invalid read from stack R1 off=-4 size=8", "Caller passes invalid args into func#1".
    auto short_buffer = check_adjusted(fmt::format(fmt::runtime(call_sum), -4, "        r0 = 0"),
                                       Socket, {}, sum_global);
    EXPECT_TRUE(short_buffer.rejected_with("stack-out-of-bounds")) << short_buffer.codes();
    // Beyond the pointee's 8 bytes, even a checked pointer is out of bounds.
    auto past_end = check_adjusted(fmt::format(fmt::runtime(call_sum), -8, R"(
        r0 = 0
        if r1 == 0 goto +1
        r0 = *(u32 *)(r1 + 8))"),
                                   Socket, {}, sum_global);
    EXPECT_TRUE(past_end.rejected_with("memory-access")) << past_end.codes();
}

ir::FunctionParameter tagged(ir::FunctionParameter parameter, uint8_t tags) {
    parameter.tags = tags;
    return parameter;
}

TEST(GlobalFunctions, NonNullTagLetsTheCalleeReadWithoutACheck) {
    using P = ir::FunctionParameter;
    // __arg_nonnull: the callee needs no null check (selftest arg_tag_nonnull_ptr_good)...
    auto good = check_adjusted(fmt::format(fmt::runtime(call_sum), -8, read_unchecked), Socket, {},
                               global("sum", {tagged(pointer_to(8, "pair"), P::TagNonNull)}));
    EXPECT_TRUE(good.result.accepted) << good.codes();
    // ...and no caller may pass null (the kernel: "R1 type=scalar expected=fp, ...").
    auto null_argument = check_adjusted(R"(
    main:
        r1 = 0
        call sum
        exit
    sum:
        r0 = *(u32 *)(r1 + 0)
        exit)",
                                        Socket, {}, global("sum", {tagged(pointer_to(8, "pair"), P::TagNonNull)}));
    EXPECT_TRUE(null_argument.rejected_with("helper-argument")) << null_argument.codes();
    // __arg_nullable on memory is what an untagged pointer is already: the check is needed.
    auto nullable = check_adjusted(fmt::format(fmt::runtime(call_sum), -8, read_unchecked), Socket, {},
                                   global("sum", {tagged(pointer_to(8, "pair"), P::TagNullable)}));
    EXPECT_TRUE(nullable.rejected_with("null-dereference")) << nullable.codes();
}

TEST(GlobalFunctions, ContextTagMakesAVoidPointerTheContext) {
    using P = ir::FunctionParameter;
    constexpr std::string_view pass_context = R"(
    main:
        call sum
        exit
    sum:
        r0 = *(u32 *)(r1 + 0)
        exit)";
    ir::FunctionParameter void_pointer;
    void_pointer.kind = P::Kind::Pointer;
    void_pointer.pointee_kind = P::Pointee::Void;
    // Untagged, `void *` has no size: the kernel refuses the prototype.
    auto untagged = check_adjusted(pass_context, Socket, {}, global("sum", {void_pointer}));
    EXPECT_TRUE(untagged.rejected_with("helper-argument")) << untagged.codes();
    // __arg_ctx (selftests arg_tag_ctx_*): the callee reads skb->len from its context.
    auto as_context = check_adjusted(pass_context, Socket, {}, global("sum", {tagged(void_pointer, P::TagContext)}));
    EXPECT_TRUE(as_context.result.accepted) << as_context.codes();
    // A caller must pass the context itself.
    auto not_context = check_adjusted(R"(
    main:
        r1 = r10
        r1 += -8
        call sum
        exit
    sum:
        r0 = 0
        exit)",
                                      Socket, {}, global("sum", {tagged(void_pointer, P::TagContext)}));
    EXPECT_TRUE(not_context.rejected_with("helper-argument")) << not_context.codes();
    // Tags on a number, or unknown tags, make the kernel refuse the function.
    auto on_number = check_adjusted(pass_context, Socket, {}, global("sum", {tagged(integer(), P::TagNonNull)}));
    EXPECT_TRUE(on_number.rejected_with("helper-argument")) << on_number.codes();
    auto unknown = check_adjusted(pass_context, Socket, {}, global("sum", {tagged(void_pointer, P::TagUnknown)}));
    EXPECT_TRUE(unknown.rejected_with("helper-argument")) << unknown.codes();
}

ir::FunctionParameter pointer_to_u64() {
    ir::FunctionParameter parameter;
    parameter.kind = ir::FunctionParameter::Kind::Pointer;
    parameter.pointee_size = 8;
    parameter.pointee_name = "u64";
    parameter.pointee_struct = "unsigned long long";
    parameter.pointee_kind = ir::FunctionParameter::Pointee::Integer;
    return parameter;
}

// btf_validate_prog_ctx_type: besides `void *` and the type's own context
// struct, each program type accepts a few pointees (selftests arg_tag_ctx_*).
TEST(GlobalFunctions, ContextTagAcceptsThePointeesTheKernelAcceptsPerProgramType) {
    using T = ir::ProgramType;
    using A = BtfAttachKind;
    auto accepts = [](const ir::FunctionParameter& p, T type, std::optional<A> attach = std::nullopt) {
        return !context_argument_problem(p, 0, type, attach).has_value();
    };
    const auto u64 = pointer_to_u64();
    EXPECT_TRUE(accepts(pointer_to(24, "xdp_md"), T::Xdp));
    EXPECT_FALSE(accepts(pointer_to(192, "__sk_buff"), T::Xdp));
    EXPECT_FALSE(accepts(u64, T::Xdp));
    EXPECT_TRUE(accepts(pointer_to(96, "bpf_raw_tracepoint_args"), T::RawTracepoint));
    EXPECT_TRUE(accepts(u64, T::RawTracepointWritable));
    EXPECT_FALSE(accepts(pointer_to(8, "whatever"), T::RawTracepoint));
    EXPECT_TRUE(accepts(pointer_to(8, "whatever"), T::Tracepoint));  // anything goes
    EXPECT_TRUE(accepts(pointer_to(168, "pt_regs"), T::PerfEvent));
    EXPECT_TRUE(accepts(pointer_to(184, "bpf_perf_event_data"), T::PerfEvent));
    EXPECT_TRUE(accepts(pointer_to(168, "pt_regs"), T::Kprobe));
    EXPECT_TRUE(accepts(u64, T::Lsm));
    EXPECT_FALSE(accepts(pointer_to(8, "file"), T::Lsm));  // "should be void pointer"
    EXPECT_TRUE(accepts(u64, T::Tracing, A::Fentry));
    EXPECT_TRUE(accepts(u64, T::Tracing, A::ModifyReturn));
    EXPECT_FALSE(accepts(pointer_to(8, "bpf_iter__task"), T::Tracing, A::Fentry));
    EXPECT_TRUE(accepts(pointer_to(16, "bpf_iter__task"), T::Tracing, A::Iterator));
    EXPECT_FALSE(accepts(u64, T::Tracing, A::Iterator));
    EXPECT_TRUE(accepts(pointer_to(96, "bpf_raw_tracepoint_args"), T::Tracing, A::RawTracepoint));
    ir::FunctionParameter unnamed = pointer_to(8, "");
    EXPECT_FALSE(accepts(unnamed, T::Tracepoint));  // "arg#0 type doesn't have a name"
}

TEST(GlobalFunctions, ContextTagOnAnotherPointeeMakesTheCalleeReadTheContext) {
    using P = ir::FunctionParameter;
    // A raw tracepoint's subprogram takes `u64 *ctx __arg_ctx` and reads args[0].
    constexpr std::string_view read_first_argument = R"(
    main:
        call sum
        exit
    sum:
        r0 = *(u64 *)(r1 + 0)
        exit)";
    auto raw_tp = check_adjusted(read_first_argument, ir::ProgramType::RawTracepoint, {},
                                 global("sum", {tagged(pointer_to_u64(), P::TagContext)}));
    EXPECT_TRUE(raw_tp.result.accepted) << raw_tp.codes();
    auto wrong_struct = check_adjusted(read_first_argument, ir::ProgramType::RawTracepoint, {},
                                       global("sum", {tagged(pointer_to(8, "whatever"), P::TagContext)}));
    EXPECT_TRUE(wrong_struct.rejected_with("helper-argument")) << wrong_struct.codes();
}

TEST(GlobalFunctions, CallsAreCheckedAgainstThePrototypeAndReturnAnUnknownNumber) {
    // sum returns 5; a static call lets the caller rely on it, a global one does not.
    constexpr std::string_view relies_on_result = R"(
    main:
        r1 = 3
        call sum
        if r0 == 5 goto out
        r1 = 0
        r0 = *(u64 *)(r1 + 0)
    out:
        r0 = 0
        exit
    sum:
        r0 = 5
        exit)";
    auto as_static = check_adjusted(relies_on_result, Socket, {}, with_function_info);
    EXPECT_TRUE(as_static.result.accepted) << as_static.codes();
    auto as_global = check_adjusted(relies_on_result, Socket, {}, global("sum", {integer()}));
    EXPECT_TRUE(as_global.rejected_with("memory-access")) << as_global.codes();
    // An integer parameter takes only numbers (kernel: "R1 is not a scalar").
    auto pointer_for_number = check_adjusted(R"(
    main:
        r1 = r10
        call sum
        exit
    sum:
        r0 = r1
        exit)",
                                             Socket, {}, global("sum", {integer()}));
    EXPECT_FALSE(pointer_for_number.result.accepted) << pointer_for_number.codes();
    // A pointer to the program's context struct is the context: the callee may read its fields.
    auto context = check_adjusted(R"(
    main:
        call len
        exit
    len:
        r0 = *(u32 *)(r1 + 0)
        exit)",
                                  Socket, {}, global("len", {pointer_to(192, "__sk_buff")}));
    EXPECT_TRUE(context.result.accepted) << context.codes();
    // A pointer whose pointee has no size (void *): the kernel refuses the prototype.
    ir::FunctionParameter untyped;
    untyped.kind = ir::FunctionParameter::Kind::Pointer;
    auto void_pointer = check_adjusted(R"(
    main:
        r1 = 0
        call f
        exit
    f:
        r0 = 0
        exit)",
                                       Socket, {}, global("f", {untyped}));
    EXPECT_TRUE(void_pointer.rejected_with("helper-argument")) << void_pointer.codes();
}

TEST(GlobalFunctions, GlobalCalleeThatChangesPacketDataInvalidatesTheCallersPointers) {
    // The callee pulls packet data (bpf_skb_pull_data): the caller's packet pointers are gone.
    const auto sub_global = global("sub", {pointer_to(192, "__sk_buff")});
    auto pulls = check_adjusted(fmt::format(fmt::runtime(read_after_call), "        r2 = 0\n        call bpf_skb_pull_data"),
                                Tc, {}, sub_global);
    EXPECT_TRUE(pulls.rejected_with("memory-access")) << pulls.codes();
    auto reads = check_adjusted(fmt::format(fmt::runtime(read_after_call), "        call bpf_get_prandom_u32"), Tc, {},
                                sub_global);
    EXPECT_TRUE(reads.result.accepted) << reads.codes();
}

TEST(GlobalFunctions, SharedBpf2bpfSampleIsRejectedAsTheKernelRejectsIt) {
    const std::filesystem::path path =
        std::filesystem::path(BPFVET_SHARED_DIR) / "corpus" / "ebpf-samples" / "build" / "bpf2bpf.o";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
    auto object = ir::load_object(path.string());
    ASSERT_TRUE(object.has_value()) << object.error().to_string();
    ASSERT_EQ(object->programs.size(), 1u);
    const ir::Program& program = object->programs.front();
    ASSERT_EQ(program.functions.size(), 3u);
    EXPECT_TRUE(program.function_info);
    EXPECT_TRUE(program.functions[1].global);  // add2
    EXPECT_TRUE(program.functions[2].global);  // add1
    AnalysisOptions options;
    options.type = ir::ProgramType::SocketFilter;
    AnalysisResult result = analyze_program(*object, program, options);
    // Kernel: "Validating add1() func#2 ... 49: (61) r1 = *(u32 *)(r1 +0) R1 invalid mem access 'mem_or_null'".
    ASSERT_FALSE(result.accepted);
    EXPECT_EQ(result.errors.front().code_name(), "null-dereference");
    EXPECT_EQ(result.errors.front().pc, 49u);
}

// The combined stack of a call chain counts each frame rounded up to 16
// bytes, as the kernel does for JIT-compiled programs (found by the program
// generator: we rounded to 32, the interpreter's granularity, and refused
// what Linux 6.18 loads). Kernel: the first two accepted, the third refused
// with "combined stack size of 2 calls is 528. Too large".
TEST(KernelRules, CombinedStackCountsFramesInSixteenByteUnits) {
    auto chain = [](std::string_view caller_store) {
        return fmt::format("{}\ncall f\nr0 = 0\nexit\nf:\n*(u64 *)(r10 - 8) = 1\nr0 = 0\nexit", caller_store);
    };
    auto fits = check(chain("*(u16 *)(r10 - 488) = 1"), Xdp);  // 496 + 16
    EXPECT_TRUE(fits.result.accepted) << fits.codes();
    auto empty_caller = check("call f\nr0 = 0\nexit\nf:\n*(u64 *)(r10 - 512) = 1\nr0 = 0\nexit", Xdp);  // 0 + 512
    EXPECT_TRUE(empty_caller.result.accepted) << empty_caller.codes();
    auto over = check(chain("*(u8 *)(r10 - 497) = 1"), Xdp);  // 512 + 16
    EXPECT_TRUE(over.rejected_with("stack-depth")) << over.codes();
    EXPECT_NE(over.codes().find("528 bytes"), std::string::npos) << over.codes();
}

// Each function counts the most stack it uses anywhere, even after the call:
// the kernel checks the call chains of the code once verification is done
// (found by the kernel differential; Linux 6.18: "combined stack size of 2
// calls is 528. Too large"). Its twin touches 496 bytes after the call: 512.
TEST(KernelRules, CombinedStackCountsWhatAFunctionUsesAfterItsCalls) {
    auto program = [](int caller_offset) {
        return fmt::format("r1 = r10\nr1 += -40\n*(u64 *)(r10 - 40) = 0\ncall f\nr0 = *(u64 *)(r10 - {})\nexit\n"
                           "f:\nr3 = *(u64 *)(r1 + 0)\n*(u64 *)(r10 - 8) = r3\nr0 = 0\nexit", caller_offset);
    };
    auto over = check(program(512), Xdp);
    EXPECT_TRUE(over.rejected_with("stack-depth")) << over.codes();
    EXPECT_NE(over.codes().find("528 bytes"), std::string::npos) << over.codes();
    auto fits = check(program(496), Xdp);
    EXPECT_TRUE(fits.result.accepted) << fits.codes();
}

// Negating or byte-swapping a pointer makes it an unknown number for root,
// as the kernel's check_alu_op does (found by the program generator); only an
// unprivileged loader is refused ("R1 pointer arithmetic prohibited"). The
// number is no pointer: dereferencing it is refused ("R1 invalid mem access
// 'scalar'"). Kernel verdicts of Linux 6.18, as root: accept, reject.
TEST(KernelRules, NegatingOrSwappingAPointerGivesRootANumber) {
    EXPECT_TRUE(check("r1 = -r1\nr0 = 0\nexit", Xdp).result.accepted);
    auto swapped = check("r2 = r10\nr2 = be16 r2\nr0 = r2\nexit", Xdp);
    EXPECT_TRUE(swapped.result.accepted) << swapped.codes();
    auto dereferenced = check("r1 = bswap64 r1\nr0 = *(u8 *)(r1 + 0)\nexit", Xdp);
    EXPECT_FALSE(dereferenced.result.accepted);
    AnalysisOptions unprivileged;
    unprivileged.unprivileged = true;
    EXPECT_TRUE(check("r1 = -r1\nr0 = 0\nexit", Socket, {}, unprivileged).rejected_with("pointer-arithmetic"));
}

// A shift by a register that may hold the width or more leaves an unknown
// number, as the kernel leaves it (found by the kernel differential: -1 s>>
// r0 is -1 for every r0, so we proved the branch below never falls through,
// where Linux 6.18 refuses the fall-through's read of r2, "R2 !read_ok").
// A shift amount known to be below the width keeps the exact result.
TEST(KernelRules, ShiftByARegisterThatMayReachTheWidthIsAnUnknownNumber) {
    auto program = [](std::string_view amount) {
        return fmt::format("r0 = {}\nr5 = -1\nr5 s>>= r0\nif r5 > 0x7fffffff goto out\n"
                           "r0 = r2\nout:\nr0 = 0\nexit", amount);
    };
    auto wide = check(program("-312228095"), Xdp);
    EXPECT_TRUE(wide.rejected_with("uninitialized-register")) << wide.codes();
    auto masked = check(program("63"), Xdp);
    EXPECT_TRUE(masked.result.accepted) << masked.codes();
}

// An atomic fetch from the stack gives the old value as a load would: a
// spilled number comes back as that number, so a branch on it is decided
// (found by the kernel differential: Linux 6.18 loads the first two, where the
// read of r4 is dead, and refuses the third, "R4 !read_ok").
TEST(KernelRules, AtomicFetchOfASpilledNumberIsThatNumber) {
    auto program = [](std::string_view spilled) {
        return fmt::format("*(u64 *)(r10 - 160) = {}\nr9 = 0\nr9 = atomic_fetch_xor((u64 *)(r10 - 160), r9)\n"
                           "if w9 >= 1737645624 goto out\nr0 = r4\nout:\nr0 = 0\nexit", spilled);
    };
    auto decided = check(program("-2147483648"), Xdp);
    EXPECT_TRUE(decided.result.accepted) << decided.codes();
    auto narrow = check("*(u64 *)(r10 - 8) = 5\nr3 = 1\nw3 = xchg32_32(r10 - 8, w3)\nif r3 == 5 goto out\n"
                        "r0 = r4\nout:\nr0 = 0\nexit", Xdp);
    EXPECT_TRUE(narrow.result.accepted) << narrow.codes();
    auto falls_through = check(program("7"), Xdp);
    EXPECT_TRUE(falls_through.rejected_with("uninitialized-register")) << falls_through.codes();
}

}  // namespace
}  // namespace bpfvet::analyzer::test
