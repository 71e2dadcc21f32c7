/* tests/runtime/test_member.c - members of a cell's population: frozen
 * members (no gradient buffer, for individuals that are only evaluated)
 * still evaluate, travel over the wire and hand their parameters and
 * Adam state exactly to the member that trains them when selected; the
 * memory savers of the local trainer: neighbours read in place from a
 * server's snapshot (valid after the publisher publishes again or stops)
 * and share one parameter copy per published version, a cell's own
 * individuals read from their published payload, models
 * sharing one batch arena or one gradient buffer. */
#include "../networks/net_test_util.h"
#include "nn/model_frozen.h"
#include "runtime/member.h"
#include "transport/peer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

extern const lpz_plugin lpz_plugin_descriptor;

#define B 8

static lpz_network *mlp(lpz_options **opts)
{
    *opts = nt_options(NULL);
    return nt_network(*opts, lpz_shape_make(3, 1, 28, 28, 0), 0);
}

/* A trained-looking member: random Adam moments, step count and scalars. */
static void scramble(lpz_member *m, uint64_t seed)
{
    nt_fill_normal(m->adam->m, (size_t)m->n_params, seed);
    nt_fill_uniform(m->adam->v, (size_t)m->n_params, seed + 1);
    m->adam->t = 17;
    m->lr = 0.000123;
    m->fitness = 0.5;
    m->id = 42;
    m->loss = 1;
    m->source_cell = 3;
}

