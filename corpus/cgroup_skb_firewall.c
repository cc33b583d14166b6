/* cgroup_skb egress firewall: blocks outgoing SMTP (TCP port 25) from the
 * cgroup's sockets and allows the rest. In cgroup_skb programs skb->data
 * points at the network header (no Ethernet header), and the program must
 * return 0 (drop) or 1 (allow): return-value range checking applies.
 * Direct packet access (data, data_end) is allowed for this type when loaded
 * with CAP_BPF. */
#include "bpfvet_corpus.h"

#define SMTP_PORT 25

SEC("cgroup_skb/egress")
int cgroup_skb_block_smtp(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct iphdr *ip = data;

    if ((void *)(ip + 1) > data_end)
        return 1;
    if (ip->version != 4 || ip->protocol != IPPROTO_TCP)
        return 1;
    struct tcphdr *tcp = data + ip->ihl * 4;
    if ((void *)(tcp + 1) > data_end)
        return 1;
    return tcp->dest == bpf_htons(SMTP_PORT) ? 0 : 1;
}

LICENSE_GPL;
