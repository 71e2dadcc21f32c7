/* tests/transport/test_wire.c - frames, ERROR payloads and populations:
 * round trips are bit-exact, and every malformed input is refused with
 * the documented status and a message naming the problem. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "transport/individual.h"
#include "transport/wire.h"

#define EXP 0x1122334455667788ull

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* A frame of `type` with payload p[n] sealed under ctx; malloc'd. */
static uint8_t *frame_of(const lpz_wire_ctx *c, unsigned type, uint64_t rid, const void *p, size_t n, size_t *len)
{
    *len = lpz_wire_frame_size(c, n);
    uint8_t *f = malloc(*len);
    assert_non_null(f);
    if (n)
        memcpy(f + LPZ_WIRE_HEADER_SIZE, p, n);
    lpz_error e;
    assert_int_equal(lpz_wire_seal(c, type, rid, f, n, &e), LPZ_OK);
    return f;
}

static int open_frame(const lpz_wire_ctx *c, const uint8_t *f, size_t len, lpz_error *e)
{
    lpz_wire_header h;
    const uint8_t *p;
    lpz_error_clear(e);
    return lpz_wire_open(c, f, len, &h, &p, e);
}

static void st64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---------------- frames ---------------- */

static void frame_round_trip_keeps_every_header_field(void **state)
{
    (void)state;
    for (int keyed = 0; keyed < 2; keyed++) {
        lpz_wire_ctx c;
        lpz_wire_ctx_init(&c, EXP, keyed ? "s3cret" : NULL);
        const uint8_t pl[4] = {7, 0, 0, 0};
        size_t len;
        uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 0xdeadbeefcafeull, pl, 4, &len);
        assert_int_equal(len, 40 + 4 + (keyed ? 32 : 0));
        assert_memory_equal(f, "LPZ\0", 4);
        assert_int_equal(f[4], LPZ_WIRE_VERSION); /* little-endian u16 */
        assert_int_equal(f[5], 0);
        lpz_wire_header h;
        const uint8_t *p;
        lpz_error e;
        assert_int_equal(lpz_wire_open(&c, f, len, &h, &p, &e), LPZ_OK);
        assert_int_equal(h.version, LPZ_WIRE_VERSION);
        assert_int_equal(h.type, LPZ_MSG_GET_POPULATION);
        assert_int_equal(h.flags, keyed ? LPZ_WIRE_FLAG_HMAC : 0);
        assert_int_equal(h.experiment_id, EXP);
        assert_int_equal(h.request_id, 0xdeadbeefcafeull);
        assert_int_equal(h.payload_len, 4);
        assert_ptr_equal(p, f + 40);
        assert_memory_equal(p, pl, 4);
        free(f);
        lpz_wire_ctx_clear(&c);
    }
}

static void receiver_without_experiment_accepts_any_experiment(void **state)
{
    (void)state;
    lpz_wire_ctx tx, rx;
    lpz_wire_ctx_init(&tx, EXP, NULL);
    lpz_wire_ctx_init(&rx, 0, NULL);
    size_t len;
    uint8_t *f = frame_of(&tx, LPZ_MSG_GET_POPULATION, 1, NULL, 0, &len);
    lpz_error e;
    assert_int_equal(open_frame(&rx, f, len, &e), LPZ_OK);
    free(f);
}

static void truncated_header_is_refused(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, NULL, 0, &len);
    lpz_error e;
    for (size_t n = 0; n < LPZ_WIRE_HEADER_SIZE; n++) {
        assert_int_equal(open_frame(&c, f, n, &e), LPZ_EFORMAT);
        assert_contains(e.message, "truncated");
    }
    free(f);
}

static void wrong_magic_is_refused(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, NULL, 0, &len);
    f[2] = 'X';
    lpz_error e;
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    assert_contains(e.message, "bad magic");
    free(f);
}

