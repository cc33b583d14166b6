// What a run starts from: the context r1 points to (xdp_md over a packet with
// headroom and tailroom, __sk_buff, a raw blob for tracing) or plain input
// memory (r1 = memory, r2 = its length) for raw bytecode runs.
#pragma once

#include "ir/program_type.hpp"
#include "runtime/memory.hpp"
#include "runtime/run_context.hpp"

#include <array>
#include <cstdint>
#include <expected>
#include <string>
#include <memory>
#include <optional>
#include <vector>

namespace bpfvet::runtime {

// The context kind the kernel gives a program type: Xdp for xdp, Skb for socket
// filters, TC and cgroup skb programs, Raw for tracing, None when unspecified.
[[nodiscard]] ContextKind context_kind_for(ir::ProgramType type);

struct RunInput {
    std::optional<std::vector<uint8_t>> packet;   // xdp and skb programs
    std::optional<std::vector<uint8_t>> context;  // raw context blob, or initial bytes of xdp_md/__sk_buff
    std::optional<std::vector<uint8_t>> memory;   // raw runs: r1 = memory, r2 = its size
    uint32_t ingress_ifindex = 1;
};

inline constexpr uint64_t XdpHeadroom = 256;  // XDP_PACKET_HEADROOM
inline constexpr uint64_t XdpTailroom = 512;  // room xdp_adjust_tail may grow into
inline constexpr uint64_t MaxPacketSize = 65535;

// Owns the low memory of one worker's runs. prepare() rebuilds the context and
// packet from the input, so every run starts from the same bytes.
class ProgramInput {
public:
    // Fails for a packet over MaxPacketSize or when no low memory is left.
    [[nodiscard]] static std::expected<std::unique_ptr<ProgramInput>, std::string>
    create(ContextKind kind, RunInput input);

    // Resets the buffers and points `context` at them; returns r1 and r2.
    std::array<uint64_t, 2> prepare(RunContext& context);
    // The packet's bytes after a run ([data, data_end) as the program left it).
    [[nodiscard]] std::vector<uint8_t> packet_after(const RunContext& context) const;
    [[nodiscard]] std::vector<uint8_t> memory_after() const;
    [[nodiscard]] const RunInput& input() const { return input_; }
    [[nodiscard]] ContextKind kind() const { return kind_; }

private:
    ProgramInput(ContextKind kind, RunInput input, std::unique_ptr<LowMemory> memory)
        : kind_(kind), input_(std::move(input)), memory_(std::move(memory)) {}
    ContextKind kind_;
    RunInput input_;
    std::unique_ptr<LowMemory> memory_;
};

}  // namespace bpfvet::runtime
