/* tests/networks/test_network_mlp.c - the four_layer_perceptron plugin:
 * state_dict names and shapes of the original's MLP on MNIST, any sample
 * shape, option checks, critic, and bit-exact save/load. */
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

static lpz_shape mnist(void)
{
    return lpz_shape_make(3, 1, 28, 28, 0);
}

static void test_descriptor_names_and_alias(void **state)
{
    (void)state;
    assert_int_equal(lpz_plugin_descriptor.kind, LPZ_PLUGIN_NETWORK);
    assert_string_equal(lpz_plugin_descriptor.name, "four_layer_perceptron");
    assert_string_equal(lpz_plugin_descriptor.aliases[0], "mlp");
    assert_null(lpz_plugin_descriptor.aliases[1]);
}

static void test_mnist_defaults_match_original_state_dict(void **state)
{
    (void)state;
    lpz_options *opts = nt_options(NULL);
    lpz_network *net = nt_network(opts, mnist(), 0);
    lpz_shape latent = lpz_network_latent_shape(net);
    assert_int_equal(latent.ndim, 1);
    assert_int_equal(latent.dim[0], 64);

    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const nt_tensor_spec gspec[] = {{"0.weight", 2, {256, 64}},  {"0.bias", 1, {256}},
                                    {"2.weight", 2, {256, 256}}, {"2.bias", 1, {256}},
                                    {"4.weight", 2, {784, 256}}, {"4.bias", 1, {784}}};
    nt_expect_tensors(g, gspec, 6);
    lpz_shape out = lpz_model_output_shape(g);
    assert_int_equal(out.ndim, 3);
    assert_int_equal(out.dim[0], 1);
    assert_int_equal(out.dim[1], 28);
    assert_int_equal(out.dim[2], 28);

    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1);
    const nt_tensor_spec dspec[] = {{"0.weight", 2, {256, 784}}, {"0.bias", 1, {256}},
                                    {"2.weight", 2, {256, 256}}, {"2.bias", 1, {256}},
                                    {"4.weight", 2, {1, 256}},   {"4.bias", 1, {1}}};
    nt_expect_tensors(d, dspec, 6);
    out = lpz_model_output_shape(d);
    assert_int_equal(out.ndim, 1);
    assert_int_equal(out.dim[0], 1);

    /* Generated samples are in [-1, 1] (Tanh); scores in (0, 1) (Sigmoid). */
    enum { N = 8 };
    float z[N * 64];
    nt_fill_normal(z, N * 64, 3);
    const float *x = nt_forward(g, z, N);
    float *samples = malloc(N * 784 * sizeof *samples);
    assert_non_null(samples);
    memcpy(samples, x, N * 784 * sizeof *samples);
    int distinct = 0;
    for (int i = 0; i < N * 784; i++) {
        assert_true(samples[i] >= -1.0f && samples[i] <= 1.0f);
        distinct += samples[i] != samples[0];
    }
    assert_true(distinct > 0);
    const float *score = nt_forward(d, samples, N);
    for (int i = 0; i < N; i++)
        assert_true(score[i] > 0.0f && score[i] < 1.0f);
    free(samples);

    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_same_seed_same_model_other_seed_other_model(void **state)
{
    (void)state;
    lpz_network *net = nt_network(NULL, mnist(), 0);
    lpz_model *a = nt_build(net, LPZ_ROLE_GENERATOR, 42);
    lpz_model *b = nt_build(net, LPZ_ROLE_GENERATOR, 42);
    lpz_model *c = nt_build(net, LPZ_ROLE_GENERATOR, 43);
    nt_expect_same_tensors(a, b);
    assert_true(nt_tensors_differ(a, c));
    /* PyTorch's default Linear init: U(-1/sqrt(in), 1/sqrt(in)). */
    float *w;
    lpz_shape s;
    assert_int_equal(lpz_model_param(a, "2.weight", &w, &s, NULL), LPZ_OK);
    float bound = 1.0f / sqrtf(256.0f), maxabs = 0;
    for (int64_t i = 0; i < lpz_shape_numel(&s); i++)
        maxabs = fmaxf(maxabs, fabsf(w[i]));
    assert_true(maxabs <= bound && maxabs > 0.9f * bound);
    lpz_model_destroy(a);
    lpz_model_destroy(b);
    lpz_model_destroy(c);
    lpz_network_destroy(net);
}

static void test_options_change_widths(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=32", "latent=16", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, lpz_shape_make(1, 10, 0, 0, 0), 0);
    assert_int_equal(lpz_network_latent_shape(net).dim[0], 16);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const nt_tensor_spec gspec[] = {{"0.weight", 2, {32, 16}}, {"0.bias", 1, {32}},
                                    {"2.weight", 2, {32, 32}}, {"2.bias", 1, {32}},
                                    {"4.weight", 2, {10, 32}}, {"4.bias", 1, {10}}};
    nt_expect_tensors(g, gspec, 6);
    lpz_model_destroy(g);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_any_shape_is_flattened_and_reshaped(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=8", "latent=4", NULL};
    lpz_options *opts = nt_options(pairs);
    /* a sequence dataset (30, 4) and an RGB image 3x8x8 */
    lpz_shape shapes[] = {lpz_shape_make(2, 30, 4, 0, 0), lpz_shape_make(3, 3, 8, 8, 0)};
    for (int k = 0; k < 2; k++) {
        lpz_network *net = nt_network(opts, shapes[k], 0);
        lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
        lpz_shape out = lpz_model_output_shape(g);
        assert_int_equal(out.ndim, shapes[k].ndim);
        for (int d = 0; d < out.ndim; d++)
            assert_int_equal(out.dim[d], shapes[k].dim[d]);
        lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1);
        float *w;
        lpz_shape s;
        assert_int_equal(lpz_model_param(d, "0.weight", &w, &s, NULL), LPZ_OK);
        assert_int_equal(s.dim[1], lpz_shape_numel(&shapes[k]));
        lpz_model_destroy(g);
        lpz_model_destroy(d);
        lpz_network_destroy(net);
    }
    lpz_options_destroy(opts);
}

