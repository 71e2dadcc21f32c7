/* tools/pcap2npy/flows.c - bidirectional flows, like argus builds them.
 *
 * A flow is keyed by IP version, protocol and its two endpoints in a
 * canonical order (the lower (address, port) first), so both directions
 * land in one flow. The source of a record is who argus + ra name: the
 * sender of the first packet, except for TCP without a SYN first: a SYN+ACK
 * makes its receiver the source, and a capture that starts mid-connection
 * (no SYN) makes the client the source, told by the ports as ra does with
 * RA_PORT_DIRECTION="services,wellknown" (Debian's /etc/ra.conf): a port
 * below 1024 or named in Debian's /etc/services (services_tcp) is a
 * server's; when both are, the lower one is. A record that follows an idle split within one status
 * interval past the timeout keeps the flow's source (argus keeps a flow's
 * state until its report after the timeout).
 * ICMP flows are keyed by the two addresses, the type (a reply folded onto
 * its request: echo reply 0 -> 8, ICMPv6 129 -> 128, ...), the code and,
 * for echo-like messages, the identifier. Other protocols use addresses
 * only.
 *
 * A flow's current record is emitted (appended to the caller's list) when
 *  - its next packet comes more than the idle timeout after its last one
 *    (the packet then starts a new record with itself as source), or the
 *    flow sits idle past the timeout while other traffic advances the clock;
 *  - the next packet comes a status interval or more after the record's
 *    start (the flow continues, same source, counts restart);
 *  - a TCP SYN without ACK arrives after both FINs or a RST (port reuse);
 *  - the table holds --max-flows flows and a new one arrives: the least
 *    recently active flow is evicted;
 *  - the input ends (p2n_table_flush).
 *
 * Memory: flows come from slabs of FLOW_SLAB entries (176 bytes each,
 * kept and recycled), so the hot path allocates only when the number of
 * live flows reaches a new high; the hash bucket array (8 bytes per
 * bucket, the next power of two >= max_flows) is sized once.
 * Later IPv4/IPv6 fragments carry no ports; a direct-mapped cache of
 * FRAG_CACHE first fragments maps them back to their flow. A later fragment
 * that arrives before its first fragment (reordering) waits in a FIFO of
 * FRAG_PENDING fragments (64 bytes each) for at most FRAG_HOLD_NS of
 * capture time, the IP reassembly time; it joins the flow when its first
 * fragment comes, and is an orphan when it expires or is pushed out.
 */
#include "p2n.h"

#include <stdlib.h>
#include <string.h>

#define FLOW_SLAB 4096
#define FRAG_CACHE 4096
#define FRAG_PENDING 1024
#define FRAG_HOLD_NS (30 * 1000000000LL) /* Linux ipfrag_time, RFC 791's suggested 15 s doubled */

typedef struct flow_key {
    uint8_t a[16], b[16]; /* canonical endpoint order */
    uint16_t pa, pb;      /* ports of a and b; ICMP: folded type, code */
    uint16_t icmp_id;
    uint8_t proto, ipver;
} flow_key;

typedef struct flow {
    flow_key key;
    uint64_t hash;
    struct flow *hnext;      /* hash chain; free list when unused */
    struct flow *prev, *next; /* activity list: head = most recent */
    p2n_record rec;          /* the record being built */
    int64_t timeout_ns;
    uint8_t first_reply; /* ICMP: first packet was a reply (direction on same-host flows) */
    uint8_t fin_mask;    /* 1: FIN from source, 2: FIN from destination, 4: RST */
} flow;

_Static_assert(sizeof(flow) == 176, "flow size is documented as 176 bytes");

typedef struct slab {
    struct slab *next;
    flow flows[FLOW_SLAB];
} slab;

typedef struct frag_entry {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint16_t sport, dport, icmp_id;
    uint8_t proto, ipver, valid;
} frag_entry;

/* The source of a flow that left the table idle, for a record that starts
 * soon after (see keep_source). Direct-mapped by flow hash. */
#define DIR_CACHE 4096
typedef struct dir_entry {
    flow_key key;
    int64_t last_ns, window_ns; /* the flow's last packet; how long its source is kept after */
    uint8_t saddr[16], daddr[16];
    uint16_t sport, dport;
    uint8_t first_reply, valid;
} dir_entry;

/* A later fragment waiting for its first fragment. */
typedef struct frag_held {
    p2n_packet pkt;
    int64_t ts;
    int valid;
} frag_held;

