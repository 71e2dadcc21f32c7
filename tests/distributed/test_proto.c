/* tests/distributed/test_proto.c - control payloads: what is built is read
 * back unchanged; truncated, over-long, unsafe and out-of-range payloads
 * are refused with a message; proofs depend on secret and nonce. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "distributed/proto.h"

/* The payload of a built message (after the frame header). */
static const uint8_t *payload(lpz_dist_msg *m, size_t *n)
{
    *n = m->cur.pos;
    return m->buf + LPZ_WIRE_HEADER_SIZE;
}

static void start_round_trip_and_truncation(void **state)
{
    (void)state;
    const char *urls[4] = {"tcp://a:1", "tcp://b:2", "tcp://c:3", "tcp://d:4"};
    lpz_dist_start s = {.experiment = 77, .grid_k = 2, .cell = 3, .fetch_timeout_ms = 900, .n_cells = 4,
                        .config = "general: {}\n", .config_len = 12, .checkpoint = (const uint8_t *)"CK",
                        .checkpoint_len = 2};
    memset(s.nonce, 5, sizeof s.nonce);
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    lpz_dist_start_put(&m, &s, urls);
    size_t n;
    const uint8_t *p = payload(&m, &n);
    lpz_dist_start d;
    lpz_error e;
    assert_int_equal(lpz_dist_start_decode(p, n, &d, &e), LPZ_OK);
    assert_int_equal(d.experiment, 77);
    assert_int_equal(d.cell, 3);
    assert_string_equal(d.urls[2], "tcp://c:3");
    assert_int_equal(d.config_len, 12);
    assert_memory_equal(d.checkpoint, "CK", 2);
    lpz_dist_start_free(&d);
    /* Every shorter prefix is refused. */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(lpz_dist_start_decode(p, k, &d, &e), LPZ_EFORMAT);
    lpz_dist_msg_free(&m);

    /* A cell outside the grid. */
    s.cell = 4;
    lpz_dist_msg_init(&m);
    lpz_dist_start_put(&m, &s, urls);
    p = payload(&m, &n);
    assert_int_equal(lpz_dist_start_decode(p, n, &d, &e), LPZ_EFORMAT);
    assert_non_null(strstr(e.message, "cell 4 of a 2x2 grid"));
    lpz_dist_msg_free(&m);
}

