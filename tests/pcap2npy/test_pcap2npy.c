/* tests/pcap2npy/test_pcap2npy.c - lpz-pcap2npy's flow building, link
 * layers, outputs and error handling on captures written by the test
 * itself (pcapgen.c), compared with exact expected records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/npy.h"
#include "p2n.h"
#include "pcapgen.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static const char *tpath(const char *name)
{
    static char buf[8][256];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 256, "%s/%s", tmpdir, name);
    return b;
}

static int setup_all(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/p2n-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct run_result {
    p2n_records recs;
    p2n_read_stats rs;
    p2n_flow_stats fs;
    int rc;
    lpz_error err;
} run_result;

static void run_with(const char *path, const p2n_flow_opts *o, const char *filter, int allow_trunc, run_result *r)
{
    memset(r, 0, sizeof *r);
    p2n_table *t;
    r->rc = p2n_table_create(o, &r->recs, &t, &r->err);
    assert_int_equal(r->rc, LPZ_OK);
    r->rc = p2n_read_pcap(path, filter, allow_trunc, t, &r->rs, &r->err);
    if (!r->rc)
        r->rc = p2n_table_flush(t, &r->err);
    r->fs = *p2n_table_stats(t);
    p2n_table_destroy(t);
    p2n_records_sort(&r->recs);
}

static void run(const char *path, run_result *r)
{
    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    run_with(path, &o, NULL, 0, r);
}

static const int64_t S = 1000000; /* pg timestamps are microseconds */
static const int64_t T0 = 1700000000LL * 1000000;

static int64_t ns(int64_t us)
{
    return us * 1000;
}

static void assert_addr(const p2n_record *r, const char *src, const char *dst)
{
    char a[64], b[64];
    p2n_addr_format(r->ipver, r->saddr, a, sizeof a);
    p2n_addr_format(r->ipver, r->daddr, b, sizeof b);
    assert_string_equal(a, src);
    assert_string_equal(b, dst);
}

/* TCP handshake + data + FIN, UDP both ways, two pings (different ids),
 * IPv6 TCP with a hop-by-hop header, IPv4 options, a truncated frame and
 * an ARP frame, all on Ethernet. */
static void test_known_flows_ethernet(void **state)
{
    (void)state;
    const char *path = tpath("known.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    int64_t t = T0;
    uint64_t tcp_s = 0, tcp_d = 0;
    pg_pkt c = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6, .sport = 40000, .dport = 80};
    pg_pkt s = {.src = "10.0.0.2", .dst = "10.0.0.1", .proto = 6, .sport = 80, .dport = 40000};
    c.tcp_flags = 0x02;
    tcp_s += pg_write(&w, t, &c);
    s.tcp_flags = 0x12;
    tcp_d += pg_write(&w, t + 1000, &s);
    c.tcp_flags = 0x10;
    tcp_s += pg_write(&w, t + 2000, &c);
    c.tcp_flags = 0x18;
    c.payload = 100;
    c.ipv4_opt_words = 2;
    tcp_s += pg_write(&w, t + 3000, &c);
    c.ipv4_opt_words = 0;
    s.tcp_flags = 0x18;
    s.payload = 500;
    tcp_d += pg_write(&w, t + 4000, &s);
    c.payload = 0;
    s.payload = 0;
    c.tcp_flags = 0x11;
    tcp_s += pg_write(&w, t + 5000, &c);
    s.tcp_flags = 0x11;
    tcp_d += pg_write(&w, t + 6000, &s);
    c.tcp_flags = 0x10;
    tcp_s += pg_write(&w, t + 7000, &c);

    pg_pkt uq = {.src = "10.0.0.3", .dst = "10.0.0.4", .proto = 17, .sport = 5353, .dport = 53, .payload = 30};
    pg_pkt ur = {.src = "10.0.0.4", .dst = "10.0.0.3", .proto = 17, .sport = 53, .dport = 5353, .payload = 90};
    int uq_len = pg_write(&w, t + 10000, &uq);
    int ur_len = pg_write(&w, t + 12000, &ur);

    pg_pkt echo = {.src = "10.0.0.5", .dst = "10.0.0.6", .proto = 1, .icmp_type = 8, .icmp_id = 77, .payload = 56};
    pg_pkt reply = {.src = "10.0.0.6", .dst = "10.0.0.5", .proto = 1, .icmp_type = 0, .icmp_id = 77, .payload = 56};
    int e_len = pg_write(&w, t + 20000, &echo);
    pg_write(&w, t + 20500, &reply);
    echo.icmp_id = 78; /* another ping process: another flow */
    pg_write(&w, t + 21000, &echo);

    pg_pkt v6 = {.src = "2001:db8::1", .dst = "2001:db8::2", .proto = 6, .sport = 1234, .dport = 443,
                 .tcp_flags = 0x02, .ipv6_hbh = 1};
    pg_pkt v6r = {.src = "2001:db8::2", .dst = "2001:db8::1", .proto = 6, .sport = 443, .dport = 1234,
                  .tcp_flags = 0x12};
    int v6_len = pg_write(&w, t + 30000, &v6);
    int v6r_len = pg_write(&w, t + 31000, &v6r);

    pg_pkt cut = {.src = "10.0.0.7", .dst = "10.0.0.8", .proto = 6, .sport = 1, .dport = 2, .cut = 40};
    pg_write(&w, t + 40000, &cut); /* 14 + 20 + 6: TCP header cut before the flags */
    pg_pkt arp = {.src = "10.0.0.7", .dst = "10.0.0.8", .arp = 1};
    pg_write(&w, t + 41000, &arp);
    pg_close(&w);

    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.packets, 17);
    assert_int_equal(r.rs.truncated, 1);
    assert_int_equal(r.rs.non_ip, 1);
    assert_int_equal(r.rs.malformed, 0);
    assert_int_equal(r.rs.used, 15);
    assert_string_equal(r.rs.linktype_name, "EN10MB");
    assert_int_equal(r.recs.n, 5);

    const p2n_record *x = &r.recs.v[0]; /* sorted by start */
    assert_int_equal(x->proto, 6);
    assert_addr(x, "10.0.0.1", "10.0.0.2");
    assert_int_equal(x->sport, 40000);
    assert_int_equal(x->dport, 80);
    assert_int_equal(x->spkts, 5);
    assert_int_equal(x->dpkts, 3);
    assert_int_equal(x->sbytes, tcp_s);
    assert_int_equal(x->dbytes, tcp_d);
    assert_int_equal(x->start_ns, ns(t));
    assert_int_equal(x->last_ns, ns(t + 7000));
    assert_int_equal(x->tcp_flags, 0x1b);

    x = &r.recs.v[1];
    assert_int_equal(x->proto, 17);
    assert_addr(x, "10.0.0.3", "10.0.0.4");
    assert_int_equal(x->sport, 5353);
    assert_int_equal(x->spkts, 1);
    assert_int_equal(x->dpkts, 1);
    assert_int_equal(x->sbytes, uq_len);
    assert_int_equal(x->dbytes, ur_len);
    assert_int_equal(uq_len, 14 + 20 + 8 + 30);

    x = &r.recs.v[2];
    assert_int_equal(x->proto, 1);
    assert_int_equal(x->sport, 8); /* ICMP type of the first packet */
    assert_int_equal(x->spkts, 1);
    assert_int_equal(x->dpkts, 1);
    assert_int_equal(x->sbytes, e_len);
    x = &r.recs.v[3];
    assert_int_equal(x->proto, 1);
    assert_int_equal(x->spkts, 1);
    assert_int_equal(x->dpkts, 0);

    x = &r.recs.v[4];
    assert_int_equal(x->ipver, 6);
    assert_addr(x, "2001:db8::1", "2001:db8::2");
    assert_int_equal(x->sport, 1234);
    assert_int_equal(x->dport, 443);
    assert_int_equal(x->sbytes, v6_len);
    assert_int_equal(x->dbytes, v6r_len);
    assert_int_equal(v6_len, 14 + 40 + 8 + 20);
    p2n_records_free(&r.recs);
}

/* Bytes of a link layer's pseudo-header, which argus leaves out of its byte
 * counts (Linux cooked SLL 16, SLL2 20, BSD loopback 4); Ethernet headers
 * and VLAN tags count. */
static int pseudo_header(int dlt)
{
    switch (dlt) {
    case DLT_LINUX_SLL: return 16;
    case DLT_LINUX_SLL2: return 20;
    case DLT_NULL:
    case DLT_LOOP: return 4;
    default: return 0;
    }
}

/* The same two-packet UDP exchange (plus one IPv6 packet) on every
 * supported link layer gives the same flows; bytes are those argus counts. */
