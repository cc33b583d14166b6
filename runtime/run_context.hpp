// The state of one run of a program on one worker: what helpers see through
// their sixth argument. It is the whole ABI between an engine (interpreter or
// JIT) and the runtime's helpers; see docs/runtime.md.
#pragma once

#include "runtime/environment.hpp"
#include "runtime/memory.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

namespace bpfvet::runtime {

class Map;
class TraceSink;
struct LoadedProgram;
class ProgramTable;

// What the program's r1 points to.
enum class ContextKind : uint8_t {
    None,    // raw bytecode runs: r1 = input memory (conformance style)
    Xdp,     // struct xdp_md
    Skb,     // struct __sk_buff (socket filter, TC)
    Raw,     // opaque blob (tracing programs)
};

// The packet of an XDP or skb run. [buffer_begin, buffer_end) is the whole
// allocation (headroom + packet + tailroom); data_meta <= data <= data_end.
struct PacketState {
    uint8_t* buffer_begin = nullptr;
    uint8_t* buffer_end = nullptr;
    uint8_t* data_meta = nullptr;
    uint8_t* data = nullptr;
    uint8_t* data_end = nullptr;
};

// redirect / redirect_map record what the program asked for.
struct RedirectRecord {
    int32_t helper = 0;       // BPF_FUNC_redirect or BPF_FUNC_redirect_map
    const Map* map = nullptr; // redirect_map only
    uint64_t target = 0;      // ifindex, or the map key
    uint64_t flags = 0;
};

// What happens after the helper returns, checked by the engine after each call.
enum class Control : uint8_t {
    Continue,
    TailCall,  // jump to `tail_call_target` (tail_call succeeded)
    Stop,      // end the run with r0 = `stop_value` (e.g. the conformance "unwind" helper)
};

inline constexpr int MaxTailCalls = 33;     // MAX_TAIL_CALL_CNT
inline constexpr int MaxCallFrames = 8;     // MAX_CALL_FRAMES
// may_goto iterations allowed per function invocation (the kernel's BPF_MAX_LOOPS):
// past them may_goto jumps. Interpreter and JIT count them the same way.
inline constexpr uint64_t MayGotoBudget = uint64_t(8) << 20;

// Calls back into the engine for helpers taking a callback (bpf_loop,
// for_each_map_elem): `function` is the LDDW value of the callback.
using CallbackInvoker = uint64_t (*)(struct RunContext& context, uint64_t function, uint64_t r1, uint64_t r2,
                                     uint64_t r3, uint64_t r4, uint64_t r5);

struct RunContext {
    // ---- set up by the runner ----
    const Environment* environment = nullptr;
    TraceSink* trace = nullptr;
    const ProgramTable* programs = nullptr;   // tail-call targets by program id
    std::span<Map* const> maps;               // every map the object owns (checked mode, map-in-map)
    unsigned cpu = 0;                         // worker index: the per-CPU slot
    ContextKind context_kind = ContextKind::None;
    uint8_t* context = nullptr;
    uint64_t context_size = 0;
    PacketState packet;
    std::vector<Region> extra_regions;        // input memory, helper memory the host grants

    // ---- checked mode ----
    bool checked = false;
    Region stack{};                           // the active frames' stack (updated by the engine)
    std::optional<Fault> fault;               // set by a helper; the engine stops and reports it

    // ---- per-run results and state ----
    uint64_t random_state = 0;
    std::vector<std::pair<uint64_t, uint64_t>> reservations;  // ring buffer records held: (address, size)
    std::optional<RedirectRecord> redirect;
    Control control = Control::Continue;
    const LoadedProgram* tail_call_target = nullptr;
    int tail_calls = 0;
    uint64_t stop_value = 0;
    CallbackInvoker invoke_callback = nullptr;
    void* engine_state = nullptr;             // the engine's own (e.g. the interpreter's stack)
    // Native code the verifier did not prove to terminate counts (jit/lowering.hpp):
    // loop iterations left of the run's budget, and local calls nested now.
    uint64_t back_edges_left = 0;
    uint64_t call_depth = 0;
    // The host's own state for helpers it substitutes (e.g. the replay of a
    // counterexample forcing helper results, tools/counterexample_replay.cpp).
    void* host_state = nullptr;
    // The socket a sock_ops program acts on: options set by bpf_setsockopt,
    // read back by bpf_getsockopt. Kept across runs, as a socket keeps them.
    std::map<std::pair<int32_t, int32_t>, std::vector<uint8_t>> socket_options;

    // Whether a program may read (or write) [address, address + length): in
    // unchecked mode always; in checked mode only inside one region.
    [[nodiscard]] bool may_access(uint64_t address, uint64_t length, bool write) const;
    // The region holding [address, address + length) in checked mode, if any.
    [[nodiscard]] std::optional<Region> region_of(uint64_t address, uint64_t length) const;
    // For helpers: may_access, and on refusal record a HelperViolation fault.
    bool check_helper_access(uint64_t address, uint64_t length, bool write, const char* what);
    // The nearest region's name for a fault message.
    [[nodiscard]] std::string describe(uint64_t address, uint64_t length = 1) const;
};

}  // namespace bpfvet::runtime
