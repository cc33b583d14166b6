// Typed arguments of fentry/fexit/fmod_ret/tp_btf/lsm programs
// (analyzer/btf_access.hpp): first on a hand-made kernel BTF, so the rules are
// tested on every machine, then on the running kernel's vmlinux when present.
#include "analyzer/btf_access.hpp"
#include "analyzer/value.hpp"
#include "check_program.hpp"
#include "ir/core_relocation.hpp"
#include "ir/elf_loader.hpp"

#include "../ir/btf_builder.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace bpfvet::analyzer::test {
namespace {

using bpfvet::test::BtfBuilder;

// A miniature kernel:
//   struct inode { u16 i_mode; u32 i_flags @4; u64 i_ino @8; }                      (16 bytes)
//   struct path { struct inode *inode; }                                            (8)
//   struct file { u32 f_mode; int f_flags:3 @32 bits; struct inode *f_inode @8;
//                 char *f_name @16; struct path f_path @24; u32 f_arr[2] @32; }      (40)
//   struct flex { u32 len; u32 data[]; }                                            (4)
//   int vfs_test(struct file *file, int mode);    int bpf_lsm_file_test(struct file *file, int mode);
//   void vfs_void(struct file *file);             struct file *vfs_get(int mode);
//   int vfs_odd(struct file __user *u, void *v, struct file *f__nullable, struct flex *x, int *n);
//   typedef void (*btf_trace_test_tp)(void *__data, struct file *prev, int cpu);
std::shared_ptr<const ir::KernelBtf> mini_kernel() {
    static std::shared_ptr<const ir::KernelBtf> btf = [] {
        BtfBuilder b;
        uint32_t i32 = b.add_int("int", 4, true);
        uint32_t u32 = b.add_int("unsigned int", 4);
        uint32_t u16 = b.add_int("unsigned short", 2);
        uint32_t u64 = b.add_int("long unsigned int", 8);
        uint32_t chr = b.add_int("char", 1);
        uint32_t inode = b.add_struct("inode", 16, {{"i_mode", u16, 0, 0}, {"i_flags", u32, 32, 0}, {"i_ino", u64, 64, 0}});
        uint32_t inode_ptr = b.add_pointer(inode);
        uint32_t path = b.add_struct("path", 8, {{"inode", inode_ptr, 0, 0}});
        uint32_t arr = b.add_array(u32, i32, 2);
        uint32_t char_ptr = b.add_pointer(chr);
        uint32_t file = b.add_struct("file", 40,
                                     {{"f_mode", u32, 0, 0},
                                      {"f_flags", i32, 32, 3},
                                      {"f_inode", inode_ptr, 64, 0},
                                      {"f_name", char_ptr, 128, 0},
                                      {"f_path", path, 192, 0},
                                      {"f_arr", arr, 256, 0}});
        uint32_t file_ptr = b.add_pointer(file);
        uint32_t flexible = b.add_array(u32, i32, 0);
        uint32_t flex = b.add_struct("flex", 4, {{"len", u32, 0, 0}, {"data", flexible, 32, 0}});
        uint32_t flex_ptr = b.add_pointer(flex);
        uint32_t user_ptr = b.add_pointer(b.add_type_tag("user", file));
        uint32_t void_ptr = b.add_pointer(0);
        uint32_t int_ptr = b.add_pointer(i32);
        uint32_t proto = b.add_func_proto(i32, {{"file", file_ptr}, {"mode", i32}});
        b.add_func("vfs_test", proto);
        b.add_func("bpf_lsm_file_test", proto);
        b.add_func("vfs_void", b.add_func_proto(0, {{"file", file_ptr}}));
        b.add_func("vfs_get", b.add_func_proto(file_ptr, {{"mode", i32}}));
        b.add_func("vfs_odd", b.add_func_proto(i32, {{"u", user_ptr},
                                                     {"v", void_ptr},
                                                     {"f__nullable", file_ptr},
                                                     {"x", flex_ptr},
                                                     {"n", int_ptr}}));
        uint32_t tp = b.add_func_proto(0, {{"__data", void_ptr}, {"prev", file_ptr}, {"cpu", i32}});
        b.add_typedef("btf_trace_test_tp", b.add_pointer(tp));
        auto parsed = ir::KernelBtf::parse(b.build(), "mini kernel");
        EXPECT_TRUE(parsed.has_value()) << parsed.error();
        return parsed ? *parsed : nullptr;
    }();
    return btf;
}

Checked check_btf(std::string_view text, std::string section, std::shared_ptr<const ir::KernelBtf> btf,
                  std::string license = "GPL", size_t max_disjuncts = 32) {
    ir::Object object;
    object.license = std::move(license);
    auto program = ir::assemble_program(text, {});
    EXPECT_TRUE(program.has_value()) << (program ? "" : program.error().to_string());
    if (!program) return {};
    program->section = section;
    program->attach_target = section.substr(section.find('/') + 1);
    program->type = section.starts_with("lsm") ? ir::ProgramType::Lsm : ir::ProgramType::Tracing;
    AnalysisOptions options;
    options.kernel_btf = std::move(btf);
    options.max_disjuncts = max_disjuncts;
    return Checked{analyze_program(object, *program, options)};
}

Checked check_mini(std::string_view text, std::string section = "fentry/vfs_test") {
    return check_btf(text, std::move(section), mini_kernel());
}

TEST(BtfArguments, DirectLoadOfAFieldThroughAnArgument) {
    auto ok = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 0)
        r4 = *(u64 *)(r1 + 8)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
}

