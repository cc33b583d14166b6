// The helper implementations. Each is a few lines of kernel semantics; the
// table at the bottom is the only place that says which ids exist.
#include "runtime/helpers.hpp"

#include "runtime/helper_support.hpp"

#include "runtime/loaded_program.hpp"
#include "runtime/map.hpp"

#include <algorithm>
#include <vector>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

namespace bpfvet::runtime {
namespace {

using ir::MapType;

using namespace helper_support;

// ---------------------------------------------------------------- maps

uint64_t map_lookup_elem(uint64_t map_value, uint64_t key, uint64_t, uint64_t, uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || !readable(*context, key, map->definition().key_size, "map key")) return 0;
    return reinterpret_cast<uint64_t>(map->lookup(as_pointer(key), context->cpu));
}

uint64_t map_update_elem(uint64_t map_value, uint64_t key, uint64_t value, uint64_t flags, uint64_t,
                         RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || !readable(*context, key, map->definition().key_size, "map key") ||
        !readable(*context, value, map->definition().value_size, "map value"))
        return error(-EINVAL);
    return error(map->update(as_pointer(key), as_pointer(value), flags, context->cpu));
}

uint64_t map_delete_elem(uint64_t map_value, uint64_t key, uint64_t, uint64_t, uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || !readable(*context, key, map->definition().key_size, "map key")) return error(-EINVAL);
    return error(map->erase(as_pointer(key), context->cpu));
}

uint64_t map_push_elem(uint64_t map_value, uint64_t value, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || !readable(*context, value, map->definition().value_size, "map value")) return error(-EINVAL);
    return error(map->push(as_pointer(value), flags));
}

uint64_t map_pop_elem(uint64_t map_value, uint64_t value, uint64_t, uint64_t, uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || !writable(*context, value, map->definition().value_size, "map value")) return error(-EINVAL);
    return error(map->pop(as_pointer(value)));
}

uint64_t map_peek_elem(uint64_t map_value, uint64_t value, uint64_t, uint64_t, uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || !writable(*context, value, map->definition().value_size, "map value")) return error(-EINVAL);
    return error(map->peek(as_pointer(value)));
}

uint64_t map_lookup_percpu_elem(uint64_t map_value, uint64_t key, uint64_t cpu, uint64_t, uint64_t,
                                RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || !readable(*context, key, map->definition().key_size, "map key")) return 0;
    if (!map->is_per_cpu() || cpu >= map->cpus()) return 0;
    return reinterpret_cast<uint64_t>(map->lookup(as_pointer(key), unsigned(cpu)));
}

// ---------------------------------------------------------------- time, ids, task

uint64_t clock_ns(clockid_t clock) {
    timespec now{};
    clock_gettime(clock, &now);
    return uint64_t(now.tv_sec) * 1'000'000'000ULL + uint64_t(now.tv_nsec);
}

uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    const auto& source = context->environment->monotonic_ns;
    return source ? source() : clock_ns(CLOCK_MONOTONIC);
}

uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    const auto& source = context->environment->boot_ns;
    return source ? source() : clock_ns(CLOCK_BOOTTIME);
}

uint64_t ktime_get_coarse_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    const auto& source = context->environment->monotonic_ns;
    return source ? source() : clock_ns(CLOCK_MONOTONIC_COARSE);
}

// jiffies at HZ=250: one per 4 ms of monotonic time.
uint64_t jiffies64(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return ktime_get_ns(0, 0, 0, 0, 0, context) / 4'000'000;
}

// xorshift64*: each worker has its own stream, no shared state.
uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    uint64_t& x = context->random_state;
    if (x == 0) x = 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return uint32_t((x * 0x2545f4914f6cdd1dULL) >> 32);
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return context->cpu;
}

uint64_t get_numa_node_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return context->environment->numa_node;
}

uint64_t get_current_pid_tgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    const TaskInfo& task = context->environment->task;
    return uint64_t(task.tgid) << 32 | task.pid;
}

uint64_t get_current_uid_gid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    const TaskInfo& task = context->environment->task;
    return uint64_t(task.gid) << 32 | task.uid;
}

uint64_t get_current_comm(uint64_t buffer, uint64_t size, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (size == 0) return error(-EINVAL);
    if (!writable(*context, buffer, size, "comm buffer")) return error(-EFAULT);
    // strscpy_pad: copy what fits, NUL-terminate, zero the rest.
    const std::string& comm = context->environment->task.comm;
    auto* out = as_pointer<char>(buffer);
    size_t length = std::min<size_t>(comm.size(), size - 1);
    std::memset(out, 0, size);
    std::memcpy(out, comm.data(), length);
    return 0;
}

