/* tests/data/test_npy.c - the npy dataloader (compiled into this test) on
 * .npy files written here byte by byte: the kinds taken from the array's
 * dimensions or the kind option, channels-last images, the three scalings
 * and the way back to original units, labels (and the core taking a
 * dataset without them as unlabelled), rendering, and bad input. */
#include "data/dataset.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "data_test_util.h"

#include <math.h>

static const lpz_plugin *P = &lpz_plugin_descriptor;

static const lpz_dataloader_ops *ops(void)
{
    return P->ops;
}

static char dir[512];

static int setup(void **st)
{
    (void)st;
    return lpz_test_mkdtemp(dir, sizeof dir, "npy");
}

static int teardown(void **st)
{
    (void)st;
    lpz_test_rmtree(dir);
    return 0;
}

static const char *in_dir(const char *name)
{
    static char path[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

/* Opens the plugin on options "key", "value", ... NULL (path relative to
 * the scratch folder). */
static int open_with(void **s, lpz_dataset_info *info, lpz_error *err, ...)
{
    lpz_options *o = lpz_options_create(P->options, P->name);
    assert_non_null(o);
    va_list ap;
    va_start(ap, err);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        lpz_error e;
        assert_int_equal(lpz_options_set(o, k, v, "test.yml:1:1", &e), LPZ_OK);
    }
    va_end(ap);
    lpz_dataset_context ctx = dt_context(o, dir);
    memset(err, 0, sizeof *err);
    int rc = ops()->open(&ctx, s, info, err);
    lpz_options_destroy(o);
    if (rc != LPZ_OK)
        dt_show(err);
    return rc;
}

static void expect_error(const char *part, lpz_error *err, int rc)
{
    assert_int_not_equal(rc, LPZ_OK);
    char buf[3072];
    lpz_error_format(err, buf, sizeof buf);
    if (!strstr(buf, part))
        fail_msg("error '%s' lacks '%s'", buf, part);
}

/* 4 vectors x 3 features: column 0 from 10 to 40, column 1 from -2 to 1,
 * column 2 constant 7. */
static const double VEC[4][3] = {{10, -2, 7}, {20, 1, 7}, {30, 0, 7}, {40, -1, 7}};

static void vectors_per_feature_and_back(void **st)
{
    (void)st;
    assert_int_equal(dt_write_npy(in_dir("v.npy"), "<f8", "False", "(4, 3)", VEC, sizeof VEC), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_with(&s, &info, &err, "path", "v.npy", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_VECTOR);
    assert_int_equal(info.sample_shape.ndim, 1);
    assert_int_equal(info.sample_shape.dim[0], 3);
    assert_int_equal(info.count, 4);
    assert_int_equal(info.n_classes, 0);
    float x[3];
    assert_int_equal(ops()->read(s, 0, x, &err), LPZ_OK);
    assert_float_equal(x[0], -1.0f, 1e-6); /* 10: the column's minimum */
    assert_float_equal(x[1], -1.0f, 1e-6);
    assert_float_equal(x[2], 0.0f, 0);     /* constant column */
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    assert_float_equal(x[0], -1.0f / 3, 1e-6);
    assert_float_equal(x[1], 1.0f, 1e-6);
    float all[12];
    for (int i = 0; i < 4; i++)
        assert_int_equal(ops()->read(s, i, all + 3 * i, &err), LPZ_OK);
    for (int i = 0; i < 12; i++)
        assert_true(all[i] >= -1.0f && all[i] <= 1.0f);
    assert_int_equal(ops()->to_original_units(s, all, 4, &err), LPZ_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            assert_float_equal(all[3 * i + j], VEC[i][j], 1e-5);
    ops()->close(s);
}

static void global_and_none_scaling(void **st)
{
    (void)st;
    assert_int_equal(dt_write_npy(in_dir("v.npy"), "<f8", "False", "(4, 3)", VEC, sizeof VEC), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_with(&s, &info, &err, "path", "v.npy", "scaling", "global", NULL), LPZ_OK);
    float x[3];
    assert_int_equal(ops()->read(s, 0, x, &err), LPZ_OK);
    /* one range for every value: -2 .. 40 */
    assert_float_equal(x[0], (float)(2.0 * (10 + 2) / 42 - 1), 1e-6);
    assert_float_equal(x[1], -1.0f, 1e-6);
    assert_float_equal(x[2], (float)(2.0 * (7 + 2) / 42 - 1), 1e-6);
    assert_int_equal(ops()->to_original_units(s, x, 1, &err), LPZ_OK);
    assert_float_equal(x[2], 7.0f, 1e-5);
    ops()->close(s);

    /* none: values outside [-1, 1] are refused, naming the sample */
    int rc = open_with(&s, &info, &err, "path", "v.npy", "scaling", "none", NULL);
    expect_error("value 10 of sample 0, element 0 is outside [-1, 1]", &err, rc);
    expect_error("set it to feature or global", &err, rc);
    const float in[2][2] = {{-1.0f, 0.25f}, {1.0f, -0.5f}};
    assert_int_equal(dt_write_npy(in_dir("u.npy"), "<f4", "False", "(2, 2)", in, sizeof in), 0);
    assert_int_equal(open_with(&s, &info, &err, "path", "u.npy", "scaling", "none", NULL), LPZ_OK);
    float y[2];
    assert_int_equal(ops()->read(s, 1, y, &err), LPZ_OK);
    assert_float_equal(y[0], 1.0f, 0);
    assert_float_equal(y[1], -0.5f, 0);
    assert_int_equal(ops()->to_original_units(s, y, 1, &err), LPZ_OK);
    assert_float_equal(y[1], -0.5f, 0);
    ops()->close(s);
}

/* 2 RGB images of 2 x 2 pixels, as uint8. */
static void images_channels_first_and_last(void **st)
{
    (void)st;
    /* channels last: (N=2, H=2, W=2, C=3), pixel (h, w) channel c of image
     * i holds 100 i + 10 c + 2 h + w */
    uint8_t nhwc[2 * 2 * 2 * 3];
    for (int i = 0; i < 2; i++)
        for (int h = 0; h < 2; h++)
            for (int w = 0; w < 2; w++)
                for (int c = 0; c < 3; c++)
                    nhwc[((i * 2 + h) * 2 + w) * 3 + c] = (uint8_t)(100 * i + 10 * c + 2 * h + w);
    assert_int_equal(dt_write_npy(in_dir("hwc.npy"), "|u1", "False", "(2, 2, 2, 3)", nhwc, sizeof nhwc), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    /* without channels_last: 2 "channels" of 2 x 3 is refused, with the hint */
    int rc = open_with(&s, &info, &err, "path", "hwc.npy", NULL);
    expect_error("images of 2 channels", &err, rc);
    expect_error("channels_last: true", &err, rc);
    assert_int_equal(open_with(&s, &info, &err, "path", "hwc.npy", "channels_last", "true", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_IMAGE);
    assert_int_equal(info.sample_shape.ndim, 3);
    assert_int_equal(info.sample_shape.dim[0], 3);
    assert_int_equal(info.sample_shape.dim[1], 2);
    assert_int_equal(info.sample_shape.dim[2], 2);
    float x[12];
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    assert_int_equal(ops()->to_original_units(s, x, 1, &err), LPZ_OK);
    for (int c = 0; c < 3; c++)
        for (int h = 0; h < 2; h++)
            for (int w = 0; w < 2; w++)
                assert_float_equal(x[(c * 2 + h) * 2 + w], 100 + 10 * c + 2 * h + w, 1e-4);
    /* per channel: channel 1 spans 10 .. 113, so 10 is -1 */
    assert_int_equal(ops()->read(s, 0, x, &err), LPZ_OK);
    assert_float_equal(x[4], -1.0f, 1e-6);
    /* rendering images: a PNG grid */
    assert_int_equal(ops()->render(s, x, 1, in_dir("grid"), &err), LPZ_OK);
    assert_int_equal(access(in_dir("grid.png"), F_OK), 0);
    ops()->close(s);

    /* (N, H, W) grey images with kind image; 4-D channels-first by default */
    assert_int_equal(dt_write_npy(in_dir("grey.npy"), "|u1", "False", "(2, 2, 3)", nhwc, 12), 0);
    assert_int_equal(open_with(&s, &info, &err, "path", "grey.npy", "kind", "image", NULL), LPZ_OK);
    assert_int_equal(info.sample_shape.dim[0], 1);
    assert_int_equal(info.sample_shape.dim[1], 2);
    assert_int_equal(info.sample_shape.dim[2], 3);
    ops()->close(s);
    assert_int_equal(dt_write_npy(in_dir("chw.npy"), "|u1", "False", "(1, 3, 2, 4)", nhwc, 24), 0);
    assert_int_equal(open_with(&s, &info, &err, "path", "chw.npy", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_IMAGE);
    assert_int_equal(info.sample_shape.dim[0], 3);
    ops()->close(s);
    /* channels_last on data read as vectors is refused */
    rc = open_with(&s, &info, &err, "path", "v.npy", "channels_last", "true", NULL);
    expect_error("channels_last applies to images", &err, rc);
}

static void sequences_and_kinds(void **st)
{
    (void)st;
    /* (N=2, T=3, F=2): feature 0 = 10 t + i, feature 1 = -t */
    float seq[2][3][2];
    for (int i = 0; i < 2; i++)
        for (int t = 0; t < 3; t++)
            seq[i][t][0] = (float)(10 * t + i), seq[i][t][1] = (float)-t;
    assert_int_equal(dt_write_npy(in_dir("s.npy"), "<f4", "False", "(2, 3, 2)", seq, sizeof seq), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_with(&s, &info, &err, "path", "s.npy", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_SEQUENCE);
    assert_int_equal(info.sample_shape.dim[0], 3);
    assert_int_equal(info.sample_shape.dim[1], 2);
    float x[6];
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    assert_float_equal(x[0], (float)(2.0 * 1 / 21 - 1), 1e-6); /* feature 0 spans 0 .. 21 */
    assert_float_equal(x[1], 1.0f, 1e-6);                       /* feature 1 spans -2 .. 0 */
    assert_float_equal(x[5], -1.0f, 1e-6);
    /* CSV in original units, a row per sample and step */
    assert_int_equal(ops()->render(s, x, 1, in_dir("seq"), &err), LPZ_OK);
    char *csv = dt_slurp(in_dir("seq.csv"));
    assert_non_null(csv);
    const char *row = strstr(csv, "sample,t,feature_0,feature_1\n");
    assert_ptr_equal(row, csv);
    for (int t = 0; t < 3; t++) {
        row = strchr(row, '\n') + 1;
        int si, st_;
        double f0, f1;
        assert_int_equal(sscanf(row, "%d,%d,%lf,%lf", &si, &st_, &f0, &f1), 4);
        assert_int_equal(si, 0);
        assert_int_equal(st_, t);
        assert_float_equal(f0, 10 * t + 1, 1e-5);
        assert_float_equal(f1, -t, 1e-5);
    }
    free(csv);
    ops()->close(s);
    /* kind vector flattens a sample */
    assert_int_equal(open_with(&s, &info, &err, "path", "s.npy", "kind", "vector", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_VECTOR);
    assert_int_equal(info.sample_shape.dim[0], 6);
    ops()->close(s);
    int rc = open_with(&s, &info, &err, "path", "s.npy", "kind", "movie", NULL);
    expect_error("kind 'movie' is not auto, vector, sequence or image", &err, rc);
    rc = open_with(&s, &info, &err, "path", "s.npy", "scaling", "zscore", NULL);
    expect_error("scaling 'zscore' is not feature, global or none", &err, rc);
    rc = open_with(&s, &info, &err, "path", "v.npy", "kind", "sequence", NULL);
    expect_error("kind sequence needs an array (N, T, F)", &err, rc);
}

static void labels(void **st)
{
    (void)st;
    assert_int_equal(dt_write_npy(in_dir("v.npy"), "<f8", "False", "(4, 3)", VEC, sizeof VEC), 0);
    const int64_t lab[4] = {2, 0, 1, 2};
    assert_int_equal(dt_write_npy(in_dir("l.npy"), "<i8", "False", "(4,)", lab, sizeof lab), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_with(&s, &info, &err, "path", "v.npy", "labels", "l.npy", NULL), LPZ_OK);
    assert_int_equal(info.n_classes, 3);
    int32_t y;
    assert_int_equal(ops()->label(s, 3, &y, &err), LPZ_OK);
    assert_int_equal(y, 2);
    ops()->close(s);
    const int64_t few[3] = {0, 1, 2};
    assert_int_equal(dt_write_npy(in_dir("few.npy"), "<i8", "False", "(3,)", few, sizeof few), 0);
    int rc = open_with(&s, &info, &err, "path", "v.npy", "labels", "few.npy", NULL);
    expect_error("labels of shape (3,) for 4 samples", &err, rc);
    const double frac[4] = {0, 1, 1.5, 2};
    assert_int_equal(dt_write_npy(in_dir("frac.npy"), "<f8", "False", "(4,)", frac, sizeof frac), 0);
    rc = open_with(&s, &info, &err, "path", "v.npy", "labels", "frac.npy", NULL);
    expect_error("label 1.5 of sample 2 is not a whole number", &err, rc);
    const int64_t neg[4] = {0, -1, 1, 2};
    assert_int_equal(dt_write_npy(in_dir("neg.npy"), "<i8", "False", "(4,)", neg, sizeof neg), 0);
    rc = open_with(&s, &info, &err, "path", "v.npy", "labels", "neg.npy", NULL);
    expect_error("label -1 of sample 1", &err, rc);
}

/* Through the core: a dataset of this plugin without labels is unlabelled
 * (the plugin has a label function; n_classes 0 says there are none), so
 * batches read without asking for labels; with labels it is labelled. */
static void core_takes_n_classes_zero_as_unlabelled(void **st)
{
    (void)st;
    assert_int_equal(dt_write_npy(in_dir("v.npy"), "<f8", "False", "(4, 3)", VEC, sizeof VEC), 0);
    const int64_t lab[4] = {2, 0, 1, 2};
    assert_int_equal(dt_write_npy(in_dir("l.npy"), "<i8", "False", "(4,)", lab, sizeof lab), 0);
    for (int with = 0; with < 2; with++) {
        lpz_options *o = with ? dt_options(P, "path", "v.npy", "labels", "l.npy", NULL)
                              : dt_options(P, "path", "v.npy", NULL);
        assert_non_null(o);
        lpz_dataset_context ctx = dt_context(o, dir);
        lpz_dataset *ds = NULL;
        lpz_error err;
        assert_int_equal(lpz_dataset_open(P, &ctx, &ds, &err), LPZ_OK);
        assert_int_equal(lpz_dataset_has_labels(ds), with);
        int32_t y = -1;
        int rc = lpz_dataset_label(ds, 0, &y, &err);
        if (with) {
            assert_int_equal(rc, LPZ_OK);
            assert_int_equal(y, 2);
        } else {
            assert_int_equal(rc, LPZ_EUNSUPPORTED);
        }
        lpz_dataset_close(ds);
        lpz_options_destroy(o);
    }
}

static void bad_input(void **st)
{
    (void)st;
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    int rc = open_with(&s, &info, &err, NULL);
    expect_error("the option path is required", &err, rc);
    rc = open_with(&s, &info, &err, "path", "missing.npy", NULL);
    expect_error("missing.npy", &err, rc);
    assert_int_equal(dt_write(in_dir("text.npy"), "time,bytes,packets\n0.5,1500,3\n1.5,40,1\n", 39), 0);
    rc = open_with(&s, &info, &err, "path", "text.npy", NULL);
    expect_error("numpy.save", &err, rc);
    const float one[3] = {1, 2, 3};
    assert_int_equal(dt_write_npy(in_dir("one.npy"), "<f4", "False", "(3,)", one, sizeof one), 0);
    rc = open_with(&s, &info, &err, "path", "one.npy", NULL);
    expect_error("x.reshape(-1, 1)", &err, rc);
    assert_int_equal(dt_write_npy(in_dir("empty.npy"), "<f4", "False", "(0, 3)", one, 0), 0);
    rc = open_with(&s, &info, &err, "path", "empty.npy", NULL);
    expect_error("the array is empty", &err, rc);
    const float nan[2][2] = {{0, 1}, {NAN, 2}};
    assert_int_equal(dt_write_npy(in_dir("nan.npy"), "<f4", "False", "(2, 2)", nan, sizeof nan), 0);
    rc = open_with(&s, &info, &err, "path", "nan.npy", NULL);
    expect_error("sample 1, element 0 is not a number", &err, rc);
    const float five[1][5][1][1] = {{{{0}}, {{1}}, {{2}}, {{3}}, {{4}}}};
    assert_int_equal(dt_write_npy(in_dir("five.npy"), "<f4", "False", "(1, 5, 1, 1)", five, sizeof five), 0);
    rc = open_with(&s, &info, &err, "path", "five.npy", NULL);
    expect_error("images of 5 channels", &err, rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_per_feature_and_back),
        cmocka_unit_test(global_and_none_scaling),
        cmocka_unit_test(images_channels_first_and_last),
        cmocka_unit_test(sequences_and_kinds),
        cmocka_unit_test(labels),
        cmocka_unit_test(core_takes_n_classes_zero_as_unlabelled),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
