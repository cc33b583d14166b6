// The kernel's map size limits (runtime/map_limits.hpp), at the boundaries
// the running Linux 6.18 kernel showed for BPF_MAP_CREATE as root, and the
// memory budget of LoadedObject: a map over it is refused before anything is
// allocated, with a message, never std::bad_alloc.
#include "runtime/map_limits.hpp"
#include "runtime/runtime.hpp"

#include <gtest/gtest.h>

namespace bpfvet::runtime {
namespace {

using ir::MapType;

ir::MapDefinition map(MapType type, uint32_t key, uint32_t value, uint32_t entries, uint32_t flags = 0) {
    ir::MapDefinition d;
    d.name = "m";
    d.type = type;
    d.key_size = key;
    d.value_size = value;
    d.max_entries = entries;
    d.flags = flags;
    return d;
}

bool refused(const ir::MapDefinition& d) { return kernel_size_refusal(d).has_value(); }

TEST(MapLimits, HashElementMustBeKmallocable) {
    // key + value < KMALLOC_MAX_SIZE (4 MiB) - sizeof(struct htab_elem) (48)
    EXPECT_FALSE(refused(map(MapType::Hash, 4, 4194251, 1)));
    EXPECT_TRUE(refused(map(MapType::Hash, 4, 4194252, 1)));
    EXPECT_FALSE(refused(map(MapType::Hash, 4194251, 4, 1)));
    EXPECT_TRUE(refused(map(MapType::LruHash, 4, 4194300, 1)));
    EXPECT_TRUE(refused(map(MapType::Hash, 4, 0xffffffffu, 10000)));  // no overflow of key + value
    // A 1 MiB key is fine for the kernel (no MAX_BPF_STACK limit on keys any more).
    EXPECT_FALSE(refused(map(MapType::Hash, 1 << 20, 16, 1)));
    auto why = kernel_size_refusal(map(MapType::Hash, 4, 0xffffffffu, 1));
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("E2BIG"), std::string::npos) << *why;
}

TEST(MapLimits, HashBuckets) {
    EXPECT_FALSE(refused(map(MapType::Hash, 4, 4, 1u << 27)));
    EXPECT_TRUE(refused(map(MapType::Hash, 4, 4, (1u << 27) + 1)));
    EXPECT_TRUE(refused(map(MapType::Hash, 8, 8, 0xffffffffu)));
}

TEST(MapLimits, PerCpuValues) {
    EXPECT_FALSE(refused(map(MapType::PercpuArray, 4, 32768, 1)));
    EXPECT_TRUE(refused(map(MapType::PercpuArray, 4, 32769, 1)));
    EXPECT_FALSE(refused(map(MapType::PercpuHash, 4, 32768, 1)));
    EXPECT_TRUE(refused(map(MapType::LruPercpuHash, 4, 32769, 1)));
}

TEST(MapLimits, ArraysQueuesAndTries) {
    EXPECT_FALSE(refused(map(MapType::Array, 4, 0x7fffffff, 1)));
    EXPECT_TRUE(refused(map(MapType::Array, 4, 0x80000000u, 1)));
    EXPECT_FALSE(refused(map(MapType::Queue, 0, 4194304, 1)));
    EXPECT_TRUE(refused(map(MapType::Stack, 0, 4194305, 1)));
    EXPECT_FALSE(refused(map(MapType::LpmTrie, 8, 4194024, 1, 1)));
    EXPECT_TRUE(refused(map(MapType::LpmTrie, 8, 4194025, 1, 1)));
}

TEST(MapLimits, MemoryDoesNotOverflow) {
    EXPECT_EQ(map_memory_bytes(map(MapType::Array, 4, 8, 1000), 1), 8000u);
    EXPECT_EQ(map_memory_bytes(map(MapType::PercpuArray, 4, 4, 10), 4), 320u);
    EXPECT_EQ(map_memory_bytes(map(MapType::PercpuArray, 4, 0xffffffffu, 0xffffffffu), 1u << 16), UINT64_MAX);
    EXPECT_GT(map_memory_bytes(map(MapType::Hash, 1 << 20, 16, 1000000), 1), 1ull << 39);  // about 1 TB
}

TEST(MapLimits, LoadedObjectRefusesMapsOverItsBudget) {
    // 200 arrays of a million 8-byte values: 1.6 GB, over the 1 GiB default.
    ir::Object object;
    object.path = "many-arrays.o";
    for (int i = 0; i < 200; ++i) object.maps.push_back(map(MapType::Array, 4, 8, 1000000));
    auto loaded = LoadedObject::create(object);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("budget"), std::string::npos) << loaded.error().to_string();
    // A smaller budget refuses sooner; a larger one takes them all.
    RuntimeOptions small;
    small.map_memory_budget = 1 << 20;
    object.maps.resize(1);
    EXPECT_FALSE(LoadedObject::create(object, small));
    object.maps.assign(20, map(MapType::Array, 4, 8, 1000000));
    auto fits = LoadedObject::create(object);
    EXPECT_TRUE(fits) << fits.error().to_string();
}

TEST(MapLimits, LoadedObjectRefusesWhatTheKernelRefuses) {
    ir::Object object;
    object.path = "huge-value.o";
    object.maps.push_back(map(MapType::Hash, 4, 0xffffffffu, 10000));
    auto loaded = LoadedObject::create(object);
    ASSERT_FALSE(loaded);
    EXPECT_NE(loaded.error().message.find("the kernel cannot create it"), std::string::npos) << loaded.error().to_string();
}

}  // namespace
}  // namespace bpfvet::runtime
