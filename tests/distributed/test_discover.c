/* tests/distributed/test_discover.c - auto_discover's parts that need no
 * second machine: the addresses of a subnet, which of this machine's
 * endpoints are greeted, and a scan that finds a port listening on
 * loopback (tests/distributed/discover.sh runs it across namespaces). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "distributed/discover.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void subnet_hosts_leave_out_network_and_broadcast(void **state)
{
    (void)state;
    static uint32_t h[LPZ_DIST_DISCOVER_MAX_HOSTS];
    assert_int_equal(lpz_dist_subnet_hosts(IP(192, 0, 2, 77), 0xffffff00u, h, LPZ_DIST_DISCOVER_MAX_HOSTS), 254);
    assert_int_equal(h[0], IP(192, 0, 2, 1));
    assert_int_equal(h[253], IP(192, 0, 2, 254));
    /* a /31 has two hosts, a /32 one */
    assert_int_equal(lpz_dist_subnet_hosts(IP(10, 0, 0, 5), 0xfffffffeu, h, 8), 2);
    assert_int_equal(h[0], IP(10, 0, 0, 4));
    assert_int_equal(h[1], IP(10, 0, 0, 5));
    assert_int_equal(lpz_dist_subnet_hosts(IP(10, 0, 0, 5), 0xffffffffu, h, 8), 1);
    assert_int_equal(h[0], IP(10, 0, 0, 5));
    /* a /20 is the largest scanned; counting needs no room */
    assert_int_equal(lpz_dist_subnet_hosts(IP(10, 1, 17, 3), 0xfffff000u, NULL, 0), 4094);
    assert_int_equal(lpz_dist_subnet_hosts(IP(10, 1, 17, 3), 0xffffe000u, NULL, 0), -1);
    assert_int_equal(lpz_dist_subnet_hosts(IP(10, 1, 17, 3), 0xff000000u, NULL, 0), -1);
    /* the top of the address space does not wrap */
    assert_int_equal(lpz_dist_subnet_hosts(IP(255, 255, 255, 1), 0xffffff00u, h, 300), 254);
    assert_int_equal(h[253], IP(255, 255, 255, 254));
}

static lpz_dist_endpoint ep(uint32_t ip, int port, int own, uint64_t instance)
{
    return (lpz_dist_endpoint){.ip = ip, .port = port, .own = own, .loopback = ip == IP(127, 0, 0, 1),
                               .instance = instance};
}

static void check_pick(lpz_dist_endpoint *e, int n, const lpz_dist_subnet *own, int n_own, const int *use,
                       const int *lo_only, int used)
{
    assert_int_equal(lpz_dist_discover_pick(e, n, own, n_own), used);
    for (int i = 0; i < n; i++) {
        if (e[i].use != use[i] || e[i].loopback_only != lo_only[i])
            fail_msg("endpoint %d: use %d loopback_only %d, expected %d %d", i, e[i].use, e[i].loopback_only, use[i],
                     lo_only[i]);
    }
}

static void pick_one_machine(void **state)
{
    (void)state;
    lpz_dist_subnet own[] = {{IP(10, 0, 0, 1), 0xffffff00u}};
    /* sorted as the scan sorts them: 10.x before 127.0.0.1 */
    lpz_dist_endpoint e[] = {
        ep(IP(10, 0, 0, 1), 5000, 1, 0xa), /* a 0.0.0.0 client, also on loopback */
        ep(IP(10, 0, 0, 1), 5002, 1, 0xb), /* bound to 10.0.0.1 only */
        ep(IP(10, 0, 0, 1), 5005, 1, 0),   /* something else listens there */
        ep(IP(10, 0, 0, 9), 5000, 0, 0),   /* a NAS on another machine: not a client, no "remote" mode */
        ep(IP(127, 0, 0, 1), 5000, 1, 0xa),
        ep(IP(127, 0, 0, 1), 5001, 1, 0xc), /* loopback only */
    };
    int use[] = {0, 1, 0, 0, 1, 1}, lo[] = {0, 0, 0, 0, 0, 0};
    check_pick(e, 6, own, 1, use, lo, 3);
}

static void pick_with_other_machines(void **state)
{
    (void)state;
    /* a second interface with a lower address (a VPN /32) holds no client: the LAN address names this machine */
    lpz_dist_subnet own[] = {{IP(9, 9, 9, 9), 0xffffffffu}, {IP(10, 0, 0, 1), 0xffffff00u}};
    lpz_dist_endpoint e[] = {
        ep(IP(9, 9, 9, 9), 5000, 1, 0xa),
        ep(IP(10, 0, 0, 1), 5000, 1, 0xa),
        ep(IP(10, 0, 0, 2), 5000, 0, 0xd),
        ep(IP(10, 0, 0, 2), 5001, 0, 0xe),
        ep(IP(10, 0, 0, 12), 5000, 0, 0xd), /* machine 2's second address: the same client */
        ep(IP(127, 0, 0, 1), 5000, 1, 0xa),
        ep(IP(127, 0, 0, 1), 5001, 1, 0xc), /* loopback only: out of the others' reach */
    };
    int use[] = {0, 1, 1, 1, 0, 0, 0}, lo[] = {0, 0, 0, 0, 0, 0, 1};
    check_pick(e, 7, own, 2, use, lo, 3);
    assert_int_equal(lpz_dist_discover_pick(e, 0, own, 2), 0);
}

static void scan_finds_a_loopback_listener(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(IP(127, 0, 0, 1));
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    int port = ntohs(sa.sin_port);
    /* the port before it, then it: found on the second pass (127.0.0.1 answered) */
    lpz_dist_scan sc;
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_dist_discover(port - 1, 2, 500, LPZ_DIST_DISCOVER_LOOPBACK, &sc, &err), LPZ_OK);
    int found = 0;
    for (int i = 0; i < sc.n_open; i++)
        if (sc.open[i].loopback && sc.open[i].port == port) {
            found = 1;
            assert_true(sc.open[i].own);
        }
    assert_true(found);
    assert_int_equal(sc.n_hosts, 1); /* 127.0.0.1 only: a test does not scan the machine's network */
    assert_int_equal(sc.n_alive, 1);
    assert_non_null(strstr(sc.nets, "lo 127.0.0.1"));
    lpz_dist_scan_free(&sc);
    close(fd);
    assert_int_equal(lpz_dist_discover(65535, 2, 100, 0, &sc, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "out of range"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(subnet_hosts_leave_out_network_and_broadcast),
        cmocka_unit_test(pick_one_machine),
        cmocka_unit_test(pick_with_other_machines),
        cmocka_unit_test(scan_finds_a_loopback_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
