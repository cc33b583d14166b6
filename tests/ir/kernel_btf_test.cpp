#include "ir/kernel_btf.hpp"

#include "btf_builder.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace bpfvet::ir {
namespace {

using test::BtfBuilder;

struct Tiny {
    std::vector<uint8_t> bytes;
    uint32_t int_id, u16_id, file, inode_ptr, typedef_id, func, proto;
};

// int; u16; struct inode { u16 i_mode; }; typedef const struct file file_t;
// struct file { u16 f_mode; unsigned f_flags:3; struct inode *f_inode; u16 a[3]; };
// int vfs_thing(struct file *f, int mode);
Tiny tiny() {
    BtfBuilder b;
    Tiny t;
    t.int_id = b.add_int("int", 4, true);
    t.u16_id = b.add_int("unsigned short", 2);
    uint32_t inode = b.add_struct("inode", 2, {{"i_mode", t.u16_id, 0, 0}});
    t.inode_ptr = b.add_pointer(inode);
    uint32_t array = b.add_array(t.u16_id, t.int_id, 3);
    t.file = b.add_struct("file", 24,
                          {{"f_mode", t.u16_id, 0, 0}, {"f_flags", t.int_id, 16, 3}, {"f_inode", t.inode_ptr, 64, 0},
                           {"a", array, 128, 0}});
    uint32_t constant = b.add_const(t.file);
    t.typedef_id = b.add_typedef("file_t", constant);
    uint32_t file_ptr = b.add_pointer(t.file);
    t.proto = b.add_func_proto(t.int_id, {{"f", file_ptr}, {"mode", t.int_id}});
    t.func = b.add_func("vfs_thing", t.proto);
    t.bytes = b.build();
    return t;
}

TEST(KernelBtf, ReadsTypesMembersParamsAndSizesOfAHandMadeBlob) {
    Tiny t = tiny();
    auto btf = KernelBtf::parse(t.bytes, "tiny");
    ASSERT_TRUE(btf.has_value()) << btf.error();
    const KernelBtf& k = **btf;
    EXPECT_EQ(k.type_count(), 12u);  // void + 11
    EXPECT_EQ(k.find(BtfKind::Function, "vfs_thing"), t.func);
    EXPECT_EQ(k.find(BtfKind::Struct, "file"), t.file);
    EXPECT_FALSE(k.find(BtfKind::Function, "file").has_value());  // a struct, not a function
    EXPECT_FALSE(k.find(BtfKind::Function, "missing").has_value());
    EXPECT_EQ(k.type(t.func)->type, t.proto);
    auto params = k.params(t.proto);
    ASSERT_EQ(params.size(), 2u);
    EXPECT_EQ(params[0].name, "f");
    EXPECT_EQ(params[1].type, t.int_id);
    EXPECT_EQ(k.skip_modifiers(t.typedef_id), t.file);
    auto members = k.members(t.file);
    ASSERT_EQ(members.size(), 4u);
    EXPECT_EQ(members[1].name, "f_flags");
    EXPECT_EQ(members[1].bit_offset, 16u);
    EXPECT_EQ(members[1].bitfield_size, 3u);
    EXPECT_EQ(members[2].bit_offset, 64u);
    EXPECT_EQ(k.size_of(t.typedef_id), 24u);
    EXPECT_EQ(k.size_of(members[3].type), 6u);  // u16[3]
    EXPECT_EQ(k.size_of(t.inode_ptr), 8u);
    EXPECT_FALSE(k.size_of(t.func).has_value());
    EXPECT_EQ(k.describe(t.inode_ptr), "struct inode *");
    EXPECT_EQ(k.describe(t.file), "struct file");
    EXPECT_FALSE(k.type(999).has_value());
    EXPECT_TRUE(k.members(999).empty());
    EXPECT_TRUE(k.params(t.file).empty());
}

TEST(KernelBtf, ReadsTheBtfSectionOfAnElfObject) {
    // Our own corpus objects carry .BTF (program BTF has the same format).
    const std::filesystem::path object = std::filesystem::path(BPFVET_CORPUS_BUILD_DIR) / "socket_filter.o";
    if (!std::filesystem::exists(object)) GTEST_SKIP() << object << " is not built";
    auto btf = KernelBtf::load(object.string());
    ASSERT_TRUE(btf.has_value()) << btf.error();
    EXPECT_GT((*btf)->type_count(), 1u);
}

TEST(KernelBtf, NamesTheAttachTargetOfEachSection) {
    EXPECT_EQ(btf_attach_target("fentry/do_unlinkat")->name, "do_unlinkat");
    EXPECT_EQ(btf_attach_target("fexit.s/vfs_read")->name, "vfs_read");
    EXPECT_EQ(btf_attach_target("lsm/file_open")->name, "bpf_lsm_file_open");
    auto tracepoint = btf_attach_target("tp_btf/sched_switch");
    EXPECT_EQ(tracepoint->name, "btf_trace_sched_switch");
    EXPECT_EQ(tracepoint->kind, BtfKind::Typedef);
    EXPECT_FALSE(btf_attach_target("kprobe/do_unlinkat").has_value());
    EXPECT_FALSE(btf_attach_target("fentry/").has_value());
    EXPECT_FALSE(btf_attach_target("fentry").has_value());
    // libbpf's "?" (autoload off) is not part of the name it reads the target from.
    EXPECT_EQ(btf_attach_target("?fentry/do_unlinkat")->name, "do_unlinkat");
}

// Malformed input is an error value with a reason, never a crash.
TEST(KernelBtf, RefusesMalformedBlobsWithAReason) {
    auto refused = [](std::vector<uint8_t> bytes, std::string_view reason) {
        auto btf = KernelBtf::parse(bytes, "bad");
        ASSERT_FALSE(btf.has_value());
        EXPECT_NE(btf.error().find(reason), std::string::npos) << btf.error();
    };
    refused({}, "too short");
    refused(std::vector<uint8_t>(64, 0), "bad BTF magic");
    std::vector<uint8_t> good = tiny().bytes;
    // Header claims more types than there are bytes.
    std::vector<uint8_t> long_types = good;
    long_types[12] = 0xff;
    long_types[13] = 0xff;
    refused(long_types, "malformed BTF");
    // Truncated in the middle of a record.
    refused(std::vector<uint8_t>(good.begin(), good.begin() + 24 + 20), "malformed BTF");
    // Version 2.
    std::vector<uint8_t> version = good;
    version[2] = 2;
    refused(version, "version");
    {
        BtfBuilder b;
        b.add_pointer(7);  // no type 7
        refused(b.build(), "refers to type 7");
    }
    {
        BtfBuilder b;
        b.add_raw("x", 25, 0, 0, {});  // kind 25 does not exist
        refused(b.build(), "unknown kind 25");
    }
    {
        BtfBuilder b;
        b.add_struct("s", 4, {{"m", 40, 0, 0}});
        refused(b.build(), "refers to type 40");
    }
    refused({0x7f, 'E', 'L', 'F', 0, 0, 0, 0}, "not a readable ELF");
    // Every truncation of a good blob: no crash.
    for (size_t size = 0; size < good.size(); ++size) {
        auto btf = KernelBtf::parse(std::vector<uint8_t>(good.begin(), good.begin() + ptrdiff_t(size)), "cut");
        if (btf) {
            EXPECT_LE((*btf)->type_count(), 12u);
        }
    }
}

// Cycles (a typedef naming itself) end after a bounded number of steps.
TEST(KernelBtf, FollowsCyclicTypesBoundedly) {
    BtfBuilder b;
    uint32_t first = b.add_typedef("loop_a", 2);
    b.add_typedef("loop_b", first);
    uint32_t pointer = b.add_pointer(4);
    b.add_pointer(pointer);
    auto btf = KernelBtf::parse(b.build(), "cycle");
    ASSERT_TRUE(btf.has_value()) << btf.error();
    (void)(*btf)->skip_modifiers(first);
    EXPECT_FALSE((*btf)->size_of(first).has_value());
    EXPECT_FALSE((*btf)->describe(pointer).empty());
}

TEST(KernelBtf, MissingFileIsAnError) {
    auto btf = KernelBtf::load("/nonexistent/vmlinux");
    ASSERT_FALSE(btf.has_value());
    EXPECT_NE(btf.error().find("cannot open"), std::string::npos);
}

// The running kernel's BTF, when this machine exposes it.
TEST(KernelBtf, ParsesTheRunningKernelsVmlinux) {
    const std::string path(DefaultKernelBtfPath);
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
    const auto start = std::chrono::steady_clock::now();
    auto btf = KernelBtf::load(path);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(btf.has_value()) << btf.error();
    const KernelBtf& k = **btf;
    std::printf("vmlinux BTF: %zu types parsed in %.3f s\n", k.type_count(), seconds);
    EXPECT_GT(k.type_count(), 10000u);
    auto function = k.find(BtfKind::Function, "do_unlinkat");
    ASSERT_TRUE(function.has_value());
    auto proto = k.type(k.type(*function)->type);
    ASSERT_EQ(proto->kind, BtfKind::FunctionProto);
    EXPECT_EQ(k.params(k.type(*function)->type).size(), 2u);
    auto file = k.find(BtfKind::Struct, "file");
    ASSERT_TRUE(file.has_value());
    bool has_mode = false;
    for (const auto& member : k.members(*file)) has_mode = has_mode || member.name == "f_mode";
    EXPECT_TRUE(has_mode);
    EXPECT_TRUE(k.find(BtfKind::Typedef, "btf_trace_sched_switch").has_value());
    EXPECT_TRUE(k.find(BtfKind::Function, "bpf_lsm_file_open").has_value());
}

}  // namespace
}  // namespace bpfvet::ir
