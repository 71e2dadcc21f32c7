/* tests/pcap2npy/pcapgen.c - see pcapgen.h. */
#include "pcapgen.h"

#include <arpa/inet.h>
#include <string.h>

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p = put16(p, (uint16_t)(v >> 16));
    return put16(p, (uint16_t)v);
}

int pg_build(int dlt, int null_be, const pg_pkt *p, uint8_t *buf)
{
    uint8_t s6[16], d6[16];
    int v6 = 0;
    if (inet_pton(AF_INET, p->src, s6) == 1 && inet_pton(AF_INET, p->dst, d6) == 1)
        v6 = 0;
    else if (inet_pton(AF_INET6, p->src, s6) == 1 && inet_pton(AF_INET6, p->dst, d6) == 1)
        v6 = 1;
    else
        return -1;
    uint16_t ethertype = p->arp ? 0x0806 : v6 ? 0x86DD : 0x0800;

    uint8_t *q = buf;
    switch (dlt) {
    case DLT_EN10MB:
        memcpy(q, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
        q += 12;
        for (int i = 0; i < p->vlan_tags; i++) {
            q = put16(q, i + 1 < p->vlan_tags ? 0x88a8 : 0x8100);
            q = put16(q, (uint16_t)(100 + i));
        }
        q = put16(q, ethertype);
        break;
    case DLT_LINUX_SLL:
        q = put16(q, 0);
        q = put16(q, 1);
        q = put16(q, 6);
        memcpy(q, "\x02\x00\x00\x00\x00\x01\x00\x00", 8);
        q += 8;
        q = put16(q, ethertype);
        break;
    case DLT_LINUX_SLL2:
        q = put16(q, ethertype);
        q = put16(q, 0);
        q = put32(q, 1);
        q = put16(q, 1);
        *q++ = 0;
        *q++ = 6;
        memcpy(q, "\x02\x00\x00\x00\x00\x01\x00\x00", 8);
        q += 8;
        break;
    case DLT_NULL:
    case DLT_LOOP: {
        uint32_t af = v6 ? 30 : 2;
        if (dlt == DLT_LOOP || null_be)
            q = put32(q, af);
        else {
            q[0] = (uint8_t)af;
            q[1] = q[2] = q[3] = 0;
            q += 4;
        }
        break;
    }
    default: break; /* raw IP */
    }
    if (p->arp) {
        memset(q, 0, 28);
        return (int)(q + 28 - buf);
    }

    size_t l4 = 0;
    if (!p->no_l4)
        l4 = p->proto == 6 ? 20 : (p->proto == 17 || p->proto == 1 || p->proto == 58) ? 8 : 0;
    size_t body = l4 + p->payload;
    uint8_t *ip = q;
    uint8_t proto = p->proto;
    if (!v6) {
        size_t ihl = 20 + 4 * (size_t)p->ipv4_opt_words;
        memset(q, 0, ihl);
        q[0] = (uint8_t)(0x40 | (ihl / 4));
        put16(q + 2, (uint16_t)(ihl + body));
        put16(q + 4, p->ip_id);
        put16(q + 6, p->frag_field);
        q[8] = 64;
        q[9] = proto;
        memcpy(q + 12, s6, 4);
        memcpy(q + 16, d6, 4);
        for (size_t i = 20; i < ihl; i++)
            q[i] = 1; /* NOP options */
        q += ihl;
    } else {
        size_t ext = p->ipv6_hbh ? 8 : 0;
        memset(q, 0, 40 + ext);
        q[0] = 0x60;
        put16(q + 4, (uint16_t)(ext + body));
        q[6] = p->ipv6_hbh ? 0 : proto;
        q[7] = 64;
        memcpy(q + 8, s6, 16);
        memcpy(q + 24, d6, 16);
        q += 40;
        if (ext) {
            q[0] = proto;
            q[1] = 0;
            q[2] = 1; /* PadN */
            q[3] = 4;
            q += 8;
        }
    }
    (void)ip;
    memset(q, 0, body);
    if (l4 == 20) {
        put16(q, p->sport);
        put16(q + 2, p->dport);
        q[12] = 5 << 4;
        q[13] = p->tcp_flags;
        put16(q + 14, 65535);
    } else if (l4 == 8 && p->proto == 17) {
        put16(q, p->sport);
        put16(q + 2, p->dport);
        put16(q + 4, (uint16_t)body);
    } else if (l4 == 8) {
        q[0] = p->icmp_type;
        q[1] = p->icmp_code;
        put16(q + 4, p->icmp_id);
        put16(q + 6, 1);
    }
    q += body;
    return (int)(q - buf);
}

int pg_open(pg_writer *w, const char *path, int dlt)
{
    memset(w, 0, sizeof *w);
    w->dlt = dlt;
    w->dead = pcap_open_dead_with_tstamp_precision(dlt, 65535, PCAP_TSTAMP_PRECISION_MICRO);
    if (!w->dead)
        return -1;
    w->dump = pcap_dump_open(w->dead, path);
    if (!w->dump) {
        pcap_close(w->dead);
        return -1;
    }
    return 0;
}

int pg_write(pg_writer *w, int64_t ts_us, const pg_pkt *p)
{
    static uint8_t buf[70000];
    int len = pg_build(w->dlt, w->null_big_endian, p, buf);
    if (len < 0)
        return -1;
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(ts_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(ts_us % 1000000);
    h.len = (bpf_u_int32)len;
    h.caplen = p->cut && p->cut < (uint32_t)len ? p->cut : (bpf_u_int32)len;
    pcap_dump((u_char *)w->dump, &h, buf);
    return len;
}

void pg_close(pg_writer *w)
{
    if (w->dump)
        pcap_dump_close(w->dump);
    if (w->dead)
        pcap_close(w->dead);
    memset(w, 0, sizeof *w);
}
