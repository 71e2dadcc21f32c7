/* tests/data/test_batcher.c - core/data: dataset checks, per-cell subsets,
 * seeded epoch orders, prefetching and its shutdown, fitness samples and
 * the default renderer, on a synthetic dataloader whose labels are the
 * sample indices (so every batch tells which samples it holds). */
#include "data/batcher.h"
#include "data/dataset.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "data_test_util.h"

#include <math.h>

/* ---- a synthetic dataloader: sample i has NUMEL values derived from i
 * and label i; behaviour switches for the failure tests ---- */

#define NUMEL 6

typedef struct synth {
    int64_t count;
    int64_t fail_at;  /* read fails for this index (-1: never) */
    int64_t bad_at;   /* read writes 2.0 for this index (-1: never) */
} synth;

static synth g_synth = {1000, -1, -1};
static int g_kind = LPZ_SAMPLE_VECTOR;
static int64_t g_count_override = 0;

static float synth_value(int64_t i, int j)
{
    return (float)((i * 7 + j * 13) % 2001) / 1000.0f - 1.0f;
}

static int synth_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    (void)ctx;
    (void)err;
    synth *s = malloc(sizeof *s);
    *s = g_synth;
    if (g_kind == LPZ_SAMPLE_IMAGE)
        info->sample_shape = lpz_shape_make(3, 1, 2, 3, 0);
    else if (g_kind == LPZ_SAMPLE_SEQUENCE)
        info->sample_shape = lpz_shape_make(2, 3, 2, 0, 0);
    else
        info->sample_shape = lpz_shape_make(1, NUMEL, 0, 0, 0);
    info->count = g_count_override ? g_count_override : s->count;
    info->n_classes = (int32_t)info->count; /* the labels are the indices */
    info->kind = (lpz_sample_kind)g_kind;
    *state = s;
    return LPZ_OK;
}

static void synth_close(void *state)
{
    free(state);
}

static int synth_read(void *state, int64_t index, float *out, lpz_error *err)
{
    const synth *s = state;
    if (index == s->fail_at)
        return lpz_error_set(err, LPZ_EIO, "disk on fire at %lld", (long long)index);
    for (int j = 0; j < NUMEL; j++)
        out[j] = synth_value(index, j);
    if (index == s->bad_at)
        out[1] = 2.0f;
    return LPZ_OK;
}

static int synth_label(void *state, int64_t index, int32_t *label, lpz_error *err)
{
    (void)state;
    (void)err;
    *label = (int32_t)index;
    return LPZ_OK;
}

static const lpz_dataloader_ops synth_ops = {sizeof(lpz_dataloader_ops), synth_open, synth_close, synth_read,
                                             synth_label, NULL, NULL, NULL, NULL};
static const lpz_plugin synth_plugin = {LPZ_ABI_MAJOR, LPZ_ABI_MINOR, LPZ_PLUGIN_DATALOADER, "synth", NULL, "1",
                                        "test", NULL, &synth_ops};

static lpz_dataset *open_synth(int64_t count)
{
    g_synth.count = count;
    lpz_dataset_context ctx = dt_context(NULL, "/nonexistent");
    lpz_dataset *ds = NULL;
    lpz_error err;
    int rc = lpz_dataset_open(&synth_plugin, &ctx, &ds, &err);
    if (rc != LPZ_OK)
        dt_show(&err);
    assert_int_equal(rc, LPZ_OK);
    return ds;
}

static void reset(void **st)
{
    (void)st;
    g_synth = (synth){1000, -1, -1};
    g_kind = LPZ_SAMPLE_VECTOR;
    g_count_override = 0;
}

static int setup(void **st)
{
    reset(st);
    return 0;
}

/* Reads n batches; labels (= indices) into idx[n * bs]; checks that every
 * row holds the values of the sample its label names. */
static void read_batches(lpz_batcher *b, int64_t n, int64_t bs, int32_t *idx)
{
    float *x = malloc((size_t)(bs * NUMEL) * sizeof *x);
    lpz_error err;
    for (int64_t k = 0; k < n; k++) {
        int rc = lpz_batcher_next(b, x, idx + k * bs, &err);
        if (rc != LPZ_OK)
            dt_show(&err);
        assert_int_equal(rc, LPZ_OK);
        for (int64_t r = 0; r < bs; r++)
            for (int j = 0; j < NUMEL; j++)
                assert_true(x[r * NUMEL + j] == synth_value(idx[k * bs + r], j));
    }
    free(x);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static lpz_batcher *make(lpz_dataset *ds, int64_t bs, uint64_t seed, uint64_t cell, double ratio, int shuffle,
                         int64_t n_batches, int prefetch)
{
    lpz_batcher_config c = lpz_batcher_config_default(bs, seed, cell);
    c.sampling_ratio = ratio;
    c.shuffle = shuffle;
    c.n_batches = n_batches;
    c.prefetch = prefetch;
    lpz_batcher *b = NULL;
    lpz_error err;
    int rc = lpz_batcher_create(ds, &c, &b, &err);
    if (rc != LPZ_OK)
        dt_show(&err);
    assert_int_equal(rc, LPZ_OK);
    return b;
}

static void every_sample_once_per_shuffled_epoch(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(1000);
    lpz_batcher *b = make(ds, 20, 7, 0, 1.0, 1, 0, 2);
    assert_int_equal(lpz_batcher_batches_per_epoch(b), 50);
    int32_t *e0 = malloc(1000 * sizeof *e0), *e1 = malloc(1000 * sizeof *e1);
    read_batches(b, 50, 20, e0);
    read_batches(b, 50, 20, e1);
    int64_t epoch, batch;
    lpz_batcher_position(b, &epoch, &batch);
    assert_int_equal(epoch, 2);
    assert_int_equal(batch, 0);
    /* a new order every epoch, never the identity */
    assert_memory_not_equal(e0, e1, 1000 * sizeof *e0);
    int in_place = 0;
    for (int i = 0; i < 1000; i++)
        in_place += e0[i] == i;
    assert_true(in_place < 50);
    qsort(e0, 1000, sizeof *e0, cmp_i32);
    qsort(e1, 1000, sizeof *e1, cmp_i32);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(e0[i], i);
        assert_int_equal(e1[i], i);
    }
    free(e0);
    free(e1);
    lpz_batcher_destroy(b);
    lpz_dataset_close(ds);
}

