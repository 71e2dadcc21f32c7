/* core/runtime/final_score.c - master.calculate_score: every cell's final
 * mixture scored once more, at the end, with master.score_sample_size
 * samples (the original's master scored the results it gathered, with
 * 50,000 samples by default, and named the best), for the local run and
 * the distributed master alike. The scores go to <run>/final_scores.csv,
 * so that a resumed run takes them instead of scoring again. See run.h. */
#include "runtime/run.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lpz/log.h>

#include "config/options_internal.h"
#include "io/fsutil.h"
#include "runtime/checkpoint.h"
#include "runtime/units.h"
#include "score/score.h"

#include <sys/stat.h>

#define MAX_FILE ((size_t)1 << 24)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- small CSV files (metrics.csv, final_scores.csv) ---------------------
 * lpz writes them without quotes: fields are split at commas. */

/* Splits the line at *pos (up to its newline) into at most max fields,
 * in place; moves *pos past the line. The number of fields, 0 at the end. */
static int csv_line(char **pos, char **fields, int max)
{
    char *s = *pos;
    if (!*s)
        return 0;
    char *nl = strchr(s, '\n');
    *pos = nl ? nl + 1 : s + strlen(s);
    if (nl)
        *nl = '\0';
    if (nl > s && nl[-1] == '\r')
        nl[-1] = '\0';
    int n = 0;
    for (char *f = s; n < max;) {
        fields[n++] = f;
        char *c = strchr(f, ',');
        if (!c)
            break;
        *c = '\0';
        f = c + 1;
    }
    return n;
}

/* The index of column `name` in a header of n fields, -1 when absent. */
static int csv_column(char *const *header, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(header[i], name))
            return i;
    return -1;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