uint64_t get_current_task(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return context->environment->task.task_address;
}

uint64_t get_current_cgroup_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return context->environment->task.cgroup_id;
}

// ---------------------------------------------------------------- probe_read

enum class ProbeSpace { Any, Kernel, User };

// The bytes at [address, address + length) that probe_read may copy: host
// supplied probe memory of the right space, or memory the program may access
// anyway (its stack, context, packet, map values). Never arbitrary host memory.
const uint8_t* probe_source(const RunContext& context, uint64_t address, uint64_t length, ProbeSpace space) {
    for (const auto& range : context.environment->probe_memory) {
        if (space == ProbeSpace::User && !range.user) continue;
        if (space == ProbeSpace::Kernel && range.user) continue;
        Region region{range.address, range.bytes.size(), false, RegionKind::HelperMemory};
        if (region.contains(address, length)) return range.bytes.data() + (address - range.address);
    }
    if (space != ProbeSpace::User && context.region_of(address, length)) return as_pointer<const uint8_t>(address);
    return nullptr;
}

// Readable bytes available from `address` up to `limit`, for the str variants.
uint64_t probe_extent(const RunContext& context, uint64_t address, uint64_t limit, ProbeSpace space) {
    uint64_t low = 0, high = limit;  // the readable prefix length is monotone: binary search
    while (low < high) {
        uint64_t middle = (low + high + 1) / 2;
        if (probe_source(context, address, middle, space)) low = middle;
        else high = middle - 1;
    }
    return low;
}

uint64_t probe_read_in(ProbeSpace space, uint64_t destination, uint64_t size, uint64_t source,
                       RunContext* context) {
    if (!writable(*context, destination, size, "probe_read destination")) return error(-EFAULT);
    const uint8_t* from = probe_source(*context, source, size, space);
    if (!from) {
        std::memset(as_pointer(destination), 0, size);
        return error(-EFAULT);
    }
    std::memmove(as_pointer(destination), from, size);
    return 0;
}

uint64_t probe_read_string_in(ProbeSpace space, uint64_t destination, uint64_t size, uint64_t source,
                              RunContext* context) {
    if (size == 0) return 0;
    if (!writable(*context, destination, size, "probe_read_str destination")) return error(-EFAULT);
    auto* out = as_pointer<uint8_t>(destination);
    uint64_t available = probe_extent(*context, source, size - 1, space);
    const uint8_t* from = available ? probe_source(*context, source, available, space) : nullptr;
    uint64_t copied = 0;
    while (copied < available && from[copied] != 0) {
        out[copied] = from[copied];
        ++copied;
    }
    if (copied == available && copied < size - 1 && !probe_source(*context, source + copied, 1, space)) {
        std::memset(out, 0, size);  // faulted before the terminator
        return error(-EFAULT);
    }
    out[copied] = 0;
    return copied + 1;
}

uint64_t probe_read(uint64_t d, uint64_t n, uint64_t s, uint64_t, uint64_t, RunContext* c) {
    return probe_read_in(ProbeSpace::Any, d, n, s, c);
}
uint64_t probe_read_kernel(uint64_t d, uint64_t n, uint64_t s, uint64_t, uint64_t, RunContext* c) {
    return probe_read_in(ProbeSpace::Kernel, d, n, s, c);
}
uint64_t probe_read_user(uint64_t d, uint64_t n, uint64_t s, uint64_t, uint64_t, RunContext* c) {
    return probe_read_in(ProbeSpace::User, d, n, s, c);
}
uint64_t probe_read_str(uint64_t d, uint64_t n, uint64_t s, uint64_t, uint64_t, RunContext* c) {
    return probe_read_string_in(ProbeSpace::Any, d, n, s, c);
}
uint64_t probe_read_kernel_str(uint64_t d, uint64_t n, uint64_t s, uint64_t, uint64_t, RunContext* c) {
    return probe_read_string_in(ProbeSpace::Kernel, d, n, s, c);
}
uint64_t probe_read_user_str(uint64_t d, uint64_t n, uint64_t s, uint64_t, uint64_t, RunContext* c) {
    return probe_read_string_in(ProbeSpace::User, d, n, s, c);
}

// ---------------------------------------------------------------- trace_printk