struct p2n_table {
    p2n_flow_opts opts;
    p2n_records *out;
    flow **buckets;
    size_t mask;
    flow *head, *tail;
    size_t live;
    flow *free_list;
    slab *slabs;
    int64_t now;
    int have_now;
    p2n_flow_stats stats;
    frag_entry *frags;
    frag_held *held; /* ring of FRAG_PENDING: held_head is the oldest, held_n the used slots */
    size_t held_head, held_n, held_valid;
    dir_entry *dirs;
    uint8_t server_port[65536 / 8]; /* TCP ports below 1024 or in services_tcp */
};

/* The TCP ports of 1024 and above that Debian's /etc/services (netbase 6.4)
 * names, which ra takes as servers' (RA_PORT_DIRECTION="services,..."):
 * compiled in, not read from the machine's file, so that one capture gives
 * the same records on every machine (a machine without netbase has no
 * /etc/services at all). */
static const uint16_t services_tcp[] = {
    1080, 1093, 1094, 1099, 1127, 1178, 1194, 1236, 1313, 1314, 1352, 1433, 1524, 1645, 1646, 1649, 1677, 1812,
    1813, 2000, 2049, 2086, 2101, 2119, 2121, 2135, 2401, 2430, 2431, 2432, 2433, 2583, 2600, 2601, 2602, 2603,
    2604, 2605, 2606, 2607, 2608, 2628, 2792, 2811, 2947, 3050, 3205, 3260, 3306, 3389, 3493, 3632, 3689, 3690,
    4031, 4094, 4190, 4353, 4369, 4373, 4460, 4557, 4559, 4691, 4899, 4949, 5060, 5061, 5222, 5269, 5308, 5432,
    5556, 5666, 5667, 5671, 5672, 5680, 6000, 6001, 6002, 6003, 6004, 6005, 6006, 6007, 6346, 6347, 6379, 6444,
    6445, 6446, 6514, 6566, 6667, 6697, 7000, 7100, 8021, 8080, 8081, 8088, 8140, 8990, 9098, 9101, 9102, 9103,
    9418, 9667, 9673, 10000, 10050, 10051, 10080, 10081, 10082, 10083, 10809, 11112, 11371, 17004, 17500, 22125,
    22128, 22273, 24554, 27374, 30865, 57000, 60177, 60179
};

void p2n_flow_opts_default(p2n_flow_opts *o)
{
    const int64_t s = 1000000000;
    o->idle_tcp_ns = 60 * s;
    o->idle_icmp_ns = 5 * s;
    o->idle_other_ns = 30 * s;
    o->status_ns = 60 * s;
    o->max_flows = 262144;
}

int p2n_table_create(const p2n_flow_opts *opts, p2n_records *out, p2n_table **table, lpz_error *err)
{
    *table = NULL;
    if (opts->max_flows < 1 || opts->max_flows > ((size_t)1 << 30))
        return lpz_error_set(err, LPZ_EINVAL, "max flows %zu out of range [1, 2^30]", opts->max_flows);
    p2n_table *t = calloc(1, sizeof *t);
    if (!t)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for the flow table");
    t->opts = *opts;
    t->out = out;
    size_t nb = 1024;
    while (nb < opts->max_flows)
        nb <<= 1;
    t->mask = nb - 1;
    t->buckets = calloc(nb, sizeof *t->buckets);
    t->frags = calloc(FRAG_CACHE, sizeof *t->frags);
    t->held = calloc(FRAG_PENDING, sizeof *t->held);
    t->dirs = calloc(DIR_CACHE, sizeof *t->dirs);
    if (!t->buckets || !t->frags || !t->held || !t->dirs) {
        p2n_table_destroy(t);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %zu hash buckets", nb);
    }
    for (unsigned port = 0; port < 1024; port++)
        t->server_port[port / 8] |= (uint8_t)(1u << (port % 8));
    for (size_t i = 0; i < sizeof services_tcp / sizeof services_tcp[0]; i++)
        t->server_port[services_tcp[i] / 8] |= (uint8_t)(1u << (services_tcp[i] % 8));
    *table = t;
    return LPZ_OK;
}

void p2n_table_destroy(p2n_table *t)
{
    if (!t)
        return;
    while (t->slabs) {
        slab *s = t->slabs;
        t->slabs = s->next;
        free(s);
    }
    free(t->buckets);
    free(t->frags);
    free(t->held);
    free(t->dirs);
    free(t);
}

size_t p2n_table_live(const p2n_table *t)
{
    return t->live;
}

