/* tests/nn/test_nn_grad.c - every layer's and loss's backward against
 * central finite differences.
 *
 * For a model f and a fixed random projection r, L(x, p) = sum(r . f(x, p))
 * (accumulated in double). Backward of dy = r gives dL/dx and dL/dp; each
 * is compared with (L(v + h) - L(v - h)) / 2h at up to MAX_PROBES entries.
 * Dropout layers repeat their mask because the model's generator is
 * restored before every forward.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nn/adam.h"
#include "nn/internal.h"
#include "nn/loss.h"
#include "nn/model_frozen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROBES 48

#include "nn_test_util.h"

static double loss_of(lpz_model *m, const lpz_rng *rng0, const float *x, int64_t n, const float *r, int64_t ny)
{
    *lpz_model_rng(m) = *rng0;
    const float *y = lpz_model_forward(m, x, n, &e_);
    if (!y)
        fail_msg("forward: %s", e_.message);
    double s = 0.0;
    for (int64_t i = 0; i < ny; i++)
        s += (double)r[i] * y[i];
    return s;
}

static double central(float *v, lpz_model *m, const lpz_rng *rng0, const float *x, int64_t n, const float *r,
                      int64_t ny, double h)
{
    float keep = *v;
    *v = keep + (float)h;
    double lp = loss_of(m, rng0, x, n, r, ny);
    *v = keep - (float)h;
    double lm = loss_of(m, rng0, x, n, r, ny);
    *v = keep;
    return (lp - lm) / (2 * h);
}

static int close_enough(double analytic, double numeric, double tol)
{
    return fabs(analytic - numeric) <= tol * fmax(1.0, fmax(fabs(analytic), fabs(numeric)));
}

/* Compares one entry. When a ReLU/LeakyReLU kink lies within h of the
 * point the difference quotient straddles it; such an entry is retried
 * once with h / 10 (and a 10x looser bound for float rounding) before it
 * counts as wrong. */
static int probe(const char *what, int64_t i, float *v, double analytic, lpz_model *m, const lpz_rng *rng0,
                 const float *x, int64_t n, const float *r, int64_t ny, double h, double tol)
{
    double numeric = central(v, m, rng0, x, n, r, ny, h);
    if (close_enough(analytic, numeric, tol))
        return 0;
    double fine = central(v, m, rng0, x, n, r, ny, h / 10);
    if (close_enough(analytic, fine, tol * 10) && !close_enough(numeric, fine, tol))
        return 0;
    print_error("%s[%lld]: backward %.6g, finite difference %.6g (h/10: %.6g)\n", what, (long long)i, analytic,
                numeric, fine);
    return 1;
}

/* Checks dx and every parameter gradient of m at batch n. */
static void check_grad(lpz_model *m, int64_t n, uint64_t seed, double h, double tol)
{
    lpz_rng rng;
    lpz_rng_seed(&rng, seed, 7);
    lpz_shape is = lpz_model_input_shape(m), os = lpz_model_output_shape(m);
    int64_t nx = n * lpz_shape_numel(&is), ny = n * lpz_shape_numel(&os), np = lpz_model_param_count(m);
    float *x = malloc((size_t)nx * sizeof(float)), *r = malloc((size_t)ny * sizeof(float));
    float *dx = malloc((size_t)nx * sizeof(float)), *g = malloc((size_t)(np ? np : 1) * sizeof(float));
    lpz_rng_fill_normal(&rng, x, (size_t)nx, 0.0f, 1.0f);
    lpz_rng_fill_normal(&rng, r, (size_t)ny, 0.0f, 1.0f);
    lpz_rng rng0 = *lpz_model_rng(m);

    loss_of(m, &rng0, x, n, r, ny);
    lpz_model_zero_grad(m);
    OK(lpz_model_backward(m, r, dx, &e_));
    if (np)
        memcpy(g, lpz_model_grads(m), (size_t)np * sizeof(float));

    int bad = 0, probes = 0;
    for (int64_t k = 0; k < (nx < MAX_PROBES ? nx : MAX_PROBES); k++) {
        int64_t i = nx <= MAX_PROBES ? k : (int64_t)lpz_rng_below(&rng, (uint64_t)nx);
        bad += probe("dx", i, &x[i], dx[i], m, &rng0, x, n, r, ny, h, tol);
        probes++;
    }
    float *p = lpz_model_params(m);
    for (int t = 0; t < lpz_model_tensor_count(m); t++) {
        const char *name;
        float *data;
        lpz_shape shape;
        int trainable;
        lpz_model_tensor_info(m, t, &name, &shape, &data, &trainable);
        if (!trainable)
            continue;
        int64_t cnt = lpz_shape_numel(&shape), off = data - p;
        for (int64_t k = 0; k < (cnt < MAX_PROBES ? cnt : MAX_PROBES); k++) {
            int64_t i = off + (cnt <= MAX_PROBES ? k : (int64_t)lpz_rng_below(&rng, (uint64_t)cnt));
            bad += probe(name, i - off, &p[i], g[i], m, &rng0, x, n, r, ny, h, tol);
            probes++;
        }
    }
    free(x);
    free(r);
    free(dx);
    free(g);
    if (bad)
        fail_msg("%d of %d gradient entries differ from finite differences", bad, probes);
}

