// How big a map may be: the Linux kernel's own size limits (a map it refuses
// with E2BIG or EINVAL at BPF_MAP_CREATE, so no program can ever use it), and
// the memory our runtime preallocates for a map, checked against a budget
// before anything is allocated.
#pragma once

#include "ir/program.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace bpfvet::runtime {

// Why the kernel (Linux 6.18, as root) refuses to create a map of this size,
// or nullopt. Only the size limits; the shape (key_size 4 for arrays, ...) is
// checked by create_map. E.g. a hash map whose key and value together reach
// KMALLOC_MAX_SIZE - sizeof(struct htab_elem):
//   "hash key_size + value_size is 4294967299 bytes; the kernel allows at most 4194255 (E2BIG)"
[[nodiscard]] std::optional<std::string> kernel_size_refusal(const ir::MapDefinition& definition);

// Bytes the runtime allocates up front for this map with `cpus` per-CPU slots
// (arrays and hash tables are preallocated, as the kernel's are by default).
[[nodiscard]] uint64_t map_memory_bytes(const ir::MapDefinition& definition, unsigned cpus);

// Default budget for all the maps of one object: 1 GiB.
inline constexpr uint64_t DefaultMapMemoryBudget = 1ull << 30;

}  // namespace bpfvet::runtime
