/* tests/nn/test_nn_replica.c - data-parallel steps with model replicas
 * (nn/replica.h): a batch split in two halves, one on the model and one on
 * a replica sharing its parameters, gives the whole-batch gradients, input
 * gradients and Adam step up to float summation order; networks whose
 * samples interact (batch norm, dropout) are refused; and for such
 * networks one pass over real and fake rows joined gives the gradients of
 * the two passes it replaces (the trainer's discriminator step). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nn/adam.h"
#include "nn/loss.h"
#include "nn/replica.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_test_util.h"

#define IN 12
#define B 10 /* whole batch; halves of 5 */

/* The quick start's discriminator shape in small: linear, leaky ReLU,
 * linear, sigmoid. */
static lpz_model *mlp(uint64_t seed, int with_bn, float dropout)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(1, IN, 0, 0, 0);
    OK(lpz_model_create(&s, seed, &m, &e_));
    OK(lpz_model_add_linear(m, "0", 16, 1, &e_));
    if (with_bn)
        OK(lpz_model_add_batchnorm(m, "bn", &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    if (dropout >= 0)
        OK(lpz_model_add_dropout(m, dropout, &e_));
    OK(lpz_model_add_linear(m, "2", 1, 1, &e_));
    OK(lpz_model_add_sigmoid(m, &e_));
    return m;
}

static void close_to(const float *a, const float *b, int64_t n, const char *what)
{
    double scale = 0;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(a[i]));
    for (int64_t i = 0; i < n; i++)
        if (fabs(a[i] - b[i]) > 1e-5 * scale + 1e-12)
            fail_msg("%s[%lld]: whole batch %.9g, halves %.9g (largest %.3g)", what, (long long)i, a[i], b[i],
                     scale);
}

static void test_supported_networks(void **state)
{
    (void)state;
    lpz_model *plain = mlp(1, 0, -1), *bn = mlp(1, 1, -1), *drop = mlp(1, 0, 0.3f), *nodrop = mlp(1, 0, 0.0f);
    assert_true(lpz_replica_supported(plain));
    assert_true(lpz_replica_supported(nodrop));
    assert_false(lpz_replica_supported(bn));
    assert_false(lpz_replica_supported(drop));
    lpz_model *r = NULL;
    assert_int_equal(lpz_replica_create(bn, 4, &r, &e_), LPZ_EUNSUPPORTED);
    assert_null(r);
    OK(lpz_replica_create(plain, 4, &r, &e_));
    assert_int_equal(lpz_replica_bind(r, bn, &e_), LPZ_EINVAL); /* other structure */
    lpz_model_destroy(r);
    lpz_model_destroy(plain), lpz_model_destroy(bn), lpz_model_destroy(drop), lpz_model_destroy(nodrop);
}

/* One BCE step on B samples, whole and split, then an Adam step each. */
static void test_split_step_matches_whole_batch(void **state)
{
    (void)state;
    lpz_model *whole = mlp(7, 0, -1), *split = mlp(7, 0, -1), *rep;
    int64_t P = lpz_model_param_count(whole);
    OK(lpz_replica_create(split, B - B / 2, &rep, &e_));
    OK(lpz_replica_bind(rep, split, &e_));

    lpz_rng rng;
    lpz_rng_seed(&rng, 3, 0);
    float x[B * IN], dout[B], dx_whole[B * IN], dx_split[B * IN];
    lpz_rng_fill_normal(&rng, x, B * IN, 0.0f, 1.0f);
    for (int target = 0; target <= 1; target++) {
        double lw, l0, l1;
        /* whole batch */
        lpz_model_zero_grad(whole);
        const float *y = lpz_model_forward(whole, x, B, &e_);
        assert_non_null(y);
        OK(lpz_loss(LPZ_LOSS_BCE, y, B, (float)target, &lw, dout, &e_));
        OK(lpz_model_backward(whole, dout, dx_whole, &e_));
        /* halves: rows [0, 5) on the model, [5, 10) on the replica; each
         * loss is a mean over its 5 rows, so its gradient counts half */
        lpz_model_zero_grad(split);
        lpz_model_zero_grad(rep);
        int64_t h = B / 2;
        y = lpz_model_forward(split, x, h, &e_);
        assert_non_null(y);
        OK(lpz_loss(LPZ_LOSS_BCE, y, h, (float)target, &l0, dout, &e_));
        for (int64_t i = 0; i < h; i++)
            dout[i] *= 0.5f;
        OK(lpz_model_backward(split, dout, dx_split, &e_));
        y = lpz_model_forward(rep, x + h * IN, B - h, &e_);
        assert_non_null(y);
        OK(lpz_loss(LPZ_LOSS_BCE, y, B - h, (float)target, &l1, dout + h, &e_));
        for (int64_t i = h; i < B; i++)
            dout[i] *= 0.5f;
        OK(lpz_model_backward(rep, dout + h, dx_split + h * IN, &e_));
        lpz_replica_add_grads(split, rep, 0, P / 2);
        lpz_replica_add_grads(split, rep, P / 2, P);

        assert_true(fabs(lw - 0.5 * (l0 + l1)) <= 1e-6 * fabs(lw));
        close_to(lpz_model_grads(whole), lpz_model_grads(split), P, "parameter gradient");
        close_to(dx_whole, dx_split, B * IN, "input gradient");
        /* the replica reads the model's parameters, never writes them */
        close_to(lpz_model_params(whole), lpz_model_params(split), P, "parameters before the step");

        lpz_adam *aw, *as;
        OK(lpz_adam_create(P, &aw, &e_));
        OK(lpz_adam_create(P, &as, &e_));
        OK(lpz_adam_step(aw, lpz_model_params(whole), lpz_model_grads(whole), 1e-3, 0.5, 0.999, &e_));
        OK(lpz_adam_step(as, lpz_model_params(split), lpz_model_grads(split), 1e-3, 0.5, 0.999, &e_));
        close_to(lpz_model_params(whole), lpz_model_params(split), P, "parameters after Adam");
        lpz_adam_destroy(aw), lpz_adam_destroy(as);
        /* the replica sees the update through the shared buffer */
        assert_ptr_equal(lpz_model_params(rep), lpz_model_params(split));
    }
    lpz_model_destroy(rep);
    lpz_model_destroy(whole), lpz_model_destroy(split);
}