const p2n_flow_stats *p2n_table_stats(const p2n_table *t)
{
    return &t->stats;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t key_hash(const flow_key *k)
{
    uint64_t w[5];
    _Static_assert(sizeof(flow_key) == 40, "flow_key is five words");
    memcpy(w, k, sizeof w);
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 5; i++)
        h = mix64(h ^ w[i]) + (uint64_t)i;
    return h;
}

static int is_icmp(uint8_t proto)
{
    return proto == 1 || proto == 58;
}

/* Protocols whose key needs the transport header (see decode.c). */
static int keyed_by_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132 || is_icmp(proto);
}

/* Reply types folded onto their request so both belong to one flow. */
static uint16_t icmp_fold(uint8_t proto, uint16_t type, int *is_reply)
{
    *is_reply = 0;
    if (proto == 1) {
        switch (type) {
        case 0: *is_reply = 1; return 8;
        case 14: *is_reply = 1; return 13;
        case 16: *is_reply = 1; return 15;
        case 18: *is_reply = 1; return 17;
        default: return type;
        }
    }
    if (type == 129) {
        *is_reply = 1;
        return 128;
    }
    return type;
}

/* Builds the canonical key; *fwd_hint is 1 when the packet's source is
 * endpoint a. */
static void make_key(const p2n_packet *p, flow_key *k, int *is_reply)
{
    memset(k, 0, sizeof *k);
    k->proto = p->proto;
    k->ipver = p->ipver;
    *is_reply = 0;
    int c = memcmp(p->src, p->dst, 16);
    if (is_icmp(p->proto)) {
        if (p->has_ports) {
            k->pa = icmp_fold(p->proto, p->sport, is_reply);
            k->pb = p->dport;
            k->icmp_id = p->icmp_id;
        }
        memcpy(k->a, c <= 0 ? p->src : p->dst, 16);
        memcpy(k->b, c <= 0 ? p->dst : p->src, 16);
        return;
    }
    uint16_t sp = p->has_ports ? p->sport : 0, dp = p->has_ports ? p->dport : 0;
    if (c < 0 || (c == 0 && sp <= dp)) {
        memcpy(k->a, p->src, 16);
        memcpy(k->b, p->dst, 16);
        k->pa = sp;
        k->pb = dp;
    } else {
        memcpy(k->a, p->dst, 16);
        memcpy(k->b, p->src, 16);
        k->pa = dp;
        k->pb = sp;
    }
}

static int64_t timeout_for(const p2n_table *t, uint8_t proto)
{
    if (proto == 6)
        return t->opts.idle_tcp_ns;
    if (is_icmp(proto))
        return t->opts.idle_icmp_ns;
    return t->opts.idle_other_ns;
}

static void lru_unlink(p2n_table *t, flow *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        t->head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        t->tail = f->prev;
    f->prev = f->next = NULL;
}

static void lru_push_head(p2n_table *t, flow *f)
{
    f->prev = NULL;
    f->next = t->head;
    if (t->head)
        t->head->prev = f;
    t->head = f;
    if (!t->tail)
        t->tail = f;
}

static int emit(p2n_table *t, flow *f, uint64_t *reason, lpz_error *err)
{
    (*reason)++;
    return p2n_records_push(t->out, &f->rec, err);
}

/* Removes f from the table (after its record was emitted). */
static void release(p2n_table *t, flow *f)
{
    flow **pp = &t->buckets[f->hash & t->mask];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    lru_unlink(t, f);
    f->hnext = t->free_list;
    t->free_list = f;
    t->live--;
}

static flow *alloc_flow(p2n_table *t, lpz_error *err)
{
    if (!t->free_list) {
        slab *s = malloc(sizeof *s);
        if (!s) {
            lpz_error_set(err, LPZ_ENOMEM, "out of memory for %zu more flows", (size_t)FLOW_SLAB);
            return NULL;
        }
        s->next = t->slabs;
        t->slabs = s;
        for (size_t i = 0; i < FLOW_SLAB; i++) {
            s->flows[i].hnext = t->free_list;
            t->free_list = &s->flows[i];
        }
    }
    flow *f = t->free_list;
    t->free_list = f->hnext;
    return f;
}

static int server_port(const p2n_table *t, uint16_t port)
{
    return (t->server_port[port / 8] >> (port % 8)) & 1;
}

/* 1 when the receiver of p, the first packet of a TCP record, is the
 * record's source: p is a SYN+ACK, or, without a SYN, p comes from the
 * server's port (see the file comment). */
