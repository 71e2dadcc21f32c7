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
#include "describe_check.h"
#include "../../plugins/dataloaders/npy/csv.h"

#include <math.h>
#include <sys/stat.h>

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
    /* a 5-dimensional array: refused as it comes, flattened with kind vector ("any sample") */
    assert_int_equal(dt_write_npy(in_dir("d5.npy"), "<f4", "False", "(1, 1, 2, 1, 3)", seq, 6 * sizeof(float)), 0);
    rc = open_with(&s, &info, &err, "path", "d5.npy", NULL);
    expect_error("set dataloader.kind: vector", &err, rc);
    assert_int_equal(open_with(&s, &info, &err, "path", "d5.npy", "kind", "vector", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_VECTOR);
    assert_int_equal(info.count, 1);
    assert_int_equal(info.sample_shape.dim[0], 6);
    ops()->close(s);
}

/* Warnings the plugin logs, one a line. */
static char g_warn[1024];

static void keep_warn(void *user, lpz_log_level level, const char *line)
{
    (void)user;
    if (level == LPZ_LOG_WARN)
        snprintf(g_warn + strlen(g_warn), sizeof g_warn - strlen(g_warn), "%s\n", line);
}

/* samples.csv holds the float32 values exactly: 16777215 (2^24 - 1, a byte
 * count) was written 1.677722e+07 with 7 significant digits */
static void csv_values_are_exact(void **st)
{
    (void)st;
    const float big[2][2] = {{0, 0.1f}, {16777215.0f, 123.456789f}};
    assert_int_equal(dt_write_npy(in_dir("big.npy"), "<f4", "False", "(2, 2)", big, sizeof big), 0);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_with(&s, &info, &err, "path", "big.npy", NULL), LPZ_OK);
    float x[2];
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    float orig[2] = {x[0], x[1]};
    assert_int_equal(ops()->to_original_units(s, orig, 1, &err), LPZ_OK);
    assert_float_equal(orig[0], 16777215.0, 0.0);
    assert_int_equal(ops()->render(s, x, 1, in_dir("big"), &err), LPZ_OK);
    char *csv = dt_slurp(in_dir("big.csv"));
    assert_non_null(csv);
    const char *row = strstr(csv, "\n0,");
    assert_non_null(row);
    char *end;
    float a = strtof(row + 3, &end), b = strtof(end + 1, NULL);
    if (a != orig[0] || b != orig[1])
        fail_msg("the CSV row %s differs from the values %.9g, %.9g", row + 1, (double)orig[0], (double)orig[1]);
    free(csv);
    ops()->close(s);
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
    /* classes numbered from 1 (1..3, no 0): 4 classes to lpz, and a warning says why (they came as "4 classes", and
       10 such classes had no FID classifier, "no 10 labelled classes") */
    const int64_t from1[4] = {1, 3, 2, 3};
    assert_int_equal(dt_write_npy(in_dir("from1.npy"), "<i8", "False", "(4,)", from1, sizeof from1), 0);
    g_warn[0] = '\0';
    lpz_log_set_sink(keep_warn, NULL);
    assert_int_equal(open_with(&s, &info, &err, "path", "v.npy", "labels", "from1.npy", NULL), LPZ_OK);
    lpz_log_set_sink(NULL, NULL);
    ops()->close(s);
    assert_int_equal(info.n_classes, 4);
    if (!strstr(g_warn, "from1.npy: no sample has class 0: classes count from 0, so labels 1 to 3 are 4 classes"))
        fail_msg("no warning of classes from 1: '%s'", g_warn);
    g_warn[0] = '\0'; /* classes from 0: no warning */
    lpz_log_set_sink(keep_warn, NULL);
    assert_int_equal(open_with(&s, &info, &err, "path", "v.npy", "labels", "l.npy", NULL), LPZ_OK);
    lpz_log_set_sink(NULL, NULL);
    ops()->close(s);
    assert_string_equal(g_warn, "");
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

/* Writes text to a file of the scratch folder. */
static void put(const char *name, const char *text)
{
    assert_int_equal(dt_write(in_dir(name), text, strlen(text)), 0);
}

/* CSV tables: header, delimiters, quotes, comments, a byte-order mark and
 * CRLF, a label column, numpy.savetxt's blank-separated output, names
 * back in the rendered CSV, sample_shape for CSV rows and .npy arrays. */
