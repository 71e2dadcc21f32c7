/* tests/transport/test_peer.c - cell server and neighbour clients over
 * nng inproc:// and loopback tcp://: latest-snapshot semantics, no torn
 * reads under concurrent publishing, timeouts, authentication, and a
 * server that survives garbage. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <lpz/log.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "transport/individual.h"
#include "transport/peer.h"
#include "transport/wire.h"

#define EXP 0xabcdef0123456789ull

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* Log lines from the server, counted (the server must log bad requests). */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int refused_lines;
static void count_sink(void *user, lpz_log_level level, const char *line)
{
    (void)user;
    if (level == LPZ_LOG_WARN && strstr(line, "refused")) {
        pthread_mutex_lock(&log_lock);
        refused_lines++;
        pthread_mutex_unlock(&log_lock);
    }
}
static int refused_logged(void)
{
    pthread_mutex_lock(&log_lock);
    int n = refused_lines;
    pthread_mutex_unlock(&log_lock);
    return n;
}

/* A deterministic population for iteration `it`: one generator and one
 * discriminator of n parameters whose every value depends on it, so a
 * payload mixing two snapshots cannot pass the comparison. */
static uint8_t *make_payload(uint64_t it, size_t n, size_t *len)
{
    float *f = malloc(3 * n * sizeof(float) * 2);
    for (size_t i = 0; i < 6 * n; i++)
        f[i] = (float)it + (float)i * 1e-3f;
    lpz_individual ind[2];
    for (int k = 0; k < 2; k++) {
        memset(&ind[k], 0, sizeof ind[k]);
        ind[k].role = k ? LPZ_ROLE_DISCRIMINATOR : LPZ_ROLE_GENERATOR;
        ind[k].id = it * 2 + (uint64_t)k;
        ind[k].learning_rate = 2e-4;
        ind[k].param_count = n;
        ind[k].params = f + 3 * n * (size_t)k;
        ind[k].adam_m = ind[k].params + n;
        ind[k].adam_v = ind[k].params + 2 * n;
    }
    size_t need;
    lpz_error e;
    assert_int_equal(lpz_population_size(ind, 2, &need, &e), LPZ_OK);
    uint8_t *buf = malloc(need);
    assert_int_equal(lpz_population_encode(1, it, ind, 2, buf, need, len, &e), LPZ_OK);
    free(f);
    return buf;
}

static void check_payload(const uint8_t *p, size_t len, size_t n, uint64_t *it_out)
{
    lpz_population_view v;
    lpz_error e;
    if (lpz_population_parse(p, len, NULL, &v, &e) != LPZ_OK)
        fail_msg("fetched population does not parse: %s", e.message);
    size_t want_len;
    uint8_t *want = make_payload(v.iteration, n, &want_len);
    assert_int_equal(len, want_len);
    if (memcmp(p, want, len) != 0)
        fail_msg("fetched population of iteration %llu differs from the published one (torn read?)",
                 (unsigned long long)v.iteration);
    free(want);
    if (it_out)
        *it_out = v.iteration;
}

static void url_for(char *buf, size_t size, uint32_t cell)
{
    lpz_error e;
    /* pid in the experiment id keeps parallel test runs apart */
    assert_int_equal(lpz_peer_inproc_url(buf, size, EXP ^ (uint64_t)getpid(), cell, &e), LPZ_OK);
}

static void server_serves_the_latest_published_population(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, 1);
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start(url, EXP, NULL, &s, &e), LPZ_OK);
    assert_string_equal(lpz_peer_server_url(s), url);
    lpz_peer_client *c;
    assert_int_equal(lpz_peer_client_open(url, EXP, NULL, 2, &c, &e), LPZ_OK);
    const uint8_t *p;
    size_t len;

    int before = refused_logged();
    assert_int_equal(lpz_peer_client_fetch(c, 5000, &p, &len, &e), LPZ_ENET); /* nothing published yet */
    assert_contains(e.message, "not published");
    assert_contains(e.where, url);
    assert_true(refused_logged() > before);

    for (uint64_t it = 1; it <= 3; it++) {
        size_t plen;
        uint8_t *pl = make_payload(it, 100, &plen);
        assert_int_equal(lpz_peer_server_publish(s, pl, plen, &e), LPZ_OK);
        free(pl);
        uint64_t got;
        assert_int_equal(lpz_peer_client_fetch(c, 5000, &p, &len, &e), LPZ_OK);
        check_payload(p, len, 100, &got);
        assert_int_equal(got, it);
    }
    /* ownership-passing publish, and a malformed one is refused */
    size_t plen;
    uint8_t *pl = make_payload(4, 100, &plen);
    assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);
    uint8_t junk[5] = {1, 2, 3, 4, 5};
    assert_int_equal(lpz_peer_server_publish(s, junk, sizeof junk, &e), LPZ_EFORMAT);
    uint64_t got;
    assert_int_equal(lpz_peer_client_fetch(c, 5000, &p, &len, &e), LPZ_OK);
    check_payload(p, len, 100, &got);
    assert_int_equal(got, 4);

    lpz_peer_server_stats st;
    lpz_peer_server_get_stats(s, &st);
    assert_int_equal(st.served, 4);
    assert_int_equal(st.refused, 1);
    lpz_peer_client_close(c);
    lpz_peer_server_stop(s);
}

