/* core/data/dataset.c - an opened dataloader plugin, checked once at open
 * so the rest of the core can trust shapes and counts. */
#include "data/dataset.h"

#include "base/shape.h"
#include "io/fsutil.h"
#include "io/jpeg.h"
#include "io/png.h"

#include <lpz/log.h>

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lpz_dataset {
    const lpz_plugin *plugin;
    lpz_dataloader_ops ops; /* the plugin's table, missing tail fields NULL */
    void *state;
    lpz_dataset_info info;
    int64_t numel;
};

/* The smallest table a plugin may have: size, open, close, read. */
#define OPS_MIN_SIZE (offsetof(lpz_dataloader_ops, read) + sizeof(void *))

/* The shape and kind (what describe tells too). */
static int check_shape(const lpz_dataset_info *info, lpz_error *err)
{
    const lpz_shape *s = &info->sample_shape;
    if (s->ndim < 1 || s->ndim > LPZ_MAX_DIMS)
        return lpz_error_set(err, LPZ_EFORMAT, "sample shape has %d dimensions (expected 1 to %d)", s->ndim,
                             LPZ_MAX_DIMS);
    int64_t numel = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->dim[i] <= 0 || s->dim[i] > (int64_t)1 << 24)
            return lpz_error_set(err, LPZ_EFORMAT, "sample dimension %d is %lld (expected 1 to 2^24)", i,
                                 (long long)s->dim[i]);
        numel *= s->dim[i];
        if (numel > (int64_t)1 << 28)
            return lpz_error_set(err, LPZ_EFORMAT, "a sample has more than 2^28 values");
    }
    switch (info->kind) {
    case LPZ_SAMPLE_VECTOR:
        if (s->ndim != 1)
            return lpz_error_set(err, LPZ_EFORMAT, "vector samples need a shape (F), got %d dimensions", s->ndim);
        break;
    case LPZ_SAMPLE_IMAGE:
        if (s->ndim != 3 || (s->dim[0] != 1 && s->dim[0] != 3))
            return lpz_error_set(err, LPZ_EFORMAT, "image samples need a shape (C, H, W) with C 1 or 3");
        break;
    case LPZ_SAMPLE_SEQUENCE:
        if (s->ndim != 2)
            return lpz_error_set(err, LPZ_EFORMAT, "sequence samples need a shape (T, F), got %d dimensions",
                                 s->ndim);
        break;
    default:
        return lpz_error_set(err, LPZ_EFORMAT, "unknown sample kind %d", (int)info->kind);
    }
    return LPZ_OK;
}

/* What open reports: the shape and kind, the count and the classes. */
static int check_info(const lpz_dataset_info *info, lpz_error *err)
{
    int rc = check_shape(info, err);
    if (rc != LPZ_OK)
        return rc;
    /* at most 2^40: the batcher and the fitness draws hold 8-byte indices of all of them */
    if (info->count <= 0 || info->count > (int64_t)1 << 40)
        return lpz_error_set(err, LPZ_EFORMAT, "dataset reports %lld samples (expected 1 to 2^40)",
                             (long long)info->count);
    if (info->n_classes < 0)
        return lpz_error_set(err, LPZ_EFORMAT, "dataset reports %d classes", (int)info->n_classes);
    return LPZ_OK;
}

static const char *kind_name(lpz_sample_kind kind)
{
    return kind == LPZ_SAMPLE_IMAGE ? "image" : kind == LPZ_SAMPLE_SEQUENCE ? "sequence" : "vector";
}

static int same_samples(const lpz_dataset_info *a, const lpz_dataset_info *b)
{
    if (a->kind != b->kind || a->sample_shape.ndim != b->sample_shape.ndim)
        return 0;
    for (int i = 0; i < a->sample_shape.ndim; i++)
        if (a->sample_shape.dim[i] != b->sample_shape.dim[i])
            return 0;
    return 1;
}

/* A run folder's config.yml (lpz generate, lpz score, --resume) names the
 * data files as the training found them, absolute (lpz_config_dump_run);
 * a distributed run's copy, or an earlier lpz's, as written: a relative one
 * is looked for in the current folder, then in the run folder, which does
 * not hold the data. */
