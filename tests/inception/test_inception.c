/* tests/inception/test_inception.c - InceptionV3 weights checks and the
 * forward pass on weights whose features are known in closed form (the
 * numeric agreement with PyTorch is torch_crosscheck.py's job). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "inc_test_util.h"
#include "inception/inception.h"
#include "io/fsutil.h"
#include "io/safetensors.h"

static char g_dir[1024];  /* per-process scratch folder */
static char g_full[1100]; /* bias-only complete weights file */

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", g_dir, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "%s/lpz-test-inception-%d", inc_scratch_dir(), (int)getpid());
    lpz_error err;
    lpz_error_clear(&err);
    if (lpz_mkdirs(g_dir, &err))
        return -1;
    path_in(g_full, sizeof g_full, "bias_only.safetensors");
    return inc_write_bias_only_weights(g_full, NULL, &err) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The first convolution of the stem (Conv2d_1a_3x3: 3 -> 32, 3x3) and its
 * batch norm, with one thing wrong as asked. */
enum fault { FAULT_NONE, FAULT_SHAPE, FAULT_DTYPE, FAULT_NAN, FAULT_NEG_VAR, FAULT_NO_BN };

static void write_stem_file(const char *path, enum fault fault, const char *variant)
{
    static float w[32 * 3 * 3 * 4];
    static float v[4][32];
    static int64_t wi[32 * 27];
    for (int i = 0; i < 32 * 27; i++)
        w[i] = 0.01f * (float)(i % 7);
    for (int j = 0; j < 4; j++)
        for (int o = 0; o < 32; o++)
            v[j][o] = 1.0f;
    lpz_st_tensor t[5] = {{0}};
    static const char *const names[5] = {"Conv2d_1a_3x3.conv.weight", "Conv2d_1a_3x3.bn.weight",
                                         "Conv2d_1a_3x3.bn.bias", "Conv2d_1a_3x3.bn.running_mean",
                                         "Conv2d_1a_3x3.bn.running_var"};
    for (int j = 0; j < 5; j++) {
        t[j].name = (char *)names[j];
        t[j].dtype = LPZ_ST_F32;
        t[j].ndim = 1;
        t[j].shape[0] = 32;
        t[j].data = j ? v[j - 1] : w;
        t[j].nbytes = 32 * sizeof(float);
    }
    t[0].ndim = 4;
    t[0].shape[1] = 3;
    t[0].shape[2] = 3;
    t[0].shape[3] = 3;
    t[0].nbytes = 32 * 27 * sizeof(float);
    if (fault == FAULT_SHAPE) {
        t[0].shape[3] = 4;
        t[0].nbytes = 32 * 36 * sizeof(float);
    } else if (fault == FAULT_DTYPE) {
        t[0].dtype = LPZ_ST_I64;
        t[0].data = wi;
        t[0].nbytes = sizeof wi;
    } else if (fault == FAULT_NAN) {
        w[5] = NAN;
    } else if (fault == FAULT_NEG_VAR) {
        v[3][7] = -1.0f;
    }
    const char *key = "inception_variant";
    lpz_error err;
    lpz_error_clear(&err);
    int n = fault == FAULT_NO_BN ? 1 : 5;
    assert_int_equal(lpz_st_write(path, t, n, &key, &variant, variant ? 1 : 0, &err), LPZ_OK);
}

/* Opens path, expects failure with code, and checks that message + hint +
 * where mention each of the strings given. */
static void expect_refused(const char *path, int code, const char *const *mentions)
{
    lpz_inception *net = (lpz_inception *)0x1;
    lpz_error err;
    lpz_error_clear(&err);
    int rc = lpz_inception_open(path, &net, &err);
    char text[2600];
    lpz_error_format(&err, text, sizeof text);
    if (rc != code)
        fail_msg("expected code %d, got %d: %s", code, rc, text);
    assert_null(net);
    assert_non_null(strstr(err.where, path));
    for (; *mentions; mentions++)
        if (!strstr(text, *mentions))
            fail_msg("error \"%s\" does not mention \"%s\"", text, *mentions);
}

static void test_missing_file_says_how_to_make_one(void **state)
{
    (void)state;
    char path[1200];
    path_in(path, sizeof path, "no_such_file.safetensors");
    expect_refused(path, LPZ_ENOTFOUND,
                   (const char *const[]){"not found", "docs/inception.md", "pt_inception-2015-12-05", NULL});
    expect_refused(g_dir, LPZ_ENOTFOUND, (const char *const[]){"folder", "docs/inception.md", NULL});
}

static void test_not_safetensors_is_refused(void **state)
{
    (void)state;
    char path[1200];
    path_in(path, sizeof path, "text.safetensors");
    const char text[] = "this is a text file, not a weights file\n";
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_write_file_atomic(path, text, sizeof text - 1, &err), LPZ_OK);
    expect_refused(path, LPZ_EFORMAT, (const char *const[]){"docs/inception.md", NULL});
}

