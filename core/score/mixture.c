/* core/score/mixture.c - sampling from a weighted mixture of generators,
 * the evolution strategy over mixture weights, and mixture.yml files.
 * See score.h. */
#include "score/score.h"

#include "evolution/evolution.h"
#include "io/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Samples per generator forward. */
#define GEN_CHUNK 64 /* at most the trainer's usual batch, so generators are not re-reserved larger */

static int check_weights(const double *w, int n, double *sum, lpz_error *err)
{
    if (n < 1)
        return lpz_error_set(err, LPZ_EINVAL, "a mixture needs at least one generator");
    double s = 0;
    for (int j = 0; j < n; j++) {
        if (!isfinite(w[j]) || w[j] < 0)
            return lpz_error_set(err, LPZ_EINVAL, "mixture weight %d is %g; weights must be finite and >= 0", j,
                                 w[j]);
        s += w[j];
    }
    if (!(s > 0))
        return lpz_error_set(err, LPZ_EINVAL, "all %d mixture weights are 0", n);
    *sum = s;
    return LPZ_OK;
}

/* The index that u in [0, 1) falls on when [0, 1) is cut into pieces of
 * p[j] / sum(p): drawn with probability p[j] / sum(p) for a uniform u. */
static int pick_weighted(const double *p, int n, double sum, double u01)
{
    double u = u01 * sum;
    int last = 0;
    for (int j = 0; j < n; j++) {
        if (p[j] <= 0)
            continue;
        last = j;
        if (u < p[j])
            return j;
        u -= p[j];
    }
    return last; /* rounding: the last generator with weight */
}

/* Index drawn with probability p[j] / sum(p). */
static int draw_weighted(const double *p, int n, double sum, lpz_rng *rng)
{
    return pick_weighted(p, n, sum, lpz_rng_uniform(rng));
}

/* exact_proportion counts of `count` samples: generator j gets
 * floor(count w_j), the remaining r < n_gens samples go one each to r
 * distinct generators drawn by the fractional parts. */
static int exact_counts(const double *weights, int n_gens, double sum, int64_t count, lpz_rng *rng, int64_t *counts,
                        lpz_error *err)
{
    double *frac = malloc((size_t)n_gens * sizeof *frac);
    if (!frac)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    int64_t filled = 0;
    double frac_sum = 0;
    for (int j = 0; j < n_gens; j++) {
        double want = (double)count * weights[j] / sum;
        int64_t whole = (int64_t)floor(want);
        if (filled + whole > count)
            whole = count - filled;
        counts[j] = whole;
        filled += whole;
        frac[j] = want - (double)whole > 0 ? want - (double)whole : 0;
        frac_sum += frac[j];
    }
    for (; filled < count; filled++) {
        int j = frac_sum > 1e-12 ? draw_weighted(frac, n_gens, frac_sum, rng)
                                 : draw_weighted(weights, n_gens, sum, rng);
        counts[j]++;
        frac_sum -= frac[j];
        frac[j] = 0;
    }
    free(frac);
    return LPZ_OK;
}

/* Generator of the sample in slot `slot` when generator j owns the slots
 * [counts[0] + ... + counts[j - 1], ... + counts[j]). */
static int slot_owner(const int64_t *counts, int n_gens, int64_t slot)
{
    for (int j = 0; j < n_gens; j++) {
        if (slot < counts[j])
            return j;
        slot -= counts[j];
    }
    return n_gens - 1;
}