static int tcp_receiver_is_source(const p2n_table *t, const p2n_packet *p)
{
    if (p->proto != 6 || !p->has_ports)
        return 0;
    if (p->tcp_flags & 0x02)
        return (p->tcp_flags & 0x10) != 0;
    int s = server_port(t, p->sport), d = server_port(t, p->dport);
    return s && (!d || p->sport < p->dport);
}

/* Starts a new record on f with p (sent at ts) as its first packet; the
 * packet's sender becomes the source, or its receiver (TCP, see above). */
static void start_record(const p2n_table *t, flow *f, const p2n_packet *p, int is_reply, int64_t ts)
{
    memset(&f->rec, 0, sizeof f->rec);
    f->rec.start_ns = f->rec.last_ns = ts;
    int rev = tcp_receiver_is_source(t, p);
    memcpy(f->rec.saddr, rev ? p->dst : p->src, 16);
    memcpy(f->rec.daddr, rev ? p->src : p->dst, 16);
    f->rec.sport = !p->has_ports ? 0 : rev ? p->dport : p->sport;
    f->rec.dport = !p->has_ports ? 0 : rev ? p->sport : p->dport;
    f->rec.proto = p->proto;
    f->rec.ipver = p->ipver;
    f->first_reply = (uint8_t)is_reply;
    f->fin_mask = 0;
}

/* Restarts the counts of f at ts, keeping its source (status records). */
static void restart_counts(flow *f, int64_t ts)
{
    f->rec.start_ns = f->rec.last_ns = ts;
    f->rec.spkts = f->rec.dpkts = f->rec.sbytes = f->rec.dbytes = 0;
    f->rec.tcp_flags = 0;
}

/* How long after its last packet a flow split by the idle timeout keeps
 * its source: one status interval past the timeout, as argus does (its
 * flow state lives until the report after the timeout; at argus' -S 5,
 * a UDP flow back after 35 s keeps its source, after 45 s it does not). */
static int64_t keep_window(const p2n_table *t, const flow *f)
{
    return f->timeout_ns + t->opts.status_ns;
}

/* An idle split of f by p at ts: the next record keeps the source when p
 * comes within keep_window, otherwise p starts it as a new flow would. */
static void idle_restart(const p2n_table *t, flow *f, const p2n_packet *p, int is_reply, int64_t ts)
{
    if (ts - f->rec.last_ns <= keep_window(t, f)) {
        restart_counts(f, ts);
        f->fin_mask = 0;
    } else {
        start_record(t, f, p, is_reply, ts);
    }
}

static int is_forward(const flow *f, const p2n_packet *p, int is_reply)
{
    if (memcmp(p->src, f->rec.saddr, 16) != 0)
        return 0;
    if (memcmp(p->src, p->dst, 16) != 0)
        return 1;
    /* same host on both ends: ports (or the ICMP reply bit) decide */
    if (is_icmp(p->proto))
        return is_reply == f->first_reply;
    return !p->has_ports || p->sport == f->rec.sport;
}

static void account(flow *f, const p2n_packet *p, int is_reply, int64_t ts)
{
    int fwd = is_forward(f, p, is_reply);
    if (fwd) {
        f->rec.spkts++;
        f->rec.sbytes += p->wire_len;
    } else {
        f->rec.dpkts++;
        f->rec.dbytes += p->wire_len;
    }
    if (ts > f->rec.last_ns)
        f->rec.last_ns = ts;
    if (ts < f->rec.start_ns) /* slightly out-of-order capture */
        f->rec.start_ns = ts;
    if (p->proto == 6) {
        f->rec.tcp_flags |= p->tcp_flags;
        if (p->tcp_flags & 0x01)
            f->fin_mask |= fwd ? 1 : 2;
        if (p->tcp_flags & 0x04)
            f->fin_mask |= 4;
    }
}

static uint64_t frag_slot(const p2n_packet *p)
{
    uint64_t w[4];
    memcpy(w, p->src, 16);
    memcpy(w + 2, p->dst, 16);
    uint64_t h = mix64(w[0] ^ mix64(w[1] ^ mix64(w[2] ^ mix64(w[3]))));
    return mix64(h ^ ((uint64_t)p->frag_id << 8) ^ p->proto) & (FRAG_CACHE - 1);
}

static int frag_match(const frag_entry *e, const p2n_packet *p)
{
    return e->valid && e->id == p->frag_id && e->proto == p->proto && e->ipver == p->ipver &&
           memcmp(e->src, p->src, 16) == 0 && memcmp(e->dst, p->dst, 16) == 0;
}

