/* Classic-style socket filter using the legacy packet loads LD_ABS / LD_IND
 * (opcodes 0x30/0x28 and 0x50): the form cBPF programs translate into. The
 * loads take the packet from the implicit context in r6, convert from network
 * byte order, and end the program with return 0 if they fall outside it.
 *
 * Accepts IPv4 TCP segments to port 80: "tcp dst port 80" in tcpdump. */
#include "bpfvet_corpus.h"

/* The LLVM intrinsics that emit LD_ABS/LD_IND (as the kernel's old samples). */
unsigned long long load_byte(void *skb, unsigned long long offset) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long offset) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long offset) asm("llvm.bpf.load.word");

#define HTTP_PORT 80

SEC("socket")
int socket_ld_abs_http(struct __sk_buff *skb)
{
    if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
        return 0;
    if (load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol)) != IPPROTO_TCP)
        return 0;
    /* Fragments other than the first carry no TCP header. */
    if (load_half(skb, ETH_HLEN + offsetof(struct iphdr, frag_off)) & 0x1fff)
        return 0;
    unsigned long long header_length = (load_byte(skb, ETH_HLEN) & 0x0f) << 2;
    if (load_half(skb, ETH_HLEN + header_length + offsetof(struct tcphdr, dest)) != HTTP_PORT)
        return 0;
    return -1; /* keep the whole packet */
}

LICENSE_GPL;