/* A trainer releases a reply as soon as it has decoded it: releasing
 * (twice, or with nothing fetched) is harmless and the next fetch works. */
static void client_releases_its_reply_on_request(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, 7);
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start(url, EXP, NULL, &s, &e), LPZ_OK);
    lpz_peer_client *c;
    assert_int_equal(lpz_peer_client_open(url, EXP, NULL, 2, &c, &e), LPZ_OK);
    lpz_peer_client_release(c); /* nothing fetched yet */
    lpz_peer_client_release(NULL);
    for (uint64_t it = 1; it <= 2; it++) {
        size_t plen, len;
        const uint8_t *p;
        uint64_t got;
        uint8_t *pl = make_payload(it, 1000, &plen);
        assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);
        assert_int_equal(lpz_peer_client_fetch(c, 5000, &p, &len, &e), LPZ_OK);
        check_payload(p, len, 1000, &got);
        assert_int_equal(got, it);
        lpz_peer_client_release(c);
        lpz_peer_client_release(c);
    }
    lpz_peer_client_close(c); /* nothing left to free: ASan/valgrind see no double free */
    lpz_peer_server_stop(s);
}

/* ---- concurrency ---- */

#define N_CLIENTS 4
#define N_FETCH 30
#define N_PARAMS 5000 /* 2 individuals x 3 x 5000 floats = 120 kB per snapshot */

typedef struct fetcher {
    const char *url;
    int ok;
    uint64_t seen_min, seen_max;
    char failure[1200];
} fetcher;

static void *fetch_loop(void *arg)
{
    fetcher *f = arg;
    lpz_peer_client *c;
    lpz_error e;
    if (lpz_peer_client_open(f->url, EXP, "shared", -1, &c, &e) != LPZ_OK) {
        snprintf(f->failure, sizeof f->failure, "open: %s", e.message);
        return NULL;
    }
    f->seen_min = UINT64_MAX;
    for (int i = 0; i < N_FETCH; i++) {
        const uint8_t *p;
        size_t len;
        if (lpz_peer_client_fetch(c, 10000, &p, &len, &e) != LPZ_OK) {
            snprintf(f->failure, sizeof f->failure, "fetch %d: %s", i, e.message);
            break;
        }
        /* check without cmocka asserts (not thread-safe): compare to the
         * deterministic snapshot of the iteration it claims */
        lpz_population_view v;
        if (lpz_population_parse(p, len, NULL, &v, &e) != LPZ_OK) {
            snprintf(f->failure, sizeof f->failure, "parse: %s", e.message);
            break;
        }
        size_t wl;
        uint8_t *want = make_payload(v.iteration, N_PARAMS, &wl);
        int same = wl == len && memcmp(want, p, len) == 0;
        free(want);
        if (!same) {
            snprintf(f->failure, sizeof f->failure, "torn read of iteration %llu", (unsigned long long)v.iteration);
            break;
        }
        if (v.iteration < f->seen_min)
            f->seen_min = v.iteration;
        if (v.iteration > f->seen_max)
            f->seen_max = v.iteration;
        f->ok++;
    }
    lpz_peer_client_close(c);
    return NULL;
}