static lpz_model *make(int ndim, int64_t d0, int64_t d1, int64_t d2)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(ndim, d0, d1, d2, 0);
    OK(lpz_model_create(&s, 42, &m, &e_));
    return m;
}

#define H_STEP 1e-2
#define TOL 5e-3

static void test_linear_gradients_batch_1_and_3(void **state)
{
    (void)state;
    for (int b = 0; b < 2; b++) {
        lpz_model *m = make(1, 7, 0, 0);
        OK(lpz_model_add_linear(m, "0", 5, 1, &e_));
        OK(lpz_model_add_linear(m, "1", 3, 0, &e_));
        check_grad(m, b ? 3 : 1, 1, H_STEP, TOL);
        lpz_model_destroy(m);
    }
}

static void test_time_distributed_linear_gradients(void **state)
{
    (void)state;
    lpz_model *m = make(2, 4, 3, 0);
    OK(lpz_model_add_linear(m, "0", 5, 1, &e_));
    lpz_shape os = lpz_model_output_shape(m);
    assert_int_equal(os.ndim, 2);
    assert_int_equal(os.dim[0], 4);
    assert_int_equal(os.dim[1], 5);
    check_grad(m, 2, 2, H_STEP, TOL);
    lpz_model_destroy(m);
}

static void test_activation_gradients(void **state)
{
    (void)state;
    for (int kind = 0; kind < 4; kind++) {
        lpz_model *m = make(1, 6, 0, 0);
        OK(lpz_model_add_linear(m, "0", 8, 1, &e_));
        switch (kind) {
        case 0:
            OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
            break;
        case 1:
            OK(lpz_model_add_tanh(m, &e_));
            break;
        case 2:
            OK(lpz_model_add_sigmoid(m, &e_));
            break;
        default:
            OK(lpz_model_add_relu(m, &e_));
        }
        OK(lpz_model_add_linear(m, "2", 2, 1, &e_));
        check_grad(m, 3, 3 + kind, H_STEP, TOL);
        lpz_model_destroy(m);
    }
}

static void test_conv2d_gradients_odd_sizes_stride_2_padding(void **state)
{
    (void)state;
    /* (2, 7, 7), k3 s2 p1 -> (3, 4, 4); then k2 s1 p0 -> (2, 3, 3) */
    for (int b = 1; b <= 2; b++) {
        lpz_model *m = make(3, 2, 7, 7);
        OK(lpz_model_add_conv2d(m, "0", 3, 3, 2, 1, 1, &e_));
        OK(lpz_model_add_tanh(m, &e_));
        OK(lpz_model_add_conv2d(m, "2", 2, 2, 1, 0, 0, &e_));
        lpz_shape os = lpz_model_output_shape(m);
        assert_int_equal(os.dim[0], 2);
        assert_int_equal(os.dim[1], 3);
        assert_int_equal(os.dim[2], 3);
        check_grad(m, b, 10 + b, H_STEP, TOL);
        lpz_model_destroy(m);
    }
}

static void test_conv2d_gradients_across_chunks(void **state)
{
    (void)state;
    /* a batch larger than one im2col chunk: 3 x 4 x 4 window values at
     * 40 x 42 outputs per sample (80640 floats) -> 26 samples per chunk */
    lpz_model *m = make(3, 3, 41, 43);
    OK(lpz_model_add_conv2d(m, "0", 2, 4, 1, 1, 1, &e_));
    OK(lpz_model_reserve(m, 30, &e_));
    assert_true(m->layers[0].chunk < 30);
    check_grad(m, 30, 13, H_STEP, 1e-2);
    lpz_model_destroy(m);
}

/* conv (k 4, s 1, p 1) + tanh + convt (k 4, s 2, p 1) on cin x h x w
 * inputs: the chunk both conv layers get at batch 4, then the gradients. */
