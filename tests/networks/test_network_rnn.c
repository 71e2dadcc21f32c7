/* tests/networks/test_network_rnn.c - the rnn (LSTM) plugin: module names
 * inp / rnn / out with torch.nn.LSTM's tensors for (30, 4) sequences,
 * refusal of non-sequence data, options, critic, and bit-exact save/load. */
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

static lpz_shape flows(void)
{
    return lpz_shape_make(2, 30, 4, 0, 0);
}

static void test_descriptor_names_and_alias(void **state)
{
    (void)state;
    assert_int_equal(lpz_plugin_descriptor.kind, LPZ_PLUGIN_NETWORK);
    assert_string_equal(lpz_plugin_descriptor.name, "rnn");
    assert_string_equal(lpz_plugin_descriptor.aliases[0], "lstm");
}

/* The four tensors of LSTM layer k (input size in, width h). */
// clang-format off
#define LSTM_LAYER(k, in, h)                                                      \
    {"rnn.weight_ih_l" #k, 2, {4 * (h), in}}, {"rnn.weight_hh_l" #k, 2, {4 * (h), h}}, \
    {"rnn.bias_ih_l" #k, 1, {4 * (h)}}, {"rnn.bias_hh_l" #k, 1, {4 * (h)}}
// clang-format on

static void test_flows_defaults_match_original_module(void **state)
{
    (void)state;
    lpz_options *opts = nt_options(NULL);
    lpz_network *net = nt_network(opts, flows(), 0);
    lpz_shape latent = lpz_network_latent_shape(net);
    assert_int_equal(latent.ndim, 1);
    assert_int_equal(latent.dim[0], 10);

    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const nt_tensor_spec gspec[] = {{"inp.weight", 2, {10, 10}}, {"inp.bias", 1, {10}},
                                    LSTM_LAYER(0, 10, 10),       LSTM_LAYER(1, 10, 10),
                                    {"out.weight", 2, {4, 10}},  {"out.bias", 1, {4}}};
    nt_expect_tensors(g, gspec, (int)(sizeof gspec / sizeof gspec[0]));
    lpz_shape out = lpz_model_output_shape(g);
    assert_int_equal(out.ndim, 2);
    assert_int_equal(out.dim[0], 30);
    assert_int_equal(out.dim[1], 4);

    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 1);
    const nt_tensor_spec dspec[] = {{"inp.weight", 2, {10, 4}}, {"inp.bias", 1, {10}},
                                    LSTM_LAYER(0, 10, 10),      LSTM_LAYER(1, 10, 10),
                                    {"out.weight", 2, {1, 10}}, {"out.bias", 1, {1}}};
    nt_expect_tensors(d, dspec, (int)(sizeof dspec / sizeof dspec[0]));
    out = lpz_model_output_shape(d);
    assert_int_equal(out.ndim, 1);
    assert_int_equal(out.dim[0], 1);

    enum { N = 5 };
    float z[N * 10];
    nt_fill_normal(z, N * 10, 8);
    lpz_model_set_training(g, 0);
    lpz_model_set_training(d, 0);
    float seq[N * 30 * 4];
    memcpy(seq, nt_forward(g, z, N), sizeof seq);
    for (int i = 0; i < N * 120; i++)
        assert_true(seq[i] >= -1.0f && seq[i] <= 1.0f);
    /* The same latent at every step, but the LSTM state makes steps differ. */
    assert_true(memcmp(seq, seq + 4, 4 * sizeof(float)) != 0);
    const float *score = nt_forward(d, seq, N);
    for (int i = 0; i < N; i++)
        assert_true(score[i] > 0.0f && score[i] < 1.0f);
    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_options_set_width_and_depth(void **state)
{
    (void)state;
    const char *pairs[] = {"hidden=6", "layers=3", "dropout=0", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, lpz_shape_make(2, 7, 3, 0, 0), 0);
    assert_int_equal(lpz_network_latent_shape(net).dim[0], 6);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const nt_tensor_spec gspec[] = {
        {"inp.weight", 2, {6, 6}}, {"inp.bias", 1, {6}},      LSTM_LAYER(0, 6, 6), LSTM_LAYER(1, 6, 6),
        LSTM_LAYER(2, 6, 6),       {"out.weight", 2, {3, 6}}, {"out.bias", 1, {3}}};
    nt_expect_tensors(g, gspec, (int)(sizeof gspec / sizeof gspec[0]));
    lpz_model_destroy(g);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

static void test_refuses_non_sequences(void **state)
{
    (void)state;
    lpz_error err;
    const lpz_shape bad[] = {lpz_shape_make(3, 1, 28, 28, 0), lpz_shape_make(1, 120, 0, 0, 0)};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(nt_try_network(NULL, bad[i], 0, &err), LPZ_EUNSUPPORTED);
        nt_expect_error_mentions(&err, "(T, F)");
    }
    const char *pairs[] = {"dropout=1.5", NULL};
    lpz_options *opts = nt_options(pairs);
    assert_int_equal(nt_try_network(opts, flows(), 0, &err), LPZ_EINVAL);
    nt_expect_error_mentions(&err, "dropout");
    lpz_options_destroy(opts);
    const char *layers[] = {"layers=0", NULL};
    opts = nt_options(layers);
    assert_int_equal(nt_try_network(opts, flows(), 0, &err), LPZ_EINVAL);
    nt_expect_error_mentions(&err, "layers");
    lpz_options_destroy(opts);
}

static void test_critic_scores_last_step_without_sigmoid(void **state)
{
    (void)state;
    lpz_network *net = nt_network(NULL, flows(), 0);
    lpz_network *critic = nt_network(NULL, flows(), 1);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 5);
    lpz_model *c = nt_build(critic, LPZ_ROLE_DISCRIMINATOR, 5);
    nt_expect_same_tensors(d, c);
    enum { N = 3 };
    float x[N * 120];
    nt_fill_uniform(x, N * 120, 4);
    lpz_model_set_training(d, 0);
    lpz_model_set_training(c, 0);
    float score[N];
    memcpy(score, nt_forward(d, x, N), sizeof score);
    const float *raw = nt_forward(c, x, N);
    for (int i = 0; i < N; i++)
        assert_float_equal(score[i], 1.0 / (1.0 + exp(-raw[i])), 1e-6);
    /* Only the last step counts: changing the first step changes the score
     * (through the recurrence), and the score is one value per sequence. */
    x[0] += 0.5f;
    const float *raw2 = nt_forward(c, x, N);
    assert_true(raw2[0] != score[0]);
    lpz_model_destroy(d);
    lpz_model_destroy(c);
    lpz_network_destroy(net);
    lpz_network_destroy(critic);
}

static void test_save_load_round_trip_is_bit_exact(void **state)
{
    (void)state;
    const char *pairs[] = {"dropout=0.25", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *net = nt_network(opts, flows(), 0);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 31);
    lpz_model *d = nt_build(net, LPZ_ROLE_DISCRIMINATOR, 32);
    nt_round_trip(net, LPZ_ROLE_GENERATOR, g, nt_temp_path("rnn_g.safetensors"));
    nt_round_trip(net, LPZ_ROLE_DISCRIMINATOR, d, nt_temp_path("rnn_d.safetensors"));
    lpz_model_info info;
    assert_int_equal(lpz_model_file_info(nt_temp_path("rnn_g.safetensors"), &info, NULL), LPZ_OK);
    assert_int_equal(info.n_options, 3);
    assert_string_equal(info.option_keys[2], "dropout");
    assert_string_equal(info.option_values[2], "0.25");
    lpz_model_info_free(&info);
    lpz_model_destroy(g);
    lpz_model_destroy(d);
    lpz_network_destroy(net);
    lpz_options_destroy(opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_names_and_alias),
        cmocka_unit_test(test_flows_defaults_match_original_module),
        cmocka_unit_test(test_options_set_width_and_depth),
        cmocka_unit_test(test_refuses_non_sequences),
        cmocka_unit_test(test_critic_scores_last_step_without_sigmoid),
        cmocka_unit_test(test_save_load_round_trip_is_bit_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