static void concurrent_clients_never_see_a_torn_population(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, 2);
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start(url, EXP, "shared", &s, &e), LPZ_OK);
    size_t plen;
    uint8_t *pl = make_payload(0, N_PARAMS, &plen);
    assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);

    fetcher f[N_CLIENTS];
    pthread_t t[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        memset(&f[i], 0, sizeof f[i]);
        f[i].url = url;
        assert_int_equal(pthread_create(&t[i], NULL, fetch_loop, &f[i]), 0);
    }
    /* Publish new snapshots while the clients fetch. */
    for (uint64_t it = 1; it <= 40; it++) {
        pl = make_payload(it, N_PARAMS, &plen);
        assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);
    }
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(t[i], NULL);
        if (f[i].failure[0])
            fail_msg("client %d: %s", i, f[i].failure);
        assert_int_equal(f[i].ok, N_FETCH);
        assert_true(f[i].seen_max <= 40);
    }
    lpz_peer_server_stats st;
    lpz_peer_server_get_stats(s, &st);
    assert_int_equal(st.served, N_CLIENTS * N_FETCH);
    lpz_peer_server_stop(s);
}

/* ---- tcp ---- */

static void tcp_loopback_carries_populations_larger_than_nng_default_limit(void **state)
{
    (void)state;
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start("tcp://127.0.0.1:0", EXP, "tcp secret", &s, &e), LPZ_OK);
    const char *url = lpz_peer_server_url(s);
    assert_non_null(strstr(url, "tcp://127.0.0.1:"));
    assert_null(strstr(url, ":0\0"));
    assert_int_not_equal(atoi(strrchr(url, ':') + 1), 0);
    size_t plen;
    uint8_t *pl = make_payload(7, 60000, &plen); /* 1.44 MB > nng default 1 MiB */
    assert_true(plen > (1u << 20));
    assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);

    lpz_peer_client *c;
    assert_int_equal(lpz_peer_client_open(url, EXP, "tcp secret", 0, &c, &e), LPZ_OK);
    for (int i = 0; i < 3; i++) {
        const uint8_t *p;
        size_t len;
        uint64_t got;
        if (lpz_peer_client_fetch(c, 10000, &p, &len, &e) != LPZ_OK)
            fail_msg("tcp fetch: %s: %s", e.where, e.message);
        check_payload(p, len, 60000, &got);
        assert_int_equal(got, 7);
    }
    lpz_peer_client_close(c);

    /* one-shot fetch */
    uint8_t *copy;
    size_t clen;
    assert_int_equal(lpz_peer_fetch(url, EXP, "tcp secret", 10000, &copy, &clen, &e), LPZ_OK);
    check_payload(copy, clen, 60000, NULL);
    free(copy);
    lpz_peer_server_stop(s);
}

static void fetch_from_absent_server_times_out(void **state)
{
    (void)state;
    /* A port that was just free: bind, learn it, stop. */
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start("tcp://127.0.0.1:0", EXP, NULL, &s, &e), LPZ_OK);
    char url[128];
    snprintf(url, sizeof url, "%s", lpz_peer_server_url(s));
    lpz_peer_server_stop(s);

    lpz_peer_client *c;
    assert_int_equal(lpz_peer_client_open(url, EXP, NULL, 3, &c, &e), LPZ_OK);
    const uint8_t *p;
    size_t len;
    assert_int_equal(lpz_peer_client_fetch(c, 300, &p, &len, &e), LPZ_ETIMEOUT);
    assert_contains(e.message, url);
    assert_null(p);
    assert_int_equal(lpz_peer_client_fetch(c, 0, &p, &len, &e), LPZ_EINVAL);
    lpz_peer_client_close(c);

    char iurl[128];
    url_for(iurl, sizeof iurl, 99); /* nobody listens here */
    uint8_t *copy;
    assert_int_equal(lpz_peer_fetch(iurl, EXP, NULL, 200, &copy, &len, &e), LPZ_ETIMEOUT);
    assert_contains(e.message, iurl);
}

static void client_reconnects_to_a_restarted_server(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, 3);
    lpz_peer_server *s;
    lpz_error e;
    lpz_peer_client *c;
    /* the client may start before its neighbour */
    assert_int_equal(lpz_peer_client_open(url, EXP, NULL, 4, &c, &e), LPZ_OK);
    for (uint64_t round = 1; round <= 2; round++) {
        assert_int_equal(lpz_peer_server_start(url, EXP, NULL, &s, &e), LPZ_OK);
        size_t plen;
        uint8_t *pl = make_payload(round, 10, &plen);
        assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);
        const uint8_t *p;
        size_t len;
        uint64_t got;
        if (lpz_peer_client_fetch(c, 10000, &p, &len, &e) != LPZ_OK)
            fail_msg("round %llu: %s", (unsigned long long)round, e.message);
        check_payload(p, len, 10, &got);
        assert_int_equal(got, round);
        lpz_peer_server_stop(s);
    }
    lpz_peer_client_close(c);
}

