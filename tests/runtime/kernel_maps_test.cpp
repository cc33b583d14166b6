// The same operation sequences on a kernel map (bpf(2)) and on ours must give
// the same results and error codes. Skipped cleanly where bpf(2) is not
// permitted (EPERM, ENOSYS). Program arrays and map-in-map need kernel file
// descriptors as values and ring buffers have no host operations: those are
// covered by maps_test.cpp only.
#include "test_support.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <random>
#include <set>
#include <sys/syscall.h>
#include <unistd.h>

namespace bpfvet::runtime::test {
namespace {

using Bytes = std::vector<uint8_t>;

long bpf(int command, bpf_attr& attr) { return syscall(__NR_bpf, command, &attr, sizeof attr); }

// Results normalised as (return code, bytes): -errno on failure.
struct Result {
    long code;
    Bytes bytes;
    friend bool operator==(const Result&, const Result&) = default;
};

std::ostream& operator<<(std::ostream& os, const Result& r) {
    os << "code " << r.code << " bytes";
    for (uint8_t b : r.bytes) os << ' ' << int(b);
    return os;
}

class KernelMap {
public:
    explicit KernelMap(int fd) : fd_(fd) {}
    ~KernelMap() { close(fd_); }
    long call(int command, const void* key, void* value, uint64_t flags, void* next = nullptr) {
        bpf_attr attr{};
        attr.map_fd = uint32_t(fd_);
        attr.key = reinterpret_cast<uint64_t>(key);
        if (next) attr.next_key = reinterpret_cast<uint64_t>(next);
        else attr.value = reinterpret_cast<uint64_t>(value);
        attr.flags = flags;
        return bpf(command, attr) == 0 ? 0 : -errno;
    }

private:
    int fd_;
};

unsigned possible_cpus() {
    std::ifstream in("/sys/devices/system/cpu/possible");
    std::string text;
    in >> text;  // "0-N" or "0"
    auto dash = text.find('-');
    return dash == std::string::npos ? 1 : unsigned(std::stoul(text.substr(dash + 1)) + 1);
}

// Creates the kernel map, or skips the test when bpf(2) is not allowed here.
std::optional<int> create_kernel_map(const ir::MapDefinition& d, std::string& skip_reason) {
    bpf_attr attr{};
    attr.map_type = uint32_t(d.type);
    attr.key_size = d.key_size;
    attr.value_size = d.value_size;
    attr.max_entries = d.max_entries;
    attr.map_flags = d.flags;
    long fd = bpf(BPF_MAP_CREATE, attr);
    if (fd < 0) {
        skip_reason = std::string("bpf(BPF_MAP_CREATE): ") + std::strerror(errno);
        return std::nullopt;
    }
    return int(fd);
}

struct Pair {
    std::unique_ptr<KernelMap> kernel;
    std::unique_ptr<LoadedObject> ours_object;
    Map* ours;
};

// Both maps, or nullopt with a reason to skip.
std::optional<Pair> make_pair(const ir::MapDefinition& definition, std::string& skip) {
    auto fd = create_kernel_map(definition, skip);
    if (!fd) return std::nullopt;
    ir::Object object;
    object.maps.push_back(definition);
    RuntimeOptions options;
    options.cpus = possible_cpus();
    auto loaded = load_or_die(std::move(object), options);
    Map* map = loaded->map(0);
    return Pair{std::make_unique<KernelMap>(*fd), std::move(loaded), map};
}

enum class Operation { Lookup, Update, Delete, NextKey, LookupAndDelete, Push, Pop, Peek };

// A deterministic random script over a small key space, run on both maps;
// every step's result must agree. Iteration order is the kernel's business:
// after the script, the sets of keys reached by get_next_key must agree.
void compare(const ir::MapDefinition& definition, std::vector<Operation> operations, uint32_t key_space,
             std::set<long>* codes_seen = nullptr, int steps = 600) {
    std::string skip;
    auto pair = make_pair(definition, skip);
    if (!pair) GTEST_SKIP() << skip;
    Map& ours = *pair->ours;
    KernelMap& kernel = *pair->kernel;
    size_t value_size = ours.host_value_size();
    uint32_t key_size = definition.key_size;
    bool hash_like = definition.type != ir::MapType::Array && definition.type != ir::MapType::PercpuArray;

    std::mt19937 random(1234);
    auto random_key = [&] {
        Bytes key(key_size, 0);
        uint32_t k = random() % key_space;
        if (definition.type == ir::MapType::LpmTrie) {
            // {prefixlen, 10.x.y.0}: prefixes 0..33 (33 is invalid), a few networks.
            uint32_t prefix = random() % 34;
            std::memcpy(key.data(), &prefix, 4);
            key[4] = 10;
            key[5] = uint8_t(k % 3);
            key[6] = uint8_t(k % 2 ? 0x80 : 0);
            return key;
        }
        std::memcpy(key.data(), &k, std::min<size_t>(4, key_size));
        return key;
    };
    auto random_value = [&] {
        Bytes value(value_size);
        for (auto& b : value) b = uint8_t(random());
        return value;
    };
    // Per-CPU host values: only value_size bytes of each round_up_8 slot are
    // stored; mask the padding so both sides are compared on meaning.
    auto meaningful = [&](Bytes value) {
        if (!ours.is_per_cpu()) return value;
        size_t slot = round_up_8(definition.value_size);
        for (size_t i = 0; i < value.size(); ++i)
            if (i % slot >= definition.value_size) value[i] = 0;
        return value;
    };

    for (int step = 0; step < steps; ++step) {
        Operation op = operations[random() % operations.size()];
        Bytes key = random_key();
        Bytes kernel_value(value_size), our_value(value_size);
        Result k, o;
        switch (op) {
        case Operation::Lookup:
            k.code = kernel.call(BPF_MAP_LOOKUP_ELEM, key.data(), kernel_value.data(), 0);
            o.code = ours.host_lookup(key.data(), our_value.data());
            if (k.code == 0) k.bytes = meaningful(kernel_value);
            if (o.code == 0) o.bytes = meaningful(our_value);
            break;
        case Operation::Update: {
            Bytes value = random_value();
            uint64_t flags = random() % 5;  // BPF_ANY, NOEXIST, EXIST, 3 (invalid), BPF_F_LOCK (no lock: invalid)
            k.code = kernel.call(BPF_MAP_UPDATE_ELEM, key.data(), value.data(), flags);
            o.code = ours.host_update(key.data(), value.data(), flags);
            break;
        }
        case Operation::Delete:
            k.code = kernel.call(BPF_MAP_DELETE_ELEM, key.data(), nullptr, 0);
            o.code = ours.host_delete(key.data());
            break;
        case Operation::NextKey: {
            Bytes kernel_next(key_size), our_next(key_size);
            k.code = kernel.call(BPF_MAP_GET_NEXT_KEY, key.data(), nullptr, 0, kernel_next.data());
            o.code = ours.host_get_next_key(key.data(), our_next.data());
            if (!hash_like) {  // arrays have one order: compare the key itself
                if (k.code == 0) k.bytes = kernel_next;
                if (o.code == 0) o.bytes = our_next;
            } else {
                // Whether a present key is the last depends on bucket order,
                // which is each implementation's own: accept 0 or -ENOENT for
                // it. An absent key must restart (0) unless the map is empty.
                Bytes scratch(value_size);
                bool present = ours.host_lookup(key.data(), scratch.data()) == 0;
                if (present) {
                    EXPECT_TRUE(k.code == 0 || k.code == -ENOENT);
                    EXPECT_TRUE(o.code == 0 || o.code == -ENOENT);
                    k.code = o.code = 0;
                }
            }
            break;
        }
        case Operation::LookupAndDelete:
            k.code = kernel.call(BPF_MAP_LOOKUP_AND_DELETE_ELEM, key.data(), kernel_value.data(), 0);
            o.code = ours.host_lookup_and_delete(key.data(), our_value.data());
            if (k.code == 0) k.bytes = meaningful(kernel_value);
            if (o.code == 0) o.bytes = meaningful(our_value);
            break;
        case Operation::Push: {
            Bytes value = random_value();
            uint64_t flags = random() % 3;  // BPF_ANY, BPF_NOEXIST (invalid for queues), BPF_EXIST (overwrite)
            k.code = kernel.call(BPF_MAP_UPDATE_ELEM, nullptr, value.data(), flags);
            o.code = ours.host_update(nullptr, value.data(), flags);
            break;
        }
        case Operation::Pop:
            k.code = kernel.call(BPF_MAP_LOOKUP_AND_DELETE_ELEM, nullptr, kernel_value.data(), 0);
            o.code = ours.host_lookup_and_delete(nullptr, our_value.data());
            if (k.code == 0) k.bytes = kernel_value;
            if (o.code == 0) o.bytes = our_value;
            break;
        case Operation::Peek:
            k.code = kernel.call(BPF_MAP_LOOKUP_ELEM, nullptr, kernel_value.data(), 0);
            o.code = ours.host_lookup(nullptr, our_value.data());
            if (k.code == 0) k.bytes = kernel_value;
            if (o.code == 0) o.bytes = our_value;
            break;
        }
        if (codes_seen) codes_seen->insert(k.code);
        ASSERT_EQ(o, k) << "step " << step << ", operation " << int(op) << ", key " << int(key.empty() ? 0 : key[0]);
    }
    if (!hash_like || definition.key_size == 0) return;
    auto keys_of = [&](auto&& next_key) {
        std::set<Bytes> keys;
        Bytes current(key_size), next(key_size);
        const void* previous = nullptr;
        while (next_key(previous, next.data()) == 0 && keys.size() <= definition.max_entries) {
            keys.insert(next);
            current = next;
            previous = current.data();
        }
        return keys;
    };
    auto kernel_keys = keys_of([&](const void* k, void* n) { return kernel.call(BPF_MAP_GET_NEXT_KEY, k, nullptr, 0, n); });
    auto our_keys = keys_of([&](const void* k, void* n) { return ours.host_get_next_key(k, n); });
    EXPECT_EQ(our_keys, kernel_keys);
}

using enum Operation;
using ir::MapType;
using testing::Test;

// Each script must reach the interesting outcomes, or the comparison proves little.
void expect_codes(const std::set<long>& seen, std::initializer_list<long> wanted) {
    for (long code : wanted) EXPECT_TRUE(seen.contains(code)) << "the script never produced " << code;
}

TEST(KernelMaps, Array) {
    std::set<long> seen;
    compare(map_definition("a", MapType::Array, 4, 12, 8), {Lookup, Update, Delete, NextKey}, 12, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EEXIST, -EINVAL, -E2BIG});
}
TEST(KernelMaps, PercpuArray) {
    std::set<long> seen;
    compare(map_definition("a", MapType::PercpuArray, 4, 12, 8), {Lookup, Update, Delete, NextKey}, 12, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EEXIST, -EINVAL, -E2BIG});
}
TEST(KernelMaps, Hash) {
    std::set<long> seen;
    compare(map_definition("h", MapType::Hash, 6, 10, 8), {Lookup, Update, Update, Update, Delete, NextKey, LookupAndDelete}, 16, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EEXIST, -EINVAL, -E2BIG});
}
TEST(KernelMaps, PercpuHash) {
    std::set<long> seen;
    compare(map_definition("h", MapType::PercpuHash, 4, 12, 8), {Lookup, Update, Update, Update, Delete, NextKey, LookupAndDelete}, 16, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EEXIST, -EINVAL, -E2BIG});
}
// LRU maps evict by the kernel's own heuristics (per-CPU free lists); below
// capacity their semantics are those of a hash map, which is what we compare.
TEST(KernelMaps, LruHashBelowCapacity) {
    std::set<long> seen;
    compare(map_definition("l", MapType::LruHash, 4, 8, 512), {Lookup, Update, Delete, NextKey, LookupAndDelete}, 32, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EEXIST, -EINVAL});
}
TEST(KernelMaps, LruPercpuHashBelowCapacity) {
    std::set<long> seen;
    compare(map_definition("l", MapType::LruPercpuHash, 4, 8, 512), {Lookup, Update, Delete, NextKey}, 32, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EEXIST, -EINVAL});
}
TEST(KernelMaps, Queue) {
    std::set<long> seen;
    compare(map_definition("q", MapType::Queue, 0, 8, 6), {Push, Push, Push, Pop, Peek}, 1, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EINVAL, -E2BIG});
}
TEST(KernelMaps, Stack) {
    std::set<long> seen;
    compare(map_definition("s", MapType::Stack, 0, 8, 6), {Push, Push, Push, Pop, Peek}, 1, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EINVAL, -E2BIG});
}