static void test_refuses_bad_shapes_and_options(void **state)
{
    (void)state;
    lpz_error err;
    assert_int_not_equal(nt_try_network(NULL, lpz_shape_make(0, 0, 0, 0, 0), 0, &err), LPZ_OK);
    assert_int_not_equal(nt_try_network(NULL, lpz_shape_make(2, 30, 0, 0, 0), 0, &err), LPZ_OK);

    const char *zero[] = {"hidden=0", NULL};
    lpz_options *opts = nt_options(zero);
    assert_int_equal(nt_try_network(opts, mnist(), 0, &err), LPZ_EINVAL);
    nt_expect_error_mentions(&err, "hidden");
    lpz_options_destroy(opts);

    /* The core's options layer itself refuses unknown keys and wrong types. */
    opts = lpz_options_create(lpz_plugin_descriptor.options, lpz_plugin_descriptor.name);
    assert_int_not_equal(lpz_options_set(opts, "hiden", "8", "t.yml:3:5", &err), LPZ_OK);
    assert_int_not_equal(lpz_options_set(opts, "latent", "many", "t.yml:4:5", &err), LPZ_OK);
    lpz_options_destroy(opts);
}

static void test_critic_is_the_discriminator_without_sigmoid(void **state)
{
    (void)state;
    lpz_network *net = nt_network(NULL, mnist(), 0);
    lpz_network *critic = nt_network(NULL, mnist(), 1);
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
}

static void test_save_load_round_trip_is_bit_exact(void **state)
{
    (void)state;
    lpz_options *opts = nt_options(NULL);
    lpz_network *net = nt_network(opts, mnist(), 0);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 11);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 12);
    nt_round_trip(net, LPZ_ROLE_GENERATOR, g, nt_temp_path("mlp_g.safetensors"));
    nt_round_trip(net, LPZ_ROLE_DISCRIMINATOR, d, nt_temp_path("mlp_d.safetensors"));

    /* The options are recorded with their values. */
    lpz_model_info info;
    assert_int_equal(lpz_model_file_info(nt_temp_path("mlp_g.safetensors"), &info, NULL), LPZ_OK);
    assert_int_equal(info.n_options, 2);
    assert_string_equal(info.option_keys[0], "hidden");
    assert_string_equal(info.option_values[0], "256");
    assert_string_equal(info.option_keys[1], "latent");
    assert_string_equal(info.option_values[1], "64");
    lpz_model_info_free(&info);

    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_model_rebuilt_from_file_alone(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=24", "latent=12", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, lpz_shape_make(2, 5, 7, 0, 0), 1);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 3);
    const char *path = nt_temp_path("mlp_critic.safetensors");
    assert_int_equal(lpz_model_save(path, d, net, LPZ_ROLE_DISCRIMINATOR, NULL, NULL, 0, NULL), LPZ_OK);

    lpz_loaded_model lm;
    lpz_error err;
    if (lpz_model_open(path, &lpz_plugin_descriptor, &lm, &err) != LPZ_OK) {
        char buf[2048];
        fail_msg("lpz_model_open: %s", lpz_error_format(&err, buf, sizeof buf));
    }
    assert_int_equal(lm.info.role, LPZ_ROLE_DISCRIMINATOR);
    assert_int_equal(lpz_network_critic(lm.net), 1);
    assert_int_equal(lpz_network_latent_shape(lm.net).dim[0], 12);
    nt_expect_same_tensors(lm.model, d);
    lpz_loaded_model_close(&lm);

    /* A file without network metadata cannot be rebuilt. */
    const char *bare = nt_temp_path("mlp_bare.safetensors");
    assert_int_equal(lpz_model_save(bare, d, NULL, LPZ_ROLE_DISCRIMINATOR, NULL, NULL, 0, NULL), LPZ_OK);
    assert_int_equal(lpz_model_open(bare, &lpz_plugin_descriptor, &lm, &err), LPZ_EFORMAT);
    lpz_loaded_model_close(&lm);

    /* Another plugin's name is refused. */
    lpz_plugin other = lpz_plugin_descriptor;
    other.name = "convolutional";
    other.aliases = NULL;
    assert_int_equal(lpz_model_open(path, &other, &lm, &err), LPZ_EINVAL);
    nt_expect_error_mentions(&err, "four_layer_perceptron");
    lpz_loaded_model_close(&lm);

    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_names_and_alias),
        cmocka_unit_test(test_mnist_defaults_match_original_state_dict),
        cmocka_unit_test(test_same_seed_same_model_other_seed_other_model),
        cmocka_unit_test(test_options_change_widths),
        cmocka_unit_test(test_any_shape_is_flattened_and_reshaped),
        cmocka_unit_test(test_refuses_bad_shapes_and_options),
        cmocka_unit_test(test_critic_is_the_discriminator_without_sigmoid),
        cmocka_unit_test(test_save_load_round_trip_is_bit_exact),
        cmocka_unit_test(test_model_rebuilt_from_file_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