/* A uniformly random order of the count slots (Fisher-Yates). */
static void shuffle_slots(int64_t *perm, int64_t count, lpz_rng *rng)
{
    for (int64_t i = 0; i < count; i++)
        perm[i] = i;
    for (int64_t i = count - 1; i > 0; i--) {
        int64_t k = (int64_t)lpz_rng_below(rng, (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[k], perm[k] = t;
    }
}

/* Assignments of count samples for one weighting (wb NULL) or two (the
 * coupled assignment of lpz_mixture_assign_pair). */
static int assign_coupled(const double *wa, const double *wb, int n_gens, int64_t count, lpz_mix_mode mode,
                          lpz_rng *rng, int *ga, int *gb, lpz_error *err)
{
    double suma = 0, sumb = 0;
    int rc = check_weights(wa, n_gens, &suma, err);
    if (!rc && wb)
        rc = check_weights(wb, n_gens, &sumb, err);
    if (rc)
        return rc;
    if (count < 0)
        return lpz_error_set(err, LPZ_EINVAL, "negative sample count %lld", (long long)count);
    if (mode == LPZ_MIXMODE_INDEPENDENT_PROBABILITY) {
        /* One uniform per sample, cut by each weighting. */
        for (int64_t i = 0; i < count; i++) {
            double u = lpz_rng_uniform(rng);
            ga[i] = pick_weighted(wa, n_gens, suma, u);
            if (wb)
                gb[i] = pick_weighted(wb, n_gens, sumb, u);
        }
        return LPZ_OK;
    }
    if (mode != LPZ_MIXMODE_EXACT_PROPORTION)
        return lpz_error_set(err, LPZ_EINVAL, "unknown mixture sampling mode %d", (int)mode);
    int64_t *ca = malloc((size_t)n_gens * 2 * sizeof *ca), *cb = ca ? ca + n_gens : NULL;
    int64_t *perm = malloc((size_t)(count > 0 ? count : 1) * sizeof *perm);
    if (!ca || !perm)
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld mixture samples", (long long)count);
    if (!rc)
        rc = exact_counts(wa, n_gens, suma, count, rng, ca, err);
    if (!rc && wb)
        rc = exact_counts(wb, n_gens, sumb, count, rng, cb, err);
    if (!rc) {
        /* One random order of the samples; each weighting gives generator j
         * a run of consecutive slots of its count, so two close weightings
         * differ only around the ends of the runs. */
        shuffle_slots(perm, count, rng);
        for (int64_t slot = 0; slot < count; slot++) {
            ga[perm[slot]] = slot_owner(ca, n_gens, slot);
            if (wb)
                gb[perm[slot]] = slot_owner(cb, n_gens, slot);
        }
    }
    free(ca), free(perm);
    return rc;
}

int lpz_mixture_assign(const double *weights, int n_gens, int64_t count, lpz_mix_mode mode, lpz_rng *rng,
                       int *gen_of_sample, lpz_error *err)
{
    return assign_coupled(weights, NULL, n_gens, count, mode, rng, gen_of_sample, NULL, err);
}

int lpz_mixture_assign_pair(const double *wa, const double *wb, int n_gens, int64_t count, lpz_mix_mode mode,
                            lpz_rng *rng, int *ga, int *gb, lpz_error *err)
{
    return assign_coupled(wa, wb, n_gens, count, mode, rng, ga, gb, err);
}

static int same_shape(lpz_shape a, lpz_shape b)
{
    if (a.ndim != b.ndim)
        return 0;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i])
            return 0;
    return 1;
}

/* Latent and sample sizes of the mixture's generators (all alike). */
static int mixture_shapes(lpz_model *const *gens, int n_gens, int64_t *zn, int64_t *on, lpz_error *err)
{
    if (n_gens < 1 || !gens)
        return lpz_error_set(err, LPZ_EINVAL, "a mixture needs at least one generator");
    lpz_shape zs = lpz_model_input_shape(gens[0]), os = lpz_model_output_shape(gens[0]);
    for (int j = 1; j < n_gens; j++)
        if (!same_shape(zs, lpz_model_input_shape(gens[j])) || !same_shape(os, lpz_model_output_shape(gens[j])))
            return lpz_error_set(err, LPZ_EINVAL,
                                 "generator %d of the mixture has other latent or sample shapes than generator 0",
                                 j);
    *zn = lpz_shape_numel(&zs);
    *on = lpz_shape_numel(&os);
    return LPZ_OK;
}