TEST(KernelMaps, LpmTrie) {
    std::set<long> seen;
    auto definition = map_definition("t", MapType::LpmTrie, 8, 8, 12);
    definition.flags = BPF_F_NO_PREALLOC;
    compare(definition, {Lookup, Update, Update, Update, Delete}, 16, &seen);
    if (!IsSkipped()) expect_codes(seen, {0, -ENOENT, -EEXIST, -EINVAL, -ENOSPC});
}

// Creation rules: the kernel and we refuse the same malformed definitions.
TEST(KernelMaps, CreationRules) {
    std::string skip;
    struct Shape {
        MapType type;
        uint32_t key, value, max;
    };
    const Shape shapes[] = {
        {MapType::Array, 8, 4, 4},  {MapType::Array, 4, 0, 4},  {MapType::Array, 4, 4, 0},
        {MapType::Hash, 0, 4, 4},   {MapType::Hash, 4, 0, 4},   {MapType::Queue, 4, 4, 4},
        {MapType::Ringbuf, 0, 0, 1000}, {MapType::Ringbuf, 0, 0, 4096}, {MapType::Ringbuf, 4, 0, 4096},
        {MapType::Array, 4, 4, 4},  {MapType::Stack, 0, 8, 4},
    };
    for (const auto& s : shapes) {
        auto definition = map_definition("m", s.type, s.key, s.value, s.max);
        auto fd = create_kernel_map(definition, skip);
        if (!fd && (skip.find("Operation not permitted") != std::string::npos || skip.find("Function not implemented") != std::string::npos))
            GTEST_SKIP() << skip;
        if (fd) close(*fd);
        auto ours = create_map(definition, 1, {});
        EXPECT_EQ(bool(ours), bool(fd)) << ir::map_type_name(s.type) << " key " << s.key << " value " << s.value
                                        << " max " << s.max << ": kernel " << (fd ? "accepts" : skip)
                                        << ", ours " << (ours ? "accepts" : ours.error());
    }
}

}  // namespace
}  // namespace bpfvet::runtime::test