/* ---- refusals ---- */

static void foreign_and_unauthenticated_clients_are_refused(void **state)
{
    (void)state;
    char url[128];
    url_for(url, sizeof url, 4);
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start(url, EXP, "right", &s, &e), LPZ_OK);
    size_t plen;
    uint8_t *pl = make_payload(1, 10, &plen);
    assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);
    struct {
        uint64_t exp;
        const char *secret;
    } bad[] = {{EXP, "wrong"}, {EXP, NULL}, {EXP + 1, "right"}};
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *p;
        size_t len;
        lpz_peer_client *c;
        assert_int_equal(lpz_peer_client_open(url, bad[i].exp, bad[i].secret, 0, &c, &e), LPZ_OK);
        int rc = lpz_peer_client_fetch(c, 5000, &p, &len, &e);
        if (rc != LPZ_ENET)
            fail_msg("case %zu: rc %d (%s), expected LPZ_ENET", i, rc, e.message);
        lpz_peer_client_close(c);
    }
    lpz_peer_server_stats st;
    lpz_peer_server_get_stats(s, &st);
    assert_int_equal(st.refused, 3);
    assert_int_equal(st.served, 0);
    uint8_t *copy;
    size_t len;
    assert_int_equal(lpz_peer_fetch(url, EXP, "right", 5000, &copy, &len, &e), LPZ_OK);
    free(copy);
    lpz_peer_server_stop(s);
}

/* The next reply on raw, opened with rx: an ERROR frame; returns its experiment id. */
static uint64_t recv_error_reply(nng_socket raw, lpz_wire_ctx *rx)
{
    uint8_t *rep;
    size_t rlen;
    lpz_error e;
    assert_int_equal(nng_recv(raw, &rep, &rlen, NNG_FLAG_ALLOC), 0);
    lpz_wire_header h;
    const uint8_t *p;
    assert_int_equal(lpz_wire_open(rx, rep, rlen, &h, &p, &e), LPZ_OK);
    assert_int_equal(h.type, LPZ_MSG_ERROR);
    nng_free(rep, rlen);
    return h.experiment_id;
}

static void server_stays_usable_after_garbage_requests(void **state)
{
    (void)state;
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start("tcp://127.0.0.1:0", EXP, NULL, &s, &e), LPZ_OK);
    const char *url = lpz_peer_server_url(s);
    size_t plen;
    uint8_t *pl = make_payload(5, 10, &plen);
    assert_int_equal(lpz_peer_server_publish_take(s, pl, plen, &e), LPZ_OK);

    /* Random bytes through a proper req socket: each gets an ERROR reply. */
    nng_socket raw;
    assert_int_equal(nng_req0_open(&raw), 0);
    nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 5000);
    assert_int_equal(nng_dial(raw, url, NULL, 0), 0);
    srand(99);
    lpz_wire_ctx rx;
    lpz_wire_ctx_init(&rx, EXP, NULL);
    int before = refused_logged();
    for (int i = 0; i < 50; i++) {
        uint8_t junk[300];
        size_t n = (size_t)(rand() % (int)sizeof junk);
        for (size_t k = 0; k < n; k++)
            junk[k] = (uint8_t)rand();
        if (i % 3 == 0 && n >= 6)
            memcpy(junk, "LPZ\0\x01\x00", 6); /* get past the magic and version */
        assert_int_equal(nng_send(raw, junk, n, 0), 0);
        recv_error_reply(raw, &rx);
    }
    /* Oversized request (above the server's receive limit): dropped by nng,
     * the requester just times out. */
    uint8_t *huge = calloc(1, 100000);
    assert_int_equal(nng_send(raw, huge, 100000, 0), 0);
    free(huge);
    nng_close(raw);
    assert_true(refused_logged() > before);

    /* Raw bytes on the TCP port (not even the SP handshake). */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(strrchr(url, ':') + 1))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char junk[1000];
        memset(junk, 0xA5, sizeof junk);
        ssize_t w = write(fd, junk, sizeof junk);
        (void)w;
    }
    close(fd);

    uint8_t *copy;
    size_t len;
    assert_int_equal(lpz_peer_fetch(url, EXP, NULL, 5000, &copy, &len, &e), LPZ_OK);
    check_payload(copy, len, 10, NULL);
    free(copy);
    lpz_peer_server_stats st;
    lpz_peer_server_get_stats(s, &st);
    assert_int_equal(st.refused, 50);
    lpz_peer_server_stop(s);
}