static void hint_run_folder(const lpz_dataset_context *ctx, lpz_error *err)
{
    char marker[PATH_MAX + 32], had[sizeof err->hint];
    if (!err || !ctx->config_dir ||
        snprintf(marker, sizeof marker, "%s/metrics.csv", ctx->config_dir) >= (int)sizeof marker ||
        !lpz_is_file(marker))
        return;
    snprintf(had, sizeof had, "%s", err->hint);
    lpz_error_hint(err, "%s%sthe run file is a run folder's copy: if the data moved, give its place with --set "
                   "dataloader.path=...; a relative path in it (a distributed run's copy, an earlier lpz's) is looked "
                   "for in the current folder, then in %s: run from the folder the training ran in",
                   had, had[0] ? "; " : "", ctx->config_dir);
}

int lpz_dataset_open(const lpz_plugin *plugin, const lpz_dataset_context *ctx, lpz_dataset **out, lpz_error *err)
{
    return lpz_dataset_open_checked(plugin, ctx, NULL, NULL, out, err);
}

/* A plugin's failure (its describe's or open's) with the dataset's name
 * and, for a run folder's copy of the configuration, where the data is
 * looked for. */
static int plugin_failed(const char *name, const char *what, const lpz_dataset_context *ctx, int rc, lpz_error *err)
{
    if (err && err->code == LPZ_OK)
        lpz_error_set(err, rc, "dataloader '%s' failed to %s (no details given)", name, what);
    lpz_error_context(err, "dataset %s", name);
    hint_run_folder(ctx, err);
    return rc;
}

/* The plugin's describe, when it has one: info zeroed, and left so when
 * the plugin cannot tell the shape before open. */
static int describe(const lpz_dataset *ds, const lpz_dataset_context *ctx, lpz_dataset_info *info, lpz_error *err)
{
    const char *name = ds->plugin->name ? ds->plugin->name : "?";
    memset(info, 0, sizeof *info);
    if (!ds->ops.describe)
        return LPZ_OK;
    lpz_error_clear(err);
    int rc = ds->ops.describe(ctx, info, err);
    if (rc != LPZ_OK) {
        memset(info, 0, sizeof *info);
        return plugin_failed(name, "describe its samples", ctx, rc, err);
    }
    if (info->sample_shape.ndim == 0) /* not told: open will */
        return LPZ_OK;
    if ((rc = check_shape(info, err)) != LPZ_OK) {
        lpz_error_context(err, "dataset %s", name);
        lpz_error_hint(err, "the plugin's describe filled lpz_dataset_info wrongly");
        memset(info, 0, sizeof *info);
    }
    return rc;
}

/* A dataset of a dataloader plugin whose function table is checked, before
 * describe or open. */
static int dataset_new(const lpz_plugin *plugin, const lpz_dataset_context *ctx, lpz_dataset **out, lpz_error *err)
{
    *out = NULL;
    if (!plugin || !ctx)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_dataset_open: plugin and context are required");
    const char *name = plugin->name ? plugin->name : "?";
    if (plugin->kind != LPZ_PLUGIN_DATALOADER) {
        lpz_error_set(err, LPZ_EINVAL, "plugin '%s' is of kind %u, not a dataloader", name, (unsigned)plugin->kind);
        lpz_error_hint(err, "set dataloader.dataset_name to a dataloader plugin (see `lpz plugins`)");
        return LPZ_EINVAL;
    }
    const lpz_dataloader_ops *pops = plugin->ops;
    if (!pops || pops->size < OPS_MIN_SIZE || !pops->open || !pops->close || !pops->read) {
        lpz_error_set(err, LPZ_EFORMAT, "dataloader '%s' lacks open, close or read", name);
        lpz_error_hint(err, "a dataloader must define at least open, close and read (see lpz/dataloader.h)");
        return LPZ_EFORMAT;
    }
    lpz_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory opening dataset '%s'", name);
    ds->plugin = plugin;
    /* An older plugin's table is shorter: the functions it does not know
     * stay NULL. */
    memcpy(&ds->ops, pops, pops->size < sizeof ds->ops ? pops->size : sizeof ds->ops);
    *out = ds;
    return LPZ_OK;
}