static void check_link(int dlt, int null_be, int vlan_tags)
{
    const char *path = tpath("link.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, dlt), 0);
    w.null_big_endian = null_be;
    pg_pkt a = {.src = "192.168.1.1", .dst = "192.168.1.2", .proto = 17, .sport = 1000, .dport = 2000,
                .payload = 10, .vlan_tags = vlan_tags};
    pg_pkt b = a;
    b.src = a.dst;
    b.dst = a.src;
    b.sport = a.dport;
    b.dport = a.sport;
    b.payload = 20;
    int la = pg_write(&w, T0, &a);
    int lb = pg_write(&w, T0 + S / 2, &b);
    pg_pkt c = {.src = "fe80::1", .dst = "fe80::2", .proto = 58, .icmp_type = 128, .icmp_id = 5,
                .vlan_tags = vlan_tags};
    pg_write(&w, T0 + S, &c);
    c.src = "fe80::2";
    c.dst = "fe80::1";
    c.icmp_type = 129;
    pg_write(&w, T0 + S + 10, &c);
    pg_close(&w);

    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.packets, 4);
    assert_int_equal(r.rs.used, 4);
    assert_int_equal(r.recs.n, 2);
    assert_int_equal(r.recs.v[0].spkts, 1);
    assert_int_equal(r.recs.v[0].dpkts, 1);
    assert_int_equal(r.recs.v[0].sbytes, la - pseudo_header(dlt));
    assert_int_equal(r.recs.v[0].dbytes, lb - pseudo_header(dlt));
    if (dlt == DLT_EN10MB) /* 14-byte header, 4 bytes per tag, 28 of IPv4 + UDP */
        assert_int_equal(r.recs.v[0].sbytes, 14 + 4 * vlan_tags + 28 + 10);
    else /* the IP packet alone: 20 IPv4 + 8 UDP + 10 payload */
        assert_int_equal(r.recs.v[0].sbytes, 38);
    assert_int_equal(r.recs.v[0].sport, 1000);
    assert_addr(&r.recs.v[0], "192.168.1.1", "192.168.1.2");
    assert_int_equal(r.recs.v[1].proto, 58);
    assert_int_equal(r.recs.v[1].spkts, 1);
    assert_int_equal(r.recs.v[1].dpkts, 1);
    p2n_records_free(&r.recs);
}

static void test_link_ethernet_vlan(void **state)
{
    (void)state;
    check_link(DLT_EN10MB, 0, 1);
    check_link(DLT_EN10MB, 0, 2); /* QinQ */
}

static void test_link_sll_sll2(void **state)
{
    (void)state;
    check_link(DLT_LINUX_SLL, 0, 0);
    check_link(DLT_LINUX_SLL2, 0, 0);
}

static void test_link_raw(void **state)
{
    (void)state;
    check_link(DLT_RAW, 0, 0);
}

static void test_link_null_loop_both_orders(void **state)
{
    (void)state;
    check_link(DLT_NULL, 0, 0);
    check_link(DLT_NULL, 1, 0);
    check_link(DLT_LOOP, 0, 0);
}

static void test_link_ipv4_only(void **state)
{
    (void)state;
    const char *path = tpath("ipv4.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_IPV4), 0);
    pg_pkt a = {.src = "10.1.1.1", .dst = "10.1.1.2", .proto = 47, .payload = 100}; /* GRE: addresses only */
    assert_int_equal(pg_write(&w, T0, &a), 120);
    a.src = "10.1.1.2";
    a.dst = "10.1.1.1";
    pg_write(&w, T0 + 1, &a);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.recs.n, 1);
    assert_int_equal(r.recs.v[0].proto, 47);
    assert_int_equal(r.recs.v[0].spkts, 1);
    assert_int_equal(r.recs.v[0].dpkts, 1);
    assert_int_equal(r.recs.v[0].sbytes, 120);
    p2n_records_free(&r.recs);
}

/* An IPv4 packet where the link type announces IPv6 (and the reverse) is
 * the wrong IP version, not a packet captured too short (it said
 * "truncated" and the hint blamed the snapshot length). */
static void test_wrong_ip_version_for_link_type(void **state)
{
    (void)state;
    uint8_t v4[28] = {0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2, 0, 8, 0, 0};
    uint8_t v6[48] = {0x60, 0, 0, 0, 0, 8, 17, 64};
    uint8_t eth[14 + 48] = {0};
    eth[12] = 0x08; /* ethertype 0x0800, an IPv6 packet behind it */
    memcpy(eth + 14, v6, sizeof v6);
    p2n_packet pkt;
    assert_int_equal(p2n_decode(P2N_DLT_IPV6, v4, sizeof v4, sizeof v4, &pkt), P2N_PKT_WRONG_VERSION);
    assert_int_equal(p2n_decode(P2N_DLT_IPV4, v6, sizeof v6, sizeof v6, &pkt), P2N_PKT_WRONG_VERSION);
    assert_int_equal(p2n_decode(P2N_DLT_EN10MB, eth, sizeof eth, sizeof eth, &pkt), P2N_PKT_WRONG_VERSION);
    assert_int_equal(p2n_decode(P2N_DLT_IPV4, v4, sizeof v4, sizeof v4, &pkt), P2N_PKT_OK);

    const char *path = tpath("v4in6.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_IPV6), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2};
    pg_write(&w, T0, &a);
    pg_write(&w, T0 + 1, &a);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.recs.n, 0);
    assert_int_equal(r.rs.wrong_version, 2);
    assert_int_equal(r.rs.malformed, 2);
    assert_int_equal(r.rs.truncated, 0);
}

/* An original length of 0xffffffff counted 4 GB per packet, and one below
 * the captured length was silently raised to it: both are implausible and
 * replaced by the IP header's total length (plus the Ethernet header),
 * and counted; a plausible one (a short snapshot) is kept. */
static void test_implausible_original_length(void **state)
{
    (void)state;
    const char *path = tpath("origlen.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2, .payload = 100};
    int len = pg_write(&w, T0, &a); /* 14 + 20 + 8 + 100 */
    a.orig_len = 0xffffffffu;
    pg_write(&w, T0 + 1, &a);
    a.orig_len = 10;
    pg_write(&w, T0 + 2, &a);
    a.orig_len = 1500; /* captured 64 of 1500 bytes: believed */
    a.cut = 64;
    pg_write(&w, T0 + 3, &a);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.bad_orig_len, 2);
    assert_int_equal(r.recs.n, 1);
    assert_int_equal(r.recs.v[0].spkts, 4);
    assert_int_equal(r.recs.v[0].sbytes, 3 * len + 1500);
    p2n_records_free(&r.recs);
}

/* Packets stamped earlier than the one before are counted (with the
 * largest step back) for the summary; they still count in their flows. */
static void test_timestamps_going_backwards(void **state)
{
    (void)state;
    const char *path = tpath("backwards.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2};
    pg_write(&w, T0 + 5 * S, &a);
    pg_write(&w, T0 + 1 * S, &a); /* 4 s back */
    pg_write(&w, T0 + 3 * S, &a);
    pg_write(&w, T0 + 2 * S + S / 2, &a); /* 0.5 s back */
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.ts_backwards, 2);
    assert_int_equal(r.rs.ts_back_max_ns, 4000000000LL);
    assert_int_equal(r.recs.n, 1);
    assert_int_equal(r.recs.v[0].spkts, 4);
    assert_int_equal(r.recs.v[0].start_ns, ns(T0 + S));
    p2n_records_free(&r.recs);
}

/* A UDP flow silent for longer than argus' 30 s UDP timeout becomes two
 * records; --idle-timeout 0 keeps it as one. */
static void test_idle_gap_splits_flow(void **state)
{
    (void)state;
    const char *path = tpath("idle.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 7, .dport = 9};
    pg_pkt b = {.src = "10.0.0.2", .dst = "10.0.0.1", .proto = 17, .sport = 9, .dport = 7};
    pg_write(&w, T0, &a);
    pg_write(&w, T0 + 1 * S, &a);
    pg_write(&w, T0 + 100 * S, &b); /* after the gap the reply side starts the new record */
    pg_write(&w, T0 + 101 * S, &a);
    pg_close(&w);

    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.recs.n, 2);
    assert_int_equal(r.fs.rec_idle, 1);
    assert_int_equal(r.recs.v[0].spkts, 2);
    assert_int_equal(r.recs.v[0].dpkts, 0);
    assert_int_equal(r.recs.v[0].last_ns, ns(T0 + S));
    assert_int_equal(r.recs.v[1].start_ns, ns(T0 + 100 * S));
    assert_int_equal(r.recs.v[1].sport, 9);
    assert_int_equal(r.recs.v[1].spkts, 1);
    assert_int_equal(r.recs.v[1].dpkts, 1);
    p2n_records_free(&r.recs);

    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    o.idle_tcp_ns = o.idle_icmp_ns = o.idle_other_ns = 0;
    o.status_ns = 0;
    run_with(path, &o, NULL, 0, &r);
    assert_int_equal(r.recs.n, 1);
    assert_int_equal(r.recs.v[0].spkts, 3);
    assert_int_equal(r.recs.v[0].dpkts, 1);
    p2n_records_free(&r.recs);
}

