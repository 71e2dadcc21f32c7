/* tests/pcap2npy/gen_capture.c - writes synthetic captures for the argus
 * comparison (tests/pcap2npy/argus_compare.sh) and the benchmark
 * (bench/pcap2npy):
 *   gen_capture mixed OUT.pcap [LINKTYPE] TCP/UDP/ICMP, IPv4 and IPv6, a few s;
 *       LINKTYPE is a libpcap name (EN10MB, the default, LINUX_SLL, NULL, ...)
 *   gen_capture direction OUT.pcap  TCP connections whose capture starts
 *       mid-stream or with a SYN+ACK, datagrams whose later fragment comes
 *       first (Ethernet)
 *   gen_capture oddities DIR  files that need a clear message: multilink.pcapng
 *       (two interfaces, Ethernet and raw IP), v4in6.pcap (IPv4 packets in
 *       a LINKTYPE_IPV6 file), origlen.pcap (original lengths 0xffffffff
 *       and below the captured one), backwards.pcap (time steps back)
 *   gen_capture bench OUT.pcap PACKETS FLOWS
 *       PACKETS packets spread over FLOWS concurrent UDP/TCP flows (each
 *       flow lives for a while and is then replaced by a new one)
 * Exit status 0 on success, 1 on failure, 2 on bad usage.
 */
#include "pcapgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int64_t T0 = 1700000000LL * 1000000;

static int mixed(const char *path, int dlt)
{
    pg_writer w;
    if (pg_open(&w, path, dlt))
        return 1;
    int64_t t = T0;
    char a[32], b[32];
    /* 20 TCP connections: handshake, request, response, FIN both ways */
    for (int i = 0; i < 20; i++, t += 50000) {
        snprintf(a, sizeof a, "10.0.%d.%d", i / 8, 10 + i);
        snprintf(b, sizeof b, "10.1.0.%d", 1 + i % 3);
        pg_pkt c = {.src = a, .dst = b, .proto = 6, .sport = (uint16_t)(40000 + i), .dport = 8080};
        pg_pkt s = {.src = b, .dst = a, .proto = 6, .sport = 8080, .dport = (uint16_t)(40000 + i)};
        c.tcp_flags = 0x02, pg_write(&w, t, &c);
        s.tcp_flags = 0x12, pg_write(&w, t + 100, &s);
        c.tcp_flags = 0x10, pg_write(&w, t + 200, &c);
        c.tcp_flags = 0x18, c.payload = 100 + (size_t)i * 7, pg_write(&w, t + 300, &c);
        for (int k = 0; k < 1 + i % 4; k++) {
            s.tcp_flags = 0x18, s.payload = 1000 + (size_t)k * 100, pg_write(&w, t + 400 + k * 10, &s);
            c.tcp_flags = 0x10, c.payload = 0, pg_write(&w, t + 405 + k * 10, &c);
        }
        s.payload = 0;
        c.tcp_flags = 0x11, pg_write(&w, t + 500, &c);
        s.tcp_flags = 0x11, pg_write(&w, t + 600, &s);
        c.tcp_flags = 0x10, pg_write(&w, t + 700, &c);
    }
    /* 15 UDP query/answer pairs, some with several answers */
    for (int i = 0; i < 15; i++, t += 30000) {
        snprintf(a, sizeof a, "192.168.0.%d", 2 + i);
        pg_pkt q = {.src = a, .dst = "192.168.0.1", .proto = 17, .sport = (uint16_t)(30000 + i), .dport = 53,
                    .payload = 40};
        pg_pkt r = {.src = "192.168.0.1", .dst = a, .proto = 17, .sport = 53, .dport = (uint16_t)(30000 + i),
                    .payload = 120};
        pg_write(&w, t, &q);
        for (int k = 0; k <= i % 3; k++)
            pg_write(&w, t + 1000 + k, &r);
    }
    /* pings */
    for (int i = 0; i < 5; i++, t += 20000) {
        pg_pkt e = {.src = "10.9.0.1", .dst = "10.9.0.2", .proto = 1, .icmp_type = 8, .icmp_id = 300,
                    .payload = 56};
        pg_pkt r = {.src = "10.9.0.2", .dst = "10.9.0.1", .proto = 1, .icmp_type = 0, .icmp_id = 300,
                    .payload = 56};
        pg_write(&w, t, &e);
        pg_write(&w, t + 300, &r);
    }
    /* IPv6 TCP and UDP */
    for (int i = 0; i < 6; i++, t += 40000) {
        snprintf(a, sizeof a, "2001:db8::%x", 0x10 + i);
        pg_pkt c = {.src = a, .dst = "2001:db8::1", .proto = 6, .sport = (uint16_t)(50000 + i), .dport = 443};
        pg_pkt s = {.src = "2001:db8::1", .dst = a, .proto = 6, .sport = 443, .dport = (uint16_t)(50000 + i)};
        c.tcp_flags = 0x02, pg_write(&w, t, &c);
        s.tcp_flags = 0x12, pg_write(&w, t + 100, &s);
        c.tcp_flags = 0x10, pg_write(&w, t + 200, &c);
        s.tcp_flags = 0x18, s.payload = 700, pg_write(&w, t + 300, &s);
        c.tcp_flags = 0x14, pg_write(&w, t + 400, &c);
        pg_pkt u = {.src = a, .dst = "2001:db8::53", .proto = 17, .sport = (uint16_t)(51000 + i), .dport = 53,
                    .payload = 33};
        pg_write(&w, t + 500, &u);
    }
    pg_close(&w);
    return 0;
}

