/* core/score/scorer.c - real-data statistics computed once (and cached on
 * disk), then FID / inception score / TVD of generated samples from any
 * number of per-thread contexts. See score.h. */
#include "score/score.h"

#include "inception/inception.h"
#include "io/fsutil.h"
#include "io/safetensors.h"

#include <lpz/log.h>

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK 16 /* samples per classifier pass: bounds scratch memory per context */
#define STATS_KIND "fid-stats-1"

struct lpz_scorer {
    lpz_dataset *ds;
    lpz_feature_kind kind;
    int d;         /* feature dimension */
    int64_t numel; /* floats per sample */
    int has_classes;
    lpz_model *classifier; /* template the contexts clone; NULL for raw features */
    /* InceptionV3 (about 120 MB): one network shared by every context,
     * used one call at a time. */
    lpz_inception *inception;
    pthread_mutex_t inception_lock;
    int64_t channels, height, width;
    char classifier_path[PATH_MAX];
    int trained, stats_cached;
    uint64_t digest; /* of the classifier's parameters (0 for raw) */
    char data_digest[24]; /* lpz_dataset_digest, hex: what the cached classifier and statistics were made from */
    int64_t sample_size;
    double *mean, *cov, *cov_sqrt;                 /* real statistics */
    int64_t real_counts[LPZ_CLASSIFIER_CLASSES]; /* real label histogram */
};

struct lpz_score_context {
    lpz_scorer *s;
    lpz_model *model; /* own clone of the classifier */
    double *mean, *cov;
    /* two-thread features (lpz_score_context_set_parallel) */
    lpz_run2_fn run2;
    void *runner;
    lpz_model *model2; /* second clone, for part 1 */
    volatile int *stop; /* lpz_score_context_set_stop; NULL: never stopped */
    lpz_score_metric metric; /* of the mixture scores (lpz_score_context_set_metric) */
    lpz_score_progress_fn progress; /* lpz_score_context_set_progress: InceptionV3 samples done, or NULL */
    void *progress_arg;
};

/* FNV-1a over the parameter bytes: identifies the classifier the cached
 * statistics were computed with. */
static uint64_t digest_model(lpz_model *m)
{
    const unsigned char *p = (const unsigned char *)lpz_model_params(m);
    size_t n = (size_t)lpz_model_param_count(m) * sizeof(float);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* The dataset name as a file-name part. */
static void safe_name(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        char c = in[i];
        out[i] = ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_')
                     ? c
                     : '_';
    }
    out[i] = 0;
}

/* Features of n samples (n x numel) into f (n x d), CHUNK at a time. */
/* 1 when *stop (may be NULL) is set: the caller returns LPZ_ECANCELED. */
static int stopped(volatile int *stop)
{
    return stop && __atomic_load_n(stop, __ATOMIC_RELAXED);
}

static int stop_error(lpz_error *err)
{
    return lpz_error_set(err, LPZ_ECANCELED, "stopped");
}

/* Features of n samples; *stop (may be NULL) is looked at before every
 * chunk, so that a Ctrl-C during a long scoring (50,000 samples, seconds
 * of Inception per 10 images) ends it within one chunk. */
static int features_of(const lpz_scorer *s, lpz_model *model, const float *x, int64_t n, float *f,
                       volatile int *stop, const lpz_score_context *c, lpz_error *err)
{
    if (stopped(stop))
        return stop_error(err);
    if (s->kind == LPZ_FEATURES_RAW) {
        memcpy(f, x, (size_t)(n * s->numel) * sizeof(float));
        return LPZ_OK;
    }
    if (s->kind == LPZ_FEATURES_INCEPTION) {
        /* Slow on a CPU (about 1 s per 10 images): the callers report
         * progress over the whole sample. */
        pthread_mutex_t *lock = (pthread_mutex_t *)&s->inception_lock;
        pthread_mutex_lock(lock);
        int rc = LPZ_OK;
        for (int64_t start = 0; start < n && !rc; start += 10) {
            int64_t k = n - start < 10 ? n - start : 10;
            if (start && stopped(stop)) {
                rc = stop_error(err);
                break;
            }
            rc = lpz_inception_features(s->inception, x + start * s->numel, k, (int)s->channels, (int)s->height,
                                        (int)s->width, f + start * s->d, err);
            if (!rc && c && c->progress) /* a second a group: the caller can say how far it is */
                c->progress(c->progress_arg, k);
        }
        pthread_mutex_unlock(lock);
        return rc;
    }
    for (int64_t start = 0; start < n; start += CHUNK) {
        int64_t k = n - start < CHUNK ? n - start : CHUNK;
        if (start && stopped(stop))
            return stop_error(err);
        const float *y = lpz_model_forward(model, x + start * s->numel, k, err);
        if (!y)
            return err && err->code ? err->code : LPZ_EINVAL;
        int bad = 0; /* the samples are finite (checked before): a non-finite feature is the model's */
        for (int64_t i = 0; i < k * s->d; i++)
            bad |= !isfinite(y[i]);
        if (bad) {
            lpz_error_set(err, LPZ_EINVAL, "the feature classifier gave a non-finite feature for finite samples");
            lpz_error_where(err, "%s", s->classifier_path[0] ? s->classifier_path : "the feature classifier");
            lpz_error_hint(err, "its weights are damaged or overflow: train it again with lpz classifier (or "
                                "remove the cached file)");
            return LPZ_EINVAL;
        }
        memcpy(f + start * s->d, y, (size_t)(k * s->d) * sizeof(float));
    }
    return LPZ_OK;
}

