/* toy_gaussians - a complete lpz dataloader plugin to copy.
 *
 * Samples are 2-D points drawn from a ring of `modes` Gaussians (the
 * classic toy problem for mode collapse: a GAN that covers every mode
 * has learnt the mixture). Everything a dataloader needs is here:
 * options, open (check input, fill info), close, read (values in
 * [-1, 1]), and the optional label, render and to_original_units.
 * It includes only <lpz/lpz.h> and <lpz/io.h> and links only liblpz.
 * See docs/howto/add-a-dataloader.md for a walk through.
 */
#include <lpz/io.h>
#include <lpz/lpz.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Everything open computes; read only looks at it, so read and label are
 * safe to call from several threads at once (the core's prefetchers). */
typedef struct toy_state {
    float *points;  /* count x 2, already in [-1, 1] */
    int32_t *modes; /* count: which Gaussian each point came from */
    int64_t count;
    double scale;   /* original units = stored value * scale */
} toy_state;

static void toy_close(void *state)
{
    toy_state *s = state;
    if (!s)
        return;
    free(s->points);
    free(s->modes);
    free(s);
}

/* Reads a validated option or reports where the bad value came from. */
static int get_range(const lpz_options *o, const char *key, double lo, double hi, double *out, lpz_error *err)
{
    int rc = lpz_options_get_float(o, key, out, err);
    if (rc != LPZ_OK)
        return rc;
    if (!(*out >= lo && *out <= hi)) {
        lpz_error_set(err, LPZ_EINVAL, "%s = %g is outside [%g, %g]", key, *out, lo, hi);
        lpz_error_where(err, "%s", lpz_options_where(o, key));
        return LPZ_EINVAL;
    }
    return LPZ_OK;
}

static int toy_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    int64_t count, modes, seed;
    double radius, stddev, scale;
    int rc = lpz_options_get_int(ctx->options, "count", &count, err);
    if (rc == LPZ_OK)
        rc = lpz_options_get_int(ctx->options, "modes", &modes, err);
    if (rc == LPZ_OK)
        rc = lpz_options_get_int(ctx->options, "seed", &seed, err);
    if (rc == LPZ_OK)
        rc = get_range(ctx->options, "radius", 0.0, 1.0, &radius, err);
    if (rc == LPZ_OK)
        rc = get_range(ctx->options, "std", 0.0, 1.0, &stddev, err);
    if (rc == LPZ_OK)
        rc = get_range(ctx->options, "scale", 1e-9, 1e9, &scale, err);
    if (rc != LPZ_OK)
        return rc;
    if (count < 1 || count > 100000000 || modes < 1 || modes > 1000) {
        lpz_error_set(err, LPZ_EINVAL, "count must be in [1, 1e8] and modes in [1, 1000] (got %lld and %lld)",
                      (long long)count, (long long)modes);
        lpz_error_where(err, "%s", lpz_options_where(ctx->options, count < 1 || count > 100000000 ? "count" : "modes"));
        return LPZ_EINVAL;
    }

    toy_state *s = calloc(1, sizeof *s);
    if (s) {
        s->points = malloc((size_t)count * 2 * sizeof *s->points);
        s->modes = malloc((size_t)count * sizeof *s->modes);
    }
    if (!s || !s->points || !s->modes) {
        toy_close(s);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld points", (long long)count);
    }
    s->count = count;
    s->scale = scale;
    /* The same seed gives the same data on every machine: lpz_rng has no
     * global state. Stream 0 of the seed is this dataset's. */
    lpz_rng rng;
    lpz_rng_seed(&rng, (uint64_t)seed, 0);
    const double two_pi = 6.283185307179586;
    for (int64_t i = 0; i < count; i++) {
        int32_t m = (int32_t)lpz_rng_below(&rng, (uint64_t)modes);
        double angle = two_pi * m / (double)modes;
        double x = radius * cos(angle) + stddev * lpz_rng_normal(&rng);
        double y = radius * sin(angle) + stddev * lpz_rng_normal(&rng);
        /* read must return values in [-1, 1]: clip the rare far tail */
        s->points[2 * i] = (float)fmax(-1.0, fmin(1.0, x));
        s->points[2 * i + 1] = (float)fmax(-1.0, fmin(1.0, y));
        s->modes[i] = m;
    }

    info->sample_shape = lpz_shape_make(1, 2, 0, 0, 0); /* one sample = (x, y) */
    info->count = count;
    info->n_classes = (int32_t)modes;
    info->kind = LPZ_SAMPLE_VECTOR;
    lpz_log(LPZ_LOG_INFO, "toy_gaussians: %lld points on %lld modes", (long long)count, (long long)modes);
    *state = s;
    return LPZ_OK;
}

static int toy_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)err; /* cannot fail: the core checked 0 <= index < count */
    const toy_state *s = state;
    out[0] = s->points[2 * index];
    out[1] = s->points[2 * index + 1];
    return LPZ_OK;
}

static int toy_label(void *state, int64_t index, int32_t *label, lpz_error *err)
{
    (void)err;
    const toy_state *s = state;
    *label = s->modes[index];
    return LPZ_OK;
}

/* The data's own units: here just a factor, to show the idea. */
static int toy_to_original_units(void *state, float *samples, int64_t n, lpz_error *err)
{
    (void)err;
    const toy_state *s = state;
    for (int64_t i = 0; i < 2 * n; i++)
        samples[i] = (float)(samples[i] * s->scale);
    return LPZ_OK;
}

/* For people: a CSV of the points in original units, path_base + ".csv". */
static int toy_render(void *state, const float *samples, int64_t n, const char *path_base, lpz_error *err)
{
    const toy_state *s = state;
    size_t cap = 16 + (size_t)n * 40;
    char *buf = malloc(cap);
    if (!buf)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    size_t len = (size_t)snprintf(buf, cap, "x,y\n");
    for (int64_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%.6g,%.6g\n", samples[2 * i] * s->scale,
                                samples[2 * i + 1] * s->scale);
    char path[4096];
    int rc;
    if ((size_t)snprintf(path, sizeof path, "%s.csv", path_base) >= sizeof path)
        rc = lpz_error_set(err, LPZ_EINVAL, "output path too long: %s", path_base);
    else
        rc = lpz_file_save(path, buf, len < cap ? len : cap - 1, err); /* written atomically */
    free(buf);
    return rc;
}

/* The options this plugin accepts in the run file's dataloader section.
 * The core rejects unknown keys and wrongly typed values before open. */
static const lpz_option_spec toy_options[] = {
    {"count", LPZ_OPT_INT, "10000", "number of points"},
    {"modes", LPZ_OPT_INT, "8", "number of Gaussians on the ring"},
    {"radius", LPZ_OPT_FLOAT, "0.75", "radius of the ring, in [0, 1]"},
    {"std", LPZ_OPT_FLOAT, "0.02", "standard deviation of each Gaussian"},
    {"scale", LPZ_OPT_FLOAT, "1.0", "original units per unit (used by to_original_units and render)"},
    {"seed", LPZ_OPT_INT, "1", "seed of the generated points"},
    {NULL, 0, NULL, NULL},
};

static const lpz_dataloader_ops toy_ops = {
    .size = sizeof(lpz_dataloader_ops),
    .open = toy_open,
    .close = toy_close,
    .read = toy_read,
    .label = toy_label,
    .render = toy_render,
    .to_original_units = toy_to_original_units,
};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "toy_gaussians", NULL, "1.0.0",
                  "2-D points from a ring of Gaussians (a template for new dataloaders)", toy_options, &toy_ops);
