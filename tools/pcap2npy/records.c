/* tools/pcap2npy/records.c - flow records -> features -> sequences and
 * files: the float32 .npy (sequences, length, features), its JSON sidecar
 * naming fields and units, and the optional CSV of every record.
 *
 * Memory: the record list is 88 bytes per record (p2n_record) and is the
 * only part that grows with the input; the npy is streamed one sequence at
 * a time from a buffer of length x features floats.
 */
#include "p2n.h"

#include "io/fsutil.h"
#include "io/text.h"
#include "io/npy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(p2n_record) == 88, "p2n_record size is documented as 88 bytes");

int p2n_records_push(p2n_records *r, const p2n_record *rec, lpz_error *err)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        p2n_record *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %zu flow records (%zu bytes each)", cap,
                                 sizeof *v);
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = *rec;
    return LPZ_OK;
}

void p2n_records_free(p2n_records *r)
{
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}

static int cmp_record(const void *pa, const void *pb)
{
    const p2n_record *a = pa, *b = pb;
    if (a->start_ns != b->start_ns)
        return a->start_ns < b->start_ns ? -1 : 1;
    if (a->proto != b->proto)
        return a->proto < b->proto ? -1 : 1;
    int c = memcmp(a->saddr, b->saddr, 16);
    if (c)
        return c;
    c = memcmp(a->daddr, b->daddr, 16);
    if (c)
        return c;
    if (a->sport != b->sport)
        return a->sport < b->sport ? -1 : 1;
    if (a->dport != b->dport)
        return a->dport < b->dport ? -1 : 1;
    if (a->last_ns != b->last_ns)
        return a->last_ns < b->last_ns ? -1 : 1;
    return 0;
}

void p2n_records_sort(p2n_records *r)
{
    if (r->n > 1)
        qsort(r->v, r->n, sizeof *r->v, cmp_record);
}

static const p2n_field_info field_infos[P2N_F_COUNT] = {
    [P2N_F_GAP] = {"gap", "s", "time since the previous record's start (0 for the first record)"},
    [P2N_F_DUR] = {"dur", "s", "duration: last packet minus first packet of the record"},
    [P2N_F_PKTS] = {"pkts", "packets", "packets in both directions"},
    [P2N_F_BYTES] = {"bytes", "bytes",
                     "bytes in both directions, as argus counts them: Ethernet header included, the pseudo-header of "
                     "Linux cooked and loopback captures not"},
    [P2N_F_SPKTS] = {"spkts", "packets", "packets from the source (the first sender; TCP: the client)"},
    [P2N_F_DPKTS] = {"dpkts", "packets", "packets from the destination back to the source"},
    [P2N_F_SBYTES] = {"sbytes", "bytes", "bytes from the source"},
    [P2N_F_DBYTES] = {"dbytes", "bytes", "bytes from the destination"},
    [P2N_F_PROTO] = {"proto", "IP protocol number", "6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ..."},
    [P2N_F_SPORT] = {"sport", "port", "source port; ICMP: type"},
    [P2N_F_DPORT] = {"dport", "port", "destination port; ICMP: code"},
    [P2N_F_STIME] = {"stime", "s", "start time relative to the first record's start"},
};

const p2n_field_info *p2n_field_info_get(p2n_field f)
{
    return (unsigned)f < P2N_F_COUNT ? &field_infos[f] : NULL;
}

int p2n_fields_parse(const char *list, p2n_field *fields, int *n, lpz_error *err)
{
    *n = 0;
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        int found = -1;
        for (int f = 0; f < P2N_F_COUNT; f++)
            if (strlen(field_infos[f].name) == len && strncmp(field_infos[f].name, p, len) == 0)
                found = f;
        if (found < 0) {
            char known[256] = "";
            for (int f = 0; f < P2N_F_COUNT; f++) {
                strcat(known, field_infos[f].name);
                if (f + 1 < P2N_F_COUNT)
                    strcat(known, ",");
            }
            lpz_error_set(err, LPZ_EINVAL, "unknown field \"%.*s\" in --fields", (int)len, p);
            lpz_error_hint(err, "known fields: %s", known);
            return LPZ_EINVAL;
        }
        for (int i = 0; i < *n; i++)
            if (fields[i] == (p2n_field)found) {
                lpz_error_set(err, LPZ_EINVAL, "field \"%s\" named twice in --fields", field_infos[found].name);
                lpz_error_hint(err, "name each field once");
                return LPZ_EINVAL;
            }
        if (*n >= P2N_MAX_FIELDS)
            return lpz_error_set(err, LPZ_EINVAL, "more than %d fields in --fields", P2N_MAX_FIELDS);
        fields[(*n)++] = (p2n_field)found;
        if (!end)
            break;
        p = end + 1;
    }
    return LPZ_OK;
}

