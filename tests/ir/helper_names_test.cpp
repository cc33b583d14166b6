#include "ir/helper_names.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace bpfvet::ir {
namespace {

// Ids from enum bpf_func_id in include/uapi/linux/bpf.h.
const std::pair<int32_t, std::string_view> known_helpers[] = {
    {0, "bpf_unspec"},
    {1, "bpf_map_lookup_elem"},
    {2, "bpf_map_update_elem"},
    {3, "bpf_map_delete_elem"},
    {4, "bpf_probe_read"},
    {5, "bpf_ktime_get_ns"},
    {6, "bpf_trace_printk"},
    {7, "bpf_get_prandom_u32"},
    {8, "bpf_get_smp_processor_id"},
    {9, "bpf_skb_store_bytes"},
    {10, "bpf_l3_csum_replace"},
    {11, "bpf_l4_csum_replace"},
    {12, "bpf_tail_call"},
    {14, "bpf_get_current_pid_tgid"},
    {15, "bpf_get_current_uid_gid"},
    {16, "bpf_get_current_comm"},
    {23, "bpf_redirect"},
    {25, "bpf_perf_event_output"},
    {26, "bpf_skb_load_bytes"},
    {27, "bpf_get_stackid"},
    {28, "bpf_csum_diff"},
    {35, "bpf_get_current_task"},
    {44, "bpf_xdp_adjust_head"},
    {45, "bpf_probe_read_str"},
    {51, "bpf_redirect_map"},
    {65, "bpf_xdp_adjust_tail"},
    {69, "bpf_fib_lookup"},
    {80, "bpf_get_current_cgroup_id"},
    {84, "bpf_sk_lookup_tcp"},
    {86, "bpf_sk_release"},
    {93, "bpf_spin_lock"},
    {94, "bpf_spin_unlock"},
    {107, "bpf_sk_storage_get"},
    {112, "bpf_probe_read_user"},
    {113, "bpf_probe_read_kernel"},
    {114, "bpf_probe_read_user_str"},
    {115, "bpf_probe_read_kernel_str"},
    {125, "bpf_ktime_get_boot_ns"},
    {130, "bpf_ringbuf_output"},
    {131, "bpf_ringbuf_reserve"},
    {132, "bpf_ringbuf_submit"},
    {133, "bpf_ringbuf_discard"},
    {134, "bpf_ringbuf_query"},
    {141, "bpf_get_task_stack"},
    {147, "bpf_d_path"},
    {156, "bpf_task_storage_get"},
    {158, "bpf_get_current_task_btf"},
    {164, "bpf_for_each_map_elem"},
    {165, "bpf_snprintf"},
    {169, "bpf_timer_init"},
    {173, "bpf_get_func_ip"},
    {177, "bpf_trace_vprintk"},
    {181, "bpf_loop"},
    {182, "bpf_strncmp"},
    {194, "bpf_kptr_xchg"},
    {197, "bpf_dynptr_from_mem"},
    {201, "bpf_dynptr_read"},
    {208, "bpf_ktime_get_tai_ns"},
    {209, "bpf_user_ringbuf_drain"},
    {210, "bpf_cgrp_storage_get"},
    {211, "bpf_cgrp_storage_delete"},
};

TEST(HelperNames, KnownIdsHaveTheirKernelNames) {
    for (auto [id, name] : known_helpers) {
        EXPECT_EQ(helper_name(id), name) << "id " << id;
        EXPECT_EQ(helper_id(name), id) << name;
        EXPECT_EQ(helper_id(name.substr(4)), id) << "without prefix: " << name;
    }
}

TEST(HelperNames, UnknownIdsAndNames) {
    EXPECT_EQ(helper_name(-1), "");
    EXPECT_EQ(helper_name(212), "");
    EXPECT_EQ(helper_name(999), "");
    EXPECT_EQ(helper_count(), 212);
    EXPECT_FALSE(helper_id("bpf_no_such_helper"));
    EXPECT_FALSE(helper_id(""));
    EXPECT_FALSE(helper_id("bpf_"));
    EXPECT_FALSE(helper_id("map_lookup"));
}

TEST(HelperNames, EveryIdHasOneDistinctNameThatMapsBack) {
    std::set<std::string_view> seen;
    for (int32_t id = 0; id < helper_count(); ++id) {
        std::string_view name = helper_name(id);
        ASSERT_TRUE(name.starts_with("bpf_")) << id;
        EXPECT_TRUE(seen.insert(name).second) << "duplicate " << name;
        EXPECT_EQ(helper_id(name), id);
    }
}

// A call of an undefined symbol: a helper's name says how to declare helpers.
TEST(HelperNames, UndefinedCallMessageNamesTheSymbol) {
    const std::string helper = undefined_call_message("bpf_map_lookup_elem");
    EXPECT_EQ(helper.rfind("bpf_map_lookup_elem is an undefined symbol: declare helpers as in bpf_helpers.h", 0), 0u)
        << helper;
    EXPECT_NE(helper.find("(void *) 1)"), std::string::npos) << helper;  // helper number 1
    const std::string other = undefined_call_message("my_function");
    EXPECT_EQ(other.rfind("my_function is an undefined symbol: no function of the object defines it", 0), 0u) << other;
    // Without the bpf_ prefix a name is no helper's declaration.
    EXPECT_EQ(undefined_call_message("map_lookup_elem").find("bpf_helpers.h"), std::string::npos);
}

}  // namespace
}  // namespace bpfvet::ir
