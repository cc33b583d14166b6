// The entries of every map of a loaded object, read from the host side, so two
// runs (interpreter and JIT) can be compared map by map after the same inputs.
#pragma once

#include "runtime/runtime.hpp"

#include <cstdint>
#include <map>
#include <vector>

namespace bpfvet::test {

using MapContents = std::vector<std::map<std::vector<uint8_t>, std::vector<uint8_t>>>;

// Key/value maps only: program arrays, ring buffers, perf arrays and map-in-map
// hold nothing two runs can be compared by (their slot stays empty).
inline MapContents map_contents(const runtime::LoadedObject& object) {
    MapContents contents;
    for (runtime::Map* map : object.maps()) {
        auto& entries = contents.emplace_back();
        switch (map->type()) {
        case ir::MapType::Hash: case ir::MapType::Array: case ir::MapType::PercpuHash: case ir::MapType::PercpuArray:
        case ir::MapType::LruHash: case ir::MapType::LruPercpuHash: case ir::MapType::LpmTrie:
            break;
        default: continue;
        }
        const auto& definition = map->definition();
        std::vector<uint8_t> key(definition.key_size), next(definition.key_size), value(map->host_value_size());
        bool first = true;
        for (uint32_t count = 0; count <= definition.max_entries; ++count) {
            if (map->host_get_next_key(first ? nullptr : key.data(), next.data()) != 0) break;
            first = false;
            key = next;
            if (map->host_lookup(key.data(), value.data()) == 0) entries[key] = value;
        }
    }
    return contents;
}

}  // namespace bpfvet::test
