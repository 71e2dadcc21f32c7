/* tools/pcap2npy/decode.c - one captured frame -> p2n_packet.
 *
 * Link layers: Ethernet (any stack of 802.1Q / 802.1ad / QinQ tags),
 * Linux cooked SLL and SLL2, raw IP (DLT_RAW, LINKTYPE_IPV4/IPV6),
 * BSD loopback DLT_NULL (host byte order) and DLT_LOOP (network order);
 * for both loopback types either byte order is accepted because captures
 * travel between machines.
 * Network layer: IPv4 with options, IPv6 with extension headers skipped.
 * Transport: TCP and UDP ports, ICMP/ICMPv6 type and code ("ports", like
 * argus); other protocols are keyed by addresses only.
 * Every read is bounds-checked against caplen; a frame that ends before
 * the headers the flow key needs is P2N_PKT_TRUNCATED.
 * Byte counts (wire_len) are those argus gives: the frame's original
 * length with an Ethernet header and its VLAN tags, but without the
 * pseudo-header of cooked and loopback captures.
 */
#include "p2n.h"

#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int p2n_linktype_supported(int dlt)
{
    switch (dlt) {
    case P2N_DLT_NULL:
    case P2N_DLT_EN10MB:
    case P2N_DLT_RAW:
    case P2N_DLT_RAW_OPENBSD:
    case P2N_DLT_LOOP:
    case P2N_DLT_LINUX_SLL:
    case P2N_DLT_LINUX_SLL2:
    case P2N_DLT_IPV4:
    case P2N_DLT_IPV6: return 1;
    default: return 0;
    }
}

/* Transport header at l4 (len bytes up to the end of the IP payload). */
static p2n_decode_result decode_l4(const uint8_t *l4, uint32_t len, p2n_packet *out)
{
    switch (out->proto) {
    case 6: /* TCP: ports and the flags byte (offset 13) */
        if (len < 14)
            return P2N_PKT_TRUNCATED;
        out->sport = rd16(l4);
        out->dport = rd16(l4 + 2);
        out->tcp_flags = l4[13];
        out->has_ports = 1;
        return P2N_PKT_OK;
    case 17:  /* UDP */
    case 132: /* SCTP: ports at the same place */
        if (len < 4)
            return P2N_PKT_TRUNCATED;
        out->sport = rd16(l4);
        out->dport = rd16(l4 + 2);
        out->has_ports = 1;
        return P2N_PKT_OK;
    case 1:
    case 58: {
        if (len < 2)
            return P2N_PKT_TRUNCATED;
        uint8_t type = l4[0];
        out->sport = type;
        out->dport = l4[1];
        out->has_ports = 1;
        /* Echo-like request/reply pairs carry an identifier: it keeps two
         * pings between the same hosts apart, as argus does. */
        int echo = out->proto == 1 ? (type == 0 || type == 8 || type == 13 || type == 14 || type == 15 ||
                                      type == 16 || type == 17 || type == 18)
                                   : (type == 128 || type == 129);
        if (echo) {
            if (len < 6)
                return P2N_PKT_TRUNCATED;
            out->icmp_id = rd16(l4 + 4);
        }
        return P2N_PKT_OK;
    }
    default: return P2N_PKT_OK;
    }
}

/* The IP header's total length of the packet decode_ipv4/6 saw last (0:
 * unknown), for packets whose record has an implausible original length. */
static uint32_t ip_total_of(const uint8_t *p, uint32_t len)
{
    if (len >= 4 && (p[0] >> 4) == 4)
        return rd16(p + 2);
    if (len >= 6 && (p[0] >> 4) == 6 && rd16(p + 4) > 0)
        return 40u + rd16(p + 4);
    return 0;
}