// Formats like the kernel's bpf_trace_printk: %d %i %u %x %X %c %s %p with
// optional l/ll, flags, width and precision; at most three arguments.
std::string format_trace(RunContext& context, std::string_view format, const uint64_t (&arguments)[3]) {
    std::string out;
    int next = 0;
    for (size_t i = 0; i < format.size(); ++i) {
        char c = format[i];
        if (c != '%') {
            out += c;
            continue;
        }
        if (i + 1 < format.size() && format[i + 1] == '%') {
            out += '%';
            ++i;
            continue;
        }
        size_t start = i++;
        while (i < format.size() && std::strchr("-+ #0123456789.", format[i])) ++i;
        int longs = 0;
        while (i < format.size() && format[i] == 'l') ++longs, ++i;
        if (i >= format.size()) break;
        char conversion = format[i];
        std::string spec(format.substr(start, i - start));
        spec.erase(std::remove(spec.begin(), spec.end(), 'l'), spec.end());
        uint64_t argument = next < 3 ? arguments[next] : 0;
        ++next;
        char buffer[256];
        switch (conversion) {
        case 'd': case 'i':
            std::snprintf(buffer, sizeof buffer, (spec + "lld").c_str(),
                          longs ? (long long)int64_t(argument) : (long long)int32_t(argument));
            break;
        case 'u': case 'x': case 'X': case 'o':
            std::snprintf(buffer, sizeof buffer, (spec + "ll" + conversion).c_str(),
                          (unsigned long long)(longs ? argument : uint32_t(argument)));
            break;
        case 'c': std::snprintf(buffer, sizeof buffer, (spec + "c").c_str(), int(uint8_t(argument))); break;
        case 'p':
            while (i + 1 < format.size() && std::isalnum(uint8_t(format[i + 1]))) ++i;  // %pK, %pS ...
            std::snprintf(buffer, sizeof buffer, "0x%llx", (unsigned long long)argument);
            break;
        case 's': {
            char text[128] = {};
            if (int64_t(probe_read_string_in(ProbeSpace::Any, reinterpret_cast<uint64_t>(text), sizeof text,
                                             argument, &context)) < 0)
                std::strcpy(text, "(fault)");
            std::snprintf(buffer, sizeof buffer, (spec + "s").c_str(), text);
            break;
        }
        default: std::snprintf(buffer, sizeof buffer, "%s%c", spec.c_str(), conversion); break;
        }
        out += buffer;
    }
    return out;
}

uint64_t trace_printk(uint64_t format, uint64_t size, uint64_t a1, uint64_t a2, uint64_t a3, RunContext* context) {
    if (size == 0 || !readable(*context, format, size, "trace_printk format")) return error(-EINVAL);
    const char* text = as_pointer<const char>(format);
    if (text[size - 1] != 0) return error(-EINVAL);  // the kernel wants a NUL-terminated format
    bool saved = context->checked;
    context->checked = false;  // %s arguments are probed, not checked: a bad one prints "(fault)"
    std::string line = format_trace(*context, std::string_view(text, std::strlen(text)), {a1, a2, a3});
    context->checked = saved;
    if (context->trace) {
        std::string stored = line;
        while (!stored.empty() && stored.back() == '\n') stored.pop_back();
        context->trace->write(std::move(stored));
    }
    return line.size();
}

// ---------------------------------------------------------------- ring buffer and perf

RingBuffer* as_ring_buffer(RunContext& context, uint64_t value) {
    Map* map = as_map(context, value);
    return map && map->type() == MapType::Ringbuf ? static_cast<RingBuffer*>(map) : nullptr;
}

