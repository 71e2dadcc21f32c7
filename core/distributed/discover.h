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
 * Which endpoints to use (lpz_dist_discover_pick), once the master has
 * asked each open port who is there (HELLO: an idle lpz client tells its
 * random instance): a client bound to 0.0.0.0 answers on 127.0.0.1 and on
 * every address of its machine, and is one client (not two: its second cell
 * would be refused as busy); and when clients on other machines were
 * found, the cells' addresses go to every client, so this machine's
 * clients must be named by an address the others can reach (not
 * 127.0.0.1, and on the subnet where the others are).
 */
#ifndef LPZ_DISTRIBUTED_DISCOVER_H
#define LPZ_DISTRIBUTED_DISCOVER_H

#include <stddef.h>
#include <stdint.h>

#include <lpz/error.h>

#define LPZ_DIST_DISCOVER_MAX_HOSTS 4094 /* a /20; of a larger subnet only the /22 around this machine is asked */
#define LPZ_DIST_DISCOVER_BATCH 256      /* connects at once: each absent host holds an ARP entry (the kernel's
                                          * table takes about 1,024 before it drops packets) */
#define LPZ_DIST_DISCOVER_MAX_OWN 64
#define LPZ_DIST_DISCOVER_LOOPBACK 1     /* flag: ask 127.0.0.1 only (tests) */

typedef struct lpz_dist_endpoint {
    uint32_t ip;  /* IPv4, host byte order */
    int port;
    int own;      /* an address of this machine (127.0.0.1 included) */
    int loopback; /* 127.0.0.1 */
    uint64_t instance; /* set by the caller: the idle lpz client's CHALLENGE instance; 0: none answered there */
    int use;      /* lpz_dist_discover_pick: greet it */
    int loopback_only; /* lpz_dist_discover_pick: not used, only this machine can reach it */
} lpz_dist_endpoint;

typedef struct lpz_dist_subnet {
    uint32_t ip, mask; /* one of this machine's addresses and its netmask */
} lpz_dist_subnet;

typedef struct lpz_dist_scan {
    lpz_dist_endpoint *open; /* malloc'd, sorted by address then port */
    int n_open;
    int n_hosts;        /* addresses asked (127.0.0.1 included) */
    int n_alive;        /* of those, the ones that answered on the first port */
    lpz_dist_subnet own[LPZ_DIST_DISCOVER_MAX_OWN]; /* this machine's addresses (not 127.0.0.1) */
    int n_own;
    char nets[512];     /* the subnets scanned, for the log: "eth0 192.0.2.0/24, lo 127.0.0.1" */
    char narrowed[512]; /* subnets of which only the /22 around this machine was asked, "" when none */
} lpz_dist_scan;

/* An IPv4 subnet's addresses to ask: every host address between the
 * network and the broadcast address (both ends for a /31, the address
 * itself for a /32). Writes at most max into out and returns the count, or
 * -1 when there are more than LPZ_DIST_DISCOVER_MAX_HOSTS. */
int lpz_dist_subnet_hosts(uint32_t ip, uint32_t mask, uint32_t *out, int max);

/* Connects to ports first_port..first_port+n_ports-1 as described above,
 * LPZ_DIST_DISCOVER_BATCH sockets at a time (fewer when descriptors are
 * short), each batch waiting at most timeout_ms. Fails only for lack of
 * memory or of any socket. */
int lpz_dist_discover(int first_port, int n_ports, int timeout_ms, int flags, lpz_dist_scan *out, lpz_error *err);
void lpz_dist_scan_free(lpz_dist_scan *s);

/* After the caller has asked every open endpoint who answers there (the
 * instance of an idle lpz client, else 0), sets `use` on one endpoint per
 * client (and `loopback_only`). A client with an address on another
 * machine (remote) is used there. When remote clients exist, this
 * machine's clients are used by the own address whose subnet (own[]) holds
 * the most remote clients, and one reachable only on 127.0.0.1 is
 * loopback_only; else by 127.0.0.1, or their first own address. Returns
 * how many are used. */
int lpz_dist_discover_pick(lpz_dist_endpoint *e, int n, const lpz_dist_subnet *own, int n_own);

/* "a.b.c.d" into out (at least 16 bytes). */
void lpz_dist_ip_string(uint32_t ip, char *out, size_t size);

#endif