static p2n_decode_result decode_ipv4(const uint8_t *p, uint32_t len, p2n_packet *out)
{
    /* the version first: an IPv6 packet where IPv4 is announced is not a
     * short IPv4 packet */
    if (len >= 1 && (p[0] >> 4) != 4)
        return P2N_PKT_WRONG_VERSION;
    if (len < 20)
        return P2N_PKT_TRUNCATED;
    uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
    uint32_t total = rd16(p + 2);
    if (ihl < 20 || total < ihl)
        return P2N_PKT_MALFORMED;
    if (len < ihl)
        return P2N_PKT_TRUNCATED;
    out->ipver = 4;
    out->proto = p[9];
    memcpy(out->src, p + 12, 4);
    memcpy(out->dst, p + 16, 4);
    uint16_t frag = rd16(p + 6);
    uint16_t offset = frag & 0x1fff;
    int more = (frag & 0x2000) != 0;
    out->frag_id = rd16(p + 4);
    if (offset != 0) {
        out->frag_later = 1;
        return P2N_PKT_OK;
    }
    out->frag_first = (uint8_t)more;
    /* Ethernet pads short frames: the IP total length bounds the payload. */
    uint32_t avail = len < total ? len : total;
    return decode_l4(p + ihl, avail - ihl, out);
}

static p2n_decode_result decode_ipv6(const uint8_t *p, uint32_t len, p2n_packet *out)
{
    if (len >= 1 && (p[0] >> 4) != 6)
        return P2N_PKT_WRONG_VERSION;
    if (len < 40)
        return P2N_PKT_TRUNCATED;
    out->ipver = 6;
    memcpy(out->src, p + 8, 16);
    memcpy(out->dst, p + 24, 16);
    uint32_t payload = rd16(p + 4);
    uint32_t end = 40 + payload;
    if (payload == 0) /* jumbogram or bogus: use what was captured */
        end = len;
    if (end > len)
        end = len;
    uint8_t next = p[6];
    uint32_t off = 40;
    /* Skip extension headers; a bounded count stops hostile loops. */
    for (int hops = 0; hops < 16; hops++) {
        switch (next) {
        case 0:   /* hop-by-hop */
        case 43:  /* routing */
        case 60:  /* destination options */
        case 135: /* mobility */
            if (end < off + 8)
                return P2N_PKT_TRUNCATED;
            next = p[off];
            off += 8 + (uint32_t)p[off + 1] * 8;
            continue;
        case 51: /* authentication header: length in 4-byte units minus 2 */
            if (end < off + 8)
                return P2N_PKT_TRUNCATED;
            next = p[off];
            off += ((uint32_t)p[off + 1] + 2) * 4;
            continue;
        case 44: { /* fragment */
            if (end < off + 8)
                return P2N_PKT_TRUNCATED;
            uint16_t fo = rd16(p + off + 2);
            out->frag_id = rd32(p + off + 4);
            next = p[off];
            off += 8;
            if ((fo & 0xfff8) != 0) {
                out->proto = next;
                out->frag_later = 1;
                return P2N_PKT_OK;
            }
            out->frag_first = (uint8_t)(fo & 1);
            continue;
        }
        default: break;
        }
        break;
    }
    out->proto = next;
    if (off > end)
        return P2N_PKT_TRUNCATED;
    return decode_l4(p + off, end - off, out);
}

static p2n_decode_result decode_ip_by_version(const uint8_t *p, uint32_t len, p2n_packet *out)
{
    if (len < 1)
        return P2N_PKT_TRUNCATED;
    switch (p[0] >> 4) {
    case 4: return decode_ipv4(p, len, out);
    case 6: return decode_ipv6(p, len, out);
    default: return P2N_PKT_NON_IP;
    }
}

static p2n_decode_result decode_ethertype(uint16_t type, const uint8_t *p, uint32_t len, p2n_packet *out)
{
    if (type == ETH_IPV4)
        return decode_ipv4(p, len, out);
    if (type == ETH_IPV6)
        return decode_ipv6(p, len, out);
    return P2N_PKT_NON_IP;
}

/* Linux cooked (SLL, SLL2) and BSD loopback (NULL, LOOP) captures put a
 * pseudo-header of hdr bytes in front of the IP packet that was never on a
 * wire; argus counts the packet without it (on Ethernet it counts the
 * Ethernet header and VLAN tags, which were). */