/* Copies the data digest recorded in a cached file's metadata into out;
 * 0 when the file has none or cannot be read. */
static int cached_digest(const char *path, char *out, size_t size)
{
    lpz_st_file f;
    lpz_error e;
    if (lpz_st_read(path, &f, &e))
        return 0;
    const char *v = lpz_st_meta(&f, LPZ_DATA_DIGEST_KEY);
    int ok = v && strlen(v) < size;
    if (ok)
        snprintf(out, size, "%s", v);
    lpz_st_free(&f);
    return ok;
}

static int get_classifier(lpz_scorer *s, const lpz_scorer_options *o, lpz_error *err)
{
    char name[256];
    safe_name(lpz_dataset_name(s->ds), name, sizeof name);
    if (o->feature_model && o->feature_model[0]) {
        snprintf(s->classifier_path, sizeof s->classifier_path, "%s", o->feature_model);
        int rc = lpz_classifier_load(o->feature_model, &s->classifier, err);
        if (rc)
            lpz_error_context(err, "trainer.params.score.feature_model");
        return rc;
    }
    if (o->cache_dir) {
        if (snprintf(s->classifier_path, sizeof s->classifier_path, "%s/classifier-%s.safetensors", o->cache_dir,
                     name) >= (int)sizeof s->classifier_path)
            return lpz_error_set(err, LPZ_EINVAL, "cache folder path is too long: %s", o->cache_dir);
        if (lpz_is_file(s->classifier_path)) {
            /* Trained on other data (the configured file replaced, another
             * file for the same plugin): trained again. A file without the
             * record (an earlier lpz, or lpz classifier -o copied there) is
             * taken as it is. */
            char was[sizeof s->data_digest];
            if (cached_digest(s->classifier_path, was, sizeof was) && strcmp(was, s->data_digest)) {
                lpz_log(LPZ_LOG_INFO, "the cached FID classifier %s was trained on other %s data (data digest %s, "
                        "now %s): training it again", s->classifier_path, lpz_dataset_name(s->ds), was,
                        s->data_digest);
            } else {
                int rc = lpz_classifier_load(s->classifier_path, &s->classifier, err);
                if (rc)
                    lpz_error_hint(err, "delete %s to train the classifier again", s->classifier_path);
                return rc;
            }
        }
    }
    if (!s->has_classes)
        return lpz_error_set(err, LPZ_EUNSUPPORTED,
                             "FID on %s needs a feature classifier, and the data have no 10 labelled classes to "
                             "train one on",
                             lpz_dataset_name(s->ds)),
               /* the callers add how to do without (score.type, master.calculate_score) */
               lpz_error_hint(err, "set trainer.params.score.feature_model to a classifier file"),
               LPZ_EUNSUPPORTED;
    lpz_log(LPZ_LOG_INFO, "training the FID classifier for %s once (it is cached in %s)", lpz_dataset_name(s->ds),
            o->cache_dir ? s->classifier_path : "memory only");
    lpz_classifier_train_params tp;
    lpz_classifier_train_defaults(&tp);
    tp.progress = o->train_progress;
    tp.user = o->user;
    tp.stop = o->stop;
    lpz_classifier_report rep;
    int rc = lpz_classifier_train(s->ds, NULL, &tp, &s->classifier, &rep, err);
    if (rc)
        return rc;
    s->trained = 1;
    lpz_log(LPZ_LOG_INFO, "FID classifier trained in %.0f s (training accuracy %.2f%%)", rep.seconds,
            100 * rep.train_accuracy);
    if (o->cache_dir) {
        if ((rc = lpz_mkdirs(o->cache_dir, err)) ||
            (rc = lpz_classifier_save(s->classifier_path, s->classifier, lpz_dataset_name(s->ds), NAN,
                                      s->data_digest, err)))
            return rc;
    } else {
        s->classifier_path[0] = 0;
    }
    return LPZ_OK;
}

static void stats_path(const lpz_scorer *s, const char *cache_dir, uint64_t seed, char *out, size_t size)
{
    char name[256];
    safe_name(lpz_dataset_name(s->ds), name, sizeof name);
    snprintf(out, size, "%s/fid-stats-%s-n%lld-seed%llu.safetensors", cache_dir, name, (long long)s->sample_size,
             (unsigned long long)seed);
}