static void other_protocol_version_is_named(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 42, NULL, 0, &len);
    f[4] = 2;
    lpz_error e;
    lpz_wire_header h;
    const uint8_t *p;
    assert_int_equal(lpz_wire_open(&c, f, len, &h, &p, &e), LPZ_ENET);
    assert_string_equal(e.message, "protocol version 2, expected 1");
    assert_int_equal(h.request_id, 42); /* so an ERROR reply can echo it */
    /* A short frame of another version is still named by its version. */
    assert_int_equal(open_frame(&c, f, 6, &e), LPZ_ENET);
    assert_string_equal(e.message, "protocol version 2, expected 1");
    free(f);
}

static void unknown_and_reserved_types_are_refused(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, NULL, 0, &len);
    lpz_error e;
    f[6] = 99;
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    assert_contains(e.message, "unknown message type 99");
    f[6] = LPZ_MSG_HEARTBEAT;
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    assert_contains(e.message, "HEARTBEAT");
    assert_contains(e.message, "reserved");
    /* and a sender cannot produce one */
    assert_int_equal(lpz_wire_seal(&c, LPZ_MSG_HEARTBEAT, 1, f, 0, &e), LPZ_EINVAL);
    free(f);
}

static void unknown_flags_are_refused(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, NULL, 0, &len);
    f[8] |= 0x4;
    lpz_error e;
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    assert_contains(e.message, "flags");
    free(f);
}

static void length_mismatch_is_refused(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    const uint8_t pl[4] = {1, 2, 3, 4};
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, pl, 4, &len);
    uint8_t *longer = calloc(1, len + 1);
    memcpy(longer, f, len);
    lpz_error e;
    assert_int_equal(open_frame(&c, f, len - 1, &e), LPZ_EFORMAT);
    assert_contains(e.message, "length mismatch");
    assert_int_equal(open_frame(&c, longer, len + 1, &e), LPZ_EFORMAT);
    assert_contains(e.message, "length mismatch");
    free(longer);
    free(f);
}

static void oversize_payloads_are_refused_before_reading(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, NULL, 0, &len);
    lpz_error e;
    st64(f + 32, 5); /* GET_POPULATION allows 4 */
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    assert_contains(e.message, "exceeds the limit");
    f[6] = LPZ_MSG_POPULATION;
    st64(f + 32, (uint64_t)1 << 40); /* would overflow a naive length sum */
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    assert_contains(e.message, "exceeds the limit");
    st64(f + 32, UINT64_MAX);
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    /* a sender is stopped too */
    uint8_t big[64] = {0};
    assert_int_equal(lpz_wire_seal(&c, LPZ_MSG_GET_POPULATION, 1, big, 8, &e), LPZ_EINVAL);
    free(f);
}

static void bad_checksum_is_refused(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, NULL);
    const uint8_t pl[4] = {1, 2, 3, 4};
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, pl, 4, &len);
    f[41] ^= 1;
    lpz_error e;
    assert_int_equal(open_frame(&c, f, len, &e), LPZ_EFORMAT);
    assert_contains(e.message, "checksum");
    free(f);
}

static void wrong_experiment_is_refused(void **state)
{
    (void)state;
    lpz_wire_ctx tx, rx;
    lpz_wire_ctx_init(&tx, EXP + 1, NULL);
    lpz_wire_ctx_init(&rx, EXP, NULL);
    size_t len;
    uint8_t *f = frame_of(&tx, LPZ_MSG_GET_POPULATION, 1, NULL, 0, &len);
    lpz_error e;
    assert_int_equal(open_frame(&rx, f, len, &e), LPZ_ENET);
    assert_contains(e.message, "experiment 1122334455667789");
    free(f);
}

