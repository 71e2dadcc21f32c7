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

static lpz_dist_endpoint ep(uint32_t ip, int port, int own)
{
    return (lpz_dist_endpoint){.ip = ip, .port = port, .own = own, .loopback = ip == IP(127, 0, 0, 1)};
}

static void pick_one_machine(void **state)
{
    (void)state;
    /* sorted as the scan sorts them: 10.x before 127.0.0.1 */
    lpz_dist_endpoint e[] = {
        ep(IP(10, 0, 0, 1), 5000, 1), /* a 0.0.0.0 client, also on loopback */
        ep(IP(10, 0, 0, 1), 5002, 1), /* bound to 10.0.0.1 only */
        ep(IP(127, 0, 0, 1), 5000, 1),
        ep(IP(127, 0, 0, 1), 5001, 1), /* loopback only */
    };
    assert_int_equal(lpz_dist_discover_pick(e, 4), 3);
    int use[] = {0, 1, 1, 1};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(e[i].use, use[i]);
        assert_int_equal(e[i].loopback_only, 0);
    }
}

static void pick_with_other_machines(void **state)
{
    (void)state;
    lpz_dist_endpoint e[] = {
        ep(IP(10, 0, 0, 1), 5000, 1), ep(IP(10, 0, 0, 2), 5000, 0), ep(IP(10, 0, 0, 2), 5001, 0),
        ep(IP(10, 9, 0, 1), 5000, 1), /* this machine's second interface: the same client */
        ep(IP(127, 0, 0, 1), 5000, 1), ep(IP(127, 0, 0, 1), 5001, 1),
    };
    assert_int_equal(lpz_dist_discover_pick(e, 6), 3);
    int use[] = {1, 1, 1, 0, 0, 0}, lo_only[] = {0, 0, 0, 0, 0, 1};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(e[i].use, use[i]);
        assert_int_equal(e[i].loopback_only, lo_only[i]);
    }
    assert_int_equal(lpz_dist_discover_pick(e, 0), 0);
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
    assert_int_equal(lpz_dist_discover(port - 1, 2, 500, &sc, &err), LPZ_OK);
    int found = 0;
    for (int i = 0; i < sc.n_open; i++)
        if (sc.open[i].loopback && sc.open[i].port == port) {
            found = 1;
            assert_true(sc.open[i].own);
        }
    assert_true(found);
    assert_true(sc.n_hosts >= 1 && sc.n_alive >= 1);
    assert_non_null(strstr(sc.nets, "lo 127.0.0.1"));
    lpz_dist_scan_free(&sc);
    close(fd);
    assert_int_equal(lpz_dist_discover(65535, 2, 100, &sc, &err), LPZ_EINVAL);
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