/* Reads cached statistics when the file matches this scorer exactly. */
static int load_stats(lpz_scorer *s, const char *path, uint64_t seed)
{
    lpz_st_file f;
    lpz_error e;
    if (!lpz_is_file(path) || lpz_st_read(path, &f, &e))
        return 0;
    char want[6][64];
    snprintf(want[0], sizeof want[0], "%s", STATS_KIND);
    snprintf(want[1], sizeof want[1], "%lld", (long long)lpz_dataset_get_info(s->ds)->count);
    snprintf(want[2], sizeof want[2], "%lld", (long long)s->sample_size);
    snprintf(want[3], sizeof want[3], "%llu", (unsigned long long)seed);
    snprintf(want[4], sizeof want[4], "%016llx", (unsigned long long)s->digest);
    snprintf(want[5], sizeof want[5], "%s", s->data_digest);
    const char *keys[6] = {"lpz_kind", "dataset_count", "sample_size", "seed", "feature_digest", LPZ_DATA_DIGEST_KEY};
    int ok = 1;
    for (int i = 0; i < 6 && ok; i++) {
        const char *v = lpz_st_meta(&f, keys[i]);
        ok = v && strcmp(v, want[i]) == 0;
    }
    const lpz_st_tensor *tm = lpz_st_find(&f, "mean"), *tc = lpz_st_find(&f, "cov"),
                        *th = lpz_st_find(&f, "label_counts");
    size_t d = (size_t)s->d;
    ok = ok && tm && tc && tm->dtype == LPZ_ST_F64 && tc->dtype == LPZ_ST_F64 && tm->nbytes == d * 8 &&
         tc->nbytes == d * d * 8;
    ok = ok && (!s->has_classes || (th && th->dtype == LPZ_ST_I64 && th->nbytes == 8 * LPZ_CLASSIFIER_CLASSES));
    if (ok) {
        memcpy(s->mean, tm->data, d * 8);
        memcpy(s->cov, tc->data, d * d * 8);
        if (s->has_classes)
            memcpy(s->real_counts, th->data, 8 * LPZ_CLASSIFIER_CLASSES);
        for (size_t i = 0; i < d * d && ok; i++)
            ok = isfinite(s->cov[i]) && (i >= d || isfinite(s->mean[i]));
        /* a covariance: variances >= 0, symmetric (to rounding) */
        for (size_t i = 0; i < d && ok; i++)
            for (size_t j = 0; j <= i && ok; j++) {
                double a = s->cov[i * d + j], b = s->cov[j * d + i];
                ok = (i != j || a >= 0) && fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b));
            }
        for (int c = 0; s->has_classes && c < LPZ_CLASSIFIER_CLASSES && ok; c++)
            ok = s->real_counts[c] >= 0;
        if (!ok)
            lpz_log(LPZ_LOG_WARN, "%s holds impossible statistics (a damaged file?): computing them again", path);
    }
    lpz_st_free(&f);
    return ok;
}

static int save_stats(const lpz_scorer *s, const char *path, uint64_t seed, lpz_error *err)
{
    char v[4][64];
    snprintf(v[0], sizeof v[0], "%lld", (long long)lpz_dataset_get_info(s->ds)->count);
    snprintf(v[1], sizeof v[1], "%lld", (long long)s->sample_size);
    snprintf(v[2], sizeof v[2], "%llu", (unsigned long long)seed);
    snprintf(v[3], sizeof v[3], "%016llx", (unsigned long long)s->digest);
    const char *keys[] = {"lpz_kind", "dataset", "dataset_count", "sample_size", "seed", "feature_digest",
                          LPZ_DATA_DIGEST_KEY};
    const char *vals[] = {STATS_KIND, lpz_dataset_name(s->ds), v[0], v[1], v[2], v[3], s->data_digest};
    lpz_st_tensor t[3];
    memset(t, 0, sizeof t);
    t[0] = (lpz_st_tensor){(char *)"mean", LPZ_ST_F64, 1, {s->d}, s->mean, (size_t)s->d * 8};
    t[1] = (lpz_st_tensor){(char *)"cov", LPZ_ST_F64, 2, {s->d, s->d}, s->cov, (size_t)s->d * (size_t)s->d * 8};
    t[2] = (lpz_st_tensor){(char *)"label_counts", LPZ_ST_I64, 1, {LPZ_CLASSIFIER_CLASSES}, s->real_counts,
                           8 * LPZ_CLASSIFIER_CLASSES};
    return lpz_st_write(path, t, s->has_classes ? 3 : 2, keys, vals, 7, err);
}

/* Real statistics: sample_size samples drawn without replacement (every
 * sample floor(k / count) times plus a random rest when k > count). */