uint64_t ringbuf_output(uint64_t map, uint64_t data, uint64_t size, uint64_t flags, uint64_t, RunContext* context) {
    RingBuffer* ring = as_ring_buffer(*context, map);
    if (!ring || !readable(*context, data, size, "ringbuf_output data")) return error(-EINVAL);
    if (flags & ~uint64_t(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return error(-EINVAL);
    return error(ring->output(as_pointer(data), size));
}

uint64_t ringbuf_reserve(uint64_t map, uint64_t size, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    RingBuffer* ring = as_ring_buffer(*context, map);
    if (!ring || flags != 0) return 0;
    void* record = ring->reserve(size);
    if (record) context->reservations.emplace_back(reinterpret_cast<uint64_t>(record), size);
    return reinterpret_cast<uint64_t>(record);
}

uint64_t ringbuf_commit(uint64_t data, uint64_t flags, RunContext* context, bool discard) {
    auto held = std::find_if(context->reservations.begin(), context->reservations.end(),
                             [&](const auto& r) { return r.first == data; });
    if (held == context->reservations.end()) {
        if (context->checked) {
            Fault fault;
            fault.kind = FaultKind::HelperViolation;
            fault.address = data;
            fault.region = "none";
            fault.message = "ring buffer submit/discard of a pointer that is not a held reservation";
            context->fault = fault;
            return 0;
        }
    } else {
        context->reservations.erase(held);
    }
    RingBuffer::commit_record(as_pointer(data), discard);
    return 0;
}

uint64_t ringbuf_submit(uint64_t data, uint64_t flags, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return ringbuf_commit(data, flags, context, false);
}
uint64_t ringbuf_discard(uint64_t data, uint64_t flags, uint64_t, uint64_t, uint64_t, RunContext* context) {
    return ringbuf_commit(data, flags, context, true);
}
uint64_t ringbuf_query(uint64_t map, uint64_t flags, uint64_t, uint64_t, uint64_t, RunContext* context) {
    RingBuffer* ring = as_ring_buffer(*context, map);
    return ring ? ring->query(flags) : 0;
}

uint64_t perf_event_output(uint64_t, uint64_t map_value, uint64_t flags, uint64_t data, uint64_t size,
                           RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || map->type() != MapType::PerfEventArray) return error(-EINVAL);
    if (!readable(*context, data, size, "perf_event_output data")) return error(-EFAULT);
    return error(static_cast<PerfEventArray*>(map)->output(flags, context->cpu, as_pointer(data), size));
}

// ---------------------------------------------------------------- tail calls

uint64_t tail_call(uint64_t, uint64_t map_value, uint64_t index, uint64_t, uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map || map->type() != MapType::ProgArray) return error(-EINVAL);
    auto id = static_cast<ProgramArray*>(map)->program_at(uint32_t(index));
    if (!id || !context->programs) return error(-ENOENT);
    const LoadedProgram* target = context->programs->find(*id);
    if (!target || context->tail_calls >= MaxTailCalls) return error(-ENOENT);
    ++context->tail_calls;
    context->tail_call_target = target;
    context->control = Control::TailCall;
    return 0;
}

// ---------------------------------------------------------------- packets

constexpr int64_t XdpFrameReserve = 40;  // sizeof(struct xdp_frame) at the buffer start

uint64_t xdp_adjust_head(uint64_t, uint64_t delta_value, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (context->context_kind != ContextKind::Xdp) return error(-EINVAL);
    auto& packet = context->packet;
    int64_t delta = int32_t(delta_value);
    uint8_t* data = packet.data + delta;
    int64_t meta_length = packet.data - packet.data_meta;
    if (data < packet.buffer_begin + XdpFrameReserve + meta_length || data > packet.data_end - EthernetHeader)
        return error(-EINVAL);
    if (meta_length) std::memmove(packet.data_meta + delta, packet.data_meta, size_t(meta_length));
    packet.data_meta += delta;
    packet.data = data;
    sync_packet_fields(*context);
    return 0;
}

uint64_t xdp_adjust_meta(uint64_t, uint64_t delta_value, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (context->context_kind != ContextKind::Xdp) return error(-EINVAL);
    auto& packet = context->packet;
    uint8_t* meta = packet.data_meta + int32_t(delta_value);
    if (meta < packet.buffer_begin + XdpFrameReserve || meta > packet.data) return error(-EINVAL);
    int64_t meta_length = packet.data - meta;
    if (meta_length % 4 != 0 || meta_length > 32) return error(-EACCES);
    packet.data_meta = meta;
    sync_packet_fields(*context);
    return 0;
}

uint64_t xdp_adjust_tail(uint64_t, uint64_t delta_value, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (context->context_kind != ContextKind::Xdp) return error(-EINVAL);
    auto& packet = context->packet;
    int64_t delta = int32_t(delta_value);
    uint8_t* end = packet.data_end + delta;
    if (end > packet.buffer_end || end < packet.data + EthernetHeader) return error(-EINVAL);
    if (delta > 0) std::memset(packet.data_end, 0, size_t(delta));
    packet.data_end = end;
    sync_packet_fields(*context);
    return 0;
}

uint64_t skb_load_bytes(uint64_t, uint64_t offset, uint64_t to, uint64_t length, uint64_t, RunContext* context) {
    if (!writable(*context, to, length, "skb_load_bytes destination")) return error(-EFAULT);
    const auto& packet = context->packet;
    uint64_t packet_length = has_packet(*context) ? uint64_t(packet.data_end - packet.data) : 0;
    if (offset > INT32_MAX || length > packet_length || offset > packet_length - length) {
        std::memset(as_pointer(to), 0, length);
        return error(-EFAULT);
    }
    std::memcpy(as_pointer(to), packet.data + offset, length);
    return 0;
}

