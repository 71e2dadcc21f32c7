/* tests/runtime/test_member.c - members of a cell's population: frozen
 * members (no gradient buffer, for individuals that are only evaluated)
 * still evaluate, travel over the wire and hand their parameters and
 * Adam state exactly to the member that trains them when selected. */
#include "../networks/net_test_util.h"
#include "runtime/member.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frozen_member_evaluates_but_has_no_gradients),
        cmocka_unit_test(selected_neighbour_keeps_its_adam_state_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
