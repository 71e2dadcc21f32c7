/* tests/networks/test_network_dcgan.c - the convolutional (DCGAN) plugin:
 * PyTorch Sequential indices and shapes for 3x64x64 and 1x64x64, the
 * 32x32 variant, refusal of other sizes naming the supported ones, the
 * original's _init_weights, and bit-exact save/load including batch-norm
 * running statistics. As in the original's network_factory.py, every
 * (transposed) convolution has a bias (PyTorch's default bias=True). */
#include "net_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

extern const lpz_plugin lpz_plugin_descriptor;

static void test_descriptor_names_and_alias(void **state)
{
    (void)state;
    assert_int_equal(lpz_plugin_descriptor.kind, LPZ_PLUGIN_NETWORK);
    assert_string_equal(lpz_plugin_descriptor.name, "convolutional");
    assert_string_equal(lpz_plugin_descriptor.aliases[0], "dcgan");
}

/* The five tensors of batch norm "i" over c channels. */
// clang-format off
#define BN(i, c)                                                                  \
    {#i ".weight", 1, {c}}, {#i ".bias", 1, {c}}, {#i ".running_mean", 1, {c}},   \
    {#i ".running_var", 1, {c}}, {#i ".num_batches_tracked", 0, {0}}
/* A transposed convolution "i" (weight [in, out, 4, 4]) and a convolution
 * "i" (weight [out, in, 4, 4]), each with its bias [out]. */
#define CT(i, in, out) {#i ".weight", 4, {in, out, 4, 4}}, {#i ".bias", 1, {out}}
#define CV(i, out, in) {#i ".weight", 4, {out, in, 4, 4}}, {#i ".bias", 1, {out}}
// clang-format on

/* Trainable floats of a model, to compare with PyTorch's
 * sum(p.numel() for p in module.parameters()). */
static int64_t trainable_count(const lpz_model *m)
{
    int64_t total = 0;
    int n = lpz_model_tensor_count(m);
    for (int i = 0; i < n; i++) {
        const char *name;
        lpz_shape s;
        float *data;
        int trainable;
        assert_int_equal(lpz_model_tensor_info(m, i, &name, &s, &data, &trainable), LPZ_OK);
        if (trainable)
            total += lpz_shape_numel(&s);
    }
    return total;
}

/* PyTorch's parameter counts of the original's ConvolutionalNetworkFactory
 * (complexity 64) built for c channels: G 3577667 / D 2766529 for c = 3,
 * G 3575617 / D 2764481 for c = 1. */
static void check_64(int64_t c, int64_t g_params, int64_t d_params)
{
    lpz_network *net = nt_network(NULL, lpz_shape_make(3, c, 64, 64, 0), 0);
    lpz_shape latent = lpz_network_latent_shape(net);
    assert_int_equal(latent.ndim, 3);
    assert_int_equal(latent.dim[0], 100);
    assert_int_equal(latent.dim[1], 1);
    assert_int_equal(latent.dim[2], 1);

    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const nt_tensor_spec gspec[] = {
        CT(0, 100, 512), BN(1, 512),     CT(3, 512, 256), BN(4, 256),    CT(6, 256, 128),
        BN(7, 128),      CT(9, 128, 64), BN(10, 64),      CT(12, 64, c),
    };
    nt_expect_tensors(g, gspec, (int)(sizeof gspec / sizeof gspec[0]));
    assert_int_equal(trainable_count(g), g_params);
    lpz_shape out = lpz_model_output_shape(g);
    assert_int_equal(out.ndim, 3);
    assert_int_equal(out.dim[0], c);
    assert_int_equal(out.dim[1], 64);
    assert_int_equal(out.dim[2], 64);

    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1);
    const nt_tensor_spec dspec[] = {
        CV(0, 64, c), CV(2, 128, 64),  BN(3, 128), CV(5, 256, 128),
        BN(6, 256),   CV(8, 512, 256), BN(9, 512), CV(11, 1, 512),
    };
    nt_expect_tensors(d, dspec, (int)(sizeof dspec / sizeof dspec[0]));
    assert_int_equal(trainable_count(d), d_params);
    out = lpz_model_output_shape(d);
    assert_int_equal(out.ndim, 1);
    assert_int_equal(out.dim[0], 1);

    /* One batch through both: images in [-1, 1], scores in (0, 1). */
    enum { N = 2 };
    float z[N * 100];
    nt_fill_normal(z, N * 100, 2);
    lpz_model_set_training(g, 0);
    const float *img = nt_forward(g, z, N);
    size_t n_img = (size_t)(N * c * 64 * 64);
    float *x = malloc(n_img * sizeof *x);
    assert_non_null(x);
    memcpy(x, img, n_img * sizeof *x);
    for (size_t i = 0; i < n_img; i++)
        assert_true(x[i] >= -1.0f && x[i] <= 1.0f);
    lpz_model_set_training(d, 0);
    const float *score = nt_forward(d, x, N);
    for (int i = 0; i < N; i++)
        assert_true(score[i] > 0.0f && score[i] < 1.0f);
    free(x);
    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
}

static void test_rgb_64_matches_original_state_dict(void **state)
{
    (void)state;
    check_64(3, 3577667, 2766529);
}

static void test_grey_64_matches_original_state_dict(void **state)
{
    (void)state;
    check_64(1, 3575617, 2764481);
}

static void test_32x32_has_one_block_fewer(void **state)
{
    (void)state;
    const char *pairs[] = {"width=8", "latent=20", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, lpz_shape_make(3, 1, 32, 32, 0), 0);
    assert_int_equal(lpz_network_latent_shape(net).dim[0], 20);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const nt_tensor_spec gspec[] = {CT(0, 20, 32), BN(1, 32), CT(3, 32, 16), BN(4, 16),
                                    CT(6, 16, 8),  BN(7, 8),  CT(9, 8, 1)};
    nt_expect_tensors(g, gspec, (int)(sizeof gspec / sizeof gspec[0]));
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1);
    const nt_tensor_spec dspec[] = {CV(0, 8, 1),   CV(2, 16, 8), BN(3, 16),
                                    CV(5, 32, 16), BN(6, 32),    CV(8, 1, 32)};
    nt_expect_tensors(d, dspec, (int)(sizeof dspec / sizeof dspec[0]));
    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_refuses_other_sizes_naming_supported_ones(void **state)
{
    (void)state;
    lpz_error err;
    const lpz_shape bad[] = {
        lpz_shape_make(3, 1, 28, 28, 0),                                   /* MNIST */
        lpz_shape_make(3, 2, 64, 64, 0),                                   /* 2 channels */
        lpz_shape_make(3, 3, 64, 32, 0),                                   /* not square */
        lpz_shape_make(3, 3, 128, 128, 0), lpz_shape_make(2, 30, 4, 0, 0), /* a sequence */
        lpz_shape_make(1, 784, 0, 0, 0),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nt_try_network(NULL, bad[i], 0, &err), LPZ_EUNSUPPORTED);
        nt_expect_error_mentions(&err, "3x64x64");
        nt_expect_error_mentions(&err, "1x64x64");
    }
    assert_int_equal(nt_try_network(NULL, bad[0], 0, &err), LPZ_EUNSUPPORTED);
    nt_expect_error_mentions(&err, "1x28x28");

    const char *zero[] = {"width=0", NULL};
    lpz_options *opts = nt_options(zero);
    assert_int_equal(nt_try_network(opts, lpz_shape_make(3, 3, 64, 64, 0), 0, &err), LPZ_EINVAL);
    nt_expect_error_mentions(&err, "width");
    lpz_options_destroy(opts);
}