uint64_t skb_store_bytes(uint64_t, uint64_t offset, uint64_t from, uint64_t length, uint64_t flags,
                         RunContext* context) {
    if (flags & ~uint64_t(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)) return error(-EINVAL);
    if (!readable(*context, from, length, "skb_store_bytes source")) return error(-EFAULT);
    const auto& packet = context->packet;
    uint64_t packet_length = has_packet(*context) ? uint64_t(packet.data_end - packet.data) : 0;
    if (offset > 0xffff || length > packet_length || offset > packet_length - length) return error(-EFAULT);
    std::memmove(packet.data + offset, as_pointer(from), length);
    return 0;
}

// Ones' complement arithmetic on raw (network order) 16-bit words; the
// result does not depend on host byte order. Example: folding 0x1_fffe gives
// 0xffff (the carry is added back in).
uint32_t fold_to_16(uint64_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return uint32_t(sum);
}
uint64_t add_words(uint64_t sum, uint32_t value) { return sum + (value & 0xffff) + (value >> 16); }

// RFC 1624: HC' = ~(~HC + ~m + m') for the checksum at `field`.
long replace_checksum(uint8_t* field, uint32_t from, uint32_t to, int size, bool keep_zero) {
    uint16_t checksum;
    std::memcpy(&checksum, field, 2);
    if (keep_zero && checksum == 0) return 0;
    uint64_t sum = uint16_t(~checksum);
    if (size == 2) {
        sum = add_words(sum, uint16_t(~uint16_t(from)));
        sum = add_words(sum, uint16_t(to));
    } else if (size == 4) {
        sum = add_words(sum, ~from);
        sum = add_words(sum, to);
    } else {  // size 0: `to` is a csum_diff result to fold in
        sum = add_words(sum, to);
    }
    uint16_t result = uint16_t(~fold_to_16(sum));
    if (keep_zero && result == 0) result = 0xffff;  // CSUM_MANGLED_0
    std::memcpy(field, &result, 2);
    return 0;
}

uint64_t csum_replace(uint64_t offset, uint64_t from, uint64_t to, uint64_t flags, RunContext* context, bool l4) {
    uint64_t allowed = BPF_F_HDR_FIELD_MASK | (l4 ? uint64_t(BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE) : 0);
    if (flags & ~allowed) return error(-EINVAL);
    int size = int(flags & BPF_F_HDR_FIELD_MASK);
    if (size != 0 && size != 2 && size != 4) return error(-EINVAL);
    const auto& packet = context->packet;
    uint64_t packet_length = has_packet(*context) ? uint64_t(packet.data_end - packet.data) : 0;
    if (offset > 0xffff || packet_length < 2 || offset > packet_length - 2) return error(-EFAULT);
    return error(replace_checksum(packet.data + offset, uint32_t(from), uint32_t(to), size,
                                  l4 && (flags & BPF_F_MARK_MANGLED_0)));
}

uint64_t l3_csum_replace(uint64_t, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags, RunContext* c) {
    return csum_replace(offset, from, to, flags, c, false);
}
uint64_t l4_csum_replace(uint64_t, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags, RunContext* c) {
    return csum_replace(offset, from, to, flags, c, true);
}

// csum_diff: the 32-bit ones' complement sum of ~from and to, added to seed.
uint64_t csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed,
                   RunContext* context) {
    if (((from_size | to_size) & 3) || from_size + to_size > 512) return error(-EINVAL);
    if (!readable(*context, from, from_size, "csum_diff from") || !readable(*context, to, to_size, "csum_diff to"))
        return error(-EINVAL);
    uint64_t sum = uint32_t(seed);
    for (uint64_t i = 0; i < from_size; i += 4) {
        uint32_t word;
        std::memcpy(&word, as_pointer<uint8_t>(from) + i, 4);
        sum += uint32_t(~word);
    }
    for (uint64_t i = 0; i < to_size; i += 4) {
        uint32_t word;
        std::memcpy(&word, as_pointer<uint8_t>(to) + i, 4);
        sum += word;
    }
    while (sum >> 32) sum = (sum & 0xffffffff) + (sum >> 32);
    return sum;
}

// ---------------------------------------------------------------- redirects

uint64_t redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (context->context_kind == ContextKind::Xdp) {
        if (flags != 0) return XDP_ABORTED;
        context->redirect = RedirectRecord{BPF_FUNC_redirect, nullptr, uint32_t(ifindex), flags};
        return XDP_REDIRECT;
    }
    if (flags & ~uint64_t(BPF_F_INGRESS)) return TC_ACT_SHOT;
    context->redirect = RedirectRecord{BPF_FUNC_redirect, nullptr, uint32_t(ifindex), flags};
    return TC_ACT_REDIRECT;
}