/* Other traffic advancing the clock closes an idle flow too (sweep). */
static void test_idle_sweep_by_other_traffic(void **state)
{
    (void)state;
    const char *path = tpath("sweep.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 7, .dport = 9};
    pg_pkt b = {.src = "10.0.0.3", .dst = "10.0.0.4", .proto = 17, .sport = 7, .dport = 9};
    pg_write(&w, T0, &a);
    for (int i = 1; i <= 40; i++)
        pg_write(&w, T0 + i * S, &b);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.recs.n, 2);
    assert_int_equal(r.fs.rec_idle, 1);
    assert_int_equal(r.fs.rec_end, 1);
    assert_int_equal(r.recs.v[1].spkts, 40);
    p2n_records_free(&r.recs);
}

/* With a 10 s status interval, a TCP flow with packets at 0, 5, 12 and
 * 25 s gives records [0, 5], [12], [25], all with the same source. */
static void test_status_interval_records(void **state)
{
    (void)state;
    const char *path = tpath("status.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.9", .dst = "10.0.0.1", .proto = 6, .sport = 5000, .dport = 22, .tcp_flags = 0x18};
    pg_pkt b = {.src = "10.0.0.1", .dst = "10.0.0.9", .proto = 6, .sport = 22, .dport = 5000, .tcp_flags = 0x10};
    pg_write(&w, T0, &a);
    pg_write(&w, T0 + 5 * S, &b);
    pg_write(&w, T0 + 12 * S, &b);
    pg_write(&w, T0 + 25 * S, &a);
    pg_close(&w);
    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    o.status_ns = 10000000000LL;
    run_result r;
    run_with(path, &o, NULL, 0, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.recs.n, 3);
    assert_int_equal(r.fs.rec_status, 2);
    assert_int_equal(r.recs.v[0].spkts, 1);
    assert_int_equal(r.recs.v[0].dpkts, 1);
    assert_int_equal(r.recs.v[0].last_ns - r.recs.v[0].start_ns, 5000000000LL);
    assert_int_equal(r.recs.v[1].start_ns, ns(T0 + 12 * S));
    assert_int_equal(r.recs.v[1].spkts, 0);
    assert_int_equal(r.recs.v[1].dpkts, 1);
    assert_int_equal(r.recs.v[2].spkts, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r.recs.v[i].sport, 5000);
    p2n_records_free(&r.recs);
}

/* The source of a TCP record is the one argus + ra name (argus 3.0.8 on
 * the same packets): the SYN sender; the receiver of a SYN+ACK seen first;
 * without a SYN the client, told by the ports (below 1024 is a server's,
 * the lower of two such; 40000 and 50000 are in no /etc/services). */
static void test_tcp_source_without_syn(void **state)
{
    (void)state;
    const char *path = tpath("midstream.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    static const struct {
        const char *src, *dst;
        uint16_t sport, dport;
        uint8_t flags;
        const char *want_src; /* expected source address, port sport or dport */
        int want_sender;
    } c[] = {
        {"10.0.0.2", "10.0.0.1", 80, 40000, 0x18, "10.0.0.1", 0},    /* server data first (syn/mid.pcap) */
        {"10.0.0.1", "10.0.0.2", 81, 40001, 0x10, "10.0.0.2", 0},    /* the same from the lower address */
        {"10.0.0.2", "10.0.0.1", 40002, 82, 0x10, "10.0.0.2", 1},    /* client first */
        {"10.0.0.2", "10.0.0.1", 22, 23, 0x10, "10.0.0.1", 0},       /* both below 1024: 22 serves */
        {"10.0.0.2", "10.0.0.1", 25, 24, 0x10, "10.0.0.2", 1},
        {"10.0.0.2", "10.0.0.1", 50000, 40003, 0x10, "10.0.0.2", 1}, /* neither: the sender */
        {"10.0.0.2", "10.0.0.1", 83, 40004, 0x12, "10.0.0.1", 0},    /* SYN+ACK first */
        {"10.0.0.2", "10.0.0.1", 40005, 84, 0x02, "10.0.0.2", 1},    /* SYN first */
        {"10.0.0.2", "10.0.0.1", 85, 40006, 0x04, "10.0.0.1", 0},    /* RST first, from the server */
    };
    size_t n = sizeof c / sizeof c[0];
    for (size_t i = 0; i < n; i++) {
        pg_pkt p = {.src = c[i].src, .dst = c[i].dst, .proto = 6, .sport = c[i].sport, .dport = c[i].dport,
                    .tcp_flags = c[i].flags, .payload = 100};
        pg_pkt q = {.src = c[i].dst, .dst = c[i].src, .proto = 6, .sport = c[i].dport, .dport = c[i].sport,
                    .tcp_flags = 0x10};
        pg_write(&w, T0 + (int64_t)i * S, &p);
        pg_write(&w, T0 + (int64_t)i * S + 1000, &q);
    }
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.recs.n, n);
    for (size_t i = 0; i < n; i++) {
        const p2n_record *rec = &r.recs.v[i];
        char a[64];
        p2n_addr_format(4, rec->saddr, a, sizeof a);
        assert_string_equal(a, c[i].want_src);
        assert_int_equal(rec->sport, c[i].want_sender ? c[i].sport : c[i].dport);
        assert_int_equal(rec->dport, c[i].want_sender ? c[i].dport : c[i].sport);
        /* the first packet (100 bytes of payload) counts to the source only when it sent it */
        assert_true(c[i].want_sender ? rec->sbytes > rec->dbytes : rec->sbytes < rec->dbytes);
    }
    p2n_records_free(&r.recs);
}

/* After an idle split the next record keeps the flow's source when it
 * comes within one status interval past the timeout (argus 3.0.8 -S 5:
 * UDP back after 35 s keeps it, after 45 s not); whether other traffic
 * swept the flow out in between does not matter (syn/idle.pcap). */
