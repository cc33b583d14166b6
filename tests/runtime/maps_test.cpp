// Map semantics beyond what the kernel comparison covers: program-side
// per-CPU slots, LRU eviction, map-in-map, program arrays, ring buffers,
// perf event arrays, value alignment and region lookup for checked runs.
#include "test_support.hpp"

#include <cerrno>
#include <cstring>
#include <gtest/gtest.h>

namespace bpfvet::runtime::test {
namespace {

using ir::MapType;

std::unique_ptr<Map> make(MapType type, uint32_t key, uint32_t value, uint32_t max, unsigned cpus = 1,
                          MapServices services = {}) {
    auto map = create_map(map_definition("m", type, key, value, max), cpus, services);
    if (!map) throw std::runtime_error(map.error());
    return std::move(*map);
}

TEST(Maps, ArrayValuesAreAlignedAndBounded) {
    auto map = make(MapType::Array, 4, 3, 4);
    for (uint32_t k = 0; k < 4; ++k) {
        void* value = map->lookup(&k, 0);
        ASSERT_NE(value, nullptr);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(value) % 8, 0u) << "values are 8-byte aligned";
    }
    uint32_t out_of_range = 4;
    EXPECT_EQ(map->lookup(&out_of_range, 0), nullptr);
    uint8_t value[3] = {1, 2, 3};
    EXPECT_EQ(map->update(&out_of_range, value, UpdateAny, 0), -E2BIG);
    uint32_t zero = 0;
    EXPECT_EQ(map->update(&zero, value, UpdateNoExist, 0), -EEXIST);
    EXPECT_EQ(map->update(&zero, value, 7, 0), -EINVAL);
    EXPECT_EQ(map->erase(&zero, 0), -EINVAL);
}

TEST(Maps, PerCpuArrayHasOneSlotPerWorker) {
    auto map = make(MapType::PercpuArray, 4, 4, 2, 3);
    uint32_t key = 1;
    for (unsigned cpu = 0; cpu < 3; ++cpu) {
        uint32_t value = 100 + cpu;
        ASSERT_EQ(map->update(&key, &value, UpdateAny, cpu), 0);
    }
    ASSERT_EQ(map->host_value_size(), 24u);
    uint8_t all[24];
    ASSERT_EQ(map->host_lookup(&key, all), 0);
    for (unsigned cpu = 0; cpu < 3; ++cpu) {
        uint32_t v;
        std::memcpy(&v, all + cpu * 8, 4);
        EXPECT_EQ(v, 100 + cpu);
    }
}

TEST(Maps, PerCpuHashInsertFromProgramZeroesOtherSlots) {
    auto map = make(MapType::PercpuHash, 4, 8, 4, 2);
    uint32_t key = 7;
    uint64_t value = 42;
    ASSERT_EQ(map->update(&key, &value, UpdateAny, 1), 0);
    uint64_t all[2] = {99, 99};
    ASSERT_EQ(map->host_lookup(&key, all), 0);
    EXPECT_EQ(all[0], 0u);
    EXPECT_EQ(all[1], 42u);
    EXPECT_EQ(*static_cast<uint64_t*>(map->lookup(&key, 1)), 42u);
}

TEST(Maps, HashFullGivesE2bigAndReplaceStillWorks) {
    auto map = make(MapType::Hash, 4, 8, 2);
    uint64_t value = 1;
    for (uint32_t k = 0; k < 2; ++k) ASSERT_EQ(map->update(&k, &value, UpdateAny, 0), 0);
    uint32_t third = 2;
    EXPECT_EQ(map->update(&third, &value, UpdateAny, 0), -E2BIG);
    uint32_t first = 0;
    value = 5;
    EXPECT_EQ(map->update(&first, &value, UpdateExist, 0), 0);
    EXPECT_EQ(*static_cast<uint64_t*>(map->lookup(&first, 0)), 5u);
    EXPECT_EQ(map->update(&third, &value, UpdateExist, 0), -ENOENT);
    EXPECT_EQ(map->erase(&third, 0), -ENOENT);
}

TEST(Maps, ReplacingAValueLeavesAnOldPointerWhole) {
    // A program holding a value pointer keeps seeing the old value in full.
    auto map = make(MapType::Hash, 4, 16, 4);
    uint32_t key = 1;
    uint64_t first[2] = {1, 1}, second[2] = {2, 2};
    ASSERT_EQ(map->update(&key, first, UpdateAny, 0), 0);
    auto* held = static_cast<uint64_t*>(map->lookup(&key, 0));
    ASSERT_EQ(map->update(&key, second, UpdateAny, 0), 0);
    EXPECT_EQ(held[0], held[1]);
    EXPECT_EQ(static_cast<uint64_t*>(map->lookup(&key, 0))[0], 2u);
}

TEST(Maps, LruHashEvictsTheColdestInsteadOfFailing) {
    auto map = make(MapType::LruHash, 4, 8, 4);
    uint64_t value = 0;
    for (uint32_t k = 0; k < 4; ++k) ASSERT_EQ(map->update(&k, &value, UpdateAny, 0), 0);
    // Touch 1..3 so that 0 is the coldest... after the reference bits were cleared once.
    uint32_t fresh = 10;
    ASSERT_EQ(map->update(&fresh, &value, UpdateAny, 0), 0);
    EXPECT_NE(map->lookup(&fresh, 0), nullptr);
    int present = 0;
    for (uint32_t k = 0; k < 4; ++k) present += map->lookup(&k, 0) != nullptr;
    EXPECT_EQ(present, 3) << "exactly one old key was evicted";
    uint32_t key = 0;
    uint32_t next;
    int count = 0;
    const void* previous = nullptr;
    while (map->host_get_next_key(previous, &next) == 0 && count < 10) {
        key = next;
        previous = &key;
        ++count;
    }
    EXPECT_EQ(count, 4);
}

TEST(Maps, QueueAndStackOrder) {
    auto queue = make(MapType::Queue, 0, 4, 3);
    auto stack = make(MapType::Stack, 0, 4, 3);
    for (uint32_t v = 1; v <= 3; ++v) {
        ASSERT_EQ(queue->push(&v, UpdateAny), 0);
        ASSERT_EQ(stack->push(&v, UpdateAny), 0);
    }
    uint32_t v = 4;
    EXPECT_EQ(queue->push(&v, UpdateAny), -E2BIG);
    EXPECT_EQ(queue->push(&v, UpdateExist), 0) << "BPF_EXIST overwrites the oldest";
    uint32_t out;
    ASSERT_EQ(queue->pop(&out), 0);
    EXPECT_EQ(out, 2u);
    ASSERT_EQ(stack->pop(&out), 0);
    EXPECT_EQ(out, 3u);
    ASSERT_EQ(stack->peek(&out), 0);
    EXPECT_EQ(out, 2u);
    while (stack->pop(&out) == 0) {}
    EXPECT_EQ(stack->pop(&out), -ENOENT);
}

TEST(Maps, MapInMapStoresIdsAndHandsProgramsTheInnerMap) {
    ir::Object object;
    object.maps.push_back(map_definition("inner", MapType::Array, 4, 8, 1));
    auto outer = map_definition("outer", MapType::ArrayOfMaps, 4, 4, 2);
    outer.inner_map = 0;
    object.maps.push_back(outer);
    object.maps.push_back(map_definition("hash_outer", MapType::HashOfMaps, 4, 4, 2));
    object.maps.push_back(map_definition("wrong", MapType::Hash, 4, 8, 1));
    auto loaded = load_or_die(std::move(object));
    Map* array_of_maps = loaded->find_map("outer");
    Map* hash_of_maps = loaded->find_map("hash_outer");
    uint32_t key = 1, inner_id = 0, wrong_id = 3, bad_id = 99;
    EXPECT_EQ(array_of_maps->host_update(&key, &bad_id, UpdateAny), -EBADF);
    EXPECT_EQ(array_of_maps->host_update(&key, &wrong_id, UpdateAny), -EINVAL) << "inner map must match the template";
    ASSERT_EQ(array_of_maps->host_update(&key, &inner_id, UpdateAny), 0);
    EXPECT_EQ(array_of_maps->lookup(&key, 0), loaded->map(0));
    uint32_t id = 7;
    ASSERT_EQ(array_of_maps->host_lookup(&key, &id), 0);
    EXPECT_EQ(id, 0u);
    ASSERT_EQ(hash_of_maps->host_update(&key, &inner_id, UpdateAny), 0);
    EXPECT_EQ(hash_of_maps->lookup(&key, 0), loaded->map(0));
    EXPECT_EQ(array_of_maps->host_delete(&key), 0);
    EXPECT_EQ(array_of_maps->lookup(&key, 0), nullptr);
}

TEST(Maps, RingBufferKeepsOrderCountsDropsAndSkipsDiscards) {
    auto map = make(MapType::Ringbuf, 0, 0, 4096);
    auto& ring = static_cast<RingBuffer&>(*map);
    for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(ring.output(&i, 4), 0);
    void* discarded = ring.reserve(8);
    ASSERT_NE(discarded, nullptr);
    RingBuffer::commit_record(discarded, true);
    std::vector<uint32_t> seen;
    ring.consume([&](std::span<const uint8_t> record) {
        ASSERT_EQ(record.size(), 4u);
        uint32_t v;
        std::memcpy(&v, record.data(), 4);
        seen.push_back(v);
    });
    EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1, 2}));
    // 4096 bytes hold 256 records of 8 + 8; the next one is dropped.
    uint64_t payload = 0;
    int accepted = 0;
    while (ring.output(&payload, 8) == 0) ++accepted;
    EXPECT_EQ(accepted, 256);
    EXPECT_EQ(ring.dropped(), 1u);
    EXPECT_EQ(ring.consume([](auto) {}), 256u);
    EXPECT_EQ(ring.available(), 0u);
}

