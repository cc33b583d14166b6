/* Global variables in the three sections libbpf turns into one-entry array
 * maps: .rodata (read-only configuration, frozen before load), .data
 * (initialised, writable) and .bss (zero-initialised, writable). The program
 * reaches them through LDDW with src = BPF_PSEUDO_MAP_VALUE.
 *
 * Drops UDP to `blocked_port` (.rodata, 5353 here) once more than
 * `drop_after` (.data) such packets have been seen; counts in .bss. */
#include "bpfvet_corpus.h"

const volatile u16 blocked_port = 5353; /* .rodata: set by the loader before load */
u32 drop_after;                         /* .bss: 0, drop from the first match */
u32 verdict_on_match = XDP_DROP;        /* .data: initialised to nonzero */
u64 packets_seen;                       /* .bss */
u64 packets_matched;                    /* .bss */

SEC("xdp")
int xdp_global_counters(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    struct udphdr *udp = (void *)(ip + 1);

    __sync_fetch_and_add(&packets_seen, 1);
    if ((void *)(udp + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    if (udp->dest != bpf_htons(blocked_port))
        return XDP_PASS;
    __sync_fetch_and_add(&packets_matched, 1);
    if (packets_matched <= drop_after)
        return XDP_PASS;
    return verdict_on_match;
}

LICENSE_GPL;