static uint32_t strip_pseudo(uint32_t wire_len, uint32_t hdr)
{
    return wire_len > hdr ? wire_len - hdr : 0;
}

/* BSD address family values for IPv6 differ by system. */
static int af_is_inet6(uint32_t af)
{
    return af == 10 || af == 24 || af == 28 || af == 30;
}

/* The frame's link layer, then the IP packet at data + *ip_off (what
 * follows the link header, pseudo-headers included). */
static p2n_decode_result decode_link(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wire_len,
                                     p2n_packet *out, uint32_t *ip_off)
{
    out->wire_len = wire_len;
    switch (dlt) {
    case P2N_DLT_EN10MB: {
        if (caplen < 14)
            return P2N_PKT_TRUNCATED;
        uint32_t off = 12;
        uint16_t type = rd16(data + off);
        /* 802.1Q, 802.1ad and the old QinQ value; a bounded stack */
        for (int tags = 0; (type == 0x8100 || type == 0x88a8 || type == 0x9100) && tags < 8; tags++) {
            off += 4;
            if (caplen < off + 2)
                return P2N_PKT_TRUNCATED;
            type = rd16(data + off);
        }
        off += 2;
        if (type < 0x0600) /* an 802.3 length field: LLC, not IP */
            return P2N_PKT_NON_IP;
        *ip_off = off;
        return decode_ethertype(type, data + off, caplen - off, out);
    }
    case P2N_DLT_LINUX_SLL:
        if (caplen < 16)
            return P2N_PKT_TRUNCATED;
        out->wire_len = strip_pseudo(wire_len, 16);
        *ip_off = 16;
        return decode_ethertype(rd16(data + 14), data + 16, caplen - 16, out);
    case P2N_DLT_LINUX_SLL2:
        if (caplen < 20)
            return P2N_PKT_TRUNCATED;
        out->wire_len = strip_pseudo(wire_len, 20);
        *ip_off = 20;
        return decode_ethertype(rd16(data), data + 20, caplen - 20, out);
    case P2N_DLT_RAW:
    case P2N_DLT_RAW_OPENBSD: return decode_ip_by_version(data, caplen, out);
    case P2N_DLT_IPV4: return decode_ipv4(data, caplen, out);
    case P2N_DLT_IPV6: return decode_ipv6(data, caplen, out);
    case P2N_DLT_NULL:
    case P2N_DLT_LOOP: {
        if (caplen < 4)
            return P2N_PKT_TRUNCATED;
        out->wire_len = strip_pseudo(wire_len, 4);
        *ip_off = 4;
        uint32_t be = rd32(data);
        uint32_t le = (uint32_t)data[0] | ((uint32_t)data[1] << 8) | ((uint32_t)data[2] << 16) |
                      ((uint32_t)data[3] << 24);
        if (be == 2 || le == 2)
            return decode_ipv4(data + 4, caplen - 4, out);
        if (af_is_inet6(be) || af_is_inet6(le))
            return decode_ipv6(data + 4, caplen - 4, out);
        return P2N_PKT_NON_IP;
    }
    default: return P2N_PKT_NON_IP;
    }
}

p2n_decode_result p2n_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wire_len, p2n_packet *out)
{
    memset(out, 0, sizeof *out);
    uint32_t ip_off = 0;
    p2n_decode_result r = decode_link(dlt, data, caplen, wire_len ? wire_len : caplen, out, &ip_off);
    if (wire_len == 0 && ip_off <= caplen) {
        /* bytes as argus counts them: the Ethernet header and tags, not a
         * cooked or loopback pseudo-header */
        uint32_t link = dlt == P2N_DLT_EN10MB ? ip_off : 0;
        uint32_t total = ip_total_of(data + ip_off, caplen - ip_off);
        out->wire_len = total ? link + total : caplen - (ip_off - link);
    }
    return r;
}
