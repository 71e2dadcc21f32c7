/* tests/pcap2npy/pcapgen.c - see pcapgen.h. */
#include "pcapgen.h"

#include <arpa/inet.h>
#include <stdio.h>
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
    h.len = p->orig_len ? p->orig_len : (bpf_u_int32)len;
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

/* pcapng blocks in host byte order (the section header's byte-order magic
 * tells the reader which). */
static int put_block(FILE *fp, uint32_t type, const void *body, size_t len)
{
    static const uint8_t zero[4];
    size_t pad = (4 - len % 4) % 4;
    uint32_t total = (uint32_t)(12 + len + pad);
    return fwrite(&type, 4, 1, fp) == 1 && fwrite(&total, 4, 1, fp) == 1 && fwrite(body, 1, len, fp) == len &&
                   fwrite(zero, 1, pad, fp) == pad && fwrite(&total, 4, 1, fp) == 1
               ? 0
               : -1;
}

int pg_write_pcapng(const char *path, int dlt, int tsresol, const uint64_t *ts, const pg_pkt *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    uint8_t b[16 + 65536 + 4];
    uint32_t u32;
    uint16_t u16;
    int64_t section_len = -1;
    /* section header: byte-order magic, version 1.0, section length unknown */
    u32 = 0x1A2B3C4D;
    memcpy(b, &u32, 4);
    u16 = 1;
    memcpy(b + 4, &u16, 2);
    u16 = 0;
    memcpy(b + 6, &u16, 2);
    memcpy(b + 8, &section_len, 8);
    int rc = put_block(fp, 0x0A0D0D0A, b, 16);
    /* interface description: link type, reserved, snaplen, options */
    size_t len = 8;
    u16 = (uint16_t)dlt;
    memcpy(b, &u16, 2);
    memset(b + 2, 0, 2);
    u32 = 65535;
    memcpy(b + 4, &u32, 4);
    if (tsresol >= 0) {
        u16 = 9; /* if_tsresol, 1 byte padded to 4 */
        memcpy(b + len, &u16, 2);
        u16 = 1;
        memcpy(b + len + 2, &u16, 2);
        memset(b + len + 4, 0, 4);
        b[len + 4] = (uint8_t)tsresol;
        len += 8;
        memset(b + len, 0, 4); /* opt_endofopt */
        len += 4;
    }
    if (!rc)
        rc = put_block(fp, 1, b, len);
    /* enhanced packet blocks: interface 0, timestamp high and low words,
     * captured and original length, the frame */
    for (size_t i = 0; i < n && !rc; i++) {
        int flen = pg_build(dlt, 0, &p[i], b + 20);
        if (flen < 0) {
            rc = -1;
            break;
        }
        uint32_t w[5] = {0, (uint32_t)(ts[i] >> 32), (uint32_t)ts[i], (uint32_t)flen, (uint32_t)flen};
        memcpy(b, w, sizeof w);
        rc = put_block(fp, 6, b, 20 + (size_t)flen);
    }
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}