/* Runs gens[gen_of[r]] on latent row latent_of[r] (r when latent_of is
 * NULL) for every r < n: per generator, its rows' latents gathered
 * GEN_CHUNK at a time, one forward each, and emit(user, j, y, k, idx)
 * given the k outputs y of generator j for rows idx[0..k). idx
 * (GEN_CHUNK) and z (GEN_CHUNK x zn) are scratch. */
typedef int (*rows_emit)(void *user, int j, const float *y, int64_t k, const int64_t *idx, lpz_error *err);

static int run_rows(lpz_model *const *gens, int n_gens, const int *gen_of, const int64_t *latent_of, int64_t n,
                    const float *latents, int64_t zn, int64_t *idx, float *z, rows_emit emit, void *user,
                    lpz_error *err)
{
    for (int j = 0; j < n_gens; j++) {
        int64_t r = 0;
        while (r < n) {
            int64_t k = 0;
            for (; r < n && k < GEN_CHUNK; r++)
                if (gen_of[r] == j) {
                    idx[k] = r;
                    memcpy(z + k * zn, latents + (latent_of ? latent_of[r] : r) * zn, (size_t)zn * sizeof *z);
                    k++;
                }
            if (!k)
                break;
            const float *y = lpz_model_forward(gens[j], z, k, err);
            if (!y) {
                lpz_error_context(err, "mixture generator %d", j);
                return err && err->code ? err->code : LPZ_EINVAL;
            }
            int rc = emit(user, j, y, k, idx, err);
            if (rc)
                return rc;
        }
    }
    return LPZ_OK;
}

/* Generator j's rows are batched by their rank among j's rows of the
 * whole sample (its rows 0-63, 64-127, ...), as run_rows over all of them
 * would: a model's output for a row can change in its last bits with the
 * rows computed with it (BLAS kernels differ with the batch), and the
 * blocks asked for must not change the samples. A batch that reaches past
 * the block keeps its later rows (carry) for the next blocks. */
typedef struct sampler_gen {
    int64_t scan;  /* rows below scan were gathered into batches */
    float *carry;  /* GEN_CHUNK x on: computed rows not yet handed out */
    int64_t *carry_idx;
    int64_t carry_n, carry_at;
} sampler_gen;

struct lpz_mixture_sampler {
    lpz_model *const *gens;
    int n_gens;
    int64_t count, next, zn, on;
    int *assign;           /* count generators */
    const float *latents;  /* count x zn: the caller's or drawn */
    float *drawn;
    int64_t *idx;          /* GEN_CHUNK */
    float *z;              /* GEN_CHUNK x zn */
    sampler_gen *g;        /* n_gens */
};

int lpz_mixture_sampler_open(lpz_model *const *gens, const double *weights, int n_gens, int64_t count,
                             lpz_mix_mode mode, lpz_rng *rng, const float *latents, lpz_mixture_sampler **out,
                             lpz_error *err)
{
    *out = NULL;
    if (count < 0)
        return lpz_error_set(err, LPZ_EINVAL, "a negative number of mixture samples (%lld)", (long long)count);
    lpz_mixture_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    int rc = mixture_shapes(gens, n_gens, &s->zn, &s->on, err);
    if (rc) {
        free(s);
        return rc;
    }
    s->gens = gens;
    s->n_gens = n_gens;
    s->count = count;
    s->assign = malloc((size_t)(count > 0 ? count : 1) * sizeof *s->assign);
    s->idx = malloc((size_t)GEN_CHUNK * sizeof *s->idx);
    s->z = malloc((size_t)(GEN_CHUNK * s->zn) * sizeof *s->z);
    s->g = calloc((size_t)n_gens, sizeof *s->g);
    s->drawn = latents ? NULL : malloc((size_t)((count > 0 ? count : 1) * s->zn) * sizeof *s->drawn);
    if (!s->assign || !s->idx || !s->z || !s->g || (!latents && !s->drawn))
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld mixture samples", (long long)count);
    else
        rc = lpz_mixture_assign(weights, n_gens, count, mode, rng, s->assign, err);
    if (rc) {
        lpz_mixture_sampler_close(s);
        return rc;
    }
    if (!latents)
        lpz_rng_fill_normal(rng, s->drawn, (size_t)(count * s->zn), 0.0f, 1.0f);
    s->latents = latents ? latents : s->drawn;
    *out = s;
    return LPZ_OK;
}