static void test_idle_split_keeps_source(void **state)
{
    (void)state;
    const char *path = tpath("idlesrc.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt u = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 10, .dport = 20};
    pg_pkt back = {.src = "10.0.0.2", .dst = "10.0.0.1", .proto = 17, .sport = 20, .dport = 10};
    pg_pkt u2 = u, back2 = back;
    u2.sport = back2.dport = 11;
    pg_pkt tick = {.src = "10.9.9.9", .dst = "10.9.9.8", .proto = 17, .sport = 7, .dport = 7};
    pg_write(&w, T0, &u);
    pg_write(&w, T0 + 1000, &u2);
    for (int s = 1; s < 60; s++) /* other traffic moves the clock */
        pg_write(&w, T0 + s * S + 500000, &tick);
    pg_write(&w, T0 + 34 * S, &back);  /* 34 s: within 30 + 5 */
    pg_write(&w, T0 + 45 * S, &back2); /* 45 s: too late, a new source */
    pg_close(&w);
    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    o.status_ns = 5000000000LL;
    o.idle_other_ns = 30000000000LL;
    const char *filter = "not host 10.9.9.9";
    for (int swept = 0; swept < 2; swept++) {
        run_result r;
        run_with(path, &o, swept ? NULL : filter, 0, &r);
        assert_int_equal(r.rc, LPZ_OK);
        size_t seen = 0;
        for (size_t i = 0; i < r.recs.n; i++) {
            const p2n_record *rec = &r.recs.v[i];
            if (rec->start_ns == ns(T0 + 34 * S)) {
                assert_addr(rec, "10.0.0.1", "10.0.0.2");
                assert_int_equal(rec->dpkts, 1);
                seen++;
            } else if (rec->start_ns == ns(T0 + 45 * S)) {
                assert_addr(rec, "10.0.0.2", "10.0.0.1");
                assert_int_equal(rec->spkts, 1);
                seen++;
            }
        }
        assert_int_equal(seen, 2);
        p2n_records_free(&r.recs);
    }
}

/* More flows than --max-flows: the least recently active is emitted. */
static void test_max_flows_evicts_least_recent(void **state)
{
    (void)state;
    const char *path = tpath("evict.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 9};
    pg_pkt b = a, c = a;
    b.sport = 2;
    c.sport = 3;
    pg_write(&w, T0, &a);
    pg_write(&w, T0 + 1, &b);
    pg_write(&w, T0 + 2, &a); /* b is now the least recent */
    pg_write(&w, T0 + 3, &c); /* evicts b */
    pg_write(&w, T0 + 4, &b); /* evicts a, b starts again */
    pg_close(&w);
    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    o.max_flows = 2;
    run_result r;
    run_with(path, &o, NULL, 0, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.fs.rec_evicted, 2);
    assert_int_equal(r.fs.max_live, 2);
    assert_int_equal(r.recs.n, 4);
    assert_int_equal(r.recs.v[0].sport, 1);
    assert_int_equal(r.recs.v[0].spkts, 2);
    assert_int_equal(r.recs.v[1].sport, 2);
    assert_int_equal(r.recs.v[1].spkts, 1);
    p2n_records_free(&r.recs);
}

/* A new SYN after both FINs on the same ports starts a new record. */
static void test_tcp_port_reuse(void **state)
{
    (void)state;
    const char *path = tpath("reuse.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt c = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6, .sport = 999, .dport = 80, .tcp_flags = 0x02};
    pg_pkt s = {.src = "10.0.0.2", .dst = "10.0.0.1", .proto = 6, .sport = 80, .dport = 999, .tcp_flags = 0x11};
    pg_write(&w, T0, &c);
    c.tcp_flags = 0x11;
    pg_write(&w, T0 + 10, &c);
    pg_write(&w, T0 + 20, &s);
    c.tcp_flags = 0x02;
    pg_write(&w, T0 + 30, &c);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.recs.n, 2);
    assert_int_equal(r.fs.rec_tcp_reuse, 1);
    assert_int_equal(r.recs.v[0].spkts + r.recs.v[0].dpkts, 3);
    assert_int_equal(r.recs.v[1].spkts, 1);
    p2n_records_free(&r.recs);
}

/* Later fragments join the flow of their first fragment; one whose first
 * fragment never came is counted as an orphan. */
static void test_fragments(void **state)
{
    (void)state;
    const char *path = tpath("frag.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt f1 = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 4000, .dport = 4001,
                 .payload = 1472, .ip_id = 42, .frag_field = 0x2000};
    pg_pkt f2 = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .payload = 500, .ip_id = 42,
                 .frag_field = 185, .no_l4 = 1};
    pg_pkt f3 = f2;
    f3.ip_id = 43;
    int l1 = pg_write(&w, T0, &f1);
    int l2 = pg_write(&w, T0 + 1, &f2);
    pg_write(&w, T0 + 2, &f3);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.fs.frag_attached, 1);
    assert_int_equal(r.fs.frag_orphans, 1);
    assert_int_equal(r.recs.n, 1);
    assert_int_equal(r.recs.v[0].spkts, 2);
    assert_int_equal(r.recs.v[0].sbytes, l1 + l2);
    p2n_records_free(&r.recs);
}

/* A later fragment that arrives before its first fragment (reordering) is
 * held and joins the flow when the first fragment comes; one held longer
 * than the reassembly time (30 s) is an orphan, and so is one still
 * waiting at the end of the input. */
static void test_fragment_before_first(void **state)
{
    (void)state;
    const char *path = tpath("fragrev.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt f1 = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 4000, .dport = 4001,
                 .payload = 1472, .ip_id = 42, .frag_field = 0x2000};
    pg_pkt f2 = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .payload = 500, .ip_id = 42,
                 .frag_field = 185, .no_l4 = 1};
    int l2 = pg_write(&w, T0, &f2);         /* later fragment 1 ms early */
    int l1 = pg_write(&w, T0 + 1000, &f1);
    pg_pkt late = f2, never = f2;
    late.ip_id = 43;
    never.ip_id = 44;
    pg_write(&w, T0 + 2 * S, &late);         /* its first fragment comes 31 s later: too late */
    f1.ip_id = 43;
    pg_write(&w, T0 + 33 * S, &f1);
    pg_write(&w, T0 + 34 * S, &never);      /* no first fragment at all */
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.fs.frag_attached, 1);
    assert_int_equal(r.fs.frag_orphans, 2);
    assert_int_equal(r.recs.n, 2);
    assert_int_equal(r.recs.v[0].spkts, 2);
    assert_int_equal(r.recs.v[0].sbytes, l1 + l2);
    assert_int_equal(r.recs.v[0].start_ns, ns(T0)); /* the held fragment's time */
    assert_int_equal(r.recs.v[0].last_ns, ns(T0 + 1000));
    assert_int_equal(r.recs.v[1].spkts, 1);
    p2n_records_free(&r.recs);
}