uint64_t redirect_map(uint64_t map_value, uint64_t key, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    constexpr uint64_t ActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
    if (!map || (flags & ~uint64_t(BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS | ActionMask))) return XDP_ABORTED;
    uint32_t index = uint32_t(key);
    bool present = map->definition().key_size == 4 && map->lookup(&index, context->cpu) != nullptr;
    if (!present) return flags & ActionMask;
    context->redirect = RedirectRecord{BPF_FUNC_redirect_map, map, key, flags};
    return XDP_REDIRECT;
}

// The skb's hash: what __sk_buff.hash holds (the host may set it through --ctx).
uint64_t get_hash_recalc(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (context->context_kind != ContextKind::Skb) return 0;
    return reinterpret_cast<const __sk_buff*>(context->context)->hash;
}

uint64_t clone_redirect(uint64_t, uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    if (flags & ~uint64_t(BPF_F_INGRESS)) return error(-EINVAL);
    context->redirect = RedirectRecord{BPF_FUNC_clone_redirect, nullptr, uint32_t(ifindex), flags};
    return 0;
}

// Packets we run carry no tunnel metadata: the kernel's answer is then -ENOENT
// with the key zeroed; setting a key is accepted (and, like the metadata, not kept).
uint64_t skb_get_tunnel_key(uint64_t, uint64_t key, uint64_t size, uint64_t, uint64_t, RunContext* context) {
    if (!writable(*context, key, size, "tunnel key")) return error(-EFAULT);
    std::memset(as_pointer(key), 0, size);
    return error(-ENOENT);
}

uint64_t skb_set_tunnel_key(uint64_t, uint64_t key, uint64_t size, uint64_t, uint64_t, RunContext* context) {
    if (!readable(*context, key, size, "tunnel key")) return error(-EFAULT);
    return 0;
}

// ---------------------------------------------------------------- locks, loops, strings

uint64_t spin_lock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (!writable(*context, lock, 4, "bpf_spin_lock")) return 0;
    std::atomic_ref<uint32_t> word(*as_pointer<uint32_t>(lock));
    uint32_t expected = 0;
    while (!word.compare_exchange_weak(expected, 1, std::memory_order_acquire)) {
        expected = 0;
        __builtin_ia32_pause();
    }
    return 0;
}

uint64_t spin_unlock(uint64_t lock, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    if (!writable(*context, lock, 4, "bpf_spin_unlock")) return 0;
    std::atomic_ref<uint32_t>(*as_pointer<uint32_t>(lock)).store(0, std::memory_order_release);
    return 0;
}

// bpf_loop: the callback runs nr times or until it returns 1; returns the
// number of iterations done.
uint64_t loop(uint64_t count, uint64_t callback, uint64_t callback_context, uint64_t flags, uint64_t,
              RunContext* context) {
    constexpr uint64_t MaxLoops = 1u << 23;
    if (flags != 0 || count > MaxLoops) return error(flags ? -EINVAL : -E2BIG);
    if (!context->invoke_callback) return error(-EOPNOTSUPP);
    for (uint64_t i = 0; i < count; ++i) {
        uint64_t result = context->invoke_callback(*context, callback, i, callback_context, 0, 0, 0);
        if (context->fault || context->control == Control::Stop) return 0;
        if (result) return i + 1;
    }
    return count;
}

// bpf_for_each_map_elem: callback(map, key, value, ctx) for each element in
// the map's key order until it returns 1; returns how many it was called for.
// The key is a host copy the program may read while the callback runs.
uint64_t for_each_map_elem(uint64_t map_value, uint64_t callback, uint64_t callback_context, uint64_t flags,
                           uint64_t, RunContext* context) {
    Map* map = as_map(*context, map_value);
    if (!map) return 0;
    if (flags != 0) return error(-EINVAL);
    if (!context->invoke_callback) return error(-EOPNOTSUPP);
    const uint32_t key_size = map->definition().key_size;
    std::vector<uint8_t> previous(key_size), key(key_size);
    const size_t key_region = context->extra_regions.size();
    context->extra_regions.push_back(
        Region{reinterpret_cast<uint64_t>(key.data()), key_size, false, RegionKind::HelperMemory});
    uint64_t visited = 0;
    for (bool first = true; map->host_get_next_key(first ? nullptr : previous.data(), key.data()) == 0; first = false) {
        previous = key;
        void* value = map->lookup(key.data(), context->cpu);
        if (value == nullptr) continue;
        ++visited;
        const uint64_t stop = context->invoke_callback(*context, callback, map_value,
                                                       reinterpret_cast<uint64_t>(key.data()),
                                                       reinterpret_cast<uint64_t>(value), callback_context, 0);
        if (context->fault || context->control == Control::Stop || stop != 0) break;
    }
    context->extra_regions.resize(key_region);
    return visited;
}