static void same_seed_same_batches_with_or_without_thread(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(1000);
    lpz_batcher *a = make(ds, 25, 42, 3, 1.0, 1, 0, 0);
    lpz_batcher *b = make(ds, 25, 42, 3, 1.0, 1, 0, 4);
    lpz_batcher *c = make(ds, 25, 43, 3, 1.0, 1, 0, 2);
    int32_t *ia = malloc(3000 * sizeof *ia), *ib = malloc(3000 * sizeof *ib), *ic = malloc(3000 * sizeof *ic);
    read_batches(a, 120, 25, ia);
    read_batches(b, 120, 25, ib);
    read_batches(c, 120, 25, ic);
    assert_memory_equal(ia, ib, 3000 * sizeof *ia);
    assert_memory_not_equal(ia, ic, 1000 * sizeof *ia);
    free(ia);
    free(ib);
    free(ic);
    lpz_batcher_destroy(a);
    lpz_batcher_destroy(b);
    lpz_batcher_destroy(c);
    lpz_dataset_close(ds);
}

static void unshuffled_reads_in_order_and_drops_partial_batch(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(1005);
    lpz_batcher *b = make(ds, 10, 1, 0, 1.0, 0, 0, 2);
    assert_int_equal(lpz_batcher_batches_per_epoch(b), 100);
    int32_t *idx = malloc(2000 * sizeof *idx);
    read_batches(b, 200, 10, idx);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(idx[i], i % 1000);
    free(idx);
    lpz_batcher_destroy(b);
    lpz_dataset_close(ds);
}

static void n_batches_caps_the_epoch_and_restarts_the_order(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(1000);
    lpz_batcher *b = make(ds, 10, 5, 0, 1.0, 1, 3, 2);
    assert_int_equal(lpz_batcher_batches_per_epoch(b), 3);
    int32_t idx[60];
    read_batches(b, 6, 10, idx);
    assert_memory_not_equal(idx, idx + 30, 30 * sizeof *idx);
    /* within one epoch no sample repeats */
    qsort(idx, 30, sizeof *idx, cmp_i32);
    for (int i = 1; i < 30; i++)
        assert_true(idx[i] != idx[i - 1]);
    lpz_batcher_destroy(b);
    /* more batches than fit: capped at the whole epoch */
    b = make(ds, 10, 5, 0, 1.0, 1, 5000, 0);
    assert_int_equal(lpz_batcher_batches_per_epoch(b), 100);
    lpz_batcher_destroy(b);
    lpz_dataset_close(ds);
}

static int overlap(const lpz_batcher *a, const lpz_batcher *b)
{
    int n = 0;
    for (int64_t i = 0, j = 0; i < lpz_batcher_subset_size(a) && j < lpz_batcher_subset_size(b);) {
        int64_t x = lpz_batcher_subset_index(a, i), y = lpz_batcher_subset_index(b, j);
        if (x == y) {
            n++;
            i++;
            j++;
        } else if (x < y) {
            i++;
        } else {
            j++;
        }
    }
    return n;
}

static void sampling_ratio_gives_each_cell_its_own_reproducible_subset(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(2000);
    lpz_batcher *cells[4];
    for (int c = 0; c < 4; c++) {
        cells[c] = make(ds, 10, 99, (uint64_t)c, 0.25, 1, 0, c % 2 ? 2 : 0);
        assert_int_equal(lpz_batcher_subset_size(cells[c]), 500);
        assert_int_equal(lpz_batcher_batches_per_epoch(cells[c]), 50);
    }
    /* independent 25% subsets overlap in about 125 of 500 samples */
    for (int c = 0; c < 4; c++)
        for (int d = c + 1; d < 4; d++) {
            int o = overlap(cells[c], cells[d]);
            assert_true(o > 60 && o < 200);
        }
    /* the same cell and seed: the same subset; the batches stay inside it */
    lpz_batcher *again = make(ds, 10, 99, 2, 0.25, 1, 0, 1);
    assert_int_equal(overlap(again, cells[2]), 500);
    int32_t idx[500];
    read_batches(again, 50, 10, idx);
    qsort(idx, 500, sizeof *idx, cmp_i32);
    for (int i = 0; i < 500; i++)
        assert_int_equal(idx[i], lpz_batcher_subset_index(cells[2], i));
    /* another seed: another subset for the same cell */
    lpz_batcher *other = make(ds, 10, 100, 2, 0.25, 1, 0, 0);
    assert_true(overlap(other, cells[2]) < 200);
    lpz_batcher_destroy(again);
    lpz_batcher_destroy(other);
    for (int c = 0; c < 4; c++)
        lpz_batcher_destroy(cells[c]);
    lpz_dataset_close(ds);
}