/* Generator j's samples among rows [from, to) into out (row from first). */
static int sampler_gen_rows(lpz_mixture_sampler *s, int j, int64_t from, int64_t to, float *out, lpz_error *err)
{
    sampler_gen *g = &s->g[j];
    size_t row_bytes = (size_t)s->on * sizeof *out;
    for (;;) {
        for (; g->carry_at < g->carry_n && g->carry_idx[g->carry_at] < to; g->carry_at++)
            memcpy(out + (g->carry_idx[g->carry_at] - from) * s->on, g->carry + g->carry_at * s->on, row_bytes);
        if (g->carry_at < g->carry_n)
            return LPZ_OK; /* the rest is for later blocks */
        int64_t r = g->scan;
        while (r < to && s->assign[r] != j)
            r++;
        if (r >= to) {
            g->scan = r; /* none of j's rows below to remain */
            return LPZ_OK;
        }
        int64_t k = 0;
        for (; r < s->count && k < GEN_CHUNK; r++)
            if (s->assign[r] == j) {
                s->idx[k] = r;
                memcpy(s->z + k * s->zn, s->latents + r * s->zn, (size_t)s->zn * sizeof *s->z);
                k++;
            }
        g->scan = r;
        const float *y = lpz_model_forward(s->gens[j], s->z, k, err);
        if (!y) {
            lpz_error_context(err, "mixture generator %d", j);
            return err && err->code ? err->code : LPZ_EINVAL;
        }
        int64_t a = 0;
        for (; a < k && s->idx[a] < to; a++)
            memcpy(out + (s->idx[a] - from) * s->on, y + a * s->on, row_bytes);
        g->carry_n = g->carry_at = 0;
        if (a == k)
            continue;
        if (!g->carry) {
            g->carry = malloc((size_t)GEN_CHUNK * row_bytes);
            g->carry_idx = malloc((size_t)GEN_CHUNK * sizeof *g->carry_idx);
            if (!g->carry || !g->carry_idx)
                return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %d samples of %lld values", GEN_CHUNK,
                                     (long long)s->on);
        }
        memcpy(g->carry, y + a * s->on, (size_t)(k - a) * row_bytes);
        memcpy(g->carry_idx, s->idx + a, (size_t)(k - a) * sizeof *g->carry_idx);
        g->carry_n = k - a;
    }
}

int lpz_mixture_sampler_next(lpz_mixture_sampler *s, int64_t max, float *out, int64_t *got, lpz_error *err)
{
    *got = 0;
    if (max < 1)
        return lpz_error_set(err, LPZ_EINVAL, "asked for %lld mixture samples", (long long)max);
    int64_t k = s->count - s->next < max ? s->count - s->next : max;
    if (!k)
        return LPZ_OK;
    for (int j = 0; j < s->n_gens; j++) {
        int rc = sampler_gen_rows(s, j, s->next, s->next + k, out, err);
        if (rc)
            return rc;
    }
    s->next += k;
    *got = k;
    return LPZ_OK;
}

int64_t lpz_mixture_sampler_numel(const lpz_mixture_sampler *s)
{
    return s->on;
}

void lpz_mixture_sampler_close(lpz_mixture_sampler *s)
{
    if (!s)
        return;
    for (int j = 0; s->g && j < s->n_gens; j++)
        free(s->g[j].carry), free(s->g[j].carry_idx);
    free(s->assign), free(s->idx), free(s->z), free(s->drawn), free(s->g);
    free(s);
}

int lpz_mixture_generate(lpz_model *const *gens, const double *weights, int n_gens, int64_t count, lpz_mix_mode mode,
                         lpz_rng *rng, const float *latents, float *out, lpz_error *err)
{
    lpz_mixture_sampler *s;
    int rc = lpz_mixture_sampler_open(gens, weights, n_gens, count, mode, rng, latents, &s, err);
    int64_t got = 0;
    if (!rc && count > 0)
        rc = lpz_mixture_sampler_next(s, count, out, &got, err);
    lpz_mixture_sampler_close(s);
    return rc;
}