// Timers: the struct bpf_timer's first word says it was initialised, the
// second holds the callback. The runtime never fires them (a run is one
// invocation of the program); init, set_callback, start and cancel answer as
// the kernel's do.
constexpr uint64_t TimerInitialised = 1;

uint64_t* timer_words(RunContext& context, uint64_t timer) {
    return writable(context, timer, 16, "bpf_timer") ? as_pointer<uint64_t>(timer) : nullptr;
}

uint64_t timer_init(uint64_t timer, uint64_t, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    uint64_t* words = timer_words(*context, timer);
    if (!words) return error(-EINVAL);
    const uint64_t clock = flags & 0xf;  // CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME in the low bits
    if ((flags >> 4) != 0 || (clock != 0 && clock != 1 && clock != 7)) return error(-EINVAL);
    if (words[0] == TimerInitialised) return error(-EBUSY);
    words[0] = TimerInitialised;
    words[1] = 0;
    return 0;
}

uint64_t timer_set_callback(uint64_t timer, uint64_t callback, uint64_t, uint64_t, uint64_t, RunContext* context) {
    uint64_t* words = timer_words(*context, timer);
    if (!words || words[0] != TimerInitialised) return error(-EINVAL);
    words[1] = callback;
    return 0;
}

uint64_t timer_start(uint64_t timer, uint64_t, uint64_t flags, uint64_t, uint64_t, RunContext* context) {
    uint64_t* words = timer_words(*context, timer);
    if (!words || words[0] != TimerInitialised || words[1] == 0 || flags > 7) return error(-EINVAL);
    return 0;
}

uint64_t timer_cancel(uint64_t timer, uint64_t, uint64_t, uint64_t, uint64_t, RunContext* context) {
    uint64_t* words = timer_words(*context, timer);
    if (!words || words[0] != TimerInitialised) return error(-EINVAL);
    return 0;  // never started for real: not active
}

uint64_t strncmp_helper(uint64_t s1, uint64_t size, uint64_t s2, uint64_t, uint64_t, RunContext* context) {
    if (!readable(*context, s1, size, "strncmp s1")) return 0;
    // s2 is a read-only NUL-terminated string constant: compare at most size bytes.
    return uint64_t(int64_t(std::strncmp(as_pointer<const char>(s1), as_pointer<const char>(s2), size)));
}

#define HELPER(name, function) {BPF_FUNC_##name, #name, function}