static void prefetch_thread_stops_cleanly_at_any_point(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(5000);
    for (int k = 0; k < 20; k++) {
        lpz_batcher *b = make(ds, 50, (uint64_t)k, 0, 1.0, 1, 0, 1 + k % 4);
        int32_t idx[50 * 7];
        read_batches(b, k % 8, 50, idx); /* destroy while the thread fills the ring */
        lpz_batcher_destroy(b);
    }
    lpz_dataset_close(ds);
}

static void read_error_reaches_the_trainer_then_batcher_stays_failed(void **st)
{
    reset(st);
    g_synth.fail_at = 35;
    lpz_dataset *ds = open_synth(100);
    for (int prefetch = 0; prefetch <= 2; prefetch += 2) {
        lpz_batcher *b = make(ds, 10, 1, 0, 1.0, 0, 0, prefetch);
        float x[10 * NUMEL];
        lpz_error err;
        for (int k = 0; k < 3; k++)
            assert_int_equal(lpz_batcher_next(b, x, NULL, &err), LPZ_OK);
        assert_int_equal(lpz_batcher_next(b, x, NULL, &err), LPZ_EIO);
        dt_show(&err);
        assert_non_null(strstr(err.message, "disk on fire at 35"));
        assert_non_null(strstr(err.where, "sample 35"));
        assert_int_equal(lpz_batcher_next(b, x, NULL, &err), LPZ_ESTATE);
        lpz_batcher_destroy(b);
    }
    lpz_dataset_close(ds);
    reset(st);
}

static void value_outside_range_is_caught_at_read(void **st)
{
    reset(st);
    g_synth.bad_at = 3;
    lpz_dataset *ds = open_synth(100);
    float x[NUMEL];
    lpz_error err;
    assert_int_equal(lpz_dataset_read(ds, 2, x, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_read(ds, 3, x, &err), LPZ_EFORMAT);
    dt_show(&err);
    assert_non_null(strstr(err.message, "outside [-1, 1]"));
    assert_int_equal(lpz_dataset_read(ds, 100, x, &err), LPZ_EINVAL);
    assert_int_equal(lpz_dataset_read(ds, -1, x, &err), LPZ_EINVAL);
    lpz_dataset_close(ds);
    reset(st);
}

/* A value read leaves unwritten is refused, whatever the buffer held (the
 * batcher reuses its buffers: it held another sample's valid values). */
static int skip_read(void *state, int64_t index, float *out, lpz_error *err)
{
    int rc = synth_read(state, index, out, err);
    if (index == 5)
        out[4] = 0.25f;
    return rc;
}
static int gap_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)state, (void)err;
    for (int j = 0; j < NUMEL; j++)
        if (index != 7 || j != 2)
            out[j] = synth_value(index, j);
    return LPZ_OK;
}

/* Sample 4 gets one value too many (a wrong channel count, say). */
static int overrun_read(void *state, int64_t index, float *out, lpz_error *err)
{
    int rc = synth_read(state, index, out, err);
    if (index == 4)
        out[NUMEL] = 0.5f;
    return rc;
}

/* The synthetic dataset with another read (the plugin and its table live
 * as long as the dataset: static). */
static lpz_dataset *open_reading(int (*read)(void *, int64_t, float *, lpz_error *))
{
    static lpz_dataloader_ops ops;
    static lpz_plugin p;
    ops = synth_ops;
    ops.read = read;
    p = synth_plugin;
    p.ops = &ops;
    lpz_dataset_context ctx = dt_context(NULL, "/nonexistent");
    lpz_dataset *ds = NULL;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_OK);
    return ds;
}

static void write_past_the_sample_is_caught_at_read(void **st)
{
    reset(st);
    lpz_dataset *ds = open_reading(overrun_read);
    lpz_error err;
    float x[3 * NUMEL + 1];
    x[NUMEL] = 0.75f;
    assert_int_equal(lpz_dataset_read(ds, 3, x, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_read(ds, 4, x, &err), LPZ_EFORMAT);
    dt_show(&err);
    assert_non_null(strstr(err.message, "wrote past the end of the sample: element 6 after its 6 values"));
    assert_non_null(strstr(err.where, "sample 4"));
    assert_true(x[NUMEL] == 0.75f); /* the caller's memory after the sample untouched */
    /* in a batch: sample 4 first, in the middle, last (then x[3 * NUMEL] is outside the rows) */
    int64_t orders[3][3] = {{4, 0, 1}, {0, 4, 1}, {0, 1, 4}};
    for (int o = 0; o < 3; o++) {
        x[3 * NUMEL] = 0.75f;
        lpz_error_clear(&err);
        assert_int_equal(lpz_dataset_read_rows(ds, orders[o], 3, x, NULL, &err), LPZ_EFORMAT);
        assert_non_null(strstr(err.message, "wrote past the end of the sample"));
        assert_non_null(strstr(err.where, "sample 4"));
        assert_true(x[3 * NUMEL] == 0.75f);
    }
    int64_t fine[3] = {0, 1, 2};
    assert_int_equal(lpz_dataset_read_rows(ds, fine, 3, x, NULL, &err), LPZ_OK);
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < NUMEL; j++)
            assert_true(x[k * NUMEL + j] == synth_value(k, j));
    lpz_dataset_close(ds);
    reset(st);
}