static void test_filter_counts_dropped(void **state)
{
    (void)state;
    const char *path = tpath("filter.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 53};
    pg_pkt b = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6, .sport = 1, .dport = 80};
    pg_write(&w, T0, &a);
    pg_write(&w, T0 + 1, &b);
    pg_write(&w, T0 + 2, &b);
    pg_close(&w);
    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    run_result r;
    run_with(path, &o, "tcp port 80", 0, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.filtered, 1);
    assert_int_equal(r.recs.n, 1);
    assert_int_equal(r.recs.v[0].proto, 6);
    p2n_records_free(&r.recs);

    run_with(path, &o, "tcp port", 0, &r);
    assert_int_equal(r.rc, LPZ_EINVAL);
    assert_non_null(strstr(r.err.message, "--filter"));
    p2n_records_free(&r.recs);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

static void test_bad_files(void **state)
{
    (void)state;
    run_result r;
    run(tpath("does-not-exist.pcap"), &r);
    assert_int_equal(r.rc, LPZ_EIO);
    assert_non_null(strstr(r.err.where, "does-not-exist.pcap"));

    /* libpcap's word for it was "truncated dump file; tried to read 4 file
     * header bytes, only got 0" */
    write_bytes(tpath("empty-file.pcap"), "", 0);
    run(tpath("empty-file.pcap"), &r);
    assert_int_equal(r.rc, LPZ_EIO);
    assert_non_null(strstr(r.err.message, "the file is empty (0 bytes)"));
    assert_null(strstr(r.err.message, "truncated"));
    assert_non_null(strstr(r.err.where, "empty-file.pcap"));

    unsigned char junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    write_bytes(tpath("junk.pcap"), junk, sizeof junk);
    run(tpath("junk.pcap"), &r);
    assert_int_equal(r.rc, LPZ_EIO);
    assert_non_null(strstr(r.err.where, "junk.pcap"));

    /* A valid header followed by a record header announcing a 60000-byte
     * packet that is not there. */
    const char *good = tpath("good.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, good, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2, .payload = 200};
    for (int i = 0; i < 3; i++)
        pg_write(&w, T0 + i, &a);
    pg_close(&w);
    FILE *fp = fopen(good, "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    write_bytes(tpath("cut.pcap"), buf, n - 100); /* the third packet is cut */
    run(tpath("cut.pcap"), &r);
    assert_int_equal(r.rc, LPZ_EFORMAT);
    assert_non_null(strstr(r.err.message, "truncated"));
    assert_non_null(strstr(r.err.message, "corrupt capture at packet 3:"));
    assert_non_null(strstr(r.err.hint, "--allow-truncated uses the 2 packets before the cut"));
    p2n_records_free(&r.recs);
    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    run_with(tpath("cut.pcap"), &o, NULL, 1, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.file_truncated, 1);
    assert_int_equal(r.rs.packets, 2);
    assert_int_equal(r.recs.n, 1);
    p2n_records_free(&r.recs);

    /* caplen larger than the snapshot length: libpcap refuses the record */
    memcpy(buf + n - 200, buf, 0);
    buf[24 + 8] = 0xff;
    buf[24 + 9] = 0xff;
    buf[24 + 10] = 0x00;
    buf[24 + 11] = 0x01;
    write_bytes(tpath("badcaplen.pcap"), buf, n);
    run(tpath("badcaplen.pcap"), &r);
    assert_int_equal(r.rc, LPZ_EFORMAT);
    /* it said "corrupt capture after packet 0" */
    assert_non_null(strstr(r.err.message, "corrupt capture at packet 1 (the first):"));
    p2n_records_free(&r.recs);

    /* the first packet cut: --allow-truncated would find no packet before the cut */
    fp = fopen(good, "rb");
    assert_int_equal(fread(buf, 1, sizeof buf, fp), n);
    fclose(fp);
    write_bytes(tpath("cut-first.pcap"), buf, 24 + 16 + 10);
    run(tpath("cut-first.pcap"), &r);
    assert_int_equal(r.rc, LPZ_EFORMAT);
    assert_non_null(strstr(r.err.message, "corrupt capture at packet 1 (the first): truncated"));
    assert_null(strstr(r.err.hint, "--allow-truncated"));
    assert_non_null(strstr(r.err.hint, "no complete packet"));
    p2n_records_free(&r.recs);
}

/* The snapshot length of the file header is reported (tcpdump -s; pcapgen
 * writes 65535), for the hint when packets are captured too short. */
static void test_snaplen_reported(void **state)
{
    (void)state;
    const char *path = tpath("snaplen.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_pkt a = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 6, .sport = 1, .dport = 2, .cut = 30};
    pg_write(&w, T0, &a);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.snaplen, 65535);
    assert_int_equal(r.rs.truncated, 1);
    p2n_records_free(&r.recs);
}

/* Runs path and checks that it fails on packet `packet` with a timestamp
 * that does not fit int64 nanoseconds since 1970, naming the file. */
static void check_bad_timestamp(const char *path, int packet)
{
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_EFORMAT);
    char want[64];
    snprintf(want, sizeof want, "packet %d has a timestamp", packet);
    assert_non_null(strstr(r.err.message, want));
    assert_non_null(strstr(r.err.where, path));
    assert_non_null(strstr(r.err.hint, "editcap"));
    p2n_records_free(&r.recs);
}

/* Timestamps are int64 nanoseconds since 1970: 1970-01-01 to 2262-04-11.
 * Anything else (a pcapng 64-bit timestamp, a wrong if_tsresol) is an
 * error naming the packet and the file, not a signed overflow (UBSan) or
 * times wrapped to garbage. */
static void test_timestamp_out_of_range(void **state)
{
    (void)state;
    pg_pkt p[3] = {{.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = 1, .dport = 2, .payload = 10},
                   {.src = "10.0.0.2", .dst = "10.0.0.1", .proto = 17, .sport = 2, .dport = 1, .payload = 10},
                   {.src = "10.0.0.3", .dst = "10.0.0.4", .proto = 17, .sport = 3, .dport = 4, .payload = 10}};

    /* pcapng, microseconds: the third packet 584,000 years after 1970 */
    const char *path = tpath("ts-huge.pcapng");
    uint64_t us[3] = {(uint64_t)T0, (uint64_t)T0 + 1, 0xFFFFFFFFFFFFFFF0ULL};
    assert_int_equal(pg_write_pcapng(path, DLT_EN10MB, -1, us, p, 3), 0);
    check_bad_timestamp(path, 3);

    /* pcapng, if_tsresol 0 (seconds) on microsecond values */
    path = tpath("ts-resol0.pcapng");
    assert_int_equal(pg_write_pcapng(path, DLT_EN10MB, 0, us, p, 2), 0);
    check_bad_timestamp(path, 1);
    uint64_t neg[1] = {0x8000000000000000ULL}; /* 2^63 s: negative as time_t */
    assert_int_equal(pg_write_pcapng(path, DLT_EN10MB, 0, neg, p, 1), 0);
    check_bad_timestamp(path, 1);
    /* 5 s before 1970 in a pcapng (64-bit times): refused, not read as 2106 as a classic file's seconds are */
    uint64_t before[1] = {(uint64_t)-5};
    assert_int_equal(pg_write_pcapng(path, DLT_EN10MB, 0, before, p, 1), 0);
    check_bad_timestamp(path, 1);

    /* classic pcap, ts_sec 0xffffffff: libpcap reads -1, but the format's field is unsigned: 2106-02-07 (it was
     * refused as "-1 s ... readable: 1970-01-01 to 2262-04-11", contradicting its own range) */
    path = tpath("ts-neg.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_write(&w, T0, &p[0]);
    pg_write(&w, 0xffffffffLL * S + 5, &p[1]);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.recs.n, 2);
    assert_int_equal(r.recs.v[1].start_ns / 1000000000LL, 0xffffffffLL);
    p2n_records_free(&r.recs);

    /* pcapng, nanoseconds: the first and the last representable instants
     * are fine, one nanosecond more is not */
    path = tpath("ts-edge.pcapng");
    uint64_t nsv[3] = {0, (uint64_t)INT64_MAX, (uint64_t)INT64_MAX + 1};
    assert_int_equal(pg_write_pcapng(path, DLT_EN10MB, 9, nsv, p, 2), 0);
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.used, 2);
    assert_int_equal(r.recs.n, 2); /* idle for 292 years: two records */
    assert_int_equal(r.recs.v[0].start_ns, 0);
    assert_int_equal(r.recs.v[1].start_ns, INT64_MAX);
    p2n_records_free(&r.recs);
    assert_int_equal(pg_write_pcapng(path, DLT_EN10MB, 9, nsv, p, 3), 0);
    check_bad_timestamp(path, 3);
}

static void test_unsupported_link_type(void **state)
{
    (void)state;
    const char *path = tpath("wifi.pcap");
    pcap_t *dead = pcap_open_dead(DLT_IEEE802_11, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    pcap_dump_close(d);
    pcap_close(dead);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_EUNSUPPORTED);
    assert_non_null(strstr(r.err.message, "IEEE802_11"));
    assert_non_null(strstr(r.err.where, "wifi.pcap"));
}

/* An empty capture reads fine but cannot fill a sequence. */
static void test_empty_capture(void **state)
{
    (void)state;
    const char *path = tpath("empty.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    pg_close(&w);
    run_result r;
    run(path, &r);
    assert_int_equal(r.rc, LPZ_OK);
    assert_int_equal(r.rs.packets, 0);
    assert_int_equal(r.recs.n, 0);
    p2n_output_opts oo = {.npy_path = tpath("empty.npy"), .sequence_length = 30, .n_fields = 1};
    p2n_output_stats os;
    lpz_error err;
    assert_int_equal(p2n_write_outputs(&r.recs, &oo, &os, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "larger than the 0 flow records"));
    assert_int_equal(access(tpath("empty.npy"), F_OK), -1);
    p2n_records_free(&r.recs);
}

static p2n_record mkrec(int64_t start_s, int64_t dur_ms, uint64_t sp, uint64_t dp, uint64_t sb, uint64_t db)
{
    p2n_record x;
    memset(&x, 0, sizeof x);
    x.start_ns = start_s * 1000000000LL;
    x.last_ns = x.start_ns + dur_ms * 1000000LL;
    x.spkts = sp;
    x.dpkts = dp;
    x.sbytes = sb;
    x.dbytes = db;
    x.proto = 17;
    x.ipver = 4;
    x.saddr[0] = 10;
    x.daddr[0] = 11;
    return x;
}

/* 5 records, length 2: two sequences, one record dropped; values are gap,
 * dur, pkts, bytes in start-time order. */
static void test_outputs_npy_sidecar_csv(void **state)
{
    (void)state;
    p2n_records r = {0};
    lpz_error err;
    int64_t starts[5] = {100, 103, 101, 110, 110};
    for (int i = 0; i < 5; i++) {
        p2n_record x = mkrec(starts[i], 250 * i, 1 + i, i, 100 * (i + 1), 10 * i);
        assert_int_equal(p2n_records_push(&r, &x, &err), LPZ_OK);
    }
    p2n_records_sort(&r);
    p2n_output_opts oo = {.npy_path = tpath("out.npy"), .csv_path = tpath("out.csv"), .source = "x\"y.pcap",
                          .sequence_length = 2};
    assert_int_equal(p2n_fields_parse("gap, dur,pkts,bytes", oo.fields, &oo.n_fields, &err), LPZ_OK);
    assert_int_equal(oo.n_fields, 4);
    p2n_output_stats os;
    assert_int_equal(p2n_write_outputs(&r, &oo, &os, &err), LPZ_OK);
    assert_int_equal(os.sequences, 2);
    assert_int_equal(os.records_dropped, 1);

    lpz_npy_array a;
    assert_int_equal(lpz_npy_read(oo.npy_path, &a, &err), LPZ_OK);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[0], 2);
    assert_int_equal(a.shape[1], 2);
    assert_int_equal(a.shape[2], 4);
    /* sorted starts: 100 (i=0), 101 (i=2), 103 (i=1), 110 (i=3), 110 (i=4) */
    float want[2][2][4] = {{{0, 0, 1, 100}, {1, 0.5f, 5, 320}}, {{2, 0.25f, 3, 210}, {7, 0.75f, 7, 430}}};
    for (int i = 0; i < 16; i++)
        assert_float_equal(a.data[i], ((float *)want)[i], 1e-6);
    lpz_npy_free(&a);

    char side[300];
    snprintf(side, sizeof side, "%s.json", oo.npy_path);
    FILE *fp = fopen(side, "r");
    assert_non_null(fp);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = 0;
    fclose(fp);
    assert_non_null(strstr(text, "\"shape\": [2, 2, 4]"));
    assert_non_null(strstr(text, "{\"name\": \"gap\", \"unit\": \"s\""));
    assert_non_null(strstr(text, "\"records_dropped\": 1"));
    assert_non_null(strstr(text, "x\\\"y.pcap"));

    fp = fopen(oo.csv_path, "r");
    assert_non_null(fp);
    int lines = 0;
    char line[512], second[512] = "";
    while (fgets(line, sizeof line, fp))
        if (lines++ == 1)
            strcpy(second, line);
    fclose(fp);
    assert_int_equal(lines, 6);
    assert_string_equal(second, "100.000000000,100.000000000,0.000000000,0.000000000,17,10.0.0.0,0,11.0.0.0,0,"
                                "1,100,1,0,100,0\n");

    assert_int_equal(p2n_fields_parse("gap,flows", oo.fields, &oo.n_fields, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "flows"));
    assert_non_null(strstr(err.hint, "dbytes"));
    p2n_records_free(&r);
}

/* A field given twice in --fields is refused naming it (it was accepted,
 * giving two equal columns). */
static void test_fields_named_twice(void **state)
{
    (void)state;
    p2n_field f[P2N_MAX_FIELDS];
    int n;
    lpz_error err;
    assert_int_equal(p2n_fields_parse("gap,gap", f, &n, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "field \"gap\" named twice in --fields"));
    assert_int_equal(p2n_fields_parse("pkts, dur,bytes,dur", f, &n, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "field \"dur\" named twice"));
    assert_int_equal(p2n_fields_parse("gap,dur,pkts,bytes,spkts,dpkts,sbytes,dbytes,proto,sport,dport,stime", f, &n,
                                      &err),
                     LPZ_OK);
    assert_int_equal(n, P2N_F_COUNT);
}

/* Flow settings that do not apply (negative: flows built by argus) are
 * null in the sidecar, not -1, and "too few records" does not suggest
 * --status-interval for them; pcap settings are numbers and it does. */
static void test_sidecar_settings_that_do_not_apply(void **state)
{
    (void)state;
    p2n_records r = {0};
    lpz_error err;
    for (int i = 0; i < 3; i++) {
        p2n_record x = mkrec(100 + i, 10, 1, 1, 100, 100);
        assert_int_equal(p2n_records_push(&r, &x, &err), LPZ_OK);
    }
    p2n_output_opts oo = {.npy_path = tpath("argus-side.npy"), .sequence_length = 3, .idle_tcp_s = -1,
                          .idle_icmp_s = -1, .idle_other_s = -1, .status_s = -1};
    assert_int_equal(p2n_fields_parse("gap", oo.fields, &oo.n_fields, &err), LPZ_OK);
    p2n_output_stats os;
    assert_int_equal(p2n_write_outputs(&r, &oo, &os, &err), LPZ_OK);
    FILE *fp = fopen(tpath("argus-side.npy.json"), "r");
    assert_non_null(fp);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = 0;
    fclose(fp);
    assert_non_null(strstr(text, "\"idle_timeout_s\": {\"tcp\": null, \"icmp\": null, \"other\": null},"));
    assert_non_null(strstr(text, "\"status_interval_s\": null,"));
    assert_null(strstr(text, "-1"));

    oo.sequence_length = 4;
    assert_int_equal(p2n_write_outputs(&r, &oo, &os, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.hint, "--sequence-length"));
    assert_null(strstr(err.hint, "--status-interval"));

    oo.npy_path = tpath("pcap-side.npy");
    oo.sequence_length = 3;
    oo.idle_tcp_s = 60, oo.idle_icmp_s = 5, oo.idle_other_s = 30, oo.status_s = 0;
    assert_int_equal(p2n_write_outputs(&r, &oo, &os, &err), LPZ_OK);
    fp = fopen(tpath("pcap-side.npy.json"), "r");
    assert_non_null(fp);
    n = fread(text, 1, sizeof text - 1, fp);
    text[n] = 0;
    fclose(fp);
    assert_non_null(strstr(text, "\"idle_timeout_s\": {\"tcp\": 60, \"icmp\": 5, \"other\": 30},"));
    assert_non_null(strstr(text, "\"status_interval_s\": 0,"));
    oo.sequence_length = 4;
    assert_int_equal(p2n_write_outputs(&r, &oo, &os, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "larger than the 3 flow records available"));
    assert_non_null(strstr(err.hint, "--status-interval"));

    /* one record: singular */
    r.n = 1;
    assert_int_equal(p2n_write_outputs(&r, &oo, &os, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "larger than the 1 flow record available"));
    p2n_records_free(&r);
}

static int read_argus_text(const char *text, p2n_records *r, p2n_argus_stats *st, lpz_error *err)
{
    FILE *fp = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(fp);
    int rc = p2n_read_argus_stream(fp, "ra.csv", r, st, err);
    fclose(fp);
    return rc;
}

static void test_argus_csv(void **state)
{
    (void)state;
    p2n_records r = {0};
    p2n_argus_stats st;
    lpz_error err;
    const char *text = "Proto,SrcAddr,Sport,DstAddr,Dport,TotPkts,TotBytes,StartTime,Dur,SrcPkts,Extra\n"
                       "udp,127.0.0.1,50877,127.0.0.1,9999,3,147,1795750536.142303,0.5,2,x\n"
                       "man,0,0,0,0,0,0,1795750539.155348,0.000670,0,y\n"
                       "icmp,10.0.0.1,0x0303,10.0.0.2,0x0f27,1,75,1795750530.000001,0.000000,1,z\n"
                       "\n";
    assert_int_equal(read_argus_text(text, &r, &st, &err), LPZ_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(st.skipped_man, 1);
    p2n_records_sort(&r);
    assert_int_equal(r.v[0].proto, 1);
    assert_int_equal(r.v[0].sport, 3); /* argus' 0x0303: type 3, code 3, as --pcap gives them */
    assert_int_equal(r.v[0].dport, 3);
    assert_int_equal(st.icmp_recoded, 1);
    assert_int_equal(r.v[0].start_ns, 1795750530000001000LL);
    assert_int_equal(r.v[1].proto, 17);
    assert_int_equal(r.v[1].spkts, 2);
    assert_int_equal(r.v[1].dpkts, 1);
    assert_int_equal(r.v[1].sbytes, 147);
    assert_int_equal(r.v[1].last_ns - r.v[1].start_ns, 500000000);
    assert_int_equal(r.v[1].ipver, 4);
    p2n_records_free(&r);

    /* ra's default time of day, and dates */
    assert_int_equal(read_argus_text("StartTime,LastTime\n03:35:36.5,03:35:40\n2024/01/02 00:00:01.25,"
                                     "2024/01/02 00:00:02\n",
                                     &r, &st, &err),
                     LPZ_OK);
    assert_int_equal(r.v[0].start_ns, (3 * 3600 + 35 * 60 + 36) * 1000000000LL + 500000000);
    assert_int_equal(r.v[0].last_ns - r.v[0].start_ns, 3500000000LL);
    assert_int_equal(r.v[1].start_ns, 1704153601250000000LL);
    p2n_records_free(&r);

    assert_int_equal(read_argus_text("StartTime,Dur,TotPkts\n1.0,0.1,3\n2.0,0.1\n", &r, &st, &err), LPZ_EFORMAT);
    assert_string_equal(err.where, "ra.csv:3");
    p2n_records_free(&r);
    assert_int_equal(read_argus_text("StartTime,Dur,TotPkts\n1.0,0.1,3\n2.0,abc,4\n", &r, &st, &err),
                     LPZ_EFORMAT);
    assert_string_equal(err.where, "ra.csv:3");
    assert_non_null(strstr(err.message, "Dur"));
    p2n_records_free(&r);
    assert_int_equal(read_argus_text("StartTime,Sport\n1.0,http\n", &r, &st, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.hint, "-n"));
    p2n_records_free(&r);
    assert_int_equal(read_argus_text("Dur,TotPkts\n0.1,3\n", &r, &st, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "StartTime"));
    p2n_records_free(&r);
    assert_int_equal(read_argus_text("", &r, &st, &err), LPZ_EFORMAT);
    p2n_records_free(&r);
    assert_int_equal(p2n_read_argus_csv(tpath("missing.csv"), &r, &st, &err), LPZ_EIO);
}

/* A direction's count without its column is the total minus the other
 * direction (pkts stays TotPkts; it was TotPkts + DstPkts); with neither
 * direction all counts go to the source. */
/* ICMP from argus means what --pcap gives (argus 3.0.8 / ra on the same
 * packets: echo 0x0008 and a byte-swapped identifier, host unreachable
 * 0x0103, redirect 0x0105; ICMPv6 already type and code); non-IP records
 * (argus' QinQ ethertype 34984 with MAC addresses, arp) are skipped and
 * counted; time-of-day StartTimes and counts of 2^64-1 are counted for a
 * warning. */
static void test_argus_icmp_nonip_and_doubtful_values(void **state)
{
    (void)state;
    p2n_records r = {0};
    p2n_argus_stats st;
    lpz_error err;
    const char *text = "StartTime,Proto,SrcAddr,Sport,DstAddr,Dport,TotPkts,TotBytes\n"
                       "1700000003.0,icmp,10.0.0.1,0x0008,10.0.0.4,0x0201,2,196\n"
                       "1700000004.0,icmp,10.0.0.9,0x0103,10.0.0.1,0x0a07,1,70\n"
                       "1700000005.0,icmp,10.0.0.1,0x0105,10.0.0.5,0x0a07,1,70\n"
                       "1700000006.0,ipv6-icmp,2001:db8::9,1,2001:db8::1,4,1,110\n"
                       "1700000007.0,34984,02:02:02:02:02:02,0,04:04:04:04:04:04,0,80,5600\n"
                       "1700000008.0,arp,10.0.0.1,,10.0.0.2,,2,120\n"
                       "1700000009.0,xyz,10.0.0.1,0,10.0.0.2,0,1,60\n"
                       "23:59:59.5,udp,10.0.0.1,1,10.0.0.2,2,1,18446744073709551615\n";
    assert_int_equal(read_argus_text(text, &r, &st, &err), LPZ_OK);
    assert_int_equal(r.n, 6);
    assert_int_equal(st.non_ip, 2);
    assert_string_equal(st.non_ip_proto, "34984");
    assert_int_equal(st.unknown_proto, 1);
    assert_string_equal(st.unknown_name, "xyz");
    assert_int_equal(st.icmp_recoded, 3);
    assert_int_equal(st.time_of_day, 1);
    assert_int_equal(st.huge_counts, 1);
    assert_int_equal(st.huge_line, 9);
    p2n_records_sort(&r);
    /* the time-of-day line sorts first (86399.5 s since 1970) */
    static const uint16_t type_code[][2] = {{1, 2}, {8, 0}, {3, 1}, {5, 1}, {1, 4}, {0, 0}};
    for (size_t i = 0; i < r.n; i++) {
        assert_int_equal(r.v[i].sport, type_code[i][0]);
        assert_int_equal(r.v[i].dport, type_code[i][1]);
    }
    assert_int_equal(r.v[5].proto, 255);
    p2n_records_free(&r);
}

static void test_argus_one_direction_given(void **state)
{
    (void)state;
    p2n_records r = {0};
    p2n_argus_stats st;
    lpz_error err;
    assert_int_equal(read_argus_text("StartTime,TotPkts,DstPkts,TotBytes,DstBytes\n1.0,10,4,1000,300\n", &r, &st,
                                     &err),
                     LPZ_OK);
    assert_int_equal(r.v[0].spkts, 6);
    assert_int_equal(r.v[0].dpkts, 4);
    assert_int_equal(r.v[0].sbytes, 700);
    assert_int_equal(r.v[0].dbytes, 300);
    assert_true(p2n_field_value(&r, 0, P2N_F_PKTS) == 10.0);
    assert_true(p2n_field_value(&r, 0, P2N_F_BYTES) == 1000.0);
    p2n_records_free(&r);
    assert_int_equal(read_argus_text("StartTime,TotPkts,SrcBytes,TotBytes\n1.0,10,200,1000\n", &r, &st, &err),
                     LPZ_OK);
    assert_int_equal(r.v[0].spkts, 10);
    assert_int_equal(r.v[0].dpkts, 0);
    assert_int_equal(r.v[0].sbytes, 200);
    assert_int_equal(r.v[0].dbytes, 800);
    p2n_records_free(&r);
}

/* The fields that no column of the header gives are reported (they are 0
 * in every record), e.g. dur from `ra -c ,` without -s. */
static void test_argus_missing_fields(void **state)
{
    (void)state;
    p2n_records r = {0};
    p2n_argus_stats st;
    lpz_error err;
    assert_int_equal(read_argus_text("StartTime,Proto,SrcAddr,Sport,DstAddr,Dport,TotPkts,TotBytes\n"
                                     "1.0,tcp,10.0.0.1,1,10.0.0.2,2,3,300\n",
                                     &r, &st, &err),
                     LPZ_OK);
    uint32_t want = 1u << P2N_F_DUR | 1u << P2N_F_DPKTS | 1u << P2N_F_DBYTES;
    assert_int_equal(st.missing_fields, want);
    assert_string_equal(p2n_argus_field_columns(P2N_F_DUR), "Dur or LastTime");
    assert_null(p2n_argus_field_columns(P2N_F_GAP));
    p2n_records_free(&r);
    assert_int_equal(read_argus_text("StartTime,LastTime,SrcPkts,DstPkts,SrcBytes,DstBytes,Proto,Sport,Dport\n"
                                     "1.0,2.0,1,1,1,1,udp,1,2\n",
                                     &r, &st, &err),
                     LPZ_OK);
    assert_int_equal(st.missing_fields, 0);
    p2n_records_free(&r);
    assert_int_equal(read_argus_text("StartTime\n1.0\n", &r, &st, &err), LPZ_OK);
    for (int f = 0; f < P2N_F_COUNT; f++)
        assert_int_equal((st.missing_fields >> f) & 1, p2n_argus_field_columns((p2n_field)f) != NULL);
    p2n_records_free(&r);
}

/* A capture or an argus data file given to --from-argus is "not a text
 * file" with a hint to --pcap and ra, not "no StartTime column"; a UTF-8
 * byte order mark in front of the header is skipped. */
static void test_argus_binary_input(void **state)
{
    (void)state;
    p2n_records r = {0};
    p2n_argus_stats st;
    lpz_error err;
    static const char pcap_hdr[] = "\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                   "\x80\x00\x00\x00\x01\x00\x00\x00\n";
    static const char pcapng_hdr[] = "\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00\x00\x00\n";
    static const char argus_hdr[] = "\x83\x10\x00\x20\x00\x00\x00\x00\xe5\x71\n";
    const struct {
        const char *data;
        size_t n;
    } bins[] = {{pcap_hdr, sizeof pcap_hdr - 1}, {pcapng_hdr, sizeof pcapng_hdr - 1},
                {argus_hdr, sizeof argus_hdr - 1}, {"StartTime\xff,Dur\n1,2\n", 19}};
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
        FILE *fp = fmemopen((void *)bins[i].data, bins[i].n, "r");
        assert_non_null(fp);
        assert_int_equal(p2n_read_argus_stream(fp, "x.csv", &r, &st, &err), LPZ_EFORMAT);
        fclose(fp);
        assert_non_null(strstr(err.message, "not a text file"));
        assert_non_null(strstr(err.hint, "--pcap"));
        assert_non_null(strstr(err.hint, "ra -u -n -r"));
        p2n_records_free(&r);
    }
    assert_int_equal(read_argus_text("\xef\xbb\xbfStartTime,Dur\n1.0,0.5\n", &r, &st, &err), LPZ_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].last_ns - r.v[0].start_ns, 500000000);
    p2n_records_free(&r);
}

