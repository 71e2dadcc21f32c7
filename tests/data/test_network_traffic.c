/* tests/data/test_network_traffic.c - the network_traffic plugin (compiled
 * into this test) on .npy files written here byte by byte: 3-D and 2-D
 * input, dtypes, per-feature scaling with log1p, scaling.json, the way
 * back to original units, CSV rendering, and malformed files. */
#include "data/dataset.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "data_test_util.h"
#include "describe_check.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static const lpz_plugin *P = &lpz_plugin_descriptor;

static const lpz_dataloader_ops *ops(void)
{
    return P->ops;
}

static void write_npy(const char *path, const char *descr, const char *fortran, const char *shape, const void *data,
                      size_t n)
{
    assert_int_equal(dt_write_npy(path, descr, fortran, shape, data, n), 0);
}

static int open_nf(const char *path, const char *run_dir, const char *k1, const char *v1, void **s,
                   lpz_dataset_info *info, lpz_error *err)
{
    lpz_options *o = k1 ? dt_options(P, "path", path, k1, v1, NULL) : dt_options(P, "path", path, NULL);
    assert_non_null(o);
    lpz_dataset_context ctx = dt_context(o, "/nonexistent");
    ctx.run_dir = run_dir;
    int rc = ops()->open(&ctx, s, info, err);
    lpz_options_destroy(o);
    if (rc != LPZ_OK)
        dt_show(err);
    return rc;
}

/* 3 sequences x 4 steps x 3 features: feature 0 a signed value (linear),
 * 1 packet counts and 2 byte counts (non-negative: log1p under auto). */
#define NS 3
#define T 4
#define F 3
static void flows(float *v)
{
    for (int i = 0; i < NS * T; i++) {
        v[i * F + 0] = (float)(i - 5);
        v[i * F + 1] = (float)(i * i);
        v[i * F + 2] = (float)(1500 * i);
    }
}

static void scales_per_feature_and_maps_back(void **st)
{
    (void)st;
    char dir[512], path[1024], json[1200];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "netflow"), 0);
    float v[NS * T * F];
    flows(v);
    snprintf(path, sizeof path, "%s/flows.npy", dir);
    write_npy(path, "<f4", "False", "(3, 4, 3)", v, sizeof v);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_nf(path, dir, NULL, NULL, &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, NS);
    assert_int_equal(info.kind, LPZ_SAMPLE_SEQUENCE);
    assert_int_equal(info.sample_shape.ndim, 2);
    assert_int_equal(info.sample_shape.dim[0], T);
    assert_int_equal(info.sample_shape.dim[1], F);
    float all[NS * T * F];
    for (int i = 0; i < NS; i++)
        assert_int_equal(ops()->read(s, i, all + i * T * F, &err), LPZ_OK);
    /* every feature spans exactly [-1, 1] */
    for (int j = 0; j < F; j++) {
        float lo = 2, hi = -2;
        for (int r = 0; r < NS * T; r++) {
            lo = fminf(lo, all[r * F + j]);
            hi = fmaxf(hi, all[r * F + j]);
        }
        assert_float_equal(lo, -1.0, 1e-6);
        assert_float_equal(hi, 1.0, 1e-6);
    }
    /* feature 0 is linear (it has negative values): record 5 is v = 0 */
    assert_float_equal(all[5 * F + 0], 2.0 * (0 - -5) / (6 - -5) - 1, 1e-6);
    /* feature 1 went through log1p: record 3 (v = 9) */
    assert_float_equal(all[3 * F + 1], 2.0 * log1p(9.0) / log1p(121.0) - 1, 1e-5);
    /* back to original units */
    assert_int_equal(ops()->to_original_units(s, all, NS, &err), LPZ_OK);
    for (int i = 0; i < NS * T * F; i++)
        assert_float_equal(all[i], v[i], fabs(v[i]) * 1e-5 + 1e-3);
    /* scaling.json in the run folder */
    snprintf(json, sizeof json, "%s/scaling.json", dir);
    char *text = dt_slurp(json);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"log1p\": [false, true, true]"));
    assert_non_null(strstr(text, "\"min\": [-5, 0, 0]"));
    assert_non_null(strstr(text, "\"sequence_length\": 4"));
    free(text);
    /* CSV in original units */
    float gen[T * F];
    assert_int_equal(ops()->read(s, 1, gen, &err), LPZ_OK);
    char base[1024];
    snprintf(base, sizeof base, "%s/samples", dir);
    assert_int_equal(ops()->render(s, gen, 1, base, &err), LPZ_OK);
    snprintf(json, sizeof json, "%s.csv", base);
    text = dt_slurp(json);
    assert_non_null(text);
    assert_non_null(strstr(text, "sample,t,feature_0,feature_1,feature_2\n"));
    /* first row: record 4 of the file (-1, 16, 6000) */
    char *row = strstr(text, "\n0,0,");
    assert_non_null(row);
    double a, b, c;
    assert_int_equal(sscanf(row, "\n0,0,%lf,%lf,%lf", &a, &b, &c), 3);
    assert_float_equal(a, -1, 1e-4);
    assert_float_equal(b, 16, 1e-3);
    assert_float_equal(c, 6000, 0.05);
    /* the CSV holds the float32 values of samples.npy exactly (7 digits lost the last one or two) */
    float orig[T * F];
    memcpy(orig, gen, sizeof orig);
    assert_int_equal(ops()->to_original_units(s, orig, 1, &err), LPZ_OK);
    for (int t = 0; t < T; t++) {
        char head[32];
        snprintf(head, sizeof head, "\n0,%d,", t);
        row = strstr(text, head);
        assert_non_null(row);
        row += strlen(head);
        for (int j = 0; j < F; j++, row++) {
            char *end;
            float x = strtof(row, &end);
            if (x != orig[t * F + j])
                fail_msg("step %d feature %d: the CSV says %.*s, samples.npy %.9g", t, j, (int)(end - row), row,
                         (double)orig[t * F + j]);
            row = end;
        }
    }
    free(text);
    ops()->close(s);
    lpz_test_rmtree(dir);
}

