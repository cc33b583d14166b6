#include "runtime/run_context.hpp"

#include "runtime/map.hpp"

#include <cstddef>
#include <fmt/format.h>
#include <linux/bpf.h>

namespace bpfvet::runtime {
namespace {

struct WritableField {
    ContextKind kind;
    uint32_t begin;
    uint32_t end;  // one past
};

// Context fields a program may store to (the kernel's is_valid_access rules):
// xdp_md is read-only; __sk_buff lets programs set mark, priority, tc_index,
// cb[], tc_classid and tstamp.
constexpr WritableField WritableContextFields[] = {
    {ContextKind::Skb, offsetof(__sk_buff, mark), offsetof(__sk_buff, mark) + 4},
    {ContextKind::Skb, offsetof(__sk_buff, priority), offsetof(__sk_buff, priority) + 4},
    {ContextKind::Skb, offsetof(__sk_buff, tc_index), offsetof(__sk_buff, tc_index) + 4},
    {ContextKind::Skb, offsetof(__sk_buff, cb), offsetof(__sk_buff, cb) + 20},
    {ContextKind::Skb, offsetof(__sk_buff, tc_classid), offsetof(__sk_buff, tc_classid) + 4},
    {ContextKind::Skb, offsetof(__sk_buff, tstamp), offsetof(__sk_buff, tstamp) + 8},
    {ContextKind::Raw, 0, UINT32_MAX},
};

bool context_writable(ContextKind kind, uint64_t offset, uint64_t length) {
    for (const auto& field : WritableContextFields)
        if (field.kind == kind && offset >= field.begin && offset + length <= field.end) return true;
    return false;
}

}  // namespace

std::optional<Region> RunContext::region_of(uint64_t address, uint64_t length) const {
    if (stack.contains(address, length)) return stack;
    if (context) {
        Region region{reinterpret_cast<uint64_t>(context), context_size, true, RegionKind::Context};
        if (region.contains(address, length)) {
            region.writable = context_writable(context_kind, address - region.begin, length);
            return region;
        }
    }
    if (packet.data) {
        auto data = reinterpret_cast<uint64_t>(packet.data);
        Region body{data, uint64_t(packet.data_end - packet.data), true, RegionKind::Packet};
        if (body.contains(address, length)) return body;
        auto meta = reinterpret_cast<uint64_t>(packet.data_meta);
        Region metadata{meta, data - meta, true, RegionKind::PacketMeta};
        if (metadata.contains(address, length)) return metadata;
    }
    for (const auto& [begin, size] : reservations) {
        Region record{begin, size, true, RegionKind::RingBufferRecord};
        if (record.contains(address, length)) return record;
    }
    for (const auto& region : extra_regions)
        if (region.contains(address, length)) return region;
    for (const Map* map : maps)
        if (auto region = map->value_region(address, length); region && region->contains(address, length))
            return region;
    return std::nullopt;
}

bool RunContext::may_access(uint64_t address, uint64_t length, bool write) const {
    if (!checked) return true;
    auto region = region_of(address, length);
    return region && (!write || region->writable);
}

bool RunContext::check_helper_access(uint64_t address, uint64_t length, bool write, const char* what) {
    if (length == 0 || may_access(address, length, write)) return true;
    if (!fault) {
        Fault f;
        f.kind = FaultKind::HelperViolation;
        f.address = address;
        f.size = uint32_t(length);
        f.write = write;
        f.region = describe(address, length);
        f.message = what;
        fault = std::move(f);
    }
    return false;
}

std::string RunContext::describe(uint64_t address, uint64_t length) const {
    // Name the region the access falls in, or the one it overruns.
    if (auto region = region_of(address, length)) {
        std::string name = region_kind_name(region->kind);
        return region->writable ? name : name + ", read-only";
    }
    if (auto region = region_of(address, 1)) {
        uint64_t overrun = address + length - (region->begin + region->size);
        return fmt::format("{}: the access ends {} byte{} past its end", region_kind_name(region->kind), overrun,
                           overrun == 1 ? "" : "s");
    }
    // Outside every region: say how far from the closest one, e.g. "8 bytes
    // past the end of the stack" for a read at r10 + 8.
    const char* nearest = "none";
    uint64_t best = UINT64_MAX;
    bool before = false;
    auto consider = [&](uint64_t begin, uint64_t size, const char* name) {
        if (size == 0) return;
        uint64_t end = begin + size;
        uint64_t distance = address < begin ? begin - address : address - end;
        if (distance < best) best = distance, nearest = name, before = address < begin;
    };
    consider(stack.begin, stack.size, "stack");
    if (context) consider(reinterpret_cast<uint64_t>(context), context_size, "context");
    if (packet.data)
        consider(reinterpret_cast<uint64_t>(packet.data), uint64_t(packet.data_end - packet.data), "packet");
    for (const auto& region : extra_regions) consider(region.begin, region.size, region_kind_name(region.kind));
    if (best == UINT64_MAX || best > 4096) return "outside every region";
    return before ? fmt::format("{} bytes before the {}", best, nearest)
                  : fmt::format("{} bytes past the end of the {}", best, nearest);
}

}  // namespace bpfvet::runtime
