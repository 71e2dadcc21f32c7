/* tools/pcap2npy/argus_csv.c - records from the CSV text argus' `ra`
 * prints with `-c ,`, e.g.
 *   ra -u -n -r capture.argus -c , -s stime dur pkts bytes saddr daddr sport dport proto
 * The first line names the columns (StartTime,Dur,TotPkts,...), in any
 * order; unknown columns are ignored; argus management records (proto
 * "man") are skipped. Every data line must have as many columns as the
 * header; a value that does not parse is an error naming the line and the
 * column. A file that is not text (a NUL byte, or a header line with bytes
 * outside printable ASCII: a capture or an argus data file) is an error
 * that says which input it wants.
 */
#include "p2n.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LINE 65536
#define MAX_COLS 256

enum col {
    C_IGNORE,
    C_STIME,
    C_LTIME,
    C_DUR,
    C_PKTS,
    C_BYTES,
    C_SPKTS,
    C_DPKTS,
    C_SBYTES,
    C_DBYTES,
    C_SADDR,
    C_DADDR,
    C_SPORT,
    C_DPORT,
    C_PROTO,
    C_COUNT
};

static const struct {
    const char *name;
    enum col col;
} col_names[] = {
    {"StartTime", C_STIME}, {"stime", C_STIME},   {"LastTime", C_LTIME}, {"ltime", C_LTIME},
    {"Dur", C_DUR},         {"TotPkts", C_PKTS},  {"pkts", C_PKTS},      {"TotBytes", C_BYTES},
    {"bytes", C_BYTES},     {"SrcPkts", C_SPKTS}, {"spkts", C_SPKTS},    {"DstPkts", C_DPKTS},
    {"dpkts", C_DPKTS},     {"SrcBytes", C_SBYTES}, {"sbytes", C_SBYTES}, {"DstBytes", C_DBYTES},
    {"dbytes", C_DBYTES},   {"SrcAddr", C_SADDR}, {"saddr", C_SADDR},    {"DstAddr", C_DADDR},
    {"daddr", C_DADDR},     {"Sport", C_SPORT},   {"Dport", C_DPORT},    {"Proto", C_PROTO},
};

static const char *col_label[C_COUNT] = {"", "StartTime", "LastTime", "Dur", "TotPkts", "TotBytes", "SrcPkts",
                                         "DstPkts", "SrcBytes", "DstBytes", "SrcAddr", "DstAddr", "Sport",
                                         "Dport", "Proto"};

static const struct {
    const char *name;
    int num;
} proto_names[] = {
    {"icmp", 1},  {"igmp", 2},   {"ipnip", 4}, {"tcp", 6},   {"egp", 8},     {"udp", 17},  {"ipv6", 41},
    {"rsvp", 46}, {"gre", 47},   {"esp", 50},  {"ah", 51},   {"ipv6-icmp", 58}, {"icmp6", 58}, {"eigrp", 88},
    {"ospf", 89}, {"pim", 103},  {"vrrp", 112}, {"l2tp", 115}, {"sctp", 132}, {"udplite", 136},
};

/* Strips spaces and one pair of double quotes, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s[n - 1] = '\0';
        s++;
    }
    return s;
}

/* Splits on ',' in place; returns the count (MAX_COLS+1 when too many). */
static int split(char *line, char **cols)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == MAX_COLS)
            return MAX_COLS + 1;
        char *c = strchr(p, ',');
        if (c)
            *c = '\0';
        cols[n++] = trim(p);
        if (!c)
            return n;
        p = c + 1;
    }
}

/* Counts from here up are implausible for one record (256 TB, 2^48
 * packets): more likely -1 or a wrapped value printed unsigned. */
#define HUGE_COUNT (1ULL << 48)