static void hmac_is_required_checked_and_covers_the_header(void **state)
{
    (void)state;
    lpz_wire_ctx plain, keyed, other;
    lpz_wire_ctx_init(&plain, EXP, NULL);
    lpz_wire_ctx_init(&keyed, EXP, "correct horse");
    lpz_wire_ctx_init(&other, EXP, "battery staple");
    const uint8_t pl[4] = {9, 0, 0, 0};
    size_t len;
    lpz_error e;

    uint8_t *f = frame_of(&plain, LPZ_MSG_GET_POPULATION, 1, pl, 4, &len);
    assert_int_equal(open_frame(&keyed, f, len, &e), LPZ_ENET); /* missing tag */
    assert_contains(e.message, "no authentication tag");
    free(f);

    f = frame_of(&other, LPZ_MSG_GET_POPULATION, 1, pl, 4, &len);
    assert_int_equal(open_frame(&keyed, f, len, &e), LPZ_ENET); /* wrong secret */
    assert_contains(e.message, "HMAC mismatch");
    assert_int_equal(open_frame(&plain, f, len, &e), LPZ_ENET); /* tag nobody can check */
    assert_contains(e.message, "no shared secret");
    free(f);

    f = frame_of(&keyed, LPZ_MSG_GET_POPULATION, 7, pl, 4, &len);
    assert_int_equal(open_frame(&keyed, f, len, &e), LPZ_OK);
    f[24] ^= 1; /* request id: not covered by the CRC, covered by the tag */
    assert_int_equal(open_frame(&keyed, f, len, &e), LPZ_ENET);
    assert_contains(e.message, "HMAC mismatch");
    f[24] ^= 1;
    f[len - 1] ^= 0x10; /* the tag itself */
    assert_int_equal(open_frame(&keyed, f, len, &e), LPZ_ENET);
    free(f);
}