double p2n_field_value(const p2n_records *r, size_t i, p2n_field f)
{
    const p2n_record *x = &r->v[i];
    switch (f) {
    case P2N_F_GAP: return i == 0 ? 0.0 : (double)(x->start_ns - r->v[i - 1].start_ns) * 1e-9;
    case P2N_F_DUR: return (double)(x->last_ns - x->start_ns) * 1e-9;
    case P2N_F_PKTS: return (double)(x->spkts + x->dpkts);
    case P2N_F_BYTES: return (double)(x->sbytes + x->dbytes);
    case P2N_F_SPKTS: return (double)x->spkts;
    case P2N_F_DPKTS: return (double)x->dpkts;
    case P2N_F_SBYTES: return (double)x->sbytes;
    case P2N_F_DBYTES: return (double)x->dbytes;
    case P2N_F_PROTO: return x->proto;
    case P2N_F_SPORT: return x->sport;
    case P2N_F_DPORT: return x->dport;
    case P2N_F_STIME: return (double)(x->start_ns - r->v[0].start_ns) * 1e-9;
    default: return 0.0;
    }
}

void p2n_addr_format(int ipver, const uint8_t addr[16], char *buf, size_t size)
{
    if (size == 0)
        return;
    buf[0] = '\0';
    if (ipver == 4)
        inet_ntop(AF_INET, addr, buf, (socklen_t)size);
    else if (ipver == 6)
        inet_ntop(AF_INET6, addr, buf, (socklen_t)size);
}

static void fmt_time(char *buf, size_t size, int64_t ns)
{
    /* floor division keeps pre-1970 (or relative, argus HH:MM:SS) times right */
    int64_t s = ns / 1000000000, f = ns % 1000000000;
    if (f < 0) {
        f += 1000000000;
        s--;
    }
    snprintf(buf, size, "%lld.%09lld", (long long)s, (long long)f);
}

int p2n_write_csv(const p2n_records *r, const char *path, lpz_error *err)
{
    lpz_atomic_file f;
    int rc = lpz_atomic_open(&f, path, err);
    if (rc)
        return rc;
    fputs("stime,ltime,dur,gap,proto,saddr,sport,daddr,dport,pkts,bytes,spkts,dpkts,sbytes,dbytes\n", f.fp);
    for (size_t i = 0; i < r->n; i++) {
        const p2n_record *x = &r->v[i];
        char st[40], lt[40], dur[40], gap[40], sa[64], da[64];
        fmt_time(st, sizeof st, x->start_ns);
        fmt_time(lt, sizeof lt, x->last_ns);
        fmt_time(dur, sizeof dur, x->last_ns - x->start_ns);
        fmt_time(gap, sizeof gap, i ? x->start_ns - r->v[i - 1].start_ns : 0);
        p2n_addr_format(x->ipver, x->saddr, sa, sizeof sa);
        p2n_addr_format(x->ipver, x->daddr, da, sizeof da);
        fprintf(f.fp, "%s,%s,%s,%s,%u,%s,%u,%s,%u,%llu,%llu,%llu,%llu,%llu,%llu\n", st, lt, dur, gap, x->proto, sa,
                x->sport, da, x->dport, (unsigned long long)(x->spkts + x->dpkts),
                (unsigned long long)(x->sbytes + x->dbytes), (unsigned long long)x->spkts,
                (unsigned long long)x->dpkts, (unsigned long long)x->sbytes, (unsigned long long)x->dbytes);
    }
    errno = 0;
    if (fflush(f.fp) != 0 || ferror(f.fp)) { /* the reason of the write that failed (a full disk) */
        int e = errno ? errno : EIO;
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "write failed: %s", strerror(e));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}

/* A flow setting in seconds, or null when it does not apply (negative). */
static void put_setting(FILE *fp, double s)
{
    if (s < 0)
        fputs("null", fp);
    else
        fprintf(fp, "%g", s);
}