int lpz_dataset_describe(const lpz_plugin *plugin, const lpz_dataset_context *ctx, lpz_dataset_info *info,
                         lpz_error *err)
{
    lpz_dataset *ds;
    memset(info, 0, sizeof *info);
    int rc = dataset_new(plugin, ctx, &ds, err);
    if (rc == LPZ_OK)
        rc = describe(ds, ctx, info, err);
    free(ds);
    return rc;
}

int lpz_dataset_open_checked(const lpz_plugin *plugin, const lpz_dataset_context *ctx, lpz_dataset_check check,
                             void *user, lpz_dataset **out, lpz_error *err)
{
    *out = NULL;
    lpz_dataset *ds;
    int rc = dataset_new(plugin, ctx, &ds, err);
    if (rc != LPZ_OK)
        return rc;
    const char *name = plugin->name ? plugin->name : "?";
    const lpz_dataloader_ops *pops = plugin->ops;

    /* The samples told before open: the caller's check first, so that a
     * configuration refusing them does not wait for open's work. */
    lpz_dataset_info described;
    rc = describe(ds, ctx, &described, err);
    if (rc == LPZ_OK && described.sample_shape.ndim > 0 && check)
        rc = check(user, &described, err);
    if (rc != LPZ_OK) {
        free(ds);
        return rc;
    }

    lpz_error_clear(err);
    /* an open that returns OK without setting *state (NULL is fine: no
     * state) gets NULL with a warning, as a network's configure */
    static char unset;
    ds->state = &unset;
    rc = ds->ops.open(ctx, &ds->state, &ds->info, err);
    if (rc == LPZ_OK && ds->state == &unset) {
        lpz_log(LPZ_LOG_WARN, "dataloader '%s': open returned OK without setting *state: taken as NULL (set it, to "
                "NULL when the plugin keeps none)", name);
        ds->state = NULL;
    }
    if (rc != LPZ_OK) {
        plugin_failed(name, "open", ctx, rc, err);
        free(ds);
        return rc;
    }
    rc = check_info(&ds->info, err);
    /* (a table from before label existed is shorter: unlabelled) */
    if (rc == LPZ_OK && ds->info.n_classes > 0 && !ds->ops.label && pops->size > offsetof(lpz_dataloader_ops, label))
        rc = lpz_error_set(err, LPZ_EFORMAT, "dataset reports %d classes but its plugin has no label function",
                           (int)ds->info.n_classes);
    if (rc == LPZ_OK && described.sample_shape.ndim > 0 && !same_samples(&described, &ds->info)) {
        char a[96], b[96];
        lpz_shape_format_x(&described.sample_shape, a, sizeof a);
        lpz_shape_format_x(&ds->info.sample_shape, b, sizeof b);
        rc = lpz_error_set(err, LPZ_EFORMAT, "the plugin's describe told %s samples of shape %s, its open %s samples "
                           "of shape %s", kind_name(described.kind), a, kind_name(ds->info.kind), b);
        lpz_error_context(err, "dataset %s", name);
        lpz_error_hint(err, "a dataloader's describe must tell the shape and kind its open reports, or leave the "
                            "shape empty (see lpz/dataloader.h)");
    } else if (rc != LPZ_OK) {
        lpz_error_context(err, "dataset %s", name);
        lpz_error_hint(err, "the plugin's open filled lpz_dataset_info wrongly");
    }
    if (rc == LPZ_OK && described.sample_shape.ndim == 0 && check)
        rc = check(user, &ds->info, err);
    if (rc != LPZ_OK) {
        ds->ops.close(ds->state);
        free(ds);
        return rc;
    }
    ds->numel = lpz_shape_numel(&ds->info.sample_shape);
    lpz_log(LPZ_LOG_DEBUG, "dataset %s: %lld samples of %lld values", name, (long long)ds->info.count,
            (long long)ds->numel);
    *out = ds;
    return LPZ_OK;
}

void lpz_dataset_close(lpz_dataset *ds)
{
    if (!ds)
        return;
    ds->ops.close(ds->state);
    free(ds);
}

const lpz_dataset_info *lpz_dataset_get_info(const lpz_dataset *ds)
{
    return &ds->info;
}

const char *lpz_dataset_name(const lpz_dataset *ds)
{
    return ds->plugin->name;
}