static void stats(const float *x, int64_t n, double *mean, double *std)
{
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    *mean = s / (double)n;
    *std = sqrt(s2 / (double)n - *mean * *mean);
}

static void test_weights_init_of_the_original(void **state)
{
    (void)state;
    lpz_network *net = nt_network(NULL, lpz_shape_make(3, 3, 64, 64, 0), 0);
    for (int role = 0; role < 2; role++) {
        lpz_model *m = nt_build(net, (lpz_role)role, 7);
        int n = lpz_model_tensor_count(m);
        for (int i = 0; i < n; i++) {
            const char *name;
            lpz_shape s;
            float *data;
            int trainable;
            assert_int_equal(lpz_model_tensor_info(m, i, &name, &s, &data, &trainable), LPZ_OK);
            int64_t count = lpz_shape_numel(&s);
            double mean, std;
            stats(data, count, &mean, &std);
            if (!trainable)
                continue;
            if (s.ndim == 4) { /* conv weights: Normal(0, 0.02) */
                assert_true(strstr(name, ".weight") != NULL);
                if (count >= 4096) {
                    assert_true(fabs(mean) < 0.002);
                    assert_true(fabs(std - 0.02) < 0.002);
                }
            } else if (strstr(name, ".weight")) { /* BN: PyTorch's default, weight 1 */
                assert_int_equal(s.ndim, 1);
                for (int64_t k = 0; k < count; k++)
                    assert_true(data[k] == 1.0f);
            } else { /* conv and BN biases: 0 */
                assert_non_null(strstr(name, ".bias"));
                for (int64_t k = 0; k < count; k++)
                    assert_true(data[k] == 0.0f);
            }
        }
        lpz_model_destroy(m);
    }
    lpz_network_destroy(net);
}

