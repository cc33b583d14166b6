#include "ir/program.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>

namespace bpfvet::ir {

const char* map_type_name(MapType type) {
    static constexpr std::array<const char*, 34> names{
        "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash",
        "percpu_array", "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash",
        "lpm_trie", "array_of_maps", "hash_of_maps", "devmap", "sockmap", "cpumap",
        "xskmap", "sockhash", "cgroup_storage", "reuseport_sockarray",
        "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
        "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter",
        "user_ringbuf", "cgrp_storage", "arena"};
    auto index = size_t(type);
    return index < names.size() ? names[index] : "unknown";
}

const char* special_field_name(SpecialField::Kind kind) {
    switch (kind) {
    case SpecialField::Kind::SpinLock: return "bpf_spin_lock";
    case SpecialField::Kind::ResSpinLock: return "bpf_res_spin_lock";
    case SpecialField::Kind::Timer: return "bpf_timer";
    case SpecialField::Kind::Workqueue: return "bpf_wq";
    case SpecialField::Kind::TaskWork: return "bpf_task_work";
    case SpecialField::Kind::ListHead: return "bpf_list_head";
    case SpecialField::Kind::ListNode: return "bpf_list_node";
    case SpecialField::Kind::RbRoot: return "bpf_rb_root";
    case SpecialField::Kind::RbNode: return "bpf_rb_node";
    case SpecialField::Kind::Refcount: return "bpf_refcount";
    }
    return "special field";
}

std::vector<uint32_t> Program::maps_used() const {
    std::vector<uint32_t> used;
    for (const auto& insn : instructions) {
        if (!insn.is_lddw()) continue;
        auto kind = LddwKind(insn.src);
        if (kind == LddwKind::MapFd || kind == LddwKind::MapValue || kind == LddwKind::MapIndex ||
            kind == LddwKind::MapIndexValue)
            used.push_back(uint32_t(insn.imm));
    }
    std::ranges::sort(used);
    used.erase(std::unique(used.begin(), used.end()), used.end());
    return used;
}

std::string LoadError::to_string() const {
    std::string where = file;
    if (!section.empty()) where += fmt::format(": section '{}'", section);
    if (pc) where += fmt::format(": instruction {}", *pc);
    return where + ": " + message;
}

}  // namespace bpfvet::ir