static int same_datagram(const p2n_packet *a, const p2n_packet *b)
{
    return a->frag_id == b->frag_id && a->proto == b->proto && a->ipver == b->ipver &&
           memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0;
}

/* Drops held fragments older than the reassembly time (orphans), and the
 * slots of those already attached, from the front of the ring. */
static void held_expire(p2n_table *t, int64_t now)
{
    while (t->held_n > 0) {
        frag_held *h = &t->held[t->held_head];
        if (h->valid && now - h->ts <= FRAG_HOLD_NS)
            break;
        if (h->valid) {
            h->valid = 0;
            t->held_valid--;
            t->stats.frag_orphans++;
        }
        t->held_head = (t->held_head + 1) % FRAG_PENDING;
        t->held_n--;
    }
}

/* Holds a later fragment whose first fragment has not come yet; when the
 * ring is full the oldest one becomes an orphan. */
static void held_add(p2n_table *t, int64_t ts, const p2n_packet *p)
{
    if (t->held_n == FRAG_PENDING) {
        frag_held *old = &t->held[t->held_head];
        if (old->valid) {
            t->held_valid--;
            t->stats.frag_orphans++;
        }
        t->held_head = (t->held_head + 1) % FRAG_PENDING;
        t->held_n--;
    }
    frag_held *h = &t->held[(t->held_head + t->held_n) % FRAG_PENDING];
    h->pkt = *p;
    h->ts = ts;
    h->valid = 1;
    t->held_n++;
    t->held_valid++;
}

static int table_add(p2n_table *t, int64_t ts, const p2n_packet *p, lpz_error *err);

/* A later fragment as its flow sees it: the ports (ICMP: type, code and
 * identifier) of its datagram's first fragment, no TCP flags of its own. */
static p2n_packet with_first_ports(const p2n_packet *later, const frag_entry *e)
{
    p2n_packet p = *later;
    p.sport = e->sport;
    p.dport = e->dport;
    p.icmp_id = e->icmp_id;
    p.has_ports = 1;
    p.tcp_flags = 0;
    return p;
}

/* The first fragment first (with its ports, as e) has arrived: the held
 * later fragments of its datagram join its flow, each at its own time. */
static int held_release(p2n_table *t, const p2n_packet *first, const frag_entry *e, lpz_error *err)
{
    for (size_t i = 0; i < t->held_n && t->held_valid > 0; i++) {
        frag_held *h = &t->held[(t->held_head + i) % FRAG_PENDING];
        if (!h->valid || !same_datagram(&h->pkt, first))
            continue;
        h->valid = 0;
        t->held_valid--;
        p2n_packet p = with_first_ports(&h->pkt, e);
        t->stats.frag_attached++;
        int rc = table_add(t, h->ts, &p, err);
        if (rc)
            return rc;
    }
    return LPZ_OK;
}

int p2n_table_packet(p2n_table *t, int64_t ts, const p2n_packet *pkt, lpz_error *err)
{
    if (t->held_n > 0)
        held_expire(t, t->have_now && t->now > ts ? t->now : ts);
    if (pkt->frag_later && keyed_by_ports(pkt->proto)) {
        frag_entry *e = &t->frags[frag_slot(pkt)];
        if (!frag_match(e, pkt)) {
            held_add(t, ts, pkt);
            return LPZ_OK;
        }
        p2n_packet p = with_first_ports(pkt, e);
        t->stats.frag_attached++;
        return table_add(t, ts, &p, err);
    }
    if (!(pkt->frag_first && pkt->has_ports))
        return table_add(t, ts, pkt, err);
    frag_entry *e = &t->frags[frag_slot(pkt)];
    memcpy(e->src, pkt->src, 16);
    memcpy(e->dst, pkt->dst, 16);
    e->id = pkt->frag_id;
    e->sport = pkt->sport;
    e->dport = pkt->dport;
    e->icmp_id = pkt->icmp_id;
    e->proto = pkt->proto;
    e->ipver = pkt->ipver;
    e->valid = 1;
    int rc = table_add(t, ts, pkt, err);
    if (!rc && t->held_valid > 0)
        rc = held_release(t, pkt, e, err);
    return rc;
}

/* f leaves the table idle: its source is kept for a record that starts
 * within keep_window (the same rule as idle_restart, so records do not
 * depend on whether other traffic swept f out first). */
