#include "analyzer/btf_access.hpp"

#include <fmt/format.h>

#include <array>

namespace bpfvet::analyzer {

using ir::BtfKind;

namespace {

constexpr int MaxWalkDepth = 32;       // nested structs and flexible arrays followed by one load
constexpr uint32_t MaxArguments = 12;  // MAX_BPF_FUNC_ARGS
constexpr uint32_t ContextSlots = 12;

// Section prefixes of BTF-typed programs (libbpf's section_defs).
struct AttachPrefix {
    std::string_view prefix;
    ir::ProgramType type;
    BtfAttachKind kind;
};

constexpr std::array<AttachPrefix, 12> attach_prefixes{{
    {"fentry", ir::ProgramType::Tracing, BtfAttachKind::Fentry},
    {"fentry.s", ir::ProgramType::Tracing, BtfAttachKind::Fentry},
    {"fexit", ir::ProgramType::Tracing, BtfAttachKind::Fexit},
    {"fexit.s", ir::ProgramType::Tracing, BtfAttachKind::Fexit},
    {"fmod_ret", ir::ProgramType::Tracing, BtfAttachKind::ModifyReturn},
    {"fmod_ret.s", ir::ProgramType::Tracing, BtfAttachKind::ModifyReturn},
    {"tp_btf", ir::ProgramType::Tracing, BtfAttachKind::RawTracepoint},
    {"iter", ir::ProgramType::Tracing, BtfAttachKind::Iterator},
    {"iter.s", ir::ProgramType::Tracing, BtfAttachKind::Iterator},
    {"lsm", ir::ProgramType::Lsm, BtfAttachKind::Lsm},
    {"lsm.s", ir::ProgramType::Lsm, BtfAttachKind::Lsm},
    {"lsm_cgroup", ir::ProgramType::Lsm, BtfAttachKind::LsmCgroup},
}};

// Tracepoints whose pointer arguments may be null or hold an error pointer
// (the kernel's raw_tp_null_args): per argument i, bit 4*i says "may be
// null", bit 4*i+1 "may be an error pointer" (read as a number).
struct NullableTracepoint {
    std::string_view name;
    uint64_t mask;
};

constexpr NullableTracepoint nullable_tracepoints[] = {
    {"sched_pi_setprio", 0x10}, {"sched_stick_numa", 0x100}, {"sched_swap_numa", 0x100},
    {"afs_make_fs_call", 0x10}, {"afs_make_fs_calli", 0x10}, {"afs_make_fs_call1", 0x10},
    {"afs_make_fs_call2", 0x10}, {"afs_protocol_error", 0x1}, {"afs_flock_ev", 0x10},
    {"cachefiles_lookup", 0x201}, {"cachefiles_unlink", 0x1}, {"cachefiles_rename", 0x1},
    {"cachefiles_prep_read", 0x1}, {"cachefiles_mark_active", 0x1}, {"cachefiles_mark_failed", 0x1},
    {"cachefiles_mark_inactive", 0x1}, {"cachefiles_vfs_error", 0x1}, {"cachefiles_io_error", 0x1},
    {"cachefiles_ondemand_open", 0x1}, {"cachefiles_ondemand_copen", 0x1}, {"cachefiles_ondemand_close", 0x1},
    {"cachefiles_ondemand_read", 0x1}, {"cachefiles_ondemand_cread", 0x1},
    {"cachefiles_ondemand_fd_write", 0x1}, {"cachefiles_ondemand_fd_release", 0x1},
    {"ext4_mballoc_discard", 0x10}, {"ext4_mballoc_free", 0x10}, {"fib_table_lookup", 0x100},
    {"posix_lock_inode", 0x10}, {"fcntl_setlk", 0x10}, {"locks_remove_posix", 0x10}, {"flock_lock_inode", 0x10},
    {"break_lease_noblock", 0x10}, {"break_lease_block", 0x10}, {"break_lease_unblock", 0x10},
    {"generic_delete_lease", 0x10}, {"time_out_leases", 0x10}, {"host1x_cdma_push_gather", 0x10000},
    {"mm_khugepaged_scan_pmd", 0x10}, {"mm_collapse_huge_page_isolate", 0x1}, {"mm_khugepaged_scan_file", 0x10},
    {"mm_khugepaged_collapse_file", 0x10}, {"mm_page_alloc", 0x1}, {"mm_page_pcpu_drain", 0x1},
    {"mm_page_alloc_zone_locked", 0x1}, {"netfs_failure", 0x10}, {"device_pm_callback_start", 0x10},
    {"qdisc_dequeue", 0x1000}, {"rxrpc_recvdata", 0x1}, {"rxrpc_resend", 0x10}, {"rxrpc_tq", 0x10},
    {"rxrpc_client", 0x1}, {"kfree_skb", 0x1000}, {"xs_stream_read_data", 0x1}, {"xprt_reserve_cong", 0x10},
    {"xprt_release_cong", 0x10}, {"xprt_get_cong", 0x10}, {"xprt_put_cong", 0x10}, {"tcp_send_reset", 0x11},
    {"tegra_dma_tx_status", 0x100}, {"tmigr_update_events", 0x1}, {"writeback_dirty_folio", 0x10},
    {"folio_wait_writeback", 0x10}, {"mr_integ_alloc", 0x2000}, {"amdgpu_vm_bo_map", 0x1},
    {"amdgpu_vm_bo_unmap", 0x1}, {"netfs_folioq", 0x1}, {"xfs_defer_create_intent", 0x1},
    {"xfs_defer_cancel_list", 0x1}, {"xfs_defer_pending_finish", 0x1}, {"xfs_defer_pending_abort", 0x1},
    {"xfs_defer_relog_intent", 0x1}, {"xfs_defer_isolate_paused", 0x1}, {"xfs_defer_item_pause", 0x1},
    {"xfs_defer_item_unpause", 0x1}, {"xfs_defer_add_item", 0x1}, {"xfs_defer_cancel_item", 0x1},
    {"xfs_defer_finish_item", 0x1}, {"xfs_ioc_free_eofblocks", 0x10}, {"xfs_blockgc_free_space", 0x10},
    {"xfs_btree_updkeys", 0x100}, {"xfs_btree_overlapped_query_range", 0x100}, {"xfs_map_blocks_found", 0x10000},
    {"xfs_map_blocks_alloc", 0x10000}, {"xfs_iomap_alloc", 0x1000}, {"xfs_iomap_found", 0x1000},
    {"xfs_inodegc_flush", 0x1}, {"xfs_inodegc_push", 0x1}, {"xfs_inodegc_start", 0x1}, {"xfs_inodegc_stop", 0x1},
    {"xfs_inodegc_queue", 0x1}, {"xfs_inodegc_throttle", 0x1}, {"xfs_fs_sync_fs", 0x1}, {"xfs_blockgc_start", 0x1},
    {"xfs_blockgc_stop", 0x1}, {"xfs_blockgc_worker", 0x1}, {"xfs_blockgc_flush_all", 0x1},
    {"xchk_nlinks_live_update", 0x10}, {"xchk_metapath_lookup", 0x100}, {"nfsd_dirent", 0x1},
    {"nfsd_file_acquire", 0x1001}, {"nfsd_file_insert_err", 0x1}, {"nfsd_file_cons_err", 0x1},
    {"nfs4_setup_sequence", 0x1}, {"pnfs_update_layout", 0x10000}, {"nfs4_inode_callback_event", 0x200},
    {"nfs4_inode_stateid_callback_event", 0x200}, {"pnfs_mds_fallback_pg_init_read", 0x10000},
    {"pnfs_mds_fallback_pg_init_write", 0x10000}, {"pnfs_mds_fallback_pg_get_mirror_count", 0x10000},
    {"pnfs_mds_fallback_read_done", 0x10000}, {"pnfs_mds_fallback_write_done", 0x10000},
    {"pnfs_mds_fallback_read_pagelist", 0x10000}, {"pnfs_mds_fallback_write_pagelist", 0x10000},
    {"coda_dec_pic_run", 0x10}, {"coda_dec_pic_done", 0x10}, {"cfg80211_scan_done", 0x11},
    {"rdev_set_coalesce", 0x10}, {"cfg80211_report_wowlan_wakeup", 0x100}, {"cfg80211_inform_bss_frame", 0x100},
    {"cfg80211_michael_mic_failure", 0x10000}, {"wiphy_work_queue", 0x10}, {"wiphy_work_run", 0x10},
    {"wiphy_work_cancel", 0x10}, {"wiphy_work_flush", 0x10}, {"hugetlbfs_alloc_inode", 0x10},
    {"spufs_context", 0x10}, {"kvm_page_fault_enter", 0x100}, {"dpu_crtc_setup_mixer", 0x100},
    {"binder_transaction", 0x100}, {"btree_path_free", 0x100}, {"hfi1_sdma_progress", 0x1000},
    {"iptfs_ingress_postq_event", 0x1000}, {"neigh_update", 0x10}, {"amdtp_packet", 0x100},
};

bool is_struct(const std::optional<ir::BtfType>& t) {
    return t && (t->kind == BtfKind::Struct || t->kind == BtfKind::Union);
}

bool is_small_int(const std::optional<ir::BtfType>& t) { return t && t->kind == BtfKind::Int && t->size <= 8; }

bool is_enum(const std::optional<ir::BtfType>& t) {
    return t && (t->kind == BtfKind::Enum || t->kind == BtfKind::Enum64);
}

// Bytes an argument of this type takes in the context (the kernel's
// get_ctx_arg_idx): pointers 8, other types their size rounded up to 8.
uint32_t argument_bytes(const ir::KernelBtf& btf, uint32_t type) {
    auto t = btf.type(btf.skip_modifiers(type));
    if (!t) return 0;
    if (t->kind == BtfKind::Pointer) return 8;
    return (t->size + 7) / 8 * 8;
}

// __user or __percpu on the type a pointer points to (its first type tag).
uint8_t memory_tag_of(const ir::KernelBtf& btf, uint32_t pointee) {
    auto t = btf.type(pointee);
    if (!t || t->kind != BtfKind::TypeTag || t->kind_flag) return 0;
    if (t->name == "user") return BtfUserMemory;
    if (t->name == "percpu") return BtfPercpuMemory;
    return 0;
}

// A member's type with typedefs, qualifiers and arrays resolved (the kernel's
// __btf_resolve_size): `struct inode *i_sb[2][3]` has size 48, element
// `struct inode *` (size 8), 6 elements.
struct ResolvedMember {
    uint64_t size = 0;       // the whole member
    bool is_array = false;
    uint32_t element = 0;    // the innermost element type (modifiers skipped)
    uint64_t elements = 1;
};

std::optional<ResolvedMember> resolve_member(const ir::KernelBtf& btf, uint32_t type) {
    ResolvedMember out;
    for (int i = 0; i < MaxWalkDepth; ++i) {
        type = btf.skip_modifiers(type);
        auto t = btf.type(type);
        if (!t) return std::nullopt;
        if (t->kind == BtfKind::Array) {
            auto array = btf.array(type);
            if (!array) return std::nullopt;
            out.is_array = true;
            out.elements *= array->count;
            if (out.elements > 0xffffffffULL) return std::nullopt;
            type = array->element_type;
            continue;
        }
        uint64_t size;
        switch (t->kind) {
        case BtfKind::Int:
        case BtfKind::Struct:
        case BtfKind::Union:
        case BtfKind::Enum:
        case BtfKind::Enum64:
        case BtfKind::Float: size = t->size; break;
        case BtfKind::Pointer: size = 8; break;
        default: return std::nullopt;
        }
        out.element = type;
        out.size = size * out.elements;
        if (out.size > 0xffffffffULL) return std::nullopt;
        return out;
    }
    return std::nullopt;
}

}  // namespace

std::optional<BtfAttachKind> btf_attach_kind(ir::ProgramType type, std::string_view section) {
    section = ir::without_autoload_marker(section);
    const std::string_view prefix = section.substr(0, section.find('/'));
    for (const auto& entry : attach_prefixes)
        if (entry.prefix == prefix && entry.type == type) return entry.kind;
    return std::nullopt;
}

std::string_view btf_attach_kind_name(BtfAttachKind kind) {
    switch (kind) {
    case BtfAttachKind::Fentry: return "fentry";
    case BtfAttachKind::Fexit: return "fexit";
    case BtfAttachKind::ModifyReturn: return "fmod_ret";
    case BtfAttachKind::RawTracepoint: return "tp_btf";
    case BtfAttachKind::Lsm: return "lsm";
    case BtfAttachKind::LsmCgroup: return "lsm_cgroup";
    case BtfAttachKind::Iterator: return "iter";
    }
    return "?";
}

std::optional<ReturnRange> btf_return_range(BtfAttachKind kind) {
    switch (kind) {
    case BtfAttachKind::Fentry:
    case BtfAttachKind::Fexit: return ReturnRange{0, 0};
    case BtfAttachKind::Lsm: return ReturnRange{-4095, 0, true};
    case BtfAttachKind::LsmCgroup: return ReturnRange{0, 1};
    default: return std::nullopt;
    }
}

std::expected<BtfAttach, std::string> resolve_btf_attach(const ir::KernelBtf& btf, BtfAttachKind kind,
                                                         std::string_view section) {
    BtfAttach attach;
    attach.kind = kind;
    attach.label = std::string(section);
    auto named = ir::btf_attach_target(section);
    if (!named) return std::unexpected(fmt::format("section '{}' names no attach target", section));
    attach.target = named->name;
    if (kind == BtfAttachKind::Iterator)
        return std::unexpected("the context of iterator programs is not modelled");
    const bool tracepoint = kind == BtfAttachKind::RawTracepoint;
    const std::string_view attach_target = section.substr(section.find('/') + 1);  // after any '?'
    auto id = btf.find(named->kind, attach.target);
    if (!id)
        return std::unexpected(fmt::format("the kernel BTF ({}) has no {} '{}'", btf.origin(),
                                           ir::btf_kind_name(named->kind), attach.target));
    attach.target_id = *id;
    uint32_t proto = btf.type(*id)->type;
    if (tracepoint) {
        // typedef void (*btf_trace_<name>)(void *__data, args...)
        auto pointer = btf.type(proto);
        if (!pointer || pointer->kind != BtfKind::Pointer)
            return std::unexpected(fmt::format("{} is not a pointer to a function prototype", attach.target));
        proto = pointer->type;
    }
    auto proto_type = btf.type(proto);
    if (!proto_type || proto_type->kind != BtfKind::FunctionProto)
        return std::unexpected(fmt::format("{} has no function prototype", attach.target));
    std::vector<ir::BtfParam> params = btf.params(proto);
    if (tracepoint) {
        if (params.empty()) return std::unexpected(fmt::format("{} lacks its first (__data) argument", attach.target));
        params.erase(params.begin());
    }
    if (params.size() > MaxArguments)
        return std::unexpected(fmt::format("{} has {} arguments, more than {}", attach.target, params.size(),
                                           MaxArguments));
    if (tracepoint) {
        // Nullable and error-pointer arguments, from the kernel's list.
        for (const auto& entry : nullable_tracepoints) {
            if (entry.name != attach_target) continue;
            for (uint32_t i = 0; i < params.size(); ++i) {
                if (entry.mask & (uint64_t(1) << (4 * i))) attach.nullable |= 1u << i;
                if (entry.mask & (uint64_t(2) << (4 * i))) attach.error_pointer |= 1u << i;
            }
        }
    }
    uint32_t bytes = 0;
    for (const auto& param : params) {
        if (param.type == 0) return std::unexpected(fmt::format("{} takes variable arguments", attach.target));
        uint32_t size = argument_bytes(btf, param.type);
        if (size == 0 || size > 16)
            return std::unexpected(fmt::format("argument '{}' of {} has an unsupported type {}", param.name,
                                               attach.target, btf.describe(param.type)));
        if (tracepoint && size != 8)
            return std::unexpected(fmt::format("argument '{}' of {} is passed by value in {} bytes", param.name,
                                               attach.target, size));
        attach.arguments.push_back({param.name, param.type, bytes / 8, size / 8, false});
        bytes += size;
    }
    attach.returns_void = proto_type->type == 0;
    const bool return_readable = kind == BtfAttachKind::Fexit || kind == BtfAttachKind::ModifyReturn ||
                                 kind == BtfAttachKind::Lsm || kind == BtfAttachKind::LsmCgroup;
    if (return_readable && proto_type->type != 0) {
        uint32_t size = argument_bytes(btf, proto_type->type);
        if (size > 0 && size <= 8) attach.arguments.push_back({"return value", proto_type->type, bytes / 8, 1, true});
    }
    return attach;
}

std::variant<BtfLoad, std::string> btf_context_read(const ir::KernelBtf& btf, const BtfAttach& attach, int64_t offset,
                                                    int size) {
    if (offset < 0 || offset >= int64_t(8 * ContextSlots))
        return fmt::format("offset {} is outside the {} argument slots of {}", offset, ContextSlots, attach.label);
    if (offset % 8 != 0)
        return fmt::format("offset {} of the arguments of {} is not a multiple of 8", offset, attach.label);
    const uint32_t slot = uint32_t(offset / 8);
    const BtfArgument* argument = nullptr;
    for (const auto& candidate : attach.arguments)
        if (slot >= candidate.first_slot && slot < candidate.first_slot + candidate.slots) argument = &candidate;
    if (!argument) {
        size_t parameters = attach.arguments.size() - (!attach.arguments.empty() && attach.arguments.back().return_value);
        return fmt::format("{} ({}) has no argument in ctx[{}]: it takes {} argument slot(s){}", attach.label,
                           attach.target, slot, parameters,
                           attach.kind == BtfAttachKind::Fexit || attach.kind == BtfAttachKind::ModifyReturn ||
                                   attach.kind == BtfAttachKind::Lsm
                               ? " and its return value, if not void, follows them"
                               : "");
    }
    const size_t index = size_t(argument - attach.arguments.data());
    const std::string what = argument->return_value ? std::string("the return value")
                             : argument->name.empty() ? fmt::format("argument {}", index)
                                                      : fmt::format("argument {} '{}'", index, argument->name);
    const uint32_t type = btf.skip_modifiers(argument->type);
    auto t = btf.type(type);
    if (argument->return_value && attach.kind == BtfAttachKind::ModifyReturn && !is_small_int(t))
        return fmt::format("the return type {} of {} is not an integer, which fmod_ret needs", btf.describe(type),
                           attach.target);
    if (is_small_int(t) || is_enum(t) || is_struct(t)) {  // a number (or a struct passed by value)
        BtfLoad number;
        if (argument->return_value && attach.kind == BtfAttachKind::Lsm && is_small_int(t) && size == 8)
            number.range = btf_return_range(attach.kind);
        return number;
    }
    if (!t || t->kind != BtfKind::Pointer)
        return fmt::format("{} of {} has type {}; only numbers and pointers can be read", what, attach.label,
                           btf.describe(type));
    if (size != 8) return fmt::format("{} of {} is a pointer and must be read with size 8, not {}", what, attach.label, size);
    const uint32_t pointee = t->type;
    if (pointee == 0) return BtfLoad{};  // void *: a number, no walking
    auto target = btf.type(btf.skip_modifiers(pointee));
    if (target && target->kind == BtfKind::Int) return BtfLoad{};  // char *, int *: a number
    const uint8_t tag = memory_tag_of(btf, pointee);
    const uint32_t struct_id = btf.skip_modifiers(pointee);
    if (!is_struct(target))
        return fmt::format("{} of {} is a pointer to {}, not to a struct; the kernel refuses to read it", what,
                           attach.label, btf.describe(struct_id));
    if (!argument->return_value && index < 32 && (attach.error_pointer >> index) & 1) return BtfLoad{};
    BtfLoad load;
    load.pointer = true;
    load.struct_id = struct_id;
    load.memory_tag = tag;
    load.maybe_null = argument->name.ends_with("__nullable") ||
                      (!argument->return_value && index < 32 && ((attach.nullable >> index) & 1));
    return load;
}

std::variant<BtfLoad, std::string> btf_struct_read(const ir::KernelBtf& btf, uint32_t struct_id, int64_t offset,
                                                   int size) {
    if (offset < 0) return fmt::format("offset {} is before the start of {}", offset, btf_struct_label(btf, struct_id));
    if (offset > (int64_t(1) << 31)) return fmt::format("offset {} is too large", offset);
    uint32_t id = struct_id;
    uint32_t off = uint32_t(offset);
    const uint32_t width = uint32_t(size);
    bool untrusted = false;  // inside a union of several members: scalars may cross member ends
    for (int depth = 0; depth < MaxWalkDepth; ++depth) {
        id = btf.skip_modifiers(id);
        auto t = btf.type(id);
        const std::string name = btf_struct_label(btf, id);
        if (!is_struct(t)) return fmt::format("{} is not a struct or union", name);
        std::vector<ir::BtfMember> members = btf.members(id);
        if (t->kind == BtfKind::Union && members.size() != 1) untrusted = true;
        if (uint64_t(off) + width > t->size) {
            // A flexible array at the end may be read past the struct's size.
            auto beyond = [&] { return fmt::format("the read of {} bytes at offset {} is beyond the {}-byte {}", width, off, t->size, name); };
            if (members.empty()) return beyond();
            const ir::BtfMember& last = members.back();
            auto array = btf.array(btf.skip_modifiers(last.type));
            if (!array || array->count != 0) return beyond();
            const uint32_t moff = last.bit_offset / 8;
            if (off < moff) return beyond();
            const uint32_t element = btf.skip_modifiers(array->element_type);
            auto e = btf.type(element);
            if (e && e->kind == BtfKind::Int) return BtfLoad{};
            if (!is_struct(e) || e->size == 0) return beyond();
            off = (off - moff) % e->size;
            id = element;
            continue;
        }
        bool descended = false;
        for (const auto& member : members) {
            uint32_t moff = member.bit_offset / 8;
            if (uint64_t(off) + width <= moff) break;
            if (member.bitfield_size != 0) {
                const uint32_t end_bit = member.bit_offset + member.bitfield_size;
                if (off <= moff && (end_bit + 7) / 8 <= uint64_t(off) + width) return BtfLoad{};
                continue;
            }
            if (off < moff) break;  // a hole
            auto resolved = resolve_member(btf, member.type);
            if (!resolved) return fmt::format("member '{}' of {} has no size", member.name, name);
            const uint64_t true_end = uint64_t(moff) + resolved->size;
            if (off >= true_end) continue;
            uint64_t msize = resolved->size;
            if (resolved->is_array) {
                if (moff == true_end) continue;  // empty array
                msize /= resolved->elements;
                if (msize == 0) continue;
                moff += uint32_t((off - moff) / msize * msize);
            }
            auto mtype = btf.type(resolved->element);
            if (is_struct(mtype)) {
                off -= moff;
                id = resolved->element;
                descended = true;
                break;
            }
            if (mtype && mtype->kind == BtfKind::Pointer) {
                if (msize != width || off != moff)
                    return fmt::format("the read of {} bytes at offset {} takes part of pointer member '{}' (offset {}, "
                                       "8 bytes) of {}; pointers must be read whole",
                                       width, off, member.name, moff, name);
                const uint32_t target = btf.skip_modifiers(mtype->type);
                if (is_struct(btf.type(target))) {
                    BtfLoad load;
                    load.pointer = true;
                    load.struct_id = target;
                    load.memory_tag = memory_tag_of(btf, mtype->type);
                    return load;
                }
            }
            if (uint64_t(off) + width > true_end && !untrusted)
                return fmt::format("the read of {} bytes at offset {} goes beyond the end of member '{}' (ends at {}) "
                                   "of {}",
                                   width, off, member.name, true_end, name);
            return BtfLoad{};
        }
        if (!descended) return fmt::format("{} has no field at offset {}", name, off);
    }
    return fmt::format("{}: structs nested too deeply", btf_struct_label(btf, struct_id));
}

std::string btf_struct_label(const ir::KernelBtf& btf, uint32_t struct_id) {
    auto t = btf.type(struct_id);
    if (!t) return fmt::format("BTF type #{}", struct_id);
    return btf.describe(struct_id);
}

}  // namespace bpfvet::analyzer
