/* tests/networks/test_network_template.c - sdk/template-network/residual_mlp.c
 * (compiled into this test) is what docs/howto/add-a-network.md says: the
 * state_dict of the PyTorch modules in its first comment, the residual
 * block's arithmetic, options with their ranges, zero_init_residual, the
 * critic, and models that save and load bit for bit. The custom layer's
 * gradient is checked by the template's own gradcheck, built out of tree
 * by tests/sdk/template_out_of_tree.sh. */
#include "net_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const lpz_plugin lpz_plugin_descriptor;

static lpz_shape image(void)
{
    return lpz_shape_make(3, 1, 28, 28, 0);
}

static void test_descriptor(void **state)
{
    (void)state;
    assert_int_equal(lpz_plugin_descriptor.kind, LPZ_PLUGIN_NETWORK);
    assert_string_equal(lpz_plugin_descriptor.name, "residual_mlp");
    assert_null(lpz_plugin_descriptor.aliases);
    const char *keys[] = {"latent", "hidden", "blocks", "slope", "zero_init_residual"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(lpz_plugin_descriptor.options[i].name, keys[i]);
    assert_null(lpz_plugin_descriptor.options[5].name);
}

static void test_defaults_give_the_documented_state_dict(void **state)
{
    (void)state;
    lpz_options *opts = nt_options(NULL);
    lpz_network *net = nt_network(opts, image(), 0);
    lpz_shape latent = lpz_network_latent_shape(net);
    assert_int_equal(latent.ndim, 1);
    assert_int_equal(latent.dim[0], 64);

    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const nt_tensor_spec gspec[] = {{"0.weight", 2, {256, 64}},      {"0.bias", 1, {256}},
                                    {"2.fc1.weight", 2, {256, 256}}, {"2.fc1.bias", 1, {256}},
                                    {"2.fc2.weight", 2, {256, 256}}, {"2.fc2.bias", 1, {256}},
                                    {"3.weight", 2, {784, 256}},     {"3.bias", 1, {784}}};
    nt_expect_tensors(g, gspec, 8);
    lpz_shape out = lpz_model_output_shape(g);
    assert_int_equal(out.ndim, 3);
    assert_int_equal(out.dim[2], 28);

    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1);
    const nt_tensor_spec dspec[] = {{"0.weight", 2, {256, 784}},     {"0.bias", 1, {256}},
                                    {"2.fc1.weight", 2, {256, 256}}, {"2.fc1.bias", 1, {256}},
                                    {"2.fc2.weight", 2, {256, 256}}, {"2.fc2.bias", 1, {256}},
                                    {"3.weight", 2, {1, 256}},       {"3.bias", 1, {1}}};
    nt_expect_tensors(d, dspec, 8);

    /* PyTorch's Linear init in the custom layer too: U(-1/16, 1/16) */
    float *w;
    lpz_shape s;
    assert_int_equal(lpz_model_param(g, "2.fc2.weight", &w, &s, NULL), LPZ_OK);
    float maxabs = 0;
    for (int64_t i = 0; i < lpz_shape_numel(&s); i++)
        maxabs = fmaxf(maxabs, fabsf(w[i]));
    assert_true(maxabs <= 1.0f / 16 && maxabs > 0.9f / 16);

    /* samples in [-1, 1], scores in (0, 1) */
    enum { N = 4 };
    float z[N * 64];
    nt_fill_normal(z, N * 64, 3);
    float *x = malloc(N * 784 * sizeof *x);
    assert_non_null(x);
    memcpy(x, nt_forward(g, z, N), N * 784 * sizeof *x);
    for (int i = 0; i < N * 784; i++)
        assert_true(x[i] >= -1.0f && x[i] <= 1.0f);
    const float *score = nt_forward(d, x, N);
    for (int i = 0; i < N; i++)
        assert_true(score[i] > 0.0f && score[i] < 1.0f);
    free(x);
    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

/* Reads tensor `name` of m. */
static const float *tensor(lpz_model *m, const char *name)
{
    float *data;
    lpz_shape s;
    assert_int_equal(lpz_model_param(m, name, &data, &s, NULL), LPZ_OK);
    return data;
}

static void affine_ref(int out, int in, const float *w, const float *b, const double *x, double *y)
{
    for (int o = 0; o < out; o++) {
        y[o] = b[o];
        for (int k = 0; k < in; k++)
            y[o] += (double)w[o * in + k] * x[k];
    }
}

static double leaky(double v, double slope)
{
    return v > 0 ? v : slope * v;
}

/* The critic on a (2, 3) sample, computed as the PyTorch modules of the
 * template's first comment would: flatten, Linear, LeakyReLU, x +
 * fc2(leaky(fc1(x))) twice, Linear. Also the blocks' own slope option. */
static void test_residual_blocks_compute_the_documented_function(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=5", "latent=3", "blocks=2", "slope=0.1", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, lpz_shape_make(2, 2, 3, 0, 0), 1);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 9);
    enum { N = 3, S = 6, H = 5 };
    float x[N * S];
    nt_fill_uniform(x, N * S, 4);
    const float *got = nt_forward(d, x, N);
    for (int i = 0; i < N; i++) {
        double in[S], h[H], z[H], a[H], r[H], y;
        for (int k = 0; k < S; k++)
            in[k] = x[i * S + k];
        affine_ref(H, S, tensor(d, "0.weight"), tensor(d, "0.bias"), in, h);
        for (int k = 0; k < H; k++)
            h[k] = leaky(h[k], 0.1);
        for (int b = 2; b <= 3; b++) {
            char w1[32], b1[32], w2[32], b2[32];
            snprintf(w1, sizeof w1, "%d.fc1.weight", b);
            snprintf(b1, sizeof b1, "%d.fc1.bias", b);
            snprintf(w2, sizeof w2, "%d.fc2.weight", b);
            snprintf(b2, sizeof b2, "%d.fc2.bias", b);
            affine_ref(H, H, tensor(d, w1), tensor(d, b1), h, z);
            for (int k = 0; k < H; k++)
                a[k] = leaky(z[k], 0.1);
            affine_ref(H, H, tensor(d, w2), tensor(d, b2), a, r);
            for (int k = 0; k < H; k++)
                h[k] += r[k];
        }
        affine_ref(1, H, tensor(d, "4.weight"), tensor(d, "4.bias"), h, &y);
        assert_float_equal(got[i], y, 1e-5);
    }
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_critic_is_the_discriminator_without_sigmoid(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=16", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, image(), 0);
    lpz_network *critic = nt_network(opts, image(), 1);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 5);
    lpz_model *c = nt_build(critic, LPZ_ROLE_DISCRIMINATOR, 5);
    nt_expect_same_tensors(d, c);
    enum { N = 4 };
    float *x = malloc(N * 784 * sizeof *x);
    assert_non_null(x);
    nt_fill_uniform(x, N * 784, 9);
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

/* zero_init_residual (the plugin's init): fc2 of every block is 0, so each
 * block starts as the identity; fc1 keeps its default init. blocks: 0 is a
 * plain MLP. */
static void test_zero_init_residual_and_no_blocks(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=8", "blocks=3", "zero_init_residual=true", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, image(), 0);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 2);
    for (int b = 2; b <= 4; b++) {
        char name[32];
        snprintf(name, sizeof name, "%d.fc2.weight", b);
        const float *w2 = tensor(g, name);
        snprintf(name, sizeof name, "%d.fc2.bias", b);
        const float *b2 = tensor(g, name);
        snprintf(name, sizeof name, "%d.fc1.weight", b);
        const float *w1 = tensor(g, name);
        int nonzero = 0;
        for (int i = 0; i < 64; i++) {
            assert_true(w2[i] == 0.0f);
            nonzero += w1[i] != 0.0f;
        }
        for (int i = 0; i < 8; i++)
            assert_true(b2[i] == 0.0f);
        assert_true(nonzero > 60);
    }
    lpz_model_destroy(g);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);

    const char *none[] = {"hidden=8", "blocks=0", NULL};
    opts = nt_options(none);
    net = nt_network(opts, image(), 0);
    g = nt_build(net, LPZ_ROLE_GENERATOR, 2);
    const nt_tensor_spec gspec[] = {
        {"0.weight", 2, {8, 64}}, {"0.bias", 1, {8}}, {"2.weight", 2, {784, 8}}, {"2.bias", 1, {784}}};
    nt_expect_tensors(g, gspec, 4);
    lpz_model_destroy(g);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void expect_refused(const char *pair, lpz_shape sample, int code, const char *needle)
{
    const char *pairs[] = {pair, NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_error err;
    assert_int_equal(nt_try_network(opts, sample, 0, &err), code);
    nt_expect_error_mentions(&err, needle);
    lpz_options_destroy(opts);
}

static void test_bad_options_and_shapes_are_refused(void **state)
{
    (void)state;
    expect_refused("hidden=0", image(), LPZ_EINVAL, "hidden is 0; it must be 1 to 16384");
    expect_refused("latent=20000", image(), LPZ_EINVAL, "latent is 20000");
    expect_refused("blocks=65", image(), LPZ_EINVAL, "blocks is 65; it must be 0 to 64");
    expect_refused("slope=1", image(), LPZ_EINVAL, "slope is 1; it must be at least 0 and below 1");
    expect_refused("hidden=16384", lpz_shape_make(3, 3, 218, 178, 0), LPZ_EUNSUPPORTED,
                   "at most 16384 values per sample");
}

static void test_save_load_round_trip_is_bit_exact(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=32", "blocks=2", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, image(), 0);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 11);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 12);
    nt_round_trip(net, LPZ_ROLE_GENERATOR, g, nt_temp_path("residual_g.safetensors"));
    nt_round_trip(net, LPZ_ROLE_DISCRIMINATOR, d, nt_temp_path("residual_d.safetensors"));
    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_defaults_give_the_documented_state_dict),
        cmocka_unit_test(test_residual_blocks_compute_the_documented_function),
        cmocka_unit_test(test_critic_is_the_discriminator_without_sigmoid),
        cmocka_unit_test(test_zero_init_residual_and_no_blocks),
        cmocka_unit_test(test_bad_options_and_shapes_are_refused),
        cmocka_unit_test(test_save_load_round_trip_is_bit_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
