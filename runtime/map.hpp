// Maps with the kernel's semantics: the same flags, limits and error codes as
// bpf(2) on the host side and as the map helpers on the program side.
//
// Every map is safe for many worker threads running programs at once while the
// host reads and writes it. A Map's address is the handle a program holds: LDDW
// of a map loads the Map*, and helpers take it back as their first argument.
#pragma once

#include "ir/program.hpp"
#include "runtime/memory.hpp"

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace bpfvet::runtime {

// bpf(2) update flags.
inline constexpr uint64_t UpdateAny = 0;      // BPF_ANY: create or replace
inline constexpr uint64_t UpdateNoExist = 1;  // BPF_NOEXIST: create only
inline constexpr uint64_t UpdateExist = 2;    // BPF_EXIST: replace only
// perf_event_output flag: "the current CPU" in the index bits.
inline constexpr uint64_t CurrentCpu = 0xffffffffULL;

class Map;

// How a map-in-map or prog array turns the u32 ids the host writes into
// objects (the kernel takes file descriptors; we take map ids / program ids).
struct MapServices {
    std::function<Map*(uint32_t id)> find_map;
    std::function<bool(uint32_t id)> program_exists;
    // Where perf_event_output delivers records: (map, cpu index, bytes).
    std::function<void(const Map&, uint32_t cpu, std::span<const uint8_t>)> perf_output;
};

class Map {
public:
    Map(ir::MapDefinition definition, unsigned cpus) : definition_(std::move(definition)), cpus_(cpus) {}
    virtual ~Map() = default;
    Map(const Map&) = delete;
    Map& operator=(const Map&) = delete;

    [[nodiscard]] const ir::MapDefinition& definition() const { return definition_; }
    [[nodiscard]] ir::MapType type() const { return definition_.type; }
    [[nodiscard]] const std::string& name() const { return definition_.name; }
    [[nodiscard]] unsigned cpus() const { return cpus_; }
    [[nodiscard]] uint32_t id() const { return id_; }
    void set_id(uint32_t id) { id_ = id; }
    [[nodiscard]] bool is_per_cpu() const;
    // Bytes the host passes to host_lookup/host_update for one value: for a
    // per-CPU map one round_up_8(value_size) slot per CPU, as bpf(2) does.
    [[nodiscard]] size_t host_value_size() const;

    // ---- Program side (helper semantics); `cpu` is the worker's slot. ----
    // The value's address, or nullptr when absent. For map-in-map: the inner Map*.
    [[nodiscard]] virtual void* lookup(const void* key, unsigned cpu);
    virtual long update(const void* key, const void* value, uint64_t flags, unsigned cpu);
    virtual long erase(const void* key, unsigned cpu);
    virtual long push(const void* value, uint64_t flags);  // queue, stack
    virtual long pop(void* value);
    virtual long peek(void* value);

    // ---- Host side (bpf(2) semantics, negative errno on failure). ----
    virtual long host_lookup(const void* key, void* value);
    virtual long host_update(const void* key, const void* value, uint64_t flags);
    virtual long host_delete(const void* key);
    // key == nullptr asks for the first key; -ENOENT after the last one.
    virtual long host_get_next_key(const void* key, void* next_key);
    virtual long host_lookup_and_delete(const void* key, void* value);

    // ---- Compiled code ----
    // A plain array (one copy of each value, not per CPU) says where its values
    // lie, so that compiled code can do what lookup does without a call:
    // index < max_entries ? values + index * stride : NULL.
    struct DirectArray {
        uint8_t* values = nullptr;
        uint32_t stride = 0;
        uint32_t max_entries = 0;
    };
    [[nodiscard]] virtual std::optional<DirectArray> direct_array() const { return std::nullopt; }

    // ---- Checked execution ----
    // The value (or other program-visible memory) of this map that holds
    // [address, address + length), if any.
    [[nodiscard]] virtual std::optional<Region> value_region(uint64_t address, uint64_t length) const;

private:
    ir::MapDefinition definition_;
    unsigned cpus_;
    uint32_t id_ = 0;
};

// Creates a map, or explains why the kernel would refuse it (e.g. an array
// whose key is not 4 bytes): "map 'name': array needs key_size 4".
[[nodiscard]] std::expected<std::unique_ptr<Map>, std::string>
create_map(const ir::MapDefinition& definition, unsigned cpus, const MapServices& services);

// Ring buffer: many producers, one consumer, records never torn or lost;
// a reservation that does not fit is refused and counted as a drop.
class RingBuffer final : public Map {
public:
    RingBuffer(ir::MapDefinition definition, unsigned cpus);
    ~RingBuffer() override;

    [[nodiscard]] void* reserve(uint64_t size);        // nullptr when full (counted)
    // Submit or discard a reserved record (needs only the record: its header precedes it).
    static void commit_record(void* record, bool discard);
    long output(const void* data, uint64_t size);      // reserve + copy + submit
    // Calls `consume` for each submitted record in order; returns how many.
    size_t consume(const std::function<void(std::span<const uint8_t>)>& consume);
    [[nodiscard]] uint64_t dropped() const;
    [[nodiscard]] uint64_t available() const;         // bytes not yet consumed
    [[nodiscard]] uint64_t capacity() const { return capacity_; }
    // ringbuf_query flags: 0 avail data, 1 ring size, 2 cons pos, 3 prod pos.
    [[nodiscard]] uint64_t query(uint64_t flag) const;

    [[nodiscard]] std::optional<Region> value_region(uint64_t address, uint64_t length) const override;

private:
    struct State;
    std::unique_ptr<State> state_;
    uint64_t capacity_;
};

// perf event array: records go straight to the host callback.
class PerfEventArray final : public Map {
public:
    PerfEventArray(ir::MapDefinition definition, unsigned cpus, MapServices services);
    long output(uint64_t flags, unsigned cpu, const void* data, uint64_t size);
    long host_lookup(const void* key, void* value) override;
    long host_update(const void* key, const void* value, uint64_t flags) override;
    long host_delete(const void* key) override;
    long host_get_next_key(const void* key, void* next_key) override;

private:
    MapServices services_;
};

// Program array: slots hold program ids; tail_call reads them.
class ProgramArray final : public Map {
public:
    ProgramArray(ir::MapDefinition definition, unsigned cpus, MapServices services);
    ~ProgramArray() override;
    // The program id in slot `index`, if any.
    [[nodiscard]] std::optional<uint32_t> program_at(uint64_t index) const;
    long host_lookup(const void* key, void* value) override;
    long host_update(const void* key, const void* value, uint64_t flags) override;
    long host_delete(const void* key) override;
    long host_get_next_key(const void* key, void* next_key) override;

private:
    struct State;
    std::unique_ptr<State> state_;
    MapServices services_;
};

}  // namespace bpfvet::runtime

namespace bpfvet::runtime {

// Stack trace map: get_stackid stores a call chain in the bucket its hash
// selects and returns the bucket as the stack id; the host reads chains back
// by id. Programs never look into it directly (the verifier forbids it).
class StackTraceMap final : public Map {
public:
    StackTraceMap(ir::MapDefinition definition, unsigned cpus);
    ~StackTraceMap() override;

    // The id of `frames` (already skipped and truncated to the map's depth):
    // the bucket of its hash. -EEXIST when another chain holds that bucket
    // and `reuse` is false (BPF_F_REUSE_STACKID replaces it).
    long store(std::span<const uint64_t> frames, bool reuse);
    [[nodiscard]] uint32_t max_depth() const { return definition().value_size / 8; }

    long host_lookup(const void* key, void* value) override;
    long host_delete(const void* key) override;
    long host_get_next_key(const void* key, void* next_key) override;

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace bpfvet::runtime