static int compute_stats(lpz_scorer *s, uint64_t seed, volatile int *stop, lpz_error *err)
{
    int64_t count = lpz_dataset_get_info(s->ds)->count, k = s->sample_size;
    int64_t *order = malloc((size_t)count * sizeof *order);
    float *x = malloc((size_t)(CHUNK * s->numel) * sizeof *x);
    float *f = malloc((size_t)(CHUNK * s->d) * sizeof *f); /* streamed: no k x d buffer */
    lpz_stats acc;
    int rc = lpz_stats_init(&acc, s->d, err);
    if (rc) {
        free(order), free(x), free(f);
        return rc;
    }
    if (!order || !x || !f) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for the real statistics (%lld samples)", (long long)k);
        goto done;
    }
    lpz_rng rng;
    lpz_rng_seed(&rng, seed, 0x73636f7265 /* "score" */);
    for (int64_t i = 0; i < count; i++)
        order[i] = i;
    memset(s->real_counts, 0, sizeof s->real_counts);
    /* Inception features take hours for 50,000 images on a CPU */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double last = 0;
    for (int64_t start = 0; start < k && !rc; start += CHUNK) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + 1e-9 * (double)(t.tv_nsec - t0.tv_nsec);
        lpz_score_log_progress("real-data statistics for the FID", start, k, el, &last);
        int64_t m = k - start < CHUNK ? k - start : CHUNK;
        for (int64_t i = 0; i < m && !rc; i++) {
            /* Partial Fisher-Yates, restarted for every pass over the data. */
            int64_t pos = (start + i) % count;
            int64_t j = pos + (int64_t)lpz_rng_below(&rng, (uint64_t)(count - pos)), t = order[pos];
            order[pos] = order[j], order[j] = t;
            rc = lpz_dataset_read(s->ds, order[pos], x + i * s->numel, err);
            if (!rc && s->has_classes) {
                int32_t label;
                if (!(rc = lpz_dataset_label(s->ds, order[pos], &label, err))) {
                    if (label < 0 || label >= LPZ_CLASSIFIER_CLASSES)
                        rc = lpz_error_set(err, LPZ_EFORMAT, "label %d of sample %lld is outside 0..9", (int)label,
                                           (long long)order[pos]);
                    else
                        s->real_counts[label]++;
                }
            }
        }
        if (!rc && !(rc = features_of(s, s->classifier, x, m, f, stop, NULL, err)))
            lpz_stats_add(&acc, f, m);
    }
    if (!rc)
        rc = lpz_stats_finish(&acc, s->mean, s->cov, err);
done:
    lpz_stats_free(&acc);
    free(order), free(x), free(f);
    return rc;
}

void lpz_score_log_progress(const char *what, int64_t done, int64_t total, double elapsed, double *last)
{
    if (done <= 0 || done >= total || elapsed <= 5 || elapsed - *last < 30)
        return;
    *last = elapsed;
    double left = elapsed / (double)done * (double)(total - done);
    lpz_log(LPZ_LOG_INFO, "%s: %lld of %lld samples, about %.0f %s left", what, (long long)done, (long long)total,
            left < 120 ? left : left / 60, left < 120 ? "s" : "min");
}

int lpz_scorer_check(lpz_dataset *ds, const char *feature_model, lpz_error *err)
{
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
    return lpz_scorer_check_samples(lpz_dataset_name(ds), &info->sample_shape, info->kind, feature_model, err);
}

int lpz_scorer_check_samples(const char *name, const lpz_shape *shape, lpz_sample_kind kind,
                             const char *feature_model, lpz_error *err)
{
    int64_t numel = lpz_shape_numel(shape);
    if (lpz_classifier_accepts(shape) || (kind != LPZ_SAMPLE_IMAGE && numel <= LPZ_SCORE_RAW_MAX))
        return LPZ_OK;
    if (kind == LPZ_SAMPLE_IMAGE && numel > LPZ_SCORE_RAW_MAX) {
        const lpz_shape *sh = shape;
        if (!feature_model || !feature_model[0]) {
            lpz_error_set(err, LPZ_EINVAL, "FID on %s images (%lldx%lldx%lld) needs the InceptionV3 weights, and "
                          "none are configured", name, (long long)sh->dim[0], (long long)sh->dim[1],
                          (long long)sh->dim[2]);
        } else if (access(feature_model, R_OK) == 0 && lpz_is_file(feature_model)) {
            return LPZ_OK; /* lpz_inception_open checks the rest */
        } else {
            lpz_error_set(err, LPZ_EINVAL, "%s: the InceptionV3 weights file %s", feature_model,
                          access(feature_model, F_OK) ? "does not exist" : "is not a readable regular file");
            lpz_error_where(err, "trainer.params.score.feature_model");
        }
        lpz_error_hint(err, "convert the FID Inception weights to safetensors as docs/inception.md shows and set "
                            "trainer.params.score.feature_model to that file");
        return LPZ_EINVAL;
    }
    if (kind == LPZ_SAMPLE_IMAGE) /* small images: their values */
        return LPZ_OK;
    return lpz_error_set(err, LPZ_EUNSUPPORTED,
                         "FID for %s samples of %lld values is not available: lpz scores MNIST-format images "
                         "(1x28x28) with its classifier and samples of at most %d values directly",
                         name, (long long)numel, LPZ_SCORE_RAW_MAX);
}

