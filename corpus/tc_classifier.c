/* TC classifier (sched_cls, section "tc"): reads __sk_buff fields and the
 * packet through direct packet access, marks SSH traffic with a priority and
 * a firewall mark, and drops UDP to the discard port.
 *
 * sched_cls may write skb->mark and skb->priority; it may read data/data_end. */
#include "bpfvet_corpus.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

#define SSH_PORT 22
#define DISCARD_PORT 9
#define SSH_MARK 0x22
#define SSH_PRIORITY 6

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;

    if (skb->len < sizeof(struct ethhdr) + sizeof(struct iphdr))
        return TC_ACT_OK;

    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return TC_ACT_OK;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
        return TC_ACT_OK;

    /* Without IP options the ports follow the 20-byte header directly. */
    if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = (void *)(ip + 1);
        if ((void *)(tcp + 1) > data_end)
            return TC_ACT_OK;
        if (tcp->dest == bpf_htons(SSH_PORT) || tcp->source == bpf_htons(SSH_PORT)) {
            skb->mark = SSH_MARK;
            skb->priority = SSH_PRIORITY;
        }
        return TC_ACT_OK;
    }
    if (ip->protocol == IPPROTO_UDP) {
        struct udphdr *udp = (void *)(ip + 1);
        if ((void *)(udp + 1) > data_end)
            return TC_ACT_OK;
        if (udp->dest == bpf_htons(DISCARD_PORT))
            return TC_ACT_SHOT;
    }
    return TC_ACT_OK;
}

LICENSE_GPL;
