/* core/distributed/discover.c - see discover.h. */
#include "distributed/discover.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOOPBACK 0x7f000001u

enum { P_PENDING, P_OPEN, P_REFUSED, P_SILENT };

typedef struct probe {
    uint32_t ip;
    int port;
    int state;
} probe;

void lpz_dist_ip_string(uint32_t ip, char *out, size_t size)
{
    snprintf(out, size, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int lpz_dist_subnet_hosts(uint32_t ip, uint32_t mask, uint32_t *out, int max)
{
    uint32_t net = ip & mask, bcast = net | ~mask;
    uint64_t size = (uint64_t)(~mask) + 1; /* addresses in the subnet */
    uint32_t lo = net, hi = bcast;
    if (size > 2) { /* the network and broadcast addresses are no hosts */
        lo = net + 1;
        hi = bcast - 1;
    }
    if ((uint64_t)hi - lo + 1 > LPZ_DIST_DISCOVER_MAX_HOSTS)
        return -1;
    int n = 0;
    for (uint64_t a = lo; a <= hi; a++) {
        if (n < max)
            out[n] = (uint32_t)a;
        n++;
    }
    return n;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

/* Sockets a batch may hold: LPZ_DIST_DISCOVER_BATCH, or what the
 * descriptor limit leaves beside the descriptors open now. */
static int batch_size(void)
{
    struct rlimit rl;
    long n = LPZ_DIST_DISCOVER_BATCH;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        long open_fds = 0;
        DIR *d = opendir("/proc/self/fd");
        if (d) {
            while (readdir(d))
                open_fds++;
            closedir(d);
        }
        if ((long)rl.rlim_cur - open_fds - 32 < n)
            n = (long)rl.rlim_cur - open_fds - 32;
    }
    return n < 8 ? 8 : (int)n;
}

/* Non-blocking connects to every probe, a batch at a time, each batch
 * waiting at most timeout_ms. Out of descriptors (EMFILE) with sockets of
 * the batch open: the batch ends there and the next one starts with the
 * probe that had none. */
static int run_probes(probe *p, int n, int timeout_ms, lpz_error *err)
{
    int cap = batch_size();
    struct pollfd *pf = calloc((size_t)cap, sizeof *pf);
    int *who = calloc((size_t)cap, sizeof *who);
    if (!pf || !who) {
        free(pf);
        free(who);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    int rc = LPZ_OK;
    for (int s = 0; s < n && !rc;) {
        int np = 0, i = s;
        for (; i < n && i - s < cap; i++) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                if ((errno == EMFILE || errno == ENFILE) && np > 0)
                    break; /* this batch ends here */
                rc = lpz_error_set(err, LPZ_EIO, "auto_discover: cannot open a socket: %s", strerror(errno));
                break;
            }
            struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p[i].port)};
            sa.sin_addr.s_addr = htonl(p[i].ip);
            if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
                p[i].state = P_OPEN;
            } else if (errno == EINPROGRESS) {
                pf[np] = (struct pollfd){.fd = fd, .events = POLLOUT};
                who[np++] = i;
                continue;
            } else {
                p[i].state = errno == ECONNREFUSED ? P_REFUSED : P_SILENT;
            }
            close(fd);
        }
        s = i;
        double end = now_ms() + timeout_ms;
        int left = np;
        while (left > 0) {
            int wait = (int)(end - now_ms());
            if (wait <= 0)
                break;
            int r = poll(pf, (nfds_t)np, wait);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            for (int k = 0; k < np; k++) {
                if (pf[k].fd < 0 || !pf[k].revents)
                    continue;
                int e = 0;
                socklen_t el = sizeof e;
                if (getsockopt(pf[k].fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
                    e = errno;
                p[who[k]].state = e == 0 ? P_OPEN : e == ECONNREFUSED ? P_REFUSED : P_SILENT;
                close(pf[k].fd);
                pf[k].fd = -1; /* poll skips negative descriptors */
                left--;
            }
        }
        for (int k = 0; k < np; k++)
            if (pf[k].fd >= 0) {
                p[who[k]].state = P_SILENT;
                close(pf[k].fd);
            }
    }
    free(pf);
    free(who);
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_endpoint(const void *a, const void *b)
{
    const lpz_dist_endpoint *x = a, *y = b;
    if (x->ip != y->ip)
        return x->ip < y->ip ? -1 : 1;
    return (x->port > y->port) - (x->port < y->port);
}

static void append(char *buf, size_t size, const char *text)
{
    size_t len = strlen(buf), tl = strlen(text);
    for (const char *f = strstr(buf, text); f; f = strstr(f + 1, text))
        if ((f == buf || f[-1] == ' ') && (f[tl] == ',' || f[tl] == '\0'))
            return; /* a second address in the same subnet */
    if (len + 1 < size)
        snprintf(buf + len, size - len, "%s%s", len ? ", " : "", text);
}

int lpz_dist_discover(int first_port, int n_ports, int timeout_ms, int flags, lpz_dist_scan *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    if (first_port < 1 || n_ports < 1 || first_port + n_ports - 1 > 65535)
        return lpz_error_set(err, LPZ_EINVAL, "auto_discover: ports %d-%d out of range", first_port,
                             first_port + n_ports - 1);
    uint32_t *hosts = NULL;
    int n_hosts = 0, cap_hosts = 0, rc = LPZ_OK;
    probe *p = NULL;
    struct ifaddrs *ifs = NULL;
    if ((flags & LPZ_DIST_DISCOVER_LOOPBACK) || getifaddrs(&ifs) != 0)
        ifs = NULL; /* then 127.0.0.1 only */
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        uint32_t ip = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        uint32_t mask = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
        int prefix = __builtin_popcount(mask);
        char a[16], text[96];
        lpz_dist_ip_string(ip & mask, a, sizeof a);
        snprintf(text, sizeof text, "%s %s/%d", i->ifa_name, a, prefix);
        if (out->n_own < LPZ_DIST_DISCOVER_MAX_OWN)
            out->own[out->n_own++] = (lpz_dist_subnet){ip, mask};
        int cnt = lpz_dist_subnet_hosts(ip, mask, NULL, 0);
        if (cnt < 0) {
            /* a large subnet (a Docker network is a /16): the /22 around this
             * machine, where addresses handed out in order are */
            append(out->narrowed, sizeof out->narrowed, text);
            mask |= 0xfffffc00u;
            cnt = lpz_dist_subnet_hosts(ip, mask, NULL, 0);
            lpz_dist_ip_string(ip & mask, a, sizeof a);
            snprintf(text, sizeof text, "%s %s/22 of /%d", i->ifa_name, a, prefix);
        }
        if (n_hosts + cnt > cap_hosts) {
            int nc = (n_hosts + cnt) * 2;
            uint32_t *h = realloc(hosts, sizeof *h * (size_t)nc);
            if (!h) {
                rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
                goto done;
            }
            hosts = h;
            cap_hosts = nc;
        }
        n_hosts += lpz_dist_subnet_hosts(ip, mask, hosts + n_hosts, cnt);
        append(out->nets, sizeof out->nets, text);
    }
    append(out->nets, sizeof out->nets, "lo 127.0.0.1");
    {
        uint32_t *h = realloc(hosts, sizeof *h * (size_t)(n_hosts + 1));
        if (!h) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
            goto done;
        }
        hosts = h;
        hosts[n_hosts++] = LOOPBACK;
    }
    qsort(hosts, (size_t)n_hosts, sizeof *hosts, cmp_u32);
    int u = 0;
    for (int i = 0; i < n_hosts; i++)
        if (!u || hosts[i] != hosts[u - 1])
            hosts[u++] = hosts[i];
    n_hosts = u;
    out->n_hosts = n_hosts;

    /* The first port on every host, then the other ports on the hosts that
     * answered (a refused connection says the host is there). */
    size_t np = (size_t)n_hosts * (size_t)n_ports;
    p = calloc(np, sizeof *p);
    if (!p) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_hosts; i++)
        p[i] = (probe){hosts[i], first_port, P_PENDING};
    if ((rc = run_probes(p, n_hosts, timeout_ms, err)))
        goto done;
    int n2 = n_hosts;
    for (int i = 0; i < n_hosts; i++) {
        if (p[i].state != P_OPEN && p[i].state != P_REFUSED)
            continue;
        out->n_alive++;
        for (int k = 1; k < n_ports; k++)
            p[n2++] = (probe){p[i].ip, first_port + k, P_PENDING};
    }
    if (n2 > n_hosts && (rc = run_probes(p + n_hosts, n2 - n_hosts, timeout_ms, err)))
        goto done;
    int n_open = 0;
    for (int i = 0; i < n2; i++)
        n_open += p[i].state == P_OPEN;
    out->open = calloc((size_t)(n_open ? n_open : 1), sizeof *out->open);
    if (!out->open) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < n2; i++) {
        if (p[i].state != P_OPEN)
            continue;
        lpz_dist_endpoint *e = &out->open[out->n_open++];
        e->ip = p[i].ip;
        e->port = p[i].port;
        e->loopback = p[i].ip == LOOPBACK;
        e->own = e->loopback;
        for (int k = 0; k < out->n_own && !e->own; k++)
            e->own = out->own[k].ip == p[i].ip;
    }
    qsort(out->open, (size_t)out->n_open, sizeof *out->open, cmp_endpoint);
