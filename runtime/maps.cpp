// The map types. Layout decisions shared with the JIT (docs/runtime.md):
// values are 8-byte aligned and never move while the map lives, so a pointer a
// program got from lookup stays valid memory (as with the kernel's
// preallocated maps, a deleted element may be reused by a later insert).
#include "runtime/map.hpp"

#include "runtime/map_limits.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <mutex>
#include <new>
#include <vector>

namespace bpfvet::runtime {
namespace {

using ir::MapType;

// Test-and-test-and-set lock: buckets are held for a few hundred cycles at most.
class SpinLock {
public:
    void lock() {
        while (locked_.exchange(true, std::memory_order_acquire))
            while (locked_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
    void unlock() { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

// Zeroed, 64-byte aligned, never reallocated.
struct AlignedBytes {
    explicit AlignedBytes(size_t size) : size(size) {
        size_t rounded = std::max<size_t>(64, (size + 63) / 64 * 64);
        data = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
        if (!data) throw std::bad_alloc();
        std::memset(data, 0, rounded);
    }
    ~AlignedBytes() { std::free(data); }
    AlignedBytes(const AlignedBytes&) = delete;
    AlignedBytes& operator=(const AlignedBytes&) = delete;
    uint8_t* data;
    size_t size;
};

uint32_t read_u32(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Update flags the kernel accepts for ordinary maps: BPF_ANY, BPF_NOEXIST, BPF_EXIST
// (BPF_F_LOCK needs a bpf_spin_lock in the value, which we do not model: -EINVAL).
bool valid_update_flags(uint64_t flags) { return flags <= UpdateExist; }

// ---------------------------------------------------------------- arrays

class ArrayMap final : public Map {
public:
    ArrayMap(ir::MapDefinition definition, unsigned cpus)
        : Map(std::move(definition), cpus),
          stride_(round_up_8(this->definition().value_size)),
          slots_(is_per_cpu() ? cpus : 1),
          storage_(size_t(this->definition().max_entries) * stride_ * slots_) {
        const auto& initial = this->definition().initial_value;
        std::memcpy(storage_.data, initial.data(), std::min<size_t>(initial.size(), this->definition().value_size));
    }

    void* lookup(const void* key, unsigned cpu) override {
        uint32_t index = read_u32(key);
        if (index >= definition().max_entries) return nullptr;
        return slot(index, slots_ == 1 ? 0 : cpu);
    }
    long update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
        if (long error = check_update(key, flags)) return error;
        std::memcpy(slot(read_u32(key), slots_ == 1 ? 0 : cpu), value, definition().value_size);
        return 0;
    }
    long erase(const void*, unsigned) override { return -EINVAL; }
    long host_lookup(const void* key, void* value) override {
        uint32_t index = read_u32(key);
        if (index >= definition().max_entries) return -ENOENT;
        if (slots_ == 1) {
            std::memcpy(value, slot(index, 0), definition().value_size);
        } else {
            for (unsigned cpu = 0; cpu < slots_; ++cpu)
                std::memcpy(static_cast<uint8_t*>(value) + cpu * stride_, slot(index, cpu), stride_);
        }
        return 0;
    }
    long host_update(const void* key, const void* value, uint64_t flags) override {
        if (long error = check_update(key, flags)) return error;
        uint32_t index = read_u32(key);
        if (slots_ == 1) {
            std::memcpy(slot(index, 0), value, definition().value_size);
        } else {
            for (unsigned cpu = 0; cpu < slots_; ++cpu)
                std::memcpy(slot(index, cpu), static_cast<const uint8_t*>(value) + cpu * stride_,
                            definition().value_size);
        }
        return 0;
    }
    long host_delete(const void*) override { return -EINVAL; }
    long host_get_next_key(const void* key, void* next_key) override {
        return array_next_key(key, next_key, definition().max_entries);
    }
    std::optional<DirectArray> direct_array() const override {
        if (slots_ != 1) return std::nullopt;
        return DirectArray{storage_.data, uint32_t(stride_), definition().max_entries};
    }
    std::optional<Region> value_region(uint64_t address, uint64_t length) const override {
        auto base = reinterpret_cast<uint64_t>(storage_.data);
        if (address < base || address - base >= storage_.size) return std::nullopt;
        uint64_t begin = base + (address - base) / stride_ * stride_;
        bool global = definition().is_global_data;
        return Region{begin, definition().value_size, !definition().read_only,
                      global ? RegionKind::GlobalData : RegionKind::MapValue};
    }

    static long array_next_key(const void* key, void* next_key, uint32_t max_entries) {
        // Kernel: a missing or out-of-range key restarts at 0; the last key ends.
        uint32_t index = key ? read_u32(key) : max_entries;
        if (index >= max_entries) {
            uint32_t zero = 0;
            std::memcpy(next_key, &zero, 4);
            return max_entries == 0 ? -ENOENT : 0;
        }
        if (index == max_entries - 1) return -ENOENT;
        uint32_t next = index + 1;
        std::memcpy(next_key, &next, 4);
        return 0;
    }

private:
    long check_update(const void* key, uint64_t flags) const {
        if (!valid_update_flags(flags)) return -EINVAL;
        if (read_u32(key) >= definition().max_entries) return -E2BIG;
        if (flags == UpdateNoExist) return -EEXIST;  // every element of an array exists
        return 0;
    }
    uint8_t* slot(uint32_t index, unsigned cpu) const {
        return storage_.data + (size_t(index) * slots_ + cpu) * stride_;
    }

    uint64_t stride_;
    unsigned slots_;
    AlignedBytes storage_;
};

// ---------------------------------------------------------------- hash tables

// A preallocated chained hash table, one spin lock per bucket. Each element is
//   [next u32][hash u32][referenced u8 ...pad to 16][key, rounded to 8][value area]
// where the value area is one rounded value, or one per CPU for per-CPU maps.
// Replacing a value links a fresh element in place of the old one, so a reader
// holding the old value sees it whole, never half old and half new.
class HashTable {
public:
    static constexpr uint32_t None = UINT32_MAX;

    HashTable(uint32_t key_size, uint64_t value_area, uint32_t max_entries, bool lru, size_t spare)
        : key_size_(key_size),
          key_area_(round_up_8(key_size)),
          value_area_(value_area),
          stride_(16 + key_area_ + value_area),
          max_entries_(max_entries),
          lru_(lru),
          capacity_(size_t(max_entries) + spare),
          buckets_(std::bit_ceil(std::max<size_t>(max_entries, 2))),
          pool_(capacity_ * stride_) {
        free_.reserve(capacity_);
        for (size_t i = capacity_; i-- > 0;) free_.push_back(uint32_t(i));
        for (auto& bucket : buckets_) bucket.head = None;
    }

    [[nodiscard]] uint64_t hash(const void* key) const {
        // Eight key bytes per multiply (the last word zero-padded), then a
        // final avalanche (splitmix64): a 13-byte 5-tuple costs two rounds,
        // not the thirteen of a byte-wise hash.
        auto bytes = static_cast<const uint8_t*>(key);
        uint64_t h = 0x9e3779b97f4a7c15ULL ^ key_size_;
        auto mix = [&](uint64_t word) {
            h = (h ^ word) * 0xff51afd7ed558ccdULL;
            h ^= h >> 32;
        };
        uint32_t i = 0;
        for (; i + 8 <= key_size_; i += 8) {
            uint64_t word;
            std::memcpy(&word, bytes + i, 8);
            mix(word);
        }
        if (i < key_size_) {
            uint64_t word = 0;
            for (uint32_t j = 0; i + j < key_size_; ++j) word |= uint64_t(bytes[i + j]) << (8 * j);
            mix(word);
        }
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        return h;
    }

    // The value area of `key`, or nullptr.
    uint8_t* find(const void* key) {
        uint64_t h = hash(key);
        Bucket& bucket = bucket_of(h);
        std::lock_guard guard(bucket.lock);
        uint32_t index = find_locked(bucket, key, uint32_t(h));
        if (index == None) return nullptr;
        if (lru_) referenced(index).store(1, std::memory_order_relaxed);
        return value_of(index);
    }

    // `fill(destination, existing)` writes the value area; `existing` is the old
    // area when replacing (nullptr on insert). `in_place` updates the existing
    // element directly (per-CPU maps, whose other CPUs' slots must survive).
    template <typename Fill>
    long update(const void* key, uint64_t flags, bool in_place, Fill&& fill) {
        uint64_t h = hash(key);
        Bucket& bucket = bucket_of(h);
        for (;;) {
            std::unique_lock guard(bucket.lock);
            uint32_t old = find_locked(bucket, key, uint32_t(h));
            if (old != None && flags == UpdateNoExist) return -EEXIST;
            if (old == None && flags == UpdateExist) return -ENOENT;
            if (old != None) {
                uint32_t fresh = in_place ? None : allocate();
                if (fresh == None) {  // per-CPU, or every spare element in flight: copy in place
                    fill(value_of(old), value_of(old));
                    return 0;
                }
                initialise(fresh, key, uint32_t(h));
                fill(value_of(fresh), value_of(old));
                replace_locked(bucket, old, fresh);
                guard.unlock();
                release(old);
                return 0;
            }
            if (count_.fetch_add(1, std::memory_order_acq_rel) >= max_entries_) {
                count_.fetch_sub(1, std::memory_order_acq_rel);
                if (!lru_) return -E2BIG;
                guard.unlock();
                evict_one();
                continue;  // the table changed while unlocked: look again
            }
            uint32_t fresh = allocate();
            if (fresh == None) {  // only while other threads' replacements are in flight
                count_.fetch_sub(1, std::memory_order_acq_rel);
                guard.unlock();
                __builtin_ia32_pause();
                continue;
            }
            initialise(fresh, key, uint32_t(h));
            fill(value_of(fresh), nullptr);
            next(fresh) = bucket.head;
            bucket.head = fresh;
            return 0;
        }
    }

    long erase(const void* key, uint8_t* copy_out = nullptr) {
        uint64_t h = hash(key);
        Bucket& bucket = bucket_of(h);
        std::unique_lock guard(bucket.lock);
        uint32_t index = find_locked(bucket, key, uint32_t(h));
        if (index == None) return -ENOENT;
        if (copy_out) std::memcpy(copy_out, value_of(index), value_area_);
        unlink_locked(bucket, index);
        guard.unlock();
        release(index);
        count_.fetch_sub(1, std::memory_order_acq_rel);
        return 0;
    }

    // Copies the value area of `key` under its bucket lock.
    long copy_value(const void* key, uint8_t* out) {
        uint64_t h = hash(key);
        Bucket& bucket = bucket_of(h);
        std::lock_guard guard(bucket.lock);
        uint32_t index = find_locked(bucket, key, uint32_t(h));
        if (index == None) return -ENOENT;
        std::memcpy(out, value_of(index), value_area_);
        return 0;
    }

    // Kernel order of iteration: along the key's chain, then the following
    // buckets; a key that is absent restarts from the first bucket.
    long next_key(const void* key, void* next_key) {
        size_t start = 0;
        if (key) {
            uint64_t h = hash(key);
            Bucket& bucket = bucket_of(h);
            std::lock_guard guard(bucket.lock);
            uint32_t index = find_locked(bucket, key, uint32_t(h));
            if (index != None) {
                if (next(index) != None) {
                    std::memcpy(next_key, key_of(next(index)), key_size_);
                    return 0;
                }
                start = size_t(&bucket - buckets_.data()) + 1;
            }
        }
        for (size_t b = start; b < buckets_.size(); ++b) {
            std::lock_guard guard(buckets_[b].lock);
            if (buckets_[b].head != None) {
                std::memcpy(next_key, key_of(buckets_[b].head), key_size_);
                return 0;
            }
        }
        return -ENOENT;
    }

    // The element whose value area holds [address, address + length).
    [[nodiscard]] std::optional<std::pair<uint64_t, uint64_t>> value_area_at(uint64_t address) const {
        auto base = reinterpret_cast<uint64_t>(pool_.data);
        if (address < base || address - base >= pool_.size) return std::nullopt;
        uint64_t element = (address - base) / stride_;
        uint64_t value_begin = base + element * stride_ + 16 + key_area_;
        if (address < value_begin) return std::nullopt;
        return std::pair{value_begin, value_area_};
    }

    [[nodiscard]] uint32_t count() const { return count_.load(std::memory_order_relaxed); }

private:
    struct Bucket {
        SpinLock lock;
        uint32_t head;
    };

    uint8_t* element(uint32_t index) const { return pool_.data + size_t(index) * stride_; }
    uint32_t& next(uint32_t index) const { return *reinterpret_cast<uint32_t*>(element(index)); }
    uint32_t& stored_hash(uint32_t index) const { return *reinterpret_cast<uint32_t*>(element(index) + 4); }
    std::atomic<uint8_t>& referenced(uint32_t index) const {
        return *reinterpret_cast<std::atomic<uint8_t>*>(element(index) + 8);
    }
    uint8_t* key_of(uint32_t index) const { return element(index) + 16; }
    uint8_t* value_of(uint32_t index) const { return element(index) + 16 + key_area_; }
    Bucket& bucket_of(uint64_t h) { return buckets_[h & (buckets_.size() - 1)]; }

    // Word by word: keys are short, and a call of memcmp cost more than the compare.
    bool same_key(const uint8_t* a, const uint8_t* b) const {
        uint32_t i = 0;
        for (; i + 8 <= key_size_; i += 8) {
            uint64_t x, y;
            std::memcpy(&x, a + i, 8);
            std::memcpy(&y, b + i, 8);
            if (x != y) return false;
        }
        for (; i < key_size_; ++i)
            if (a[i] != b[i]) return false;
        return true;
    }

    uint32_t find_locked(const Bucket& bucket, const void* key, uint32_t h) const {
        for (uint32_t i = bucket.head; i != None; i = next(i))
            if (stored_hash(i) == h && same_key(key_of(i), static_cast<const uint8_t*>(key))) return i;
        return None;
    }
    void initialise(uint32_t index, const void* key, uint32_t h) const {
        next(index) = None;
        stored_hash(index) = h;
        referenced(index).store(1, std::memory_order_relaxed);
        std::memcpy(key_of(index), key, key_size_);
    }
    void replace_locked(Bucket& bucket, uint32_t old, uint32_t fresh) {
        next(fresh) = next(old);
        uint32_t* link = &bucket.head;
        while (*link != old) link = &next(*link);
        *link = fresh;
    }
    void unlink_locked(Bucket& bucket, uint32_t index) {
        uint32_t* link = &bucket.head;
        while (*link != index) link = &next(*link);
        *link = next(index);
    }
    uint32_t allocate() {
        std::lock_guard guard(free_lock_);
        if (free_.empty()) return None;
        uint32_t index = free_.back();
        free_.pop_back();
        in_use_at(index) = true;
        return index;
    }
    void release(uint32_t index) {
        std::lock_guard guard(free_lock_);
        in_use_at(index) = false;
        free_.push_back(index);
    }
    // Byte 9 of the header: whether the element is linked (guarded by free_lock_).
    bool& in_use_at(uint32_t index) const { return *reinterpret_cast<bool*>(element(index) + 9); }

    // CLOCK approximation of least-recently-used, like the kernel's reference
    // bits: skip (and clear) recently used elements, evict the first cold one.
    void evict_one() {
        std::lock_guard hand_guard(clock_lock_);
        for (size_t step = 0; step < 2 * capacity_ + 1; ++step) {
            uint32_t index = uint32_t(clock_hand_++ % capacity_);
            {
                std::lock_guard guard(free_lock_);
                if (!in_use_at(index)) continue;
            }
            if (referenced(index).exchange(0, std::memory_order_relaxed)) continue;
            Bucket& bucket = bucket_of_index(index);
            std::unique_lock guard(bucket.lock);
            bool linked = false;
            for (uint32_t i = bucket.head; i != None; i = next(i)) linked |= (i == index);
            if (!linked) continue;
            unlink_locked(bucket, index);
            guard.unlock();
            release(index);
            count_.fetch_sub(1, std::memory_order_acq_rel);
            return;
        }
    }
    Bucket& bucket_of_index(uint32_t index) {
        // The stored hash is the low half of the 64-bit hash; buckets use its low bits.
        return buckets_[stored_hash(index) & (buckets_.size() - 1)];
    }

    uint32_t key_size_;
    uint64_t key_area_;
    uint64_t value_area_;
    uint64_t stride_;
    uint32_t max_entries_;
    bool lru_;
    size_t capacity_;
    std::vector<Bucket> buckets_;
    AlignedBytes pool_;
    SpinLock free_lock_;
    std::vector<uint32_t> free_;
    std::atomic<uint32_t> count_{0};
    std::mutex clock_lock_;
    size_t clock_hand_ = 0;
};

// Spare elements beyond max_entries let replacements link a fresh element
// before freeing the old one (the kernel keeps one extra element per CPU).
size_t spare_elements(unsigned cpus) { return size_t(cpus) + 64; }

class HashMap final : public Map {
public:
    HashMap(ir::MapDefinition definition, unsigned cpus)
        : Map(std::move(definition), cpus),
          value_stride_(round_up_8(this->definition().value_size)),
          slots_(is_per_cpu() ? cpus : 1),
          table_(this->definition().key_size, value_stride_ * slots_, this->definition().max_entries,
                 type() == MapType::LruHash || type() == MapType::LruPercpuHash, spare_elements(cpus)) {}

    void* lookup(const void* key, unsigned cpu) override {
        uint8_t* area = table_.find(key);
        return area ? area + (slots_ == 1 ? 0 : cpu * value_stride_) : nullptr;
    }
    long update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
        if (!valid_update_flags(flags)) return -EINVAL;
        uint64_t size = definition().value_size;
        if (slots_ == 1)
            return table_.update(key, flags, false, [&](uint8_t* to, uint8_t*) { std::memcpy(to, value, size); });
        // Per-CPU from a program: this CPU's slot; a new element starts zeroed elsewhere.
        return table_.update(key, flags, true, [&](uint8_t* to, uint8_t* existing) {
            if (!existing) std::memset(to, 0, value_stride_ * slots_);
            std::memcpy(to + cpu * value_stride_, value, size);
        });
    }
    long erase(const void* key, unsigned) override { return table_.erase(key); }
    long host_lookup(const void* key, void* value) override {
        if (slots_ == 1) {
            std::vector<uint8_t> area(value_stride_);
            long error = table_.copy_value(key, area.data());
            if (!error) std::memcpy(value, area.data(), definition().value_size);
            return error;
        }
        return table_.copy_value(key, static_cast<uint8_t*>(value));
    }
    long host_update(const void* key, const void* value, uint64_t flags) override {
        if (!valid_update_flags(flags)) return -EINVAL;
        uint64_t size = slots_ == 1 ? definition().value_size : value_stride_ * slots_;
        return table_.update(key, flags, slots_ != 1,
                             [&](uint8_t* to, uint8_t*) { std::memcpy(to, value, size); });
    }
    long host_delete(const void* key) override { return table_.erase(key); }
    long host_get_next_key(const void* key, void* next_key) override { return table_.next_key(key, next_key); }
    long host_lookup_and_delete(const void* key, void* value) override {
        std::vector<uint8_t> area(value_stride_ * slots_);
        long error = table_.erase(key, area.data());
        if (!error) std::memcpy(value, area.data(), slots_ == 1 ? definition().value_size : area.size());
        return error;
    }
    std::optional<Region> value_region(uint64_t address, uint64_t length) const override {
        auto area = table_.value_area_at(address);
        if (!area) return std::nullopt;
        uint64_t slot = (address - area->first) / value_stride_;
        return Region{area->first + slot * value_stride_, definition().value_size, true, RegionKind::MapValue};
    }

private:
    uint64_t value_stride_;
    unsigned slots_;
    HashTable table_;
};

// ---------------------------------------------------------------- map-in-map

// Shared by array of maps and hash of maps: what the host may store.
long check_inner_map(const Map& outer, const MapServices& services, const void* value, Map** inner) {
    uint32_t id = read_u32(value);
    Map* map = services.find_map ? services.find_map(id) : nullptr;
    if (!map) return -EBADF;
    if (auto template_index = outer.definition().inner_map) {
        Map* model = services.find_map ? services.find_map(*template_index) : nullptr;
        if (model) {
            const auto& a = model->definition();
            const auto& b = map->definition();
            if (a.type != b.type || a.key_size != b.key_size || a.value_size != b.value_size) return -EINVAL;
        }
    }
    *inner = map;
    return 0;
}

class ArrayOfMaps final : public Map {
public:
    ArrayOfMaps(ir::MapDefinition definition, unsigned cpus, MapServices services)
        : Map(std::move(definition), cpus), slots_(this->definition().max_entries), services_(std::move(services)) {}

    void* lookup(const void* key, unsigned) override {
        uint32_t index = read_u32(key);
        return index < slots_.size() ? slots_[index].load(std::memory_order_acquire) : nullptr;
    }
    long host_lookup(const void* key, void* value) override {
        uint32_t index = read_u32(key);
        Map* map = index < slots_.size() ? slots_[index].load(std::memory_order_acquire) : nullptr;
        if (!map) return -ENOENT;
        uint32_t id = map->id();
        std::memcpy(value, &id, 4);
        return 0;
    }
    long host_update(const void* key, const void* value, uint64_t flags) override {
        if (flags != UpdateAny) return -EINVAL;
        uint32_t index = read_u32(key);
        if (index >= slots_.size()) return -E2BIG;
        Map* inner = nullptr;
        if (long error = check_inner_map(*this, services_, value, &inner)) return error;
        slots_[index].store(inner, std::memory_order_release);
        return 0;
    }
    long host_delete(const void* key) override {
        uint32_t index = read_u32(key);
        if (index >= slots_.size()) return -E2BIG;
        return slots_[index].exchange(nullptr) ? 0 : -ENOENT;
    }
    long host_get_next_key(const void* key, void* next_key) override {
        return ArrayMap::array_next_key(key, next_key, uint32_t(slots_.size()));
    }

private:
    std::vector<std::atomic<Map*>> slots_;
    MapServices services_;
};

class HashOfMaps final : public Map {
public:
    HashOfMaps(ir::MapDefinition definition, unsigned cpus, MapServices services)
        : Map(std::move(definition), cpus),
          table_(this->definition().key_size, 8, this->definition().max_entries, false, spare_elements(cpus)),
          services_(std::move(services)) {}

    void* lookup(const void* key, unsigned) override {
        uint8_t* area = table_.find(key);
        if (!area) return nullptr;
        Map* inner;
        std::memcpy(&inner, area, sizeof inner);
        return inner;
    }
    long host_lookup(const void* key, void* value) override {
        uint8_t area[8];
        if (long error = table_.copy_value(key, area)) return error;
        Map* inner;
        std::memcpy(&inner, area, sizeof inner);
        uint32_t id = inner->id();
        std::memcpy(value, &id, 4);
        return 0;
    }
    long host_update(const void* key, const void* value, uint64_t flags) override {
        if (!valid_update_flags(flags)) return -EINVAL;
        Map* inner = nullptr;
        if (long error = check_inner_map(*this, services_, value, &inner)) return error;
        return table_.update(key, flags, false, [&](uint8_t* to, uint8_t*) { std::memcpy(to, &inner, sizeof inner); });
    }
    long host_delete(const void* key) override { return table_.erase(key); }
    long host_get_next_key(const void* key, void* next_key) override { return table_.next_key(key, next_key); }

private:
    HashTable table_;
    MapServices services_;
};

// ---------------------------------------------------------------- queue and stack

// A bounded ring of max_entries values under one lock. Both kinds push at the
// head; a queue pops the oldest (tail), a stack the newest. BPF_EXIST on a full
// map overwrites the oldest value, as the kernel does for both.
class QueueStack final : public Map {
public:
    QueueStack(ir::MapDefinition definition, unsigned cpus)
        : Map(std::move(definition), cpus),
          stride_(round_up_8(this->definition().value_size)),
          storage_(size_t(this->definition().max_entries) * stride_) {}

    void* lookup(const void*, unsigned) override { return nullptr; }
    long update(const void*, const void* value, uint64_t flags, unsigned) override { return push(value, flags); }
    long erase(const void*, unsigned) override { return -EINVAL; }
    long push(const void* value, uint64_t flags) override {
        if (flags != UpdateAny && flags != UpdateExist) return -EINVAL;
        std::lock_guard guard(lock_);
        uint32_t capacity = definition().max_entries;
        if (count_ == capacity) {
            if (flags != UpdateExist) return -E2BIG;
            tail_ = (tail_ + 1) % capacity;
            --count_;
        }
        std::memcpy(at((tail_ + count_) % capacity), value, definition().value_size);
        ++count_;
        return 0;
    }
    long pop(void* value) override { return take(value, true); }
    long peek(void* value) override { return take(value, false); }
    long host_lookup(const void*, void* value) override { return peek(value); }
    long host_update(const void*, const void* value, uint64_t flags) override { return push(value, flags); }
    long host_delete(const void*) override { return -EINVAL; }
    long host_get_next_key(const void*, void*) override { return -EINVAL; }
    long host_lookup_and_delete(const void*, void* value) override { return pop(value); }

private:
    long take(void* value, bool remove) {
        std::lock_guard guard(lock_);
        if (count_ == 0) return -ENOENT;
        uint32_t capacity = definition().max_entries;
        bool queue = type() == MapType::Queue;
        uint32_t index = queue ? tail_ : (tail_ + count_ - 1) % capacity;
        std::memcpy(value, at(index), definition().value_size);
        if (remove) {
            if (queue) tail_ = (tail_ + 1) % capacity;
            --count_;
        }
        return 0;
    }
    uint8_t* at(uint32_t index) const { return storage_.data + size_t(index) * stride_; }

    uint64_t stride_;
    AlignedBytes storage_;
    SpinLock lock_;
    uint32_t tail_ = 0;
    uint32_t count_ = 0;
};

// ---------------------------------------------------------------- redirect targets

// devmap, cpumap, xskmap: arrays whose slots are empty until the host fills
// them (with an ifindex, a CPU's queue size, an XDP socket); redirect_map
// only redirects to a filled slot.
class RedirectArray final : public Map {
public:
    RedirectArray(ir::MapDefinition definition, unsigned cpus)
        : Map(std::move(definition), cpus),
          stride_(round_up_8(this->definition().value_size)),
          storage_(size_t(this->definition().max_entries) * stride_),
          present_(this->definition().max_entries) {}

    void* lookup(const void* key, unsigned) override {
        uint32_t index = read_u32(key);
        if (index >= present_.size() || !present_[index].load(std::memory_order_acquire)) return nullptr;
        return storage_.data + size_t(index) * stride_;
    }
    long host_lookup(const void* key, void* value) override {
        void* slot = lookup(key, 0);
        if (!slot) return -ENOENT;
        std::memcpy(value, slot, definition().value_size);
        return 0;
    }
    long host_update(const void* key, const void* value, uint64_t flags) override {
        if (!valid_update_flags(flags)) return -EINVAL;
        uint32_t index = read_u32(key);
        if (index >= present_.size()) return -E2BIG;
        if (flags == UpdateNoExist) return -EEXIST;
        std::memcpy(storage_.data + size_t(index) * stride_, value, definition().value_size);
        present_[index].store(true, std::memory_order_release);
        return 0;
    }
    long host_delete(const void* key) override {
        uint32_t index = read_u32(key);
        if (index >= present_.size()) return -EINVAL;
        present_[index].store(false, std::memory_order_release);
        return 0;
    }
    long host_get_next_key(const void* key, void* next_key) override {
        return ArrayMap::array_next_key(key, next_key, uint32_t(present_.size()));
    }

private:
    uint64_t stride_;
    AlignedBytes storage_;
    std::vector<std::atomic<bool>> present_;
};

// ---------------------------------------------------------------- LPM trie

// Longest-prefix match over keys {u32 prefixlen; u8 data[]} (data in network
// order). A flat table under one lock: lookups scan for the longest stored
// prefix that covers the key. E.g. with 10.0.0.0/8 and 10.1.0.0/16 stored,
// 10.1.2.3/32 finds the /16. Full: -ENOSPC, as the kernel's trie says.
class LpmTrie final : public Map {
public:
    LpmTrie(ir::MapDefinition definition, unsigned cpus)
        : Map(std::move(definition), cpus),
          data_size_(this->definition().key_size - 4),
          key_area_(round_up_8(this->definition().key_size)),
          stride_(key_area_ + round_up_8(this->definition().value_size)),
          storage_(size_t(this->definition().max_entries) * stride_),
          used_(this->definition().max_entries, false) {}

    void* lookup(const void* key, unsigned) override {
        uint32_t limit = prefix_of(key);
        if (limit > max_prefix()) return nullptr;  // as the kernel: no match for an invalid key
        std::lock_guard guard(lock_);
        int best = -1;
        uint32_t best_length = 0;
        for (size_t i = 0; i < used_.size(); ++i) {
            if (!used_[i]) continue;
            uint32_t length = prefix_of(key_at(i));
            if (length > limit || (best >= 0 && length <= best_length)) continue;
            if (matches(key_at(i), key, length)) best = int(i), best_length = length;
        }
        return best < 0 ? nullptr : value_at(size_t(best));
    }
    long update(const void* key, const void* value, uint64_t flags, unsigned) override {
        if (!valid_update_flags(flags) || prefix_of(key) > max_prefix()) return -EINVAL;
        std::lock_guard guard(lock_);
        int existing = find_exact(key);
        if (existing >= 0 && flags == UpdateNoExist) return -EEXIST;
        if (existing < 0 && flags == UpdateExist) return -ENOENT;
        size_t slot = size_t(existing);
        if (existing < 0) {
            auto free = std::find(used_.begin(), used_.end(), false);
            if (free == used_.end()) return -ENOSPC;
            slot = size_t(free - used_.begin());
            std::memset(key_at(slot), 0, key_area_);
            std::memcpy(key_at(slot), key, definition().key_size);
            used_[slot] = true;
        }
        std::memcpy(value_at(slot), value, definition().value_size);
        return 0;
    }
    long erase(const void* key, unsigned) override {
        if (prefix_of(key) > max_prefix()) return -EINVAL;
        std::lock_guard guard(lock_);
        int existing = find_exact(key);
        if (existing < 0) return -ENOENT;
        used_[size_t(existing)] = false;
        return 0;
    }
    long host_lookup(const void* key, void* value) override {
        void* found = lookup(key, 0);
        if (!found) return -ENOENT;
        std::memcpy(value, found, definition().value_size);
        return 0;
    }
    long host_update(const void* key, const void* value, uint64_t flags) override { return update(key, value, flags, 0); }
    long host_delete(const void* key) override { return erase(key, 0); }
    // Our order: by slot. A missing key restarts at the first entry.
    long host_get_next_key(const void* key, void* next_key) override {
        std::lock_guard guard(lock_);
        size_t start = 0;
        if (key) {
            int existing = find_exact(key);
            if (existing >= 0) start = size_t(existing) + 1;
        }
        for (size_t i = start; i < used_.size(); ++i)
            if (used_[i]) {
                std::memcpy(next_key, key_at(i), definition().key_size);
                return 0;
            }
        return -ENOENT;
    }
    std::optional<Region> value_region(uint64_t address, uint64_t) const override {
        auto base = reinterpret_cast<uint64_t>(storage_.data);
        if (address < base || address - base >= storage_.size) return std::nullopt;
        uint64_t begin = base + (address - base) / stride_ * stride_ + key_area_;
        return Region{begin, definition().value_size, true, RegionKind::MapValue};
    }

private:
    static uint32_t prefix_of(const void* key) { return read_u32(key); }
    uint32_t max_prefix() const { return data_size_ * 8; }
    uint8_t* key_at(size_t i) const { return storage_.data + i * stride_; }
    uint8_t* value_at(size_t i) const { return key_at(i) + key_area_; }
    // Whether the first `length` bits of the two keys' data agree.
    bool matches(const void* a, const void* b, uint32_t length) const {
        auto* x = static_cast<const uint8_t*>(a) + 4;
        auto* y = static_cast<const uint8_t*>(b) + 4;
        uint32_t bytes = length / 8, bits = length % 8;
        if (std::memcmp(x, y, bytes) != 0) return false;
        if (bits == 0) return true;
        uint8_t mask = uint8_t(0xff << (8 - bits));
        return (x[bytes] & mask) == (y[bytes] & mask);
    }
    int find_exact(const void* key) const {
        uint32_t length = prefix_of(key);
        for (size_t i = 0; i < used_.size(); ++i)
            if (used_[i] && prefix_of(key_at(i)) == length && matches(key_at(i), key, length)) return int(i);
        return -1;
    }

    uint32_t data_size_;
    uint64_t key_area_;
    uint64_t stride_;
    AlignedBytes storage_;
    std::vector<bool> used_;
    std::mutex lock_;
};

// ---------------------------------------------------------------- validation

// The kernel's map_alloc_check rules, as a table: what each type requires.
struct MapShape {
    MapType type;
    std::optional<uint32_t> key_size;    // exact size required, if any
    std::optional<uint32_t> value_size;  // exact size required, if any
    bool zero_key_and_value = false;     // ring buffer
};

constexpr MapShape MapShapes[] = {
    {MapType::Array, 4, std::nullopt},
    {MapType::PercpuArray, 4, std::nullopt},
    {MapType::Hash, std::nullopt, std::nullopt},
    {MapType::PercpuHash, std::nullopt, std::nullopt},
    {MapType::LruHash, std::nullopt, std::nullopt},
    {MapType::LruPercpuHash, std::nullopt, std::nullopt},
    {MapType::ProgArray, 4, 4},
    {MapType::PerfEventArray, 4, 4},
    {MapType::ArrayOfMaps, 4, 4},
    {MapType::HashOfMaps, std::nullopt, 4},
    {MapType::Queue, 0, std::nullopt},
    {MapType::Stack, 0, std::nullopt},
    {MapType::Ringbuf, 0, 0, true},
    {MapType::Devmap, 4, std::nullopt},
    {MapType::Cpumap, 4, std::nullopt},
    {MapType::Xskmap, 4, 4},
    {MapType::DevmapHash, 4, std::nullopt},
    {MapType::LpmTrie, std::nullopt, std::nullopt},
    {MapType::StackTrace, 4, std::nullopt},
    {MapType::CgroupArray, 4, 4},
};

std::optional<std::string> check_shape(const ir::MapDefinition& d) {
    const MapShape* shape = nullptr;
    for (const auto& s : MapShapes)
        if (s.type == d.type) shape = &s;
    if (!shape) return fmt::format("map type '{}' is not supported by the runtime", ir::map_type_name(d.type));
    if (d.max_entries == 0) return std::string("max_entries must be positive");
    if (shape->zero_key_and_value) {
        if (d.key_size != 0 || d.value_size != 0) return std::string("ringbuf needs key_size 0 and value_size 0");
        if (!std::has_single_bit(d.max_entries) || d.max_entries % 4096 != 0)
            return std::string("ringbuf size must be a power of 2 and a multiple of the page size");
        return std::nullopt;
    }
    if (d.type == MapType::LpmTrie) {
        if (!(d.flags & 1)) return std::string("lpm_trie needs BPF_F_NO_PREALLOC in map_flags");
        if (d.key_size <= 4 || d.key_size > 4 + 256) return std::string("lpm_trie key_size must be 4 + 1..256 bytes");
    }
    if (d.type == MapType::StackTrace && (d.value_size == 0 || d.value_size % 8 != 0 || d.value_size / 8 > 127))
        return std::string("stack_trace value_size must be a multiple of 8, at most 127 frames");
    if (shape->key_size && d.key_size != *shape->key_size)
        return fmt::format("{} needs key_size {}", ir::map_type_name(d.type), *shape->key_size);
    if (!shape->key_size && d.key_size == 0) return std::string("key_size must be positive");
    if (shape->value_size && d.value_size != *shape->value_size && !(d.type == MapType::ArrayOfMaps || d.type == MapType::HashOfMaps))
        return fmt::format("{} needs value_size {}", ir::map_type_name(d.type), *shape->value_size);
    if (!shape->value_size && d.value_size == 0) return std::string("value_size must be positive");
    return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------- Map defaults

bool Map::is_per_cpu() const {
    auto t = definition_.type;
    return t == MapType::PercpuArray || t == MapType::PercpuHash || t == MapType::LruPercpuHash;
}
size_t Map::host_value_size() const {
    return is_per_cpu() ? round_up_8(definition_.value_size) * cpus_ : definition_.value_size;
}
void* Map::lookup(const void*, unsigned) { return nullptr; }
long Map::update(const void*, const void*, uint64_t, unsigned) { return -EINVAL; }
long Map::erase(const void*, unsigned) { return -EINVAL; }
long Map::push(const void*, uint64_t) { return -EINVAL; }
long Map::pop(void*) { return -EINVAL; }
long Map::peek(void*) { return -EINVAL; }
long Map::host_lookup(const void*, void*) { return -EOPNOTSUPP; }
long Map::host_update(const void*, const void*, uint64_t) { return -EOPNOTSUPP; }
long Map::host_delete(const void*) { return -EOPNOTSUPP; }
long Map::host_get_next_key(const void*, void*) { return -EOPNOTSUPP; }
long Map::host_lookup_and_delete(const void*, void*) { return -EOPNOTSUPP; }
std::optional<Region> Map::value_region(uint64_t, uint64_t) const { return std::nullopt; }

// ---------------------------------------------------------------- perf event array

PerfEventArray::PerfEventArray(ir::MapDefinition definition, unsigned cpus, MapServices services)
    : Map(std::move(definition), cpus), services_(std::move(services)) {}

long PerfEventArray::output(uint64_t flags, unsigned cpu, const void* data, uint64_t size) {
    constexpr uint64_t IndexMask = 0xffffffffULL, ContextLengthMask = 0xfffffULL << 32;
    if (flags & ~(IndexMask | ContextLengthMask)) return -EINVAL;
    uint64_t index = flags & IndexMask;
    if (index == CurrentCpu) index = cpu;
    if (index >= definition().max_entries) return -E2BIG;
    if (!services_.perf_output) return -ENOENT;
    services_.perf_output(*this, uint32_t(index), {static_cast<const uint8_t*>(data), size_t(size)});
    return 0;
}
long PerfEventArray::host_lookup(const void*, void*) { return -EOPNOTSUPP; }
long PerfEventArray::host_update(const void* key, const void*, uint64_t flags) {
    if (flags != UpdateAny) return -EINVAL;
    return read_u32(key) < definition().max_entries ? 0 : -E2BIG;
}
long PerfEventArray::host_delete(const void* key) { return read_u32(key) < definition().max_entries ? 0 : -E2BIG; }
long PerfEventArray::host_get_next_key(const void* key, void* next_key) {
    return ArrayMap::array_next_key(key, next_key, definition().max_entries);
}

// ---------------------------------------------------------------- program array

struct ProgramArray::State {
    static constexpr uint32_t Empty = UINT32_MAX;
    explicit State(uint32_t n) : slots(n) {
        for (auto& s : slots) s.store(Empty);
    }
    std::vector<std::atomic<uint32_t>> slots;
};

ProgramArray::ProgramArray(ir::MapDefinition definition, unsigned cpus, MapServices services)
    : Map(std::move(definition), cpus),
      state_(std::make_unique<State>(this->definition().max_entries)),
      services_(std::move(services)) {}
ProgramArray::~ProgramArray() = default;

std::optional<uint32_t> ProgramArray::program_at(uint64_t index) const {
    if (index >= state_->slots.size()) return std::nullopt;
    uint32_t id = state_->slots[index].load(std::memory_order_acquire);
    if (id == State::Empty) return std::nullopt;
    return id;
}
long ProgramArray::host_lookup(const void* key, void* value) {
    auto id = program_at(read_u32(key));
    if (!id) return -ENOENT;
    std::memcpy(value, &*id, 4);
    return 0;
}
long ProgramArray::host_update(const void* key, const void* value, uint64_t flags) {
    if (flags != UpdateAny) return -EINVAL;
    uint32_t index = read_u32(key);
    if (index >= state_->slots.size()) return -E2BIG;
    uint32_t id = read_u32(value);
    if (!services_.program_exists || !services_.program_exists(id)) return -EBADF;
    state_->slots[index].store(id, std::memory_order_release);
    return 0;
}
long ProgramArray::host_delete(const void* key) {
    uint32_t index = read_u32(key);
    if (index >= state_->slots.size()) return -E2BIG;
    return state_->slots[index].exchange(State::Empty) != State::Empty ? 0 : -ENOENT;
}
long ProgramArray::host_get_next_key(const void* key, void* next_key) {
    return ArrayMap::array_next_key(key, next_key, uint32_t(state_->slots.size()));
}

// ---------------------------------------------------------------- ring buffer

// Records as in the kernel: an 8-byte header (u32 length with the busy bit 31
// and discard bit 30, u32 page offset) then the data, padded to 8 bytes. The
// kernel maps the data area twice so a record may wrap; we instead never
// wrap: a record that would cross the end is preceded by a discarded padding
// record filling the tail, which the consumer skips.
namespace {
constexpr uint32_t BusyBit = 1u << 31, DiscardBit = 1u << 30, HeaderSize = 8;
}

struct RingBuffer::State {
    explicit State(uint64_t size) : data(size) {}
    AlignedBytes data;
    SpinLock producer_lock;
    std::atomic<uint64_t> producer{0};
    std::atomic<uint64_t> consumer{0};
    std::atomic<uint64_t> dropped{0};
    std::mutex consumer_lock;
    std::atomic<uint32_t>& header(uint64_t position) {
        return *reinterpret_cast<std::atomic<uint32_t>*>(data.data + (position & (data.size - 1)));
    }
};

RingBuffer::RingBuffer(ir::MapDefinition definition, unsigned cpus)
    : Map(std::move(definition), cpus),
      state_(std::make_unique<State>(this->definition().max_entries)),
      capacity_(this->definition().max_entries) {}
RingBuffer::~RingBuffer() = default;

void* RingBuffer::reserve(uint64_t size) {
    uint64_t length = round_up_8(size + HeaderSize);
    if (size >= (1u << 30) || length > capacity_) {
        state_->dropped.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    std::lock_guard guard(state_->producer_lock);
    uint64_t producer = state_->producer.load(std::memory_order_relaxed);
    uint64_t consumer = state_->consumer.load(std::memory_order_acquire);
    uint64_t offset = producer & (capacity_ - 1);
    uint64_t padding = offset + length > capacity_ ? capacity_ - offset : 0;
    if (producer + padding + length - consumer > capacity_) {
        state_->dropped.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    if (padding) state_->header(producer).store(uint32_t(padding - HeaderSize) | DiscardBit, std::memory_order_release);
    uint64_t position = producer + padding;
    uint8_t* record = state_->data.data + (position & (capacity_ - 1));
    uint32_t page_offset = uint32_t((position & (capacity_ - 1)) / 8);
    std::memcpy(record + 4, &page_offset, 4);
    state_->header(position).store(uint32_t(size) | BusyBit, std::memory_order_release);
    state_->producer.store(position + length, std::memory_order_release);
    return record + HeaderSize;
}

void RingBuffer::commit_record(void* record, bool discard) {
    auto& header = *reinterpret_cast<std::atomic<uint32_t>*>(static_cast<uint8_t*>(record) - HeaderSize);
    uint32_t value = header.load(std::memory_order_relaxed) & ~BusyBit;
    header.store(discard ? value | DiscardBit : value, std::memory_order_release);
}

long RingBuffer::output(const void* data, uint64_t size) {
    void* record = reserve(size);
    if (!record) return -EAGAIN;
    std::memcpy(record, data, size);
    commit_record(record, false);
    return 0;
}

size_t RingBuffer::consume(const std::function<void(std::span<const uint8_t>)>& consume) {
    std::lock_guard guard(state_->consumer_lock);
    uint64_t consumer = state_->consumer.load(std::memory_order_relaxed);
    size_t records = 0;
    for (;;) {
        uint64_t producer = state_->producer.load(std::memory_order_acquire);
        if (consumer >= producer) break;
        uint32_t header = state_->header(consumer).load(std::memory_order_acquire);
        if (header & BusyBit) break;  // the next record is still being written
        uint32_t size = header & ~(BusyBit | DiscardBit);
        if (!(header & DiscardBit)) {
            const uint8_t* data = state_->data.data + ((consumer + HeaderSize) & (capacity_ - 1));
            consume({data, size});
            ++records;
        }
        consumer += round_up_8(size + HeaderSize);
        state_->consumer.store(consumer, std::memory_order_release);
    }
    return records;
}

uint64_t RingBuffer::dropped() const { return state_->dropped.load(std::memory_order_relaxed); }
uint64_t RingBuffer::available() const {
    return state_->producer.load(std::memory_order_acquire) - state_->consumer.load(std::memory_order_acquire);
}
uint64_t RingBuffer::query(uint64_t flag) const {
    switch (flag) {
    case 0: return available();
    case 1: return capacity_;
    case 2: return state_->consumer.load(std::memory_order_acquire);
    case 3: return state_->producer.load(std::memory_order_acquire);
    default: return 0;
    }
}
std::optional<Region> RingBuffer::value_region(uint64_t, uint64_t) const {
    return std::nullopt;  // reservations are tracked per run (RunContext), not here
}

// ---------------------------------------------------------------- factory

namespace {
std::expected<std::unique_ptr<Map>, std::string>
allocate_map(const ir::MapDefinition& definition, unsigned cpus, const MapServices& services);
}  // namespace

std::expected<std::unique_ptr<Map>, std::string>
create_map(const ir::MapDefinition& definition, unsigned cpus, const MapServices& services) {
    if (auto problem = check_shape(definition))
        return std::unexpected(fmt::format("map '{}': {}", definition.name, *problem));
    if (auto refusal = kernel_size_refusal(definition))
        return std::unexpected(fmt::format("map '{}': the kernel cannot create it: {}", definition.name, *refusal));
    if (cpus == 0) cpus = 1;
    // The memory budget (LoadedObject) bounds what is asked for; the system may still refuse it.
    try {
        return allocate_map(definition, cpus, services);
    } catch (const std::bad_alloc&) {
        return std::unexpected(fmt::format("map '{}': cannot allocate its {} bytes", definition.name,
                                           map_memory_bytes(definition, cpus)));
    }
}

namespace {

std::expected<std::unique_ptr<Map>, std::string>
allocate_map(const ir::MapDefinition& definition, unsigned cpus, const MapServices& services) {
    switch (definition.type) {
    case MapType::Array:
    case MapType::PercpuArray: return std::make_unique<ArrayMap>(definition, cpus);
    case MapType::Hash:
    case MapType::PercpuHash:
    case MapType::LruHash:
    case MapType::LruPercpuHash: return std::make_unique<HashMap>(definition, cpus);
    case MapType::ProgArray: return std::make_unique<ProgramArray>(definition, cpus, services);
    case MapType::PerfEventArray: return std::make_unique<PerfEventArray>(definition, cpus, services);
    case MapType::ArrayOfMaps: return std::make_unique<ArrayOfMaps>(definition, cpus, services);
    case MapType::HashOfMaps: return std::make_unique<HashOfMaps>(definition, cpus, services);
    case MapType::Queue:
    case MapType::Stack: return std::make_unique<QueueStack>(definition, cpus);
    case MapType::Ringbuf: return std::make_unique<RingBuffer>(definition, cpus);
    case MapType::Devmap:
    case MapType::Cpumap:
    case MapType::Xskmap:
    case MapType::CgroupArray: return std::make_unique<RedirectArray>(definition, cpus);
    case MapType::StackTrace: return std::make_unique<StackTraceMap>(definition, cpus);
    case MapType::DevmapHash: return std::make_unique<HashMap>(definition, cpus);
    case MapType::LpmTrie: return std::make_unique<LpmTrie>(definition, cpus);
    default: break;
    }
    return std::unexpected(fmt::format("map '{}': type '{}' is not supported by the runtime", definition.name,
                                       ir::map_type_name(definition.type)));
}

}  // namespace

}  // namespace bpfvet::runtime
