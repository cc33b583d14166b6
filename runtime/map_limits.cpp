#include "runtime/map_limits.hpp"

#include <algorithm>
#include <bit>
#include <fmt/format.h>

namespace bpfvet::runtime {
namespace {

using ir::MapType;

// include/linux/slab.h on x86-64: 1 << (MAX_PAGE_ORDER + PAGE_SHIFT) = 4 MiB.
constexpr uint64_t KmallocMaxSize = 1ull << 22;
// mm/percpu: the largest per-CPU allocation, bounding per-CPU values.
constexpr uint64_t PercpuMinUnitSize = 32 << 10;
// kernel/bpf/hashtab.c: sizeof(struct htab_elem).
constexpr uint64_t HashElementHeader = 48;
// kernel/bpf/hashtab.c: n_buckets (max_entries rounded up to a power of 2) at most 2^27.
constexpr uint64_t MaxHashBuckets = 1ull << 27;
// kernel/bpf/lpm_trie.c: LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node).
constexpr uint64_t LpmMaxValueSize = KmallocMaxSize - 256 - 24;
constexpr uint64_t IntMax = 0x7fffffff;

uint64_t round_up_8(uint64_t size) { return (size + 7) / 8 * 8; }

bool is_hash(MapType type) {
    return type == MapType::Hash || type == MapType::PercpuHash || type == MapType::LruHash ||
           type == MapType::LruPercpuHash || type == MapType::HashOfMaps;
}
bool is_per_cpu(MapType type) {
    return type == MapType::PercpuHash || type == MapType::LruPercpuHash || type == MapType::PercpuArray;
}

std::string too_big(const ir::MapDefinition& d, std::string_view what, uint64_t value, uint64_t limit, std::string_view error) {
    return fmt::format("{} {} is {}; the kernel allows at most {} ({})", ir::map_type_name(d.type), what, value, limit, error);
}

}  // namespace

std::optional<std::string> kernel_size_refusal(const ir::MapDefinition& d) {
    const uint64_t key = d.key_size, value = d.value_size;
    // Per-CPU values come from the per-CPU allocator (htab_map_alloc_check, array_map_alloc_check).
    if (is_per_cpu(d.type) && round_up_8(value) > PercpuMinUnitSize)
        return too_big(d, "value_size (rounded up to 8)", round_up_8(value), PercpuMinUnitSize, "E2BIG");
    if (is_hash(d.type)) {
        // An element (header, key, value) must be kmalloc-able.
        if (key + value >= KmallocMaxSize - HashElementHeader)
            return too_big(d, "key_size + value_size", key + value, KmallocMaxSize - HashElementHeader - 1, "E2BIG");
        if (std::bit_ceil(std::max<uint64_t>(d.max_entries, 1)) > MaxHashBuckets)
            return too_big(d, "max_entries", d.max_entries, MaxHashBuckets, "E2BIG");
    }
    if ((d.type == MapType::Array || d.type == MapType::PercpuArray) && value > IntMax)
        return too_big(d, "value_size", value, IntMax, "E2BIG");
    if ((d.type == MapType::Queue || d.type == MapType::Stack) && value > KmallocMaxSize)
        return too_big(d, "value_size", value, KmallocMaxSize, "E2BIG");
    if (d.type == MapType::LpmTrie && value > LpmMaxValueSize)
        return too_big(d, "value_size", value, LpmMaxValueSize, "EINVAL");
    return std::nullopt;
}

uint64_t map_memory_bytes(const ir::MapDefinition& d, unsigned cpus) {
    // In 128 bits: 2^32 entries of 2^32-byte values on many CPUs overflow 64.
    using Wide = unsigned __int128;
    const Wide slots = is_per_cpu(d.type) ? std::max(cpus, 1u) : 1;
    const Wide entries = d.max_entries;
    const Wide key = round_up_8(d.key_size), value = round_up_8(d.value_size) * slots;
    Wide bytes = 0;
    switch (d.type) {
        case MapType::Array:
        case MapType::PercpuArray: bytes = entries * value; break;
        case MapType::Ringbuf: bytes = entries; break;
        case MapType::Queue:
        case MapType::Stack: bytes = (entries + 1) * value; break;
        default: {
            // Hash tables (ours as others): each element with a 16-byte link and a
            // free-list slot, spare elements per CPU, a power-of-two bucket array.
            const Wide elements = entries + slots + 64;
            bytes = elements * (16 + key + std::max<Wide>(value, 8) + 4) +
                    Wide(std::bit_ceil(std::max<uint64_t>(d.max_entries, 2))) * 16;
        }
    }
    return bytes > Wide(UINT64_MAX) ? UINT64_MAX : uint64_t(bytes);
}

}  // namespace bpfvet::runtime