int lpz_scorer_create(lpz_dataset *ds, const lpz_scorer_options *o, lpz_scorer **out, lpz_error *err)
{
    *out = NULL;
    if (o->sample_size < 2)
        return lpz_error_set(err, LPZ_EINVAL, "score sample size %lld is below 2", (long long)o->sample_size);
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
    lpz_scorer *s = calloc(1, sizeof *s);
    if (!s)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    s->ds = ds;
    s->numel = lpz_dataset_numel(ds);
    s->sample_size = o->sample_size;
    s->has_classes = lpz_dataset_has_labels(ds) && info->n_classes == LPZ_CLASSIFIER_CLASSES;
    uint64_t data_digest;
    int rc = lpz_dataset_digest(ds, &data_digest, err);
    if (rc)
        goto fail;
    snprintf(s->data_digest, sizeof s->data_digest, "%016llx", (unsigned long long)data_digest);
    if (lpz_classifier_accepts(&info->sample_shape)) {
        s->kind = LPZ_FEATURES_CLASSIFIER;
        s->d = LPZ_CLASSIFIER_CLASSES;
        if ((rc = get_classifier(s, o, err)))
            goto fail;
        lpz_model_set_training(s->classifier, 0);
        if ((rc = lpz_model_reserve(s->classifier, CHUNK, err)))
            goto fail;
        s->digest = digest_model(s->classifier);
    } else if (info->kind == LPZ_SAMPLE_IMAGE && s->numel > LPZ_SCORE_RAW_MAX) {
        s->kind = LPZ_FEATURES_INCEPTION;
        s->d = LPZ_INCEPTION_FEATURES;
        s->has_classes = 0;
        s->channels = info->sample_shape.dim[0];
        s->height = info->sample_shape.dim[1];
        s->width = info->sample_shape.dim[2];
        if ((rc = lpz_scorer_check(ds, o->feature_model, err)))
            goto fail;
        if ((rc = lpz_inception_open(o->feature_model, &s->inception, err))) {
            lpz_error_context(err, "trainer.params.score.feature_model");
            goto fail;
        }
        pthread_mutex_init(&s->inception_lock, NULL);
        snprintf(s->classifier_path, sizeof s->classifier_path, "%s", o->feature_model);
        /* Cached statistics belong to this weights file (name, size, time). */
        struct stat st;
        uint64_t h = 1469598103934665603ull;
        for (const char *c = o->feature_model; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
        if (stat(o->feature_model, &st) == 0)
            h ^= ((uint64_t)st.st_size * 1099511628211ull) ^ (uint64_t)st.st_mtime;
        s->digest = h;
    } else if (s->numel <= LPZ_SCORE_RAW_MAX) {
        s->kind = LPZ_FEATURES_RAW;
        s->d = (int)s->numel;
        s->has_classes = 0;
        if (o->feature_model && o->feature_model[0]) /* a file named for nothing: say so, not silently */
            lpz_log(LPZ_LOG_WARN, "trainer.params.score.feature_model (%s) is not used: %s samples of %lld values "
                    "are scored with the values themselves as features (the feature model is for MNIST-format "
                    "and colour images)",
                    o->feature_model, lpz_dataset_name(ds), (long long)s->numel);
    } else {
        rc = lpz_scorer_check(ds, o->feature_model, err); /* not available, said */
        goto fail; /* the caller's hint names what to set: the training's score or the final scoring */
    }
    size_t dd = (size_t)s->d * (size_t)s->d;
    s->mean = malloc((size_t)s->d * sizeof(double));
    s->cov = malloc(dd * sizeof(double));
    s->cov_sqrt = malloc(dd * sizeof(double));
    if (!s->mean || !s->cov || !s->cov_sqrt) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto fail;
    }
    char path[PATH_MAX + 64] = "";
    if (o->cache_dir) {
        stats_path(s, o->cache_dir, o->seed, path, sizeof path);
        s->stats_cached = load_stats(s, path, o->seed);
    }
    if (!s->stats_cached) {
        if ((rc = compute_stats(s, o->seed, o->stop, err)))
            goto fail;
        if (o->cache_dir) {
            lpz_error e;
            lpz_error_clear(&e);
            if (lpz_mkdirs(o->cache_dir, &e) || save_stats(s, path, o->seed, &e)) {
                char buf[2048];
                lpz_log(LPZ_LOG_WARN, "real-data statistics not cached: %s", lpz_error_format(&e, buf, sizeof buf));
            }
        }
    }
    if ((rc = lpz_sym_sqrt(s->cov, s->d, s->cov_sqrt, err)))
        goto fail;
    if (info->count < s->sample_size) /* e.g. one sequence of a short capture, 50 times: a FID of little meaning */
        lpz_log(LPZ_LOG_WARN, "scores of %lld samples, but the %s data holds %lld: each real sample counts %.1f "
                "times on average in the real statistics, so the scores say little about the data's variety (use "
                "more data, or score fewer samples)",
                (long long)s->sample_size, lpz_dataset_name(ds), (long long)info->count,
                (double)s->sample_size / (double)info->count);
    *out = s;
    return LPZ_OK;
fail:
    lpz_scorer_destroy(s);
    return rc;
}

void lpz_scorer_destroy(lpz_scorer *s)
{
    if (!s)
        return;
    lpz_model_destroy(s->classifier);
    if (s->inception) {
        lpz_inception_close(s->inception);
        pthread_mutex_destroy(&s->inception_lock);
    }
    free(s->mean), free(s->cov), free(s->cov_sqrt);
    free(s);
}

void lpz_scorer_hint_skip(lpz_error *err, const char *how)
{
    if (!err)
        return;
    char had[sizeof err->hint];
    snprintf(had, sizeof had, "%s", err->hint);
    lpz_error_hint(err, "%s%s%s", had, had[0] ? ", or " : "", how);
}

lpz_feature_kind lpz_scorer_features(const lpz_scorer *s)
{
    return s->kind;
}

int lpz_scorer_has_classes(const lpz_scorer *s)
{
    return s->has_classes;
}

const char *lpz_scorer_classifier_path(const lpz_scorer *s)
{
    return s->classifier_path;
}