/* Who is the source of a record (argus + ra as the reference). */
static int direction(const char *path)
{
    pg_writer w;
    if (pg_open(&w, path, DLT_EN10MB))
        return 1;
    int64_t t = T0;
    char a[32], b[32];
    /* TCP without a SYN: server or client speaks first, from the lower or
     * the higher address; ports below 1024, both below, neither */
    static const uint16_t ports[][2] = {{80, 40000}, {40001, 443}, {22, 23}, {25, 24}, {50000, 40002}, {1023, 1024}};
    for (int i = 0; i < 12; i++, t += 100000) {
        snprintf(a, sizeof a, "10.2.0.%d", 10 + i);
        snprintf(b, sizeof b, "10.2.1.%d", 10 + i);
        const char *first = i % 2 ? a : b, *second = i % 2 ? b : a;
        uint16_t p1 = ports[i / 2][0], p2 = ports[i / 2][1];
        pg_pkt x = {.src = first, .dst = second, .proto = 6, .sport = p1, .dport = p2, .tcp_flags = 0x18,
                    .payload = 300};
        pg_pkt y = {.src = second, .dst = first, .proto = 6, .sport = p2, .dport = p1, .tcp_flags = 0x10};
        pg_write(&w, t, &x);
        pg_write(&w, t + 100, &y);
        pg_write(&w, t + 200, &x);
    }
    /* a SYN+ACK first */
    for (int i = 0; i < 2; i++, t += 100000) {
        snprintf(a, sizeof a, "10.3.0.%d", 10 + i);
        pg_pkt s = {.src = i ? a : "10.3.1.1", .dst = i ? "10.3.1.1" : a, .proto = 6, .sport = 8443,
                    .dport = (uint16_t)(45000 + i), .tcp_flags = 0x12};
        pg_pkt c = {.src = s.dst, .dst = s.src, .proto = 6, .sport = s.dport, .dport = 8443, .tcp_flags = 0x10};
        pg_write(&w, t, &s);
        pg_write(&w, t + 100, &c);
    }
    /* later fragment 1 ms before its first fragment */
    for (int i = 0; i < 3; i++, t += 100000) {
        pg_pkt f1 = {.src = "10.4.0.1", .dst = "10.4.0.2", .proto = 17, .sport = (uint16_t)(7000 + i), .dport = 9999,
                     .payload = 1472, .ip_id = (uint16_t)(500 + i), .frag_field = 0x2000};
        pg_pkt f2 = {.src = "10.4.0.1", .dst = "10.4.0.2", .proto = 17, .payload = 400, .ip_id = (uint16_t)(500 + i),
                     .frag_field = 185, .no_l4 = 1};
        pg_write(&w, t, &f2);
        pg_write(&w, t + 1000, &f1);
    }
    pg_close(&w);
    return 0;
}

static void put32(FILE *f, uint32_t v)
{
    fwrite(&v, 4, 1, f);
}