TEST(Maps, RingBufferRecordsWrapWithoutTearing) {
    auto map = make(MapType::Ringbuf, 0, 0, 4096);
    auto& ring = static_cast<RingBuffer&>(*map);
    std::vector<uint8_t> record(1000);
    for (int round = 0; round < 20; ++round) {
        std::fill(record.begin(), record.end(), uint8_t(round));
        ASSERT_EQ(ring.output(record.data(), record.size()), 0) << round;
        size_t consumed = ring.consume([&](std::span<const uint8_t> r) {
            ASSERT_EQ(r.size(), 1000u);
            EXPECT_TRUE(std::all_of(r.begin(), r.end(), [&](uint8_t b) { return b == uint8_t(round); }));
        });
        EXPECT_EQ(consumed, 1u);
    }
}

TEST(Maps, PerfEventArrayDeliversToTheHost) {
    std::vector<std::pair<uint32_t, std::vector<uint8_t>>> delivered;
    MapServices services;
    services.perf_output = [&](const Map&, uint32_t cpu, std::span<const uint8_t> bytes) {
        delivered.emplace_back(cpu, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    };
    auto map = make(MapType::PerfEventArray, 4, 4, 4, 1, services);
    auto& perf = static_cast<PerfEventArray&>(*map);
    uint8_t data[3] = {1, 2, 3};
    EXPECT_EQ(perf.output(CurrentCpu, 2, data, 3), 0);
    EXPECT_EQ(perf.output(1, 0, data, 3), 0);
    EXPECT_EQ(perf.output(9, 0, data, 3), -E2BIG);
    ASSERT_EQ(delivered.size(), 2u);
    EXPECT_EQ(delivered[0].first, 2u);
    EXPECT_EQ(delivered[1].first, 1u);
}

TEST(Maps, ValueRegionsCoverExactlyOneValue) {
    auto map = make(MapType::Hash, 4, 12, 4);
    uint32_t key = 3;
    uint8_t value[12] = {};
    ASSERT_EQ(map->update(&key, value, UpdateAny, 0), 0);
    auto address = reinterpret_cast<uint64_t>(map->lookup(&key, 0));
    auto region = map->value_region(address + 4, 8);
    ASSERT_TRUE(region);
    EXPECT_EQ(region->begin, address);
    EXPECT_EQ(region->size, 12u);
    EXPECT_FALSE(region->contains(address + 8, 8)) << "a value's padding is not part of it";
    EXPECT_FALSE(map->value_region(address - 8, 4)) << "the element header is not a value";
}

TEST(Maps, CreationErrorsNameTheMap) {
    auto bad = create_map(map_definition("counts", MapType::Array, 8, 4, 1), 1, {});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("counts"), std::string::npos);
    auto unsupported = create_map(map_definition("trie", MapType::LpmTrie, 8, 4, 1), 1, {});
    ASSERT_FALSE(unsupported);
    EXPECT_NE(unsupported.error().find("lpm"), std::string::npos) << unsupported.error();
}

}  // namespace
}  // namespace bpfvet::runtime::test