void lpz_scorer_identity(const lpz_scorer *s, char *out, size_t size)
{
    const char *kind = s->kind == LPZ_FEATURES_CLASSIFIER ? "classifier"
                       : s->kind == LPZ_FEATURES_INCEPTION ? "inception"
                                                           : "raw";
    snprintf(out, size, "%s-%016llx-data-%s", kind, (unsigned long long)s->digest, s->data_digest);
}

int lpz_scorer_trained_classifier(const lpz_scorer *s)
{
    return s->trained;
}

int lpz_scorer_stats_cached(const lpz_scorer *s)
{
    return s->stats_cached;
}

int lpz_score_context_create(lpz_scorer *s, lpz_score_context **out, lpz_error *err)
{
    *out = NULL;
    lpz_score_context *c = calloc(1, sizeof *c);
    if (!c)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    c->s = s;
    c->mean = malloc((size_t)s->d * sizeof(double));
    c->cov = malloc((size_t)s->d * (size_t)s->d * sizeof(double));
    int rc = LPZ_OK;
    if (!c->mean || !c->cov)
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    if (!rc && s->classifier) {
        if (!(rc = lpz_model_clone(s->classifier, &c->model, err))) {
            lpz_model_set_training(c->model, 0);
            rc = lpz_model_reserve(c->model, CHUNK, err);
        }
    }
    if (rc) {
        lpz_score_context_destroy(c);
        return rc;
    }
    *out = c;
    return LPZ_OK;
}

int lpz_score_context_set_metric(lpz_score_context *c, lpz_score_metric metric, lpz_error *err)
{
    if (metric != LPZ_METRIC_FID && metric != LPZ_METRIC_IS)
        return lpz_error_set(err, LPZ_EINVAL, "unknown score metric %d", (int)metric);
    if (metric == LPZ_METRIC_IS && !c->s->has_classes)
        return lpz_error_set(err, LPZ_EUNSUPPORTED,
                             "the inception score needs class probabilities, which lpz has for labelled MNIST-format "
                             "images (the classifier's 10 classes) only; these samples are scored with %s",
                             c->s->kind == LPZ_FEATURES_RAW         ? "their values as features"
                             : c->s->kind == LPZ_FEATURES_INCEPTION ? "InceptionV3 pool features"
                                                                    : "a classifier on data without 10 classes");
    c->metric = metric;
    return LPZ_OK;
}

lpz_score_metric lpz_score_context_metric(const lpz_score_context *c)
{
    return c->metric;
}

int lpz_score_context_set_parallel(lpz_score_context *c, lpz_run2_fn run2, void *runner, lpz_error *err)
{
    if (!c->model || c->s->kind != LPZ_FEATURES_CLASSIFIER)
        return LPZ_OK;
    if (!c->model2) {
        int rc = lpz_model_clone(c->s->classifier, &c->model2, err);
        if (rc)
            return rc;
        lpz_model_set_training(c->model2, 0);
        if ((rc = lpz_model_reserve(c->model2, CHUNK, err))) {
            lpz_model_destroy(c->model2);
            c->model2 = NULL;
            return rc;
        }
    }
    c->run2 = run2;
    c->runner = runner;
    return LPZ_OK;
}

void lpz_score_context_set_stop(lpz_score_context *c, volatile int *stop)
{
    c->stop = stop;
}

void lpz_score_context_set_progress(lpz_score_context *c, lpz_score_progress_fn fn, void *arg)
{
    c->progress = fn;
    c->progress_arg = arg;
}

typedef struct features_job {
    lpz_score_context *c;
    const float *x;
    float *f; /* n x d */
    int64_t n, mid; /* part 0: samples [0, mid), part 1: [mid, n) */
    int rc[2];
    lpz_error err[2];
} features_job;

static void features_part(void *arg, int k)
{
    features_job *j = arg;
    lpz_score_context *c = j->c;
    const lpz_scorer *s = c->s;
    int64_t from = k ? j->mid : 0, to = k ? j->n : j->mid;
    j->rc[k] = features_of(s, k ? c->model2 : c->model, j->x + from * s->numel, to - from,
                           j->f + from * s->d, c->stop, c, &j->err[k]);
}

/* Features of n samples into f (n x d), in two halves when the context is
 * parallel and the sample has at least two chunks. */
static int context_features(lpz_score_context *c, const float *x, int64_t n, float *f, lpz_error *err)
{
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
    /* not Inception's: it runs under a lock, and its groups of 10 would
     * start at the split */
    if (!c->run2 || chunks < 2 || c->s->kind == LPZ_FEATURES_INCEPTION)
        return features_of(c->s, c->model, x, n, f, c->stop, c, err);
    /* whole chunks: the rows one thread would pass together */
    features_job j = {.c = c, .x = x, .f = f, .n = n, .mid = (chunks + 1) / 2 * CHUNK};
    c->run2(c->runner, features_part, &j);
    for (int k = 0; k < 2; k++)
        if (j.rc[k]) {
            if (err)
                *err = j.err[k];
            return j.rc[k];
        }
    return LPZ_OK;
}

void lpz_score_context_destroy(lpz_score_context *c)
{
    if (!c)
        return;
    lpz_model_destroy(c->model);
    lpz_model_destroy(c->model2);
    free(c->mean), free(c->cov);
    free(c);
}