TEST(BtfArguments, PointerChasingThroughMembersAndNestedStructs) {
    auto ok = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u64 *)(r2 + 8)
        r4 = *(u16 *)(r3 + 0)
        r5 = *(u64 *)(r2 + 24)
        r6 = *(u64 *)(r5 + 8)
        r7 = *(u32 *)(r2 + 36)
        r8 = *(u8 *)(r2 + 4)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    // f_name is a char *: loaded as a number, which cannot be dereferenced.
    auto bad = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u64 *)(r2 + 16)
        r4 = *(u8 *)(r3 + 0)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(bad.rejected_with("memory-access")) << bad.codes();
}

TEST(BtfArguments, RejectsReadsOutsideTheStructOrAcrossAPointerMember) {
    auto beyond = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r0 = *(u32 *)(r2 + 40)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(beyond.rejected_with("memory-access")) << beyond.codes();
    EXPECT_NE(beyond.codes().find("beyond the 40-byte struct file"), std::string::npos) << beyond.codes();
    auto negative = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r0 = *(u32 *)(r2 - 4)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(negative.rejected_with("memory-access")) << negative.codes();
    auto partial = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r0 = *(u32 *)(r2 + 8)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(partial.rejected_with("memory-access")) << partial.codes();
    EXPECT_NE(partial.codes().find("pointer member 'f_inode'"), std::string::npos) << partial.codes();
    auto variable = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u64 *)(r1 + 8)
        r3 &= 7
        r2 += r3
        r0 = *(u8 *)(r2 + 0)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(variable.rejected_with("memory-access")) << variable.codes();
    EXPECT_NE(variable.codes().find("variable offset"), std::string::npos) << variable.codes();
    // A constant moved into the pointer is fine.
    auto moved = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r2 += 32
        r0 = *(u32 *)(r2 + 4)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(moved.result.accepted) << moved.codes();
}

TEST(BtfArguments, RejectsStoresIntoKernelObjectsAndTheArguments) {
    auto store = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = 1
        *(u32 *)(r2 + 0) = r3
        r0 = 0
        exit
    )");
    EXPECT_TRUE(store.rejected_with("read-only-write")) << store.codes();
    auto context = check_mini(R"(
        r3 = 1
        *(u64 *)(r1 + 8) = r3
        r0 = 0
        exit
    )");
    EXPECT_TRUE(context.rejected_with("context-access")) << context.codes();
}

TEST(BtfArguments, RejectsReadsPastTheLastArgumentAndNarrowPointerReads) {
    auto past = check_mini(R"(
        r2 = *(u64 *)(r1 + 16)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(past.rejected_with("context-access")) << past.codes();
    auto narrow = check_mini(R"(
        r2 = *(u32 *)(r1 + 0)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(narrow.rejected_with("context-access")) << narrow.codes();
    // A 4-byte read of an int argument is what the kernel allows.
    auto number = check_mini(R"(
        r2 = *(u32 *)(r1 + 8)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(number.result.accepted) << number.codes();
    auto misaligned = check_mini(R"(
        r2 = *(u32 *)(r1 + 4)
        r0 = 0
        exit
    )");
    EXPECT_TRUE(misaligned.rejected_with("context-access")) << misaligned.codes();
}

TEST(BtfArguments, FexitReadsTheReturnValueAfterTheArguments) {
    auto number = check_mini(R"(
        r2 = *(u64 *)(r1 + 16)
        r0 = 0
        exit
    )",
                             "fexit/vfs_test");
    EXPECT_TRUE(number.result.accepted) << number.codes();
    auto past = check_mini(R"(
        r2 = *(u64 *)(r1 + 24)
        r0 = 0
        exit
    )",
                           "fexit/vfs_test");
    EXPECT_TRUE(past.rejected_with("context-access")) << past.codes();
    auto pointer = check_mini(R"(
        r2 = *(u64 *)(r1 + 8)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )",
                              "fexit/vfs_get");
    EXPECT_TRUE(pointer.result.accepted) << pointer.codes();
    auto void_return = check_mini(R"(
        r2 = *(u64 *)(r1 + 8)
        r0 = 0
        exit
    )",
                                  "fexit/vfs_void");
    EXPECT_TRUE(void_return.rejected_with("context-access")) << void_return.codes();
    // fentry and fexit programs must return 0.
    auto returns_one = check_mini(R"(
        r0 = 1
        exit
    )");
    EXPECT_TRUE(returns_one.rejected_with("return-value")) << returns_one.codes();
}

