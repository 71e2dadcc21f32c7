/* tests/pcap2npy/pcapgen.h - builds synthetic frames and writes them to a
 * capture with libpcap (pcap_open_dead + pcap_dump), for the pcap2npy
 * tests, the argus comparison and the benchmark. Test code: aborts on
 * misuse are acceptable here, errors are returned as -1.
 */
#ifndef P2N_PCAPGEN_H
#define P2N_PCAPGEN_H

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pg_writer {
    pcap_t *dead;
    pcap_dumper_t *dump;
    int dlt;
    int null_big_endian; /* DLT_NULL: write the family in network order */
} pg_writer;

/* One packet to build. Addresses are text ("10.0.0.1", "2001:db8::1"). */
typedef struct pg_pkt {
    const char *src, *dst;
    uint8_t proto;        /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, other: bare payload */
    uint16_t sport, dport; /* TCP/UDP */
    uint8_t tcp_flags;
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_id;
    size_t payload;       /* bytes after the transport header */
    int vlan_tags;        /* Ethernet: number of 802.1Q/802.1ad tags */
    int ipv4_opt_words;   /* IPv4 options, 4-byte words */
    int ipv6_hbh;         /* IPv6: add a hop-by-hop extension header */
    uint16_t ip_id;
    uint16_t frag_field;  /* IPv4 flags+offset field as on the wire (host order) */
    int no_l4;            /* later fragment: payload only, no transport header */
    uint32_t cut;         /* caplen limit (0 = whole frame) */
    int arp;              /* an ARP frame instead (Ethernet/SLL only) */
    uint32_t orig_len;    /* the record's original length (0 = the frame's length) */
} pg_pkt;

int pg_open(pg_writer *w, const char *path, int dlt);
/* Writes p at ts_us (microseconds since the epoch); returns the wire
 * length in bytes, or -1. */
int pg_write(pg_writer *w, int64_t ts_us, const pg_pkt *p);
void pg_close(pg_writer *w);

/* Writes a pcapng file (libpcap writes only classic pcap): a section
 * header, one interface of link type dlt with an if_tsresol option holding
 * the byte tsresol when tsresol >= 0 (6: microseconds, the default without
 * the option; 9: nanoseconds; 0: seconds), then one Enhanced Packet Block
 * per packet: p[i] with the 64-bit timestamp ts[i] in the interface's
 * units. Returns 0 or -1. */
int pg_write_pcapng(const char *path, int dlt, int tsresol, const uint64_t *ts, const pg_pkt *p, size_t n);

/* Builds the frame for p into buf (size at least 65536); returns its
 * length or -1. */
int pg_build(int dlt, int null_big_endian, const pg_pkt *p, uint8_t *buf);

#endif