typedef struct feature_rows {
    lpz_score_context *ctx;
    float *f;           /* GEN_CHUNK x d scratch */
    lpz_stats *sa, *sb; /* statistics of weighting a's and b's samples (sb NULL: one weighting) */
    lpz_is_acc *ia, *ib; /* instead, for the inception score: its sums */
    int64_t count;      /* rows below count are weighting a's samples, the rest b's own */
    const int *ga, *gb;
} feature_rows;

/* Classifier features of a generator's outputs, straight from its output
 * buffer, into the statistics of the weightings they are samples of: no
 * sample or feature buffer is held (the quick start's samples would be
 * 3 MB per cell, Inception features of 50,000 samples 410 MB). */
static int emit_features(void *user, int j, const float *y, int64_t k, const int64_t *idx, lpz_error *err)
{
    const feature_rows *fr = user;
    int rc = lpz_score_features(fr->ctx, y, k, fr->f, err);
    if (rc) {
        lpz_error_context(err, "samples of mixture generator %d", j);
        return rc;
    }
    int64_t d = lpz_score_feature_dim(fr->ctx);
    for (int64_t a = 0; a < k; a++) {
        int64_t r = idx[a];
        const float *row = fr->f + a * d;
        int in_a = r < fr->count, in_b = fr->gb && (r >= fr->count || fr->gb[r] == fr->ga[r]);
        if (fr->ia) {
            if (in_a)
                lpz_is_add(fr->ia, row, 1);
            if (in_b)
                lpz_is_add(fr->ib, row, 1);
        } else {
            if (in_a)
                lpz_stats_add(fr->sa, row, 1);
            if (in_b)
                lpz_stats_add(fr->sb, row, 1);
        }
    }
    return LPZ_OK;
}

/* One or two weightings (wb NULL: one) scored on common samples: the
 * assignment drawn from rng, then the latents (count x zn) unless given.
 * The context's metric: FID from feature statistics, or the inception
 * score from running sums of the class probabilities. */
static int mixture_scores(lpz_score_context *ctx, lpz_model *const *gens, const double *wa, const double *wb,
                          int n_gens, int64_t count, lpz_mix_mode mode, lpz_rng *rng, const float *given_latents,
                          double *score_a, double *score_b, lpz_error *err)
{
    int64_t zn, on;
    int rc = mixture_shapes(gens, n_gens, &zn, &on, err);
    if (rc)
        return rc;
    if (count < 2)
        return lpz_error_set(err, LPZ_EINVAL, "scores need at least 2 samples (got %lld)", (long long)count);
    int64_t d = lpz_score_feature_dim(ctx);
    int is = lpz_score_context_metric(ctx) == LPZ_METRIC_IS;
    lpz_stats sa, sb;
    memset(&sa, 0, sizeof sa), memset(&sb, 0, sizeof sb);
    lpz_is_acc *ia = is ? malloc(2 * sizeof *ia) : NULL; /* 64 KB: not on a cell thread's stack */
    if (is && !ia)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    if (is) {
        lpz_is_init(&ia[0], (int)d), lpz_is_init(&ia[1], (int)d);
    } else {
        if ((rc = lpz_stats_init(&sa, (int)d, err)))
            return rc;
        if (wb && (rc = lpz_stats_init(&sb, (int)d, err))) {
            lpz_stats_free(&sa);
            return rc;
        }
    }
    /* Rows [0, count): sample i from ga[i]; then one row for each sample
     * whose generator differs under wb (generator gen_of[row], latent
     * latent_of[row]). */
    int *gen_of = malloc((size_t)count * 3 * sizeof *gen_of), *ga = gen_of, *gb = gen_of ? gen_of + 2 * count : NULL;
    int64_t *latent_of = malloc((size_t)count * 2 * sizeof *latent_of);
    int64_t *idx = malloc((size_t)GEN_CHUNK * sizeof *idx);
    float *z = malloc((size_t)(GEN_CHUNK * zn) * sizeof *z);
    float *f = malloc((size_t)(GEN_CHUNK * d) * sizeof *f);
    float *drawn = given_latents ? NULL : malloc((size_t)(count * zn) * sizeof *drawn);
    const float *latents = given_latents ? given_latents : drawn;
    if (!gen_of || !latent_of || !idx || !z || !f || !latents) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld mixture samples", (long long)count);
        goto done;
    }
    if ((rc = assign_coupled(wa, wb, n_gens, count, mode, rng, ga, gb, err)))
        goto done;
    if (drawn)
        lpz_rng_fill_normal(rng, drawn, (size_t)(count * zn), 0.0f, 1.0f);
    int64_t rows = count;
    for (int64_t i = 0; i < count; i++)
        latent_of[i] = i;
    for (int64_t i = 0; wb && i < count; i++)
        if (gb[i] != ga[i]) {
            gen_of[rows] = gb[i];
            latent_of[rows++] = i;
        }
    feature_rows fr = {ctx, f, &sa, &sb, ia, ia ? ia + 1 : NULL, count, ga, wb ? gb : NULL};
    if ((rc = run_rows(gens, n_gens, gen_of, latent_of, rows, latents, zn, idx, z, emit_features, &fr, err)))
        goto done;
    if (is) {
        *score_a = lpz_is_finish(&ia[0]);
        if (wb)
            *score_b = lpz_is_finish(&ia[1]);
    } else if (!(rc = lpz_score_fid_of_stats(ctx, &sa, score_a, err)) && wb) {
        rc = lpz_score_fid_of_stats(ctx, &sb, score_b, err);
    }