static void frozen_member_evaluates_but_has_no_gradients(void **state)
{
    (void)state;
    lpz_options *opts;
    lpz_network *net = mlp(&opts);
    lpz_error e;
    lpz_member d, f;
    assert_int_equal(lpz_member_init(&d, net, LPZ_ROLE_DISCRIMINATOR, 5, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&f, net, LPZ_ROLE_DISCRIMINATOR, 5, B, &e), LPZ_OK);
    lpz_member_freeze(&f);
    assert_null(lpz_model_grads(f.model));
    assert_non_null(lpz_model_grads(d.model));
    lpz_model_zero_grad(f.model); /* nothing to zero: a no-op */

    float x[B * 784], dy[B], dx_d[B * 784], dx_f[B * 784];
    nt_fill_normal(x, sizeof x / sizeof *x, 9);
    nt_fill_normal(dy, B, 10);
    const float *yd = lpz_model_forward(d.model, x, B, &e);
    const float *yf = lpz_model_forward(f.model, x, B, &e);
    assert_non_null(yd);
    assert_non_null(yf);
    assert_memory_equal(yd, yf, B * sizeof(float)); /* same seed, same output */
    /* The input gradient (a trained generator's path through a
     * discriminator) needs no parameter gradients. */
    assert_int_equal(lpz_model_backward_input(d.model, dy, dx_d, &e), LPZ_OK);
    assert_int_equal(lpz_model_backward_input(f.model, dy, dx_f, &e), LPZ_OK);
    assert_memory_equal(dx_d, dx_f, sizeof dx_d);
    /* Training it is an error, not a write through NULL. */
    assert_int_equal(lpz_model_backward(f.model, dy, NULL, &e), LPZ_ESTATE);

    /* A clone of a frozen model trains again (zero gradients). */
    lpz_model *c;
    assert_int_equal(lpz_model_clone(f.model, &c, &e), LPZ_OK);
    assert_non_null(lpz_model_grads(c));
    for (int64_t i = 0; i < f.n_params; i++)
        assert_true(lpz_model_grads(c)[i] == 0.0f);
    lpz_model_destroy(c);
    lpz_member_free(&d);
    lpz_member_free(&f);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

/* A neighbour's individual arrives over the wire into a frozen member; the
 * tournament then copies it into a selected (training) member: parameters,
 * Adam moments, step and scalars must arrive bit for bit. */
static void selected_neighbour_keeps_its_adam_state_exactly(void **state)
{
    (void)state;
    lpz_options *opts;
    lpz_network *net = mlp(&opts);
    lpz_error e;
    lpz_member src, nb, sel;
    assert_int_equal(lpz_member_init(&src, net, LPZ_ROLE_GENERATOR, 1, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&nb, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&sel, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    lpz_member_freeze(&nb);
    scramble(&src, 77);

    float scratch[1];
    lpz_individual ind;
    lpz_member_to_wire(&src, LPZ_ROLE_GENERATOR, scratch, &ind);
    size_t cap, written;
    assert_int_equal(lpz_population_size(&ind, 1, &cap, &e), LPZ_OK);
    uint8_t *wire = malloc(cap);
    assert_non_null(wire);
    assert_int_equal(lpz_population_encode(3, 1, &ind, 1, wire, cap, &written, &e), LPZ_OK);
    lpz_population_expect expect = {{src.n_params, 0}, {src.n_buffers, 0}};
    lpz_population_view v;
    assert_int_equal(lpz_population_parse(wire, written, &expect, &v, &e), LPZ_OK);
    assert_int_equal(lpz_member_from_wire(&nb, &v, 0, scratch, &e), LPZ_OK);
    free(wire); /* the reply is released once decoded */

    assert_int_equal(lpz_member_copy(&sel, &nb, &e), LPZ_OK);
    size_t bytes = (size_t)src.n_params * sizeof(float);
    assert_memory_equal(lpz_model_params(sel.model), lpz_model_params(src.model), bytes);
    assert_memory_equal(sel.adam->m, src.adam->m, bytes);
    assert_memory_equal(sel.adam->v, src.adam->v, bytes);
    assert_int_equal(sel.adam->t, 17);
    assert_true(sel.lr == src.lr);
    assert_true(sel.fitness == src.fitness);
    assert_int_equal(sel.id, 42);
    assert_int_equal(sel.loss, 1);
    assert_int_equal(sel.source_cell, 3);
    /* and the selected copy trains */
    assert_non_null(lpz_model_grads(sel.model));
    lpz_member_free(&src);
    lpz_member_free(&nb);
    lpz_member_free(&sel);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}


/* src encoded alone as a POPULATION payload (malloc'd). */
static uint8_t *encode_one(const lpz_member *src, lpz_role role, size_t *len)
{
    lpz_error e;
    float scratch[1];
    lpz_individual ind;
    lpz_member_to_wire(src, role, scratch, &ind);
    size_t cap;
    assert_int_equal(lpz_population_size(&ind, 1, &cap, &e), LPZ_OK);
    uint8_t *wire = malloc(cap);
    assert_non_null(wire);
    assert_int_equal(lpz_population_encode(3, 1, &ind, 1, wire, cap, len, &e), LPZ_OK);
    return wire;
}

static void assert_same_individual(const lpz_member *a, const lpz_member *b)
{
    size_t bytes = (size_t)a->n_params * sizeof(float);
    assert_memory_equal(lpz_model_params(a->model), lpz_model_params(b->model), bytes);
    assert_memory_equal(a->adam->m, b->adam->m, bytes);
    assert_memory_equal(a->adam->v, b->adam->v, bytes);
    assert_int_equal(a->adam->t, b->adam->t);
    assert_true(a->lr == b->lr);
    assert_true(a->fitness == b->fitness);
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->loss, b->loss);
    assert_int_equal(a->source_cell, b->source_cell);
}

/* The local trainer's neighbours: a member borrows its Adam moments from
 * the publisher's server snapshot (its parameters are copied). The
 * snapshot stays valid, unchanged, when the publisher publishes again and
 * even after its server stops, until the member lets it go; selection
 * copies the state exactly; without the snapshot the member still
 * evaluates but refuses to be copied. */
static void neighbour_read_in_place_outlives_republish_and_server(void **state)
{
    (void)state;
    lpz_options *opts;
    lpz_network *net = mlp(&opts);
    lpz_error e;
    lpz_member src, nb, sel, ref;
    assert_int_equal(lpz_member_init(&src, net, LPZ_ROLE_GENERATOR, 1, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&ref, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&nb, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&sel, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    lpz_member_freeze(&nb);
    lpz_member_drop_adam(&nb); /* as the trainer does for in-process neighbours */
    scramble(&src, 77);
    assert_int_equal(lpz_member_copy(&ref, &src, &e), LPZ_OK);

    char url[128];
    assert_int_equal(lpz_peer_inproc_url(url, sizeof url, 0x5eed ^ (uint64_t)getpid(), 1, &e), LPZ_OK);
    lpz_peer_server *s;
    assert_int_equal(lpz_peer_server_start(url, 0, NULL, &s, &e), LPZ_OK);
    const uint8_t *payload;
    size_t len;
    assert_null(lpz_peer_server_acquire(s, &payload, &len)); /* nothing published yet */
    assert_null(payload);
    size_t n1;
    uint8_t *p1 = encode_one(&src, LPZ_ROLE_GENERATOR, &n1);
    assert_int_equal(lpz_peer_server_publish_take(s, p1, n1, &e), LPZ_OK);

    lpz_peer_snapshot *snap = lpz_peer_server_acquire(s, &payload, &len);
    assert_non_null(snap);
    assert_int_equal(len, n1);
    lpz_population_view v;
    assert_int_equal(lpz_population_parse(payload, len, NULL, &v, &e), LPZ_OK);
    float scratch[1];
    assert_int_equal(lpz_member_borrow_wire(&nb, &v, 0, NULL, scratch, &e), LPZ_OK);
    assert_int_equal(nb.adam_borrowed, 1);
    /* A member borrowing moments is never the target of a decode. */
    assert_int_equal(lpz_member_from_wire(&nb, &v, 0, scratch, &e), LPZ_ESTATE);

    /* The publisher trains on and publishes again: the neighbour's copy
     * and the snapshot it borrows from are those of the first publish. */
    scramble(&src, 1234);
    src.adam->t = 99;
    src.id = 43;
    size_t n2;
    uint8_t *p2 = encode_one(&src, LPZ_ROLE_GENERATOR, &n2);
    assert_int_equal(lpz_peer_server_publish_take(s, p2, n2, &e), LPZ_OK);
    assert_int_equal(lpz_member_copy(&sel, &nb, &e), LPZ_OK);
    assert_same_individual(&sel, &ref);

    /* The server stops first; the snapshot still lives. */
    lpz_peer_server_stop(s);
    assert_int_equal(lpz_member_copy(&sel, &nb, &e), LPZ_OK);
    assert_same_individual(&sel, &ref);
    lpz_member_drop_adam(&nb);
    lpz_peer_snapshot_release(snap);
    lpz_peer_snapshot_release(NULL);

    /* Without moments: evaluates, is not copied. */
    float x[B * 64];
    nt_fill_normal(x, sizeof x / sizeof *x, 3);
    assert_non_null(lpz_model_forward(nb.model, x, B, &e));
    assert_int_equal(lpz_member_copy(&sel, &nb, &e), LPZ_ESTATE);
    assert_int_equal(lpz_member_from_wire(&nb, &v, 0, scratch, &e), LPZ_ESTATE);
    lpz_member_free(&nb); /* frees nothing it does not own */
    lpz_member_free(&src);
    lpz_member_free(&ref);
    lpz_member_free(&sel);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

/* The local trainer's readers of one published version share one copy of
 * its parameters (lpz_member_borrow_wire with params_at): each reads that
 * copy in place (no parameters of its own), moments from the payload;
 * they evaluate as the publisher did, selection copies them exactly, and
 * nothing writes into them; a reader moves to the next version's copy
 * while another still reads the old one; freeing the readers leaves both
 * copies to their owner (ASan runs this test too). */
static void neighbours_share_one_parameter_copy_per_version(void **state)
{
    (void)state;
    lpz_options *opts;
    lpz_network *net = mlp(&opts);
    lpz_error e;
    lpz_member src, ref, sel, nb[2];
    assert_int_equal(lpz_member_init(&src, net, LPZ_ROLE_GENERATOR, 1, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&ref, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&sel, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(lpz_member_init(&nb[k], net, LPZ_ROLE_GENERATOR, 5 + k, B, &e), LPZ_OK);
        lpz_member_freeze(&nb[k]);
        lpz_member_drop_adam(&nb[k]);
    }
    scramble(&src, 31);
    assert_int_equal(lpz_member_copy(&ref, &src, &e), LPZ_OK);
    size_t np = (size_t)src.n_params, len1, len2;
    uint8_t *p1 = encode_one(&src, LPZ_ROLE_GENERATOR, &len1);
    lpz_population_view v1, v2;
    assert_int_equal(lpz_population_parse(p1, len1, NULL, &v1, &e), LPZ_OK);
    lpz_individual ind;
    assert_int_equal(lpz_population_peek(&v1, 0, &ind, &e), LPZ_OK);
    float *copy1 = malloc(np * sizeof *copy1), scratch[1];
    assert_non_null(copy1);
    memcpy(copy1, ind.params, np * sizeof *copy1);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(lpz_member_borrow_wire(&nb[k], &v1, 0, copy1, scratch, &e), LPZ_OK);
        assert_ptr_equal(lpz_model_params(nb[k].model), copy1);
        assert_ptr_equal(nb[k].adam->m, ind.adam_m); /* moments in the payload */
        assert_ptr_equal(nb[k].adam->v, ind.adam_v);
    }

    float x[B * 64], y[B * 784];
    nt_fill_normal(x, sizeof x / sizeof *x, 9);
    const float *out = lpz_model_forward(ref.model, x, B, &e);
    assert_non_null(out);
    memcpy(y, out, sizeof y);
    for (int k = 0; k < 2; k++) {
        assert_non_null(out = lpz_model_forward(nb[k].model, x, B, &e));
        assert_memory_equal(out, y, sizeof y);
    }
    assert_int_equal(lpz_member_copy(&sel, &nb[1], &e), LPZ_OK);
    assert_same_individual(&sel, &ref);

    /* the next version: reader 0 moves to its copy, reader 1 stays */
    scramble(&src, 32);
    src.id = 44;
    nt_fill_normal(lpz_model_params(src.model), np, 33);
    uint8_t *p2 = encode_one(&src, LPZ_ROLE_GENERATOR, &len2);
    assert_int_equal(lpz_population_parse(p2, len2, NULL, &v2, &e), LPZ_OK);
    assert_int_equal(lpz_population_peek(&v2, 0, &ind, &e), LPZ_OK);
    float *copy2 = malloc(np * sizeof *copy2);
    assert_non_null(copy2);
    memcpy(copy2, ind.params, np * sizeof *copy2);
    assert_int_equal(lpz_member_borrow_wire(&nb[0], &v2, 0, copy2, scratch, &e), LPZ_OK);
    assert_ptr_equal(lpz_model_params(nb[0].model), copy2);
    assert_ptr_equal(lpz_model_params(nb[1].model), copy1);
    assert_int_equal(nb[0].id, 44);
    assert_int_equal(nb[1].id, 42);
    assert_int_equal(lpz_member_copy(&sel, &nb[0], &e), LPZ_OK);
    assert_same_individual(&sel, &src);
    assert_int_equal(lpz_member_copy(&sel, &nb[1], &e), LPZ_OK);
    assert_same_individual(&sel, &ref);
    /* read-only: no copy or decode of the other version into a reader,
     * and the shared copy keeps the first version */
    assert_int_equal(lpz_member_copy(&nb[1], &src, &e), LPZ_ESTATE);
    assert_int_equal(lpz_member_from_wire(&nb[1], &v2, 0, scratch, &e), LPZ_ESTATE);
    assert_memory_equal(copy1, lpz_model_params(ref.model), np * sizeof *copy1);
    assert_memory_not_equal(copy2, lpz_model_params(ref.model), np * sizeof *copy2);

    for (int k = 0; k < 2; k++)
        lpz_member_free(&nb[k]); /* the copies and payloads are not theirs */
    free(copy1), free(copy2), free(p1), free(p2);
    lpz_member_free(&src);
    lpz_member_free(&ref);
    lpz_member_free(&sel);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

/* A cell's own individual reads its parameters and moments from the
 * payload it was published in; it refuses a payload of another
 * individual, refuses copies into it, and a replacement (adopt) makes it
 * read the trained copy: publishing it then gives exactly the trained
 * copy's payload, and selection copies from it exactly. */
static void own_individual_reads_its_published_payload(void **state)
{
    (void)state;
    lpz_options *opts;
    lpz_network *net = mlp(&opts);
    lpz_error e;
    lpz_member loc, ref, sel, other;
    assert_int_equal(lpz_member_init(&loc, net, LPZ_ROLE_DISCRIMINATOR, 1, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&ref, net, LPZ_ROLE_DISCRIMINATOR, 0, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&sel, net, LPZ_ROLE_DISCRIMINATOR, 0, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&other, net, LPZ_ROLE_DISCRIMINATOR, 2, B, &e), LPZ_OK);
    lpz_member_freeze(&loc);
    scramble(&loc, 5);
    assert_int_equal(lpz_member_copy(&ref, &loc, &e), LPZ_OK);
    size_t len;
    uint8_t *wire = encode_one(&loc, LPZ_ROLE_DISCRIMINATOR, &len);
    lpz_population_view v;
    assert_int_equal(lpz_population_parse(wire, len, NULL, &v, &e), LPZ_OK);

    other.id = 7; /* not the individual in the payload */
    assert_int_equal(lpz_member_borrow_published(&other, &v, 0, &e), LPZ_EINVAL);
    assert_int_equal(lpz_member_borrow_published(&loc, &v, 0, &e), LPZ_OK);
    assert_true((const uint8_t *)lpz_model_params(loc.model) > wire &&
                (const uint8_t *)lpz_model_params(loc.model) < wire + len);
    assert_same_individual(&loc, &ref);
    float x[B * 784];
    nt_fill_normal(x, sizeof x / sizeof *x, 4);
    const float *y = lpz_model_forward(loc.model, x, B, &e);
    float yl[B];
    assert_non_null(y);
    memcpy(yl, y, sizeof yl);
    y = lpz_model_forward(ref.model, x, B, &e);
    assert_non_null(y);
    assert_memory_equal(yl, y, sizeof yl);
    /* selection copies from it; nothing copies into it */
    assert_int_equal(lpz_member_copy(&sel, &loc, &e), LPZ_OK);
    assert_same_individual(&sel, &ref);
    assert_int_equal(lpz_member_copy(&loc, &other, &e), LPZ_ESTATE);

    /* Replacement by a trained copy, then publish: the payload is the
     * trained copy's. */
    scramble(&sel, 99);
    sel.id = 8;
    assert_int_equal(lpz_member_adopt(&loc, &sel, &e), LPZ_OK);
    size_t la, ls;
    uint8_t *wa = encode_one(&loc, LPZ_ROLE_DISCRIMINATOR, &la);
    uint8_t *ws = encode_one(&sel, LPZ_ROLE_DISCRIMINATOR, &ls);
    assert_int_equal(la, ls);
    assert_memory_equal(wa, ws, la);
    free(wire); /* loc reads sel now, not the first payload */
    assert_same_individual(&loc, &sel);
    /* and it borrows from the new payload */
    assert_int_equal(lpz_population_parse(wa, la, NULL, &v, &e), LPZ_OK);
    assert_int_equal(lpz_member_borrow_published(&loc, &v, 0, &e), LPZ_OK);
    assert_same_individual(&loc, &sel);
    lpz_member_free(&loc);
    free(wa);
    free(ws);
    lpz_member_free(&ref);
    lpz_member_free(&sel);
    lpz_member_free(&other);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

/* Models sharing one batch arena give the outputs and gradients they give
 * alone; a backward after another sharing model's forward is refused; a
 * larger batch moves a model to its own arena; any destruction order. */
static void shared_scratch_and_gradients_give_the_same_results(void **state)
{
    (void)state;
    lpz_options *opts;
    lpz_network *net = mlp(&opts);
    lpz_error e;
    lpz_model *a = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1), *b = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 2);
    lpz_model *a1 = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1), *b1 = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 2);
    assert_int_equal(lpz_model_reserve(a1, B, &e), LPZ_OK);
    assert_int_equal(lpz_model_reserve(b1, B, &e), LPZ_OK);
    lpz_model *sh[3] = {a, b, a};
    assert_int_equal(lpz_model_share_scratch(sh, 3, B, &e), LPZ_OK);
    assert_int_equal(lpz_model_share_grads(sh, 3, &e), LPZ_OK);
    int64_t P = lpz_model_param_count(a);
    float x[B * 784], dy[B], dxa[B * 784], dxb[B * 784], out[B];
    nt_fill_normal(x, sizeof x / sizeof *x, 11);
    nt_fill_normal(dy, B, 12);
    lpz_model *pairs[2][2] = {{a, a1}, {b, b1}};
    for (int round = 0; round < 2; round++)
        for (int k = 0; k < 2; k++) {
            lpz_model *m = pairs[k][0], *alone = pairs[k][1];
            const float *y = lpz_model_forward(m, x, B, &e);
            assert_non_null(y);
            memcpy(out, y, sizeof out);
            lpz_model_zero_grad(m);
            assert_int_equal(lpz_model_backward(m, dy, dxa, &e), LPZ_OK);
            y = lpz_model_forward(alone, x, B, &e);
            assert_non_null(y);
            assert_memory_equal(out, y, sizeof out);
            lpz_model_zero_grad(alone);
            assert_int_equal(lpz_model_backward(alone, dy, dxb, &e), LPZ_OK);
            assert_memory_equal(dxa, dxb, sizeof dxa);
            assert_memory_equal(lpz_model_grads(m), lpz_model_grads(alone), (size_t)P * sizeof(float));
        }
    /* one gradient buffer */
    assert_ptr_equal(lpz_model_grads(a), lpz_model_grads(b));
    /* a's activations were overwritten by b's forward */
    assert_non_null(lpz_model_forward(a, x, B, &e));
    assert_non_null(lpz_model_forward(b, x, B, &e));
    assert_int_equal(lpz_model_backward_input(a, dy, dxa, &e), LPZ_ESTATE);
    assert_int_equal(lpz_model_backward_input(b, dy, dxa, &e), LPZ_OK);
    /* filling the (shared) input buffer voids a pending backward too */
    assert_non_null(lpz_model_forward(b, x, B, &e));
    assert_non_null(lpz_model_input_buffer(a, B, &e));
    assert_int_equal(lpz_model_backward_input(b, dy, dxa, &e), LPZ_ESTATE);
    float *in = lpz_model_input_buffer(b, B, &e);
    memcpy(in, x, sizeof x);
    assert_non_null(lpz_model_forward(b, in, B, &e));
    assert_int_equal(lpz_model_backward_input(b, dy, dxa, &e), LPZ_OK);
    /* a larger batch: a gets its own arena and still computes right */
    float x2[2 * B * 784];
    memcpy(x2, x, sizeof x);
    memcpy(x2 + B * 784, x, sizeof x);
    const float *y2 = lpz_model_forward(a, x2, 2 * B, &e);
    assert_non_null(y2);
    for (int i = 0; i < B; i++) /* the same rows twice (bit-equal on the AVX-512 kernels, not on every BLAS) */
        assert_true(fabsf(y2[i] - y2[B + i]) <= 1e-5f * (fabsf(y2[i]) + 1.0f));
    assert_non_null(lpz_model_forward(a, x, B, &e)); /* within its own arena of 2B now */
    assert_non_null(lpz_model_forward(b, x, B, &e));
    assert_int_equal(lpz_model_backward_input(a, dy, dxa, &e), LPZ_OK); /* not shared any more */
    lpz_model_destroy(b); /* the arena and the gradients outlive b */
    const float *y = lpz_model_forward(a, x, B, &e);
    assert_non_null(y);
    memcpy(out, y, sizeof out);
    assert_memory_equal(out, lpz_model_forward(a1, x, B, &e), sizeof out);
    lpz_model_zero_grad(a);
    assert_int_equal(lpz_model_backward(a, dy, NULL, &e), LPZ_OK);
    lpz_model_destroy(a);
    lpz_model_destroy(a1);
    lpz_model_destroy(b1);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

typedef struct rewrite_arg {
    const lpz_member *m;
    int calls;
} rewrite_arg;

static int rewrite_one(void *user, uint8_t *payload, size_t len, lpz_error *err)
{
    rewrite_arg *a = user;
    a->calls++;
    float scratch[1];
    lpz_individual ind;
    lpz_member_to_wire(a->m, LPZ_ROLE_GENERATOR, scratch, &ind);
    size_t written;
    return lpz_population_encode(3, 2, &ind, 1, payload, len, &written, err);
}

/* Republishing in place: only when the server and the publisher alone
 * hold the payload; a reader's reference makes it a no-op (the reader's
 * bytes do not change under it); an individual reading its arrays from
 * the payload itself is re-encoded over them unchanged. */
static void republish_in_place_only_when_nobody_reads(void **state)
{
    (void)state;
    lpz_options *opts;
    lpz_network *net = mlp(&opts);
    lpz_error e;
    lpz_member loc, ref;
    assert_int_equal(lpz_member_init(&loc, net, LPZ_ROLE_GENERATOR, 1, B, &e), LPZ_OK);
    assert_int_equal(lpz_member_init(&ref, net, LPZ_ROLE_GENERATOR, 0, B, &e), LPZ_OK);
    lpz_member_freeze(&loc);
    scramble(&loc, 21);
    char url[128];
    assert_int_equal(lpz_peer_inproc_url(url, sizeof url, 0x5eed ^ (uint64_t)getpid(), 2, &e), LPZ_OK);
    lpz_peer_server *s;
    assert_int_equal(lpz_peer_server_start(url, 0, NULL, &s, &e), LPZ_OK);
    size_t n1;
    uint8_t *p1 = encode_one(&loc, LPZ_ROLE_GENERATOR, &n1);
    assert_int_equal(lpz_peer_server_publish_take(s, p1, n1, &e), LPZ_OK);
    const uint8_t *payload, *again;
    size_t len;
    lpz_peer_snapshot *mine = lpz_peer_server_acquire(s, &payload, &len);
    lpz_population_view v;
    assert_int_equal(lpz_population_parse(payload, len, NULL, &v, &e), LPZ_OK);
    assert_int_equal(lpz_member_borrow_published(&loc, &v, 0, &e), LPZ_OK);
    assert_int_equal(lpz_member_copy(&ref, &loc, &e), LPZ_OK);

    /* a reader holds it: nothing is rewritten */
    lpz_peer_snapshot *reader = lpz_peer_server_acquire(s, &again, &len);
    uint8_t *before = malloc(len);
    assert_non_null(before);
    memcpy(before, payload, len);
    rewrite_arg a = {&loc, 0};
    int done = -1;
    assert_int_equal(lpz_peer_server_republish(s, mine, rewrite_one, &a, &done, &e), LPZ_OK);
    assert_int_equal(done, 0);
    assert_int_equal(a.calls, 0);
    assert_memory_equal(again, before, len);
    lpz_peer_snapshot_release(reader);

    /* alone: rewritten in place (iteration 2), the arrays unchanged */
    loc.fitness = 0.25;
    assert_int_equal(lpz_peer_server_republish(s, mine, rewrite_one, &a, &done, &e), LPZ_OK);
    assert_int_equal(done, 1);
    assert_int_equal(a.calls, 1);
    lpz_peer_snapshot *now = lpz_peer_server_acquire(s, &again, &len);
    assert_ptr_equal(now, mine);
    assert_ptr_equal(again, payload);
    assert_int_equal(lpz_population_parse(again, len, NULL, &v, &e), LPZ_OK);
    assert_int_equal(v.iteration, 2);
    lpz_individual ind;
    assert_int_equal(lpz_population_peek(&v, 0, &ind, &e), LPZ_OK);
    assert_true(ind.fitness == 0.25);
    ref.fitness = 0.25;
    assert_same_individual(&loc, &ref);
    /* and a client over inproc gets the new bytes (CRC recomputed) */
    uint8_t *fetched;
    size_t flen;
    assert_int_equal(lpz_peer_fetch(url, 0, NULL, 5000, &fetched, &flen, &e), LPZ_OK);
    assert_int_equal(flen, len);
    assert_memory_equal(fetched, again, len);
    free(fetched);
    /* a payload that is not the current one is not rewritten */
    size_t n3;
    uint8_t *p3 = encode_one(&ref, LPZ_ROLE_GENERATOR, &n3);
    assert_int_equal(lpz_peer_server_publish_take(s, p3, n3, &e), LPZ_OK);
    assert_int_equal(lpz_peer_server_republish(s, mine, rewrite_one, &a, &done, &e), LPZ_OK);
    assert_int_equal(done, 0);
    lpz_peer_snapshot_release(now);
    lpz_peer_server_stop(s);
    lpz_member_free(&loc); /* before the payload it reads goes */
    lpz_peer_snapshot_release(mine);
    free(before);
    lpz_member_free(&ref);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frozen_member_evaluates_but_has_no_gradients),
        cmocka_unit_test(selected_neighbour_keeps_its_adam_state_exactly),
        cmocka_unit_test(neighbour_read_in_place_outlives_republish_and_server),
        cmocka_unit_test(neighbours_share_one_parameter_copy_per_version),
        cmocka_unit_test(own_individual_reads_its_published_payload),
        cmocka_unit_test(shared_scratch_and_gradients_give_the_same_results),
        cmocka_unit_test(republish_in_place_only_when_nobody_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
