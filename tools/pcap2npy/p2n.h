/* tools/pcap2npy/p2n.h - the insides of lpz-pcap2npy, as a small library
 * that the tool and its tests share.
 *
 * Owns: decoding captured frames down to a flow key (decode.c), the
 * bidirectional flow table with idle timeout, status interval and a cap on
 * live flows (flows.c), reading pcap/pcapng through libpcap (pcap_read.c),
 * reading argus `ra -c ,` CSV (argus_csv.c), turning the records into
 * features, sequences and output files (records.c), and telling whether
 * two paths are the same file (paths.c).
 * Calls: libpcap, lpz_base (errors, log), lpz_io (npy writer, atomic files).
 * Nothing here prints or exits; main.c is the only place that talks to the
 * user.
 *
 * Data flow:
 *   pcap frame --p2n_decode--> p2n_packet --p2n_table_packet--> flow
 *   flow (idle / status interval / evicted / end) --> p2n_record list
 *   records --p2n_records_sort--> start-time order --p2n_sequences_write-->
 *   float32 (sequences, length, features) .npy + "<out>.json" sidecar.
 */
#ifndef LPZ_P2N_H
#define LPZ_P2N_H

#include <lpz/error.h>
#include <stdint.h>
#include <stdio.h>

/* ---- decoded packets ------------------------------------------------- */

typedef enum p2n_decode_result {
    P2N_PKT_OK = 0,
    P2N_PKT_TRUNCATED, /* caplen too short for the headers the flow key needs */
    P2N_PKT_NON_IP,    /* ARP, LLDP, ... (not IPv4/IPv6) */
    P2N_PKT_MALFORMED, /* IP header inconsistent (length < header) */
    P2N_PKT_WRONG_VERSION /* an IP version other than the link layer announces (IPv4 in LINKTYPE_IPV6,
                           * version 6 behind ethertype 0x0800, ...) */
} p2n_decode_result;

/* What a frame contributes to a flow. Addresses are 16 bytes; IPv4 uses the
 * first 4 and zeros the rest. */
typedef struct p2n_packet {
    uint8_t ipver; /* 4 or 6 */
    uint8_t proto; /* IP protocol number (after IPv6 extension headers) */
    uint8_t tcp_flags;
    uint8_t has_ports; /* sport/dport valid (TCP, UDP, ICMP type/code) */
    uint8_t src[16], dst[16];
    uint16_t sport, dport; /* TCP/UDP ports; ICMP: type and code */
    uint16_t icmp_id;      /* ICMP echo-like messages: identifier (part of the key) */
    /* Fragments: frag_later marks a non-first fragment (no L4 header);
     * frag_first a first fragment with more to come. frag_id is the IP
     * identification (IPv6: low 32 bits of the fragment header's id). */
    uint8_t frag_first, frag_later;
    uint32_t frag_id;
    /* bytes as argus counts them: the original frame length, Ethernet header
     * and VLAN tags included, Linux cooked / BSD loopback pseudo-header not */
    uint32_t wire_len;
} p2n_packet;

/* Largest original length taken from a packet record (libpcap's largest
 * snapshot length); a larger one, or one below the captured length, is
 * implausible (e.g. 0xffffffff) and replaced, see p2n_decode. */
#define P2N_MAX_ORIG_LEN 262144u

/* Link types as libpcap's pcap_datalink() reports them. */
#define P2N_DLT_NULL 0
#define P2N_DLT_EN10MB 1
#define P2N_DLT_RAW 12
#define P2N_DLT_RAW_OPENBSD 14
#define P2N_DLT_LOOP 108
#define P2N_DLT_LINUX_SLL 113
#define P2N_DLT_IPV4 228
#define P2N_DLT_IPV6 229
#define P2N_DLT_LINUX_SLL2 276

/* 1 when the link type is one p2n_decode understands. */
int p2n_linktype_supported(int dlt);

/* Decodes one frame. caplen bytes are available at data; wire_len is the
 * original length, or 0 when the record's one is implausible: then the
 * packet counts the IP header's total length (plus the Ethernet header
 * and tags), or caplen when that is unknown. Never reads past caplen. */