typedef struct progress_calls {
    int n;
    uint64_t packets, done, total;
} progress_calls;

static void count_progress(void *user, const p2n_read_stats *st, uint64_t done, uint64_t total)
{
    progress_calls *c = user;
    assert_true(st->packets > c->packets);
    assert_true(done > c->done);
    assert_true(done <= total);
    c->n++;
    c->packets = st->packets;
    c->done = done;
    c->total = total;
}

/* A long read reports progress every P2N_PROGRESS_PACKETS packets with the
 * share of the file read. */
static void test_read_progress(void **state)
{
    (void)state;
    const char *path = tpath("progress.pcap");
    pg_writer w;
    assert_int_equal(pg_open(&w, path, DLT_EN10MB), 0);
    const int n = 2 * P2N_PROGRESS_PACKETS + 100;
    for (int i = 0; i < n; i++) {
        pg_pkt u = {.src = "10.0.0.1", .dst = "10.0.0.2", .proto = 17, .sport = (uint16_t)(1000 + i % 50),
                    .dport = 53, .payload = 20};
        assert_true(pg_write(&w, T0 + i, &u) > 0);
    }
    pg_close(&w);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);

    p2n_flow_opts o;
    p2n_flow_opts_default(&o);
    p2n_records recs = {0};
    p2n_table *t;
    lpz_error err;
    p2n_read_stats rs;
    progress_calls calls = {0};
    assert_int_equal(p2n_table_create(&o, &recs, &t, &err), LPZ_OK);
    assert_int_equal(p2n_read_pcap_progress(path, NULL, 0, count_progress, &calls, t, &rs, &err), LPZ_OK);
    p2n_table_destroy(t);
    p2n_records_free(&recs);
    assert_int_equal(rs.packets, n);
    assert_int_equal(calls.n, 2);
    assert_int_equal(calls.packets, 2 * P2N_PROGRESS_PACKETS);
    assert_int_equal(calls.total, (uint64_t)sb.st_size);
}