done:
    lpz_stats_free(&sa), lpz_stats_free(&sb);
    free(ia);
    free(gen_of), free(latent_of), free(idx), free(z), free(f), free(drawn);
    return rc;
}

int lpz_mixture_score(lpz_score_context *ctx, lpz_model *const *gens, const double *weights, int n_gens,
                      int64_t count, lpz_mix_mode mode, lpz_rng *rng, double *score, lpz_error *err)
{
    return mixture_scores(ctx, gens, weights, NULL, n_gens, count, mode, rng, NULL, score, NULL, err);
}

int lpz_mixture_score_pair(lpz_score_context *ctx, lpz_model *const *gens, const double *wa, const double *wb,
                           int n_gens, int64_t count, lpz_mix_mode mode, lpz_rng *rng, double *score_a,
                           double *score_b, lpz_error *err)
{
    if (!wb)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_mixture_score_pair needs two weightings");
    return mixture_scores(ctx, gens, wa, wb, n_gens, count, mode, rng, NULL, score_a, score_b, err);
}

int lpz_mixture_optimize(double *weights, int n, const lpz_mixture_es_params *p, lpz_rng *rng,
                         lpz_mixture_score_fn score, void *user, double *best_score, lpz_error *err)
{
    double sum = 0;
    int rc = check_weights(weights, n, &sum, err);
    if (rc)
        return rc;
    if (p->generations < 0 || !(p->sigma >= 0) || !isfinite(p->sigma))
        return lpz_error_set(err, LPZ_EINVAL, "mixture ES needs generations >= 0 and a finite sigma >= 0");
    double *cand = malloc((size_t)n * sizeof *cand);
    if (!cand)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    if (p->random_init) {
        double s = 0;
        for (int j = 0; j < n; j++)
            s += (weights[j] = lpz_rng_uniform(rng));
        for (int j = 0; j < n; j++)
            weights[j] = s > 0 ? weights[j] / s : 1.0 / n;
    } else {
        for (int j = 0; j < n; j++)
            weights[j] /= sum;
    }
    double best;
    if ((rc = score(user, weights, n, &best, err)))
        goto done;
    for (int g = 0; g < p->generations; g++) {
        lpz_mutate_mixture_weights(weights, n, p->sigma, rng, cand);
        double sc;
        if ((rc = score(user, cand, n, &sc, err)))
            goto done;
        if (p->lower_is_better ? sc < best : sc > best) {
            best = sc;
            memcpy(weights, cand, (size_t)n * sizeof *cand);
        }
    }
    *best_score = best;
done:
    free(cand);
    return rc;
}