constexpr HelperDefinition StandardHelpers[] = {
    HELPER(map_lookup_elem, map_lookup_elem),
    HELPER(map_update_elem, map_update_elem),
    HELPER(map_delete_elem, map_delete_elem),
    HELPER(probe_read, probe_read),
    HELPER(ktime_get_ns, ktime_get_ns),
    HELPER(trace_printk, trace_printk),
    HELPER(get_prandom_u32, get_prandom_u32),
    HELPER(get_smp_processor_id, get_smp_processor_id),
    HELPER(skb_store_bytes, skb_store_bytes),
    HELPER(l3_csum_replace, l3_csum_replace),
    HELPER(l4_csum_replace, l4_csum_replace),
    HELPER(tail_call, tail_call),
    HELPER(get_current_pid_tgid, get_current_pid_tgid),
    HELPER(get_current_uid_gid, get_current_uid_gid),
    HELPER(get_current_comm, get_current_comm),
    HELPER(redirect, redirect),
    HELPER(perf_event_output, perf_event_output),
    HELPER(skb_load_bytes, skb_load_bytes),
    HELPER(csum_diff, csum_diff),
    HELPER(get_current_task, get_current_task),
    HELPER(get_numa_node_id, get_numa_node_id),
    HELPER(xdp_adjust_head, xdp_adjust_head),
    HELPER(probe_read_str, probe_read_str),
    HELPER(redirect_map, redirect_map),
    HELPER(xdp_adjust_meta, xdp_adjust_meta),
    HELPER(xdp_adjust_tail, xdp_adjust_tail),
    HELPER(get_current_cgroup_id, get_current_cgroup_id),
    HELPER(map_push_elem, map_push_elem),
    HELPER(map_pop_elem, map_pop_elem),
    HELPER(map_peek_elem, map_peek_elem),
    HELPER(spin_lock, spin_lock),
    HELPER(spin_unlock, spin_unlock),
    HELPER(probe_read_user, probe_read_user),
    HELPER(probe_read_kernel, probe_read_kernel),
    HELPER(probe_read_user_str, probe_read_user_str),
    HELPER(probe_read_kernel_str, probe_read_kernel_str),
    HELPER(jiffies64, jiffies64),
    HELPER(ktime_get_boot_ns, ktime_get_boot_ns),
    HELPER(ringbuf_output, ringbuf_output),
    HELPER(ringbuf_reserve, ringbuf_reserve),
    HELPER(ringbuf_submit, ringbuf_submit),
    HELPER(ringbuf_discard, ringbuf_discard),
    HELPER(ringbuf_query, ringbuf_query),
    HELPER(get_current_task_btf, get_current_task),
    HELPER(ktime_get_coarse_ns, ktime_get_coarse_ns),
    HELPER(loop, loop),
    HELPER(for_each_map_elem, for_each_map_elem),
    HELPER(timer_init, timer_init),
    HELPER(timer_set_callback, timer_set_callback),
    HELPER(timer_start, timer_start),
    HELPER(timer_cancel, timer_cancel),
    HELPER(strncmp, strncmp_helper),
    HELPER(map_lookup_percpu_elem, map_lookup_percpu_elem),
    HELPER(get_hash_recalc, get_hash_recalc),
    HELPER(clone_redirect, clone_redirect),
    HELPER(skb_get_tunnel_key, skb_get_tunnel_key),
    HELPER(skb_set_tunnel_key, skb_set_tunnel_key),
    // network_helpers.cpp
    HELPER(fib_lookup, fib_lookup),
    HELPER(skb_change_tail, skb_change_tail),
    HELPER(skb_change_head, skb_change_head),
    HELPER(skb_change_proto, skb_change_proto),
    HELPER(skb_vlan_push, skb_vlan_push),
    HELPER(skb_vlan_pop, skb_vlan_pop),
    HELPER(setsockopt, helper_support::setsockopt),
    HELPER(getsockopt, helper_support::getsockopt),
    HELPER(skb_under_cgroup, skb_under_cgroup),
    HELPER(current_task_under_cgroup, current_task_under_cgroup),
    HELPER(sk_lookup_tcp, sk_lookup),
    HELPER(sk_lookup_udp, sk_lookup),
    HELPER(skc_lookup_tcp, sk_lookup),
    HELPER(sk_release, sk_release),
    // tracing_helpers.cpp
    HELPER(get_stackid, get_stackid),
    HELPER(get_stack, get_stack),
    HELPER(perf_event_read, perf_event_read),
    HELPER(perf_event_read_value, perf_event_read_value),
    HELPER(override_return, override_return),
    HELPER(probe_write_user, probe_write_user),
};

#undef HELPER

}  // namespace

namespace helper_support {

const uint8_t* probe_kernel_source(const RunContext& context, uint64_t address, uint64_t length) {
    return probe_source(context, address, length, ProbeSpace::Kernel);
}

// xdp_md and __sk_buff keep packet pointers in 32-bit fields; packets live
// below 4 GiB (LowMemory), so the field is the address.
void sync_packet_fields(RunContext& context) {
    auto low = [](const uint8_t* p) { return uint32_t(reinterpret_cast<uintptr_t>(p)); };
    if (context.context_kind == ContextKind::Xdp) {
        auto* md = reinterpret_cast<xdp_md*>(context.context);
        md->data = low(context.packet.data);
        md->data_end = low(context.packet.data_end);
        md->data_meta = low(context.packet.data_meta);
    } else if (context.context_kind == ContextKind::Skb) {
        auto* skb = reinterpret_cast<__sk_buff*>(context.context);
        skb->data = low(context.packet.data);
        skb->data_end = low(context.packet.data_end);
        skb->data_meta = low(context.packet.data_meta);
        skb->len = uint32_t(context.packet.data_end - context.packet.data);
    }
}

}  // namespace helper_support

std::span<const HelperDefinition> standard_helpers() { return StandardHelpers; }

HelperTable HelperTable::standard() {
    HelperTable table;
    for (const auto& helper : StandardHelpers) table.set(helper.id, helper.name, helper.function);
    return table;
}

void HelperTable::set(int32_t id, const char* name, HelperFunction function) {
    if (id < 0) return;
    if (size_t(id) >= by_id_.size()) by_id_.resize(size_t(id) + 1);
    by_id_[size_t(id)] = HelperDefinition{id, name, function};
}

const HelperDefinition* HelperTable::find(int32_t id) const {
    if (id < 0 || size_t(id) >= by_id_.size() || !by_id_[size_t(id)]) return nullptr;
    return &*by_id_[size_t(id)];
}

}  // namespace bpfvet::runtime