p2n_decode_result p2n_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wire_len, p2n_packet *out);

/* ---- records ----------------------------------------------------------- */

/* One flow record: what argus would report for a flow over one interval.
 * 88 bytes; the record list is the only memory that grows with the
 * capture (flows themselves are bounded by --max-flows). */
typedef struct p2n_record {
    int64_t start_ns, last_ns; /* first and last packet, ns since the epoch */
    uint64_t spkts, dpkts;     /* packets from the source (see flows.c) and back */
    uint64_t sbytes, dbytes;   /* wire bytes, same split */
    uint8_t saddr[16], daddr[16];
    uint16_t sport, dport; /* ICMP: type and code of the first packet */
    uint8_t proto, ipver;
    uint8_t tcp_flags; /* OR of the TCP flags seen */
    uint8_t pad;
} p2n_record;

typedef struct p2n_records {
    p2n_record *v;
    size_t n, cap;
} p2n_records;

int p2n_records_push(p2n_records *r, const p2n_record *rec, lpz_error *err);
void p2n_records_free(p2n_records *r);
/* Sorts by start time (ties: protocol, addresses, ports) so the output is
 * deterministic. */
void p2n_records_sort(p2n_records *r);

/* ---- flow table -------------------------------------------------------- */

/* Why a record was emitted (counted in the summary). */
typedef struct p2n_flow_stats {
    uint64_t flows;          /* flows created (a flow split by a timeout counts again) */
    uint64_t rec_idle;       /* records closed by the idle timeout */
    uint64_t rec_status;     /* records closed by the status interval */
    uint64_t rec_evicted;    /* records closed because --max-flows was reached */
    uint64_t rec_tcp_reuse;  /* records closed by a new SYN after FIN/RST */
    uint64_t rec_end;        /* records closed at the end of the input */
    uint64_t frag_orphans;   /* later fragments whose first fragment was not seen in time */
    uint64_t frag_attached;  /* later fragments counted in their flow */
    uint64_t max_live;       /* most flows alive at once */
} p2n_flow_stats;

typedef struct p2n_flow_opts {
    /* Idle timeouts in ns per protocol class; 0 = never time out.
     * Defaults (argus' ArgusModeler.h): TCP 60 s, ICMP 5 s, others 30 s. */
    int64_t idle_tcp_ns, idle_icmp_ns, idle_other_ns;
    int64_t status_ns; /* status interval in ns; 0 = off (argus -S default 60 s) */
    size_t max_flows;  /* cap on live flows; the least recently active is evicted */
} p2n_flow_opts;

/* Fills the argus-like defaults. */
void p2n_flow_opts_default(p2n_flow_opts *o);

typedef struct p2n_table p2n_table;

/* Records are appended to *out (owned by the caller). */
int p2n_table_create(const p2n_flow_opts *opts, p2n_records *out, p2n_table **table, lpz_error *err);
/* Accounts one decoded packet at time ts_ns. Fails only when memory runs
 * out. A later fragment whose first fragment is unknown is held (up to
 * 1024, for 30 s of capture time) until its first fragment comes; one that
 * expires, is pushed out or still waits at the flush is counted in
 * stats.frag_orphans and otherwise ignored. */
int p2n_table_packet(p2n_table *t, int64_t ts_ns, const p2n_packet *pkt, lpz_error *err);
/* Emits every live flow (end of input). */
int p2n_table_flush(p2n_table *t, lpz_error *err);
size_t p2n_table_live(const p2n_table *t);
const p2n_flow_stats *p2n_table_stats(const p2n_table *t);
void p2n_table_destroy(p2n_table *t);

/* ---- reading inputs ---------------------------------------------------- */

