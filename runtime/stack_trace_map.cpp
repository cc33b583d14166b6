// BPF_MAP_TYPE_STACK_TRACE with the kernel's rules (kernel/bpf/stackmap.c):
// values are arrays of 8-byte addresses, buckets are a power of two at least
// max_entries, a chain's id is its hash masked to the bucket count, and a
// bucket held by another chain answers -EEXIST unless reuse is asked for.
#include "runtime/map.hpp"

#include <bit>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

namespace bpfvet::runtime {

struct StackTraceMap::State {
    explicit State(size_t buckets) : chains(buckets) {}
    std::mutex lock;
    std::vector<std::vector<uint64_t>> chains;  // empty: a free bucket
};

namespace {

// FNV-1a over the addresses: a stable hash; the kernel uses jhash2, so ids
// differ from the kernel's, which no program can observe beyond equality.
uint64_t chain_hash(std::span<const uint64_t> frames) {
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (uint64_t frame : frames)
        for (int i = 0; i < 8; ++i) hash = (hash ^ ((frame >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
    return hash;
}

uint32_t read_key(const void* key) {
    uint32_t value;
    std::memcpy(&value, key, 4);
    return value;
}

}  // namespace

StackTraceMap::StackTraceMap(ir::MapDefinition definition, unsigned cpus)
    : Map(std::move(definition), cpus),
      state_(std::make_unique<State>(std::bit_ceil(std::max<uint32_t>(this->definition().max_entries, 1)))) {}
StackTraceMap::~StackTraceMap() = default;

long StackTraceMap::store(std::span<const uint64_t> frames, bool reuse) {
    std::lock_guard guard(state_->lock);
    const auto id = uint32_t(chain_hash(frames) & (state_->chains.size() - 1));
    auto& bucket = state_->chains[id];
    if (std::equal(bucket.begin(), bucket.end(), frames.begin(), frames.end())) return id;
    if (!bucket.empty() && !reuse) return -EEXIST;
    bucket.assign(frames.begin(), frames.end());
    return id;
}

long StackTraceMap::host_lookup(const void* key, void* value) {
    const uint32_t id = read_key(key);
    std::lock_guard guard(state_->lock);
    if (id >= state_->chains.size() || state_->chains[id].empty()) return -ENOENT;
    const auto& chain = state_->chains[id];
    std::memset(value, 0, definition().value_size);
    std::memcpy(value, chain.data(), chain.size() * 8);
    return 0;
}

long StackTraceMap::host_delete(const void* key) {
    const uint32_t id = read_key(key);
    std::lock_guard guard(state_->lock);
    if (id >= state_->chains.size() || state_->chains[id].empty()) return -ENOENT;
    state_->chains[id].clear();
    return 0;
}

// The next occupied bucket after `key` (or the first one).
long StackTraceMap::host_get_next_key(const void* key, void* next_key) {
    std::lock_guard guard(state_->lock);
    uint32_t id = key ? read_key(key) : UINT32_MAX;
    const uint64_t start = (!key || id >= state_->chains.size()) ? 0 : uint64_t(id) + 1;
    for (uint64_t next = start; next < state_->chains.size(); ++next) {
        if (state_->chains[next].empty()) continue;
        const auto found = uint32_t(next);
        std::memcpy(next_key, &found, 4);
        return 0;
    }
    return -ENOENT;
}

}  // namespace bpfvet::runtime
