/* Socket filter (section "socket"): keeps only DNS over UDP/IPv4 on a packet
 * socket. Socket filters may not touch skb->data directly, so every header
 * field is copied out with bpf_skb_load_bytes into a stack buffer.
 *
 * The return value is how many bytes of the packet to keep: 0 drops it. */
#include "bpfvet_corpus.h"

#define DNS_PORT 53

SEC("socket")
int socket_dns_only(struct __sk_buff *skb)
{
    u16 ether_type;
    if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &ether_type, sizeof(ether_type)) < 0)
        return 0;
    if (ether_type != bpf_htons(ETH_P_IP))
        return 0;

    struct iphdr ip;
    if (bpf_skb_load_bytes(skb, sizeof(struct ethhdr), &ip, sizeof(ip)) < 0)
        return 0;
    if (ip.protocol != IPPROTO_UDP)
        return 0;

    struct udphdr udp;
    u32 udp_offset = sizeof(struct ethhdr) + ip.ihl * 4;
    if (bpf_skb_load_bytes(skb, udp_offset, &udp, sizeof(udp)) < 0)
        return 0;
    if (udp.dest != bpf_htons(DNS_PORT) && udp.source != bpf_htons(DNS_PORT))
        return 0;
    return skb->len;
}

LICENSE_GPL;