typedef struct p2n_read_stats {
    uint64_t packets;   /* frames read from the file */
    uint64_t truncated; /* skipped: captured too short */
    uint64_t non_ip;    /* skipped: not IPv4/IPv6 */
    uint64_t malformed; /* skipped: broken IP header (wrong_version included) */
    uint64_t wrong_version; /* skipped: IP version not the one of the link type */
    uint64_t bad_orig_len;  /* original length implausible (> P2N_MAX_ORIG_LEN or < caplen): replaced */
    uint64_t ts_backwards;  /* packets stamped earlier than the packet before them */
    int64_t ts_back_max_ns; /* the largest such step back */
    int bad_filter;         /* the error is a --filter that does not compile (bad usage) */
    uint64_t filtered;  /* skipped: did not match --filter */
    uint64_t used;      /* handed to the flow table */
    int file_truncated; /* the file ended mid-packet (allow_truncated) */
    int linktype;
    char linktype_name[64];
    int snaplen; /* the capture's snapshot length in bytes (tcpdump -s) */
} p2n_read_stats;

/* Streams a pcap or pcapng file (or "-" for stdin) through the flow table;
 * filter is a BPF expression or NULL. Unsupported link types, unreadable,
 * empty or corrupt files are errors naming the file (a corrupt packet
 * record by its number, counted from 1); so is a packet whose time
 * does not fit int64 nanoseconds since 1970 (before 1970 or after
 * 2262-04-11), with the packet's number. A file that ends in the
 * middle of a packet (an interrupted capture) is an error unless
 * allow_truncated, which keeps the packets before the cut and sets
 * st->file_truncated. */
int p2n_read_pcap(const char *path, const char *filter, int allow_truncated, p2n_table *t, p2n_read_stats *st,
                  lpz_error *err);

/* Reports progress of a long read: called every P2N_PROGRESS_PACKETS
 * packets with the counts so far and the bytes of the file read (done) out
 * of its size (total; 0 when unknown, e.g. a pipe). */
#define P2N_PROGRESS_PACKETS 65536
typedef void (*p2n_progress_fn)(void *user, const p2n_read_stats *st, uint64_t done, uint64_t total);

/* p2n_read_pcap with a progress callback (NULL: none). */
int p2n_read_pcap_progress(const char *path, const char *filter, int allow_truncated, p2n_progress_fn progress,
                           void *user, p2n_table *t, p2n_read_stats *st, lpz_error *err);

typedef struct p2n_argus_stats {
    uint64_t lines;          /* data lines read */
    uint64_t skipped_man;    /* argus management ("man") records skipped */
    uint64_t non_ip;         /* non-IP records skipped (ARP, an ethertype as Proto, MAC addresses) */
    char non_ip_proto[32];   /* the Proto of the first one, e.g. "arp" or "34984" (0x88a8, QinQ) */
    uint64_t unknown_proto;  /* IP protocol names not known (proto = 255) */
    char unknown_name[32];   /* the first such name */
    uint64_t time_of_day;    /* StartTime values without a date (ra without -u) */
    uint64_t huge_counts;    /* counts of 2^48 or more (likely -1 printed unsigned) */
    long huge_line;          /* the first line with one */
    uint64_t icmp_recoded;   /* ICMP records whose Sport/Dport were argus' packing, made type/code */
    /* Bit f (a p2n_field) set: the header has no column field f comes from,
     * so it is 0 in every record (e.g. dur without Dur and LastTime). */
    uint32_t missing_fields;
} p2n_argus_stats;

/* Reads the CSV `ra -c , -s <fields>` prints (first line: the field names,
 * in any order). Non-IP records (ARP, argus' ethertype records such as
 * QinQ's 34984) are skipped and counted, as --pcap skips non-IP frames.
 * IPv4 ICMP Sport/Dport, which argus prints as "0xCCTT" (code, type) and a
 * byte-swapped identifier, become type and code as --pcap gives them.
 * Recognised columns: StartTime (required), LastTime, Dur, TotPkts,
 * TotBytes, SrcPkts, DstPkts, SrcBytes, DstBytes, SrcAddr, DstAddr, Sport,
 * Dport, Proto; others are ignored. A direction's count without its column
 * is the total minus the other direction, or, with neither direction
 * given, the total for the source and 0 back. Times may be epoch seconds
 * (ra -u), "HH:MM:SS[.f]" (ra's default; seconds since midnight, counted in
 * st->time_of_day) or "YYYY/MM/DD HH:MM:SS[.f]" (UTC). Malformed lines are
 * errors with the line number; so is input that is not text (a capture, an
 * argus data file). */