static char g_warned[512];
static void keep_warning(void *user, lpz_log_level level, const char *line)
{
    (void)user;
    if (level == LPZ_LOG_WARN)
        snprintf(g_warned, sizeof g_warned, "%s", line);
}
static int stateless_read(void *state, int64_t index, float *out, lpz_error *err)
{
    static synth plain = {1000, -1, -1};
    if (state)
        return lpz_error_set(err, LPZ_ESTATE, "state is not NULL");
    return synth_read(&plain, index, out, err);
}

static int stateless_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    void *keep = NULL;
    int rc = synth_open(ctx, &keep, info, err);
    free(keep); /* and *state not set: a plugin bug */
    (void)state;
    return rc;
}

static void unwritten_value_is_caught_at_read(void **st)
{
    reset(st);
    lpz_dataloader_ops ops = synth_ops;
    ops.read = gap_read;
    lpz_plugin p = synth_plugin;
    p.ops = &ops;
    lpz_dataset_context ctx = dt_context(NULL, "/nonexistent");
    lpz_dataset *ds = NULL;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_OK);
    float x[NUMEL];
    assert_int_equal(lpz_dataset_read(ds, 6, x, &err), LPZ_OK); /* x holds valid values now */
    assert_int_equal(lpz_dataset_read(ds, 7, x, &err), LPZ_EFORMAT);
    dt_show(&err);
    assert_non_null(strstr(err.message, "element 2 is NaN: not written by the plugin's read"));
    assert_non_null(strstr(err.where, "sample 7"));
    lpz_dataset_close(ds);
    /* and a value written is taken as written */
    ops.read = skip_read;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_read(ds, 5, x, &err), LPZ_OK);
    assert_true(x[4] == 0.25f);
    lpz_dataset_close(ds);
    /* an open that returns OK without setting *state: NULL, and a warning */
    ops = synth_ops;
    ops.open = stateless_open;
    ops.read = stateless_read;
    g_warned[0] = '\0';
    lpz_log_set_sink(keep_warning, NULL);
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_OK);
    lpz_log_set_sink(NULL, NULL);
    assert_non_null(strstr(g_warned, "open returned OK without setting *state: taken as NULL"));
    assert_int_equal(lpz_dataset_read(ds, 3, x, &err), LPZ_OK); /* its read saw NULL */
    lpz_dataset_close(ds);
    /* classes declared without a label function */
    ops = synth_ops;
    ops.label = NULL;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_EFORMAT);
    dt_show(&err);
    assert_non_null(strstr(err.message, "classes but its plugin has no label function"));
    assert_null(ds);
}

static void bad_batcher_settings_are_refused(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(100);
    lpz_batcher_config c = lpz_batcher_config_default(10, 1, 0);
    lpz_batcher *b = NULL;
    lpz_error err;
    c.batch_size = 0;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_EINVAL);
    c.batch_size = 101;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "batch_size"));
    /* the hint says what fits (vectors: no word about sequences) */
    assert_non_null(strstr(err.hint, "dataloader.batch_size to 100 or less"));
    assert_null(strstr(err.hint, "sequence"));
    c.batch_size = 10;
    c.sampling_ratio = 0.0;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_EINVAL);
    c.sampling_ratio = 1.5;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "sampling_ratio"));
    c.sampling_ratio = NAN;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_EINVAL);
    c.sampling_ratio = 1.0;
    c.n_batches = -1;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_EINVAL);
    assert_null(b);
    /* a tiny ratio still yields one full batch */
    c.n_batches = 0;
    c.sampling_ratio = 0.001;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_OK);
    assert_int_equal(lpz_batcher_subset_size(b), 10);
    lpz_batcher_destroy(b);
    lpz_dataset_close(ds);
}

static void plugin_reports_are_checked_at_open(void **st)
{
    reset(st);
    lpz_dataset_context ctx = dt_context(NULL, "/nonexistent");
    lpz_dataset *ds = NULL;
    lpz_error err;
    g_count_override = -5;
    assert_int_equal(lpz_dataset_open(&synth_plugin, &ctx, &ds, &err), LPZ_EFORMAT);
    dt_show(&err);
    assert_non_null(strstr(err.where, "synth"));
    assert_null(ds);
    /* a count whose index arrays would wrap size_t (2^62 x 8 bytes) is refused, 2^40 is the most */
    g_count_override = (int64_t)1 << 62;
    assert_int_equal(lpz_dataset_open(&synth_plugin, &ctx, &ds, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "expected 1 to 2^40"));
    g_count_override = ((int64_t)1 << 40) + 1;
    assert_int_equal(lpz_dataset_open(&synth_plugin, &ctx, &ds, &err), LPZ_EFORMAT);
    g_count_override = (int64_t)1 << 40;
    assert_int_equal(lpz_dataset_open(&synth_plugin, &ctx, &ds, &err), LPZ_OK);
    lpz_dataset_close(ds);
    ds = NULL;
    reset(st);
    /* a vector kind with an image shape is inconsistent: checked via kind */
    lpz_dataloader_ops no_read = synth_ops;
    no_read.read = NULL;
    lpz_plugin p = synth_plugin;
    p.ops = &no_read;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_EFORMAT);
    p.ops = &synth_ops;
    p.kind = LPZ_PLUGIN_NETWORK;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "not a dataloader"));
    /* an older, shorter table: the missing optional functions are absent */
    lpz_dataloader_ops short_ops = synth_ops;
    short_ops.size = offsetof(lpz_dataloader_ops, label);
    p = synth_plugin;
    p.ops = &short_ops;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &ds, &err), LPZ_OK);
    assert_false(lpz_dataset_has_labels(ds));
    int32_t lab;
    assert_int_equal(lpz_dataset_label(ds, 0, &lab, &err), LPZ_EUNSUPPORTED);
    lpz_dataset_close(ds);
}

