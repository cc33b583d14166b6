// Names of the kernel's BPF helper functions, by id (enum bpf_func_id).
//
//   helper_name(1)                       == "bpf_map_lookup_elem"
//   helper_id("bpf_map_lookup_elem")     == 1
//   helper_id("map_lookup_elem")         == 1   (the "bpf_" prefix is optional)
//   helper_name(9999)                    == ""  (unknown id)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bpfvet::ir {

// The helper's name with its "bpf_" prefix, or empty for an unknown id.
[[nodiscard]] std::string_view helper_name(int32_t id);

// The id of a helper named with or without the "bpf_" prefix.
[[nodiscard]] std::optional<int32_t> helper_id(std::string_view name);

// A call of `symbol`, which no function of the object defines, in plain words:
// a helper's name says how to declare helpers, anything else says it is undefined.
//   undefined_call_message("bpf_map_lookup_elem") ==
//     "bpf_map_lookup_elem is an undefined symbol: declare helpers as in bpf_helpers.h (a pointer to the "
//     "helper's number: static void *(*bpf_map_lookup_elem)(...) = (void *) 1), not as extern functions"
//   undefined_call_message("foo") == "foo is an undefined symbol: no function of the object defines it, ..."
[[nodiscard]] std::string undefined_call_message(std::string_view symbol);

// One past the highest known helper id (212: ids 0..211, up to bpf_cgrp_storage_delete).
[[nodiscard]] int32_t helper_count();

}  // namespace bpfvet::ir