static void files_refuse_unsafe_names(void **state)
{
    (void)state;
    const char *bad[] = {"../x", "/etc/passwd", "a//b", "master/./x", "a/../../b", "sp ace", "", "x/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(lpz_dist_path_ok(bad[i]));
    assert_true(lpz_dist_path_ok("master/3/generator-1.safetensors"));
    assert_true(lpz_dist_path_ok("metrics.csv"));

    lpz_dist_files h = {.cell = 1, .iterations = 3, .best_g_fitness = 0.5, .score = NAN, .n_files = 1};
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    lpz_dist_files_put_header(&m, &h);
    lpz_dist_file_put(&m, "../../etc/x", "hi", 2);
    size_t n;
    const uint8_t *p = payload(&m, &n);
    lpz_dist_files f;
    lpz_error e;
    assert_int_equal(lpz_dist_files_decode(p, n, &f, &e), LPZ_EFORMAT);
    assert_non_null(strstr(e.message, "unsafe file name"));
    lpz_dist_msg_free(&m);

    lpz_dist_msg_init(&m);
    lpz_dist_files_put_header(&m, &h);
    lpz_dist_file_put(&m, "master/1/mixture.yml", "hi", 2);
    p = payload(&m, &n);
    assert_int_equal(lpz_dist_files_decode(p, n, &f, &e), LPZ_OK);
    assert_int_equal(f.n_files, 1);
    assert_int_equal(f.files[0].size, 2);
    assert_true(isnan(f.score));
    lpz_dist_files_free(&f);
    /* A count larger than what arrived is refused before allocating. */
    ((uint8_t *)p)[25] = 0xff;
    assert_int_equal(lpz_dist_files_decode(p, n, &f, &e), LPZ_EFORMAT);
    lpz_dist_msg_free(&m);
}

static void status_and_challenge_round_trip(void **state)
{
    (void)state;
    lpz_dist_status s = {.state = LPZ_DIST_FAILED, .cell = 2, .experiment = 9, .iteration = 4,
                         .checkpoint_version = 3};
    strcpy(s.text, "out of memory");
    strcpy(s.data, "sample shape [16]");
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    lpz_dist_status_put(&m, &s);
    size_t n;
    const uint8_t *p = payload(&m, &n);
    lpz_dist_status d;
    lpz_error e;
    assert_int_equal(lpz_dist_status_decode(p, n, &d, &e), LPZ_OK);
    assert_string_equal(d.text, "out of memory");
    assert_string_equal(d.data, "sample shape [16]");
    assert_int_equal(d.checkpoint_version, 3);
    /* an older client's reply has no data string */
    assert_int_equal(lpz_dist_status_decode(p, n - 2 - strlen(s.data), &d, &e), LPZ_OK);
    assert_string_equal(d.data, "");
    ((uint8_t *)p)[0] = 9; /* unknown state */
    assert_int_equal(lpz_dist_status_decode(p, n, &d, &e), LPZ_EFORMAT);
    lpz_dist_msg_free(&m);

    lpz_dist_challenge c = {.state = 0, .secured = 1, .cell_port = 6001, .instance = 0x8877665544332211u};
    strcpy(c.name, "node-1");
    lpz_dist_msg_init(&m);
    lpz_dist_challenge_put(&m, &c);
    lpz_dist_put_u8(&m, 0); /* trailing byte */
    p = payload(&m, &n);
    lpz_dist_challenge dc;
    assert_int_equal(lpz_dist_challenge_decode(p, n, &dc, &e), LPZ_EFORMAT);
    assert_non_null(strstr(e.message, "trailing"));
    assert_int_equal(lpz_dist_challenge_decode(p, n - 1, &dc, &e), LPZ_OK);
    assert_string_equal(dc.name, "node-1");
    assert_int_equal(dc.cell_port, 6001);
    assert_true(dc.instance == 0x8877665544332211u);
    /* without its instance (a client of before) it is truncated */
    assert_int_equal(lpz_dist_challenge_decode(p, n - 9, &dc, &e), LPZ_EFORMAT);
    assert_non_null(strstr(e.message, "CHALLENGE"));
    lpz_dist_msg_free(&m);
}

static void proofs_depend_on_secret_and_nonce(void **state)
{
    (void)state;
    uint8_t n1[LPZ_DIST_NONCE] = {1}, n2[LPZ_DIST_NONCE] = {2}, a[32], b[32], c[32], z[32] = {0};
    lpz_dist_proof("s", "lpz master", n1, a);
    lpz_dist_proof("s", "lpz master", n2, b);
    lpz_dist_proof("t", "lpz master", n1, c);
    assert_memory_not_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    lpz_dist_proof("s", "lpz client", n1, b);
    assert_memory_not_equal(a, b, 32); /* the client's answer is not the master's proof replayed */
    lpz_dist_proof(NULL, "lpz master", n1, c);
    assert_memory_equal(c, z, 32);
}

static void control_types_stay_off_cell_sockets(void **state)
{
    (void)state;
    lpz_wire_ctx cell, ctl;
    lpz_wire_ctx_init(&cell, 0, NULL);
    lpz_wire_ctx_init_control(&ctl, 0, NULL);
    lpz_dist_msg m;
    lpz_dist_msg_init(&m);
    const uint8_t *f;
    size_t n;
    lpz_error e;
    assert_int_equal(lpz_dist_seal(&m, &cell, LPZ_MSG_HELLO, 1, &f, &n, &e), LPZ_EINVAL);
    assert_int_equal(lpz_dist_seal(&m, &ctl, LPZ_MSG_HELLO, 1, &f, &n, &e), LPZ_OK);
    lpz_wire_header h;
    const uint8_t *body;
    assert_int_equal(lpz_wire_open(&ctl, f, n, &h, &body, &e), LPZ_OK);
    assert_int_equal(lpz_wire_open(&cell, f, n, &h, &body, &e), LPZ_EFORMAT);
    assert_non_null(strstr(e.message, "HELLO"));
    lpz_dist_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_round_trip_and_truncation),
        cmocka_unit_test(files_refuse_unsafe_names),
        cmocka_unit_test(status_and_challenge_round_trip),
        cmocka_unit_test(proofs_depend_on_secret_and_nonce),
        cmocka_unit_test(control_types_stay_off_cell_sockets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
