/* Reject (unknown-helper): bpf_map_lookup_elem declared as an extern function
 * instead of bpf_helpers.h's pointer to helper number 1, so the call is to an
 * undefined symbol (libbpf takes it for a kfunc). We name the symbol and the
 * fix; kernel: "calling kernel function bpf_map_lookup_elem is not allowed".
 * Self-contained: bpfvet_corpus.h declares the helper the right way. */
#define SEC(name) __attribute__((section(name), used))

struct __sk_buff;
struct {
    int (*type)[2];         /* BPF_MAP_TYPE_ARRAY */
    int (*max_entries)[1];
    unsigned int *key;
    unsigned long long *value;
} counts SEC(".maps");

extern void *bpf_map_lookup_elem(void *map, const void *key);

SEC("socket")
int extern_lookup(struct __sk_buff *skb)
{
    unsigned int key = 0;
    unsigned long long *value = bpf_map_lookup_elem(&counts, &key);
    return value ? (int)*value : 0;
}

char _license[] SEC("license") = "GPL";