static void random_and_bit_flipped_frames_never_crash(void **state)
{
    (void)state;
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, "k");
    const uint8_t pl[4] = {1, 0, 0, 0};
    size_t len;
    uint8_t *f = frame_of(&c, LPZ_MSG_GET_POPULATION, 1, pl, 4, &len);
    lpz_error e;
    /* every single-bit flip of an authenticated frame is refused */
    for (size_t i = 0; i < len * 8; i++) {
        f[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_not_equal(open_frame(&c, f, len, &e), LPZ_OK);
        f[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    srand(1234);
    uint8_t buf[200];
    for (int t = 0; t < 20000; t++) {
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rand();
        if (t % 2)
            memcpy(buf, f, n < 40 ? n : 40); /* a valid-looking header over random bytes */
        assert_int_not_equal(open_frame(&c, buf, n, &e), LPZ_OK);
    }
    free(f);
}

/* ---------------- ERROR payloads ---------------- */

static void error_payload_round_trips_and_is_sanitised(void **state)
{
    (void)state;
    uint8_t p[LPZ_WIRE_MAX_ERROR];
    size_t n = lpz_wire_error_encode(p, LPZ_ESTATE, "not ready\x1b[31m");
    int code;
    char text[64];
    lpz_error e;
    assert_int_equal(lpz_wire_error_decode(p, n, &code, text, sizeof text, &e), LPZ_OK);
    assert_int_equal(code, LPZ_ESTATE);
    assert_string_equal(text, "not ready?[31m");
    assert_int_equal(lpz_wire_error_decode(p, n - 1, &code, text, sizeof text, &e), LPZ_EFORMAT);
    assert_int_equal(lpz_wire_error_decode(p, 7, &code, text, sizeof text, &e), LPZ_EFORMAT);
    p[4] = 200; /* text length beyond the payload */
    assert_int_equal(lpz_wire_error_decode(p, n, &code, text, sizeof text, &e), LPZ_EFORMAT);
    /* over-long text is truncated at the protocol limit */
    char *longtext = malloc(5000);
    memset(longtext, 'x', 4999);
    longtext[4999] = 0;
    assert_int_equal(lpz_wire_error_encode(p, 1, longtext), 8 + LPZ_WIRE_MAX_ERROR_TEXT);
    free(longtext);
}

/* ---------------- cursor ---------------- */

static void cursor_stops_at_the_end_and_stays_failed(void **state)
{
    (void)state;
    uint8_t b[10];
    lpz_cursor w = lpz_cursor_writer(b, sizeof b);
    assert_true(lpz_put_u64(&w, 0x0102030405060708ull));
    assert_true(lpz_put_u16(&w, 0xabcd));
    assert_false(lpz_put_u8(&w, 1));
    assert_true(w.failed);
    assert_int_equal(b[0], 0x08); /* little-endian */
    lpz_cursor r = lpz_cursor_reader(b, sizeof b);
    uint64_t v;
    uint32_t u;
    uint16_t s;
    assert_true(lpz_get_u64(&r, &v));
    assert_int_equal(v, 0x0102030405060708ull);
    assert_false(lpz_get_u32(&r, &u)); /* only 2 left */
    assert_false(lpz_get_u16(&r, &s)); /* failed is sticky */
    assert_int_equal(lpz_cursor_left(&r), 0);
    lpz_cursor f = lpz_cursor_reader(b, sizeof b);
    assert_false(lpz_get_f32s(&f, NULL, SIZE_MAX / 2)); /* no overflow in n*4 */
}

/* ---------------- populations ---------------- */

typedef struct test_pop {
    lpz_individual ind[3];
    float *mem;
} test_pop;

/* Two generators (n=50, b=0) and one discriminator (n=37, b=5) with float
 * values that a lossy encoder would change: NaN payloads, -0, denormals,
 * infinities. */
static void make_pop(test_pop *t)
{
    const uint64_t n[3] = {50, 50, 37}, b[3] = {0, 0, 5};
    size_t total = 0;
    for (int i = 0; i < 3; i++)
        total += 3 * n[i] + b[i];
    t->mem = malloc(total * sizeof(float));
    uint32_t x = 12345;
    for (size_t i = 0; i < total; i++) {
        x = x * 1664525u + 1013904223u;
        memcpy(&t->mem[i], &x, 4); /* arbitrary bit patterns */
    }
    const uint32_t special[4] = {0x7fc00001u, 0x80000000u, 0x00000001u, 0xff800000u};
    memcpy(t->mem, special, sizeof special);
    float *p = t->mem;
    for (int i = 0; i < 3; i++) {
        lpz_individual *d = &t->ind[i];
        memset(d, 0, sizeof *d);
        d->role = i < 2 ? LPZ_ROLE_GENERATOR : LPZ_ROLE_DISCRIMINATOR;
        d->loss_index = (uint8_t)i;
        d->source_cell = 3 + (uint32_t)i;
        d->id = 1000 + (uint64_t)i;
        d->learning_rate = 0.0002 * (i + 1);
        d->fitness = i == 1 ? NAN : -1.25 * i;
        d->adam_step = 77 * i;
        d->param_count = n[i];
        d->buffer_count = b[i];
        d->params = p;
        d->adam_m = p + n[i];
        d->adam_v = p + 2 * n[i];
        d->buffers = b[i] ? p + 3 * n[i] : NULL;
        p += 3 * n[i] + b[i];
    }
}

static uint8_t *encode_pop(test_pop *t, size_t *len)
{
    lpz_error e;
    size_t need;
    assert_int_equal(lpz_population_size(t->ind, 3, &need, &e), LPZ_OK);
    assert_int_equal(need, 16 + 3 * 56 + 4 * (150 + 150 + 111 + 5));
    uint8_t *buf = malloc(need);
    assert_int_equal(lpz_population_encode(9, 123456789, t->ind, 3, buf, need, len, &e), LPZ_OK);
    assert_int_equal(*len, need);
    return buf;
}

static void population_round_trip_is_bit_exact(void **state)
{
    (void)state;
    test_pop t;
    make_pop(&t);
    size_t len;
    uint8_t *buf = encode_pop(&t, &len);
    lpz_population_expect ex;
    lpz_population_expect_any(&ex);
    ex.params[LPZ_ROLE_GENERATOR] = 50;
    ex.params[LPZ_ROLE_DISCRIMINATOR] = 37;
    ex.buffers[LPZ_ROLE_DISCRIMINATOR] = 5;
    lpz_population_view v;
    lpz_error e;
    assert_int_equal(lpz_population_parse(buf, len, &ex, &v, &e), LPZ_OK);
    assert_int_equal(v.cell, 9);
    assert_int_equal(v.count, 3);
    assert_int_equal(v.iteration, 123456789);
    for (int i = 0; i < 3; i++) {
        const lpz_individual *w = &t.ind[i];
        float p[50], m[50], vv[50], bb[5];
        lpz_individual d = {.params = p, .adam_m = m, .adam_v = vv, .buffers = bb};
        assert_int_equal(lpz_population_get(&v, (size_t)i, &d, 50, 5, &e), LPZ_OK);
        assert_int_equal(d.role, w->role);
        assert_int_equal(d.loss_index, w->loss_index);
        assert_int_equal(d.source_cell, w->source_cell);
        assert_int_equal(d.id, w->id);
        assert_memory_equal(&d.learning_rate, &w->learning_rate, 8);
        assert_memory_equal(&d.fitness, &w->fitness, 8);
        assert_int_equal(d.adam_step, w->adam_step);
        assert_int_equal(d.param_count, w->param_count);
        assert_int_equal(d.buffer_count, w->buffer_count);
        assert_memory_equal(p, w->params, 4 * w->param_count);
        assert_memory_equal(m, w->adam_m, 4 * w->param_count);
        assert_memory_equal(vv, w->adam_v, 4 * w->param_count);
        if (w->buffer_count)
            assert_memory_equal(bb, w->buffers, 4 * w->buffer_count);
    }
    /* metadata only, and a destination too small */
    lpz_individual meta = {0};
    assert_int_equal(lpz_population_get(&v, 2, &meta, 0, 0, &e), LPZ_OK);
    assert_int_equal(meta.param_count, 37);
    float small[10];
    lpz_individual d = {.params = small};
    assert_int_equal(lpz_population_get(&v, 0, &d, 10, 0, &e), LPZ_EINVAL);
    assert_int_equal(lpz_population_get(&v, 3, &meta, 0, 0, &e), LPZ_EINVAL);
    free(buf);
    free(t.mem);
}

/* An Adam step count beyond 2^53 is refused both ways: a peer's (or a
 * checkpoint's) INT64_MAX made the next step overflow. */
static void adam_step_beyond_its_limit_is_refused(void **state)
{
    (void)state;
    test_pop t;
    make_pop(&t);
    t.ind[1].adam_step = 0x0123456789abcdLL; /* a pattern to find in the bytes */
    size_t len;
    uint8_t *buf = encode_pop(&t, &len);
    uint8_t pat[8];
    for (int b = 0; b < 8; b++)
        pat[b] = (uint8_t)((uint64_t)0x0123456789abcdLL >> (8 * b));
    size_t at = 0;
    while (at + 8 <= len && memcmp(buf + at, pat, 8))
        at++;
    assert_true(at + 8 <= len);
    uint64_t big = (uint64_t)INT64_MAX;
    for (int b = 0; b < 8; b++)
        buf[at + b] = (uint8_t)(big >> (8 * b));
    lpz_population_expect ex;
    lpz_population_expect_any(&ex);
    lpz_population_view v;
    lpz_error e;
    int rc = lpz_population_parse(buf, len, &ex, &v, &e);
    if (rc == LPZ_OK) {
        lpz_individual meta = {0};
        rc = lpz_population_get(&v, 1, &meta, 0, 0, &e);
    }
    assert_int_equal(rc, LPZ_EFORMAT);
    assert_contains(e.message, "Adam step 9223372036854775807 outside [0, 2^53]");
    t.ind[1].adam_step = ((int64_t)1 << 53) + 1;
    uint8_t *out = malloc(len);
    assert_int_equal(lpz_population_encode(9, 1, t.ind, 3, out, len, &len, &e), LPZ_EINVAL);
    free(out);
    free(buf);
    free(t.mem);
}

static void empty_population_round_trips(void **state)
{
    (void)state;
    uint8_t buf[16];
    size_t len;
    lpz_error e;
    assert_int_equal(lpz_population_encode(1, 2, NULL, 0, buf, sizeof buf, &len, &e), LPZ_OK);
    lpz_population_view v;
    assert_int_equal(lpz_population_parse(buf, len, NULL, &v, &e), LPZ_OK);
    assert_int_equal(v.count, 0);
    assert_int_equal(v.iteration, 2);
}

static void population_with_wrong_param_count_is_refused(void **state)
{
    (void)state;
    test_pop t;
    make_pop(&t);
    size_t len;
    uint8_t *buf = encode_pop(&t, &len);
    lpz_population_expect ex;
    lpz_population_expect_any(&ex);
    ex.params[LPZ_ROLE_DISCRIMINATOR] = 38;
    lpz_population_view v;
    lpz_error e;
    assert_int_equal(lpz_population_parse(buf, len, &ex, &v, &e), LPZ_EFORMAT);
    assert_contains(e.message, "individual 2 (discriminator) has 37 parameters, this network has 38");
    lpz_population_expect_any(&ex);
    ex.buffers[LPZ_ROLE_GENERATOR] = 1;
    assert_int_equal(lpz_population_parse(buf, len, &ex, &v, &e), LPZ_EFORMAT);
    assert_contains(e.message, "buffers");
    free(buf);
    free(t.mem);
}

static void every_truncation_and_trailing_byte_is_refused(void **state)
{
    (void)state;
    test_pop t;
    make_pop(&t);
    size_t len;
    uint8_t *buf = encode_pop(&t, &len);
    uint8_t *big = malloc(len + 1);
    memcpy(big, buf, len);
    big[len] = 0;
    lpz_population_view v;
    lpz_error e;
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1); /* exact size so ASan sees any overread */
        memcpy(cut, buf, n);
        assert_int_equal(lpz_population_parse(cut, n, NULL, &v, &e), LPZ_EFORMAT);
        free(cut);
    }
    assert_int_equal(lpz_population_parse(big, len + 1, NULL, &v, &e), LPZ_EFORMAT);
    assert_contains(e.message, "1 bytes after");
    free(big);
    free(buf);
    free(t.mem);
}