done:
    if (ifs)
        freeifaddrs(ifs);
    free(hosts);
    free(p);
    if (rc)
        lpz_dist_scan_free(out);
    return rc;
}

void lpz_dist_scan_free(lpz_dist_scan *s)
{
    free(s->open);
    s->open = NULL;
    s->n_open = 0;
}

/* the own address of endpoint e's subnet mask (0 when unknown) */
static uint32_t mask_of(uint32_t ip, const lpz_dist_subnet *own, int n_own)
{
    for (int k = 0; k < n_own; k++)
        if (own[k].ip == ip)
            return own[k].mask;
    return 0;
}

int lpz_dist_discover_pick(lpz_dist_endpoint *e, int n, const lpz_dist_subnet *own, int n_own)
{
    int remote = 0, used = 0;
    for (int i = 0; i < n; i++) {
        e[i].use = e[i].loopback_only = 0;
        remote |= e[i].instance && !e[i].own;
    }
    /* Pass 0: clients with an address on another machine, used by the
     * first such address; pass 1: this machine's clients. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < n; i++) {
            if (!e[i].instance)
                continue;
            int first_of_client = 1, other = -1, lo = -1, best = -1, best_n = -1;
            for (int k = 0; k < i && first_of_client; k++)
                first_of_client = e[k].instance != e[i].instance;
            if (!first_of_client)
                continue;
            for (int k = i; k < n; k++) {
                if (e[k].instance != e[i].instance)
                    continue;
                if (!e[k].own && other < 0)
                    other = k;
                if (e[k].loopback && lo < 0)
                    lo = k;
                if (e[k].own && !e[k].loopback) {
                    /* how many remote clients its subnet holds */
                    uint32_t m = mask_of(e[k].ip, own, n_own);
                    int cnt = 0;
                    for (int r = 0; r < n; r++)
                        cnt += e[r].use && !e[r].own && m && (e[r].ip & m) == (e[k].ip & m);
                    if (cnt > best_n) {
                        best = k;
                        best_n = cnt;
                    }
                }
            }
            if (pass == 0) {
                if (other >= 0)
                    e[other].use = 1;
                continue;
            }
            if (other >= 0)
                continue;
            if (remote) {
                if (best >= 0)
                    e[best].use = 1;
                else if (lo >= 0)
                    e[lo].loopback_only = 1;
            } else if (lo >= 0) {
                e[lo].use = 1;
            } else if (best >= 0) {
                e[best].use = 1;
            }
        }
    for (int i = 0; i < n; i++)
        used += e[i].use;
    return used;
}