/* The optional prefetch hint: every sample the batcher reads was hinted
 * before (the first of a batch right before it,
 * the others ahead), and the batches are those of the same plugin without
 * the hint; out-of-range indices never reach the plugin; a plugin whose
 * table ends before prefetch is never hinted.
 * One producer thread at a time, so plain counters suffice (checked on
 * the test's thread: cmocka cannot fail from another). */
static int64_t g_hinted[1000], g_hints, g_bad_hints, g_unhinted_reads;

static void hint_prefetch(void *state, int64_t index)
{
    const synth *s = state;
    if (index < 0 || index >= s->count || index >= 1000) {
        g_bad_hints++;
        return;
    }
    g_hinted[index]++;
    g_hints++;
}

static int hint_read(void *state, int64_t index, float *out, lpz_error *err)
{
    if (!g_hinted[index])
        g_unhinted_reads++;
    else
        g_hinted[index]--;
    return synth_read(state, index, out, err);
}

/* The synthetic dataset of 1000 samples with the recording read and
 * prefetch above, the counters zeroed; ops and p are the caller's and must
 * live as long as the dataset. */
static lpz_dataset *open_hinted(lpz_dataloader_ops *ops, lpz_plugin *p)
{
    memset(g_hinted, 0, sizeof g_hinted);
    g_hints = g_bad_hints = g_unhinted_reads = 0;
    *ops = synth_ops;
    ops->read = hint_read;
    ops->prefetch = hint_prefetch;
    *p = synth_plugin;
    p->ops = ops;
    g_synth.count = 1000;
    lpz_dataset_context ctx = dt_context(NULL, "/nonexistent");
    lpz_dataset *ds = NULL;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(p, &ctx, &ds, &err), LPZ_OK);
    return ds;
}

static void prefetch_hints_come_before_reads_and_change_nothing(void **st)
{
    (void)st;
    lpz_dataloader_ops ops;
    lpz_plugin p;
    lpz_dataset *hinted = open_hinted(&ops, &p);
    lpz_dataset_context ctx = dt_context(NULL, "/nonexistent");
    lpz_error err;
    lpz_dataset *plain = open_synth(1000);
    for (int prefetch = 0; prefetch <= 2; prefetch += 2) {
        lpz_batcher *a = make(hinted, 7, 3, 1, 1.0, 1, 0, prefetch), *b = make(plain, 7, 3, 1, 1.0, 1, 0, prefetch);
        int32_t ia[7 * 30], ib[7 * 30];
        read_batches(a, 30, 7, ia);
        read_batches(b, 30, 7, ib);
        assert_memory_equal(ia, ib, sizeof ia);
        lpz_batcher_destroy(a);
        lpz_batcher_destroy(b);
    }
    assert_int_equal(g_unhinted_reads, 0);
    assert_true(g_hints >= 2 * 30 * 7);
    lpz_dataset_prefetch(hinted, -1); /* out of range: ignored, not passed on */
    lpz_dataset_prefetch(hinted, 1000);
    assert_int_equal(g_bad_hints, 0);
    lpz_dataset_prefetch(plain, 5); /* no prefetch op: nothing */
    lpz_dataset_close(hinted);
    lpz_dataset_close(plain);

    /* a table of ABI 1.0 (ending before prefetch): the field past its size
     * is never called, whatever the memory there holds */
    ops.size = offsetof(lpz_dataloader_ops, prefetch);
    g_hints = 0;
    lpz_dataset *old = NULL;
    assert_int_equal(lpz_dataset_open(&p, &ctx, &old, &err), LPZ_OK);
    lpz_batcher *b = make(old, 7, 3, 1, 1.0, 1, 0, 0); /* read in this thread: exactly 5 batches */
    int32_t io[7 * 5];
    memset(g_hinted, 0, sizeof g_hinted);
    g_unhinted_reads = 0;
    read_batches(b, 5, 7, io);
    lpz_batcher_destroy(b);
    lpz_dataset_prefetch(old, 3);
    assert_int_equal(g_hints, 0);
    assert_int_equal(g_unhinted_reads, 5 * 7);
    lpz_dataset_close(old);
}

/* The optional describe (ABI 1.3): the caller's check sees the described
 * shape before open runs, and a refusal keeps open from running at all;
 * without a shape told (ndim 0, no describe, a table of ABI 1.2) the check
 * follows open and a refusal closes the data again; open must report the
 * described shape; describe's own failures and wrong shapes are reported
 * as open's are. */
static int g_opens, g_closes, g_checks, g_describes;
static int64_t g_checked_count; /* the count the last check saw */
static int64_t g_check_max;     /* the most values a sample may have for the check */
static lpz_shape g_described;   /* what describe tells (ndim 0: cannot tell) */
static int g_describe_fails;