/* A count from 0 to 2^64-1; more does not parse (strtoull would clamp). */
static int parse_u64(const char *s, uint64_t *v)
{
    if (!*s || !isdigit((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return -1;
    *v = x;
    return 0;
}

/* Largest time or duration accepted, in seconds (the year 2096): keeps
 * start + duration inside int64 nanoseconds. */
#define MAX_SECONDS 4000000000LL

/* "[-]S[.F]" -> ns, exactly. */
static int parse_seconds(const char *s, int64_t *ns)
{
    int neg = 0;
    if (*s == '-') {
        neg = 1;
        s++;
    }
    if (!isdigit((unsigned char)*s))
        return -1;
    int64_t sec = 0;
    while (isdigit((unsigned char)*s)) {
        sec = sec * 10 + (*s++ - '0');
        if (sec > MAX_SECONDS)
            return -1;
    }
    int64_t frac = 0;
    int digits = 0;
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            if (digits < 9) {
                frac = frac * 10 + (*s - '0');
                digits++;
            }
            s++;
        }
    }
    if (*s)
        return -1;
    while (digits++ < 9)
        frac *= 10;
    *ns = (sec * 1000000000 + frac) * (neg ? -1 : 1);
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Epoch seconds, "HH:MM:SS[.f]" or "YYYY/MM/DD HH:MM:SS[.f]" (also with '-'
 * in the date) -> ns. */
static int parse_time(const char *s, int64_t *ns)
{
    if (!strchr(s, ':'))
        return parse_seconds(s, ns);
    int64_t day = 0;
    const char *t = s;
    const char *sp = strchr(s, ' ');
    if (sp) {
        int y, mo, d, used = 0;
        if (sscanf(s, "%4d%*1[/-]%2d%*1[/-]%2d%n", &y, &mo, &d, &used) != 3 || s + used != sp || mo < 1 ||
            mo > 12 || d < 1 || d > 31 || y < 1900 || y > 2095)
            return -1;
        day = days_from_civil(y, (unsigned)mo, (unsigned)d);
        t = sp + 1;
    }
    int h, m, used = 0;
    if (sscanf(t, "%2d:%2d:%n", &h, &m, &used) != 2 || used == 0 || h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    int64_t sec;
    if (t[used] == '-' || parse_seconds(t + used, &sec) || sec >= 61000000000LL)
        return -1;
    *ns = (day * 86400 + h * 3600 + m * 60) * 1000000000 + sec;
    return 0;
}

static int parse_port(const char *s, uint16_t *v)
{
    if (!*s) {
        *v = 0;
        return 0;
    }
    char *end;
    unsigned long x;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        x = strtoul(s + 2, &end, 16);
    else if (isdigit((unsigned char)*s))
        x = strtoul(s, &end, 10);
    else
        return -1;
    if (*end || x > 65535)
        return -1;
    *v = (uint16_t)x;
    return 0;
}

/* -1: management record; -2: unknown name; -3: not IP (ARP, an
 * ethertype above 255); else the number. */
static int parse_proto(const char *s)
{
    if (strcasecmp(s, "man") == 0)
        return -1;
    if (strcasecmp(s, "arp") == 0 || strcasecmp(s, "rarp") == 0)
        return -3;
    uint64_t n;
    if (parse_u64(s, &n) == 0)
        return n <= 255 ? (int)n : -3;
    for (size_t i = 0; i < sizeof proto_names / sizeof proto_names[0]; i++)
        if (strcasecmp(s, proto_names[i].name) == 0)
            return proto_names[i].num;
    return -2;
}

const char *p2n_argus_field_columns(p2n_field f)
{
    switch (f) {
    case P2N_F_DUR: return "Dur or LastTime";
    case P2N_F_PKTS: return "TotPkts, SrcPkts or DstPkts";
    case P2N_F_BYTES: return "TotBytes, SrcBytes or DstBytes";
    case P2N_F_SPKTS: return "SrcPkts or TotPkts";
    case P2N_F_DPKTS: return "DstPkts, or TotPkts and SrcPkts";
    case P2N_F_SBYTES: return "SrcBytes or TotBytes";
    case P2N_F_DBYTES: return "DstBytes, or TotBytes and SrcBytes";
    case P2N_F_PROTO: return "Proto";
    case P2N_F_SPORT: return "Sport";
    case P2N_F_DPORT: return "Dport";
    default: return NULL;
    }
}

/* The fields no column of the header gives (0 in every record). */
static uint32_t missing_fields(const int *have)
{
    uint32_t m = 0;
#define MISSING(f, cond) m |= (cond) ? 1u << (f) : 0u
    MISSING(P2N_F_DUR, !have[C_DUR] && !have[C_LTIME]);
    MISSING(P2N_F_PKTS, !have[C_PKTS] && !have[C_SPKTS] && !have[C_DPKTS]);
    MISSING(P2N_F_BYTES, !have[C_BYTES] && !have[C_SBYTES] && !have[C_DBYTES]);
    MISSING(P2N_F_SPKTS, !have[C_SPKTS] && !have[C_PKTS]);
    MISSING(P2N_F_DPKTS, !have[C_DPKTS] && !(have[C_PKTS] && have[C_SPKTS]));
    MISSING(P2N_F_SBYTES, !have[C_SBYTES] && !have[C_BYTES]);
    MISSING(P2N_F_DBYTES, !have[C_DBYTES] && !(have[C_BYTES] && have[C_SBYTES]));
    MISSING(P2N_F_PROTO, !have[C_PROTO]);
    MISSING(P2N_F_SPORT, !have[C_SPORT]);
    MISSING(P2N_F_DPORT, !have[C_DPORT]);
#undef MISSING
    return m;
}

/* One direction's count: its own column; else the total minus the other
 * direction; else (neither direction given) the total, all to the source. */
static uint64_t direction_count(const int *have, const uint64_t *v, enum col own, enum col other, enum col total,
                                int is_source)
{
    if (have[own])
        return v[own];
    uint64_t tot = v[total];
    if (have[other])
        return tot > v[other] ? tot - v[other] : 0;
    return is_source ? tot : 0;
}

/* "line N is not text" when s holds a control byte or one above 0x7e. */
static int not_text(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') || *p > 0x7e)
            return *p;
    return 0;
}

static int parse_addr(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, s, out) == 1)
        return 4;
    if (inet_pton(AF_INET6, s, out) == 1)
        return 6;
    return 0; /* MAC addresses (ARP flows), empty: no IP address */
}

int p2n_read_argus_stream(FILE *fp, const char *name, p2n_records *out, p2n_argus_stats *st, lpz_error *err)
{
    memset(st, 0, sizeof *st);
    char *line = malloc(MAX_LINE + 2);
    char **cols = malloc((MAX_COLS + 1) * sizeof *cols);
    if (!line || !cols) {
        free(line);
        free(cols);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    enum col map[MAX_COLS];
    int ncols = 0, have[C_COUNT] = {0};
    long lineno = 0;
    int rc = LPZ_OK;

    while (fgets(line, MAX_LINE + 2, fp)) {
        lineno++;
        size_t len = strlen(line);
        if (len > MAX_LINE) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "line longer than %d bytes", MAX_LINE);
            break;
        }
        /* A line that stops short of its newline before the end of the
         * input holds a NUL byte; a header with bytes that no ra header
         * has is binary too (pcap, pcapng, argus data). */
        int bad_byte = (len == 0 || line[len - 1] != '\n') && !feof(fp) ? -1 : 0;
        char *text = line;
        if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 byte order mark */
            text += 3;
        if (!bad_byte && ncols == 0)
            bad_byte = not_text(text);
        if (bad_byte) {
            if (bad_byte < 0)
                rc = lpz_error_set(err, LPZ_EFORMAT, "not a text file (a NUL byte)");
            else
                rc = lpz_error_set(err, LPZ_EFORMAT, "not a text file (byte 0x%02x in the header line)", bad_byte);
            lpz_error_hint(err, "--from-argus reads the CSV text ra prints; a packet capture (pcap, pcapng) goes "
                                "to --pcap, an argus data file through ra first: ra -u -n -r FILE.argus -c , -s "
                                "stime dur pkts bytes saddr daddr sport dport proto > flows.csv");
            break;
        }
        char *s = trim(text);
        if (!*s)
            continue;
        int n = split(s, cols);
        if (n > MAX_COLS) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "more than %d columns", MAX_COLS);
            break;
        }
        if (ncols == 0) { /* the header */
            for (int i = 0; i < n; i++) {
                map[i] = C_IGNORE;
                for (size_t j = 0; j < sizeof col_names / sizeof col_names[0]; j++)
                    if (strcasecmp(cols[i], col_names[j].name) == 0)
                        map[i] = col_names[j].col;
                if (map[i] != C_IGNORE && have[map[i]]) {
                    rc = lpz_error_set(err, LPZ_EFORMAT, "column %s appears twice", cols[i]);
                    break;
                }
                have[map[i]] = 1;
            }
            if (rc)
                break;
            if (!have[C_STIME]) {
                rc = lpz_error_set(err, LPZ_EFORMAT, "the header line has no StartTime column");
                lpz_error_hint(err, "the first line must name the fields: run ra with -c , -s stime dur pkts "
                                    "bytes ... (and without -L-1)");
                break;
            }
            ncols = n;
            st->missing_fields = missing_fields(have);
            continue;
        }
        if (n != ncols) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "%d column%s where the header has %d", n, p2n_plural((uint64_t)n),
                               ncols);
            break;
        }
        int64_t stime = 0, ltime = 0, dur = 0;
        uint64_t v[C_COUNT] = {0};
        uint16_t sport = 0, dport = 0;
        int proto = 0, sver = 0, dver = 0, mac = 0, sport_hex = 0, time_of_day = 0;
        const char *proto_text = "";
        p2n_record rec;
        memset(&rec, 0, sizeof rec);
        int bad = -1;
        for (int i = 0; i < n && bad < 0; i++) {
            const char *c = cols[i];
            switch (map[i]) {
            case C_IGNORE: break;
            case C_STIME:
                bad = parse_time(c, &stime) ? i : -1;
                time_of_day = strchr(c, ':') && !strchr(c, ' ');
                break;
            case C_LTIME: bad = parse_time(c, &ltime) ? i : -1; break;
            case C_DUR: bad = (parse_seconds(c, &dur) || dur < 0) ? i : -1; break;
            case C_SADDR:
                sver = parse_addr(c, rec.saddr);
                mac |= !sver && strchr(c, ':') != NULL; /* an ARP or ethertype record's MAC address */
                break;
            case C_DADDR: dver = parse_addr(c, rec.daddr); break;
            case C_SPORT:
                bad = parse_port(c, &sport) ? i : -1;
                sport_hex = c[0] == '0' && (c[1] == 'x' || c[1] == 'X');
                break;
            case C_DPORT: bad = parse_port(c, &dport) ? i : -1; break;
            case C_PROTO:
                proto = parse_proto(c);
                proto_text = c;
                break;
            default: bad = parse_u64(c, &v[map[i]]) ? i : -1; break;
            }
        }
        if (bad >= 0) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "bad %s value \"%s\"", col_label[map[bad]], cols[bad]);
            if (map[bad] == C_SPORT || map[bad] == C_DPORT)
                lpz_error_hint(err, "run ra with -n so ports are printed as numbers");
            else if (map[bad] == C_STIME || map[bad] == C_LTIME)
                lpz_error_hint(err, "run ra with -u for epoch seconds");
            else if (map[bad] >= C_PKTS && map[bad] <= C_DBYTES)
                lpz_error_hint(err, "counts are whole numbers from 0 to 18446744073709551615 (2^64-1)");
            break;
        }
        if (proto == -1) {
            st->skipped_man++;
            continue;
        }
        if (proto == -3 || (mac && proto != 255)) {
            if (!st->non_ip++)
                snprintf(st->non_ip_proto, sizeof st->non_ip_proto, "%s", proto_text);
            continue;
        }
        if (proto == -2) {
            if (!st->unknown_proto++)
                snprintf(st->unknown_name, sizeof st->unknown_name, "%s", proto_text);
            proto = 255;
        }
        if (time_of_day)
            st->time_of_day++;
        for (int c = C_PKTS; c <= C_DBYTES; c++)
            if (v[c] >= HUGE_COUNT && !st->huge_counts++)
                st->huge_line = lineno;
        /* IPv4 ICMP: argus packs type and code into Sport as the two bytes
         * (type, code) read little-endian ("0x0303": unreachable, port;
         * echo's code is not kept) and puts the identifier, byte-swapped,
         * in Dport; --pcap gives type and code */
        if (proto == 1 && sport_hex) {
            dport = (uint16_t)(sport >> 8);
            sport = (uint16_t)(sport & 0xff);
            st->icmp_recoded++;
        }
        st->lines++;
        rec.start_ns = stime;
        if (have[C_DUR])
            rec.last_ns = stime + dur;
        else if (have[C_LTIME] && ltime > stime)
            rec.last_ns = ltime;
        else
            rec.last_ns = stime;
        rec.spkts = direction_count(have, v, C_SPKTS, C_DPKTS, C_PKTS, 1);
        rec.dpkts = direction_count(have, v, C_DPKTS, C_SPKTS, C_PKTS, 0);
        rec.sbytes = direction_count(have, v, C_SBYTES, C_DBYTES, C_BYTES, 1);
        rec.dbytes = direction_count(have, v, C_DBYTES, C_SBYTES, C_BYTES, 0);
        rec.sport = sport;
        rec.dport = dport;
        rec.proto = (uint8_t)proto;
        rec.ipver = (uint8_t)(sver && sver == dver ? sver : 0);
        if ((rc = p2n_records_push(out, &rec, err)))
            break;
    }
    if (rc) {
        lpz_error_where(err, "%s:%ld", name, lineno);
    } else if (ferror(fp)) {
        rc = lpz_error_set(err, LPZ_EIO, "read error");
        lpz_error_where(err, "%s", name);
    } else if (ncols == 0) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "no header line (empty input)");
        lpz_error_hint(err, "produce the file with: ra -u -n -r FILE.argus -c , -s stime dur pkts bytes saddr "
                            "daddr sport dport proto");
        lpz_error_where(err, "%s", name);
    }
    free(line);
    free(cols);
    return rc;
}

int p2n_read_argus_csv(const char *path, p2n_records *out, p2n_argus_stats *st, lpz_error *err)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!fp) {
        memset(st, 0, sizeof *st);
        lpz_error_set(err, LPZ_EIO, "cannot open: %s", strerror(errno));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    int rc = p2n_read_argus_stream(fp, path, out, st, err);
    if (fp != stdin)
        fclose(fp);
    return rc;
}
