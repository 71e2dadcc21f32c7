/* tools/pcap2npy/main.c - the lpz-pcap2npy command line: options, the
 * run (read -> flows -> records -> sequences -> files) and the summary.
 * The only file of the tool that prints or exits.
 * Exit status: 0 done, 1 the input or an output failed, 2 bad usage.
 */
#include "p2n.h"
#include "base/file.h"
#include "config/scalar.h"

#include <lpz/log.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG "lpz-pcap2npy"
#define DEFAULT_FIELDS "gap,dur,pkts,bytes"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: " PROG " --pcap FILE [options]\n"
            "       " PROG " --from-argus FILE.csv [options]\n"
            "\n"
            "Turns a packet capture (pcap or pcapng; \"-\" = stdin) into argus-like bidirectional\n"
            "flow records, sorts them by start time and writes float32 sequences of shape\n"
            "(sequences, length, fields) to a NumPy .npy, plus OUT.npy.json naming fields and units.\n"
            "\n"
            "input (exactly one):\n"
            "  --pcap FILE              capture read through libpcap (Ethernet/VLAN, Linux SLL/SLL2,\n"
            "                           raw IP, BSD null/loopback)\n"
            "  --from-argus FILE        CSV printed by `ra -u -n -c , -s stime dur pkts bytes ...`\n"
            "                           (first line names the fields; any order)\n"
            "output:\n"
            "  -o, --output OUT.npy     the array (default: the input path with .npy)\n"
            "  --csv OUT.csv            also write every record (sorted) as CSV\n"
            "                           (OUT.npy, OUT.npy.json and OUT.csv must be files other than\n"
            "                           the input and each other)\n"
            "  --sequence-length N      records per sequence (default 30); the remainder is dropped\n"
            "  --fields LIST            features per record (default " DEFAULT_FIELDS "); known:\n"
            "                           gap dur pkts bytes spkts dpkts sbytes dbytes proto sport\n"
            "                           dport stime\n"
            "flows (pcap input):\n"
            "  --filter BPF             keep only packets matching a tcpdump filter expression\n"
            "  --idle-timeout S         end a flow after S seconds without packets, for every\n"
            "                           protocol; 0 = never (default: argus' TCP 60, ICMP 5, other 30)\n"
            "  --status-interval S      emit a record every S seconds of an active flow; 0 = off\n"
            "                           (default 60, argus -S / ARGUS_FLOW_STATUS_INTERVAL)\n"
            "  --max-flows N            live flows kept at once; the least recently active is\n"
            "                           emitted and dropped beyond that (default 262144)\n"
            "  --allow-truncated        use the packets before the cut when the file ends mid-packet\n"
            "other:\n"
            "  -q, --quiet              errors only: no summary, progress or warnings\n"
            "  -v, --verbose            also the flow settings and the records per protocol\n"
            "  -h, --help               this text\n"
            "  --version                print the version\n"
            "\n"
            "To get one record per flow for the whole capture, as the original argus + racluster\n"
            "pipeline did, use --idle-timeout 0 --status-interval 0.\n"
            "Exit status: 0 success, 1 failure, 2 bad usage.\n");
}

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see " PROG " --help)\n");
    va_end(ap);
    return 2;
}

static void print_error(const lpz_error *err)
{
    char buf[2200];
    fprintf(stderr, PROG ": error: %s\n", lpz_error_format(err, buf, sizeof buf));
}

/* Seconds as a non-negative finite number (fractions allowed). */
static int parse_secs(const char *opt, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    /* times are kept in whole nanoseconds: below 1 ns a positive value
     * would become 0, which means "off", the opposite of what was asked */
    if (end == s || *end || !isfinite(v) || v < 0 || v > 1e9 || (v > 0 && v < 1e-9))
        return usage_error("%s wants 0 (off) or seconds between 1e-9 and 1e9, got \"%s\"", opt, s);
    *out = v;
    return 0;
}

static int parse_count(const char *opt, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return usage_error("%s wants an integer between %lld and %lld, got \"%s\"", opt, lo, hi, s);
    *out = v;
    return 0;
}

/* A file the run reads or writes; messages name it as `what "path"after`. */
typedef struct path_role {
    const char *what, *path, *after;
    int input;
} path_role;