static void records_are_cut_into_sequences_and_dtypes_convert(void **st)
{
    (void)st;
    char dir[512], path[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "netflow"), 0);
    /* 65 records of 2 int64 features: 2 sequences of 30, 5 records dropped */
    int64_t rec[65 * 2];
    for (int i = 0; i < 65; i++) {
        rec[2 * i] = i;
        rec[2 * i + 1] = 100 * i;
    }
    snprintf(path, sizeof path, "%s/records.npy", dir);
    write_npy(path, "<i8", "False", "(65, 2)", rec, sizeof rec);
    void *s;
    lpz_dataset_info info;
    lpz_error err;
    assert_int_equal(open_nf(path, NULL, "log_features", "none", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 2);
    assert_int_equal(info.sample_shape.dim[0], 30);
    assert_int_equal(info.sample_shape.dim[1], 2);
    float x[60];
    assert_int_equal(ops()->read(s, 1, x, &err), LPZ_OK);
    /* linear scaling over the 60 used records (0..59) */
    assert_float_equal(x[0], 2.0 * 30 / 59 - 1, 1e-6);
    assert_float_equal(x[59 * 2 - 60 + 1], 1.0, 1e-6);
    ops()->close(s);
    assert_int_equal(open_nf(path, NULL, "sequence_length", "10", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 6);
    ops()->close(s);
    /* big-endian float64 and a feature list for log1p */
    double be[2 * 3 * 2];
    for (int i = 0; i < 12; i++) {
        double d = i * 0.5;
        uint64_t u;
        memcpy(&u, &d, 8);
        u = __builtin_bswap64(u);
        memcpy(&be[i], &u, 8);
    }
    write_npy(path, ">f8", "False", "(2, 3, 2)", be, sizeof be);
    assert_int_equal(open_nf(path, NULL, "log_features", "1", &s, &info, &err), LPZ_OK);
    assert_int_equal(info.count, 2);
    float y[6];
    assert_int_equal(ops()->read(s, 0, y, &err), LPZ_OK);
    assert_float_equal(y[0], -1.0, 1e-6);
    assert_int_equal(ops()->to_original_units(s, y, 1, &err), LPZ_OK);
    assert_float_equal(y[3], 1.5, 1e-5);
    ops()->close(s);
    lpz_test_rmtree(dir);
}

static char g_info[512];
static void keep_info(void *user, lpz_log_level level, const char *line)
{
    (void)user;
    if (level == LPZ_LOG_INFO && strstr(line, "negative"))
        snprintf(g_info, sizeof g_info, "%s", line);
}

static void bad_files_and_options_are_clear_errors(void **st)
{
    (void)st;
    char dir[512], path[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "netflow"), 0);
    snprintf(path, sizeof path, "%s/bad.npy", dir);
    float v[NS * T * F];
    flows(v);
    void *s;
    lpz_dataset_info info;
    lpz_error err;

    write_npy(path, "<c8", "False", "(3, 4, 3)", v, sizeof v); /* complex: unsupported */
    int rc = open_nf(path, NULL, NULL, NULL, &s, &info, &err);
    assert_true(rc == LPZ_EUNSUPPORTED || rc == LPZ_EFORMAT);
    assert_non_null(strstr(err.where, "bad.npy"));

    write_npy(path, "<f4", "True", "(3, 4, 3)", v, sizeof v);
    rc = open_nf(path, NULL, NULL, NULL, &s, &info, &err);
    assert_true(rc != LPZ_OK);
    assert_non_null(strstr(err.message, "fortran"));

    write_npy(path, "<f4", "False", "(3, 4, 30)", v, sizeof v); /* shape larger than the data */
    assert_true(open_nf(path, NULL, NULL, NULL, &s, &info, &err) != LPZ_OK);

    assert_int_equal(dt_write(path, "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'", 26), 0);
    assert_true(open_nf(path, NULL, NULL, NULL, &s, &info, &err) != LPZ_OK);

    assert_int_equal(dt_write(path, "not numpy at all", 16), 0);
    assert_true(open_nf(path, NULL, NULL, NULL, &s, &info, &err) != LPZ_OK);
    /* a capture given as path: the hint names the converter */
    assert_int_equal(dt_write(path, "\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                    "\x80\x00\x00\x00\x01\x00\x00\x00",
                              24),
                     0);
    assert_int_equal(open_nf(path, NULL, NULL, NULL, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "not a .npy file"));
    assert_non_null(strstr(err.hint, "lpz-pcap2npy --pcap"));

    write_npy(path, "<f4", "False", "(36,)", v, sizeof v); /* 1-D */
    assert_int_equal(open_nf(path, NULL, NULL, NULL, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "dimensions"));

    write_npy(path, "<f4", "False", "(12, 3)", v, sizeof v); /* 12 records < 30 */
    assert_int_equal(open_nf(path, NULL, NULL, NULL, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "fewer than one sequence"));

    v[7] = NAN;
    write_npy(path, "<f4", "False", "(3, 4, 3)", v, sizeof v);
    assert_int_equal(open_nf(path, NULL, NULL, NULL, &s, &info, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "not finite"));
    flows(v);

    write_npy(path, "<f4", "False", "(3, 4, 3)", v, sizeof v);
    assert_int_equal(open_nf(path, NULL, "log_features", "0", &s, &info, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "negative"));
    assert_int_equal(open_nf(path, NULL, "log_features", "7", &s, &info, &err), LPZ_EINVAL);
    assert_int_equal(open_nf(path, NULL, "log_features", "x", &s, &info, &err), LPZ_EINVAL);
    /* sequence_length names another length than the file's sequences: refused; its own length is fine */
    assert_int_equal(open_nf(path, NULL, "sequence_length", "5", &s, &info, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "sequence_length 5 does not apply: the file holds sequences of 4 records"));
    assert_non_null(strstr(err.hint, "lpz-pcap2npy --sequence-length 5"));
    /* a length lpz-pcap2npy does not take is not suggested to it (the hint said --sequence-length -1) */
    assert_int_equal(open_nf(path, NULL, "sequence_length", "-1", &s, &info, &err), LPZ_EINVAL);
    assert_null(strstr(err.hint, "--sequence-length"));
    assert_non_null(strstr(err.hint, "remove sequence_length"));
    assert_int_equal(open_nf(path, NULL, "sequence_length", "4", &s, &info, &err), LPZ_OK);
    ops()->close(s);
    /* auto leaves a feature with negative values linear, and says so */
    g_info[0] = '\0';
    lpz_log_set_sink(keep_info, NULL);
    assert_int_equal(open_nf(path, NULL, NULL, NULL, &s, &info, &err), LPZ_OK);
    lpz_log_set_sink(NULL, NULL);
    ops()->close(s);
    assert_non_null(strstr(g_info, "feature 0 (feature_0) has negative values"));
    /* a FIFO where lpz-pcap2npy's sidecar would be: the names stay feature_<j>, and open does not wait on it */
    char side[1100];
    snprintf(side, sizeof side, "%s.json", path);
    assert_int_equal(mkfifo(side, 0600), 0);
    assert_int_equal(open_nf(path, NULL, NULL, NULL, &s, &info, &err), LPZ_OK);
    ops()->close(s);
    unlink(side);

    snprintf(path, sizeof path, "%s/missing.npy", dir);
    assert_true(open_nf(path, NULL, NULL, NULL, &s, &info, &err) != LPZ_OK);
    assert_non_null(strstr(err.where, "missing.npy"));

    /* no path at all: no file (LPZ_ENOTFOUND: lpz config says the data were not checked, and why) */
    lpz_options *o = dt_options(P, NULL);
    lpz_dataset_context ctx = dt_context(o, dir);
    assert_int_equal(ops()->open(&ctx, &s, &info, &err), LPZ_ENOTFOUND);
    assert_non_null(strstr(err.message, "path is required"));
    lpz_options_destroy(o);
    lpz_test_rmtree(dir);
}