static void csv_tables(void **st)
{
    (void)st;
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    float x[4];
    /* commas and a header; the label column by name, left out of the values */
    put("flows.csv", "duration,bytes,class,packets\n0.5,1500,1,3\n1.5,40,0,1\n\n2.5,790,2,2\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "flows.csv", "label_column", "class", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_VECTOR);
    assert_int_equal(info.sample_shape.dim[0], 3);
    assert_int_equal(info.count, 3);
    assert_int_equal(info.n_classes, 3);
    int32_t y;
    assert_int_equal(ops()->label(s, 2, &y, &err), LPZ_OK);
    assert_int_equal(y, 2);
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    assert_float_equal(x[0], 0.0f, 1e-6);  /* duration 1.5 of 0.5 .. 2.5 */
    assert_float_equal(x[1], -1.0f, 1e-6); /* bytes 40: the minimum */
    assert_float_equal(x[2], -1.0f, 1e-6); /* packets 1: the minimum */
    /* generated samples come back as a table with the same names */
    assert_int_equal(ops()->render(s, x, 1, in_dir("gen"), &err), LPZ_OK);
    char *csv = dt_slurp(in_dir("gen.csv"));
    assert_non_null(csv);
    assert_ptr_equal(strstr(csv, "sample,duration,bytes,packets\n0,1.5,40,1\n"), csv);
    free(csv);
    ops()->close(s);
    /* semicolons, quoted names (a comma inside, a doubled quote), a BOM, CRLF, comment lines; the label column by
       its number */
    put("semi.csv", "\xEF\xBB\xBF# exported\r\n\"rate, per s\";\"say \"\"hi\"\"\";y\r\n1;2;0\r\n"
                    "  # a note\r\n3;\"4\";1\r\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "semi.csv", "label_column", "3", NULL), LPZ_OK);
    assert_int_equal(info.count, 2);
    assert_int_equal(info.sample_shape.dim[0], 2);
    assert_int_equal(info.n_classes, 2);
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    assert_float_equal(x[1], 1.0f, 1e-6);
    assert_int_equal(ops()->render(s, x, 1, in_dir("semi-gen"), &err), LPZ_OK);
    csv = dt_slurp(in_dir("semi-gen.csv"));
    assert_non_null(csv);
    assert_ptr_equal(strstr(csv, "sample,\"rate, per s\",\"say \"\"hi\"\"\"\n"), csv);
    free(csv);
    ops()->close(s);
    /* numpy.savetxt's default: blanks, no header, exponents; any file name */
    put("saved.txt", "1.000000000000000000e+00 -2.000000000000000000e+00\n3.000000000000000000e+00 "
                     "4.000000000000000000e+00\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "saved.txt", NULL), LPZ_OK);
    assert_int_equal(info.count, 2);
    assert_int_equal(info.sample_shape.dim[0], 2);
    assert_int_equal(info.n_classes, 0);
    assert_int_equal(ops()->read(s, 0, x, &err), LPZ_OK);
    assert_float_equal(x[1], -1.0f, 1e-6);
    assert_int_equal(ops()->render(s, x, 1, in_dir("saved-gen"), &err), LPZ_OK);
    csv = dt_slurp(in_dir("saved-gen.csv"));
    assert_non_null(csv);
    assert_ptr_equal(strstr(csv, "sample,feature_0,feature_1\n0,1,-2\n"), csv);
    free(csv);
    ops()->close(s);
    /* tabs, and a single column */
    put("tabs.tsv", "a\tb\n1\t2\n3\t4\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "tabs.tsv", NULL), LPZ_OK);
    assert_int_equal(info.sample_shape.dim[0], 2);
    ops()->close(s);
    put("one.csv", "v\n1\n2\n5\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "one.csv", NULL), LPZ_OK);
    assert_int_equal(info.sample_shape.dim[0], 1);
    assert_int_equal(info.count, 3);
    ops()->close(s);
    /* the delimiter given: blanks inside a comma-free line are not split at */
    put("given.csv", "1 ;2\n3 ; 4\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "given.csv", "delimiter", "semicolon", NULL), LPZ_OK);
    assert_int_equal(info.sample_shape.dim[0], 2);
    ops()->close(s);
    /* sample_shape: rows of 4 pixels as 2x2 grey images (the label first, as MNIST in CSV has it) */
    put("img.csv", "label,p1,p2,p3,p4\n7,0,255,128,0\n1,255,0,0,255\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "img.csv", "label_column", "label", "sample_shape", "2x2",
                               "kind", "image", "scaling", "global", NULL),
                     LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_IMAGE);
    assert_int_equal(info.sample_shape.ndim, 3);
    assert_int_equal(info.sample_shape.dim[0], 1);
    assert_int_equal(info.sample_shape.dim[1], 2);
    assert_int_equal(info.sample_shape.dim[2], 2);
    assert_int_equal(info.n_classes, 8);
    assert_int_equal(ops()->read(s, 0, x, &err), LPZ_OK);
    assert_float_equal(x[1], 1.0f, 1e-6);
    ops()->close(s);
    /* and a .npy of (N, 6) read as sequences of 3 steps x 2 */
    const double six[2][6] = {{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}};
    assert_int_equal(dt_write_npy(in_dir("six.npy"), "<f8", "False", "(2, 6)", six, sizeof six), 0);
    assert_int_equal(open_with(&s, &info, &err, "path", "six.npy", "sample_shape", "3x2", NULL), LPZ_OK);
    assert_int_equal(info.kind, LPZ_SAMPLE_SEQUENCE);
    assert_int_equal(info.sample_shape.dim[0], 3);
    assert_int_equal(info.sample_shape.dim[1], 2);
    ops()->close(s);
    /* header: pandas' names of unnamed columns (0,1,...) read as names when told; false keeps a first line of
       text-free numbers as a row; a one-row table of 300,000 columns (rows are reserved about 4 MB at a time) */
    put("pd.csv", "0,1\n5,6\n7,8\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "pd.csv", NULL), LPZ_OK);
    assert_int_equal(info.count, 3);
    ops()->close(s);
    assert_int_equal(open_with(&s, &info, &err, "path", "pd.csv", "header", "true", NULL), LPZ_OK);
    assert_int_equal(info.count, 2);
    ops()->close(s);
    /* a first row with a missing value looks like a header: taken as one, with a warning that says so (it was
       dropped in silence, its "1.5" and "NA" naming the columns) */
    put("na.csv", "1.5,NA\n5,6\n7,8\n");
    g_warn[0] = '\0';
    lpz_log_set_sink(keep_warn, NULL);
    assert_int_equal(open_with(&s, &info, &err, "path", "na.csv", NULL), LPZ_OK);
    lpz_log_set_sink(NULL, NULL);
    assert_int_equal(info.count, 2);
    ops()->close(s);
    if (!strstr(g_warn, "the first line is read as the header, but its field 1 ('1.5') is a number") ||
        !strstr(g_warn, "set dataloader.header: false"))
        fail_msg("no warning of a header with a number: '%s'", g_warn);
    expect_error("na.csv:1: column 2: 'NA' is not a number", &err,
                 open_with(&s, &info, &err, "path", "na.csv", "header", "false", NULL));
    g_warn[0] = '\0'; /* a header of names only: no warning */
    lpz_log_set_sink(keep_warn, NULL);
    assert_int_equal(open_with(&s, &info, &err, "path", "flows.csv", NULL), LPZ_OK);
    lpz_log_set_sink(NULL, NULL);
    ops()->close(s);
    assert_string_equal(g_warn, "");
    put("num.csv", "1,2\n3,4\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "num.csv", "header", "false", NULL), LPZ_OK);
    assert_int_equal(info.count, 2);
    ops()->close(s);
    {
        size_t w = 300000, len = 0;
        char *wide = malloc(2 * w + 2);
        assert_non_null(wide);
        for (size_t j = 0; j < w; j++)
            wide[len++] = '1', wide[len++] = j + 1 < w ? ',' : '\n';
        wide[len] = '\0';
        put("wide.csv", wide);
        free(wide);
        assert_int_equal(open_with(&s, &info, &err, "path", "wide.csv", NULL), LPZ_OK);
        assert_int_equal(info.sample_shape.dim[0], (int64_t)w);
        ops()->close(s);
    }
    /* format csv for a table named .npy */
    put("table.npy", "1,2\n3,4\n");
    assert_int_equal(open_with(&s, &info, &err, "path", "table.npy", "format", "csv", NULL), LPZ_OK);
    assert_int_equal(info.count, 2);
    ops()->close(s);
}

/* The reader's numbers are strtod's, float for float: plain decimals take a
 * fast path (at most 15 digits), the rest strtod itself. */
static void csv_numbers_match_strtod(void **st)
{
    (void)st;
    enum { N = 20000 };
    size_t cap = (size_t)N * 40 + 64, len = 0;
    char *text = malloc(cap);
    char (*field)[40] = malloc((size_t)N * sizeof *field);
    assert_non_null(text);
    assert_non_null(field);
    lpz_rng rng;
    lpz_rng_seed(&rng, 5, 0);
    for (int i = 0; i < N; i++) {
        double mag = pow(10.0, (double)lpz_rng_below(&rng, 24) - 12.0);
        double x = (lpz_rng_uniform(&rng) - 0.5) * mag;
        int kind = (int)lpz_rng_below(&rng, 5), prec = (int)lpz_rng_below(&rng, 18);
        if (kind == 0)
            snprintf(field[i], sizeof field[i], "%.*f", prec, x);
        else if (kind == 1)
            snprintf(field[i], sizeof field[i], "%.*e", prec, x);
        else if (kind == 2)
            snprintf(field[i], sizeof field[i], "%lld", (long long)(x * 1e3));
        else if (kind == 3)
            snprintf(field[i], sizeof field[i], "%+.*g", prec + 1, x);
        else
            snprintf(field[i], sizeof field[i], "%s%llu.%llu", x < 0 ? "-" : "",
                     (unsigned long long)lpz_rng_below(&rng, 1000000000),
                     (unsigned long long)lpz_rng_below(&rng, 10000000000ULL));
        len += (size_t)snprintf(text + len, cap - len, "%s\n", field[i]);
    }
    npy_csv c;
    lpz_error err;
    assert_int_equal(npy_csv_parse(text, len, "numbers.csv", 0, -1, NULL, 16, &c, &err), LPZ_OK);
    assert_int_equal(c.rows, N);
    assert_int_equal(c.cols, 1);
    for (int i = 0; i < N; i++) {
        float want = (float)strtod(field[i], NULL);
        if (c.data[i] != want)
            fail_msg("'%s' read as %.9g, strtod %.9g", field[i], (double)c.data[i], (double)want);
    }
    npy_csv_free(&c);
    free(text);
    free(field);
}

static void csv_bad_input(void **st)
{
    (void)st;
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    int rc;
    put("short.csv", "a,b,c\n1,2,3\n4,5\n");
    rc = open_with(&s, &info, &err, "path", "short.csv", NULL);
    expect_error("short.csv:3: 2 fields (split at commas); the header has 3 (every line needs one value per column, "
                 "as line 1 has (the header))", &err, rc);
    put("text.csv", "time,bytes\n0.5,1500\n1.5,many\n");
    rc = open_with(&s, &info, &err, "path", "text.csv", NULL);
    expect_error("text.csv:3: column 2 ('bytes'): 'many' is not a number", &err, rc);
    /* a delimiter ending every row but not the header: said (it was "every line needs one value per column") */
    put("trail.tsv", "x\ty\n1\t2\t\n3\t4\t\n");
    expect_error("remove the tabs ending the rows, or end line 1 with one too", &err,
                 open_with(&s, &info, &err, "path", "trail.tsv", NULL));
    put("hole.csv", "1,2\n,3\n");
    rc = open_with(&s, &info, &err, "path", "hole.csv", NULL);
    expect_error("hole.csv:2: column 1 is empty (a missing value)", &err, rc);
    expect_error("dropna", &err, rc);
    put("nan.csv", "x,y\n1,nan\n");
    rc = open_with(&s, &info, &err, "path", "nan.csv", NULL);
    expect_error("nan.csv:2: column 2 ('y'): 'nan' is not a finite float32 number", &err, rc);
    put("big.csv", "1,1e39\n");
    rc = open_with(&s, &info, &err, "path", "big.csv", NULL);
    expect_error("'1e39' is not a finite float32 number", &err, rc);
    put("decimal.csv", "a;b\n1,5;2\n");
    rc = open_with(&s, &info, &err, "path", "decimal.csv", NULL);
    expect_error("'1,5' is not a number", &err, rc);
    expect_error("decimal comma", &err, rc);
    /* thousands separators are named so (the hint spoke of a decimal comma); 1,5 at semicolons stays one */
    put("thousands.csv", "x,y\n\"1,500\",2\n");
    rc = open_with(&s, &info, &err, "path", "thousands.csv", NULL);
    expect_error("'1,500' is not a number (thousands separators need removing", &err, rc);
    put("thousands2.csv", "x;y\n1,234,567.5;2\n");
    rc = open_with(&s, &info, &err, "path", "thousands2.csv", NULL);
    expect_error("thousands separators need removing", &err, rc);
    /* a comma table read at semicolons: the delimiter is named (the hint spoke of a decimal comma) */
    put("commas.csv", "x,y\n1.5,2.5\n");
    rc = open_with(&s, &info, &err, "path", "commas.csv", "delimiter", "semicolon", NULL);
    expect_error("the field holds a comma, and the table is read split at semicolons: if it is split at commas, set "
                 "dataloader.delimiter: comma (or auto)", &err, rc);
    put("quote.csv", "\"a,b\n1,2\n");
    rc = open_with(&s, &info, &err, "path", "quote.csv", NULL);
    expect_error("quote.csv:1: a quoted field does not end on its line", &err, rc);
    put("head.csv", "# only\nx,y\n\n");
    rc = open_with(&s, &info, &err, "path", "head.csv", NULL);
    expect_error("no rows of numbers below the header", &err, rc);
    put("empty.csv", "");
    rc = open_with(&s, &info, &err, "path", "empty.csv", NULL);
    expect_error("no rows of numbers", &err, rc);
    assert_int_equal(dt_write(in_dir("blob.bin"), "PK\3\4\0\0\1", 7), 0);
    rc = open_with(&s, &info, &err, "path", "blob.bin", NULL);
    expect_error("not a text file (it holds NUL bytes)", &err, rc);
    /* label columns */
    put("lab.csv", "a,b,y\n1,2,0\n3,4,1.5\n");
    rc = open_with(&s, &info, &err, "path", "lab.csv", "label_column", "class", NULL);
    expect_error("label_column 'class' is neither a column of the header (a, b, y) nor a column number from 1 to 3",
                 &err, rc);
    rc = open_with(&s, &info, &err, "path", "lab.csv", "label_column", "y", NULL);
    expect_error("lab.csv:3: label '1.5' in column 3 (the label column) is not a whole number from 0 to 1023", &err,
                 rc);
    put("nolab.csv", "1,2\n3,4\n");
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "label_column", "4", NULL);
    expect_error("not a column number from 1 to 2 (the file has no header line", &err, rc);
    put("single.csv", "y\n1\n");
    rc = open_with(&s, &info, &err, "path", "single.csv", "label_column", "y", NULL);
    expect_error("label_column takes it: no values are left", &err, rc);
    assert_int_equal(dt_write_npy(in_dir("v.npy"), "<f8", "False", "(4, 3)", VEC, sizeof VEC), 0);
    rc = open_with(&s, &info, &err, "path", "v.npy", "label_column", "1", NULL);
    expect_error("label_column names a column of a CSV table", &err, rc);
    const int64_t lab[4] = {0, 1, 0, 1};
    assert_int_equal(dt_write_npy(in_dir("l.npy"), "<i8", "False", "(4,)", lab, sizeof lab), 0);
    rc = open_with(&s, &info, &err, "path", "lab.csv", "labels", "l.npy", "label_column", "y", NULL);
    expect_error("both labels and label_column are set", &err, rc);
    /* options */
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "sample_shape", "3x3", NULL);
    expect_error("sample_shape 3x3 holds 9 values, and the samples of", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "sample_shape", "2by1", NULL);
    expect_error("sample_shape '2by1' is not 1 to 3 positive whole numbers joined by x", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "sample_shape", "1x1x1x2", NULL);
    expect_error("is not 1 to 3 positive whole numbers", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "delimiter", "pipe", NULL);
    expect_error("delimiter 'pipe' is not auto, comma, semicolon, tab or space", &err, rc);
    rc = open_with(&s, &info, &err, "path", "v.npy", "delimiter", "comma", NULL);
    expect_error("delimiter applies to CSV tables", &err, rc);
    rc = open_with(&s, &info, &err, "path", "v.npy", "header", "false", NULL);
    expect_error("header applies to CSV tables", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "format", "xlsx", NULL);
    expect_error("format 'xlsx' is not auto, npy or csv", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "format", "npy", NULL);
    expect_error("numpy.save", &err, rc);
    /* tabs: an empty field between or before tabs is a missing value, not padding */
    put("gap.tsv", "1\t\t3\n4\t\t6\n");
    rc = open_with(&s, &info, &err, "path", "gap.tsv", NULL);
    expect_error("gap.tsv:1: column 2 is empty (a missing value)", &err, rc);
    put("lead.tsv", "\t2\t3\n\t5\t6\n");
    rc = open_with(&s, &info, &err, "path", "lead.tsv", NULL);
    expect_error("lead.tsv:1: column 1 is empty", &err, rc);
    /* not regular files: a folder, a pipe (its start would be read twice, or never end) */
    assert_int_equal(mkdir(in_dir("dir.csv"), 0700), 0);
    rc = open_with(&s, &info, &err, "path", "dir.csv", NULL);
    expect_error("dir.csv: not a regular file (a folder)", &err, rc);
    assert_int_equal(mkfifo(in_dir("pipe.csv"), 0600), 0);
    rc = open_with(&s, &info, &err, "path", "pipe.csv", NULL);
    expect_error("pipe.csv: not a regular file (a pipe)", &err, rc);
    expect_error("path is pipe.csv", &err, rc);
    /* classic Mac line ends; C hex floats */
    put("cr.csv", "x,y\r1,2\r3,4\r");
    rc = open_with(&s, &info, &err, "path", "cr.csv", NULL);
    expect_error("lines end in a bare carriage return", &err, rc);
    put("hex.csv", "1,2\n0x10,3\n");
    rc = open_with(&s, &info, &err, "path", "hex.csv", NULL);
    expect_error("hex.csv:2: column 1: '0x10' is not a number", &err, rc);
    /* format csv on a real .npy; a table named .npy under format auto */
    rc = open_with(&s, &info, &err, "path", "v.npy", "format", "csv", NULL);
    expect_error("format is csv, and", &err, rc);
    put("fake.npy", "1,2\n3,4\n");
    rc = open_with(&s, &info, &err, "path", "fake.npy", NULL);
    expect_error("a table named .npy needs format: csv", &err, rc);
    /* two columns of the label's name; sizes beyond the limits; a table read as images without sample_shape */
    put("dup.csv", "a,a,b\n1,2,3\n");
    rc = open_with(&s, &info, &err, "path", "dup.csv", "label_column", "a", NULL);
    expect_error("label_column 'a' names columns 1 and 2 of the header", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "sample_shape", "2147483648x2147483648x4", NULL);
    expect_error("is too large", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "sample_shape", "+1x2", NULL);
    expect_error("is not 1 to 3 positive whole numbers", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "kind", "image", NULL);
    expect_error("set dataloader.sample_shape", &err, rc);
    rc = open_with(&s, &info, &err, "path", "nolab.csv", "header", "yes", NULL);
    expect_error("header 'yes' is not auto, true or false", &err, rc);
    rc = open_with(&s, &info, &err, "path", "missing.csv", NULL);
    expect_error("missing.csv: cannot open: No such file or directory", &err, rc);
    expect_error("path is missing.csv", &err, rc);
}

/* ---- describe (ABI 1.3): the shape open will report, told from a .npy's
 * header or a table's lines up to its first row. */

/* Every file of the tests above (and a few more: a table whose first row
 * is far into it, damage past the first row), for the table below. */
static void write_fixtures(void)
{
    const float one[3] = {1, 2, 3};
    const float u[2][2] = {{-1.0f, 0.25f}, {1.0f, -0.5f}};
    const float nan[2][2] = {{0, 1}, {NAN, 2}};
    const double six[2][6] = {{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}};
    const int64_t lab[4] = {2, 0, 1, 2}, few[3] = {0, 1, 2}, neg[4] = {0, -1, 1, 2}, from1[4] = {1, 3, 2, 3};
    const int64_t lab2[2] = {0, 1};
    const double frac[4] = {0, 1, 1.5, 2};
    uint8_t px[48] = {0};
    assert_int_equal(dt_write_npy(in_dir("v.npy"), "<f8", "False", "(4, 3)", VEC, sizeof VEC), 0);
    assert_int_equal(dt_write_npy(in_dir("u.npy"), "<f4", "False", "(2, 2)", u, sizeof u), 0);
    assert_int_equal(dt_write_npy(in_dir("hwc.npy"), "|u1", "False", "(2, 2, 2, 3)", px, 24), 0);
    assert_int_equal(dt_write_npy(in_dir("grey.npy"), "|u1", "False", "(2, 2, 3)", px, 12), 0);
    assert_int_equal(dt_write_npy(in_dir("chw.npy"), "|u1", "False", "(1, 3, 2, 4)", px, 24), 0);
    assert_int_equal(dt_write_npy(in_dir("s.npy"), "<f4", "False", "(2, 3, 2)", px, 48), 0);
    assert_int_equal(dt_write_npy(in_dir("d5.npy"), "<f4", "False", "(1, 1, 2, 1, 3)", px, 24), 0);
    assert_int_equal(dt_write_npy(in_dir("l.npy"), "<i8", "False", "(4,)", lab, sizeof lab), 0);
    assert_int_equal(dt_write_npy(in_dir("l2.npy"), "<i8", "False", "(2,)", lab2, sizeof lab2), 0);
    assert_int_equal(dt_write_npy(in_dir("few.npy"), "<i8", "False", "(3,)", few, sizeof few), 0);
    assert_int_equal(dt_write_npy(in_dir("frac.npy"), "<f8", "False", "(4,)", frac, sizeof frac), 0);
    assert_int_equal(dt_write_npy(in_dir("neg.npy"), "<i8", "False", "(4,)", neg, sizeof neg), 0);
    assert_int_equal(dt_write_npy(in_dir("from1.npy"), "<i8", "False", "(4,)", from1, sizeof from1), 0);
    assert_int_equal(dt_write_npy(in_dir("one.npy"), "<f4", "False", "(3,)", one, sizeof one), 0);
    assert_int_equal(dt_write_npy(in_dir("empty.npy"), "<f4", "False", "(0, 3)", one, 0), 0);
    assert_int_equal(dt_write_npy(in_dir("nan.npy"), "<f4", "False", "(2, 2)", nan, sizeof nan), 0);
    assert_int_equal(dt_write_npy(in_dir("five.npy"), "<f4", "False", "(1, 5, 1, 1)", px, 20), 0);
    assert_int_equal(dt_write_npy(in_dir("six.npy"), "<f8", "False", "(2, 6)", six, sizeof six), 0);
    assert_int_equal(dt_write_npy(in_dir("short.npy"), "<f4", "False", "(4, 3)", px, 40), 0); /* 48 bytes due */
    assert_int_equal(dt_write_npy(in_dir("fortran.npy"), "<f4", "True", "(2, 2)", u, sizeof u), 0);
    assert_int_equal(dt_write_npy(in_dir("complex.npy"), "<c8", "False", "(2, 1)", u, sizeof u), 0);
    assert_int_equal(dt_write(in_dir("text.npy"), "time,bytes,packets\n0.5,1500,3\n1.5,40,1\n", 39), 0);
    put("flows.csv", "duration,bytes,class,packets\n0.5,1500,1,3\n1.5,40,0,1\n\n2.5,790,2,2\n");
    put("semi.csv", "\xEF\xBB\xBF# exported\r\n\"rate, per s\";\"say \"\"hi\"\"\";y\r\n1;2;0\r\n"
                    "  # a note\r\n3;\"4\";1\r\n");
    put("saved.txt", "1.000000000000000000e+00 -2.000000000000000000e+00\n3.000000000000000000e+00 "
                     "4.000000000000000000e+00\n");
    put("tabs.tsv", "a\tb\n1\t2\n3\t4\n");
    put("one.csv", "v\n1\n2\n5\n");
    put("given.csv", "1 ;2\n3 ; 4\n");
    put("img.csv", "label,p1,p2,p3,p4\n7,0,255,128,0\n1,255,0,0,255\n");
    put("pd.csv", "0,1\n5,6\n7,8\n");
    put("na.csv", "1.5,NA\n5,6\n7,8\n");
    put("num.csv", "1,2\n3,4\n");
    put("table.npy", "1,2\n3,4\n");
    put("short.csv", "a,b,c\n1,2,3\n4,5\n");
    put("text.csv", "time,bytes\n0.5,1500\n1.5,many\n");
    put("trail.tsv", "x\ty\n1\t2\t\n3\t4\t\n");
    put("hole.csv", "1,2\n,3\n");
    put("nan.csv", "x,y\n1,nan\n");
    put("big.csv", "1,1e39\n");
    put("decimal.csv", "a;b\n1,5;2\n");
    put("thousands.csv", "x,y\n\"1,500\",2\n");
    put("thousands2.csv", "x;y\n1,234,567.5;2\n");
    put("commas.csv", "x,y\n1.5,2.5\n");
    put("quote.csv", "\"a,b\n1,2\n");
    put("head.csv", "# only\nx,y\n\n");
    put("empty.csv", "");
    assert_int_equal(dt_write(in_dir("blob.bin"), "PK\3\4\0\0\1", 7), 0);
    put("lab.csv", "a,b,y\n1,2,0\n3,4,1.5\n");
    put("nolab.csv", "1,2\n3,4\n");
    put("single.csv", "y\n1\n");
    put("gap.tsv", "1\t\t3\n4\t\t6\n");
    put("lead.tsv", "\t2\t3\n\t5\t6\n");
    put("cr.csv", "x,y\r1,2\r3,4\r");
    put("hex.csv", "1,2\n0x10,3\n");
    put("fake.npy", "1,2\n3,4\n");
    put("dup.csv", "a,a,b\n1,2,3\n");
    put("last.csv", "1,2,3\n4,5,6\n7,8"); /* cut off in its last row, without a line end */
    mkdir(in_dir("dir.csv"), 0700);
    mkfifo(in_dir("pipe.csv"), 0600);
    /* larger than describe's first piece (64 KB): a line with 300,000 columns; a first row behind 2 MB of
       comments (test_npy's NPY_DESCRIBE_MAX_BYTES is 1 MB); an error in the first row, or a NUL byte at the end
       (what a whole read says first), of a table that goes on */
    size_t cap = (size_t)3 << 20, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t j = 0; j < 300000; j++)
        text[len++] = '1', text[len++] = j + 1 < 300000 ? ',' : '\n';
    assert_int_equal(dt_write(in_dir("wide.csv"), text, len), 0);
    for (len = 0; len < ((size_t)2 << 20);)
        len += (size_t)snprintf(text + len, cap - len, "# a comment line of some length, again and again\n");
    len += (size_t)snprintf(text + len, cap - len, "x,y\n1,2\n3,4\n");
    assert_int_equal(dt_write(in_dir("far.csv"), text, len), 0);
    len = (size_t)snprintf(text, cap, "x,y\n1,abc\n");
    while (len < 100000)
        len += (size_t)snprintf(text + len, cap - len, "1,2\n");
    assert_int_equal(dt_write(in_dir("badrow.csv"), text, len), 0);
    text[len++] = '\0';
    assert_int_equal(dt_write(in_dir("badrow_nul.csv"), text, len), 0);
    len = (size_t)snprintf(text, cap, "x,y\n");
    while (len < 100000)
        len += (size_t)snprintf(text + len, cap - len, "1,2\n");
    text[len++] = '\0';
    assert_int_equal(dt_write(in_dir("tail_nul.csv"), text, len), 0);
    free(text);
}

/* Kind and shape as "vector 3", "image 1x2x2", "sequence 3x2"; "" when not told. */
static void told(const lpz_dataset_info *info, char *out, size_t size)
{
    out[0] = '\0';
    if (info->sample_shape.ndim == 0)
        return;
    size_t k = (size_t)snprintf(out, size, "%s ", info->kind == LPZ_SAMPLE_IMAGE      ? "image"
                                                  : info->kind == LPZ_SAMPLE_SEQUENCE ? "sequence"
                                                                                       : "vector");
    for (int d = 0; d < info->sample_shape.ndim && k < size; d++)
        k += (size_t)snprintf(out + k, size - k, "%s%lld", d ? "x" : "", (long long)info->sample_shape.dim[d]);
}

typedef struct describe_case {
    const char *opt[12];    /* "key", "value", ..., NULL */
    const char *told;       /* describe's answer; NULL: it fails as open does; "": not told, left to open */
    const char *open_error; /* NULL: open reports the shape told; else part of open's error, found past what
                               describe reads (the values, the labels' values, the rows after the first) */
} describe_case;

static const describe_case DESCRIBE_CASES[] = {
    /* .npy arrays: the kinds, sample_shape, channels, labels, and open's refusals of the values */
    {{"path", "v.npy"}, "vector 3", NULL},
    {{"path", "v.npy", "scaling", "global"}, "vector 3", NULL},
    {{"path", "v.npy", "scaling", "none"}, "vector 3", "value 10 of sample 0, element 0 is outside [-1, 1]"},
    {{"path", "u.npy", "scaling", "none"}, "vector 2", NULL},
    {{"path", "v.npy", "channels_last", "true"}, NULL, "channels_last applies to images"},
    {{"path", "v.npy", "kind", "sequence"}, NULL, "kind sequence needs an array (N, T, F)"},
    {{"path", "hwc.npy"}, NULL, "images of 2 channels (samples of shape (2, 2, 3))"},
    {{"path", "hwc.npy", "channels_last", "true"}, "image 3x2x2", NULL},
    {{"path", "grey.npy", "kind", "image"}, "image 1x2x3", NULL},
    {{"path", "chw.npy"}, "image 3x2x4", NULL},
    {{"path", "s.npy"}, "sequence 3x2", NULL},
    {{"path", "s.npy", "kind", "vector"}, "vector 6", NULL},
    {{"path", "s.npy", "kind", "movie"}, NULL, "kind 'movie' is not auto, vector, sequence or image"},
    {{"path", "s.npy", "scaling", "zscore"}, NULL, "scaling 'zscore' is not feature, global or none"},
    {{"path", "d5.npy"}, NULL, "set dataloader.kind: vector"},
    {{"path", "d5.npy", "kind", "vector"}, "vector 6", NULL},
    {{"path", "six.npy", "sample_shape", "3x2"}, "sequence 3x2", NULL},
    {{"path", "six.npy", "sample_shape", "1x2x3"}, "image 1x2x3", NULL},
    {{"path", "six.npy", "sample_shape", "4x2"}, NULL, "sample_shape 4x2 holds 8 values"},
    {{"path", "v.npy", "labels", "l.npy"}, "vector 3", NULL},
    {{"path", "v.npy", "labels", "from1.npy"}, "vector 3", NULL},
    {{"path", "v.npy", "labels", "few.npy"}, NULL, "labels of shape (3,) for 4 samples"},
    {{"path", "v.npy", "labels", "missing.npy"}, NULL, "missing.npy"},
    {{"path", "v.npy", "labels", "frac.npy"}, "vector 3", "label 1.5 of sample 2 is not a whole number"},
    {{"path", "v.npy", "labels", "neg.npy"}, "vector 3", "label -1 of sample 1"},
    {{"path", "nan.npy"}, "vector 2", "sample 1, element 0 is not a number"},
    {{"path", "v.npy", "label_column", "1"}, NULL, "label_column names a column of a CSV table"},
    {{"path", "v.npy", "delimiter", "comma"}, NULL, "delimiter applies to CSV tables"},
    {{"path", "v.npy", "header", "false"}, NULL, "header applies to CSV tables"},
    {{"path", "v.npy", "format", "csv"}, NULL, "format is csv, and"},
    {{NULL}, NULL, "the option path is required"},
    {{"path", "missing.npy"}, NULL, "missing.npy"},
    {{"path", "text.npy"}, NULL, "numpy.save"},
    {{"path", "one.npy"}, NULL, "x.reshape(-1, 1)"},
    {{"path", "empty.npy"}, NULL, "the array is empty"},
    {{"path", "five.npy"}, NULL, "images of 5 channels"},
    {{"path", "short.npy"}, NULL, "the file is truncated"},
    {{"path", "fortran.npy"}, NULL, "fortran_order True"},
    {{"path", "complex.npy"}, NULL, "unsupported npy dtype '<c8'"},
    /* tables: header, delimiters, quotes, label columns, sample_shape, labels files */
    {{"path", "flows.csv"}, "vector 4", NULL},
    {{"path", "flows.csv", "label_column", "class"}, "vector 3", NULL},
    {{"path", "semi.csv", "label_column", "3"}, "vector 2", NULL},
    {{"path", "saved.txt"}, "vector 2", NULL},
    {{"path", "tabs.tsv"}, "vector 2", NULL},
    {{"path", "one.csv"}, "vector 1", NULL},
    {{"path", "given.csv", "delimiter", "semicolon"}, "vector 2", NULL},
    {{"path", "img.csv", "label_column", "label", "sample_shape", "2x2", "kind", "image", "scaling", "global"},
     "image 1x2x2", NULL},
    {{"path", "img.csv", "label_column", "label", "sample_shape", "2x2"}, "sequence 2x2", NULL},
    {{"path", "img.csv", "sample_shape", "5x1x1"}, NULL, "images of 5 channels (samples of shape (5, 1, 1))"},
    {{"path", "pd.csv"}, "vector 2", NULL},
    {{"path", "pd.csv", "header", "true"}, "vector 2", NULL},
    {{"path", "na.csv"}, "vector 2", NULL},
    {{"path", "na.csv", "header", "false"}, NULL, "na.csv:1: column 2: 'NA' is not a number"},
    {{"path", "num.csv", "header", "false"}, "vector 2", NULL},
    {{"path", "wide.csv"}, "vector 300000", NULL},
    {{"path", "table.npy", "format", "csv"}, "vector 2", NULL},
    {{"path", "nolab.csv", "labels", "l2.npy"}, "vector 2", NULL},
    {{"path", "nolab.csv", "labels", "l.npy"}, "vector 2", "labels of shape (4,) for 2 samples"},
    {{"path", "short.csv"}, "vector 3", "short.csv:3: 2 fields (split at commas); the header has 3"},
    {{"path", "last.csv"}, "vector 3", "last.csv:3: 2 fields (split at commas); the first row has 3"},
    {{"path", "text.csv"}, "vector 2", "text.csv:3: column 2 ('bytes'): 'many' is not a number"},
    {{"path", "hole.csv"}, "vector 2", "hole.csv:2: column 1 is empty (a missing value)"},
    {{"path", "hex.csv"}, "vector 2", "hex.csv:2: column 1: '0x10' is not a number"},
    {{"path", "lab.csv", "label_column", "y"}, "vector 2", "lab.csv:3: label '1.5' in column 3 (the label column)"},
    {{"path", "tail_nul.csv"}, "vector 2", "not a text file (it holds NUL bytes)"},
    {{"path", "trail.tsv"}, NULL, "remove the tabs ending the rows, or end line 1 with one too"},
    {{"path", "nan.csv"}, NULL, "nan.csv:2: column 2 ('y'): 'nan' is not a finite float32 number"},
    {{"path", "big.csv"}, NULL, "'1e39' is not a finite float32 number"},
    {{"path", "decimal.csv"}, NULL, "'1,5' is not a number"},
    {{"path", "thousands.csv"}, NULL, "thousands separators need removing"},
    {{"path", "thousands2.csv"}, NULL, "thousands separators need removing"},
    {{"path", "commas.csv", "delimiter", "semicolon"}, NULL, "dataloader.delimiter: comma (or auto)"},
    {{"path", "quote.csv"}, NULL, "quote.csv:1: a quoted field does not end on its line"},
    {{"path", "head.csv"}, NULL, "no rows of numbers below the header"},
    {{"path", "empty.csv"}, NULL, "no rows of numbers"},
    {{"path", "blob.bin"}, NULL, "not a text file (it holds NUL bytes)"},
    {{"path", "lab.csv", "label_column", "class"}, NULL, "label_column 'class' is neither a column of the header"},
    {{"path", "nolab.csv", "label_column", "4"}, NULL, "not a column number from 1 to 2"},
    {{"path", "single.csv", "label_column", "y"}, NULL, "label_column takes it: no values are left"},
    {{"path", "lab.csv", "labels", "l.npy", "label_column", "y"}, NULL, "both labels and label_column are set"},
    {{"path", "nolab.csv", "sample_shape", "3x3"}, NULL, "sample_shape 3x3 holds 9 values, and the samples of"},
    {{"path", "nolab.csv", "sample_shape", "2by1"}, NULL, "sample_shape '2by1' is not 1 to 3 positive"},
    {{"path", "nolab.csv", "sample_shape", "1x1x1x2"}, NULL, "is not 1 to 3 positive whole numbers"},
    {{"path", "nolab.csv", "sample_shape", "2147483648x2147483648x4"}, NULL, "is too large"},
    {{"path", "nolab.csv", "sample_shape", "+1x2"}, NULL, "is not 1 to 3 positive whole numbers"},
    {{"path", "nolab.csv", "delimiter", "pipe"}, NULL, "delimiter 'pipe' is not auto, comma, semicolon, tab"},
    {{"path", "nolab.csv", "format", "xlsx"}, NULL, "format 'xlsx' is not auto, npy or csv"},
    {{"path", "nolab.csv", "format", "npy"}, NULL, "numpy.save"},
    {{"path", "nolab.csv", "kind", "image"}, NULL, "set dataloader.sample_shape"},
    {{"path", "nolab.csv", "header", "yes"}, NULL, "header 'yes' is not auto, true or false"},
    {{"path", "gap.tsv"}, NULL, "gap.tsv:1: column 2 is empty (a missing value)"},
    {{"path", "lead.tsv"}, NULL, "lead.tsv:1: column 1 is empty"},
    {{"path", "dir.csv"}, NULL, "dir.csv: not a regular file (a folder)"},
    {{"path", "pipe.csv"}, NULL, "pipe.csv: not a regular file (a pipe)"},
    {{"path", "cr.csv"}, NULL, "lines end in a bare carriage return"},
    {{"path", "fake.npy"}, NULL, "a table named .npy needs format: csv"},
    {{"path", "dup.csv", "label_column", "a"}, NULL, "label_column 'a' names columns 1 and 2 of the header"},
    {{"path", "missing.csv"}, NULL, "missing.csv: cannot open: No such file or directory"},
    /* left to open: a first row beyond NPY_DESCRIBE_MAX_BYTES; an error before it in a table that goes on (a NUL
       byte further on would be said first) */
    {{"path", "far.csv"}, "", NULL},
    {{"path", "badrow.csv"}, "", "badrow.csv:2: column 2 ('y'): 'abc' is not a number"},
    {{"path", "badrow_nul.csv"}, "", "not a text file (it holds NUL bytes)"},
};

/* describe's answer for every file and option combination of the tests
 * above: the shape and kind open reports, or open's very error (message,
 * place and hint), or (a problem past what it reads) the shape, with open
 * refusing the data. */
static void describe_tells_what_open_reports(void **st)
{
    (void)st;
    assert_non_null(ops()->describe);
    write_fixtures();
    lpz_log_set_level(LPZ_LOG_ERROR); /* the tables' warnings, said above; restore_log_level puts it back */
    for (size_t k = 0; k < sizeof DESCRIBE_CASES / sizeof DESCRIBE_CASES[0]; k++) {
        const describe_case *c = &DESCRIBE_CASES[k];
        char name[256] = "";
        for (int i = 0; c->opt[i]; i += 2)
            snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s=%s", i ? " " : "", c->opt[i],
                     c->opt[i + 1]);
        lpz_options *o = lpz_options_create(P->options, P->name);
        assert_non_null(o);
        for (int i = 0; c->opt[i]; i += 2) {
            lpz_error e;
            assert_int_equal(lpz_options_set(o, c->opt[i], c->opt[i + 1], "test.yml:1:1", &e), LPZ_OK);
        }
        lpz_dataset_context ctx = dt_context(o, dir);
        dt_describe_vs_open(ops(), &ctx, name, c->told, c->open_error, told);
        lpz_options_destroy(o);
    }
}

static lpz_log_level g_level;

static int save_log_level(void **st)
{
    (void)st;
    g_level = lpz_log_get_level();
    return 0;
}

static int restore_log_level(void **st)
{
    (void)st;
    lpz_log_set_level(g_level);
    return 0;
}

/* The warnings about a table's first line are open's to say: describe,
 * which reads that line first, says them only when it refuses the data
 * (open does not run then), once. */
static void describe_warns_only_when_it_refuses(void **st)
{
    (void)st;
    assert_non_null(ops()->describe);
    put("na.csv", "1.5,NA\n5,6\n7,8\n");
    const char *want = "na.csv: the first line is read as the header, but its field 1 ('1.5') is a number";
    for (int refuse = 0; refuse < 2; refuse++) {
        lpz_options *o = refuse ? dt_options(P, "path", "na.csv", "sample_shape", "3x3", NULL)
                                : dt_options(P, "path", "na.csv", NULL);
        assert_non_null(o);
        lpz_dataset_context ctx = dt_context(o, dir);
        lpz_dataset_info info;
        memset(&info, 0, sizeof info);
        lpz_error err;
        g_warn[0] = '\0';
        lpz_log_set_sink(keep_warn, NULL);
        int rc = ops()->describe(&ctx, &info, &err);
        lpz_log_set_sink(NULL, NULL);
        lpz_options_destroy(o);
        if (!refuse) {
            assert_int_equal(rc, LPZ_OK);
            assert_string_equal(g_warn, "");
            continue;
        }
        expect_error("sample_shape 3x3 holds 9 values", &err, rc);
        const char *at = strstr(g_warn, want);
        if (!at || strstr(at + 1, want))
            fail_msg("describe's refusal said the first line's warning %s: '%s'", at ? "twice" : "not", g_warn);
    }
}

/* A caller's check of the samples (the network's configure, in lpz). */
static int refuse_vectors(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    *(int *)user += 1;
    return lpz_error_set(err, LPZ_EUNSUPPORTED, "no vectors of %lld values here", (long long)info->sample_shape.dim[0]);
}

static int take_any(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    (void)info;
    (void)err;
    *(int *)user += 1;
    return LPZ_OK;
}

/* Through the core: data whose header (or first row) is sound but whose
 * values are damaged further on are refused on their shape first, without
 * the damage being found (open never runs); a check that takes the shape
 * lets open run, and open says what is wrong. */
static void damaged_data_is_refused_on_its_shape_first(void **st)
{
    (void)st;
    const float nan[2][2] = {{0, 1}, {NAN, 2}};
    assert_int_equal(dt_write_npy(in_dir("nan.npy"), "<f4", "False", "(2, 2)", nan, sizeof nan), 0);
    put("last.csv", "1,2,3\n4,5,6\n7,8"); /* cut off in its last row */
    put("late.csv", "x,y\n1,2\n3,4\n5,oops\n");
    const char *cases[][3] = {{"nan.npy", "2", "sample 1, element 0 is not a number"},
                              {"last.csv", "3", "last.csv:3: 2 fields (split at commas); the first row has 3"},
                              {"late.csv", "2", "late.csv:4: column 2 ('y'): 'oops' is not a number"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lpz_options *o = dt_options(P, "path", cases[k][0], NULL);
        assert_non_null(o);
        lpz_dataset_context ctx = dt_context(o, dir);
        lpz_dataset *ds = NULL;
        lpz_error err;
        int checks = 0;
        char want[64], buf[3072];
        snprintf(want, sizeof want, "no vectors of %s values here", cases[k][1]);
        int rc = lpz_dataset_open_checked(P, &ctx, refuse_vectors, &checks, &ds, &err);
        if (rc != LPZ_EUNSUPPORTED || strcmp(err.message, want))
            fail_msg("%s: refused with '%s', expected '%s'", cases[k][0], lpz_error_format(&err, buf, sizeof buf),
                     want);
        assert_null(ds);
        assert_int_equal(checks, 1);
        /* the control: the shape taken, open reads the file and finds the damage */
        rc = lpz_dataset_open_checked(P, &ctx, take_any, &checks, &ds, &err);
        assert_int_equal(rc, LPZ_EFORMAT);
        assert_null(ds);
        assert_int_equal(checks, 2);
        expect_error(cases[k][2], &err, rc);
        lpz_options_destroy(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors_per_feature_and_back),
        cmocka_unit_test(global_and_none_scaling),
        cmocka_unit_test(images_channels_first_and_last),
        cmocka_unit_test(sequences_and_kinds),
        cmocka_unit_test(csv_values_are_exact),
        cmocka_unit_test(labels),
        cmocka_unit_test(core_takes_n_classes_zero_as_unlabelled),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(csv_tables),
        cmocka_unit_test(csv_numbers_match_strtod),
        cmocka_unit_test(csv_bad_input),
        cmocka_unit_test_setup_teardown(describe_tells_what_open_reports, save_log_level, restore_log_level),
        cmocka_unit_test(describe_warns_only_when_it_refuses),
        cmocka_unit_test(damaged_data_is_refused_on_its_shape_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