int p2n_read_argus_csv(const char *path, p2n_records *out, p2n_argus_stats *st, lpz_error *err);
/* Same, from a stream; `name` is used in error messages. */
int p2n_read_argus_stream(FILE *fp, const char *name, p2n_records *out, p2n_argus_stats *st, lpz_error *err);

/* ---- features and outputs ---------------------------------------------- */

typedef enum p2n_field {
    P2N_F_GAP,    /* s since the previous record's start (0 for the first) */
    P2N_F_DUR,    /* s, last packet - first packet */
    P2N_F_PKTS,   /* packets, both directions */
    P2N_F_BYTES,  /* bytes, both directions */
    P2N_F_SPKTS,
    P2N_F_DPKTS,
    P2N_F_SBYTES,
    P2N_F_DBYTES,
    P2N_F_PROTO,
    P2N_F_SPORT,
    P2N_F_DPORT,
    P2N_F_STIME,  /* s since the first record's start */
    P2N_F_COUNT
} p2n_field;

#define P2N_MAX_FIELDS 32

typedef struct p2n_field_info {
    const char *name, *unit, *description;
} p2n_field_info;

const p2n_field_info *p2n_field_info_get(p2n_field f);

/* The argus columns field f comes from, as text for messages ("Dur or
 * LastTime"); NULL for fields that need only StartTime. */
const char *p2n_argus_field_columns(p2n_field f);

/* Parses "gap,dur,pkts,bytes" into fields[] (n at most P2N_MAX_FIELDS).
 * Unknown names are an error listing the known ones; a name given twice is
 * an error naming it. */
int p2n_fields_parse(const char *list, p2n_field *fields, int *n, lpz_error *err);

/* Value of one field for record i of a sorted list (float64; the writer
 * narrows to float32). */
double p2n_field_value(const p2n_records *r, size_t i, p2n_field f);

typedef struct p2n_output_opts {
    const char *npy_path;  /* required */
    const char *csv_path;  /* NULL = none */
    const char *source;    /* input file named in the sidecar */
    int64_t sequence_length;
    p2n_field fields[P2N_MAX_FIELDS];
    int n_fields;
    /* Recorded in the sidecar; negative = does not apply (flows built by
     * argus), written as null and not suggested in messages. */
    double idle_tcp_s, idle_icmp_s, idle_other_s, status_s;
} p2n_output_opts;

typedef struct p2n_output_stats {
    int64_t sequences;
    int64_t records_used;
    int64_t records_dropped; /* the remainder that does not fill a sequence */
} p2n_output_stats;

/* Writes the .npy (float32, shape (sequences, length, fields)), the
 * "<npy_path>.json" sidecar and, when asked, the CSV of all records.
 * The records must be sorted. Fewer records than one sequence is
 * LPZ_EINVAL. */
int p2n_write_outputs(const p2n_records *r, const p2n_output_opts *o, p2n_output_stats *st, lpz_error *err);

/* Writes every record as CSV (header line first). */
int p2n_write_csv(const p2n_records *r, const char *path, lpz_error *err);

/* Formats an address as text (dotted quad or RFC 5952 IPv6). */
void p2n_addr_format(int ipver, const uint8_t addr[16], char *buf, size_t size);

/* "s" unless n is 1, for counts in messages: "%llu packet%s". */
static inline const char *p2n_plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* ---- paths ------------------------------------------------------------- */

/* 1 when the path names a and b are the same file: for two existing files
 * the same device and inode (any spelling, hard and symbolic links); for
 * two names that do not exist yet the same real folder and last component
 * ("x", "./x" and "dir/../x"); when neither folder resolves, the same text.
 * An existing file and a missing one are never the same. */
int p2n_same_file(const char *a, const char *b);

#endif