/* The ES scores every candidate on the same latents (common random
 * numbers) through mixture_scores: each generator's outputs go straight
 * into the classifier, so only latents and features are held (count x
 * (zn + d) floats), not count samples (64x64 CelebA at the default
 * 10,000: 491 MB of samples). */
typedef struct score_es {
    lpz_score_context *ctx;
    lpz_model *const *gens;
    int64_t count;
    lpz_mix_mode mode;
    lpz_rng *rng;
    const float *latents;
} score_es;

static int es_score(void *user, const double *w, int n, double *score, lpz_error *err)
{
    const score_es *f = user;
    return mixture_scores(f->ctx, f->gens, w, NULL, n, f->count, f->mode, f->rng, f->latents, score, NULL, err);
}

int lpz_mixture_optimize_score(lpz_score_context *ctx, lpz_model *const *gens, double *weights, int n_gens,
                               int64_t sample_size, lpz_mix_mode mode, const lpz_mixture_es_params *p, lpz_rng *rng,
                               double *best_score, lpz_error *err)
{
    if (n_gens < 1 || sample_size < 2)
        return lpz_error_set(err, LPZ_EINVAL, "mixture ES needs a generator and at least 2 samples");
    int64_t zn, on;
    int rc = mixture_shapes(gens, n_gens, &zn, &on, err);
    if (rc)
        return rc;
    float *latents = malloc((size_t)(sample_size * zn) * sizeof *latents);
    if (!latents)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld mixture samples", (long long)sample_size);
    lpz_rng_fill_normal(rng, latents, (size_t)(sample_size * zn), 0.0f, 1.0f);
    score_es f = {ctx, gens, sample_size, mode, rng, latents};
    lpz_mixture_es_params q = *p;
    q.lower_is_better = LPZ_METRIC_LOWER_IS_BETTER(lpz_score_context_metric(ctx));
    rc = lpz_mixture_optimize(weights, n_gens, &q, rng, es_score, &f, best_score, err);
    free(latents);
    return rc;
}

/* ---- mixture.yml ---------------------------------------------------------- */

