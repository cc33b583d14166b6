// The running kernel as the oracle for corpus/manifest.json: every program is
// loaded with bpf(BPF_PROG_LOAD) the way libbpf would load it (maps created
// from the object's definitions, global data as array maps initialised with
// the section bytes, .rodata read-only to the program and frozen), and the
// kernel's verdict must match the manifest's. Programs with runs are then
// executed with BPF_PROG_TEST_RUN and their return values compared.
//
// Needs root (CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN); skips otherwise, and
// when the kernel refuses bpf(2) altogether (EPERM, ENOSYS).
#include "corpus_manifest.hpp"

#include "ir/elf_loader.hpp"

#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <span>

namespace bpfvet::corpus {
namespace {

// ---- bpf(2) in a few small wrappers ----

long bpf_call(int command, union bpf_attr& attr) { return syscall(__NR_bpf, command, &attr, sizeof(attr)); }

// A file descriptor closed when it goes out of scope.
class Descriptor {
public:
    explicit Descriptor(int fd = -1) : fd_(fd) {}
    Descriptor(Descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Descriptor& operator=(Descriptor&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    ~Descriptor() {
        if (fd_ >= 0) close(fd_);
    }
    [[nodiscard]] int get() const { return fd_; }

private:
    int fd_;
};

// The kernel's object names allow [A-Za-z0-9_.] and 15 characters.
void copy_object_name(char (&target)[BPF_OBJ_NAME_LEN], const std::string& name) {
    size_t length = 0;
    for (char c : name) {
        if (length + 1 >= BPF_OBJ_NAME_LEN) break;
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.') target[length++] = c;
    }
    target[length] = 0;
}

struct Failure {
    std::string message;
};

// Creates the kernel map for `map` (libbpf's choices: 4-byte values for
// map-in-map and program arrays whose BTF gives none; global data as a
// one-entry array holding the section, read-only sections frozen).
std::expected<Descriptor, Failure> create_map(const ir::MapDefinition& map, int inner_fd) {
    union bpf_attr attr {};
    attr.map_type = uint32_t(map.type);
    attr.key_size = map.key_size;
    attr.value_size = map.value_size;
    attr.max_entries = map.max_entries;
    attr.map_flags = map.flags;
    if ((map.type == ir::MapType::ArrayOfMaps || map.type == ir::MapType::HashOfMaps) && attr.value_size == 0)
        attr.value_size = 4;
    if (inner_fd >= 0) attr.inner_map_fd = uint32_t(inner_fd);
    if (map.read_only) attr.map_flags |= BPF_F_RDONLY_PROG;
    copy_object_name(attr.map_name, map.name);
    Descriptor fd(int(bpf_call(BPF_MAP_CREATE, attr)));
    if (fd.get() < 0)
        return std::unexpected(Failure{"BPF_MAP_CREATE " + map.name + ": " + std::strerror(errno)});
    if (map.is_global_data) {
        uint32_t zero = 0;
        std::vector<uint8_t> value = map.initial_value;
        value.resize(map.value_size);
        union bpf_attr update {};
        update.map_fd = uint32_t(fd.get());
        update.key = uint64_t(reinterpret_cast<uintptr_t>(&zero));
        update.value = uint64_t(reinterpret_cast<uintptr_t>(value.data()));
        if (bpf_call(BPF_MAP_UPDATE_ELEM, update) < 0)
            return std::unexpected(Failure{"initialising " + map.name + ": " + std::strerror(errno)});
        if (map.read_only) {
            union bpf_attr freeze {};
            freeze.map_fd = uint32_t(fd.get());
            if (bpf_call(BPF_MAP_FREEZE, freeze) < 0)
                return std::unexpected(Failure{"freezing " + map.name + ": " + std::strerror(errno)});
        }
    }
    return fd;
}

// All maps of the object, indexed like Object::maps; inner map templates first.
std::expected<std::vector<Descriptor>, Failure> create_maps(const ir::Object& object) {
    std::vector<Descriptor> fds(object.maps.size());
    auto is_outer = [](const ir::MapDefinition& map) { return map.inner_map.has_value(); };
    for (bool outer_pass : {false, true})
        for (size_t i = 0; i < object.maps.size(); ++i) {
            const auto& map = object.maps[i];
            if (is_outer(map) != outer_pass) continue;
            int inner_fd = map.inner_map ? fds.at(*map.inner_map).get() : -1;
            auto fd = create_map(map, inner_fd);
            if (!fd) return std::unexpected(fd.error());
            fds[i] = std::move(*fd);
        }
    return fds;
}

// The program's bytecode with map indices replaced by the maps' fds. An index
// naming no map becomes fd -1, which the kernel refuses as it would any
// stale descriptor (a raw index could happen to be an open fd of this process).
std::vector<uint64_t> encode_for_kernel(const ir::Program& program, const std::vector<Descriptor>& maps) {
    std::vector<uint64_t> slots;
    slots.reserve(program.instructions.size());
    for (auto insn : program.instructions) {
        const auto kind = ir::LddwKind(insn.src);
        if (insn.is_lddw() && (kind == ir::LddwKind::MapFd || kind == ir::LddwKind::MapValue)) {
            const auto index = uint32_t(insn.imm);
            insn.imm = index < maps.size() ? maps[index].get() : -1;
        }
        slots.push_back(ir::encode_slot(insn));
    }
    return slots;
}

struct LoadResult {
    Descriptor fd;
    int error = 0;    // errno when fd < 0
    std::string log;  // the verifier log when the load failed
};

LoadResult load_program(const ir::Program& program, ir::ProgramType type, const std::vector<Descriptor>& maps) {
    const auto slots = encode_for_kernel(program, maps);
    static const char license[] = "GPL";
    auto attempt = [&](std::vector<char>* log) {
        union bpf_attr attr {};
        attr.prog_type = uint32_t(type);
        attr.insn_cnt = uint32_t(slots.size());
        attr.insns = uint64_t(reinterpret_cast<uintptr_t>(slots.data()));
        attr.license = uint64_t(reinterpret_cast<uintptr_t>(license));
        copy_object_name(attr.prog_name, program.name);
        if (log) {
            attr.log_level = 1;
            attr.log_buf = uint64_t(reinterpret_cast<uintptr_t>(log->data()));
            attr.log_size = uint32_t(log->size());
        }
        return int(bpf_call(BPF_PROG_LOAD, attr));
    };
    LoadResult result;
    result.fd = Descriptor(attempt(nullptr));
    if (result.fd.get() >= 0) return result;
    result.error = errno;
    // Load again for the log only: verbose logs of accepted programs can be long.
    std::vector<char> log(4 << 20);
    Descriptor again(attempt(&log));
    result.log = std::string(log.data(), strnlen(log.data(), log.size()));
    return result;
}

// BPF_PROG_TEST_RUN's return value for one packet. Socket filters and
// cgroup_skb programs see the packet after the kernel has pulled an Ethernet
// header (eth_type_trans), so a dummy IPv4 one is put in front; XDP and TC
// programs see the bytes as given.
std::expected<uint32_t, Failure> test_run(int program_fd, ir::ProgramType type, const std::vector<uint8_t>& packet) {
    static constexpr uint8_t DummyEthernet[] = {0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00};
    const bool pulls_ethernet = type == ir::ProgramType::SocketFilter || type == ir::ProgramType::CgroupSkb;
    std::vector<uint8_t> input(pulls_ethernet ? sizeof(DummyEthernet) : 0);
    std::ranges::copy(std::span(DummyEthernet).first(input.size()), input.begin());
    input.resize(input.size() + packet.size());
    std::ranges::copy(packet, input.end() - std::ptrdiff_t(packet.size()));
    std::vector<uint8_t> output(input.size() + 4096);
    union bpf_attr attr {};
    attr.test.prog_fd = uint32_t(program_fd);
    attr.test.data_in = uint64_t(reinterpret_cast<uintptr_t>(input.data()));
    attr.test.data_size_in = uint32_t(input.size());
    attr.test.data_out = uint64_t(reinterpret_cast<uintptr_t>(output.data()));
    attr.test.data_size_out = uint32_t(output.size());
    attr.test.repeat = 1;
    if (bpf_call(BPF_PROG_TEST_RUN, attr) < 0) return std::unexpected(Failure{std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno)});
    return attr.test.retval;
}

// The kernel_log strings and verdicts were recorded on Linux 6.18; older
// kernels lack v4 instructions and word their messages differently.
constexpr std::pair<int, int> RecordedOnKernel{6, 18};

// "6.18.44-fc" -> {6, 18}; {0, 0} when unreadable.
std::pair<int, int> running_kernel() {
    utsname name{};
    if (uname(&name) != 0) return {0, 0};
    int major = 0, minor = 0;
    if (std::sscanf(name.release, "%d.%d", &major, &minor) != 2) return {0, 0};
    return {major, minor};
}

// ---- One test per (object variant, program) of the manifest ----

struct Case {
    std::string object_file;
    std::string variant;
    ProgramEntry program;
};

// Names the case in gtest's output instead of dumping its bytes.
void PrintTo(const Case& c, std::ostream* out) { *out << c.object_file << ":" << c.program.name; }

std::vector<Case> all_cases() {
    std::vector<Case> cases;
    auto entries = read_manifest(manifest_path());
    if (!entries) return cases;  // CorpusKernelOracle.ManifestReads reports it
    for (const auto& entry : *entries)
        for (const auto& [variant, file] : entry.objects)
            for (const auto& program : entry.programs) cases.push_back({file, variant, program});
    return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string stem = info.param.object_file.substr(0, info.param.object_file.find('.'));
    std::string name = stem + "_" + info.param.variant + "_" + info.param.program.name;
    std::ranges::replace_if(name, [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

TEST(CorpusKernelOracle, ManifestReads) {
    auto entries = read_manifest(manifest_path());
    EXPECT_TRUE(entries.has_value()) << entries.error();
}

class KernelOracle : public ::testing::TestWithParam<Case> {};

TEST_P(KernelOracle, KernelVerdictMatchesManifest) {
    const Case& c = GetParam();
    if (geteuid() != 0) GTEST_SKIP() << "loading BPF programs needs root";
    if (const auto kernel = running_kernel(); kernel < RecordedOnKernel)
        GTEST_SKIP() << "the manifest's kernel verdicts are from Linux " << RecordedOnKernel.first << "."
                     << RecordedOnKernel.second << "; this is " << kernel.first << "." << kernel.second;
    const std::string path = object_directory() + "/" + c.object_file;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built (build target bpfvet_corpus)";

    auto object = ir::load_object(path);
    ASSERT_TRUE(object.has_value()) << object.error().to_string();
    auto program = std::ranges::find(object->programs, c.program.name, &ir::Program::name);
    ASSERT_NE(program, object->programs.end()) << c.program.name << " not in " << path;
    auto type = ir::program_type_from_name(c.program.type);
    ASSERT_TRUE(type.has_value()) << c.program.type;

    auto maps = create_maps(*object);
    if (!maps && (errno == EPERM || errno == ENOSYS)) GTEST_SKIP() << "the kernel refuses bpf(2): " << maps.error().message;
    ASSERT_TRUE(maps.has_value()) << maps.error().message;

    LoadResult loaded = load_program(*program, *type, *maps);
    if (loaded.fd.get() < 0 && (loaded.error == EPERM || loaded.error == ENOSYS))
        GTEST_SKIP() << "the kernel refuses bpf(2): " << std::strerror(loaded.error);
    const std::string kernel_verdict = loaded.fd.get() >= 0 ? "accept" : "reject";
    ASSERT_EQ(kernel_verdict, c.program.expected_kernel_verdict())
        << c.program.name << " (" << c.object_file << "): the kernel says " << kernel_verdict
        << (loaded.log.empty() ? "" : ", log tail:\n" + loaded.log.substr(loaded.log.size() - std::min<size_t>(loaded.log.size(), 600)));
    if (kernel_verdict == "reject" && !c.program.kernel_log.empty()) {
        EXPECT_NE(loaded.log.find(c.program.kernel_log), std::string::npos)
            << "expected \"" << c.program.kernel_log << "\" in the verifier log:\n" << loaded.log;
    }

    if (kernel_verdict != "accept") return;
    for (const auto& run : c.program.runs) {
        auto result = test_run(loaded.fd.get(), *type, run.packet);
        ASSERT_TRUE(result.has_value()) << result.error().message << " (" << run.note << ")";
        EXPECT_EQ(*result, run.return_value) << c.program.name << ": " << run.note;
    }
}

INSTANTIATE_TEST_SUITE_P(Corpus, KernelOracle, ::testing::ValuesIn(all_cases()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KernelOracle);

}  // namespace
}  // namespace bpfvet::corpus