TEST(BtfArguments, TpBtfSkipsTheDataArgument) {
    auto ok = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 0)
        r4 = *(u64 *)(r1 + 8)
        r0 = 0
        exit
    )",
                         "tp_btf/test_tp");
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    auto past = check_mini(R"(
        r2 = *(u64 *)(r1 + 16)
        r0 = 0
        exit
    )",
                           "tp_btf/test_tp");
    EXPECT_TRUE(past.rejected_with("context-access")) << past.codes();
}

TEST(BtfArguments, LsmHookArgumentsAndReturnValue) {
    auto ok = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 0)
        r4 = *(u64 *)(r1 + 16)
        r0 = 0
        exit
    )",
                         "lsm/file_test");
    EXPECT_TRUE(ok.result.accepted) << ok.codes();
    // The earlier hooks' verdict (ctx[2]) is an errno or 0, so it may be returned as it is.
    auto pass_on = check_mini(R"(
        r0 = *(u64 *)(r1 + 16)
        exit
    )",
                              "lsm/file_test");
    EXPECT_TRUE(pass_on.result.accepted) << pass_on.codes();
    auto other = check_mini(R"(
        r0 = *(u64 *)(r1 + 8)
        exit
    )",
                            "lsm/file_test");
    EXPECT_TRUE(other.rejected_with("return-value")) << other.codes();
    auto missing = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )",
                              "lsm/no_such_hook");
    EXPECT_TRUE(missing.rejected_with("memory-access")) << missing.codes();
    EXPECT_NE(missing.codes().find("bpf_lsm_no_such_hook"), std::string::npos) << missing.codes();
}

TEST(BtfArguments, WithoutKernelBtfArgumentsAreUntypedAndTheMessageSaysSo) {
    const char* program = R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )";
    auto untyped = check_btf(program, "fentry/vfs_test", nullptr);
    EXPECT_TRUE(untyped.rejected_with("memory-access")) << untyped.codes();
    EXPECT_NE(untyped.codes().find("no kernel BTF: argument 0 of fentry/vfs_test is untyped; pass --kernel-btf"),
              std::string::npos)
        << untyped.codes();
    // Reading the numbers stays allowed.
    auto numbers = check_btf(R"(
        r2 = *(u64 *)(r1 + 0)
        r0 = 0
        exit
    )",
                             "fentry/vfs_test", nullptr);
    EXPECT_TRUE(numbers.result.accepted) << numbers.codes();
}

TEST(BtfArguments, UserVoidNullableAndFlexibleArguments) {
    auto user = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )",
                           "fentry/vfs_odd");
    EXPECT_TRUE(user.rejected_with("memory-access")) << user.codes();
    EXPECT_NE(user.codes().find("bpf_probe_read_user"), std::string::npos) << user.codes();
    // The __user pointer may be handed to bpf_probe_read_user.
    auto copied = check_mini(R"(
        r3 = *(u64 *)(r1 + 0)
        r1 = r10
        r1 += -8
        r2 = 8
        call bpf_probe_read_user
        r0 = 0
        exit
    )",
                             "fentry/vfs_odd");
    EXPECT_TRUE(copied.result.accepted) << copied.codes();
    auto void_pointer = check_mini(R"(
        r2 = *(u64 *)(r1 + 8)
        r3 = *(u8 *)(r2 + 0)
        r0 = 0
        exit
    )",
                                   "fentry/vfs_odd");
    EXPECT_TRUE(void_pointer.rejected_with("memory-access")) << void_pointer.codes();
    auto nullable = check_mini(R"(
        r2 = *(u64 *)(r1 + 16)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )",
                               "fentry/vfs_odd");
    EXPECT_TRUE(nullable.rejected_with("null-dereference")) << nullable.codes();
    auto checked = check_mini(R"(
        r2 = *(u64 *)(r1 + 16)
        if r2 == 0 goto out
        r3 = *(u32 *)(r2 + 0)
    out:
        r0 = 0
        exit
    )",
                              "fentry/vfs_odd");
    EXPECT_TRUE(checked.result.accepted) << checked.codes();
    // struct flex { u32 len; u32 data[]; }: past its 4 bytes into the flexible array.
    auto flexible = check_mini(R"(
        r2 = *(u64 *)(r1 + 24)
        r3 = *(u32 *)(r2 + 12)
        r0 = 0
        exit
    )",
                               "fentry/vfs_odd");
    EXPECT_TRUE(flexible.result.accepted) << flexible.codes();
    auto int_pointer = check_mini(R"(
        r2 = *(u64 *)(r1 + 32)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )",
                                  "fentry/vfs_odd");
    EXPECT_TRUE(int_pointer.rejected_with("memory-access")) << int_pointer.codes();
}