/* Counts up to 2^64-1 are read exactly; a larger one is a bad value
 * naming the line and the column, not clamped to 2^64-1. */
static void test_argus_counter_too_large(void **state)
{
    (void)state;
    p2n_records r = {0};
    p2n_argus_stats st;
    lpz_error err;
    assert_int_equal(read_argus_text("StartTime,TotPkts,SrcBytes\n1.0,18446744073709551615,18446744073709551615\n",
                                     &r, &st, &err),
                     LPZ_OK);
    assert_int_equal(r.n, 1);
    assert_true(r.v[0].spkts == UINT64_MAX);
    assert_true(r.v[0].sbytes == UINT64_MAX);
    p2n_records_free(&r);

    assert_int_equal(read_argus_text("StartTime,TotPkts\n1.0,3\n2.0,99999999999999999999999\n", &r, &st, &err),
                     LPZ_EFORMAT);
    assert_string_equal(err.where, "ra.csv:3");
    assert_string_equal(err.message, "bad TotPkts value \"99999999999999999999999\"");
    assert_non_null(strstr(err.hint, "18446744073709551615"));
    p2n_records_free(&r);

    assert_int_equal(read_argus_text("StartTime,DstBytes\n1.0,18446744073709551616\n", &r, &st, &err),
                     LPZ_EFORMAT);
    assert_string_equal(err.where, "ra.csv:2");
    assert_non_null(strstr(err.message, "DstBytes"));
    p2n_records_free(&r);
}