static int counting_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    g_opens++;
    return synth_open(ctx, state, info, err);
}

static void counting_close(void *state)
{
    g_closes++;
    synth_close(state);
}

static int synth_describe(const lpz_dataset_context *ctx, lpz_dataset_info *info, lpz_error *err)
{
    (void)ctx;
    g_describes++;
    if (g_describe_fails)
        return lpz_error_set(err, LPZ_ENOTFOUND, "no such data");
    info->sample_shape = g_described;
    info->kind = (lpz_sample_kind)g_kind;
    return LPZ_OK;
}

/* Refuses samples of more than g_check_max values, as a network refuses a shape. */
static int check_small(void *user, const lpz_dataset_info *info, lpz_error *err)
{
    (void)user;
    g_checks++;
    g_checked_count = info->count;
    if (lpz_shape_numel(&info->sample_shape) > g_check_max)
        return lpz_error_set(err, LPZ_EUNSUPPORTED, "samples of %lld values are too large",
                             (long long)lpz_shape_numel(&info->sample_shape));
    return LPZ_OK;
}

static int open_counted(const lpz_plugin *p, lpz_dataset **ds, lpz_error *err)
{
    g_opens = g_closes = g_checks = g_describes = 0;
    g_checked_count = -1;
    lpz_dataset_context ctx = dt_context(NULL, "/nonexistent");
    return lpz_dataset_open_checked(p, &ctx, check_small, NULL, ds, err);
}

static void described_shape_is_checked_before_open(void **st)
{
    reset(st);
    g_kind = LPZ_SAMPLE_IMAGE; /* synth_open: 1x2x3 images */
    g_described = lpz_shape_make(3, 1, 2, 3, 0);
    g_describe_fails = 0;
    g_check_max = 5;
    lpz_dataloader_ops ops = synth_ops;
    ops.open = counting_open;
    ops.close = counting_close;
    ops.describe = synth_describe;
    lpz_plugin p = synth_plugin;
    p.ops = &ops;
    lpz_dataset *ds = NULL;
    lpz_error err;

    /* told before open and refused: open never runs, the check's error is returned as it is */
    assert_int_equal(open_counted(&p, &ds, &err), LPZ_EUNSUPPORTED);
    assert_null(ds);
    assert_int_equal(g_describes, 1);
    assert_int_equal(g_checks, 1);
    assert_int_equal(g_checked_count, 0); /* the data is not open yet */
    assert_int_equal(g_opens, 0);
    assert_string_equal(err.message, "samples of 6 values are too large");

    /* accepted: one check, before open, none after it */
    g_check_max = 6;
    assert_int_equal(open_counted(&p, &ds, &err), LPZ_OK);
    assert_int_equal(g_checks, 1);
    assert_int_equal(g_checked_count, 0);
    assert_int_equal(g_opens, 1);
    assert_int_equal(lpz_dataset_get_info(ds)->count, 1000);
    lpz_dataset_close(ds);
    ds = NULL;
    g_check_max = 5;

    /* the same samples from a plugin that cannot tell them first: checked after open, closed again */
    g_described = lpz_shape_make(0, 0, 0, 0, 0);
    assert_int_equal(open_counted(&p, &ds, &err), LPZ_EUNSUPPORTED);
    assert_null(ds);
    assert_int_equal(g_opens, 1);
    assert_int_equal(g_closes, 1);
    assert_int_equal(g_checks, 1);
    assert_int_equal(g_checked_count, 1000);
    /* likewise from a table of ABI 1.2, which ends before describe: never called, whatever lies past its size */
    lpz_dataloader_ops old = ops;
    old.size = offsetof(lpz_dataloader_ops, describe);
    old.describe = (int (*)(const lpz_dataset_context *, lpz_dataset_info *, lpz_error *))(uintptr_t)1;
    p.ops = &old;
    g_described = lpz_shape_make(3, 1, 2, 3, 0);
    assert_int_equal(open_counted(&p, &ds, &err), LPZ_EUNSUPPORTED);
    assert_int_equal(g_describes, 0);
    assert_int_equal(g_opens, 1);
    assert_int_equal(g_closes, 1);
    assert_int_equal(g_checked_count, 1000);
    p.ops = &ops;

    /* open contradicting describe (5 values told, 6 opened) is a plugin bug: refused, closed again */
    g_described = lpz_shape_make(3, 1, 1, 5, 0);
    assert_int_equal(open_counted(&p, &ds, &err), LPZ_EFORMAT);
    dt_show(&err);
    assert_null(ds);
    assert_int_equal(g_checks, 1);
    assert_int_equal(g_opens, 1);
    assert_int_equal(g_closes, 1);
    assert_non_null(strstr(err.message, "describe told image samples of shape 1x1x5, its open image samples of "
                                        "shape 1x2x3"));
    assert_non_null(strstr(err.where, "dataset synth"));

    /* describe's failure is reported as open's is, and open does not run */
    g_describe_fails = 1;
    assert_int_equal(open_counted(&p, &ds, &err), LPZ_ENOTFOUND);
    assert_string_equal(err.message, "no such data");
    assert_non_null(strstr(err.where, "dataset synth"));
    assert_int_equal(g_opens + g_checks, 0);
    g_describe_fails = 0;

    /* a described shape that does not fit its kind: refused as open's would be */
    g_described = lpz_shape_make(2, 2, 3, 0, 0);
    assert_int_equal(open_counted(&p, &ds, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "image samples need a shape (C, H, W)"));
    assert_non_null(strstr(err.hint, "describe filled lpz_dataset_info wrongly"));
    assert_int_equal(g_opens + g_checks, 0);
    reset(st);
}