static void test_truncated_file_is_refused(void **state)
{
    (void)state;
    char *data = NULL;
    size_t size = 0;
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_read_file(g_full, (size_t)1 << 30, &data, &size, &err), LPZ_OK);
    char path[1200];
    path_in(path, sizeof path, "truncated.safetensors");
    /* an interrupted download: the header is whole, the data is not */
    assert_int_equal(lpz_write_file_atomic(path, data, size / 2, &err), LPZ_OK);
    free(data);
    expect_refused(path, LPZ_EFORMAT, (const char *const[]){"docs/inception.md", NULL});
}

static void test_foreign_model_is_refused_naming_the_tensor(void **state)
{
    (void)state;
    char path[1200];
    path_in(path, sizeof path, "foreign.safetensors");
    float w[6] = {1, 2, 3, 4, 5, 6};
    lpz_st_tensor t = {.name = "net.0.weight",
                       .dtype = LPZ_ST_F32,
                       .ndim = 2,
                       .shape = {2, 3},
                       .data = w,
                       .nbytes = sizeof w};
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_st_write(path, &t, 1, NULL, NULL, 0, &err), LPZ_OK);
    expect_refused(path, LPZ_EFORMAT,
                   (const char *const[]){"not InceptionV3 weights", "Conv2d_1a_3x3.conv.weight",
                                         "[32, 3, 3, 3]", "docs/inception.md", NULL});
}

static void test_wrong_tensor_shape_dtype_or_value_is_refused(void **state)
{
    (void)state;
    char path[1200];
    path_in(path, sizeof path, "stem.safetensors");
    write_stem_file(path, FAULT_SHAPE, NULL);
    expect_refused(
        path, LPZ_EFORMAT,
        (const char *const[]){"Conv2d_1a_3x3.conv.weight", "[32, 3, 3, 4]", "[32, 3, 3, 3]", NULL});
    write_stem_file(path, FAULT_DTYPE, NULL);
    expect_refused(path, LPZ_EFORMAT, (const char *const[]){"Conv2d_1a_3x3.conv.weight", "I64", NULL});
    write_stem_file(path, FAULT_NAN, NULL);
    expect_refused(path, LPZ_EFORMAT, (const char *const[]){"Conv2d_1a_3x3.conv.weight", "element 5", NULL});
    write_stem_file(path, FAULT_NEG_VAR, NULL);
    expect_refused(path, LPZ_EFORMAT,
                   (const char *const[]){"Conv2d_1a_3x3.bn.running_var", "element 7", "non-negative", NULL});
    write_stem_file(path, FAULT_NO_BN, NULL);
    expect_refused(path, LPZ_EFORMAT, (const char *const[]){"Conv2d_1a_3x3.bn.weight", "missing", NULL});
    /* a correct stem, but the rest of the network is missing */
    write_stem_file(path, FAULT_NONE, "torchvision");
    expect_refused(path, LPZ_EFORMAT, (const char *const[]){"Conv2d_2a_3x3.conv.weight", "missing", NULL});
}

static void test_unknown_variant_metadata_is_refused(void **state)
{
    (void)state;
    char path[1200];
    path_in(path, sizeof path, "variant.safetensors");
    write_stem_file(path, FAULT_NONE, "tensorflow");
    expect_refused(path, LPZ_EFORMAT, (const char *const[]){"inception_variant", "tensorflow", "fid", NULL});
}

static void test_architecture_table(void **state)
{
    (void)state;
    assert_int_equal(lpz_inception_conv_count(), 94);
    lpz_inception_conv_spec s;
    assert_int_equal(lpz_inception_conv_info(0, &s), LPZ_OK);
    assert_string_equal(s.name, "Conv2d_1a_3x3");
    assert_int_equal(lpz_inception_conv_info(93, &s), LPZ_OK);
    assert_string_equal(s.name, "Mixed_7c.branch_pool");
    assert_int_equal(s.cin, 2048);
    assert_int_equal(s.cout, 192);
    assert_int_equal(lpz_inception_conv_info(94, &s), LPZ_EINVAL);
    int64_t params = 0, channels = 0, rect = 0;
    for (int i = 0; i < 94; i++) {
        lpz_inception_conv_info(i, &s);
        params += (int64_t)s.cout * s.cin * s.kh * s.kw;
        channels += s.cout;
        rect += s.kh != s.kw;
    }
    /* counted in torchvision 0.14's Inception3 state_dict: 94 conv.weight
     * tensors of 21,751,136 values in all, 17,216 bn.weight values */
    assert_int_equal(params, 21751136);
    assert_int_equal(channels, 17216);
    assert_int_equal(rect, 4 * 6 + 2 + 2 * 4);
}

/* With all convolution weights zero every layer outputs the ReLU of its
 * folded bias, so the features are Mixed_7c's branch outputs' biases in
 * torch.cat order: branch1x1 (320), branch3x3_2a, _2b (384 each),
 * branch3x3dbl_3a, _3b (384 each), branch_pool (192). */