/* ---- describe (ABI 1.3): the shape open will report, from the file's
 * header alone. */

typedef struct nf_case {
    const char *file, *key, *value; /* one option besides path, or NULL */
    const char *told;               /* "TxF" describe tells; NULL: it fails as open does */
    const char *open_error;         /* NULL: open reports the shape told; else part of open's error */
} nf_case;

/* Kind and shape: "30x2" for sequences, else "?". */
static void nf_told(const lpz_dataset_info *info, char *out, size_t size)
{
    if (info->kind != LPZ_SAMPLE_SEQUENCE || info->sample_shape.ndim != 2)
        snprintf(out, size, "?");
    else
        snprintf(out, size, "%lldx%lld", (long long)info->sample_shape.dim[0], (long long)info->sample_shape.dim[1]);
}

/* describe and open on every file and option of the tests above: the
 * shape open reports, or open's very error (message, place and hint), or
 * (a problem in the values) the shape with open refusing the data. */
static void describe_tells_what_open_reports(void **st)
{
    (void)st;
    assert_non_null(ops()->describe);
    char dir[512], path[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "netflow"), 0);
    float v[NS * T * F];
    flows(v);
    int64_t rec[65 * 2] = {0};
    const char *names[] = {"flows.npy", "records.npy", "be.npy", "c8.npy", "fortran.npy", "big.npy", "cut.npy",
                           "text.npy", "pcap.npy", "d1.npy", "few.npy", "nan.npy", "empty.npy", "d4.npy"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        if (k == 0)
            write_npy(path, "<f4", "False", "(3, 4, 3)", v, sizeof v);
        else if (k == 1)
            write_npy(path, "<i8", "False", "(65, 2)", rec, sizeof rec);
        else if (k == 2)
            write_npy(path, ">f8", "False", "(2, 3, 2)", rec, 12 * 8);
        else if (k == 3)
            write_npy(path, "<c8", "False", "(3, 4, 3)", v, sizeof v);
        else if (k == 4)
            write_npy(path, "<f4", "True", "(3, 4, 3)", v, sizeof v);
        else if (k == 5)
            write_npy(path, "<f4", "False", "(3, 4, 30)", v, sizeof v);
        else if (k == 6)
            assert_int_equal(dt_write(path, "\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'", 26), 0);
        else if (k == 7)
            assert_int_equal(dt_write(path, "not numpy at all", 16), 0);
        else if (k == 8)
            assert_int_equal(dt_write(path, "\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                                            "\x80\x00\x00\x00\x01\x00\x00\x00", 24), 0);
        else if (k == 9)
            write_npy(path, "<f4", "False", "(36,)", v, sizeof v);
        else if (k == 10)
            write_npy(path, "<f4", "False", "(12, 3)", v, sizeof v);
        else if (k == 11) {
            float w[NS * T * F];
            flows(w);
            w[7] = NAN;
            write_npy(path, "<f4", "False", "(3, 4, 3)", w, sizeof w);
        } else if (k == 12)
            write_npy(path, "<f4", "False", "(0, 4, 3)", v, 0);
        else
            write_npy(path, "<f4", "False", "(1, 3, 4, 3)", v, sizeof v);
    }
    const nf_case cases[] = {
        {"flows.npy", NULL, NULL, "4x3", NULL},
        {"flows.npy", "sequence_length", "4", "4x3", NULL},
        {"flows.npy", "log_features", "1", "4x3", NULL},
        {"records.npy", NULL, NULL, "30x2", NULL},
        {"records.npy", "log_features", "none", "30x2", NULL},
        {"records.npy", "sequence_length", "10", "10x2", NULL},
        {"be.npy", "log_features", "1", "3x2", NULL},
        {"flows.npy", "sequence_length", "5", NULL, "sequence_length 5 does not apply"},
        {"flows.npy", "sequence_length", "-1", NULL, "sequence_length -1 does not apply"},
        {"records.npy", "sequence_length", "0", NULL, "sequence_length 0 must be positive"},
        {"records.npy", "sequence_length", "66", NULL, "only 65 records: fewer than one sequence of 66"},
        {"c8.npy", NULL, NULL, NULL, "unsupported npy dtype '<c8'"},
        {"fortran.npy", NULL, NULL, NULL, "fortran_order True"},
        {"big.npy", NULL, NULL, NULL, "the file is truncated"},
        {"cut.npy", NULL, NULL, NULL, "malformed .npy header"},
        {"text.npy", NULL, NULL, NULL, "not a .npy file"},
        {"pcap.npy", NULL, NULL, NULL, "lpz-pcap2npy --pcap"},
        {"d1.npy", NULL, NULL, NULL, "array has 1 dimensions"},
        {"d4.npy", NULL, NULL, NULL, "array has 4 dimensions"},
        {"few.npy", NULL, NULL, NULL, "fewer than one sequence"},
        {"empty.npy", NULL, NULL, NULL, "array is empty (0 sequences of 4 x 3)"},
        {"missing.npy", NULL, NULL, NULL, "missing.npy"},
        {NULL, NULL, NULL, NULL, "path is required"},
        /* the values and what depends on them: open's alone */
        {"nan.npy", NULL, NULL, "4x3", "value nan of record 2, feature 1 is not finite"},
        {"flows.npy", "log_features", "0", "4x3", "feature 0 has negative values"},
        {"flows.npy", "log_features", "7", "4x3", "log_features '7': expected auto, none, all or feature numbers"},
        {"flows.npy", "log_features", "x", "4x3", "log_features 'x'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const nf_case *c = &cases[k];
        snprintf(path, sizeof path, "%s/%s", dir, c->file ? c->file : "");
        lpz_options *o = !c->file ? dt_options(P, NULL)
                         : c->key ? dt_options(P, "path", path, c->key, c->value, NULL)
                                  : dt_options(P, "path", path, NULL);
        assert_non_null(o);
        lpz_dataset_context ctx = dt_context(o, dir);
        char name[600];
        snprintf(name, sizeof name, "%s %s", c->file ? c->file : "(no path)", c->key ? c->key : "");
        dt_describe_vs_open(ops(), &ctx, name, c->told, c->open_error, nf_told);
        lpz_options_destroy(o);
    }
    lpz_test_rmtree(dir);
}

static int refuse_sequences(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    *(int *)user += 1;
    return lpz_error_set(err, LPZ_EUNSUPPORTED, "no sequences of %lld x %lld here",
                         (long long)info->sample_shape.dim[0], (long long)info->sample_shape.dim[1]);
}

static int take_any(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    (void)info;
    (void)err;
    *(int *)user += 1;
    return LPZ_OK;
}

/* Through the core: a file with a sound header and a damaged value is
 * refused on its shape first (open never reads it, no scaling.json); a
 * check that takes the shape lets open find the damage. */
static void damaged_flows_are_refused_on_their_shape_first(void **st)
{
    (void)st;
    char dir[512], path[1024], json[1100];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "netflow"), 0);
    float v[NS * T * F];
    flows(v);
    v[7] = NAN;
    snprintf(path, sizeof path, "%s/flows.npy", dir);
    write_npy(path, "<f4", "False", "(3, 4, 3)", v, sizeof v);
    snprintf(json, sizeof json, "%s/scaling.json", dir);
    lpz_options *o = dt_options(P, "path", path, NULL);
    lpz_dataset_context ctx = dt_context(o, dir);
    ctx.run_dir = dir;
    lpz_dataset *ds = NULL;
    lpz_error err;
    int checks = 0;
    assert_int_equal(lpz_dataset_open_checked(P, &ctx, refuse_sequences, &checks, &ds, &err), LPZ_EUNSUPPORTED);
    assert_string_equal(err.message, "no sequences of 4 x 3 here");
    assert_null(ds);
    assert_int_equal(checks, 1);
    assert_int_not_equal(access(json, F_OK), 0);
    assert_int_equal(lpz_dataset_open_checked(P, &ctx, take_any, &checks, &ds, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "value nan of record 2, feature 1 is not finite"));
    assert_int_equal(checks, 2);
    lpz_options_destroy(o);
    lpz_test_rmtree(dir);
}

static void alias_netflow_is_declared(void **st)
{
    (void)st;
    assert_string_equal(P->name, "network_traffic");
    assert_non_null(P->aliases);
    assert_string_equal(P->aliases[0], "netflow");
    assert_null(P->aliases[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scales_per_feature_and_maps_back),
        cmocka_unit_test(records_are_cut_into_sequences_and_dtypes_convert),
        cmocka_unit_test(bad_files_and_options_are_clear_errors),
        cmocka_unit_test(alias_netflow_is_declared),
        cmocka_unit_test(describe_tells_what_open_reports),
        cmocka_unit_test(damaged_flows_are_refused_on_their_shape_first),
    };
    return cmocka_run_group_tests_name("network_traffic", tests, NULL, NULL);
}