/* Refuses (usage error) when an output is the same file as the input or as
 * another output: writing it would destroy the input, or one output would
 * replace the other. Nothing has been read or written yet. */
static int check_paths(const path_role *p, int n, int default_out)
{
    /* Outputs are written to a temporary file renamed over the path: an
     * existing regular file is replaced, but a folder, FIFO, device or
     * socket there is refused (a rename would turn a device into a regular
     * file; run as root, -o /dev/null would replace /dev/null). */
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (!p[i].input && stat(p[i].path, &st) == 0 && !S_ISREG(st.st_mode))
            return usage_error("%s \"%s\"%s is %s: an output must be a regular file or a new path", p[i].what,
                               p[i].path, p[i].after, lpz_file_kind(st.st_mode));
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (!p2n_same_file(p[i].path, p[j].path))
                continue;
            int in = p[i].input || p[j].input;
            return usage_error("%s \"%s\"%s and %s \"%s\"%s are the same file: %s%s", p[i].what, p[i].path,
                               p[i].after, p[j].what, p[j].path, p[j].after,
                               in ? "writing the output would destroy the input"
                                  : "one output would overwrite the other",
                               in && default_out ? "; give -o OUT.npy" : "");
        }
    return 0;
}

/* Outputs are created in their folder (a temporary file renamed over the
 * path), so the folder must exist and be writable. Checked before the
 * input is read: a mistyped -o fails at once, not after a long capture,
 * and without creating anything. Exit status 1 (an output failed). */