static void expected_bias_features(float *f)
{
    static const int layer_of[6] = {85, 87, 88, 91, 92, 93};
    static const int width[6] = {320, 384, 384, 384, 384, 192};
    int c = 0;
    for (int b = 0; b < 6; b++)
        for (int o = 0; o < width[b]; o++) {
            double v = inc_bias_only_beta(layer_of[b], o) - 0.2 * 2.0 / sqrt(3.0 + 0.001);
            f[c++] = v > 0 ? (float)v : 0.0f;
        }
    assert_int_equal(c, LPZ_INCEPTION_FEATURES);
}

static void test_features_concatenate_branches_in_torch_order(void **state)
{
    (void)state;
    static float want[LPZ_INCEPTION_FEATURES], got[2 * LPZ_INCEPTION_FEATURES];
    static float rgb[2 * 3 * 64 * 48], grey[28 * 28];
    expected_bias_features(want);
    int positive = 0;
    for (int i = 0; i < LPZ_INCEPTION_FEATURES; i++)
        positive += want[i] > 0;
    assert_true(positive > 1000 && positive < 2000); /* both signs of bias occur */
    inc_fill_uniform(rgb, 2 * 3 * 64 * 48, 1, -1, 1);
    inc_fill_uniform(grey, 28 * 28, 2, -1, 1);
    for (int v = LPZ_INCEPTION_FID; v <= LPZ_INCEPTION_TORCHVISION; v++) {
        lpz_inception *net = NULL;
        lpz_error err;
        lpz_error_clear(&err);
        assert_int_equal(lpz_inception_open_variant(g_full, (lpz_inception_variant)v, &net, &err), LPZ_OK);
        assert_int_equal(lpz_inception_get_variant(net), v);
        assert_int_equal(lpz_inception_features(net, rgb, 2, 3, 64, 48, got, &err), LPZ_OK);
        for (int i = 0; i < 2 * LPZ_INCEPTION_FEATURES; i++)
            assert_float_equal(got[i], want[i % LPZ_INCEPTION_FEATURES], 1e-5);
        assert_int_equal(lpz_inception_features(net, grey, 1, 1, 28, 28, got, &err), LPZ_OK);
        for (int i = 0; i < LPZ_INCEPTION_FEATURES; i++)
            assert_float_equal(got[i], want[i], 1e-5);
        lpz_inception_close(net);
    }
}

static void test_variant_from_metadata(void **state)
{
    (void)state;
    lpz_inception *net = NULL;
    lpz_error err;
    lpz_error_clear(&err);
    /* no metadata: the pytorch-fid weights */
    assert_int_equal(lpz_inception_open(g_full, &net, &err), LPZ_OK);
    assert_int_equal(lpz_inception_get_variant(net), LPZ_INCEPTION_FID);
    lpz_inception_close(net);
    char path[1200];
    path_in(path, sizeof path, "tv.safetensors");
    assert_int_equal(inc_write_bias_only_weights(path, "torchvision", &err), LPZ_OK);
    assert_int_equal(lpz_inception_open(path, &net, &err), LPZ_OK);
    assert_int_equal(lpz_inception_get_variant(net), LPZ_INCEPTION_TORCHVISION);
    lpz_inception_close(net);
    unlink(path);
}

static void test_bad_images_are_refused(void **state)
{
    (void)state;
    lpz_inception *net = NULL;
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_inception_open(g_full, &net, &err), LPZ_OK);
    static float img[2 * 3 * 8 * 8], out[2 * LPZ_INCEPTION_FEATURES];
    assert_int_equal(lpz_inception_features(net, img, 1, 2, 8, 8, out, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "2 channels"));
    assert_int_equal(lpz_inception_features(net, img, 1, 3, 0, 8, out, &err), LPZ_EINVAL);
    assert_int_equal(lpz_inception_features(net, img, -1, 3, 8, 8, out, &err), LPZ_EINVAL);
    img[3 * 64 + 70] = NAN; /* image 1, channel 1, pixel 6 */
    assert_int_equal(lpz_inception_features(net, img, 2, 3, 8, 8, out, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "image 1 (channel 1, pixel 6)"));
    assert_int_equal(lpz_inception_features(net, img, 0, 3, 8, 8, out, &err), LPZ_OK);
    lpz_inception_close(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_file_says_how_to_make_one),
        cmocka_unit_test(test_not_safetensors_is_refused),
        cmocka_unit_test(test_truncated_file_is_refused),
        cmocka_unit_test(test_foreign_model_is_refused_naming_the_tensor),
        cmocka_unit_test(test_wrong_tensor_shape_dtype_or_value_is_refused),
        cmocka_unit_test(test_unknown_variant_metadata_is_refused),
        cmocka_unit_test(test_architecture_table),
        cmocka_unit_test(test_features_concatenate_branches_in_torch_order),
        cmocka_unit_test(test_variant_from_metadata),
        cmocka_unit_test(test_bad_images_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