/* lpz_dataset_read_rows (the batcher's, the fitness reads' and the
 * classifier's reader) on its own: any index array, repeats included,
 * every read hinted first; the rows and labels those of plain reads; an
 * empty array reads nothing; a bad index stops it with an error naming
 * the sample, after the rows before it. */
static void read_rows_hints_every_sample_and_reads_what_read_reads(void **st)
{
    (void)st;
    lpz_dataloader_ops ops;
    lpz_plugin p;
    lpz_dataset *ds = open_hinted(&ops, &p);
    lpz_error err;
    enum { N = 257 };
    int64_t idx[N];
    lpz_rng rng;
    lpz_rng_seed(&rng, 5, 0);
    for (int i = 0; i < N; i++) /* repeats, also side by side */
        idx[i] = i % 50 == 7 ? idx[i - 1] : (int64_t)lpz_rng_below(&rng, 1000);
    float *x = malloc((size_t)N * NUMEL * sizeof *x);
    int32_t lab[N];
    for (int64_t n = 0; n <= N; n += n < 4 ? 1 : 63) { /* 0-3 (within the hint distance), 67, ..., 256 */
        memset(lab, 0x55, sizeof lab);
        assert_int_equal(lpz_dataset_read_rows(ds, idx, n, x, lab, &err), LPZ_OK);
        for (int64_t i = 0; i < n; i++) {
            assert_int_equal(lab[i], (int32_t)idx[i]);
            for (int j = 0; j < NUMEL; j++)
                assert_true(x[i * NUMEL + j] == synth_value(idx[i], j));
        }
        if (n < N)
            assert_int_equal(lab[n], 0x55555555); /* nothing past n */
    }
    assert_int_equal(g_unhinted_reads, 0);
    assert_int_equal(g_bad_hints, 0);
    assert_int_equal(lpz_dataset_read_rows(ds, idx, N, x, NULL, &err), LPZ_OK); /* labels not wanted */
    assert_int_equal(g_unhinted_reads, 0);

    int64_t bad[4] = {3, 4, 1000, 5};
    memset(lab, 0x55, sizeof lab);
    assert_int_equal(lpz_dataset_read_rows(ds, bad, 4, x, lab, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "1000"));
    assert_int_equal(lab[0], 3);
    assert_int_equal(lab[1], 4);
    assert_int_equal(lab[3], 0x55555555);
    assert_int_equal(g_bad_hints, 0); /* the bad index was never passed on as a hint */
    free(x);
    lpz_dataset_close(ds);
}

static void fitness_sample_is_distinct_and_reproducible(void **st)
{
    (void)st;
    lpz_dataset *ds = open_synth(300);
    float *x = malloc(700 * NUMEL * sizeof *x);
    int32_t a[700], b[700];
    lpz_rng r1, r2;
    lpz_rng_seed(&r1, 11, 4);
    lpz_rng_seed(&r2, 11, 4);
    lpz_error err;
    assert_int_equal(lpz_dataset_sample(ds, &r1, 200, x, a, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_sample(ds, &r2, 200, x, b, &err), LPZ_OK);
    assert_memory_equal(a, b, 200 * sizeof *a);
    for (int i = 0; i < 200; i++)
        for (int j = 0; j < NUMEL; j++)
            assert_true(x[i * NUMEL + j] == synth_value(b[i], j));
    qsort(a, 200, sizeof *a, cmp_i32);
    for (int i = 1; i < 200; i++)
        assert_true(a[i] != a[i - 1]);
    /* the next draw differs */
    assert_int_equal(lpz_dataset_sample(ds, &r1, 200, x, b, &err), LPZ_OK);
    assert_memory_not_equal(a, b, 200 * sizeof *a);
    /* more than the dataset: every sample twice, then 100 distinct */
    assert_int_equal(lpz_dataset_sample(ds, &r1, 700, x, a, &err), LPZ_OK);
    int seen[300] = {0};
    for (int i = 0; i < 700; i++)
        seen[a[i]]++;
    int threes = 0;
    for (int i = 0; i < 300; i++) {
        assert_true(seen[i] == 2 || seen[i] == 3);
        threes += seen[i] == 3;
    }
    assert_int_equal(threes, 100);
    assert_int_equal(lpz_dataset_sample(ds, &r1, 0, x, a, &err), LPZ_EINVAL);
    /* the same draw among n items (a cell's subset, whose positions the trainer maps to dataset rows) */
    int64_t p[700], q[700];
    lpz_rng_seed(&r1, 5, 1);
    lpz_rng_seed(&r2, 5, 1);
    assert_int_equal(lpz_draw_indices(&r1, 300, 700, p, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_sample_indices(ds, &r2, 700, q, &err), LPZ_OK);
    assert_memory_equal(p, q, sizeof p);
    assert_int_equal(lpz_draw_indices(&r1, 50, 40, p, &err), LPZ_OK);
    int in50[50] = {0};
    for (int i = 0; i < 40; i++) {
        assert_true(p[i] >= 0 && p[i] < 50);
        assert_int_equal(in50[p[i]]++, 0);
    }
    assert_int_equal(lpz_draw_indices(&r1, 0, 5, p, &err), LPZ_EINVAL);
    free(x);
    lpz_dataset_close(ds);
}

static void default_render_writes_csv_for_vectors_and_sequences(void **st)
{
    reset(st);
    char dir[512], base[600], path[700];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "render"), 0);
    lpz_dataset *ds = open_synth(10);
    float x[2 * NUMEL];
    lpz_error err;
    assert_int_equal(lpz_dataset_read(ds, 0, x, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_read(ds, 1, x + NUMEL, &err), LPZ_OK);
    x[0] = 0.123456789f; /* the CSV holds it exactly (as 0.123456791), not to 7 digits (0.1234568) */
    snprintf(base, sizeof base, "%s/vec", dir);
    assert_int_equal(lpz_dataset_render(ds, x, 2, base, &err), LPZ_OK);
    snprintf(path, sizeof path, "%s.csv", base);
    char *csv = dt_slurp(path);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "sample,f0,f1,f2,f3,f4,f5\n0,"));
    const char *first = strstr(csv, "\n0,") + 3;
    if (strtof(first, NULL) != x[0])
        fail_msg("the CSV says %.12s for %.9g", first, (double)x[0]);
    assert_non_null(strstr(csv, "\n1,"));
    free(csv);
    lpz_dataset_close(ds);

    g_kind = LPZ_SAMPLE_SEQUENCE;
    ds = open_synth(10);
    snprintf(base, sizeof base, "%s/seq", dir);
    assert_int_equal(lpz_dataset_render(ds, x, 2, base, &err), LPZ_OK);
    snprintf(path, sizeof path, "%s.csv", base);
    csv = dt_slurp(path);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "sample,t,f0,f1\n0,0,"));
    assert_non_null(strstr(csv, "\n1,2,"));
    free(csv);
    lpz_dataset_close(ds);
    reset(st);
    lpz_test_rmtree(dir);
}

