/* tests/nn/test_nn_model.c - building models: shape errors, tensor names,
 * PyTorch default initialisation, clone/copy/vector round trips, running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lpz/nn.h>

#include "nn/model_frozen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_test_util.h"

static lpz_model *make(int ndim, int64_t d0, int64_t d1, int64_t d2)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(ndim, d0, d1, d2, 0);
    OK(lpz_model_create(&s, 5, &m, &e_));
    return m;
}

/* A refused layer leaves the model exactly as it was. */
#define REFUSED(m, call, needle)                                                                                   \
    do {                                                                                                           \
        int64_t np_ = lpz_model_param_count(m);                                                                    \
        int nt_ = lpz_model_tensor_count(m);                                                                       \
        lpz_shape os_ = lpz_model_output_shape(m);                                                                 \
        lpz_error_clear(&e_);                                                                                      \
        assert_int_equal((call), LPZ_EINVAL);                                                                      \
        if (!strstr(e_.message, needle) && !strstr(e_.where, needle))                                              \
            fail_msg("%s: message \"%s: %s\" lacks \"%s\"", #call, e_.where, e_.message, needle);                 \
        assert_int_equal(lpz_model_param_count(m), np_);                                                           \
        assert_int_equal(lpz_model_tensor_count(m), nt_);                                                          \
        lpz_shape os2_ = lpz_model_output_shape(m);                                                                \
        assert_int_equal(os_.ndim, os2_.ndim);                                                                     \
        for (int d_ = 0; d_ < os_.ndim; d_++)                                                                      \
            assert_int_equal(os_.dim[d_], os2_.dim[d_]);                                                           \
    } while (0)

static void test_bad_shapes_are_refused_with_errors(void **state)
{
    (void)state;
    lpz_model *m;
    lpz_shape zero = lpz_shape_make(2, 3, 0, 0, 0), none = lpz_shape_make(0, 0, 0, 0, 0);
    assert_int_equal(lpz_model_create(&zero, 1, &m, &e_), LPZ_EINVAL);
    assert_non_null(strstr(e_.message, "size 0"));
    assert_int_equal(lpz_model_create(&none, 1, &m, &e_), LPZ_EINVAL);

    m = make(3, 3, 5, 5);
    REFUSED(m, lpz_model_add_conv2d(m, "0", 4, 7, 1, 0, 1, &e_), "kernel 7 is larger");
    REFUSED(m, lpz_model_add_conv2d(m, "0", 0, 3, 1, 0, 1, &e_), "out_channels");
    REFUSED(m, lpz_model_add_conv2d(m, "0", 4, 3, 0, 0, 1, &e_), "stride 0");
    REFUSED(m, lpz_model_add_conv_transpose2d(m, "0", 4, 2, 1, 3, 1, &e_), "output would be");
    REFUSED(m, lpz_model_add_lstm(m, "rnn", 4, 1, 0.0f, &e_), "not a sequence");
    REFUSED(m, lpz_model_add_last_step(m, &e_), "not a sequence");
    REFUSED(m, lpz_model_add_repeat_steps(m, 3, &e_), "not a vector");
    lpz_shape wrong = lpz_shape_make(2, 7, 11, 0, 0);
    REFUSED(m, lpz_model_add_reshape(m, &wrong, &e_), "75 elements");
    REFUSED(m, lpz_model_add_linear(m, "0", 0, 1, &e_), "out_features is 0; it must be 1 to 2147483648");
    REFUSED(m, lpz_model_add_linear(m, "0", (int64_t)1 << 40, 1, &e_), "it must be 1 to 2147483648");
    REFUSED(m, lpz_model_add_linear(m, NULL, 3, 1, &e_), "needs a name");
    REFUSED(m, lpz_model_add_dropout(m, 1.5f, &e_), "outside [0, 1]");
    OK(lpz_model_add_conv2d(m, "0", 4, 3, 1, 1, 1, &e_));
    REFUSED(m, lpz_model_add_batchnorm(m, "0", &e_), "used twice");
    OK(lpz_model_add_flatten(m, &e_));
    REFUSED(m, lpz_model_add_conv2d(m, "2", 4, 3, 1, 1, 1, &e_), "not (C, H, W)");
    lpz_model_destroy(m);

    m = make(2, 4, 3, 0);
    REFUSED(m, lpz_model_add_batchnorm(m, "bn", &e_), "neither");
    REFUSED(m, lpz_model_add_lstm(m, "rnn", 0, 1, 0.0f, &e_), "hidden size");
    REFUSED(m, lpz_model_add_lstm(m, "rnn", 4, 0, 0.0f, &e_), "num_layers");
    lpz_model_destroy(m);
}

static void test_running_refuses_bad_calls(void **state)
{
    (void)state;
    lpz_model *m = make(3, 2, 1, 1);
    OK(lpz_model_add_batchnorm(m, "bn", &e_));
    float x[4] = {1, 2, 3, 4}, dy[4] = {0};
    assert_int_equal(lpz_model_backward(m, dy, NULL, &e_), LPZ_ESTATE);
    assert_null(lpz_model_forward(m, x, 0, &e_));
    assert_int_equal(e_.code, LPZ_EINVAL);
    /* one value per channel in training is refused (as PyTorch does) */
    assert_null(lpz_model_forward(m, x, 1, &e_));
    assert_non_null(strstr(e_.message, "more than one value per channel"));
    assert_non_null(lpz_model_forward(m, x, 2, &e_));
    lpz_model_set_training(m, 0);
    assert_non_null(lpz_model_forward(m, x, 1, &e_));
    lpz_model_destroy(m);
}

static void test_tensor_names_follow_state_dict(void **state)
{
    (void)state;
    lpz_model *m = make(3, 3, 8, 8);
    OK(lpz_model_add_conv2d(m, "0", 4, 4, 2, 1, 0, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_leaky_relu(m, 0.2f, &e_));
    OK(lpz_model_add_flatten(m, &e_));
    OK(lpz_model_add_linear(m, "4", 1, 1, &e_));
    static const char *names[] = {"0.weight",       "1.weight",      "1.bias",   "1.running_mean",
                                  "1.running_var", "1.num_batches_tracked", "4.weight", "4.bias"};
    static const int trainable[] = {1, 1, 1, 0, 0, 0, 1, 1};
    assert_int_equal(lpz_model_tensor_count(m), 8);
    int64_t total = 0;
    for (int i = 0; i < 8; i++) {
        const char *name;
        lpz_shape s;
        float *d;
        int t;
        OK(lpz_model_tensor_info(m, i, &name, &s, &d, &t));
        assert_string_equal(name, names[i]);
        assert_int_equal(t, trainable[i]);
        if (t) {
            assert_ptr_equal(d, lpz_model_params(m) + total); /* contiguous, in order */
            total += lpz_shape_numel(&s);
        }
    }
    assert_int_equal(total, lpz_model_param_count(m));
    assert_int_equal(total, 4 * 3 * 16 + 4 + 4 + 4 * 4 * 4 + 1);
    float *d;
    lpz_shape s;
    OK(lpz_model_param(m, "1.num_batches_tracked", &d, &s, &e_));
    assert_int_equal(s.ndim, 0);
    assert_int_equal(lpz_model_param(m, "9.weight", &d, &s, &e_), LPZ_ENOTFOUND);
    lpz_model_destroy(m);
}

static void check_uniform(lpz_model *m, const char *name, double bound)
{
    float *d;
    lpz_shape s;
    OK(lpz_model_param(m, name, &d, &s, &e_));
    int64_t n = lpz_shape_numel(&s);
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < n; i++) {
        lo = fmin(lo, d[i]);
        hi = fmax(hi, d[i]);
    }
    /* inside the bounds, and (for enough values) really spread over them */
    if (lo < -bound || hi > bound || (n >= 20 && hi - lo < bound))
        fail_msg("%s: values in [%g, %g], expected U(-%g, %g)", name, lo, hi, bound, bound);
}

static void test_default_init_matches_pytorch_bounds(void **state)
{
    (void)state;
    lpz_model *m = make(3, 6, 4, 4);
    OK(lpz_model_add_conv2d(m, "c", 5, 3, 1, 1, 1, &e_));
    OK(lpz_model_add_conv_transpose2d(m, "t", 7, 4, 2, 1, 1, &e_));
    OK(lpz_model_add_batchnorm(m, "bn", &e_));
    OK(lpz_model_add_flatten(m, &e_));
    OK(lpz_model_add_linear(m, "l", 9, 1, &e_));
    check_uniform(m, "c.weight", 1 / sqrt(6 * 9.0));
    check_uniform(m, "c.bias", 1 / sqrt(6 * 9.0));
    /* ConvTranspose: fan_in = weight.size(1) * k * k = out channels * 16 */
    check_uniform(m, "t.weight", 1 / sqrt(7 * 16.0));
    check_uniform(m, "t.bias", 1 / sqrt(7 * 16.0));
    check_uniform(m, "l.weight", 1 / sqrt(7 * 8 * 8.0));
    float *w, *b, *rv;
    OK(lpz_model_param(m, "bn.weight", &w, NULL, &e_));
    OK(lpz_model_param(m, "bn.bias", &b, NULL, &e_));
    OK(lpz_model_param(m, "bn.running_var", &rv, NULL, &e_));
    for (int i = 0; i < 7; i++) {
        assert_float_equal(w[i], 1.0f, 0);
        assert_float_equal(b[i], 0.0f, 0);
        assert_float_equal(rv[i], 1.0f, 0);
    }
    lpz_model_destroy(m);

    m = make(2, 5, 3, 0);
    OK(lpz_model_add_lstm(m, "rnn", 6, 2, 0.1f, &e_));
    check_uniform(m, "rnn.weight_ih_l0", 1 / sqrt(6.0));
    check_uniform(m, "rnn.weight_hh_l1", 1 / sqrt(6.0));
    check_uniform(m, "rnn.bias_hh_l1", 1 / sqrt(6.0));
    lpz_shape s;
    float *d;
    OK(lpz_model_param(m, "rnn.weight_ih_l1", &d, &s, &e_));
    assert_int_equal(s.dim[0], 24);
    assert_int_equal(s.dim[1], 6);
    lpz_model_destroy(m);
}

static lpz_model *small_gan_d(uint64_t seed)
{
    lpz_model *m;
    lpz_shape s = lpz_shape_make(3, 1, 6, 6, 0);
    OK(lpz_model_create(&s, seed, &m, &e_));
    OK(lpz_model_add_conv2d(m, "0", 3, 3, 2, 1, 1, &e_));
    OK(lpz_model_add_batchnorm(m, "1", &e_));
    OK(lpz_model_add_flatten(m, &e_));
    OK(lpz_model_add_linear(m, "3", 1, 1, &e_));
    return m;
}

static void test_seed_clone_copy_and_vectors(void **state)
{
    (void)state;
    lpz_model *a = small_gan_d(1), *b = small_gan_d(1), *c = small_gan_d(2);
    int64_t np = lpz_model_param_count(a);
    assert_memory_equal(lpz_model_params(a), lpz_model_params(b), (size_t)np * sizeof(float));
    assert_memory_not_equal(lpz_model_params(a), lpz_model_params(c), (size_t)np * sizeof(float));

    float x[4 * 36];
    for (int i = 0; i < 4 * 36; i++)
        x[i] = sinf((float)i);
    float ya[4];
    memcpy(ya, lpz_model_forward(a, x, 4, &e_), sizeof(ya)); /* also updates BN statistics */

    lpz_model *k;
    OK(lpz_model_clone(a, &k, &e_));
    lpz_model_set_training(a, 0);
    lpz_model_set_training(k, 0);
    float y1[4];
    memcpy(y1, lpz_model_forward(a, x, 4, &e_), sizeof(y1));
    const float *y2 = lpz_model_forward(k, x, 4, &e_);
    assert_memory_equal(y1, y2, sizeof(y1));
    lpz_model_params(k)[0] += 1.0f; /* independent storage */
    assert_float_not_equal(lpz_model_params(k)[0], lpz_model_params(a)[0], 0.5f);

    /* copy_from brings parameters AND running statistics */
    OK(lpz_model_copy_from(c, a, &e_));
    lpz_model_set_training(c, 0);
    y2 = lpz_model_forward(c, x, 4, &e_);
    assert_memory_equal(y1, y2, sizeof(y1));

    float *v = malloc((size_t)np * sizeof(float));
    lpz_model_get_vector(b, v);
    v[np - 1] = 3.25f;
    lpz_model_set_vector(b, v);
    float *bias;
    OK(lpz_model_param(b, "3.bias", &bias, NULL, &e_));
    assert_float_equal(bias[0], 3.25f, 0);
    free(v);

    lpz_model *other = make(1, 4, 0, 0);
    OK(lpz_model_add_linear(other, "0", 1, 1, &e_));
    assert_int_equal(lpz_model_copy_from(other, a, &e_), LPZ_EINVAL);
    lpz_model_destroy(other);
    lpz_model_destroy(a);
    lpz_model_destroy(b);
    lpz_model_destroy(c);
    lpz_model_destroy(k);
}

static void test_batch_sizes_within_and_beyond_reserve(void **state)
{
    (void)state;
    lpz_model *m = make(1, 3, 0, 0);
    OK(lpz_model_add_linear(m, "0", 2, 1, &e_));
    OK(lpz_model_reserve(m, 4, &e_));
    float x[8 * 3];
    for (int i = 0; i < 24; i++)
        x[i] = (float)i / 10.0f;
    float y8[16];
    memcpy(y8, lpz_model_forward(m, x, 8, &e_), sizeof(y8)); /* grows past the reserve */
    const float *y2 = lpz_model_forward(m, x + 3, 2, &e_);
    assert_memory_equal(y2, y8 + 2, 4 * sizeof(float)); /* rows are independent */
    float *w;
    OK(lpz_model_param(m, "0.weight", &w, NULL, &e_));
    float *bias;
    OK(lpz_model_param(m, "0.bias", &bias, NULL, &e_));
    float want = bias[1] + w[3] * x[3] + w[4] * x[4] + w[5] * x[5];
    assert_float_equal(y2[1], want, 1e-6);
    /* gradients accumulate until zero_grad */
    float dy[4] = {1, 1, 1, 1};
    OK(lpz_model_backward(m, dy, NULL, &e_));
    OK(lpz_model_backward(m, dy, NULL, &e_));
    assert_float_equal(lpz_model_grads(m)[6], 4.0f, 1e-6); /* d bias[0]: 2 rows x 2 calls */
    lpz_model_zero_grad(m);
    assert_float_equal(lpz_model_grads(m)[6], 0.0f, 0);
    lpz_model_destroy(m);
}

/* general.logging.print_discriminator's listing: a linear layer on a
 * sequence (30 steps of 4 values) is Linear(4 -> 10), applied per step,
 * not Linear(120 -> 10); a short buffer truncates cleanly. */
static void test_describe_names_layers_and_widths(void **state)
{
    (void)state;
    lpz_error err;
    lpz_model *m = NULL;
    lpz_shape in = {2, {30, 4}};
    assert_int_equal(lpz_model_create(&in, 1, &m, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_linear(m, "0", 10, 1, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_leaky_relu(m, 0.2f, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_linear(m, "2", 1, 1, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_sigmoid(m, &err), LPZ_OK);
    char text[1024];
    lpz_model_describe(m, text, sizeof text);
    assert_int_equal(lpz_model_layer_count(m), 4);
    assert_string_equal(text, "input 30x4 -> output 30x1, 61 parameters\n"
                              "  0 Linear(4 -> 10) -> 30x10 [0]\n"
                              "  1 LeakyReLU(0.2) -> 30x10\n"
                              "  2 Linear(10 -> 1) -> 30x1 [2]\n"
                              "  3 Sigmoid -> 30x1");
    char small[20];
    assert_int_equal(lpz_model_describe(m, small, sizeof small), sizeof small - 1);
    assert_int_equal(strlen(small), sizeof small - 1);
    lpz_model_destroy(m);
}

/* A custom layer names its own parameters: an empty name, one used twice
 * (also across layers through dotted names) or one too long for a tensor
 * name is refused when the layer is added, not when the trained model is
 * saved. */
static int named_shape(void *self, const lpz_shape *in, lpz_shape *out, lpz_error *err)
{
    (void)self, (void)err;
    *out = *in;
    return LPZ_OK;
}
static const lpz_layer_param_spec *named_params(void *self, const lpz_shape *in)
{
    (void)in;
    return self;
}
static void named_forward(void *self, const lpz_shape *in, int64_t n, const float *p, const float *x, float *y,
                          int train)
{
    (void)self, (void)p, (void)train;
    memcpy(y, x, (size_t)(n * lpz_shape_numel(in)) * sizeof *y);
}
static void named_backward(void *self, const lpz_shape *in, int64_t n, const float *p, const float *x,
                           const float *y, const float *dy, float *dx, float *dp)
{
    (void)self, (void)p, (void)x, (void)y, (void)dp;
    memcpy(dx, dy, (size_t)(n * lpz_shape_numel(in)) * sizeof *dx);
}
static const lpz_layer_ops named_ops = {sizeof(lpz_layer_ops), "named", named_shape, named_params, NULL,
                                        named_forward, named_backward, NULL};

/* A custom layer with a bug: log of its input (NaN for negative values). */
static void log_forward(void *self, const lpz_shape *in, int64_t n, const float *p, const float *x, float *y,
                        int train)
{
    (void)self, (void)p, (void)train;
    for (int64_t i = 0; i < n * lpz_shape_numel(in); i++)
        y[i] = logf(x[i]);
}
static const lpz_layer_ops log_ops = {sizeof(lpz_layer_ops), "mylog", named_shape, NULL, NULL, log_forward,
                                      named_backward, NULL};

/* After a non-finite output, the layer that made it is named; parameters
 * gone non-finite are told apart; nothing is claimed when all is finite. */
static void test_nonfinite_output_names_its_layer(void **state)
{
    (void)state;
    lpz_shape v = lpz_shape_make(1, 4, 0, 0, 0);
    lpz_model *m;
    OK(lpz_model_create(&v, 1, &m, &e_));
    OK(lpz_model_add_linear(m, "0", 4, 1, &e_));
    OK(lpz_model_add_relu(m, &e_));
    OK(lpz_model_add_custom(m, "2", &log_ops, NULL, &e_));
    OK(lpz_model_add_linear(m, "3", 1, 1, &e_));
    char why[300];
    assert_int_equal(lpz_model_explain_nonfinite(m, why, sizeof why), 0); /* no forward yet */
    float *w = lpz_model_params(m);
    for (int64_t i = 0; i < lpz_model_param_count(m); i++)
        w[i] = 0.5f;
    float x[8] = {1, 2, 3, 4, 1, 1, 1, 1};
    assert_non_null(lpz_model_forward(m, x, 2, &e_));
    assert_int_equal(lpz_model_explain_nonfinite(m, why, sizeof why), 0); /* all finite */
    /* relu output 0 -> log gives -inf */
    float neg[8] = {-1, -2, -3, -4, -1, -1, -1, -1};
    assert_non_null(lpz_model_forward(m, neg, 2, &e_));
    assert_int_equal(lpz_model_explain_nonfinite(m, why, sizeof why), 1);
    assert_non_null(
        strstr(why, "layer 2 \"2\" (mylog) gave -inf (output element 0) from finite inputs and parameters"));
    /* a parameter gone NaN: named as divergence, at the first layer */
    w[5] = NAN;
    assert_non_null(lpz_model_forward(m, x, 2, &e_));
    assert_int_equal(lpz_model_explain_nonfinite(m, why, sizeof why), 1);
    assert_non_null(strstr(why, "layer 0 \"0\" (linear) holds nan in parameter 5: training diverged"));
    /* a non-finite input */
    w[5] = 0.5f;
    x[3] = INFINITY;
    assert_non_null(lpz_model_forward(m, x, 2, &e_));
    assert_int_equal(lpz_model_explain_nonfinite(m, why, sizeof why), 1);
    assert_non_null(strstr(why, "its input holds inf at element 3"));
    lpz_model_destroy(m);
}

static void test_custom_parameter_names_are_checked(void **state)
{
    (void)state;
    lpz_shape v = lpz_shape_make(1, 3, 0, 0, 0);
    char long_name[120];
    memset(long_name, 'w', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    lpz_layer_param_spec twice[] = {{"fc.weight", v}, {"fc.weight", v}, {NULL, v}};
    lpz_layer_param_spec empty[] = {{"weight", v}, {"", v}, {NULL, v}};
    lpz_layer_param_spec too_long[] = {{long_name, v}, {NULL, v}};
    lpz_layer_param_spec good[] = {{"fc.weight", v}, {"fc.bias", v}, {NULL, v}};
    lpz_model *m = make(1, 3, 0, 0);
    REFUSED(m, lpz_model_add_custom(m, "0", &named_ops, twice, &e_), "\"0.fc.weight\" is used twice");
    REFUSED(m, lpz_model_add_custom(m, "0", &named_ops, empty, &e_), "empty name");
    REFUSED(m, lpz_model_add_custom(m, "0", &named_ops, too_long, &e_), "longer than 95 characters");
    OK(lpz_model_add_custom(m, "0", &named_ops, good, &e_));
    /* a linear layer "0.fc" would own "0.fc.weight" a second time */
    REFUSED(m, lpz_model_add_linear(m, "0.fc", 3, 1, &e_), "\"0.fc.weight\" is used twice");
    OK(lpz_model_add_linear(m, "1", 3, 1, &e_));
    assert_int_equal(lpz_model_tensor_count(m), 4);
    const char *name;
    lpz_shape sh;
    float *data;
    int trainable;
    OK(lpz_model_tensor_info(m, 1, &name, &sh, &data, &trainable));
    assert_string_equal(name, "0.fc.bias");
    lpz_model_destroy(m);
}

/* What sdk.md promises a custom layer's backward and destroy: dx and
 * dparams are never NULL (the first layer without a model input gradient,
 * lpz_model_backward_input), and a model whose custom layer owns its self
 * (destroy set) is not cloned; without destroy the clone shares self. */
static int probe_null_dx, probe_null_dp, probe_destroyed;
static void probe_backward(void *self, const lpz_shape *in, int64_t n, const float *p, const float *x,
                           const float *y, const float *dy, float *dx, float *dp)
{
    (void)self, (void)p, (void)x, (void)y;
    probe_null_dx += dx == NULL;
    probe_null_dp += dp == NULL;
    if (dx)
        memcpy(dx, dy, (size_t)(n * lpz_shape_numel(in)) * sizeof *dx);
    if (dp)
        dp[0] += 1.0f;
}
static void probe_destroy(void *self)
{
    (void)self;
    probe_destroyed++;
}
static const lpz_layer_ops probe_ops = {sizeof(lpz_layer_ops), "probe", named_shape, named_params, NULL,
                                        named_forward, probe_backward, NULL};
static const lpz_layer_ops owning_ops = {sizeof(lpz_layer_ops), "probe", named_shape, named_params, NULL,
                                         named_forward, probe_backward, probe_destroy};

static void test_custom_backward_buffers_and_clone(void **state)
{
    (void)state;
    lpz_shape v = lpz_shape_make(1, 3, 0, 0, 0);
    lpz_layer_param_spec spec[] = {{"a", v}, {NULL, v}};
    lpz_model *m = make(1, 3, 0, 0);
    OK(lpz_model_add_custom(m, "0", &probe_ops, spec, &e_));
    OK(lpz_model_add_linear(m, "1", 2, 1, &e_));
    float x[6] = {1, 2, 3, 4, 5, 6}, dy[4] = {1, 1, 1, 1}, dx[6];
    assert_non_null(lpz_model_forward(m, x, 2, &e_));
    lpz_model_zero_grad(m);
    OK(lpz_model_backward(m, dy, NULL, &e_));
    assert_float_equal(lpz_model_grads(m)[0], 1.0f, 0.0f);
    OK(lpz_model_backward_input(m, dy, dx, &e_));
    assert_float_equal(lpz_model_grads(m)[0], 1.0f, 0.0f); /* scratch took the second +1 */
    assert_int_equal(probe_null_dx, 0);
    assert_int_equal(probe_null_dp, 0);
    lpz_model *c = NULL;
    OK(lpz_model_clone(m, &c, &e_));
    assert_int_equal(lpz_model_tensor_count(c), 3);
    lpz_model_destroy(c);
    lpz_model_destroy(m);

    m = make(1, 3, 0, 0);
    OK(lpz_model_add_custom(m, "0", &owning_ops, spec, &e_));
    assert_int_equal(lpz_model_clone(m, &c, &e_), LPZ_EUNSUPPORTED);
    assert_null(c);
    assert_non_null(strstr(e_.message, "owns its state"));
    assert_int_equal(probe_destroyed, 0);
    lpz_model_destroy(m);
    assert_int_equal(probe_destroyed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_names_layers_and_widths),
        cmocka_unit_test(test_bad_shapes_are_refused_with_errors),
        cmocka_unit_test(test_running_refuses_bad_calls),
        cmocka_unit_test(test_tensor_names_follow_state_dict),
        cmocka_unit_test(test_default_init_matches_pytorch_bounds),
        cmocka_unit_test(test_seed_clone_copy_and_vectors),
        cmocka_unit_test(test_batch_sizes_within_and_beyond_reserve),
        cmocka_unit_test(test_custom_parameter_names_are_checked),
        cmocka_unit_test(test_nonfinite_output_names_its_layer),
        cmocka_unit_test(test_custom_backward_buffers_and_clone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
