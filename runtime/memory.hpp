// Memory the runtime hands to programs: the regions a program may touch, the
// fault reported when it touches anything else, and the low arena that packet
// buffers live in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace bpfvet::runtime {

enum class RegionKind : uint8_t {
    Stack, Context, Packet, PacketMeta, MapValue, GlobalData, RingBufferRecord, HelperMemory, Input,
};

[[nodiscard]] const char* region_kind_name(RegionKind kind);

// A byte range [begin, begin + size) of host memory a program may read, and
// write when `writable`.
struct Region {
    uint64_t begin = 0;
    uint64_t size = 0;
    bool writable = false;
    RegionKind kind = RegionKind::Input;

    [[nodiscard]] bool contains(uint64_t address, uint64_t length) const {
        // Written to avoid overflow: address + length may wrap for hostile values.
        return address >= begin && length <= size && address - begin <= size - length;
    }
};

// Why a run stopped early. Returned as a value; a fault never crashes the host.
enum class FaultKind : uint8_t {
    MemoryViolation,     // load/store/atomic outside every region (checked mode)
    HelperViolation,     // a helper was given memory the program may not touch
    BudgetExhausted,     // more instructions than the budget allows
    CallDepthExceeded,   // more than MaxCallFrames nested local calls
    InvalidInstruction,  // opcode the interpreter does not know, or a jump out of range
    UnknownHelper,       // callx to an id no helper implements
    LeakedReservation,   // exit with a ring-buffer record neither submitted nor discarded
};

[[nodiscard]] const char* fault_kind_name(FaultKind kind);

struct Fault {
    FaultKind kind = FaultKind::MemoryViolation;
    size_t pc = 0;            // slot index in the program that was running
    std::string section;      // that program's section (a tail call may change it)
    uint64_t address = 0;     // the faulting address, for memory faults
    uint32_t size = 0;        // the access width, for memory faults
    bool write = false;
    std::string region;       // the nearest region, e.g. "stack" or "packet", or "none"
    std::string message;

    [[nodiscard]] std::string to_string() const;
};

// Memory below 4 GiB. The uapi context structures (xdp_md, __sk_buff) hold
// packet pointers in 32-bit fields, which the kernel rewrites at load time; we
// instead place packets where a 32-bit field *is* the host address, so every
// engine (interpreter, JIT) reads ctx->data with a plain zero-extending load.
class LowMemory {
public:
    // Fails (returns nullptr) only if the kernel has no address space below 4 GiB left.
    [[nodiscard]] static std::unique_ptr<LowMemory> allocate(size_t size);
    ~LowMemory();
    LowMemory(const LowMemory&) = delete;
    LowMemory& operator=(const LowMemory&) = delete;

    [[nodiscard]] uint8_t* data() const { return data_; }
    [[nodiscard]] size_t size() const { return size_; }

private:
    LowMemory(uint8_t* data, size_t size) : data_(data), size_(size) {}
    uint8_t* data_;
    size_t size_;
};

// Rounds up to a multiple of 8, the kernel's value alignment (round_up(value_size, 8)).
[[nodiscard]] constexpr uint64_t round_up_8(uint64_t n) { return (n + 7) & ~uint64_t(7); }

}  // namespace bpfvet::runtime
