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

/* Index drawn with probability p[j] / sum(p). */
static int draw_weighted(const double *p, int n, double sum, lpz_rng *rng)
{
    double u = lpz_rng_uniform(rng) * sum;
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

int lpz_mixture_assign(const double *weights, int n_gens, int64_t count, lpz_mix_mode mode, lpz_rng *rng,
                       int *gen_of_sample, lpz_error *err)
{
    double sum = 0;
    int rc = check_weights(weights, n_gens, &sum, err);
    if (rc)
        return rc;
    if (count < 0)
        return lpz_error_set(err, LPZ_EINVAL, "negative sample count %lld", (long long)count);
    if (mode == LPZ_MIXMODE_INDEPENDENT_PROBABILITY) {
        for (int64_t i = 0; i < count; i++)
            gen_of_sample[i] = draw_weighted(weights, n_gens, sum, rng);
        return LPZ_OK;
    }
    if (mode != LPZ_MIXMODE_EXACT_PROPORTION)
        return lpz_error_set(err, LPZ_EINVAL, "unknown mixture sampling mode %d", (int)mode);
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
        for (int64_t i = 0; i < whole; i++)
            gen_of_sample[filled++] = j;
        frac[j] = want - (double)whole > 0 ? want - (double)whole : 0;
        frac_sum += frac[j];
    }
    /* The rest (fewer than n_gens samples): one each to distinct
     * generators, drawn by their fractional parts. */
    while (filled < count) {
        int j;
        if (frac_sum > 1e-12) {
            j = draw_weighted(frac, n_gens, frac_sum, rng);
        } else {
            j = draw_weighted(weights, n_gens, sum, rng);
        }
        gen_of_sample[filled++] = j;
        frac_sum -= frac[j];
        frac[j] = 0;
    }
    free(frac);
    for (int64_t i = count - 1; i > 0; i--) {
        int64_t k = (int64_t)lpz_rng_below(rng, (uint64_t)(i + 1));
        int t = gen_of_sample[i];
        gen_of_sample[i] = gen_of_sample[k], gen_of_sample[k] = t;
    }
    return LPZ_OK;
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

int lpz_mixture_generate(lpz_model *const *gens, const double *weights, int n_gens, int64_t count, lpz_mix_mode mode,
                         lpz_rng *rng, const float *latents, float *out, lpz_error *err)
{
    if (n_gens < 1 || !gens)
        return lpz_error_set(err, LPZ_EINVAL, "a mixture needs at least one generator");
    lpz_shape zs = lpz_model_input_shape(gens[0]), os = lpz_model_output_shape(gens[0]);
    for (int j = 1; j < n_gens; j++)
        if (!same_shape(zs, lpz_model_input_shape(gens[j])) || !same_shape(os, lpz_model_output_shape(gens[j])))
            return lpz_error_set(err, LPZ_EINVAL,
                                 "generator %d of the mixture has other latent or sample shapes than generator 0",
                                 j);
    int64_t zn = lpz_shape_numel(&zs), on = lpz_shape_numel(&os);
    int *assign = malloc((size_t)(count > 0 ? count : 1) * sizeof *assign);
    int64_t *idx = malloc((size_t)GEN_CHUNK * sizeof *idx);
    float *z = malloc((size_t)(GEN_CHUNK * zn) * sizeof *z);
    float *drawn = latents ? NULL : malloc((size_t)((count > 0 ? count : 1) * zn) * sizeof *drawn);
    int rc = LPZ_OK;
    if (!assign || !idx || !z || (!latents && !drawn)) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld mixture samples", (long long)count);
        goto done;
    }
    if ((rc = lpz_mixture_assign(weights, n_gens, count, mode, rng, assign, err)))
        goto done;
    if (!latents) {
        lpz_rng_fill_normal(rng, drawn, (size_t)(count * zn), 0.0f, 1.0f);
        latents = drawn;
    }
    /* Per generator: gather its samples' latents, one forward per chunk,
     * scatter the outputs back in sample order. */
    for (int j = 0; j < n_gens && !rc; j++) {
        int64_t i = 0;
        while (i < count && !rc) {
            int64_t k = 0;
            for (; i < count && k < GEN_CHUNK; i++)
                if (assign[i] == j) {
                    idx[k] = i;
                    memcpy(z + k * zn, latents + i * zn, (size_t)zn * sizeof *z);
                    k++;
                }
            if (!k)
                break;
            const float *y = lpz_model_forward(gens[j], z, k, err);
            if (!y) {
                rc = err && err->code ? err->code : LPZ_EINVAL;
                lpz_error_context(err, "mixture generator %d", j);
                break;
            }
            for (int64_t a = 0; a < k; a++)
                memcpy(out + idx[a] * on, y + a * on, (size_t)on * sizeof *out);
        }
    }
done:
    free(assign), free(idx), free(z), free(drawn);
    return rc;
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

typedef struct fid_es {
    lpz_score_context *ctx;
    lpz_model *const *gens;
    int64_t count;
    lpz_mix_mode mode;
    lpz_rng *rng;
    const float *z;
    float *samples;
} fid_es;

static int fid_es_score(void *user, const double *w, int n, double *score, lpz_error *err)
{
    fid_es *f = user;
    int rc = lpz_mixture_generate(f->gens, w, n, f->count, f->mode, f->rng, f->z, f->samples, err);
    return rc ? rc : lpz_score_fid(f->ctx, f->samples, f->count, score, err);
}

int lpz_mixture_optimize_fid(lpz_score_context *ctx, lpz_model *const *gens, double *weights, int n_gens,
                             int64_t sample_size, lpz_mix_mode mode, const lpz_mixture_es_params *p, lpz_rng *rng,
                             double *best_fid, lpz_error *err)
{
    if (n_gens < 1 || sample_size < 2)
        return lpz_error_set(err, LPZ_EINVAL, "mixture ES needs a generator and at least 2 samples");
    lpz_shape zs = lpz_model_input_shape(gens[0]), os = lpz_model_output_shape(gens[0]);
    int64_t zn = lpz_shape_numel(&zs), on = lpz_shape_numel(&os);
    float *z = malloc((size_t)(sample_size * zn) * sizeof *z);
    float *x = malloc((size_t)(sample_size * on) * sizeof *x);
    int rc;
    if (!z || !x) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld mixture samples", (long long)sample_size);
    } else {
        lpz_rng_fill_normal(rng, z, (size_t)(sample_size * zn), 0.0f, 1.0f);
        fid_es f = {ctx, gens, sample_size, mode, rng, z, x};
        lpz_mixture_es_params q = *p;
        q.lower_is_better = 1;
        rc = lpz_mixture_optimize(weights, n_gens, &q, rng, fid_es_score, &f, best_fid, err);
    }
    free(z), free(x);
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
    if (!lpz_is_dir(dir))
        return lpz_error_set(err, LPZ_ENOTFOUND, "mixture folder %s does not exist", dir),
               lpz_error_hint(err, "give a run's master/<cell> folder, which holds mixture.yml"), LPZ_ENOTFOUND;
    char *text = NULL;
    size_t size = 0;
    int rc = lpz_read_file(path, 1 << 20, &text, &size, err);
    if (rc) {
        lpz_error_where(err, "%s", path);
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
        errno = 0;
        double w = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(w) || w < 0) {
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
            rc = lpz_error_set(err, LPZ_ENOTFOUND, "generator file %.200s does not exist", out->paths[out->n - 1]);
            break;
        }
        sum += w;
    }
    free(text);
    if (!rc && out->n == 0)
        rc = lpz_error_set(err, LPZ_EFORMAT, "no generators listed");
    else if (!rc && !(sum > 0))
        rc = lpz_error_set(err, LPZ_EFORMAT, "every weight is 0");
    if (rc) {
        if (err && !err->where[0])
            lpz_error_where(err, "%s:%d", path, line_no);
        lpz_mixture_file_free(out);
    }
    return rc;
}
