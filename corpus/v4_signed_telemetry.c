/* A cpu=v4 program: sign-extending loads (LDXSB/LDXSH/LDXSW), sign-extending
 * moves (MOVSX), signed division and modulo (SDIV/SMOD) and unconditional
 * byte swaps (BSWAP). Built only with -mcpu=v4: v3 has no signed division.
 *
 * Frames of the local experimental EtherType 0x88B5 carry a telemetry record
 * of signed readings; the program averages them and drops records whose
 * average, or skew phase within the offset period, is negative, and those
 * whose checksum (a byte-swapped sum) is wrong. */
#include "bpfvet_corpus.h"

#define ETH_P_TELEMETRY 0x88B5

struct telemetry {
    s8 delta;      /* signed 8-bit reading */
    u8 count;      /* number of samples, nonzero */
    s16 offset;    /* signed 16-bit reading */
    s32 skew;      /* signed 32-bit reading */
    u32 checksum;  /* big-endian (delta + offset + skew) */
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, u32);
    __type(value, s64);
} last_average SEC(".maps");

SEC("xdp")
int xdp_signed_telemetry(struct xdp_md *ctx)
{
    void *data = PACKET_START(ctx);
    void *data_end = PACKET_END(ctx);
    struct ethhdr *eth = data;
    struct telemetry *record = (void *)(eth + 1);

    if ((void *)(record + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_TELEMETRY))
        return XDP_PASS;

    s64 sum = (s64)record->delta + (s64)record->offset + (s64)record->skew;
    u32 expected = __builtin_bswap32((u32)sum);
    if (record->checksum != expected)
        return XDP_DROP;

    s64 count = record->count;
    if (count == 0)
        return XDP_DROP;
    s64 average = sum / count; /* sdiv */
    /* The skew's phase within one offset period (smod); offset 0 means none. */
    s64 period = record->offset;
    s64 phase = period != 0 ? (s64)record->skew % period : 0;

    u32 zero = 0;
    s64 *stored = bpf_map_lookup_elem(&last_average, &zero);
    if (stored)
        *stored = average;
    if (average < 0 || phase < 0)
        return XDP_DROP;
    return XDP_PASS;
}

LICENSE_GPL;