static void check_chunked(int64_t cin, int64_t h, int64_t w, int64_t cout_t, int64_t want_chunk, uint64_t seed)
{
    lpz_model *m = make(3, cin, h, w);
    OK(lpz_model_add_conv2d(m, "0", 2, 4, 1, 1, 1, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    OK(lpz_model_add_conv_transpose2d(m, "2", cout_t, 4, 2, 1, 1, &e_));
    OK(lpz_model_reserve(m, 4, &e_));
    assert_int_equal(m->layers[0].chunk, want_chunk);
    assert_int_equal(m->layers[2].chunk, want_chunk);
    check_grad(m, 4, seed, H_STEP, 1e-2);
    lpz_model_destroy(m);
}

static void test_conv_chunks_ending_in_one_sample(void **state)
{
    (void)state;
    /* 4 samples in chunks of 3 + 1: a one-sample chunk takes conv.c's
     * no-gather/no-scatter path, the others the gathered one; with biases.
     * Chunks of 3: 121 positions (3 x 121 >= NN_COL_MIN_N columns) and
     * 56 x 4 x 4 (conv) and 48 x 4 x 4 (convt) window values, over a
     * third of NN_COL_CAP per sample */
    check_chunked(56, 12, 12, 48, 3, 17);
    /* 1680 positions per sample: one-sample chunks whatever fits */
    check_chunked(3, 41, 43, 3, 1, 18);
}

static void test_conv_transpose2d_gradients(void **state)
{
    (void)state;
    /* 1x1 -> 4x4 (k4 s1 p0), then 4x4 -> 8x8 (k4 s2 p1), then odd 5x5 -> 9x9 */
    for (int b = 1; b <= 2; b++) {
        lpz_model *m = make(3, 3, 1, 1);
        OK(lpz_model_add_conv_transpose2d(m, "0", 4, 4, 1, 0, 1, &e_));
        OK(lpz_model_add_tanh(m, &e_));
        OK(lpz_model_add_conv_transpose2d(m, "2", 2, 4, 2, 1, 0, &e_));
        lpz_shape os = lpz_model_output_shape(m);
        assert_int_equal(os.dim[1], 8);
        check_grad(m, b, 20 + b, H_STEP, TOL);
        lpz_model_destroy(m);
    }
    lpz_model *m = make(3, 2, 5, 5);
    OK(lpz_model_add_conv_transpose2d(m, "0", 3, 3, 2, 1, 1, &e_));
    lpz_shape os = lpz_model_output_shape(m);
    assert_int_equal(os.dim[1], 9);
    assert_int_equal(os.dim[2], 9);
    check_grad(m, 2, 23, H_STEP, TOL);
    lpz_model_destroy(m);
}

static void test_batchnorm_training_gradients(void **state)
{
    (void)state;
    lpz_model *m = make(3, 2, 3, 5);
    OK(lpz_model_add_conv2d(m, "0", 3, 3, 1, 1, 0, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    float *w;
    OK(lpz_model_param(m, "1.weight", &w, NULL, &e_));
    w[0] = 1.5f, w[1] = 0.7f, w[2] = -1.2f;
    check_grad(m, 3, 30, H_STEP, 1e-2);
    lpz_model_destroy(m);

    /* BatchNorm1d over (F) */
    m = make(1, 5, 0, 0);
    OK(lpz_model_add_linear(m, "0", 4, 1, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_tanh(m, &e_));
    check_grad(m, 4, 31, H_STEP, 1e-2);
    lpz_model_destroy(m);

    /* a ReLU computed in the batch norm's passes (its output the batch
     * norm's), then a layer that reads it; and BatchNorm1d + ReLU */
    m = make(3, 2, 4, 4);
    OK(lpz_model_add_conv2d(m, "0", 3, 3, 1, 1, 1, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_relu(m, &e_));
    OK(lpz_model_add_conv2d(m, "3", 2, 3, 1, 0, 1, &e_));
    check_grad(m, 3, 33, H_STEP, 1e-2);
    lpz_model_destroy(m);
    m = make(1, 5, 0, 0);
    OK(lpz_model_add_linear(m, "0", 6, 1, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_relu(m, &e_));
    OK(lpz_model_add_linear(m, "3", 2, 1, &e_));
    check_grad(m, 5, 34, H_STEP, 1e-2);
    lpz_model_destroy(m);
    /* the pair as the model's last layers: its output is the model's */
    m = make(3, 2, 4, 4);
    OK(lpz_model_add_conv2d(m, "0", 3, 3, 1, 1, 1, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    check_grad(m, 3, 36, H_STEP, 1e-2);
    lpz_model_destroy(m);
}

/* A batch norm with the activation after it computed in its passes gives
 * the outputs, gradients and running statistics of the two layers apart
 * (a dropout of p = 0 between them, a copy, keeps them apart). */
static void test_batchnorm_activation_fused_matches_apart(void **state)
{
    (void)state;
    for (int act = 0; act < 2; act++)
        for (int training = 1; training >= 0; training--) {
            lpz_model *mm[2];
            for (int k = 0; k < 2; k++) {
                mm[k] = make(3, 4, 5, 5);
                OK(lpz_model_add_conv2d(mm[k], "0", 6, 3, 1, 1, 1, &e_));
                OK(lpz_model_add_batchnorm(mm[k], "1", &e_));
                if (k == 1)
                    OK(lpz_model_add_dropout(mm[k], 0.0f, &e_));
                OK(act ? lpz_model_add_leaky_relu(mm[k], 0.2f, &e_) : lpz_model_add_relu(mm[k], &e_));
                OK(lpz_model_add_flatten(mm[k], &e_));
                OK(lpz_model_add_linear(mm[k], "5", 1, 1, &e_));
                lpz_model_set_training(mm[k], training);
            }
            int64_t np = lpz_model_param_count(mm[0]);
            float *v = malloc((size_t)np * sizeof(float));
            lpz_model_get_vector(mm[0], v);
            lpz_model_set_vector(mm[1], v);
            float *rm[2], *rv[2];
            for (int k = 0; k < 2; k++) { /* running statistics away from 0 / 1 for evaluation */
                OK(lpz_model_param(mm[k], "1.running_mean", &rm[k], NULL, &e_));
                OK(lpz_model_param(mm[k], "1.running_var", &rv[k], NULL, &e_));
                for (int c = 0; c < 6; c++)
                    rm[k][c] = 0.1f * (float)c - 0.2f, rv[k][c] = 0.5f + 0.3f * (float)c;
            }
            int64_t n = 4, nx = n * 4 * 5 * 5;
            float x[4 * 4 * 5 * 5], dy[4] = {0.5f, -1.0f, 2.0f, 0.25f}, dx[2][4 * 4 * 5 * 5];
            for (int64_t i = 0; i < nx; i++)
                x[i] = sinf((float)i * 0.37f) * 1.5f;
            const float *y[2];
            for (int k = 0; k < 2; k++) {
                lpz_model_zero_grad(mm[k]);
                y[k] = lpz_model_forward(mm[k], x, n, &e_);
                assert_non_null(y[k]);
                OK(lpz_model_backward(mm[k], dy, dx[k], &e_));
            }
            for (int i = 0; i < n; i++)
                assert_float_equal(y[1][i], y[0][i], 1e-5);
            for (int64_t i = 0; i < nx; i++)
                assert_float_equal(dx[1][i], dx[0][i], 1e-5);
            const float *g0 = lpz_model_grads(mm[0]), *g1 = lpz_model_grads(mm[1]);
            for (int64_t i = 0; i < np; i++)
                assert_float_equal(g1[i], g0[i], 1e-4);
            for (int c = 0; c < 6; c++) {
                assert_float_equal(rm[1][c], rm[0][c], 1e-6);
                assert_float_equal(rv[1][c], rv[0][c], 1e-6);
            }
            free(v);
            lpz_model_destroy(mm[0]);
            lpz_model_destroy(mm[1]);
        }
}

static void test_batchnorm_evaluation_gradients_and_running_stats(void **state)
{
    (void)state;
    lpz_model *m = make(3, 2, 2, 2);
    OK(lpz_model_add_batchnorm(m, "bn", &e_));
    float x[2 * 8];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    assert_non_null(lpz_model_forward(m, x, 2, &e_));
    float *rm, *rv, *nb;
    OK(lpz_model_param(m, "bn.running_mean", &rm, NULL, &e_));
    OK(lpz_model_param(m, "bn.running_var", &rv, NULL, &e_));
    OK(lpz_model_param(m, "bn.num_batches_tracked", &nb, NULL, &e_));
    /* channel 0 holds 0..3 and 8..11: mean 5.5, unbiased var 138 / 7;
     * running = 0.9 running + 0.1 batch, from 0 and 1 */
    assert_float_equal(rm[0], 0.55f, 1e-5);
    assert_float_equal(rv[0], 0.9f + 0.1f * 138.0f / 7.0f, 1e-4);
    assert_float_equal(nb[0], 1.0f, 0);
    lpz_model_set_training(m, 0);
    check_grad(m, 2, 32, H_STEP, TOL);
    assert_float_equal(nb[0], 1.0f, 0); /* evaluation leaves statistics alone */
    lpz_model_destroy(m);
}

static void test_dropout_gradients_with_fixed_mask(void **state)
{
    (void)state;
    lpz_model *m = make(1, 6, 0, 0);
    OK(lpz_model_add_linear(m, "0", 20, 1, &e_));
    OK(lpz_model_add_dropout(m, 0.4f, &e_));
    OK(lpz_model_add_linear(m, "2", 3, 1, &e_));
    check_grad(m, 4, 40, H_STEP, TOL);
    /* the mask really drops: zeros appear with about p = 0.4 */
    float x[100 * 6];
    for (int i = 0; i < 600; i++)
        x[i] = 1.0f;
    lpz_model *d = make(1, 6, 0, 0);
    OK(lpz_model_add_dropout(d, 0.4f, &e_));
    const float *y = lpz_model_forward(d, x, 100, &e_);
    int zeros = 0;
    for (int i = 0; i < 600; i++) {
        if (y[i] == 0.0f)
            zeros++;
        else
            assert_float_equal(y[i], 1.0f / 0.6f, 1e-6);
    }
    assert_in_range(zeros, 180, 300);
    lpz_model_set_training(d, 0);
    y = lpz_model_forward(d, x, 100, &e_);
    for (int i = 0; i < 600; i++)
        assert_float_equal(y[i], 1.0f, 0);
    lpz_model_destroy(d);
    lpz_model_destroy(m);
}

static void test_lstm_two_layer_gradients(void **state)
{
    (void)state;
    for (int b = 1; b <= 3; b += 2) {
        lpz_model *m = make(2, 4, 3, 0);
        OK(lpz_model_add_lstm(m, "rnn", 5, 2, 0.25f, &e_));
        OK(lpz_model_add_linear(m, "out", 2, 1, &e_));
        check_grad(m, b, 50 + b, H_STEP, TOL);
        lpz_model_destroy(m);
    }
}

static void test_sequence_gan_shapes_gradients(void **state)
{
    (void)state;
    /* generator: noise (F) -> repeat over T -> linear -> LSTM -> linear */
    lpz_model *g = make(1, 3, 0, 0);
    OK(lpz_model_add_repeat_steps(g, 5, &e_));
    OK(lpz_model_add_linear(g, "inp", 4, 1, &e_));
    OK(lpz_model_add_lstm(g, "rnn", 4, 1, 0.0f, &e_));
    OK(lpz_model_add_linear(g, "out", 2, 1, &e_));
    check_grad(g, 2, 60, H_STEP, TOL);
    lpz_model_destroy(g);
    /* discriminator: sequence -> LSTM -> last step -> linear -> sigmoid */
    lpz_model *d = make(2, 5, 2, 0);
    OK(lpz_model_add_lstm(d, "rnn", 4, 2, 0.0f, &e_));
    OK(lpz_model_add_last_step(d, &e_));
    OK(lpz_model_add_linear(d, "out", 1, 1, &e_));
    OK(lpz_model_add_sigmoid(d, &e_));
    check_grad(d, 3, 61, H_STEP, TOL);
    lpz_model_destroy(d);
}

static void test_reshape_and_flatten_pass_gradients(void **state)
{
    (void)state;
    lpz_model *m = make(1, 12, 0, 0);
    lpz_shape s = lpz_shape_make(3, 3, 2, 2, 0);
    OK(lpz_model_add_reshape(m, &s, &e_));
    OK(lpz_model_add_conv2d(m, "1", 2, 2, 1, 1, 1, &e_));
    OK(lpz_model_add_flatten(m, &e_));
    OK(lpz_model_add_linear(m, "3", 2, 1, &e_));
    check_grad(m, 2, 70, H_STEP, TOL);
    lpz_model_destroy(m);
    /* only reshapes: the input gradient is the output gradient */
    m = make(1, 12, 0, 0);
    OK(lpz_model_add_reshape(m, &s, &e_));
    OK(lpz_model_add_flatten(m, &e_));
    float x[24], dy[24], dx[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i, dy[i] = 0.5f * (float)i - 3.0f;
    assert_non_null(lpz_model_forward(m, x, 2, &e_));
    OK(lpz_model_backward(m, dy, dx, &e_));
    assert_memory_equal(dx, dy, sizeof dx);
    OK(lpz_model_backward(m, dy, NULL, &e_));
    lpz_model_destroy(m);
}

/* A plugin-style layer: y = a * x + b elementwise, a and b of shape (F). */
static int scale_shape(void *self, const lpz_shape *in, lpz_shape *out, lpz_error *err)
{
    (void)self;
    if (in->ndim != 1)
        return lpz_error_set(err, LPZ_EINVAL, "scale wants (F)");
    *out = *in;
    return LPZ_OK;
}
static lpz_layer_param_spec scale_spec[3];
static const lpz_layer_param_spec *scale_params(void *self, const lpz_shape *in)
{
    (void)self;
    scale_spec[0] = (lpz_layer_param_spec){"a", lpz_shape_make(1, in->dim[0], 0, 0, 0)};
    scale_spec[1] = (lpz_layer_param_spec){"b", lpz_shape_make(1, in->dim[0], 0, 0, 0)};
    scale_spec[2] = (lpz_layer_param_spec){NULL, lpz_shape_make(0, 0, 0, 0, 0)};
    return scale_spec;
}
static void scale_init(void *self, const lpz_shape *in, float *p, lpz_rng *rng)
{
    (void)self;
    lpz_rng_fill_uniform(rng, p, (size_t)(2 * in->dim[0]), 0.5f, 1.5f);
}
static void scale_forward(void *self, const lpz_shape *in, int64_t n, const float *p, const float *x, float *y,
                          int train)
{
    (void)self, (void)train;
    int64_t F = in->dim[0];
    for (int64_t i = 0; i < n * F; i++)
        y[i] = p[i % F] * x[i] + p[F + i % F];
}
static void scale_backward(void *self, const lpz_shape *in, int64_t n, const float *p, const float *x,
                           const float *y, const float *dy, float *dx, float *dp)
{
    (void)self, (void)y;
    int64_t F = in->dim[0];
    for (int64_t i = 0; i < n * F; i++) {
        dx[i] = p[i % F] * dy[i];
        dp[i % F] += x[i] * dy[i];
        dp[F + i % F] += dy[i];
    }
}
static const lpz_layer_ops scale_ops = {sizeof(lpz_layer_ops), "scale", scale_shape, scale_params, scale_init,
                                        scale_forward, scale_backward, NULL};

static void test_custom_layer_trains_like_builtin(void **state)
{
    (void)state;
    lpz_model *m = make(1, 4, 0, 0);
    OK(lpz_model_add_linear(m, "0", 3, 1, &e_));
    OK(lpz_model_add_custom(m, "s", &scale_ops, NULL, &e_));
    OK(lpz_model_add_tanh(m, &e_));
    float *a;
    lpz_shape sh;
    OK(lpz_model_param(m, "s.a", &a, &sh, &e_));
    assert_int_equal(sh.dim[0], 3);
    assert_true(a[0] >= 0.5f && a[0] <= 1.5f);
    check_grad(m, 2, 80, H_STEP, TOL);
    lpz_model_destroy(m);
}

/* lpz_model_backward_input gives lpz_model_backward's input gradient and
 * leaves the parameter gradients alone; lpz_model_backward_fresh gives
 * lpz_model_zero_grad + lpz_model_backward's gradients without reading
 * the buffer (NaN before it). Stacks: conv + BN + transposed conv, LSTM,
 * a custom layer, linear layers on the engine's kernels (wide layers, a
 * few rows), on cblas (over 256 rows) and the small-output loops, and a
 * leading flatten; with and without dx. */
static void test_backward_input_and_fresh_match_backward(void **state)
{
    (void)state;
    for (int which = 0; which < 6; which++) {
        lpz_model *m;
        int64_t n = 3;
        if (which == 0) {
            m = make(3, 2, 6, 6); /* the batch norm computes the ReLU after it */
            OK(lpz_model_add_conv2d(m, "0", 3, 3, 2, 1, 1, &e_));
            OK(lpz_model_add_batchnorm(m, "1", &e_));
            OK(lpz_model_add_relu(m, &e_));
            OK(lpz_model_add_conv_transpose2d(m, "3", 2, 4, 2, 1, 1, &e_));
            OK(lpz_model_add_flatten(m, &e_));
            OK(lpz_model_add_linear(m, "5", 1, 1, &e_));
        } else if (which == 1) {
            m = make(2, 4, 3, 0);
            OK(lpz_model_add_lstm(m, "rnn", 5, 2, 0.0f, &e_));
            OK(lpz_model_add_last_step(m, &e_));
            OK(lpz_model_add_linear(m, "out", 1, 1, &e_));
        } else if (which == 2) {
            m = make(1, 4, 0, 0);
            OK(lpz_model_add_custom(m, "s", &scale_ops, NULL, &e_));
            OK(lpz_model_add_linear(m, "1", 1, 1, &e_));
        } else if (which == 5) {
            m = make(3, 1, 4, 4); /* a discriminator's leading flatten: dx from the first linear layer */
            OK(lpz_model_add_flatten(m, &e_));
            OK(lpz_model_add_linear(m, "1", 8, 1, &e_));
            OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
            OK(lpz_model_add_linear(m, "3", 1, 1, &e_));
        } else {
            n = which == 3 ? 5 : 300;
            m = make(1, 20, 0, 0);
            OK(lpz_model_add_linear(m, "0", 56, 1, &e_));
            OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
            OK(lpz_model_add_linear(m, "2", 16, 0, &e_));
            OK(lpz_model_add_tanh(m, &e_));
            OK(lpz_model_add_linear(m, "4", 3, 1, &e_));
        }
        lpz_shape is = lpz_model_input_shape(m), os = lpz_model_output_shape(m);
        int64_t nx = n * lpz_shape_numel(&is), ny = n * lpz_shape_numel(&os), np = lpz_model_param_count(m);
        float *x = malloc((size_t)nx * sizeof(float)), *dx1 = malloc((size_t)nx * sizeof(float));
        float *dx2 = malloc((size_t)nx * sizeof(float)), *dy = malloc((size_t)ny * sizeof(float));
        for (int64_t i = 0; i < nx; i++)
            x[i] = sinf((float)i * 0.7f);
        for (int64_t i = 0; i < ny; i++)
            dy[i] = cosf((float)i * 1.3f);
        assert_non_null(lpz_model_forward(m, x, n, &e_));
        lpz_model_zero_grad(m);
        OK(lpz_model_backward(m, dy, dx1, &e_));
        float *g = malloc((size_t)np * sizeof(float));
        memcpy(g, lpz_model_grads(m), (size_t)np * sizeof(float));
        OK(lpz_model_backward_input(m, dy, dx2, &e_));
        assert_memory_equal(dx1, dx2, (size_t)nx * sizeof(float));
        assert_memory_equal(g, lpz_model_grads(m), (size_t)np * sizeof(float));
        assert_int_equal(lpz_model_backward_input(m, dy, NULL, &e_), LPZ_EINVAL);
        float *gm = lpz_model_grads(m);
        for (int64_t i = 0; i < np; i++)
            gm[i] = NAN;
        OK(lpz_model_backward_fresh(m, dy, dx2, &e_));
        assert_memory_equal(dx1, dx2, (size_t)nx * sizeof(float));
        for (int64_t i = 0; i < np; i++)
            if (!(gm[i] == g[i])) /* equal values (a stored product may be -0 where 0 + -0 gave +0) */
                fail_msg("stack %d, parameter %lld: fresh %.9g, zero + backward %.9g", which, (long long)i, gm[i],
                         g[i]);
        /* without dx (the first layer, after any leading reshapes, skips its
         * input gradient): the same parameter gradients, every one written */
        for (int64_t i = 0; i < np; i++)
            gm[i] = NAN;
        OK(lpz_model_backward_fresh(m, dy, NULL, &e_));
        for (int64_t i = 0; i < np; i++)
            if (!(gm[i] == g[i]))
                fail_msg("stack %d, parameter %lld without dx: %.9g, with dx %.9g", which, (long long)i, gm[i], g[i]);
        /* and a second backward adds to it, as after zero_grad + backward
         * (OpenBLAS may add a product to C in pieces: not always exact) */
        OK(lpz_model_backward(m, dy, NULL, &e_));
        for (int64_t i = 0; i < np; i++)
            if (!(fabsf(gm[i] - 2 * g[i]) <= 1e-5f * fabsf(g[i]) + 1e-7f))
                fail_msg("stack %d, parameter %lld: %.9g after a second backward, 2 x %.9g", which, (long long)i,
                         gm[i], g[i]);
        free(x);
        free(dx1);
        free(dx2);
        free(dy);
        free(g);
        lpz_model_destroy(m);
    }
}

/* ---- losses and Adam ----------------------------------------------------- */

static void test_loss_gradients_match_finite_differences(void **state)
{
    (void)state;
    float p[7] = {0.1f, 0.35f, 0.5f, 0.62f, 0.8f, 0.93f, 0.27f}, g[7];
    lpz_loss_kind kinds[4] = {LPZ_LOSS_BCE, LPZ_LOSS_MSE, LPZ_LOSS_HEURISTIC, LPZ_LOSS_WASSERSTEIN};
    for (int k = 0; k < 4; k++)
        for (int t = 0; t <= 1; t++) {
            if (kinds[k] == LPZ_LOSS_HEURISTIC && t == 0)
                continue;
            double L;
            OK(lpz_loss(kinds[k], p, 7, (float)t, &L, g, &e_));
            for (int i = 0; i < 7; i++) {
                double h = 1e-3, lp, lm;
                float v = p[i];
                p[i] = v + (float)h;
                OK(lpz_loss(kinds[k], p, 7, (float)t, &lp, NULL, &e_));
                p[i] = v - (float)h;
                OK(lpz_loss(kinds[k], p, 7, (float)t, &lm, NULL, &e_));
                p[i] = v;
                double fd = (lp - lm) / (2 * h);
                if (fabs(fd - g[i]) > 1e-3 * fmax(1.0, fabs(fd)))
                    fail_msg("%s target %d: d/dp[%d] = %g, finite difference %g", lpz_loss_name(kinds[k]), t, i,
                             (double)g[i], fd);
            }
        }
}

static void test_loss_values_and_bad_outputs(void **state)
{
    (void)state;
    float p[2] = {0.0f, 1.0f}, g[2];
    double L;
    /* log clamp: BCE(0, 1) = 100, BCE(1, 1) = 0 -> mean 50 */
    OK(lpz_loss(LPZ_LOSS_BCE, p, 2, 1.0f, &L, g, &e_));
    assert_float_equal(L, 50.0, 1e-9);
    float s[2] = {3.0f, -1.0f};
    OK(lpz_loss(LPZ_LOSS_WASSERSTEIN, s, 2, 1.0f, &L, g, &e_));
    assert_float_equal(L, -1.0, 1e-9);
    assert_float_equal(g[0], -0.5f, 0);
    float bad[2] = {0.5f, 1.5f};
    assert_int_equal(lpz_loss(LPZ_LOSS_BCE, bad, 2, 1.0f, &L, g, &e_), LPZ_EINVAL);
    assert_non_null(strstr(e_.message, "output 1"));
    float nanv[1] = {NAN};
    assert_int_equal(lpz_loss(LPZ_LOSS_MSE, nanv, 1, 1.0f, &L, g, &e_), LPZ_EINVAL);
    assert_int_equal(lpz_loss(LPZ_LOSS_HEURISTIC, p, 2, 0.0f, &L, g, &e_), LPZ_EINVAL);
    assert_int_equal(lpz_loss(LPZ_LOSS_BCE, p, 0, 1.0f, &L, g, &e_), LPZ_EINVAL);
    lpz_loss_kind k;
    OK(lpz_loss_from_name("bceloss", &k, &e_));
    assert_int_equal(k, LPZ_LOSS_BCE);
    assert_int_equal(lpz_loss_from_name("hinge", &k, &e_), LPZ_ENOTFOUND);
}

static void test_adam_matches_formula_and_state_round_trips(void **state)
{
    (void)state;
    lpz_adam *a, *b;
    OK(lpz_adam_create(3, &a, &e_));
    OK(lpz_adam_create(3, &b, &e_));
    float p[3] = {1.0f, -2.0f, 0.5f};
    double pd[3] = {1.0, -2.0, 0.5}, md[3] = {0}, vd[3] = {0};
    for (int step = 1; step <= 5; step++) {
        float g[3] = {0.3f * step, -0.1f, 2.0f / step};
        double lr = 1e-3 * step; /* the rate changes every step */
        OK(lpz_adam_step(a, p, g, lr, 0.5, 0.999, &e_));
        for (int i = 0; i < 3; i++) {
            md[i] = 0.5 * md[i] + 0.5 * g[i];
            vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
            double mh = md[i] / (1 - pow(0.5, step)), vh = vd[i] / (1 - pow(0.999, step));
            pd[i] -= lr * mh / (sqrt(vh) + 1e-8);
            assert_float_equal(p[i], pd[i], 1e-6);
        }
    }
    assert_int_equal(a->t, 5);
    int64_t t;
    float m[3], v[3];
    lpz_adam_get_state(a, &t, m, v);
    OK(lpz_adam_set_state(b, t, m, v, &e_));
    float p2[3];
    memcpy(p2, p, sizeof(p));
    float g[3] = {0.1f, 0.2f, 0.3f};
    OK(lpz_adam_step(a, p, g, 1e-3, 0.5, 0.999, &e_));
    OK(lpz_adam_step(b, p2, g, 1e-3, 0.5, 0.999, &e_));
    assert_memory_equal(p, p2, sizeof(p));
    assert_int_equal(lpz_adam_step(a, p, g, -1.0, 0.5, 0.999, &e_), LPZ_EINVAL);
    assert_int_equal(lpz_adam_step(a, p, g, 1e-3, 1.0, 0.999, &e_), LPZ_EINVAL);
    /* step counts from files and peers: at most 2^53, and a step at the limit is refused, not overflowed */
    assert_int_equal(lpz_adam_set_state(b, LPZ_ADAM_MAX_STEP + 1, m, v, &e_), LPZ_EINVAL);
    OK(lpz_adam_set_state(b, LPZ_ADAM_MAX_STEP, m, v, &e_));
    assert_int_equal(lpz_adam_step(b, p2, g, 1e-3, 0.5, 0.999, &e_), LPZ_EINVAL);
    assert_int_equal(b->t, LPZ_ADAM_MAX_STEP);
    lpz_adam *c;
    OK(lpz_adam_create(4, &c, &e_));
    assert_int_equal(lpz_adam_copy(c, a, &e_), LPZ_EINVAL);
    lpz_adam_destroy(a);
    lpz_adam_destroy(b);
    lpz_adam_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_gradients_batch_1_and_3),
        cmocka_unit_test(test_time_distributed_linear_gradients),
        cmocka_unit_test(test_activation_gradients),
        cmocka_unit_test(test_conv2d_gradients_odd_sizes_stride_2_padding),
        cmocka_unit_test(test_conv2d_gradients_across_chunks),
        cmocka_unit_test(test_conv_chunks_ending_in_one_sample),
        cmocka_unit_test(test_conv_transpose2d_gradients),
        cmocka_unit_test(test_batchnorm_training_gradients),
        cmocka_unit_test(test_batchnorm_evaluation_gradients_and_running_stats),
        cmocka_unit_test(test_batchnorm_activation_fused_matches_apart),
        cmocka_unit_test(test_dropout_gradients_with_fixed_mask),
        cmocka_unit_test(test_lstm_two_layer_gradients),
        cmocka_unit_test(test_sequence_gan_shapes_gradients),
        cmocka_unit_test(test_reshape_and_flatten_pass_gradients),
        cmocka_unit_test(test_custom_layer_trains_like_builtin),
        cmocka_unit_test(test_backward_input_and_fresh_match_backward),
        cmocka_unit_test(test_loss_gradients_match_finite_differences),
        cmocka_unit_test(test_loss_values_and_bad_outputs),
        cmocka_unit_test(test_adam_matches_formula_and_state_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
