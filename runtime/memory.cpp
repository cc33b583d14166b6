#include "runtime/memory.hpp"

#include <fmt/format.h>
#include <sys/mman.h>

namespace bpfvet::runtime {

const char* region_kind_name(RegionKind kind) {
    switch (kind) {
    case RegionKind::Stack: return "stack";
    case RegionKind::Context: return "context";
    case RegionKind::Packet: return "packet";
    case RegionKind::PacketMeta: return "packet metadata";
    case RegionKind::MapValue: return "map value";
    case RegionKind::GlobalData: return "global data";
    case RegionKind::RingBufferRecord: return "ring buffer record";
    case RegionKind::HelperMemory: return "helper memory";
    case RegionKind::Input: return "input memory";
    }
    return "unknown";
}

const char* fault_kind_name(FaultKind kind) {
    switch (kind) {
    case FaultKind::MemoryViolation: return "memory violation";
    case FaultKind::HelperViolation: return "helper argument violation";
    case FaultKind::BudgetExhausted: return "instruction budget exhausted";
    case FaultKind::CallDepthExceeded: return "call depth exceeded";
    case FaultKind::InvalidInstruction: return "invalid instruction";
    case FaultKind::UnknownHelper: return "unknown helper";
    case FaultKind::LeakedReservation: return "leaked ring buffer reservation";
    }
    return "unknown fault";
}

std::string Fault::to_string() const {
    std::string where = section.empty() ? fmt::format("pc {}", pc) : fmt::format("{}: pc {}", section, pc);
    switch (kind) {
    case FaultKind::MemoryViolation:
    case FaultKind::HelperViolation:
        return fmt::format("{}: {}: {} of {} byte{} at {:#x} ({}){}{}", where, fault_kind_name(kind),
                           write ? "write" : "read", size, size == 1 ? "" : "s", address, region,
                           message.empty() ? "" : ": ", message);
    default:
        return fmt::format("{}: {}{}{}", where, fault_kind_name(kind), message.empty() ? "" : ": ", message);
    }
}

std::unique_ptr<LowMemory> LowMemory::allocate(size_t size) {
    size_t page = 4096;
    size = (size + page - 1) / page * page;
    void* memory = MAP_FAILED;
#ifdef MAP_32BIT
    memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
#endif
    if (memory == MAP_FAILED) {
        // Without MAP_32BIT, ask for an address hint low in the address space.
        memory = mmap(reinterpret_cast<void*>(uintptr_t(0x10000000)), size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (memory == MAP_FAILED) return nullptr;
    auto address = reinterpret_cast<uintptr_t>(memory);
    if (address + size > (uint64_t(1) << 32)) {
        munmap(memory, size);
        return nullptr;
    }
    return std::unique_ptr<LowMemory>(new LowMemory(static_cast<uint8_t*>(memory), size));
}

LowMemory::~LowMemory() { munmap(data_, size_); }

}  // namespace bpfvet::runtime