/* A request that shows no experiment (an ERROR frame of experiment 0 passes the wire check, as a refusal's form)
 * is refused without this cell's experiment id: without a secret, the id is what a GET_POPULATION must carry
 * (the reply was sealed with it). */
static void a_request_of_experiment_0_learns_no_experiment_id(void **state)
{
    (void)state;
    lpz_peer_server *s;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start("tcp://127.0.0.1:0", EXP, NULL, &s, &e), LPZ_OK);
    nng_socket raw;
    assert_int_equal(nng_req0_open(&raw), 0);
    nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 5000);
    assert_int_equal(nng_dial(raw, lpz_peer_server_url(s), NULL, 0), 0);
    lpz_wire_ctx tx, any;
    lpz_wire_ctx_init(&tx, 0, NULL);
    lpz_wire_ctx_init(&any, 0, NULL);
    static const unsigned types[] = {LPZ_MSG_ERROR, LPZ_MSG_POPULATION, LPZ_MSG_GET_POPULATION};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        unsigned type = types[t];
        uint8_t payload[LPZ_WIRE_MAX_ERROR], frame[LPZ_WIRE_HEADER_SIZE + sizeof payload + LPZ_WIRE_TAG_SIZE];
        size_t pl = type == LPZ_MSG_ERROR ? lpz_wire_error_encode(payload, 1, "hello") : 0;
        memcpy(frame + LPZ_WIRE_HEADER_SIZE, payload, pl);
        assert_int_equal(lpz_wire_seal(&tx, type, 77, frame, pl, &e), LPZ_OK);
        assert_int_equal(nng_send(raw, frame, lpz_wire_frame_size(&tx, pl), 0), 0);
        assert_int_equal(recv_error_reply(raw, &any), 0);
    }
    nng_close(raw);
    lpz_peer_server_stop(s);
}

static void bad_urls_are_refused_with_a_hint(void **state)
{
    (void)state;
    lpz_peer_server *s;
    lpz_peer_client *c;
    lpz_error e;
    assert_int_equal(lpz_peer_server_start("carrier-pigeon://coop", EXP, NULL, &s, &e), LPZ_EINVAL);
    assert_contains(e.where, "carrier-pigeon://coop");
    assert_contains(e.hint, "tcp://host:port");
    assert_null(s);
    assert_int_equal(lpz_peer_client_open("tcp://", EXP, NULL, 0, &c, &e), LPZ_EINVAL);
    assert_null(c);

    lpz_peer_server *a;
    assert_int_equal(lpz_peer_server_start("tcp://127.0.0.1:0", EXP, NULL, &a, &e), LPZ_OK);
    assert_int_equal(lpz_peer_server_start(lpz_peer_server_url(a), EXP, NULL, &s, &e), LPZ_ENET);
    assert_contains(e.hint, "choose another port");
    lpz_peer_server_stop(a);
    lpz_peer_server_stop(NULL);
    lpz_peer_client_close(NULL);
}

static int setup(void **state)
{
    (void)state;
    lpz_log_set_sink(count_sink, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(server_serves_the_latest_published_population),
        cmocka_unit_test(client_releases_its_reply_on_request),
        cmocka_unit_test(concurrent_clients_never_see_a_torn_population),
        cmocka_unit_test(tcp_loopback_carries_populations_larger_than_nng_default_limit),
        cmocka_unit_test(fetch_from_absent_server_times_out),
        cmocka_unit_test(client_reconnects_to_a_restarted_server),
        cmocka_unit_test(foreign_and_unauthenticated_clients_are_refused),
        cmocka_unit_test(server_stays_usable_after_garbage_requests),
        cmocka_unit_test(a_request_of_experiment_0_learns_no_experiment_id),
        cmocka_unit_test(bad_urls_are_refused_with_a_hint),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