static int check_out_folders(const path_role *p, int n)
{
    for (int i = 0; i < n; i++) {
        if (p[i].input)
            continue;
        const char *slash = strrchr(p[i].path, '/');
        size_t len = !slash ? 1 : slash == p[i].path ? 1 : (size_t)(slash - p[i].path);
        char dir[4096];
        if (len >= sizeof dir) /* the later open names the problem */
            continue;
        snprintf(dir, sizeof dir, "%.*s", (int)len, slash ? p[i].path : ".");
        const char *opt = p[i].what[0] == '-' ? p[i].what : "-o"; /* the sidecar and the default output: -o */
        struct stat st;
        int found = stat(dir, &st) == 0, e = errno;
        lpz_error err;
        lpz_error_clear(&err);
        if (found && !S_ISDIR(st.st_mode)) {
            lpz_error_set(&err, LPZ_EIO, "\"%s\" is %s, not a folder", dir, lpz_file_kind(st.st_mode));
            lpz_error_hint(&err, "give %s a path in a folder", opt);
        } else if (!found && e == ENOTDIR) {
            lpz_error_set(&err, LPZ_EIO, "the folder \"%s\" cannot exist: a part of its path is not a folder", dir);
            lpz_error_hint(&err, "give %s a path in a folder", opt);
        } else if (!found && e == ENOENT) {
            lpz_error_set(&err, LPZ_EIO, "the folder \"%s\" does not exist", dir);
            lpz_error_hint(&err, "create it first, or give %s a path in an existing folder", opt);
        } else if (!found || access(dir, W_OK | X_OK) != 0) {
            lpz_error_set(&err, LPZ_EIO, "cannot write in the folder \"%s\": %s", dir, strerror(found ? errno : e));
            lpz_error_hint(&err, "give %s a path in a folder you can write to", opt);
        } else {
            continue;
        }
        lpz_error_where(&err, "%s \"%s\"%s", p[i].what, p[i].path, p[i].after);
        print_error(&err);
        return 1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A line on stderr every PROGRESS_EVERY seconds of a long read. */
#define PROGRESS_EVERY 5.0
typedef struct progress_state {
    const char *path;
    const p2n_table *table;
    double t0, last;
} progress_state;

static void print_progress(void *user, const p2n_read_stats *st, uint64_t done, uint64_t total)
{
    progress_state *ps = user;
    double t = now_s();
    if (t - ps->last < PROGRESS_EVERY)
        return;
    ps->last = t;
    char share[64] = "";
    if (total > 0)
        snprintf(share, sizeof share, " (%.0f%% of %.1f MB)", 100.0 * (double)done / (double)total, total / 1e6);
    size_t live = p2n_table_live(ps->table);
    fprintf(stderr, PROG ": %s: %llu packet%s read%s, %zu flow%s live, %.0f s\n", ps->path,
            (unsigned long long)st->packets, p2n_plural(st->packets), share, live, p2n_plural(live), t - ps->t0);
}

/* Why a capture gave no flow record at all, as an error. */
static int no_records(const char *path, const char *filter, const p2n_read_stats *rs, const p2n_flow_stats *fs,
                      lpz_error *err)
{
    if (rs->packets == 0) {
        lpz_error_set(err, LPZ_EINVAL, "the capture holds no packets");
        lpz_error_hint(err, "was anything sent on the interface while tcpdump ran? tcpdump -i any captures on "
                            "every interface");
    } else if (rs->filtered == rs->packets) {
        if (rs->packets == 1)
            lpz_error_set(err, LPZ_EINVAL, "--filter \"%s\" did not match the only packet", filter);
        else
            lpz_error_set(err, LPZ_EINVAL, "--filter \"%s\" matched none of the %llu packets", filter,
                          (unsigned long long)rs->packets);
        lpz_error_hint(err, "on VLAN-tagged traffic a filter needs 'vlan and ...' (man pcap-filter); "
                            "tcpdump -r FILE -c 5 -e shows the first packets");
    } else {
        char none[64];
        if (rs->packets == 1)
            snprintf(none, sizeof none, "the only packet makes no flow record");
        else
            snprintf(none, sizeof none, "none of the %llu packets makes a flow record",
                     (unsigned long long)rs->packets);
        lpz_error_set(err, LPZ_EINVAL,
                      "%s: %llu non-IP, %llu truncated, %llu malformed IP, %llu filtered, %llu orphan fragment%s", none,
                      (unsigned long long)rs->non_ip, (unsigned long long)rs->truncated,
                      (unsigned long long)rs->malformed, (unsigned long long)rs->filtered,
                      (unsigned long long)fs->frag_orphans, p2n_plural(fs->frag_orphans));
        char snap[80] = "";
        if (rs->snaplen > 0)
            snprintf(snap, sizeof snap, ", the capture's snapshot length is %d bytes", rs->snaplen);
        /* mostly the other IP version than the link type announces: a file
         * whose header names the wrong link type */
        if (rs->wrong_version * 2 >= rs->packets - rs->filtered)
            lpz_error_hint(err, "%llu packet%s carr%s an IP version other than link type %s announces (IPv4 in a "
                                "LINKTYPE_IPV6 file, version 6 behind ethertype 0x0800, ...): malformed, or the "
                                "file's link type is wrong; editcap -T rawip IN OUT rewrites it as raw IP of "
                                "either version",
                           (unsigned long long)rs->wrong_version, p2n_plural(rs->wrong_version),
                           rs->wrong_version == 1 ? "ies" : "y", rs->linktype_name);
        /* mostly cut short: a capture taken with a small tcpdump -s */
        else if (rs->truncated * 2 >= rs->packets - rs->filtered)
            lpz_error_hint(err, "the packets were captured too short for their IP and TCP/UDP headers%s: capture "
                                "again with tcpdump -s 128 or more, or without -s, whose default keeps whole packets",
                           snap);
        else
            lpz_error_hint(err, "flow records need IPv4 or IPv6 packets with their headers (tcpdump -r FILE -c 5 "
                                "-e shows the first packets)");
    }
    lpz_error_where(err, "%s", path);
    return LPZ_EINVAL;
}

/* -v: the settings that built the records and the records per protocol. */
static void print_details(const p2n_records *recs, const p2n_flow_opts *fo, int from_argus)
{
    if (from_argus)
        fprintf(stderr, PROG ": flows built by argus (--idle-timeout, --status-interval, --max-flows unused)\n");
    else
        fprintf(stderr,
                PROG ": flow settings: idle timeout TCP %g s, ICMP %g s, other %g s (0 = never); status interval "
                     "%g s (0 = off); at most %zu live flows\n",
                fo->idle_tcp_ns * 1e-9, fo->idle_icmp_ns * 1e-9, fo->idle_other_ns * 1e-9, fo->status_ns * 1e-9,
                fo->max_flows);
    size_t tcp = 0, udp = 0, icmp = 0, icmp6 = 0, other = 0, v6 = 0;
    for (size_t i = 0; i < recs->n; i++) {
        uint8_t p = recs->v[i].proto;
        tcp += p == 6, udp += p == 17, icmp += p == 1, icmp6 += p == 58;
        other += p != 6 && p != 17 && p != 1 && p != 58;
        v6 += recs->v[i].ipver == 6;
    }
    fprintf(stderr, PROG ": records by protocol: %zu TCP, %zu UDP, %zu ICMP, %zu ICMPv6, %zu other; %zu IPv6\n",
            tcp, udp, icmp, icmp6, other, v6);
}

/* An option getopt_long refused with '?': a long option unknown (with
 * the closest known one as a suggestion), ambiguous (a prefix of several)
 * or given a value it does not take; or an unknown short option. arg is
 * the argument getopt_long was reading. */
static int bad_option(const char *arg, int opt, const struct option *longopts)
{
    if (strncmp(arg, "--", 2) == 0 && arg[2] && arg[2] != '=') {
        const char *name = arg + 2, *names[32];
        int len = (int)strcspn(name, "=");
        const struct option *exact = NULL, *match = NULL;
        size_t n = 0;
        int prefixes = 0;
        char several[256] = "";
        for (const struct option *o = longopts; o->name && n < sizeof names / sizeof *names; o++) {
            names[n++] = o->name;
            if (strncmp(o->name, name, (size_t)len) != 0)
                continue;
            if ((int)strlen(o->name) == len)
                exact = o;
            match = o, prefixes++;
            size_t used = strlen(several);
            snprintf(several + used, sizeof several - used, "%s--%s", used ? ", " : "", o->name);
        }
        if (exact) /* an exact name wins over the longer names it is a prefix of */
            match = exact, prefixes = 1;
        if (prefixes == 1 && match->has_arg == no_argument && name[len] == '=')
            return usage_error("option --%s takes no value, got \"%s\"", match->name, arg);
        if (opt == 0 && prefixes > 1)
            return usage_error("option --%.*s is ambiguous: it could be %s", len, name, several);
        if (opt == 0) {
            char key[128];
            snprintf(key, sizeof key, "%.*s", len, name);
            int c = lpz_closest(key, names, n);
            if (c >= 0)
                return usage_error("unknown option --%s: did you mean --%s?", key, names[c]);
            return usage_error("unknown option --%s", key);
        }
    }
    if (opt > 0 && opt < 256)
        return usage_error("unknown option -%c", opt);
    return usage_error("unknown option %s", arg);
}

enum {
    O_PCAP = 256,
    O_ARGUS,
    O_CSV,
    O_SEQ,
    O_FIELDS,
    O_FILTER,
    O_IDLE,
    O_STATUS,
    O_MAXFLOWS,
    O_ALLOWTRUNC,
    O_VERSION
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"pcap", required_argument, 0, O_PCAP},
        {"from-argus", required_argument, 0, O_ARGUS},
        {"output", required_argument, 0, 'o'},
        {"csv", required_argument, 0, O_CSV},
        {"sequence-length", required_argument, 0, O_SEQ},
        {"fields", required_argument, 0, O_FIELDS},
        {"filter", required_argument, 0, O_FILTER},
        {"idle-timeout", required_argument, 0, O_IDLE},
        {"status-interval", required_argument, 0, O_STATUS},
        {"max-flows", required_argument, 0, O_MAXFLOWS},
        {"allow-truncated", no_argument, 0, O_ALLOWTRUNC},
        {"quiet", no_argument, 0, 'q'},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, O_VERSION},
        {0, 0, 0, 0},
    };
    const char *pcap_path = NULL, *argus_path = NULL, *out_path = NULL, *csv_path = NULL, *filter = NULL;
    const char *fields_arg = DEFAULT_FIELDS;
    long long seq_len = 30, max_flows = 0;
    double idle = -1, status = -1; /* -1: not given */
    int quiet = 0, verbose = 0, allow_trunc = 0, n_inputs = 0, c;
    p2n_flow_opts fo;
    p2n_flow_opts_default(&fo);

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:qvh", longopts, NULL)) != -1) {
        switch (c) {
        case O_PCAP: pcap_path = optarg, n_inputs++; break;
        case O_ARGUS: argus_path = optarg, n_inputs++; break;
        case 'o': out_path = optarg; break;
        case O_CSV: csv_path = optarg; break;
        case O_FIELDS: fields_arg = optarg; break;
        case O_FILTER: filter = optarg; break;
        case O_SEQ:
            if (parse_count("--sequence-length", optarg, 1, 100000000, &seq_len))
                return 2;
            break;
        case O_MAXFLOWS:
            if (parse_count("--max-flows", optarg, 1, 1LL << 30, &max_flows))
                return 2;
            break;
        case O_IDLE:
            if (parse_secs("--idle-timeout", optarg, &idle))
                return 2;
            break;
        case O_STATUS:
            if (parse_secs("--status-interval", optarg, &status))
                return 2;
            break;
        case O_ALLOWTRUNC: allow_trunc = 1; break;
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case 'h': usage(stdout); return 0;
        case O_VERSION: printf(PROG " %s\n", LPZ_VERSION); return 0;
        case ':': return usage_error("option %s needs a value", argv[optind - 1]);
        default: return bad_option(argv[optind - 1], optopt, longopts);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
    if (n_inputs != 1)
        return usage_error("give exactly one input: --pcap FILE or --from-argus FILE");
    if (argus_path && (filter || idle >= 0 || status >= 0 || max_flows || allow_trunc))
        return usage_error("--filter, --idle-timeout, --status-interval, --max-flows and --allow-truncated apply to "
                           "--pcap only; argus built the flows of --from-argus input: remove the option");
    lpz_log_set_level(quiet ? LPZ_LOG_ERROR : verbose ? LPZ_LOG_DEBUG : LPZ_LOG_INFO);

    p2n_output_opts oo;
    memset(&oo, 0, sizeof oo);
    lpz_error err;
    lpz_error_clear(&err);
    if (p2n_fields_parse(fields_arg, oo.fields, &oo.n_fields, &err)) {
        char buf[2200];
        return usage_error("%s", lpz_error_format(&err, buf, sizeof buf));
    }
    const char *in = pcap_path ? pcap_path : argus_path;
    char out_buf[4096];
    if (!out_path) {
        if (strcmp(in, "-") == 0)
            return usage_error("reading stdin needs -o OUT.npy");
        /* The extension is the last dot's part of the file name, not of a folder's, and a name's leading dot
         * starts no extension: .capture gives .capture.npy, not .npy */
        const char *slash = strrchr(in, '/');
        const char *base = slash ? slash + 1 : in;
        const char *dot = strrchr(base, '.');
        size_t stem = dot && dot > base ? (size_t)(dot - in) : strlen(in);
        if (stem + 5 > sizeof out_buf)
            return usage_error("input path too long");
        snprintf(out_buf, sizeof out_buf, "%.*s.npy", (int)stem, in);
        out_path = out_buf;
    }
    /* Before anything is read or written: every output is a file of its own
     * (an output over the input would destroy it, e.g. -o cap.pcap or a
     * capture named cap.npy without -o). */
    char side[4096];
    if (snprintf(side, sizeof side, "%s.json", out_path) >= (int)sizeof side)
        return usage_error("output path too long");
    int default_out = out_path == out_buf;
    path_role files[4];
    int n_files = 0;
    if (strcmp(in, "-") != 0)
        files[n_files++] = (path_role){pcap_path ? "--pcap" : "--from-argus", in, "", 1};
    if (default_out)
        files[n_files++] = (path_role){"the default output", out_path, " (the input path with .npy)", 0};
    else
        files[n_files++] = (path_role){"-o", out_path, "", 0};
    files[n_files++] = (path_role){"the sidecar", side, default_out ? " of the default output" : " of -o", 0};
    if (csv_path)
        files[n_files++] = (path_role){"--csv", csv_path, "", 0};
    if (check_paths(files, n_files, default_out))
        return 2;
    if (check_out_folders(files, n_files))
        return 1;
    if (idle >= 0)
        fo.idle_tcp_ns = fo.idle_icmp_ns = fo.idle_other_ns = (int64_t)llround(idle * 1e9);
    if (status >= 0)
        fo.status_ns = (int64_t)llround(status * 1e9);
    if (max_flows)
        fo.max_flows = (size_t)max_flows;

    double t0 = now_s();
    p2n_records recs = {0};
    p2n_read_stats rs;
    memset(&rs, 0, sizeof rs);
    p2n_flow_stats fs;
    memset(&fs, 0, sizeof fs);
    p2n_argus_stats as;
    memset(&as, 0, sizeof as);
    int rc;
    if (pcap_path) {
        p2n_table *t;
        rc = p2n_table_create(&fo, &recs, &t, &err);
        if (!rc) {
            progress_state ps = {pcap_path, t, t0, t0};
            rc = p2n_read_pcap_progress(pcap_path, filter, allow_trunc, quiet ? NULL : print_progress, &ps, t,
                                        &rs, &err);
            if (!rc)
                rc = p2n_table_flush(t, &err);
            fs = *p2n_table_stats(t);
            p2n_table_destroy(t);
        }
    } else {
        rc = p2n_read_argus_csv(argus_path, &recs, &as, &err);
    }
    double t_read = now_s() - t0;
    if (rc && rs.bad_filter) { /* a command-line mistake, found when libpcap compiled it */
        print_error(&err);
        p2n_records_free(&recs);
        return 2;
    }
    if (!rc && pcap_path && recs.n == 0)
        rc = no_records(pcap_path, filter, &rs, &fs, &err);
    if (!rc && argus_path && recs.n == 0) {
        rc = lpz_error_set(&err, LPZ_EINVAL, "no flow records: the header line and %llu argus management record%s",
                           (unsigned long long)as.skipped_man, p2n_plural(as.skipped_man));
        lpz_error_where(&err, "%s", argus_path);
    }
    if (!rc && argus_path && !quiet) /* a field no column gives is 0 in every record */
        for (int i = 0; i < oo.n_fields; i++)
            if (as.missing_fields & (1u << oo.fields[i]))
                fprintf(stderr, PROG ": warning: %s has no %s column: field %s is 0 in every record (add it to "
                                     "ra -s, e.g. dur pkts bytes spkts dpkts sbytes dbytes proto sport dport)\n",
                        argus_path, p2n_argus_field_columns(oo.fields[i]), p2n_field_info_get(oo.fields[i])->name);
    if (!rc && argus_path && !quiet && as.time_of_day)
        fprintf(stderr,
                PROG ": warning: %s: %llu StartTime value%s without a date (ra without -u prints the time of "
                     "day): read as seconds since midnight, so records that cross midnight are out of order and "
                     "stime is not a date; produce the CSV with ra -u (-c , -u ...)\n",
                argus_path, (unsigned long long)as.time_of_day, p2n_plural(as.time_of_day));
    if (!rc && argus_path && !quiet && as.huge_counts)
        fprintf(stderr,
                PROG ": warning: %s:%ld: %llu count%s of 2^48 or more (e.g. 18446744073709551615, -1 printed "
                     "unsigned): implausible for one record, and float32 in the .npy keeps only about 7 "
                     "significant digits\n",
                argus_path, as.huge_line, (unsigned long long)as.huge_counts, p2n_plural(as.huge_counts));
    if (!rc) {
        p2n_records_sort(&recs);
        oo.npy_path = out_path;
        oo.csv_path = csv_path;
        oo.source = in;
        oo.sequence_length = seq_len;
        oo.idle_tcp_s = fo.idle_tcp_ns * 1e-9;
        oo.idle_icmp_s = fo.idle_icmp_ns * 1e-9;
        oo.idle_other_s = fo.idle_other_ns * 1e-9;
        oo.status_s = fo.status_ns * 1e-9;
        if (argus_path) /* flow building happened in argus */
            oo.idle_tcp_s = oo.idle_icmp_s = oo.idle_other_s = oo.status_s = -1;
        p2n_output_stats os;
        memset(&os, 0, sizeof os);
        rc = p2n_write_outputs(&recs, &oo, &os, &err);
        double elapsed = now_s() - t0;
        if (!quiet) {
            if (pcap_path) {
                uint64_t skipped = rs.truncated + rs.non_ip + rs.malformed + rs.filtered + fs.frag_orphans;
                fprintf(stderr,
                        PROG ": %s: %llu packet%s read (link type %s)%s; %llu skipped: %llu truncated, %llu "
                             "non-IP, %llu malformed IP, %llu filtered, %llu orphan fragment%s "
                             "(%llu later fragment%s joined %s flow)\n",
                        pcap_path, (unsigned long long)rs.packets, p2n_plural(rs.packets), rs.linktype_name,
                        rs.file_truncated ? " [file cut mid-packet]" : "", (unsigned long long)skipped,
                        (unsigned long long)rs.truncated, (unsigned long long)rs.non_ip,
                        (unsigned long long)rs.malformed, (unsigned long long)rs.filtered,
                        (unsigned long long)fs.frag_orphans, p2n_plural(fs.frag_orphans),
                        (unsigned long long)fs.frag_attached, p2n_plural(fs.frag_attached),
                        fs.frag_attached == 1 ? "its" : "their");
                fprintf(stderr,
                        PROG ": %llu flow%s (at most %llu live); %zu record%s: %llu idle, %llu status interval, "
                             "%llu evicted (--max-flows), %llu TCP port reuse, %llu at end of input\n",
                        (unsigned long long)fs.flows, p2n_plural(fs.flows), (unsigned long long)fs.max_live, recs.n,
                        p2n_plural(recs.n), (unsigned long long)fs.rec_idle, (unsigned long long)fs.rec_status,
                        (unsigned long long)fs.rec_evicted, (unsigned long long)fs.rec_tcp_reuse,
                        (unsigned long long)fs.rec_end);
                if (rs.bad_orig_len)
                    fprintf(stderr,
                            PROG ": warning: %llu packet%s had an implausible original length (above %u bytes, "
                                 "e.g. 0xffffffff, or below the captured length): counted with the IP header's "
                                 "total length (or the captured length)\n",
                            (unsigned long long)rs.bad_orig_len, p2n_plural(rs.bad_orig_len), P2N_MAX_ORIG_LEN);
                if (rs.ts_backwards)
                    fprintf(stderr,
                            PROG ": note: %llu packet%s stamped earlier than the one before (at most %.6f s "
                                 "back: a clock step or files merged out of order?); each counts in its flow, "
                                 "as in argus\n",
                            (unsigned long long)rs.ts_backwards, p2n_plural(rs.ts_backwards),
                            rs.ts_back_max_ns * 1e-9);
            } else {
                fprintf(stderr, PROG ": %s: %zu record%s read; %llu argus management record%s skipped\n", argus_path,
                        recs.n, p2n_plural(recs.n), (unsigned long long)as.skipped_man, p2n_plural(as.skipped_man));
                if (as.non_ip)
                    fprintf(stderr,
                            PROG ": %llu non-IP record%s skipped (ARP, or an ethertype as Proto, e.g. \"%s\"; "
                                 "--pcap skips non-IP packets too)\n",
                            (unsigned long long)as.non_ip, p2n_plural(as.non_ip), as.non_ip_proto);
                if (as.unknown_proto)
                    fprintf(stderr, PROG ": %llu record%s with an IP protocol name not known (e.g. \"%s\"): proto "
                                    "255 (run ra with -n for numbers)\n",
                            (unsigned long long)as.unknown_proto, p2n_plural(as.unknown_proto), as.unknown_name);
                if (as.icmp_recoded)
                    fprintf(stderr,
                            PROG ": %llu ICMP record%s: argus' Sport \"0xCCTT\" read as type TT and code CC (sport, "
                                 "dport), as --pcap gives them; the identifier in Dport is dropped\n",
                            (unsigned long long)as.icmp_recoded, p2n_plural(as.icmp_recoded));
            }
            if (verbose)
                print_details(&recs, &fo, argus_path != NULL);
            if (!rc)
                fprintf(stderr,
                        PROG ": %lld sequence%s of %lld x %d written to %s (+ %s.json)%s; %lld record%s left "
                             "over (fewer than one sequence) dropped\n",
                        (long long)os.sequences, p2n_plural((uint64_t)os.sequences), seq_len, oo.n_fields, out_path,
                        out_path, csv_path ? ", all records in the CSV" : "", (long long)os.records_dropped,
                        p2n_plural((uint64_t)os.records_dropped));
            if (pcap_path)
                fprintf(stderr, PROG ": elapsed %.3f s (reading %.3f s), %.0f packets/s\n", elapsed, t_read,
                        t_read > 0 ? rs.packets / t_read : 0.0);
            else
                fprintf(stderr, PROG ": elapsed %.3f s\n", elapsed);
        }
    }
    p2n_records_free(&recs);
    if (rc) {
        print_error(&err);
        return 1;
    }
    return 0;
}