static void default_render_writes_png_or_jpeg_grid_for_images(void **st)
{
    reset(st);
    char dir[512], base[600], path[700];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "render"), 0);
    g_kind = LPZ_SAMPLE_IMAGE;
    lpz_dataset *ds = open_synth(10);
    float x[4 * NUMEL];
    lpz_error err;
    for (int i = 0; i < 4; i++)
        assert_int_equal(lpz_dataset_read(ds, i, x + i * NUMEL, &err), LPZ_OK);
    snprintf(base, sizeof base, "%s/grid", dir);
    int rc = lpz_dataset_render(ds, x, 4, base, &err);
    if (rc != LPZ_OK)
        dt_show(&err);
    assert_int_equal(rc, LPZ_OK);
    snprintf(path, sizeof path, "%s.png", base);
    unsigned char sig[8];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(sig, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
    /* general.logging.image_format: jpg -> a JPEG grid named .jpg */
    snprintf(base, sizeof base, "%s/jgrid", dir);
    rc = lpz_dataset_render_as(ds, x, 4, base, LPZ_RENDER_JPEG, &err);
    if (rc != LPZ_OK)
        dt_show(&err);
    assert_int_equal(rc, LPZ_OK);
    snprintf(path, sizeof path, "%s.jpg", base);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(sig, 1, 3, f), 3);
    fclose(f);
    assert_memory_equal(sig, "\xff\xd8\xff", 3);
    lpz_dataset_close(ds);
    reset(st);
    lpz_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(every_sample_once_per_shuffled_epoch, setup),
        cmocka_unit_test_setup(same_seed_same_batches_with_or_without_thread, setup),
        cmocka_unit_test_setup(unshuffled_reads_in_order_and_drops_partial_batch, setup),
        cmocka_unit_test_setup(n_batches_caps_the_epoch_and_restarts_the_order, setup),
        cmocka_unit_test_setup(sampling_ratio_gives_each_cell_its_own_reproducible_subset, setup),
        cmocka_unit_test_setup(prefetch_thread_stops_cleanly_at_any_point, setup),
        cmocka_unit_test_setup(read_error_reaches_the_trainer_then_batcher_stays_failed, setup),
        cmocka_unit_test_setup(value_outside_range_is_caught_at_read, setup),
        cmocka_unit_test_setup(bad_batcher_settings_are_refused, setup),
        cmocka_unit_test_setup(plugin_reports_are_checked_at_open, setup),
        cmocka_unit_test_setup(unwritten_value_is_caught_at_read, setup),
        cmocka_unit_test_setup(write_past_the_sample_is_caught_at_read, setup),
        cmocka_unit_test_setup(prefetch_hints_come_before_reads_and_change_nothing, setup),
        cmocka_unit_test_setup(described_shape_is_checked_before_open, setup),
        cmocka_unit_test_setup(read_rows_hints_every_sample_and_reads_what_read_reads, setup),
        cmocka_unit_test_setup(fitness_sample_is_distinct_and_reproducible, setup),
        cmocka_unit_test_setup(default_render_writes_csv_for_vectors_and_sequences, setup),
        cmocka_unit_test_setup(default_render_writes_png_or_jpeg_grid_for_images, setup),
    };
    return cmocka_run_group_tests_name("data_batcher", tests, NULL, NULL);
}
