/* tools/pcap2npy/pcap_read.c - pcap and pcapng files through libpcap.
 *
 * Streaming: one packet at a time goes to the decoder and the flow table;
 * nothing of the file is kept. Timestamps are read at nanosecond
 * precision (libpcap scales microsecond files); a packet whose time does
 * not fit int64 nanoseconds since 1970 is an error. A --filter is compiled
 * once and applied with pcap_offline_filter so that the packets it drops
 * can be counted.
 */
#include "p2n.h"

#include <pcap/pcap.h>
#include <string.h>
#include <sys/stat.h>

int p2n_read_pcap(const char *path, const char *filter, int allow_truncated, p2n_table *t, p2n_read_stats *st,
                  lpz_error *err)
{
    return p2n_read_pcap_progress(path, filter, allow_truncated, NULL, NULL, t, st, err);
}

int p2n_read_pcap_progress(const char *path, const char *filter, int allow_truncated, p2n_progress_fn progress,
                           void *user, p2n_table *t, p2n_read_stats *st, lpz_error *err)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    memset(st, 0, sizeof *st);
    /* libpcap calls an empty file a "truncated dump file" wanting 4 header
     * bytes; say what it is (a pipe cannot be measured: stdin stays as is) */
    struct stat sb;
    if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0) {
        lpz_error_set(err, LPZ_EIO, "the file is empty (0 bytes), not a capture");
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "a capture holds at least its file header: give a pcap or pcapng file written by "
                            "tcpdump -w or tools/capture-traffic.sh");
        return LPZ_EIO;
    }
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!pc) {
        lpz_error_set(err, LPZ_EIO, "cannot read the capture: %s", errbuf);
        lpz_error_where(err, "%s", path);
        if (strstr(errbuf, "unknown file format"))
            lpz_error_hint(err, "give a pcap or pcapng file (tcpdump -w, tools/capture-traffic.sh); argus data "
                                "goes through ra -c , to --from-argus");
        else
            lpz_error_hint(err, "give a pcap or pcapng file (tcpdump -w, tools/capture-traffic.sh)");
        return LPZ_EIO;
    }
    /* the file's size, for progress reports (0 for a pipe) */
    FILE *fp = pcap_file(pc);
    uint64_t total = fp && fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
    int dlt = pcap_datalink(pc);
    st->linktype = dlt;
    st->snaplen = pcap_snapshot(pc);
    const char *name = pcap_datalink_val_to_name(dlt);
    snprintf(st->linktype_name, sizeof st->linktype_name, "%s", name ? name : "unknown");
    if (!p2n_linktype_supported(dlt)) {
        const char *desc = pcap_datalink_val_to_description(dlt);
        lpz_error_set(err, LPZ_EUNSUPPORTED, "unsupported link type %d (%s%s%s)", dlt, name ? name : "unknown",
                      desc ? ": " : "", desc ? desc : "");
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "supported: EN10MB (Ethernet, VLAN tags), LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, "
                            "NULL, LOOP; capture with tcpdump -i <interface> on one of those");
        pcap_close(pc);
        return LPZ_EUNSUPPORTED;
    }
    struct bpf_program prog;
    int have_prog = 0;
    if (filter && *filter) {
        if (pcap_compile(pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            lpz_error_set(err, LPZ_EINVAL, "bad --filter \"%s\": %s", filter, pcap_geterr(pc));
            lpz_error_hint(err, "the filter uses tcpdump's syntax, see man pcap-filter");
            st->bad_filter = 1;
            pcap_close(pc);
            return LPZ_EINVAL;
        }
        have_prog = 1;
    }

    int rc = LPZ_OK;
    int64_t prev_ts = 0;
    /* a classic pcap (version 2.x; libpcap says 1.0 for pcapng, whose times are 64-bit and may be negative by a
     * wrong if_tsoffset) */
    int classic = pcap_major_version(pc) == 2;
    struct pcap_pkthdr *h;
    const u_char *data;
    for (;;) {
        int r = pcap_next_ex(pc, &h, &data);
        if (r == PCAP_ERROR_BREAK) /* end of file */
            break;
        if (r != 1) {
            const char *msg = pcap_geterr(pc);
            /* libpcap says "truncated dump file" / "truncated pcapng dump
             * file" when the last record is cut short. */
            if (allow_truncated && strstr(msg, "truncated")) {
                st->file_truncated = 1;
                break;
            }
            /* the record that failed is packet st->packets + 1 */
            if (strstr(msg, "an interface has a type")) {
                /* libpcap reads one link type per file: a pcapng of several
                 * interfaces (tcpdump -i a -i b, dumpcap) stops at the first
                 * packet of an interface whose type differs */
                rc = lpz_error_set(err, LPZ_EUNSUPPORTED,
                                   "multi-link-type capture: its interfaces have different link types (the first "
                                   "one's is %s; libpcap: %s), and libpcap reads one link type per file, so it "
                                   "cannot read this file in one pass (stopped before packet %llu)",
                                   st->linktype_name, msg, (unsigned long long)st->packets + 1);
                lpz_error_where(err, "%s", path);
                lpz_error_hint(err, "split the file per interface and convert each: tshark -r FILE -Y "
                                    "'frame.interface_id == N' -w ifN.pcapng for N = 0, 1, ... (capinfos FILE "
                                    "lists the interfaces); or capture one interface with tcpdump -i");
                break;
            }
            rc = lpz_error_set(err, LPZ_EFORMAT, "corrupt capture at packet %llu%s: %s",
                               (unsigned long long)st->packets + 1, st->packets ? "" : " (the first)", msg);
            lpz_error_where(err, "%s", path);
            if (strstr(msg, "truncated") && st->packets)
                lpz_error_hint(err, "the file ends in the middle of a packet (interrupted capture?); "
                                    "--allow-truncated uses the %llu packet%s before the cut",
                               (unsigned long long)st->packets, p2n_plural(st->packets));
            else if (strstr(msg, "truncated"))
                lpz_error_hint(err, "the file ends in the middle of its first packet, so it holds no complete "
                                    "packet: capture again");
            break;
        }
        st->packets++;
        if (progress && st->packets % P2N_PROGRESS_PACKETS == 0) {
            off_t pos = total ? ftello(fp) : -1;
            progress(user, st, pos > 0 ? (uint64_t)pos : 0, total);
        }
        /* Times are int64 ns since 1970 (up to 2262-04-11). libpcap hands
         * on whatever the file holds: a pcapng timestamp is 64 bits (in
         * if_tsresol units, plus if_tsoffset), a classic ts_sec of 2^31
         * or more comes out negative. Such a packet makes the file corrupt,
         * like a broken record header. */
        int64_t sec = (int64_t)h->ts.tv_sec, frac = (int64_t)h->ts.tv_usec; /* ns (nano precision) */
        if (classic && sec < 0 && sec >= INT32_MIN) /* a classic file's unsigned 32-bit seconds, 2038 to 2106 */
            sec += (int64_t)1 << 32;
        if (sec < 0 || frac < 0 || sec > (INT64_MAX - frac) / 1000000000) {
            rc = lpz_error_set(err, LPZ_EFORMAT,
                               "corrupt capture: packet %llu has a timestamp out of range (%lld s + %lld ns since "
                               "1970; readable: 1970-01-01 to 2262-04-11)",
                               (unsigned long long)st->packets, (long long)sec, (long long)frac);
            lpz_error_where(err, "%s", path);
            lpz_error_hint(err, "the file is damaged or its clock or pcapng if_tsresol/if_tsoffset is wrong; "
                                "editcap -t SECONDS shifts every timestamp, editcap IN OUT %llu drops the packet",
                           (unsigned long long)st->packets);
            break;
        }
        /* A packet stamped before the one before it (clock steps, merged
         * files out of order) is still counted, in its flow; argus does the
         * same, but the user should know. */
        int64_t ts = sec * 1000000000 + frac;
        if (st->packets > 1 && ts < prev_ts) {
            st->ts_backwards++;
            if (prev_ts - ts > st->ts_back_max_ns)
                st->ts_back_max_ns = prev_ts - ts;
        }
        prev_ts = ts;
        if (have_prog && !pcap_offline_filter(&prog, h, data)) {
            st->filtered++;
            continue;
        }
        p2n_packet pkt;
        /* an original length below the captured one or beyond any snapshot
         * length (0xffffffff would count 4 GB) is not believed */
        uint32_t wire = h->len;
        if (h->len < h->caplen || h->len > P2N_MAX_ORIG_LEN) {
            st->bad_orig_len++;
            wire = 0;
        }
        switch (p2n_decode(dlt, data, h->caplen, wire, &pkt)) {
        case P2N_PKT_OK: break;
        case P2N_PKT_TRUNCATED: st->truncated++; continue;
        case P2N_PKT_NON_IP: st->non_ip++; continue;
        case P2N_PKT_MALFORMED: st->malformed++; continue;
        case P2N_PKT_WRONG_VERSION:
            st->malformed++;
            st->wrong_version++;
            continue;
        }
        rc = p2n_table_packet(t, ts, &pkt, err);
        if (rc)
            break;
        st->used++;
    }
    if (have_prog)
        pcap_freecode(&prog);
    pcap_close(pc);
    return rc;
}
