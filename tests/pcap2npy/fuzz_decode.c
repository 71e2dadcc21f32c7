/* tests/pcap2npy/fuzz_decode.c - frame decoding and flow accounting on any
 * bytes. The first byte picks the link type, the rest is one or more
 * frames (2-byte big-endian length prefix each). Must never crash or read
 * out of bounds; an accepted packet must be self-consistent (its bytes are
 * the frame's without a cooked or loopback pseudo-header). */
#include "p2n.h"

#include <string.h>

static const int dlts[] = {P2N_DLT_NULL,      P2N_DLT_EN10MB, P2N_DLT_RAW,  P2N_DLT_LOOP,
                           P2N_DLT_LINUX_SLL, P2N_DLT_IPV4,   P2N_DLT_IPV6, P2N_DLT_LINUX_SLL2};

/* Bytes of the pseudo-header that byte counts leave out, as argus does. */
static size_t pseudo_header(int dlt)
{
    switch (dlt) {
    case P2N_DLT_LINUX_SLL: return 16;
    case P2N_DLT_LINUX_SLL2: return 20;
    case P2N_DLT_NULL:
    case P2N_DLT_LOOP: return 4;
    default: return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int dlt = dlts[data[0] % 8];
    p2n_records recs = {0};
    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    o.max_flows = 4; /* exercise eviction */
    o.status_ns = 1000;
    p2n_table *t;
    if (p2n_table_create(&o, &recs, &t, NULL))
        return 0;
    size_t off = 1;
    int64_t ts = 0;
    uint64_t used = 0;
    while (off + 2 <= size) {
        size_t len = ((size_t)data[off] << 8) | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        p2n_packet p;
        /* copy so that the sanitizer sees the exact frame end */
        uint8_t frame[65536];
        memcpy(frame, data + off, len);
        if (p2n_decode(dlt, frame, (uint32_t)len, (uint32_t)len, &p) == P2N_PKT_OK) {
            if ((p.ipver != 4 && p.ipver != 6) || p.wire_len != len - pseudo_header(dlt))
                __builtin_trap();
            if (p2n_table_packet(t, ts, &p, NULL))
                __builtin_trap();
            used++;
        }
        ts += 700;
        off += len;
    }
    if (p2n_table_flush(t, NULL) || p2n_table_live(t) != 0)
        __builtin_trap();
    uint64_t counted = 0;
    for (size_t i = 0; i < recs.n; i++)
        counted += recs.v[i].spkts + recs.v[i].dpkts;
    if (counted + p2n_table_stats(t)->frag_orphans != used)
        __builtin_trap();
    p2n_table_destroy(t);
    p2n_records_free(&recs);
    return 0;
}