/* A few training-mode batches move the batch-norm running statistics and
 * counters away from their initial values, so the round trip covers them. */
static void train_forward(lpz_model *m, int batches)
{
    lpz_shape in = lpz_model_input_shape(m);
    int64_t n = 4, numel = lpz_shape_numel(&in);
    float *x = malloc((size_t)(n * numel) * sizeof *x);
    assert_non_null(x);
    lpz_model_set_training(m, 1);
    for (int b = 0; b < batches; b++) {
        nt_fill_uniform(x, (size_t)(n * numel), 100 + (uint64_t)b);
        nt_forward(m, x, n);
    }
    free(x);
}

static void test_save_load_round_trip_is_bit_exact(void **state)
{
    (void)state;
    const char *pairs[] = {"width=16", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, lpz_shape_make(3, 3, 64, 64, 0), 0);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 21);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 22);
    train_forward(g, 3);
    train_forward(d, 2);
    float *counter;
    lpz_shape s;
    assert_int_equal(lpz_model_param(g, "1.num_batches_tracked", &counter, &s, NULL), LPZ_OK);
    assert_true(counter[0] == 3.0f);
    nt_round_trip(net, LPZ_ROLE_GENERATOR, g, nt_temp_path("dcgan_g.safetensors"));
    nt_round_trip(net, LPZ_ROLE_DISCRIMINATOR, d, nt_temp_path("dcgan_d.safetensors"));
    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_critic_ends_without_sigmoid(void **state)
{
    (void)state;
    const char *pairs[] = {"width=8", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, lpz_shape_make(3, 1, 64, 64, 0), 0);
    lpz_network *critic = nt_network(opts, lpz_shape_make(3, 1, 64, 64, 0), 1);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 5);
    lpz_model *c = nt_build(critic, LPZ_ROLE_DISCRIMINATOR, 5);
    nt_expect_same_tensors(d, c);
    enum { N = 3 };
    float *x = malloc(N * 64 * 64 * sizeof *x);
    assert_non_null(x);
    nt_fill_uniform(x, N * 64 * 64, 4);
    lpz_model_set_training(d, 0);
    lpz_model_set_training(c, 0);
    float score[N];
    memcpy(score, nt_forward(d, x, N), sizeof score);
    const float *raw = nt_forward(c, x, N);
    for (int i = 0; i < N; i++)
        assert_float_equal(score[i], 1.0 / (1.0 + exp(-raw[i])), 1e-6);
    free(x);
    lpz_model_destroy(d);
    lpz_model_destroy(c);
    lpz_network_destroy(net);
    lpz_network_destroy(critic);
    lpz_options_destroy(opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_names_and_alias),
        cmocka_unit_test(test_rgb_64_matches_original_state_dict),
        cmocka_unit_test(test_grey_64_matches_original_state_dict),
        cmocka_unit_test(test_32x32_has_one_block_fewer),
        cmocka_unit_test(test_refuses_other_sizes_naming_supported_ones),
        cmocka_unit_test(test_weights_init_of_the_original),
        cmocka_unit_test(test_save_load_round_trip_is_bit_exact),
        cmocka_unit_test(test_critic_ends_without_sigmoid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