static int write_sidecar(const char *path, const p2n_output_opts *o, const p2n_output_stats *st, size_t n_records,
                         lpz_error *err)
{
    lpz_atomic_file f;
    int rc = lpz_atomic_open(&f, path, err);
    if (rc)
        return rc;
    FILE *fp = f.fp;
    fprintf(fp, "{\n  \"format\": \"lpz-pcap2npy 1\",\n  \"source\": ");
    lpz_json_put_string(fp, o->source ? o->source : "");
    fprintf(fp, ",\n  \"shape\": [%lld, %lld, %d],\n", (long long)st->sequences, (long long)o->sequence_length,
            o->n_fields);
    fprintf(fp, "  \"dtype\": \"float32\",\n  \"axes\": [\"sequence\", \"record\", \"field\"],\n");
    fprintf(fp, "  \"sequence_length\": %lld,\n  \"records\": %zu,\n  \"records_dropped\": %lld,\n",
            (long long)o->sequence_length, n_records, (long long)st->records_dropped);
    fprintf(fp, "  \"idle_timeout_s\": {\"tcp\": ");
    put_setting(fp, o->idle_tcp_s);
    fprintf(fp, ", \"icmp\": ");
    put_setting(fp, o->idle_icmp_s);
    fprintf(fp, ", \"other\": ");
    put_setting(fp, o->idle_other_s);
    fprintf(fp, "},\n  \"status_interval_s\": ");
    put_setting(fp, o->status_s);
    fprintf(fp, ",\n  \"fields\": [\n");
    for (int i = 0; i < o->n_fields; i++) {
        const p2n_field_info *fi = p2n_field_info_get(o->fields[i]);
        fprintf(fp, "    {\"name\": ");
        lpz_json_put_string(fp, fi->name);
        fprintf(fp, ", \"unit\": ");
        lpz_json_put_string(fp, fi->unit);
        fprintf(fp, ", \"description\": ");
        lpz_json_put_string(fp, fi->description);
        fprintf(fp, "}%s\n", i + 1 < o->n_fields ? "," : "");
    }
    fprintf(fp, "  ]\n}\n");
    errno = 0;
    if (fflush(fp) != 0 || ferror(fp)) { /* the reason of the write that failed (a full disk) */
        int e = errno ? errno : EIO;
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "write failed: %s", strerror(e));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}

int p2n_write_outputs(const p2n_records *r, const p2n_output_opts *o, p2n_output_stats *st, lpz_error *err)
{
    memset(st, 0, sizeof *st);
    int64_t L = o->sequence_length;
    if (L < 1)
        return lpz_error_set(err, LPZ_EINVAL, "sequence length %lld must be at least 1", (long long)L);
    if (o->n_fields < 1 || o->n_fields > P2N_MAX_FIELDS)
        return lpz_error_set(err, LPZ_EINVAL, "%d fields; need 1 to %d", o->n_fields, P2N_MAX_FIELDS);
    if ((int64_t)r->n < L) {
        lpz_error_set(err, LPZ_EINVAL, "sequence length %lld is larger than the %zu flow record%s available",
                      (long long)L, r->n, p2n_plural(r->n));
        if (o->status_s < 0) /* flows built by argus: --status-interval does not apply */
            lpz_error_hint(err, "use a longer capture or a smaller --sequence-length");
        else
            lpz_error_hint(err, "use a longer capture, a smaller --sequence-length, or a shorter --status-interval");
        return LPZ_EINVAL;
    }
    /* The CSV first: it is useful even when writing the array fails. */
    int rc;
    if (o->csv_path && (rc = p2n_write_csv(r, o->csv_path, err)))
        return rc;

    st->sequences = (int64_t)r->n / L;
    st->records_used = st->sequences * L;
    st->records_dropped = (int64_t)r->n - st->records_used;

    int64_t tail[2] = {L, o->n_fields};
    lpz_npy_writer *w;
    if ((rc = lpz_npy_writer_open(o->npy_path, 2, tail, &w, err)))
        return rc;
    float *buf = malloc((size_t)L * (size_t)o->n_fields * sizeof *buf);
    if (!buf) {
        lpz_npy_writer_abort(w);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for one sequence");
    }
    size_t i = 0;
    for (int64_t s = 0; s < st->sequences && !rc; s++) {
        for (int64_t t = 0; t < L; t++, i++)
            for (int f = 0; f < o->n_fields; f++)
                buf[t * o->n_fields + f] = (float)p2n_field_value(r, i, o->fields[f]);
        rc = lpz_npy_writer_append(w, buf, 1, err);
    }
    free(buf);
    if (rc) {
        lpz_npy_writer_abort(w);
        return rc;
    }
    if ((rc = lpz_npy_writer_close(w, err)))
        return rc;

    char side[4096];
    if (snprintf(side, sizeof side, "%s.json", o->npy_path) >= (int)sizeof side)
        return lpz_error_set(err, LPZ_EINVAL, "output path too long");
    return write_sidecar(side, o, st, r->n, err);
}