int64_t lpz_dataset_numel(const lpz_dataset *ds)
{
    return ds->numel;
}

int lpz_dataset_has_labels(const lpz_dataset *ds)
{
    /* a plugin with a label function may have unlabelled data (npy without
     * its labels option): n_classes 0 says so */
    return ds->ops.label != NULL && ds->info.n_classes > 0;
}

int lpz_dataset_has_original_units(const lpz_dataset *ds)
{
    return ds->ops.to_original_units != NULL;
}

void lpz_dataset_prefetch(lpz_dataset *ds, int64_t index)
{
    if (ds->ops.prefetch && index >= 0 && index < ds->info.count)
        ds->ops.prefetch(ds->state, index);
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int lpz_dataset_digest(lpz_dataset *ds, uint64_t *digest, lpz_error *err)
{
    const lpz_dataset_info *info = &ds->info;
    float *x = malloc((size_t)ds->numel * sizeof *x);
    if (!x)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    uint64_t h = 1469598103934665603ull;
    int64_t head[3] = {info->count, ds->numel, info->n_classes};
    h = fnv(h, head, sizeof head);
    h = fnv(h, info->sample_shape.dim, (size_t)info->sample_shape.ndim * sizeof info->sample_shape.dim[0]);
    int64_t k = info->count < LPZ_DATASET_DIGEST_SAMPLES ? info->count : LPZ_DATASET_DIGEST_SAMPLES;
    int rc = LPZ_OK;
    for (int64_t j = 0; j < k && !rc; j++) {
        int64_t i = k > 1 ? j * (info->count - 1) / (k - 1) : 0; /* the first and the last among them */
        int32_t label = -1;
        rc = lpz_dataset_read(ds, i, x, err);
        if (!rc && lpz_dataset_has_labels(ds))
            rc = lpz_dataset_label(ds, i, &label, err);
        if (!rc) {
            h = fnv(h, x, (size_t)ds->numel * sizeof *x);
            h = fnv(h, &label, sizeof label);
        }
    }
    free(x);
    if (!rc)
        *digest = h;
    return rc;
}

/* Values after a sample's end that a plugin's read must leave alone. They
 * hold CANARY before the read and are compared after it, so a read writing
 * past its sample (a wrong channel count, H x W x C for W x H ...) is
 * refused at the first sample instead of corrupting another sample or the
 * heap silently. In a batch they are the next row's first values, which
 * its own read then overwrites; after a batch's last row, or a single
 * sample, they are a scratch row's. */
#define READ_GUARD 16
#define CANARY 0x7fa5d1e5u /* a signalling NaN: no arithmetic produces it, and no plugin writes it */

/* out holds numel + guard writable floats. */
static int read_guarded(lpz_dataset *ds, int64_t index, float *out, int64_t guard, lpz_error *err)
{
    if (index < 0 || index >= ds->info.count)
        return lpz_error_set(err, LPZ_EINVAL, "sample index %lld outside [0, %lld)", (long long)index,
                             (long long)ds->info.count);
    /* NaN first: a value the plugin does not write fails the check below
     * (it kept whatever the buffer held, often a valid value of another
     * sample: silently wrong data). */
    for (int64_t j = 0; j < ds->numel; j++)
        out[j] = NAN;
    uint32_t canary = CANARY;
    for (int64_t j = 0; j < guard; j++)
        memcpy(out + ds->numel + j, &canary, sizeof canary);
    int rc = ds->ops.read(ds->state, index, out, err);
    for (int64_t j = 0; j < guard; j++) {
        uint32_t v;
        memcpy(&v, out + ds->numel + j, sizeof v);
        if (v != CANARY) {
            lpz_error_set(err, LPZ_EFORMAT,
                          "the plugin's read wrote past the end of the sample: element %lld after its %lld values "
                          "changed",
                          (long long)(ds->numel + j), (long long)ds->numel);
            lpz_error_where(err, "dataset %s: sample %lld", ds->plugin->name, (long long)index);
            lpz_error_hint(err, "a dataloader's read must write exactly the sample shape's values (%lld here, "
                                "the product of its dimensions) and nothing after them",
                           (long long)ds->numel);
            return LPZ_EFORMAT;
        }
    }
    if (rc != LPZ_OK) {
        if (err && err->code == LPZ_OK)
            lpz_error_set(err, rc, "reading failed (no details given)");
        lpz_error_context(err, "dataset %s: sample %lld", ds->plugin->name, (long long)index);
        return rc;
    }
    /* One comparison per value, and it turns a plugin's scaling bug into
     * an error at the first sample instead of a silently diverging GAN.
     * Written so that NaN fails too; counted without an early exit so the
     * loop vectorises (the batcher reads every sample through here), and
     * only a bad sample is searched for its first bad value. */
    int bad = 0;
    for (int64_t j = 0; j < ds->numel; j++)
        bad |= !(out[j] >= -1.0f) | !(out[j] <= 1.0f);
    for (int64_t j = 0; bad && j < ds->numel; j++) {
        if (!(out[j] >= -1.0f && out[j] <= 1.0f)) {
            if (isnan(out[j]))
                lpz_error_set(err, LPZ_EFORMAT, "element %lld is NaN: not written by the plugin's read, or NaN",
                              (long long)j);
            else
                lpz_error_set(err, LPZ_EFORMAT, "value %g at element %lld is outside [-1, 1]", (double)out[j],
                              (long long)j);
            lpz_error_where(err, "dataset %s: sample %lld", ds->plugin->name, (long long)index);
            lpz_error_hint(err, "a dataloader's read must write every value of the sample, scaled to [-1, 1]");
            return LPZ_EFORMAT;
        }
    }
    return LPZ_OK;
}

/* A scratch row of the calling thread (reads run on several threads at
 * once), grown to the largest sample read on it and freed when the thread
 * ends: no allocation per sample or batch. NULL when out of memory. */
typedef struct scratch_row {
    size_t cap; /* floats */
    float data[];
} scratch_row;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_make(void)
{
    (void)pthread_key_create(&scratch_key, free);
}

static float *thread_scratch(size_t n)
{
    pthread_once(&scratch_once, scratch_key_make);
    scratch_row *r = pthread_getspecific(scratch_key);
    if (!r || r->cap < n) {
        free(r); /* the old contents are not needed */
        (void)pthread_setspecific(scratch_key, NULL);
        r = malloc(sizeof *r + n * sizeof(float));
        if (!r || pthread_setspecific(scratch_key, r) != 0) {
            free(r);
            return NULL;
        }
        r->cap = n;
    }
    return r->data;
}

int lpz_dataset_read(lpz_dataset *ds, int64_t index, float *out, lpz_error *err)
{
    /* through the thread's scratch row, with the guard after it */
    float *x = thread_scratch((size_t)(ds->numel + READ_GUARD));
    if (!x)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory (a sample of %lld values)", (long long)ds->numel);
    int rc = read_guarded(ds, index, x, READ_GUARD, err);
    if (rc == LPZ_OK)
        memcpy(out, x, (size_t)ds->numel * sizeof *out);
    return rc;
}

int lpz_dataset_read_rows(lpz_dataset *ds, const int64_t *idx, int64_t n, float *out, int32_t *labels,
                          lpz_error *err)
{
    int has_labels = labels && lpz_dataset_has_labels(ds);
    for (int64_t k = 0; k < n; k++) {
        for (int64_t a = k ? LPZ_DATASET_PREFETCH_AHEAD : 0; a <= LPZ_DATASET_PREFETCH_AHEAD && k + a < n; a++)
            lpz_dataset_prefetch(ds, idx[k + a]);
        /* in place, the next row's first values as the guard; the last row through the thread's scratch row */
        int64_t guard = ds->numel < READ_GUARD ? ds->numel : READ_GUARD;
        int rc = k + 1 < n ? read_guarded(ds, idx[k], out + k * ds->numel, guard, err)
                           : lpz_dataset_read(ds, idx[k], out + k * ds->numel, err);
        if (rc == LPZ_OK && labels) {
            labels[k] = -1;
            if (has_labels)
                rc = lpz_dataset_label(ds, idx[k], &labels[k], err);
        }
        if (rc != LPZ_OK)
            return rc;
    }
    return LPZ_OK;
}

int lpz_dataset_label(lpz_dataset *ds, int64_t index, int32_t *label, lpz_error *err)
{
    if (!lpz_dataset_has_labels(ds))
        return lpz_error_set(err, LPZ_EUNSUPPORTED, "dataset %s has no labels", ds->plugin->name);
    if (index < 0 || index >= ds->info.count)
        return lpz_error_set(err, LPZ_EINVAL, "sample index %lld outside [0, %lld)", (long long)index,
                             (long long)ds->info.count);
    int rc = ds->ops.label(ds->state, index, label, err);
    if (rc != LPZ_OK) {
        if (err && err->code == LPZ_OK)
            lpz_error_set(err, rc, "reading the label failed (no details given)");
        lpz_error_context(err, "dataset %s: label %lld", ds->plugin->name, (long long)index);
    }
    return rc;
}

/* Distinct indices by Floyd's algorithm (k draws, a hash set of 2k..4k
 * slots), then shuffled so the order carries no information. */
static int draw_distinct(lpz_rng *rng, int64_t n, int64_t k, int64_t *idx, lpz_error *err)
{
    size_t cap = 16;
    while (cap < (size_t)k * 2)
        cap <<= 1;
    int64_t *set = malloc(cap * sizeof *set);
    if (!set)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory drawing %lld samples", (long long)k);
    for (size_t i = 0; i < cap; i++)
        set[i] = -1;
    int64_t m = 0;
    for (int64_t j = n - k; j < n; j++) {
        int64_t t = (int64_t)lpz_rng_below(rng, (uint64_t)j + 1);
        /* insert t, or j when t is already taken */
        for (int pass = 0; pass < 2; pass++) {
            int64_t v = pass == 0 ? t : j;
            size_t h = ((uint64_t)v * 0x9e3779b97f4a7c15ULL) & (cap - 1);
            while (set[h] != -1 && set[h] != v)
                h = (h + 1) & (cap - 1);
            if (set[h] == v)
                continue; /* taken: try j (never taken: j is new this round) */
            set[h] = v;
            idx[m++] = v;
            break;
        }
    }
    free(set);
    for (int64_t i = k - 1; i > 0; i--) {
        int64_t r = (int64_t)lpz_rng_below(rng, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[r];
        idx[r] = t;
    }
    return LPZ_OK;
}

int lpz_dataset_sample_indices(lpz_dataset *ds, lpz_rng *rng, int64_t k, int64_t *idx, lpz_error *err)
{
    return lpz_draw_indices(rng, ds->info.count, k, idx, err);
}

int lpz_draw_indices(lpz_rng *rng, int64_t n, int64_t k, int64_t *idx, lpz_error *err)
{
    if (k <= 0)
        return lpz_error_set(err, LPZ_EINVAL, "sample size %lld must be positive", (long long)k);
    if (n <= 0)
        return lpz_error_set(err, LPZ_EINVAL, "nothing to draw from (%lld items)", (long long)n);
    if (k <= n)
        return draw_distinct(rng, n, k, idx, err);
    /* More than the dataset holds: whole copies, the rest distinct. */
    int64_t full = k / n, rest = k % n;
    for (int64_t i = 0; i < full * n; i++)
        idx[i] = i % n;
    return rest > 0 ? draw_distinct(rng, n, rest, idx + full * n, err) : LPZ_OK;
}

int lpz_dataset_sample(lpz_dataset *ds, lpz_rng *rng, int64_t k, float *out, int32_t *labels, lpz_error *err)
{
    if (k <= 0)
        return lpz_error_set(err, LPZ_EINVAL, "sample size %lld must be positive", (long long)k);
    int64_t *idx = malloc((size_t)k * sizeof *idx);
    if (!idx)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory drawing %lld samples", (long long)k);
    int rc = lpz_dataset_sample_indices(ds, rng, k, idx, err);
    if (rc == LPZ_OK)
        rc = lpz_dataset_read_rows(ds, idx, k, out, labels, err);
    free(idx);
    return rc;
}

/* CSV of vectors or sequences: one row per sample (vectors) or per sample
 * and time step (sequences), in original units when the plugin has them. */
static int render_csv(lpz_dataset *ds, const float *samples, int64_t n, const char *path, lpz_error *err)
{
    const lpz_shape *s = &ds->info.sample_shape;
    int64_t steps = ds->info.kind == LPZ_SAMPLE_SEQUENCE ? s->dim[0] : 1;
    int64_t feats = ds->numel / steps;
    float *copy = NULL;
    if (ds->ops.to_original_units) {
        copy = malloc((size_t)(n * ds->numel) * sizeof *copy);
        if (!copy)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory rendering %lld samples", (long long)n);
        memcpy(copy, samples, (size_t)(n * ds->numel) * sizeof *copy);
        int rc = lpz_dataset_to_original_units(ds, copy, n, err);
        if (rc != LPZ_OK) {
            free(copy);
            return rc;
        }
        samples = copy;
    }
    lpz_atomic_file f;
    int rc = lpz_atomic_open(&f, path, err);
    if (rc != LPZ_OK) {
        free(copy);
        return rc;
    }
    fprintf(f.fp, "sample");
    if (steps > 1 || ds->info.kind == LPZ_SAMPLE_SEQUENCE)
        fprintf(f.fp, ",t");
    for (int64_t j = 0; j < feats; j++)
        fprintf(f.fp, ",f%lld", (long long)j);
    fputc('\n', f.fp);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t t = 0; t < steps; t++) {
            fprintf(f.fp, "%lld", (long long)i);
            if (steps > 1 || ds->info.kind == LPZ_SAMPLE_SEQUENCE)
                fprintf(f.fp, ",%lld", (long long)t);
            const float *row = samples + i * ds->numel + t * feats;
            /* 9 digits read back as the same float32 (samples.npy's value); 7 cut 16777215 to 1.677722e+07 */
            for (int64_t j = 0; j < feats; j++)
                fprintf(f.fp, ",%.9g", (double)row[j]);
            fputc('\n', f.fp);
        }
    }
    free(copy);
    if (ferror(f.fp)) {
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "writing failed");
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}