/* A pcapng with two interfaces of different link types, one packet each. */
static int multilink(const char *path)
{
    static uint8_t frame[65536];
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    put32(f, 0x0A0D0D0A), put32(f, 28), put32(f, 0x1A2B3C4D), put32(f, 1); /* SHB, version 1.0 */
    put32(f, 0xffffffff), put32(f, 0xffffffff), put32(f, 28);
    static const uint16_t types[2] = {DLT_EN10MB, 101 /* LINKTYPE_RAW */};
    for (int i = 0; i < 2; i++) { /* IDB: link type, reserved, snaplen */
        put32(f, 1), put32(f, 20), put32(f, types[i]), put32(f, 65535), put32(f, 20);
    }
    for (int i = 0; i < 2; i++) { /* EPB on interface i */
        pg_pkt p = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2};
        int len = pg_build(i ? DLT_RAW : DLT_EN10MB, 0, &p, frame);
        if (len < 0)
            return 1;
        uint32_t padded = ((uint32_t)len + 3) & ~3u, total = 32 + padded;
        uint64_t ts = (uint64_t)(T0 + i);
        put32(f, 6), put32(f, total), put32(f, (uint32_t)i), put32(f, (uint32_t)(ts >> 32));
        put32(f, (uint32_t)ts), put32(f, (uint32_t)len), put32(f, (uint32_t)len);
        memset(frame + len, 0, padded - (uint32_t)len);
        fwrite(frame, 1, padded, f);
        put32(f, total);
    }
    return fclose(f) ? 1 : 0;
}

static int oddities(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/multilink.pcapng", dir);
    if (multilink(path))
        return 1;
    pg_writer w;
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2, .payload = 100};
    snprintf(path, sizeof path, "%s/v4in6.pcap", dir);
    if (pg_open(&w, path, DLT_IPV6))
        return 1;
    pg_write(&w, T0, &a);
    pg_write(&w, T0 + 1, &a);
    pg_close(&w);
    snprintf(path, sizeof path, "%s/origlen.pcap", dir);
    if (pg_open(&w, path, DLT_EN10MB))
        return 1;
    pg_write(&w, T0, &a);
    a.orig_len = 0xffffffffu;
    pg_write(&w, T0 + 1, &a);
    a.orig_len = 10;
    pg_write(&w, T0 + 2, &a);
    pg_close(&w);
    a.orig_len = 0;
    snprintf(path, sizeof path, "%s/backwards.pcap", dir);
    if (pg_open(&w, path, DLT_EN10MB))
        return 1;
    pg_write(&w, T0 + 5000000, &a);
    pg_write(&w, T0 + 1000000, &a);
    pg_write(&w, T0 + 3000000, &a);
    pg_close(&w);
    return 0;
}

static int bench(const char *path, long packets, long flows)
{
    pg_writer w;
    if (pg_open(&w, path, DLT_EN10MB))
        return 1;
    uint64_t s = 88172645463325252ULL;
    char a[32], b[32];
    for (long i = 0; i < packets; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        /* flow f of generation g: flows are replaced as time goes on */
        long f = (long)(s % (uint64_t)flows);
        long gen = i / (flows * 8);
        uint32_t id = (uint32_t)(f + gen * flows);
        int back = (s >> 40) & 1;
        snprintf(a, sizeof a, "10.%u.%u.%u", (id >> 16) & 255, (id >> 8) & 255, id & 255);
        snprintf(b, sizeof b, "172.16.%u.%u", (id >> 8) & 7, (id * 7) & 255);
        uint16_t cp = (uint16_t)(1024 + id % 60000), sp = (id & 1) ? 443 : 53;
        pg_pkt p = {.src = back ? b : a, .dst = back ? a : b, .proto = (id & 1) ? 6 : 17,
                    .sport = back ? sp : cp, .dport = back ? cp : sp, .tcp_flags = 0x10,
                    .payload = (size_t)((s >> 20) % 1400)};
        if (pg_write(&w, T0 + i * 20, &p) < 0) /* 50,000 packets per second of capture time */
            return 1;
    }
    pg_close(&w);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "mixed") == 0) {
        int dlt = argc == 4 ? pcap_datalink_name_to_val(argv[3]) : DLT_EN10MB;
        if (dlt < 0) {
            fprintf(stderr, "gen_capture: unknown link type %s\n", argv[3]);
            return 2;
        }
        return mixed(argv[2], dlt);
    }
    if (argc == 3 && strcmp(argv[1], "direction") == 0)
        return direction(argv[2]);
    if (argc == 3 && strcmp(argv[1], "oddities") == 0)
        return oddities(argv[2]);
    if (argc == 5 && strcmp(argv[1], "bench") == 0) {
        long n = atol(argv[3]), f = atol(argv[4]);
        if (n < 1 || f < 1)
            return 2;
        return bench(argv[2], n, f);
    }
    fprintf(stderr, "usage: gen_capture mixed OUT.pcap [LINKTYPE] | gen_capture direction OUT.pcap | "
                    "gen_capture oddities DIR | gen_capture bench OUT.pcap PACKETS FLOWS\n");
    return 2;
}