/* Random frames never make the decoder read past caplen (checked by the
 * sanitizer build) and always give a defined result. */
static void test_decode_random_frames(void **state)
{
    (void)state;
    const int dlts[] = {P2N_DLT_NULL, P2N_DLT_EN10MB, P2N_DLT_RAW, P2N_DLT_LOOP, P2N_DLT_LINUX_SLL,
                        P2N_DLT_IPV4, P2N_DLT_IPV6, P2N_DLT_LINUX_SLL2};
    uint64_t s = 12345;
    for (int it = 0; it < 20000; it++) {
        uint32_t len = (uint32_t)(s % 120);
        uint8_t *buf = malloc(len ? len : 1);
        for (uint32_t i = 0; i < len; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[i] = (uint8_t)(s >> 56);
        }
        /* bias towards plausible headers */
        if (len > 14 && (it & 1)) {
            buf[12] = (it & 2) ? 0x86 : 0x08;
            buf[13] = (it & 2) ? 0xdd : 0x00;
            buf[14] = (it & 2) ? 0x60 : 0x45;
        }
        p2n_packet p;
        p2n_decode_result res = p2n_decode(dlts[it % 8], buf, len, len, &p);
        assert_true(res <= P2N_PKT_WRONG_VERSION);
        free(buf);
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    }
}

/* p2n_same_file, which the tool uses to refuse an output that is the
 * input or another output (tests/pcap2npy/out_paths.sh runs the tool). */
static void test_same_file(void **state)
{
    (void)state;
    char p[8][512];
    assert_int_equal(mkdir(tpath("sub"), 0777), 0);
    write_bytes(tpath("a.pcap"), "abc", 3);
    write_bytes(tpath("b.pcap"), "abc", 3);
    assert_int_equal(link(tpath("a.pcap"), tpath("hard")), 0);
    assert_int_equal(symlink("a.pcap", tpath("soft")), 0);
    assert_int_equal(symlink(".", tpath("here")), 0);
    assert_int_equal(symlink("new.npy", tpath("dangling")), 0);

    /* existing files: the same inode, however named */
    snprintf(p[0], sizeof p[0], "%s/./a.pcap", tmpdir);
    snprintf(p[1], sizeof p[1], "%s/sub/../a.pcap", tmpdir);
    snprintf(p[2], sizeof p[2], "/tmp/..%s/a.pcap", tmpdir);
    snprintf(p[3], sizeof p[3], "%s/here/a.pcap", tmpdir);
    assert_true(p2n_same_file(tpath("a.pcap"), tpath("a.pcap")));
    for (int i = 0; i < 4; i++)
        assert_true(p2n_same_file(tpath("a.pcap"), p[i]));
    assert_true(p2n_same_file(tpath("a.pcap"), tpath("hard")));
    assert_true(p2n_same_file(tpath("soft"), tpath("a.pcap")));
    assert_false(p2n_same_file(tpath("a.pcap"), tpath("b.pcap"))); /* same content, other file */
    assert_false(p2n_same_file(tpath("a.pcap"), tpath("new.npy")));
    assert_false(p2n_same_file(tpath("new.npy"), tpath("a.pcap")));

    /* names of files not written yet: the same real folder and name */
    snprintf(p[4], sizeof p[4], "%s/./new.npy", tmpdir);
    snprintf(p[5], sizeof p[5], "%s/sub/../new.npy", tmpdir);
    snprintf(p[6], sizeof p[6], "%s/here/new.npy", tmpdir);
    snprintf(p[7], sizeof p[7], "%s/sub/new.npy", tmpdir);
    for (int i = 4; i < 7; i++)
        assert_true(p2n_same_file(tpath("new.npy"), p[i]));
    assert_false(p2n_same_file(tpath("new.npy"), p[7]));
    assert_false(p2n_same_file(tpath("new.npy"), tpath("new.npy.json")));
    /* a dangling link is replaced by the output, not written through */
    assert_false(p2n_same_file(tpath("dangling"), tpath("new.npy")));
    assert_true(p2n_same_file("/p2n-no-such-file", "//p2n-no-such-file"));
    /* a folder that does not exist: compared as text */
    assert_true(p2n_same_file(tpath("nodir/x"), tpath("nodir/x")));
    assert_false(p2n_same_file(tpath("nodir/x"), tpath("nodir/y")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_flows_ethernet),
        cmocka_unit_test(test_link_ethernet_vlan),
        cmocka_unit_test(test_link_sll_sll2),
        cmocka_unit_test(test_link_raw),
        cmocka_unit_test(test_link_null_loop_both_orders),
        cmocka_unit_test(test_link_ipv4_only),
        cmocka_unit_test(test_wrong_ip_version_for_link_type),
        cmocka_unit_test(test_implausible_original_length),
        cmocka_unit_test(test_timestamps_going_backwards),
        cmocka_unit_test(test_idle_gap_splits_flow),
        cmocka_unit_test(test_idle_sweep_by_other_traffic),
        cmocka_unit_test(test_status_interval_records),
        cmocka_unit_test(test_max_flows_evicts_least_recent),
        cmocka_unit_test(test_tcp_port_reuse),
        cmocka_unit_test(test_tcp_source_without_syn),
        cmocka_unit_test(test_idle_split_keeps_source),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_fragment_before_first),
        cmocka_unit_test(test_filter_counts_dropped),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_snaplen_reported),
        cmocka_unit_test(test_timestamp_out_of_range),
        cmocka_unit_test(test_unsupported_link_type),
        cmocka_unit_test(test_empty_capture),
        cmocka_unit_test(test_outputs_npy_sidecar_csv),
        cmocka_unit_test(test_fields_named_twice),
        cmocka_unit_test(test_sidecar_settings_that_do_not_apply),
        cmocka_unit_test(test_argus_csv),
        cmocka_unit_test(test_argus_counter_too_large),
        cmocka_unit_test(test_argus_one_direction_given),
        cmocka_unit_test(test_argus_icmp_nonip_and_doubtful_values),
        cmocka_unit_test(test_argus_missing_fields),
        cmocka_unit_test(test_argus_binary_input),
        cmocka_unit_test(test_read_progress),
        cmocka_unit_test(test_decode_random_frames),
        cmocka_unit_test(test_same_file),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