/* Offsets inside the encoded test population. */
#define IND0 16u /* first individual header */
static void put_u64_at(uint8_t *b, size_t off, uint64_t v) { st64(b + off, v); }

static void inconsistent_fields_are_refused(void **state)
{
    (void)state;
    test_pop t;
    make_pop(&t);
    size_t len;
    uint8_t *good = encode_pop(&t, &len);
    uint8_t *b = malloc(len);
    lpz_population_view v;
    lpz_error e;
    struct {
        const char *what;
        size_t off;
        int width;
        uint64_t value;
        const char *msg;
    } cases[] = {
        {"count larger than present", 4, 4, 4, "individual 3: truncated header"},
        {"count over the limit", 4, 4, 5000, "limit is 1024"},
        {"role", IND0 + 0, 1, 2, "invalid role 2"},
        {"loss index", IND0 + 1, 1, 200, "loss index 200"},
        {"reserved", IND0 + 2, 2, 1, "reserved field"},
        {"negative learning rate", IND0 + 16, 8, 0xbff0000000000000ull, "learning rate -1"},
        {"NaN learning rate", IND0 + 16, 8, 0x7ff8000000000000ull, "learning rate nan"},
        {"negative Adam step", IND0 + 32, 8, UINT64_MAX, "Adam step -1 outside [0, 2^53]"},
        {"Adam step beyond 2^53", IND0 + 32, 8, INT64_MAX, "Adam step 9223372036854775807 outside"},
        {"param count too large", IND0 + 40, 8, 51, "need more than"},
        {"param count overflowing", IND0 + 40, 8, (uint64_t)1 << 62, "need more than"},
        {"buffer count overflowing", IND0 + 48, 8, UINT64_MAX / 2, "need more than"},
        {"param count too small (next header misread)", IND0 + 40, 8, 49, "individual 1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, good, len);
        if (cases[i].width == 8)
            put_u64_at(b, cases[i].off, cases[i].value);
        else
            for (int k = 0; k < cases[i].width; k++)
                b[cases[i].off + (size_t)k] = (uint8_t)(cases[i].value >> (8 * k));
        lpz_error_clear(&e);
        int rc = lpz_population_parse(b, len, NULL, &v, &e);
        if (rc != LPZ_EFORMAT || !strstr(e.message, cases[i].msg))
            fail_msg("case %s: rc %d, message \"%s\", expected \"%s\"", cases[i].what, rc, e.message, cases[i].msg);
    }
    free(b);
    free(good);
    free(t.mem);
}

static void encoder_refuses_bad_individuals(void **state)
{
    (void)state;
    test_pop t;
    make_pop(&t);
    uint8_t *buf = malloc(8192);
    size_t len;
    lpz_error e;
    t.ind[0].learning_rate = INFINITY;
    assert_int_equal(lpz_population_encode(0, 0, t.ind, 3, buf, 8192, &len, &e), LPZ_EINVAL);
    t.ind[0].learning_rate = 0.1;
    t.ind[1].adam_m = NULL;
    assert_int_equal(lpz_population_encode(0, 0, t.ind, 3, buf, 8192, &len, &e), LPZ_EINVAL);
    t.ind[1].adam_m = t.ind[1].params;
    assert_int_equal(lpz_population_encode(0, 0, t.ind, 3, buf, 100, &len, &e), LPZ_EINVAL); /* too small */
    t.ind[2].param_count = (uint64_t)1 << 29;                                              /* > 1 GiB */
    assert_int_equal(lpz_population_encode(0, 0, t.ind, 3, buf, 8192, &len, &e), LPZ_EINVAL);
    assert_contains(e.message, "too large");
    free(buf);
    free(t.mem);
}

static void population_fits_in_a_frame_and_back(void **state)
{
    (void)state;
    test_pop t;
    make_pop(&t);
    size_t plen;
    uint8_t *pop = encode_pop(&t, &plen);
    lpz_wire_ctx c;
    lpz_wire_ctx_init(&c, EXP, "secret");
    size_t flen;
    uint8_t *f = frame_of(&c, LPZ_MSG_POPULATION, 5, pop, plen, &flen);
    lpz_wire_header h;
    const uint8_t *p;
    lpz_error e;
    assert_int_equal(lpz_wire_open(&c, f, flen, &h, &p, &e), LPZ_OK);
    assert_int_equal(h.payload_len, plen);
    assert_memory_equal(p, pop, plen);
    free(f);
    free(pop);
    free(t.mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_round_trip_keeps_every_header_field),
        cmocka_unit_test(receiver_without_experiment_accepts_any_experiment),
        cmocka_unit_test(truncated_header_is_refused),
        cmocka_unit_test(wrong_magic_is_refused),
        cmocka_unit_test(other_protocol_version_is_named),
        cmocka_unit_test(unknown_and_reserved_types_are_refused),
        cmocka_unit_test(unknown_flags_are_refused),
        cmocka_unit_test(length_mismatch_is_refused),
        cmocka_unit_test(oversize_payloads_are_refused_before_reading),
        cmocka_unit_test(bad_checksum_is_refused),
        cmocka_unit_test(wrong_experiment_is_refused),
        cmocka_unit_test(hmac_is_required_checked_and_covers_the_header),
        cmocka_unit_test(random_and_bit_flipped_frames_never_crash),
        cmocka_unit_test(error_payload_round_trips_and_is_sanitised),
        cmocka_unit_test(cursor_stops_at_the_end_and_stays_failed),
        cmocka_unit_test(population_round_trip_is_bit_exact),
        cmocka_unit_test(empty_population_round_trips),
        cmocka_unit_test(adam_step_beyond_its_limit_is_refused),
        cmocka_unit_test(population_with_wrong_param_count_is_refused),
        cmocka_unit_test(every_truncation_and_trailing_byte_is_refused),
        cmocka_unit_test(inconsistent_fields_are_refused),
        cmocka_unit_test(encoder_refuses_bad_individuals),
        cmocka_unit_test(population_fits_in_a_frame_and_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