/* The trainer's discriminator step for such networks: one forward and
 * backward over [real; fake] (2B rows, each half's BCE the mean over B)
 * gives the gradients of the two separate passes it replaces. */
static void test_joined_real_fake_pass_matches_two_passes(void **state)
{
    (void)state;
    lpz_model *two = mlp(5, 0, -1), *one = mlp(5, 0, -1);
    int64_t P = lpz_model_param_count(two);
    lpz_rng rng;
    lpz_rng_seed(&rng, 9, 0);
    float cat[2 * B * IN], dout[2 * B];
    lpz_rng_fill_uniform(&rng, cat, 2 * B * IN, -1.0f, 1.0f);
    double l1, l0, j1, j0;
    lpz_model_zero_grad(two);
    const float *out = lpz_model_forward(two, cat, B, &e_);
    assert_non_null(out);
    OK(lpz_loss(LPZ_LOSS_BCE, out, B, 1.0f, &l1, dout, &e_));
    OK(lpz_model_backward(two, dout, NULL, &e_));
    assert_non_null(out = lpz_model_forward(two, cat + B * IN, B, &e_));
    OK(lpz_loss(LPZ_LOSS_BCE, out, B, 0.0f, &l0, dout, &e_));
    OK(lpz_model_backward(two, dout, NULL, &e_));

    lpz_model_zero_grad(one);
    assert_non_null(out = lpz_model_forward(one, cat, 2 * B, &e_));
    OK(lpz_loss(LPZ_LOSS_BCE, out, B, 1.0f, &j1, dout, &e_));
    OK(lpz_loss(LPZ_LOSS_BCE, out + B, B, 0.0f, &j0, dout + B, &e_));
    OK(lpz_model_backward(one, dout, NULL, &e_));
    assert_true(fabs(l1 - j1) <= 1e-6 * fabs(l1) && fabs(l0 - j0) <= 1e-6 * fabs(l0));
    close_to(lpz_model_grads(two), lpz_model_grads(one), P, "gradient");
    /* and it is not trivially equal: the fake half alone differs */
    lpz_model_zero_grad(one);
    assert_non_null(out = lpz_model_forward(one, cat, B, &e_));
    OK(lpz_loss(LPZ_LOSS_BCE, out, B, 1.0f, &j1, dout, &e_));
    OK(lpz_model_backward(one, dout, NULL, &e_));
    double diff = 0;
    for (int64_t i = 0; i < P; i++)
        diff = fmax(diff, fabs(lpz_model_grads(two)[i] - lpz_model_grads(one)[i]));
    assert_true(diff > 1e-6);
    lpz_model_destroy(two), lpz_model_destroy(one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supported_networks),
        cmocka_unit_test(test_split_step_matches_whole_batch),
        cmocka_unit_test(test_joined_real_fake_pass_matches_two_passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