TEST(BtfArguments, NullChecksKeepBothPathsOfKernelPointers) {
    // The kernel does not know a fentry argument is non-null: the null path is checked too.
    auto bad = check_mini(R"(
        r2 = *(u64 *)(r1 + 0)
        if r2 != 0 goto out
        r0 = 1
        exit
    out:
        r0 = 0
        exit
    )");
    EXPECT_TRUE(bad.rejected_with("return-value")) << bad.codes();
}

TEST(BtfArguments, HelpersTakeKernelPointersOnlyAsAnything) {
    auto copy = check_mini(R"(
        r3 = *(u64 *)(r1 + 0)
        r1 = r10
        r1 += -8
        r2 = 8
        call bpf_probe_read_kernel
        r0 = 0
        exit
    )");
    EXPECT_TRUE(copy.result.accepted) << copy.codes();
    auto as_memory = check_mini(R"(
        r1 = *(u64 *)(r1 + 0)
        r2 = 8
        r3 = 0
        call bpf_probe_read_kernel
        r0 = 0
        exit
    )");
    EXPECT_TRUE(as_memory.rejected_with("memory-access")) << as_memory.codes();
}

TEST(BtfArguments, NonGplProgramsCannotReadKernelObjects) {
    auto proprietary = check_btf(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )",
                                 "fentry/vfs_test", mini_kernel(), "Proprietary");
    EXPECT_TRUE(proprietary.rejected_with("memory-access")) << proprietary.codes();
}

// Paths holding pointers to different structs, joined: neither may be dereferenced.
TEST(BtfArguments, PointersToDifferentStructsDoNotJoin) {
    const char* program = R"(
        r6 = *(u64 *)(r1 + 8)
        r2 = *(u64 *)(r1 + 0)
        if r6 == 0 goto deref
        r2 = *(u64 *)(r2 + 8)
    deref:
        r3 = *(u16 *)(r2 + 0)
        r0 = 0
        exit
    )";
    // Each path keeps its own struct; joined (as inside a widened loop) they could not be read.
    auto apart = check_btf(program, "fentry/vfs_test", mini_kernel(), "GPL", 32);
    EXPECT_TRUE(apart.result.accepted) << apart.codes();

    Value file = Value::make_pointer(PointerKind::BtfObject, 11, Scalar::constant(0));
    Value inode = Value::make_pointer(PointerKind::BtfObject, 6, Scalar::constant(0));
    Value file_moved = Value::make_pointer(PointerKind::BtfObject, 11, Scalar::constant(8));
    EXPECT_EQ(join_values(file, inode).kind, ValueKind::Mixed);
    Value both = join_values(file, file_moved);
    EXPECT_TRUE(both.is_pointer(PointerKind::BtfObject));
    EXPECT_TRUE(value_leq(file, both));
    EXPECT_FALSE(value_leq(inode, both));
    Value user = file;
    user.memory_tag = BtfUserMemory;
    EXPECT_EQ(join_values(file, user).kind, ValueKind::Mixed);
    EXPECT_FALSE(value_leq(user, file));
    EXPECT_NE(describe_value(file, nullptr).find("kernel object (BTF type 11)"), std::string::npos);
}