/* first: the number of the first of the n samples, for the message */
static int check_samples(const lpz_scorer *s, const float *x, int64_t n, int64_t first, lpz_error *err)
{
    for (int64_t i = 0; i < n * s->numel; i++)
        if (!isfinite(x[i]))
            return lpz_error_set(err, LPZ_EINVAL, "sample %lld has a non-finite value (element %lld)",
                                 (long long)(first + i / s->numel), (long long)(i % s->numel));
    return LPZ_OK;
}

int lpz_score_feature_dim(const lpz_score_context *c)
{
    return c->s->d;
}

int lpz_score_features(lpz_score_context *c, const float *samples, int64_t n, float *out, lpz_error *err)
{
    int rc = check_samples(c->s, samples, n, 0, err);
    return rc ? rc : context_features(c, samples, n, out, err);
}

int lpz_score_fid_of_features(lpz_score_context *c, const float *features, int64_t n, double *fid, lpz_error *err)
{
    if (n < 2)
        return lpz_error_set(err, LPZ_EINVAL, "scores need at least 2 samples (got %lld)", (long long)n);
    lpz_stats acc;
    int rc = lpz_stats_init(&acc, c->s->d, err);
    if (rc)
        return rc;
    lpz_stats_add(&acc, features, n);
    rc = lpz_score_fid_of_stats(c, &acc, fid, err);
    lpz_stats_free(&acc);
    return rc;
}

int lpz_score_fid_of_stats(lpz_score_context *c, lpz_stats *acc, double *fid, lpz_error *err)
{
    const lpz_scorer *s = c->s;
    if (acc->d != s->d)
        return lpz_error_set(err, LPZ_EINVAL, "statistics of %d features, the scorer's have %d", acc->d, s->d);
    int rc = lpz_stats_finish(acc, c->mean, c->cov, err); /* refuses fewer than 2 rows */
    return rc ? rc : lpz_fid_from_stats(s->mean, s->cov, s->cov_sqrt, c->mean, c->cov, s->d, fid, err);
}

/* A stream passes its samples to the classifier (or Inception) in groups
 * that start at multiples of STREAM_GRANULE counted from the stream's first
 * sample, whatever the pieces it is given: a model's output for a row may
 * differ in its last bits with the number of rows passed with it (BLAS picks
 * other kernels for one row than for 16), and lpz score's blocks, or a
 * caller's pieces, must not change the scores. STREAM_GRANULE is a multiple
 * of CHUNK (the classifier's rows per pass) and of 10 (Inception's). */
#define STREAM_GRANULE (5 * CHUNK)
/* Samples featurised at a time: whole granules, enough of them for the
 * two-thread split (lpz_score_context_set_parallel). */
#define STREAM_PIECE (8 * STREAM_GRANULE)

struct lpz_score_stream {
    lpz_score_context *c;
    float *f; /* STREAM_PIECE x d features */
    float *stage; /* up to STREAM_GRANULE - 1 samples that wait for the rest of their granule */
    int64_t staged, added; /* samples in stage; samples given to the stream */
    int failed;            /* a piece failed after it was counted: the scores would miss samples */
    lpz_stats stats;
    lpz_is_acc is;
    int64_t counts[LPZ_CLASSIFIER_CLASSES]; /* arg max classes */
};

int lpz_score_stream_open(lpz_score_context *c, lpz_score_stream **out, lpz_error *err)
{
    *out = NULL;
    lpz_score_stream *st = calloc(1, sizeof *st);
    if (!st)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    st->c = c;
    st->f = malloc((size_t)STREAM_PIECE * (size_t)c->s->d * sizeof *st->f);
    st->stage = malloc((size_t)STREAM_GRANULE * (size_t)c->s->numel * sizeof *st->stage);
    int rc = st->f && st->stage ? lpz_stats_init(&st->stats, c->s->d, err)
                                : lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    if (rc) {
        free(st->f), free(st->stage);
        free(st);
        return rc;
    }
    lpz_is_init(&st->is, c->s->d);
    *out = st;
    return LPZ_OK;
}

/* Features of k (at most STREAM_PIECE) samples into the accumulators. */
static int stream_take(lpz_score_stream *st, const float *x, int64_t k, lpz_error *err)
{
    const lpz_scorer *s = st->c->s;
    int rc = context_features(st->c, x, k, st->f, err);
    if (rc)
        return rc;
    lpz_stats_add(&st->stats, st->f, k);
    if (!s->has_classes)
        return LPZ_OK;
    lpz_is_add(&st->is, st->f, k);
    for (int64_t r = 0; r < k; r++) {
        const float *z = st->f + r * s->d;
        int arg = 0;
        for (int q = 1; q < s->d; q++)
            if (z[q] > z[arg])
                arg = q;
        st->counts[arg]++;
    }
    return LPZ_OK;
}