static void dir_remember(p2n_table *t, const flow *f)
{
    dir_entry *d = &t->dirs[f->hash & (DIR_CACHE - 1)];
    d->key = f->key;
    d->last_ns = f->rec.last_ns;
    d->window_ns = keep_window(t, f);
    memcpy(d->saddr, f->rec.saddr, 16);
    memcpy(d->daddr, f->rec.daddr, 16);
    d->sport = f->rec.sport;
    d->dport = f->rec.dport;
    d->first_reply = f->first_reply;
    d->valid = 1;
}

/* A new flow f (first packet at ts) that left the table idle shortly
 * before gets its earlier source back. */
static void dir_recall(p2n_table *t, flow *f, int64_t ts)
{
    dir_entry *d = &t->dirs[f->hash & (DIR_CACHE - 1)];
    if (!d->valid || memcmp(&d->key, &f->key, sizeof d->key) != 0)
        return;
    d->valid = 0;
    if (ts - d->last_ns > d->window_ns)
        return;
    memcpy(f->rec.saddr, d->saddr, 16);
    memcpy(f->rec.daddr, d->daddr, 16);
    f->rec.sport = d->sport;
    f->rec.dport = d->dport;
    f->first_reply = d->first_reply;
}

/* Accounts one packet that has its flow key (ports of a later fragment
 * filled in). */
static int table_add(p2n_table *t, int64_t ts, const p2n_packet *p, lpz_error *err)
{
    if (!t->have_now || ts > t->now) {
        t->now = ts;
        t->have_now = 1;
    }
    /* Flows idle past their timeout leave the table while the clock moves;
     * the same rule applied on packet arrival below makes the records
     * independent of when this sweep happens. */
    while (t->tail && t->tail->timeout_ns > 0 && t->now - t->tail->rec.last_ns > t->tail->timeout_ns) {
        flow *f = t->tail;
        int rc = emit(t, f, &t->stats.rec_idle, err);
        dir_remember(t, f);
        release(t, f);
        if (rc)
            return rc;
    }

    flow_key k;
    int is_reply;
    make_key(p, &k, &is_reply);
    uint64_t h = key_hash(&k);
    flow *f = t->buckets[h & t->mask];
    while (f && (f->hash != h || memcmp(&f->key, &k, sizeof k) != 0))
        f = f->hnext;

    if (f) {
        int rc = LPZ_OK;
        if (f->timeout_ns > 0 && ts - f->rec.last_ns > f->timeout_ns) {
            rc = emit(t, f, &t->stats.rec_idle, err);
            idle_restart(t, f, p, is_reply, ts);
            t->stats.flows++;
        } else if (p->proto == 6 && (f->fin_mask == 3 || (f->fin_mask & 4)) && (p->tcp_flags & 0x12) == 0x02) {
            rc = emit(t, f, &t->stats.rec_tcp_reuse, err);
            start_record(t, f, p, is_reply, ts);
            t->stats.flows++;
        } else if (t->opts.status_ns > 0 && ts - f->rec.start_ns >= t->opts.status_ns) {
            rc = emit(t, f, &t->stats.rec_status, err);
            restart_counts(f, ts);
        }
        if (rc)
            return rc;
        account(f, p, is_reply, ts);
        if (t->head != f) {
            lru_unlink(t, f);
            lru_push_head(t, f);
        }
        return LPZ_OK;
    }

    if (t->live >= t->opts.max_flows) {
        flow *old = t->tail;
        int rc = emit(t, old, &t->stats.rec_evicted, err);
        release(t, old);
        if (rc)
            return rc;
    }
    f = alloc_flow(t, err);
    if (!f)
        return LPZ_ENOMEM;
    f->key = k;
    f->hash = h;
    f->timeout_ns = timeout_for(t, p->proto);
    f->hnext = t->buckets[h & t->mask];
    t->buckets[h & t->mask] = f;
    lru_push_head(t, f);
    t->live++;
    t->stats.flows++;
    if (t->live > t->stats.max_live)
        t->stats.max_live = t->live;
    start_record(t, f, p, is_reply, ts);
    dir_recall(t, f, ts);
    account(f, p, is_reply, ts);
    return LPZ_OK;
}

int p2n_table_flush(p2n_table *t, lpz_error *err)
{
    /* later fragments still waiting for their first fragment */
    t->stats.frag_orphans += t->held_valid;
    t->held_valid = t->held_n = t->held_head = 0;
    while (t->tail) {
        flow *f = t->tail;
        int rc = emit(t, f, &t->stats.rec_end, err);
        release(t, f);
        if (rc)
            return rc;
    }
    return LPZ_OK;
}