// The walk itself, on struct file of the mini kernel.
TEST(BtfArguments, StructWalkFollowsTheKernelsRules) {
    auto btf = mini_kernel();
    const uint32_t file = *btf->find(ir::BtfKind::Struct, "file");
    auto load = [&](int64_t offset, int size) { return btf_struct_read(*btf, file, offset, size); };
    EXPECT_TRUE(std::get<BtfLoad>(load(8, 8)).pointer);             // f_inode
    EXPECT_FALSE(std::get<BtfLoad>(load(0, 2)).pointer);            // part of f_mode
    EXPECT_FALSE(std::get<BtfLoad>(load(4, 1)).pointer);            // the f_flags bitfield
    EXPECT_TRUE(std::get<BtfLoad>(load(24, 8)).pointer);            // f_path.inode
    EXPECT_FALSE(std::get<BtfLoad>(load(32, 8)).pointer);           // f_arr as scratch space
    EXPECT_TRUE(std::holds_alternative<std::string>(load(36, 8)));  // past the struct
    EXPECT_FALSE(std::get<BtfLoad>(load(4, 4)).pointer);            // a word holding the whole bitfield
    EXPECT_TRUE(std::holds_alternative<std::string>(load(5, 2)));   // the hole after the bitfield
    EXPECT_TRUE(std::holds_alternative<std::string>(load(12, 4)));  // inside f_inode
}

// ---- the running kernel's BTF, when present ----

std::shared_ptr<const ir::KernelBtf> vmlinux() {
    static std::shared_ptr<const ir::KernelBtf> btf = [] {
        if (!std::filesystem::exists(std::string(ir::DefaultKernelBtfPath))) return std::shared_ptr<const ir::KernelBtf>();
        auto parsed = ir::KernelBtf::load(std::string(ir::DefaultKernelBtfPath));
        EXPECT_TRUE(parsed.has_value()) << parsed.error();
        return parsed ? *parsed : nullptr;
    }();
    return btf;
}

// Offsets of this kernel's struct file, from its BTF.
std::optional<uint32_t> member_offset(const ir::KernelBtf& btf, std::string_view structure, std::string_view member) {
    auto id = btf.find(ir::BtfKind::Struct, structure);
    if (!id) return std::nullopt;
    for (const auto& m : btf.members(*id))
        if (m.name == member) return m.bit_offset / 8;
    return std::nullopt;
}

TEST(BtfArgumentsVmlinux, FentryAndLsmReadStructFileOfThisKernel) {
    auto btf = vmlinux();
    if (!btf) GTEST_SKIP() << ir::DefaultKernelBtfPath << " is absent";
    auto mode = member_offset(*btf, "file", "f_mode");
    auto inode = member_offset(*btf, "file", "f_inode");
    auto ino = member_offset(*btf, "inode", "i_ino");
    ASSERT_TRUE(mode && inode && ino);
    const std::string program = fmt::format(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + {})
        r4 = *(u64 *)(r2 + {})
        r5 = *(u64 *)(r4 + {})
        r0 = 0
        exit
    )",
                                            *mode, *inode, *ino);
    auto fentry = check_btf(program, "fentry/vfs_read", btf);
    EXPECT_TRUE(fentry.result.accepted) << fentry.codes();
    auto lsm = check_btf(program, "lsm/file_open", btf);
    EXPECT_TRUE(lsm.result.accepted) << lsm.codes();
    auto tracepoint = check_btf(R"(
        r2 = *(u64 *)(r1 + 8)
        r3 = *(u32 *)(r2 + 0)
        r0 = 0
        exit
    )",
                                "tp_btf/sched_switch", btf);
    EXPECT_TRUE(tracepoint.result.accepted) << tracepoint.codes();
    auto beyond = check_btf(R"(
        r2 = *(u64 *)(r1 + 0)
        r3 = *(u32 *)(r2 + 30000)
        r0 = 0
        exit
    )",
                            "fentry/vfs_read", btf);
    EXPECT_TRUE(beyond.rejected_with("memory-access")) << beyond.codes();
}

// corpus/core_task_parent.c declares task_struct with made-up offsets: only
// CO-RE relocation against the kernel BTF makes its loads the kernel's.
TEST(BtfArgumentsVmlinux, CoreRelocationDecidesTheVerdict) {
    auto btf = vmlinux();
    if (!btf) GTEST_SKIP() << ir::DefaultKernelBtfPath << " is absent";
    const auto path = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "core_task_parent.o";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "corpus not built";
    auto object = ir::load_object(path.string());
    ASSERT_TRUE(object.has_value()) << object.error().to_string();
    AnalysisOptions options;
    options.kernel_btf = btf;
    const ir::Program& program = object->programs.at(0);
    auto compiled = analyze_program(*object, program, options);
    EXPECT_FALSE(compiled.accepted);
    auto relocated = ir::relocate_for_kernel(*object, program, *btf);
    ASSERT_TRUE(relocated.has_value()) << relocated.error();
    auto result = analyze_program(*object, *relocated, options);
    EXPECT_TRUE(result.accepted) << Checked{result}.codes();
}

}  // namespace
}  // namespace bpfvet::analyzer::test