int lpz_dataset_render(lpz_dataset *ds, const float *samples, int64_t n, const char *path_base, lpz_error *err)
{
    return lpz_dataset_render_as(ds, samples, n, path_base, LPZ_RENDER_PNG, err);
}

int lpz_dataset_render_as(lpz_dataset *ds, const float *samples, int64_t n, const char *path_base,
                          lpz_render_format format, lpz_error *err)
{
    if (n <= 0)
        return lpz_error_set(err, LPZ_EINVAL, "nothing to render (%lld samples)", (long long)n);
    if (ds->ops.render) {
        int rc = ds->ops.render(ds->state, samples, n, path_base, err);
        if (rc != LPZ_OK && err && err->code == LPZ_OK)
            lpz_error_set(err, rc, "rendering failed (no details given)");
        if (rc != LPZ_OK)
            lpz_error_context(err, "dataset %s", ds->plugin->name);
        return rc;
    }
    char path[4096];
    int jpeg = format == LPZ_RENDER_JPEG;
    const char *ext = ds->info.kind != LPZ_SAMPLE_IMAGE ? ".csv" : jpeg ? ".jpg" : ".png";
    if ((size_t)snprintf(path, sizeof path, "%s%s", path_base, ext) >= sizeof path)
        return lpz_error_set(err, LPZ_EINVAL, "output path too long: %s", path_base);
    if (ds->info.kind == LPZ_SAMPLE_IMAGE) {
        const lpz_shape *s = &ds->info.sample_shape;
        if (jpeg)
            return lpz_jpeg_write_grid(path, samples, n, (int)s->dim[0], (int)s->dim[1], (int)s->dim[2], 0, err);
        return lpz_png_write_grid(path, samples, n, (int)s->dim[0], (int)s->dim[1], (int)s->dim[2], 0, err);
    }
    return render_csv(ds, samples, n, path, err);
}

int lpz_dataset_to_original_units(lpz_dataset *ds, float *samples, int64_t n, lpz_error *err)
{
    if (!ds->ops.to_original_units)
        return LPZ_OK;
    int rc = ds->ops.to_original_units(ds->state, samples, n, err);
    if (rc != LPZ_OK) {
        if (err && err->code == LPZ_OK)
            lpz_error_set(err, rc, "mapping to original units failed (no details given)");
        lpz_error_context(err, "dataset %s", ds->plugin->name);
    }
    return rc;
}
