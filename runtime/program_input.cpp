#include "runtime/program_input.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <linux/bpf.h>

namespace bpfvet::runtime {
namespace {

using ir::ProgramType;

struct ContextOfType {
    ProgramType type;
    ContextKind kind;
};

constexpr ContextOfType ContextsOfTypes[] = {
    {ProgramType::Xdp, ContextKind::Xdp},
    {ProgramType::SocketFilter, ContextKind::Skb},
    {ProgramType::SchedCls, ContextKind::Skb},
    {ProgramType::SchedAct, ContextKind::Skb},
    {ProgramType::CgroupSkb, ContextKind::Skb},
    {ProgramType::LwtIn, ContextKind::Skb},
    {ProgramType::LwtOut, ContextKind::Skb},
    {ProgramType::LwtXmit, ContextKind::Skb},
    {ProgramType::SkSkb, ContextKind::Skb},
    {ProgramType::Unspecified, ContextKind::None},
};

// Layout of the low memory: [context (ContextArea)][headroom][packet][tailroom],
// or [context][input memory].
constexpr uint64_t ContextArea = 4096;

}  // namespace

ContextKind context_kind_for(ProgramType type) {
    for (const auto& row : ContextsOfTypes)
        if (row.type == type) return row.kind;
    return ContextKind::Raw;
}

std::expected<std::unique_ptr<ProgramInput>, std::string> ProgramInput::create(ContextKind kind, RunInput input) {
    uint64_t packet_size = input.packet ? input.packet->size() : 0;
    if (packet_size > MaxPacketSize) return std::unexpected(fmt::format("packet of {} bytes exceeds {}", packet_size, MaxPacketSize));
    if (input.context && input.context->size() > ContextArea)
        return std::unexpected(fmt::format("context of {} bytes exceeds {}", input.context->size(), ContextArea));
    if ((kind == ContextKind::Xdp || kind == ContextKind::Skb) && !input.packet)
        input.packet = std::vector<uint8_t>(64, 0);  // a minimal zero frame
    uint64_t memory_size = input.memory ? input.memory->size() : 0;
    uint64_t total = ContextArea + XdpHeadroom + packet_size + XdpTailroom + memory_size + 64;
    auto memory = LowMemory::allocate(total);
    if (!memory) return std::unexpected(std::string("no memory below 4 GiB for the packet buffer"));
    return std::unique_ptr<ProgramInput>(new ProgramInput(kind, std::move(input), std::move(memory)));
}

std::array<uint64_t, 2> ProgramInput::prepare(RunContext& context) {
    uint8_t* base = memory_->data();
    auto low = [](const uint8_t* p) { return uint32_t(reinterpret_cast<uintptr_t>(p)); };
    context.context_kind = kind_;
    context.packet = {};
    context.context = nullptr;
    context.context_size = 0;
    context.extra_regions.clear();

    uint8_t* context_bytes = base;
    auto copy_context = [&](size_t size) {
        std::memset(context_bytes, 0, size);
        if (input_.context) std::memcpy(context_bytes, input_.context->data(), std::min(size, input_.context->size()));
        context.context = context_bytes;
        context.context_size = size;
    };

    if (kind_ == ContextKind::Xdp || kind_ == ContextKind::Skb) {
        const auto& packet = *input_.packet;
        uint8_t* buffer = base + ContextArea;
        uint8_t* data = buffer + XdpHeadroom;
        std::memset(buffer, 0, XdpHeadroom + packet.size() + XdpTailroom);
        std::memcpy(data, packet.data(), packet.size());
        // skb programs get the tailroom too: skb_change_tail grows into it.
        context.packet = PacketState{buffer, data + packet.size() + XdpTailroom,
                                     data, data, data + packet.size()};
        if (kind_ == ContextKind::Xdp) {
            copy_context(sizeof(xdp_md));
            auto* md = reinterpret_cast<xdp_md*>(context_bytes);
            md->data = low(data);
            md->data_end = low(data + packet.size());
            md->data_meta = low(data);
            if (!input_.context) md->ingress_ifindex = input_.ingress_ifindex;
        } else {
            copy_context(sizeof(__sk_buff));
            auto* skb = reinterpret_cast<__sk_buff*>(context_bytes);
            skb->data = low(data);
            skb->data_end = low(data + packet.size());
            skb->data_meta = low(data);
            skb->len = uint32_t(packet.size());
            if (!input_.context) {
                skb->ifindex = skb->ingress_ifindex = input_.ingress_ifindex;
                // Ethernet type in network order, as the kernel stores skb->protocol.
                if (packet.size() >= 14) skb->protocol = uint32_t(packet[12]) | uint32_t(packet[13]) << 8;
            }
        }
        return {reinterpret_cast<uint64_t>(context_bytes), 0};
    }
    if (kind_ == ContextKind::Raw) {
        // Without a blob, 512 zero bytes: room for pt_regs and tracepoint records.
        copy_context(input_.context ? input_.context->size() : 512);
        return {reinterpret_cast<uint64_t>(context_bytes), 0};
    }
    // None: r1 = input memory, r2 = its length; both 0 without memory.
    if (!input_.memory || input_.memory->empty()) return {0, 0};
    uint8_t* memory = base + ContextArea;
    std::memcpy(memory, input_.memory->data(), input_.memory->size());
    context.extra_regions.push_back(
        Region{reinterpret_cast<uint64_t>(memory), input_.memory->size(), true, RegionKind::Input});
    return {reinterpret_cast<uint64_t>(memory), input_.memory->size()};
}

std::vector<uint8_t> ProgramInput::packet_after(const RunContext& context) const {
    if (!context.packet.data) return {};
    return {context.packet.data, context.packet.data_end};
}

std::vector<uint8_t> ProgramInput::memory_after() const {
    if (!input_.memory) return {};
    const uint8_t* memory = memory_->data() + ContextArea;
    return {memory, memory + input_.memory->size()};
}

}  // namespace bpfvet::runtime