int lpz_score_stream_add(lpz_score_stream *st, const float *x, int64_t n, lpz_error *err)
{
    const lpz_scorer *s = st->c->s;
    if (n < 0)
        return lpz_error_set(err, LPZ_EINVAL, "a negative number of samples (%lld)", (long long)n);
    if (st->failed)
        return lpz_error_set(err, LPZ_EINVAL, "a score stream whose last piece failed takes no more samples");
    int rc = check_samples(s, x, n, st->added, err);
    if (rc)
        return rc; /* nothing of the piece was taken: the stream goes on */
    st->added += n;
    st->failed = 1; /* until the piece is in */
    if (st->staged) { /* complete the waiting granule first */
        int64_t k = STREAM_GRANULE - st->staged < n ? STREAM_GRANULE - st->staged : n;
        memcpy(st->stage + st->staged * s->numel, x, (size_t)(k * s->numel) * sizeof *x);
        st->staged += k, x += k * s->numel, n -= k;
        if (st->staged < STREAM_GRANULE) {
            st->failed = 0;
            return LPZ_OK;
        }
        st->staged = 0;
        if ((rc = stream_take(st, st->stage, STREAM_GRANULE, err)))
            return rc;
    }
    int64_t whole = n / STREAM_GRANULE * STREAM_GRANULE;
    for (int64_t i = 0; i < whole; i += STREAM_PIECE)
        if ((rc = stream_take(st, x + i * s->numel, whole - i < STREAM_PIECE ? whole - i : STREAM_PIECE, err)))
            return rc;
    st->staged = n - whole;
    memcpy(st->stage, x + whole * s->numel, (size_t)(st->staged * s->numel) * sizeof *x);
    st->failed = 0;
    return LPZ_OK;
}

int lpz_score_stream_finish(lpz_score_stream *st, lpz_scores *out, lpz_error *err)
{
    const lpz_scorer *s = st->c->s;
    int64_t n = st->added;
    if (st->failed)
        return lpz_error_set(err, LPZ_EINVAL, "a score stream whose last piece failed has no scores");
    if (n < 2)
        return lpz_error_set(err, LPZ_EINVAL, "scores need at least 2 samples (got %lld)", (long long)n);
    int rc = LPZ_OK;
    if (st->staged) { /* the last, partial granule */
        int64_t k = st->staged;
        st->staged = 0;
        if ((rc = stream_take(st, st->stage, k, err))) {
            st->failed = 1;
            return rc;
        }
    }
    rc = lpz_score_fid_of_stats(st->c, &st->stats, &out->fid, err);
    if (rc)
        return rc;
    out->n = n;
    out->inception_score = s->has_classes ? lpz_is_finish(&st->is) : NAN;
    out->tvd = s->has_classes ? lpz_tvd(st->counts, s->real_counts, LPZ_CLASSIFIER_CLASSES) : NAN;
    return LPZ_OK;
}

void lpz_score_stream_close(lpz_score_stream *st)
{
    if (!st)
        return;
    lpz_stats_free(&st->stats);
    free(st->f), free(st->stage);
    free(st);
}

int lpz_score_samples(lpz_score_context *c, const float *x, int64_t n, lpz_scores *out, lpz_error *err)
{
    if (n < 2)
        return lpz_error_set(err, LPZ_EINVAL, "scores need at least 2 samples (got %lld)", (long long)n);
    lpz_score_stream *st;
    int rc = lpz_score_stream_open(c, &st, err);
    if (rc)
        return rc;
    if (!(rc = lpz_score_stream_add(st, x, n, err)))
        rc = lpz_score_stream_finish(st, out, err);
    lpz_score_stream_close(st);
    return rc;
}

int lpz_score_fid(lpz_score_context *c, const float *samples, int64_t n, double *fid, lpz_error *err)
{
    lpz_scores sc;
    int rc = lpz_score_samples(c, samples, n, &sc, err);
    if (!rc)
        *fid = sc.fid;
    return rc;
}

int lpz_score_open_dataset(const lpz_plugin *plugin, const lpz_options *options, const char *output_dir,
                           const char *config_dir, lpz_split split, lpz_dataset_check check, void *user,
                           lpz_dataset **out, char *cache_dir, size_t cache_dir_size, lpz_error *err)
{
    *out = NULL;
    char abs[PATH_MAX], top[PATH_MAX];
    /* The folders exist while the dataloader opens (lpz/dataloader.h); the
     * ones made here and left empty go again (the scorer and lpz classifier
     * make the cache folder when they write into it). */
    lpz_missing_top(output_dir, top, sizeof top);
    int rc = lpz_mkdirs(output_dir, err);
    if (rc)
        return rc;
    if (!realpath(output_dir, abs))
        snprintf(abs, sizeof abs, "%s", output_dir);
    if (snprintf(cache_dir, cache_dir_size, "%s/cache", abs) >= (int)cache_dir_size) {
        lpz_rmdirs_empty(output_dir, top);
        return lpz_error_set(err, LPZ_EINVAL, "general.output_dir is too long");
    }
    char cache_top[PATH_MAX + 16];
    lpz_missing_top(cache_dir, cache_top, sizeof cache_top);
    if ((rc = lpz_mkdirs(cache_dir, err))) {
        lpz_rmdirs_empty(output_dir, top);
        return rc;
    }
    lpz_dataset_context ctx = {sizeof ctx, options, abs, cache_dir, config_dir && config_dir[0] ? config_dir : ".",
                               NULL, split};
    rc = lpz_dataset_open_checked(plugin, &ctx, check, user, out, err);
    lpz_rmdirs_empty(cache_dir, cache_top);
    lpz_rmdirs_empty(output_dir, top);
    return rc;
}
