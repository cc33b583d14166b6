// ARG_PTR_TO_CONST_STR (bpf_snprintf's format, bpf_strncmp's s2): a
// NUL-terminated string at a constant offset of a frozen read-only map value
// (.rodata), which the kernel reads at load time (check_reg_const_str); and
// bpf_snprintf's format checked against its arguments as bpf_bprintf_prepare does.
#include "analyzer/engine.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstring>

namespace bpfvet::analyzer::detail {

namespace {

constexpr int32_t snprintf_helper = 165;

// Why bpf_bprintf_prepare refuses `format` with `arguments` u64 arguments, or
// empty when it accepts it. Conversions beyond the integer, %c and %s ones
// (the %p family) are refused here too: not modelled, never accepted wrongly.
std::string format_refusal(std::string_view format, uint64_t arguments) {
    uint64_t used = 0;
    for (size_t i = 0; i < format.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(format[i]);
        if (!std::isprint(c) && !std::isspace(c)) return fmt::format("byte {} (0x{:02x}) is not printable", i, c);
        if (c != '%') continue;
        if (i + 1 < format.size() && format[i + 1] == '%') {
            ++i;
            continue;
        }
        if (used >= arguments)
            return fmt::format("conversion {} at byte {} has no argument ({} given)", used + 1, i, arguments);
        ++i;
        while (i < format.size() && (format[i] == '0' || format[i] == '+' || format[i] == '-' || format[i] == ' ')) ++i;
        if (i < format.size() && format[i] >= '1' && format[i] <= '9')
            while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) ++i;
        if (i < format.size() && (format[i] == 's' || format[i] == 'c')) {
            ++used;
            continue;
        }
        if (i < format.size() && format[i] == 'l') ++i;
        if (i < format.size() && format[i] == 'l') ++i;
        if (i >= format.size() || std::strchr("iduxX", format[i]) == nullptr)
            return fmt::format("conversion at byte {} is not one of %d %i %u %x %X %c %s (or this analyzer does not "
                               "model it)",
                               i);
        ++used;
    }
    return {};
}

}  // namespace

std::optional<std::string_view> Engine::check_const_string(uint32_t pc, AbstractState& state,
                                                           const HelperPrototype& helper, int reg) {
    const Value& arg = state.reg(reg);
    if (!arg.is_pointer(PointerKind::MapValue) || arg.maybe_null || arg.maps != 0) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("argument {} of {}#{} must point to a string in a read-only map, but r{} is {} (the "
                           "kernel: R{} type=... expected=map_value)",
                           reg, helper.name, helper.id, reg, describe_value(arg, &object_), reg),
               {reg});
        return std::nullopt;
    }
    const ir::MapDefinition& map = object_.maps[arg.region];
    // Only global data is frozen before the program loads (libbpf freezes .rodata).
    if (!map.is_global_data || !map.read_only) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("argument {} of {}#{} points into map '{}', which is not a frozen read-only map (the "
                           "kernel: R{} does not point to a readonly map)",
                           reg, helper.name, helper.id, map.name, reg),
               {reg});
        return std::nullopt;
    }
    const std::optional<uint64_t> offset = arg.number.constant_value();
    if (!offset) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("argument {} of {}#{} points at offsets {} of '{}' (the kernel: R{} is not a constant "
                           "address)",
                           reg, helper.name, helper.id, arg.number.to_compact_string(), map.name, reg),
               {reg});
        return std::nullopt;
    }
    if (*offset >= map.value_size || *offset >= map.initial_value.size()) {
        report(state, ErrorCode::MapValueOutOfBounds, pc,
               fmt::format("argument {} of {}#{} points at offset {}, outside the {}-byte '{}'", reg, helper.name,
                           helper.id, int64_t(*offset), map.value_size, map.name),
               {reg});
        return std::nullopt;
    }
    const char* start = reinterpret_cast<const char*>(map.initial_value.data()) + *offset;
    const size_t room = std::min<size_t>(map.value_size, map.initial_value.size()) - size_t(*offset);
    const size_t length = strnlen(start, room);
    if (length == room) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("the string at offset {} of '{}' for {}#{} is not zero-terminated", int64_t(*offset),
                           map.name, helper.name, helper.id),
               {reg});
        return std::nullopt;
    }
    return std::string_view(start, length);
}

bool Engine::check_format_string(uint32_t pc, AbstractState& state, const HelperPrototype& helper,
                                 std::string_view format) {
    if (helper.id != snprintf_helper) return true;
    // bpf_snprintf(str, size, fmt, data, data_len): data is an array of u64.
    const Value& data_len = state.reg(5);
    const std::optional<uint64_t> length = data_len.is_scalar() ? data_len.number.constant_value() : std::nullopt;
    if (!length || *length % 8 != 0) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("bpf_snprintf's data_len (r5) must be a known multiple of 8, but r5 is {} (the kernel "
                           "reads it as the number of u64 arguments)",
                           describe_value(data_len, &object_)),
               {5});
        return false;
    }
    if (std::string why = format_refusal(format, *length / 8); !why.empty()) {
        report(state, ErrorCode::HelperArgument, pc,
               fmt::format("bpf_snprintf's format \"{}\" is refused: {} (the kernel: Invalid format string)", format,
                           why),
               {3, 5});
        return false;
    }
    return true;
}

}  // namespace bpfvet::analyzer::detail
