// Many threads on one hash map and one ring buffer while the host reads:
// no lost update, no torn record, counts match. Sized to run in well under
// a second on two cores.
#include "test_support.hpp"

#include <atomic>
#include <cstring>
#include <gtest/gtest.h>
#include <thread>

namespace bpfvet::runtime::test {
namespace {

using ir::MapType;

constexpr int Threads = 4;

TEST(Concurrency, HashMapLosesNoUpdate) {
    auto created = create_map(map_definition("h", MapType::Hash, 8, 16, 4096), Threads, {});
    ASSERT_TRUE(created);
    Map& map = **created;
    constexpr int KeysPerThread = 500;
    constexpr int Rounds = 3;
    std::atomic<bool> stop_reader{false};
    // Each value is {key, key * 3}: a torn read would break the relation.
    std::thread reader([&] {
        uint64_t key = 0, next = 0, value[2];
        while (!stop_reader.load()) {
            const void* previous = nullptr;
            while (map.host_get_next_key(previous, &next) == 0) {
                if (map.host_lookup(&next, value) == 0 && value[1] != value[0] * 3) ADD_FAILURE() << "torn value";
                key = next;
                previous = &key;
            }
        }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < Threads; ++t) {
        writers.emplace_back([&, t] {
            for (int round = 0; round < Rounds; ++round) {
                for (uint64_t i = 0; i < KeysPerThread; ++i) {
                    uint64_t key = uint64_t(t) * 100000 + i;
                    uint64_t value[2] = {key, key * 3};
                    if (map.update(&key, value, UpdateAny, unsigned(t)) != 0) ADD_FAILURE() << "update failed";
                    // Readers of a held pointer see a whole value.
                    auto* held = static_cast<uint64_t*>(map.lookup(&key, unsigned(t)));
                    if (!held || held[1] != held[0] * 3) ADD_FAILURE() << "lookup after update";
                    if (round == Rounds - 1 && i % 2 == 1 && map.erase(&key, unsigned(t)) != 0) ADD_FAILURE() << "erase";
                }
            }
        });
    }
    for (auto& w : writers) w.join();
    stop_reader = true;
    reader.join();
    // Exactly the even keys of every thread remain.
    int remaining = 0;
    uint64_t key = 0, next = 0;
    const void* previous = nullptr;
    while (map.host_get_next_key(previous, &next) == 0) {
        EXPECT_EQ(next % 2, 0u);
        ++remaining;
        key = next;
        previous = &key;
    }
    EXPECT_EQ(remaining, Threads * KeysPerThread / 2);
}

TEST(Concurrency, RingBufferProducersAndOneConsumerNeverLoseOrTear) {
    auto created = create_map(map_definition("r", MapType::Ringbuf, 0, 0, 1 << 14), Threads, {});
    ASSERT_TRUE(created);
    auto& ring = static_cast<RingBuffer&>(**created);
    constexpr int PerThread = 5000;
    std::atomic<int> producers_done{0};
    std::atomic<uint64_t> accepted{0};
    std::vector<uint64_t> received_per_thread(Threads, 0);
    std::vector<uint64_t> last_sequence(Threads, 0);
    uint64_t received = 0;
    std::thread consumer([&] {
        auto take = [&](std::span<const uint8_t> record) {
            // Record: {thread, sequence, sequence ^ magic} x (1 + sequence % 7) words.
            ASSERT_GE(record.size(), 24u);
            uint64_t words[3];
            std::memcpy(words, record.data(), 24);
            uint64_t thread = words[0], sequence = words[1];
            ASSERT_LT(thread, uint64_t(Threads));
            EXPECT_EQ(words[2], sequence ^ 0x5a5a5a5a5a5a5a5aULL) << "torn record";
            EXPECT_EQ(record.size(), 24 * (1 + sequence % 7));
            EXPECT_GT(sequence, last_sequence[thread]) << "records of one producer out of order";
            last_sequence[thread] = sequence;
            ++received_per_thread[thread];
            ++received;
        };
        while (producers_done.load() < Threads) ring.consume(take);
        ring.consume(take);
    });
    std::vector<std::thread> producers;
    for (int t = 0; t < Threads; ++t) {
        producers.emplace_back([&, t] {
            for (uint64_t sequence = 1; sequence <= PerThread; ++sequence) {
                size_t repeats = 1 + sequence % 7;
                auto* record = static_cast<uint64_t*>(ring.reserve(24 * repeats));
                if (!record) continue;  // full: counted as a drop
                for (size_t r = 0; r < repeats; ++r) {
                    record[3 * r] = uint64_t(t);
                    record[3 * r + 1] = sequence;
                    record[3 * r + 2] = sequence ^ 0x5a5a5a5a5a5a5a5aULL;
                }
                RingBuffer::commit_record(record, false);
                accepted.fetch_add(1);
            }
            producers_done.fetch_add(1);
        });
    }
    for (auto& p : producers) p.join();
    consumer.join();
    EXPECT_EQ(received, accepted.load());
    EXPECT_EQ(received + ring.dropped(), uint64_t(Threads) * PerThread) << "every record is received or counted as dropped";
}

}  // namespace
}  // namespace bpfvet::runtime::test