void lpz_mixture_file_free(lpz_mixture_file *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        free(m->files[i]);
        free(m->paths[i]);
    }
    free(m->files), free(m->paths), free(m->weights);
    memset(m, 0, sizeof *m);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static int add_entry(lpz_mixture_file *m, const char *dir, const char *name, double w, lpz_error *err)
{
    if (m->n % 16 == 0) {
        size_t cap = (size_t)m->n + 16;
        char **f = realloc(m->files, cap * sizeof *f);
        if (f)
            m->files = f;
        char **p = realloc(m->paths, cap * sizeof *p);
        if (p)
            m->paths = p;
        double *ws = realloc(m->weights, cap * sizeof *ws);
        if (ws)
            m->weights = ws;
        if (!f || !p || !ws)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    size_t len = strlen(dir) + strlen(name) + 2;
    m->files[m->n] = strdup(name);
    m->paths[m->n] = malloc(len);
    if (!m->files[m->n] || !m->paths[m->n]) {
        free(m->files[m->n]), free(m->paths[m->n]);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    snprintf(m->paths[m->n], len, "%s/%s", dir, name);
    m->weights[m->n++] = w;
    return LPZ_OK;
}

int lpz_mixture_read(const char *dir, lpz_mixture_file *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/mixture.yml", dir) >= (int)sizeof path)
        return lpz_error_set(err, LPZ_EINVAL, "mixture folder path is too long");
    if (!lpz_is_dir(dir)) {
        struct stat st;
        int there = stat(dir, &st) == 0;
        lpz_error_set(err, LPZ_ENOTFOUND, "mixture folder '%s' %s", dir,
                      there ? "is not a folder" : "does not exist");
        lpz_error_hint(err, "give a run's master/<cell> folder, which holds mixture.yml%s",
                       there && strstr(dir, "mixture.yml") ? " (the folder, not the file)" : "");
        return LPZ_ENOTFOUND;
    }
    char *text = NULL;
    size_t size = 0;
    int rc = lpz_read_file(path, 1 << 20, &text, &size, err);
    if (rc) {
        lpz_error_where(err, "%s", path);
        char sub[PATH_MAX + 16];
        if (rc == LPZ_ENOTFOUND || !lpz_is_file(path)) {
            if (snprintf(sub, sizeof sub, "%s/master", dir) < (int)sizeof sub && lpz_is_dir(sub))
                lpz_error_hint(err, "%s is a run folder: give one of its mixtures, %s/master/<cell> (the training's "
                                    "summary names the best cell)",
                               dir, dir);
            else
                lpz_error_hint(err, "give a run's master/<cell> folder, which holds mixture.yml");
        }
        return rc;
    }
    if (strlen(text) != size) {
        free(text);
        return lpz_error_set(err, LPZ_EFORMAT, "the file contains a NUL byte"), lpz_error_where(err, "%s", path),
               LPZ_EFORMAT;
    }
    int line_no = 0;
    double sum = 0;
    char *save = NULL;
    for (char *line = text; line && !rc; line = save) {
        line_no++;
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = 0;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *l = trim(line);
        if (!*l)
            continue;
        char *colon = strrchr(l, ':');
        if (!colon) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "expected \"<generator file>: <weight>\", got \"%.80s\"", l);
            break;
        }
        *colon = 0;
        char *name = trim(l), *value = trim(colon + 1);
        size_t nlen = strlen(name);
        if (nlen >= 2 && (name[0] == '"' || name[0] == '\'') && name[nlen - 1] == name[0]) {
            name[nlen - 1] = 0;
            name++;
        }
        if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "\"%.80s\" is not a plain file name in the mixture folder", name);
            break;
        }
        char *end;
        double w = strtod(value, &end); /* an underflow (1e-320) is a weight; an overflow is inf */
        int decimal = strspn(value, "0123456789.eE+-") == strlen(value); /* not "0x10", "nan", "infinity" */
        if (!*value || *end || !decimal || !isfinite(w) || w < 0) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "weight \"%.40s\" of %.80s is not a finite number >= 0", value,
                               name);
            break;
        }
        for (int i = 0; i < out->n; i++)
            if (strcmp(out->files[i], name) == 0) {
                rc = lpz_error_set(err, LPZ_EFORMAT, "%.80s is listed twice", name);
                break;
            }
        if (rc)
            break;
        if (out->n >= LPZ_MIXTURE_MAX_GENERATORS) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "more than %d generators", LPZ_MIXTURE_MAX_GENERATORS);
            break;
        }
        if ((rc = add_entry(out, dir, name, w, err)))
            break;
        if (!lpz_is_file(out->paths[out->n - 1])) {
            struct stat st;
            int exists = stat(out->paths[out->n - 1], &st) == 0;
            rc = lpz_error_set(err, exists ? LPZ_EINVAL : LPZ_ENOTFOUND, "generator file %.200s %s",
                               out->paths[out->n - 1], exists ? "is not a regular file" : "does not exist");
            break;
        }
        sum += w;
    }
    free(text);
    int whole = !rc; /* the checks below are about the whole file, not a line */
    if (!rc && out->n == 0)
        rc = lpz_error_set(err, LPZ_EFORMAT, "no generators listed");
    else if (!rc && !(sum > 0))
        rc = lpz_error_set(err, LPZ_EFORMAT, "every weight is 0");
    if (rc) {
        if (err && !err->where[0] && whole)
            lpz_error_where(err, "%s", path);
        else if (err && !err->where[0])
            lpz_error_where(err, "%s:%d", path, line_no);
        lpz_mixture_file_free(out);
    }
    return rc;
}
