/* core/distributed/discover.h - general.distribution.auto_discover: find
 * the clients a master can use without a list of them.
 *
 * As the original (which pinged every address of its primary interface's
 * subnet and asked port 5000 of each that answered), but with TCP
 * connects instead of ping (no raw sockets, so no root): every address of
 * every IPv4 subnet this machine is on (interfaces up, not loopback, at
 * most LPZ_DIST_DISCOVER_MAX_HOSTS addresses each) and 127.0.0.1 are asked
 * on the first port; the hosts that answer at all (open, or refused: the
 * host is there) are asked on the other ports too. The open ports are the
 * candidates the master then greets (HELLO) like listed clients.
 *
 * Which of this machine's own endpoints to use (lpz_dist_discover_pick):
 * a client bound to 0.0.0.0 answers on 127.0.0.1 and on every own address,
 * and is one client; and when clients on other machines were found, the
 * cells' addresses go to every client, so this machine's clients must be
 * named by an address the others can reach (not 127.0.0.1).
 */
#ifndef LPZ_DISTRIBUTED_DISCOVER_H
#define LPZ_DISTRIBUTED_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

#include <lpz/error.h>

#define LPZ_DIST_DISCOVER_MAX_HOSTS 4094 /* a /20; larger subnets are skipped (named in `skipped`) */

typedef struct lpz_dist_endpoint {
    uint32_t ip;  /* IPv4, host byte order */
    int port;
    int own;      /* an address of this machine (127.0.0.1 included) */
    int loopback; /* 127.0.0.1 */
    int use;      /* lpz_dist_discover_pick: greet it */
    int loopback_only; /* lpz_dist_discover_pick: not used, only this machine can reach it */
} lpz_dist_endpoint;

typedef struct lpz_dist_scan {
    lpz_dist_endpoint *open; /* malloc'd, sorted by address then port */
    int n_open;
    int n_hosts;        /* addresses asked (127.0.0.1 included) */
    int n_alive;        /* of those, the ones that answered on the first port */
    char nets[512];     /* the subnets scanned, for the log: "eth0 192.0.2.0/24, lo 127.0.0.1" */
    char skipped[512];  /* subnets too large to scan, "" when none */
} lpz_dist_scan;

/* An IPv4 subnet's addresses to ask: every host address between the
 * network and the broadcast address (both ends for a /31, the address
 * itself for a /32). Writes at most max into out and returns the count, or
 * -1 when there are more than LPZ_DIST_DISCOVER_MAX_HOSTS. */
int lpz_dist_subnet_hosts(uint32_t ip, uint32_t mask, uint32_t *out, int max);

/* Connects to ports first_port..first_port+n_ports-1 as described above,
 * each batch of sockets waiting at most timeout_ms. Fails only for lack of
 * memory or sockets. */
int lpz_dist_discover(int first_port, int n_ports, int timeout_ms, lpz_dist_scan *out, lpz_error *err);
void lpz_dist_scan_free(lpz_dist_scan *s);

/* Sets `use` (and `loopback_only`) on a scan's sorted endpoints. Other
 * machines' endpoints are all used. Of this machine's: when some other
 * machine's endpoint is open, per port the first own non-loopback address
 * (a port open only on 127.0.0.1 is loopback_only: its client listens on
 * loopback, out of the others' reach); else per port 127.0.0.1, or the
 * first own address when 127.0.0.1 is closed. Returns how many are used. */
int lpz_dist_discover_pick(lpz_dist_endpoint *e, int n);

/* "a.b.c.d" into out (at least 16 bytes). */
void lpz_dist_ip_string(uint32_t ip, char *out, size_t size);

#endif