/* "" is NAN; else a finite number. */
static int parse_score(const char *s, double *out)
{
    if (!*s) {
        *out = NAN;
        return 1;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* ---- final_scores.csv ------------------------------------------------------ */

/* A cell's row: the iterations its final mixture was made after, and its
 * final FID over `samples` samples with the scorer `features`
 * (lpz_scorer_identity; "" in files of an lpz before 0.1's column) (0,
 * NAN and "" while it is not scored). iterations < 0: no row. */
typedef struct final_row {
    long iterations;
    long samples;
    double fid;
    char features[64];
} final_row;

static void clear_rows(final_row *rows, int n)
{
    for (int c = 0; c < n; c++)
        rows[c] = (final_row){-1, 0, NAN, ""};
}

/* A scorer identity as lpz_scorer_identity writes it: letters, digits, '-'. */
static int parse_features(const char *s, char *out, size_t size)
{
    size_t n = strlen(s);
    if (n >= size)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    memcpy(out, s, n + 1);
    return 1;
}

/* Reads run_dir/final_scores.csv into rows[0..n_cells) (cleared first). A
 * missing file is no rows; a line that is not a row of this run is left out,
 * with one warning per file unless quiet. */
static void read_rows(const char *run_dir, int n_cells, final_row *rows, int quiet)
{
    clear_rows(rows, n_cells);
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", run_dir, LPZ_FINAL_SCORES_FILE);
    if (!lpz_is_file(path))
        return;
    char *data;
    size_t size;
    lpz_error err;
    if (lpz_read_file(path, MAX_FILE, &data, &size, &err)) {
        if (!quiet)
            lpz_log(LPZ_LOG_WARN, "%s not read (its cells are scored again): %s", path, err.message);
        return;
    }
    char *pos = data, *f[8];
    int nh = csv_line(&pos, f, 8);
    int ic = csv_column(f, nh, "cell"), ii = csv_column(f, nh, "iterations"), is = csv_column(f, nh, "samples"),
        iv = csv_column(f, nh, "fid"), ifeat = csv_column(f, nh, "features"); /* no features: an older file */
    if (ic < 0 || ii < 0 || is < 0 || iv < 0) {
        if (!quiet)
            lpz_log(LPZ_LOG_WARN, "%s has no header 'cell,iterations,samples,fid'; its scores are not used", path);
        free(data);
        return;
    }
    int bad = 0, line = 1;
    char *seen = calloc((size_t)n_cells + 1, 1); /* 1: a row read, 2: a cell listed twice */
    for (int n; seen && (n = csv_line(&pos, f, 8)) > 0;) {
        line++;
        long cell, it, samples = 0;
        final_row r = {0, 0, NAN, ""};
        int ok = n == nh && parse_long(f[ic], 0, n_cells - 1, &cell) && parse_long(f[ii], 0, INT_MAX, &it) &&
                 (!*f[is] || parse_long(f[is], 2, LONG_MAX, &samples)) && parse_score(f[iv], &r.fid) &&
                 !*f[is] == !!isnan(r.fid) && !(r.fid < 0) &&
                 (ifeat < 0 || (parse_features(f[ifeat], r.features, sizeof r.features) &&
                                !(r.features[0] && isnan(r.fid)))); /* "": not recorded (an older file) */
        if (!ok) {
            if (!bad++ && !quiet)
                lpz_log(LPZ_LOG_WARN, "%s:%d: not a row 'cell,iterations,samples,fid,features' of this %d-cell run; "
                        "left out (that cell is scored again)", path, line, n_cells);
            continue;
        }
        if (seen[cell]) { /* which of the two holds the score is not known: neither is taken */
            if (seen[cell] == 1 && !quiet)
                lpz_log(LPZ_LOG_WARN, "%s:%d: cell %ld is listed a second time; neither row is used (that cell is "
                        "scored again)", path, line, cell);
            seen[cell] = 2;
            continue;
        }
        seen[cell] = 1;
        r.iterations = it;
        r.samples = samples;
        rows[cell] = r;
    }
    for (int c = 0; seen && c < n_cells; c++)
        if (seen[c] == 2)
            clear_rows(&rows[c], 1);
    free(seen);
    free(data);
}

/* Writes rows (the cells with iterations >= 0) atomically. */
static int write_rows(const char *run_dir, int n_cells, const final_row *rows, lpz_error *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", run_dir, LPZ_FINAL_SCORES_FILE);
    lpz_atomic_file f;
    int rc = lpz_atomic_open(&f, path, err);
    if (rc)
        return rc;
    fprintf(f.fp, "cell,iterations,samples,fid,features\n");
    for (int c = 0; c < n_cells; c++) {
        if (rows[c].iterations < 0)
            continue;
        if (isnan(rows[c].fid)) /* %.17g: the score read back is the one computed, bit for bit */
            fprintf(f.fp, "%d,%ld,,,\n", c, rows[c].iterations);
        else
            fprintf(f.fp, "%d,%ld,%ld,%.17g,%s\n", c, rows[c].iterations, rows[c].samples, rows[c].fid,
                    rows[c].features);
    }
    return lpz_atomic_commit(&f, err);
}

int lpz_run_trained_for_final(const char *run_dir, int n_cells, int n_iterations)
{
    final_row *rows = malloc((size_t)n_cells * sizeof *rows);
    if (!rows)
        return 0;
    read_rows(run_dir, n_cells, rows, 1);
    int all = n_cells > 0;
    for (int c = 0; c < n_cells && all; c++)
        all = rows[c].iterations == n_iterations;
    free(rows);
    return all;
}

int lpz_run_training_complete(const char *run_dir, int n_cells, int n_iterations)
{
    int all = n_cells > 0 && n_iterations > 0;
    for (int c = 0; c < n_cells && all; c++) {
        char ckpt[PATH_MAX + 64], mix[PATH_MAX + 64];
        snprintf(ckpt, sizeof ckpt, "%s/checkpoints/cell-%d.safetensors", run_dir, c);
        snprintf(mix, sizeof mix, "%s/master/%d/mixture.yml", run_dir, c);
        struct stat sc, sm;
        int it = -1;
        lpz_error err;
        all = stat(ckpt, &sc) == 0 && stat(mix, &sm) == 0 && S_ISREG(sm.st_mode) &&
              (sm.st_mtim.tv_sec > sc.st_mtim.tv_sec ||
               (sm.st_mtim.tv_sec == sc.st_mtim.tv_sec && sm.st_mtim.tv_nsec >= sc.st_mtim.tv_nsec)) &&
              lpz_checkpoint_iteration(run_dir, c, &it, &err) == LPZ_OK && it == n_iterations;
    }
    return all;
}

/* ---- scoring ------------------------------------------------------------- */

/* The data to score against (opened here for a process that has not
 * opened them), the scorer and its context. */
typedef struct final_scorer {
    const lpz_plugin *dl_plugin, *net_plugin;
    lpz_options *dl_opts, *net_opts;
    lpz_dataset *own_ds, *ds;
    char own_cache[4096];
    lpz_scorer *scorer;
    lpz_score_context *ctx;
    char identity[64]; /* lpz_scorer_identity */
    int unavailable;   /* no FID for these samples (lpz_scorer_check) */
} final_scorer;

static int scorer_open(const lpz_final_request *rq, final_scorer *fs, lpz_error *err)
{
    const lpz_config *cfg = rq->cfg;
    memset(fs, 0, sizeof *fs);
    fs->ds = rq->ds;
    fs->net_plugin = rq->net_plugin;
    const char *cache = rq->cache_dir;
    int rc = LPZ_OK;
    if (!fs->ds) {
        if (!rq->registry)
            return lpz_error_set(err, LPZ_EINVAL, "no plugins to score with");
        rc = lpz_run_plugin(rq->registry, cfg, LPZ_PLUGIN_DATALOADER, &fs->dl_plugin, &fs->dl_opts, err);
        if (!rc)
            rc = lpz_run_plugin(rq->registry, cfg, LPZ_PLUGIN_NETWORK, &fs->net_plugin, &fs->net_opts, err);
        if (!rc)
            rc = lpz_score_open_dataset(fs->dl_plugin, fs->dl_opts, cfg->general.output_dir, cfg->source_dir,
                                        LPZ_SPLIT_TRAIN, NULL, NULL, &fs->own_ds, fs->own_cache,
                                        sizeof fs->own_cache, err);
        if (rc)
            return rc;
        fs->ds = fs->own_ds;
        cache = fs->own_cache;
    }
    lpz_scorer_options so = {0};
    so.feature_model = cfg->trainer.params.score.feature_model;
    so.cache_dir = cache;
    so.sample_size = cfg->master.score_sample_size;
    so.seed = LPZ_SCORE_REAL_SEED;
    so.stop = rq->stop; /* also during the real statistics of a first scoring with this many samples */
    rc = lpz_scorer_create(fs->ds, &so, &fs->scorer, err);
    if (rc == LPZ_EINVAL || rc == LPZ_EUNSUPPORTED)
        lpz_scorer_hint_skip(err, "set master.calculate_score to false");
    fs->unavailable = rc == LPZ_EUNSUPPORTED;
    if (!rc)
        rc = lpz_score_context_create(fs->scorer, &fs->ctx, err);
    if (rc)
        return rc;
    lpz_score_context_set_stop(fs->ctx, rq->stop); /* within a cell's 50,000 samples, not only between cells */
    lpz_scorer_identity(fs->scorer, fs->identity, sizeof fs->identity);
    return LPZ_OK;
}

static void scorer_close(final_scorer *fs)
{
    lpz_score_context_destroy(fs->ctx);
    lpz_scorer_destroy(fs->scorer);
    lpz_dataset_close(fs->own_ds);
    lpz_options_destroy(fs->net_opts);
    lpz_options_destroy(fs->dl_opts);
    memset(fs, 0, sizeof *fs);
}

/* A cell's final scoring with InceptionV3 features (about 0.13 s a sample:
 * 50,000 take nearly two hours): a log line every 30 s. */
typedef struct score_progress {
    char what[48]; /* "cell 3: final scoring" */
    int64_t done, total;
    double t0, last;
} score_progress;

static void on_progress(void *arg, int64_t k)
{
    score_progress *p = arg;
    p->done += k;
    lpz_score_log_progress(p->what, p->done, p->total, now_s() - p->t0, &p->last);
}

/* Scores the cells of rows without a score (and with a mixture), writing
 * rows to final_scores.csv after each when `save`. *done counts the cells
 * scored, *unscored the ones left unscored with a warning. */
static int score_cells(const lpz_final_request *rq, final_scorer *fs, final_row *rows, double *scores, int save,
                       int *done, int *unscored, lpz_error *err)
{
    const lpz_config *cfg = rq->cfg;
    int64_t n = cfg->master.score_sample_size;
    const lpz_dataset_info *info = lpz_dataset_get_info(fs->ds);
    char run_cfg[PATH_MAX + 32]; /* named in the hint of a units mismatch */
    snprintf(run_cfg, sizeof run_cfg, "%s/config.yml", rq->run_dir);
    int rc = LPZ_OK;
    for (int c = 0; c < rq->n_cells && !rc; c++) {
        if (rows[c].iterations < 0 || !isnan(rows[c].fid))
            continue;
        if (rq->stop && __atomic_load_n(rq->stop, __ATOMIC_SEQ_CST)) {
            rc = lpz_error_set(err, LPZ_ECANCELED, "stopped");
            break;
        }
        char dir[PATH_MAX + 32], yml[PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s/master/%d", rq->run_dir, c);
        snprintf(yml, sizeof yml, "%s/mixture.yml", dir);
        if (!lpz_is_file(yml)) {
            lpz_log(LPZ_LOG_WARN, "cell %d: no final mixture (%s) to score", c, yml);
            (*unscored)++;
            continue;
        }
        /* The mixture trained on the data this process scores against: a
         * distributed client's file may differ from the master's, and a
         * resume that only scores may find the data changed since the
         * training. Scored against data scaled otherwise, the FID would
         * mean nothing: the cell is left unscored (a later --resume with
         * the right data scores it). */
        lpz_error uerr;
        lpz_error_clear(&uerr);
        if (lpz_units_record_check(dir, cfg, run_cfg, fs->ds, &uerr)) {
            char buf[2048];
            lpz_log(LPZ_LOG_WARN, "cell %d: final mixture not scored: %s", c,
                    lpz_error_format(&uerr, buf, sizeof buf));
            (*unscored)++;
            continue;
        }
        lpz_log(LPZ_LOG_DEBUG, "cell %d: scoring the final mixture (%lld samples)", c, (long long)n);
        lpz_mixture mix;
        memset(&mix, 0, sizeof mix);
        rc = lpz_mixture_open(dir, NULL, fs->net_plugin, &info->sample_shape, &cfg->network.options, &mix, err);
        lpz_rng rng; /* per cell: a cell's score does not depend on which cells were scored before it */
        lpz_rng_seed(&rng, (uint64_t)cfg->general.seed, 0x66696e616c /* "final" */ + (uint64_t)c);
        double fid = NAN;
        score_progress sp = {"", 0, n, now_s(), 0};
        snprintf(sp.what, sizeof sp.what, "cell %d: final scoring", c);
        lpz_score_context_set_progress(fs->ctx, on_progress, &sp);
        if (!rc)
            rc = lpz_mixture_score(fs->ctx, mix.gens, mix.weights, mix.n, n,
                                   (lpz_mix_mode)cfg->trainer.mixture_generator_samples_mode, &rng, &fid, err);
        lpz_score_context_set_progress(fs->ctx, NULL, NULL);
        lpz_mixture_close(&mix);
        if (rc) {
            if (rc != LPZ_ECANCELED)
                lpz_error_context(err, "scoring the mixture of cell %d (%s)", c, dir);
            break;
        }
        scores[c] = fid;
        rows[c].samples = (long)n;
        rows[c].fid = fid;
        snprintf(rows[c].features, sizeof rows[c].features, "%s", fs->identity);
        (*done)++;
        lpz_log(LPZ_LOG_INFO, "cell %d: final mixture FID %.4f (%lld samples)", c, fid, (long long)n);
        lpz_error werr;
        if (save && write_rows(rq->run_dir, rq->n_cells, rows, &werr))
            lpz_log(LPZ_LOG_WARN, "final score of cell %d not saved: %s", c, werr.message);
    }
    return rc;
}

void lpz_run_final_scoring(const lpz_final_request *rq, double *scores, lpz_final_outcome *out)
{
    const lpz_config *cfg = rq->cfg;
    if (rq->scoring) /* a Ctrl-C from now on stops the scoring, not a training */
        __atomic_store_n(rq->scoring, 1, __ATOMIC_SEQ_CST);
    double t0 = now_s();
    long n = (long)cfg->master.score_sample_size;
    memset(out, 0, sizeof *out);
    out->samples = n;
    for (int c = 0; c < rq->n_cells; c++)
        scores[c] = NAN;
    final_row *rows = malloc((size_t)rq->n_cells * sizeof *rows), *old = malloc((size_t)rq->n_cells * sizeof *old);
    final_scorer fs;
    memset(&fs, 0, sizeof fs);
    lpz_error err;
    lpz_error_clear(&err);
    int rc = LPZ_OK;
    if (!rows || !old) {
        rc = lpz_error_set(&err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    /* Scores of an earlier scoring of the same mixtures (the same cell
     * after as many iterations) with as many samples, the same features
     * and the same data are taken as they are: scoring again would draw
     * other samples and give other numbers. */
    read_rows(rq->run_dir, rq->n_cells, old, 0);
    clear_rows(rows, rq->n_cells);
    int other_size = 0, trained_on = 0, with_features = 0;
    long other_n = 0;
    for (int c = 0; c < rq->n_cells; c++) {
        if (rq->iterations[c] < 0)
            continue; /* no mixture (a lost cell) */
        out->cells++;
        rows[c].iterations = rq->iterations[c];
        if (isnan(old[c].fid))
            continue;
        if (old[c].iterations != rq->iterations[c]) {
            trained_on++;
        } else if (old[c].samples != n) {
            other_size++;
            other_n = old[c].samples;
        } else {
            rows[c] = old[c];
            scores[c] = old[c].fid;
            out->reused++;
            with_features += old[c].features[0] != '\0';
        }
    }
    if (other_size)
        lpz_log(LPZ_LOG_INFO, "master.calculate_score: %s holds the final scores of %d cell%s over %ld samples, "
                "master.score_sample_size is %ld: scoring %s again", LPZ_FINAL_SCORES_FILE, other_size,
                other_size == 1 ? "" : "s", other_n, n, other_size == 1 ? "it" : "them");
    if (trained_on)
        lpz_log(LPZ_LOG_INFO, "master.calculate_score: %d cell%s trained on since %s was written: scoring %s again",
                trained_on, trained_on == 1 ? "" : "s", LPZ_FINAL_SCORES_FILE, trained_on == 1 ? "it" : "them");
    /* Written before the first cell is scored: it also says that the
     * training is complete (lpz_run_trained_for_final). Not fatal: the
     * scores are still computed and reported. */
    int save = 1;
    lpz_error werr;
    char wbuf[2048];
    if (write_rows(rq->run_dir, rq->n_cells, rows, &werr)) {
        save = 0;
        lpz_log(LPZ_LOG_WARN, "master.calculate_score: the final scores will not be saved: %s",
                    lpz_error_format(&werr, wbuf, sizeof wbuf));
    }
    /* The scorer: for the cells to score, and to check that the saved
     * scores were measured with the features and data at hand (a feature
     * model set since, a classifier trained anew, other data: a saved FID
     * would not compare with the others, nor mean what the summary says).
     * Saved scores of an lpz that did not record the features are taken. */
    if (out->cells > out->reused || with_features) {
        lpz_error serr;
        lpz_error_clear(&serr);
        rc = scorer_open(rq, &fs, &serr);
        if (rc && rc != LPZ_ECANCELED && out->reused == out->cells) {
            char buf[2048];
            lpz_log(LPZ_LOG_WARN, "master.calculate_score: the saved final scores are taken unchecked: whether they "
                    "were measured with these features and data is not known (%s)",
                    lpz_error_format(&serr, buf, sizeof buf));
            rc = LPZ_OK;
        } else if (rc) {
            err = serr;
            goto done;
        }
    }
    int other_features = 0;
    for (int c = 0; c < rq->n_cells; c++) {
        if (isnan(rows[c].fid) || !rows[c].features[0] || !fs.scorer || !strcmp(rows[c].features, fs.identity))
            continue;
        lpz_log(LPZ_LOG_DEBUG, "cell %d: final score of %s measured with %s, the scorer now is %s", c,
                LPZ_FINAL_SCORES_FILE, rows[c].features, fs.identity);
        rows[c] = (final_row){rows[c].iterations, 0, NAN, ""};
        scores[c] = NAN;
        out->reused--;
        other_features++;
    }
    if (other_features) {
        const char *now = lpz_scorer_classifier_path(fs.scorer);
        lpz_log(LPZ_LOG_INFO, "master.calculate_score: %s holds the final scores of %d cell%s measured with other "
                "features or other data than this scoring's (features: %s): scoring %s again", LPZ_FINAL_SCORES_FILE,
                other_features, other_features == 1 ? "" : "s", now[0] ? now : "raw sample values",
                other_features == 1 ? "it" : "them");
        if (save && write_rows(rq->run_dir, rq->n_cells, rows, &werr))
            lpz_log(LPZ_LOG_WARN, "master.calculate_score: the final scores will not be saved: %s",
                    lpz_error_format(&werr, wbuf, sizeof wbuf));
    }
    for (int c = 0; c < rq->n_cells; c++)
        if (rq->iterations[c] >= 0 && !isnan(rows[c].fid))
            lpz_log(LPZ_LOG_INFO, "cell %d: final mixture FID %.4f (%ld samples; from %s)", c, rows[c].fid, n,
                    LPZ_FINAL_SCORES_FILE);
    if (out->reused == out->cells) {
        if (out->cells)
            lpz_log(LPZ_LOG_INFO, "master.calculate_score: the final scores of every cell over %ld samples are in "
                    "%s/%s: not scored again", n, rq->run_dir, LPZ_FINAL_SCORES_FILE);
        goto done;
    }
    lpz_log(LPZ_LOG_INFO, "master.calculate_score: scoring the final mixtures of %d cell%s with %ld samples each "
            "(FID; master.score_sample_size)", out->cells - out->reused, out->cells - out->reused == 1 ? "" : "s", n);
    rc = score_cells(rq, &fs, rows, scores, save, &out->scored, &out->unscored, &err);
done:;
    int unavailable = fs.unavailable;
    scorer_close(&fs);
    out->seconds = now_s() - t0;
    if (rc == LPZ_ECANCELED) {
        out->state = LPZ_FINAL_STOPPED;
        lpz_log(LPZ_LOG_WARN, "master.calculate_score stopped with %d of %d cells scored (%s); the training is "
                "complete: --resume scores the other cells", out->scored + out->reused, out->cells,
                LPZ_FINAL_SCORES_FILE);
    } else if (rc) {
        out->state = unavailable ? LPZ_FINAL_UNAVAILABLE : LPZ_FINAL_FAILED;
        char buf[2048];
        lpz_log(LPZ_LOG_WARN, "%s; no final scores", lpz_error_format(&err, buf, sizeof buf));
    } else if (out->unscored) {
        out->state = LPZ_FINAL_INCOMPLETE;
        lpz_log(LPZ_LOG_WARN, "master.calculate_score: %d of %d cells scored, %d not (the warnings above say why); "
                "the best cell is named from the last iteration's scores", out->scored + out->reused, out->cells,
                out->unscored);
    } else {
        out->state = LPZ_FINAL_DONE;
        if (out->scored)
            lpz_log(LPZ_LOG_INFO, "master.calculate_score: %d cell%s scored in %.1f s", out->scored,
                    out->scored == 1 ? "" : "s", out->seconds);
    }
    free(rows);
    free(old);
}

/* ---- results ------------------------------------------------------------- */

int lpz_run_lowest_score(const double *scores, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (!isnan(scores[i]) && (best < 0 || scores[i] < scores[best]))
            best = i;
    return best;
}

int lpz_run_best_cell(int n, const double *score, const double *fitness, const int *present, int higher)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (present && !present[i])
            continue;
        if (best < 0)
            best = i;
        else if (!isnan(score[i]) && !isnan(score[best]) ? (higher ? score[i] > score[best] : score[i] < score[best])
                                                          : fitness[i] < fitness[best])
            best = i;
    }
    return best;
}

int lpz_run_result_best_cell(const lpz_train_result *r, int *best)
{
    *best = -1;
    size_t n = r->n_cells > 0 ? (size_t)r->n_cells : 0;
    double *score = malloc((n + 1) * sizeof *score), *fit = malloc((n + 1) * sizeof *fit);
    int *present = malloc((n + 1) * sizeof *present);
    int rc = score && fit && present ? LPZ_OK : LPZ_ENOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        score[i] = r->cells[i].score;
        fit[i] = r->cells[i].best_g_fitness;
        present[i] = r->cells[i].iterations > 0;
    }
    if (!rc)
        *best = lpz_run_best_cell((int)n, score, fit, present, r->score_higher);
    free(score), free(fit), free(present);
    return rc;
}

void lpz_run_use_final_scores(lpz_train_result *result, const double *scores)
{
    if (result->final.state != LPZ_FINAL_DONE)
        return; /* an interrupted or failed scoring: the scores of the last iteration stand */
    for (int i = 0; i < result->n_cells; i++)
        result->cells[i].score = scores[result->cells[i].cell];
    result->score_higher = 0; /* final FIDs now */
    int best = lpz_run_lowest_score(scores, result->n_cells); /* the cells of a local run are 0..n-1 in order */
    if (best >= 0)
        result->best_cell = best;
}

int lpz_run_last_rows(const char *run_dir, int n_cells, double *g_fitness, double *score, lpz_error *err)
{
    for (int c = 0; c < n_cells; c++)
        g_fitness[c] = score[c] = NAN;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    char *data;
    size_t size;
    int rc = lpz_read_file(path, (size_t)1 << 30, &data, &size, err);
    if (rc)
        return rc;
    char *pos = data, *f[16];
    int nh = csv_line(&pos, f, 16);
    int ii = csv_column(f, nh, "iteration"), ic = csv_column(f, nh, "cell"), ig = csv_column(f, nh, "g_fitness"),
        is = csv_column(f, nh, "score");
    if (ii < 0 || ic < 0 || ig < 0 || is < 0) {
        free(data);
        return lpz_error_set(err, LPZ_EFORMAT, "%s: no columns iteration, cell, g_fitness and score", path);
    }
    long *last = calloc((size_t)n_cells, sizeof *last);
    if (!last) {
        free(data);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    for (int n; (n = csv_line(&pos, f, 16)) > 0;) {
        long it, cell;
        double g, s;
        char *end;
        if (n < nh || !parse_long(f[ii], 1, INT_MAX, &it) || !parse_long(f[ic], 0, n_cells - 1, &cell) ||
            it < last[cell] || !parse_score(f[is], &s))
            continue;
        g = strtod(f[ig], &end);
        if (end == f[ig] || *end)
            continue;
        last[cell] = it;
        g_fitness[cell] = g;
        score[cell] = s;
    }
    free(last);
    free(data);
    return LPZ_OK;
}
