/* core/score/mixture_open.c - a mixture's generators rebuilt from their
 * files and checked against the configured network. See score.h. */
#include "base/shape.h"
#include "score/score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lpz_mixture_close(lpz_mixture *m)
{
    if (!m)
        return;
    for (int j = 0; j < m->n; j++) {
        if (m->models)
            lpz_loaded_model_close(&m->models[j]);
        if (m->paths)
            free(m->paths[j]);
    }
    free(m->models), free(m->gens), free(m->weights), free(m->paths);
    memset(m, 0, sizeof *m);
}

static int shape_eq(const lpz_shape *a, const lpz_shape *b)
{
    if (a->ndim != b->ndim)
        return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i])
            return 0;
    return 1;
}

/* Two YAML scalar texts mean the same value: equal text (quotes aside),
 * or equal numbers, or the same boolean. */
static int same_value(const char *a, const char *b)
{
    char x[256], y[256];
    const char *in[2] = {a, b};
    char *out[2] = {x, y};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(in[k]);
        if (n >= 2 && (in[k][0] == '"' || in[k][0] == '\'') && in[k][n - 1] == in[k][0])
            snprintf(out[k], 256, "%.*s", (int)(n - 2), in[k] + 1);
        else
            snprintf(out[k], 256, "%s", in[k]);
    }
    if (strcmp(x, y) == 0)
        return 1;
    char *ex, *ey;
    double dx = strtod(x, &ex), dy = strtod(y, &ey);
    if (*x && *y && !*ex && !*ey)
        return dx == dy;
    static const char *truthy[] = {"true", "True", "TRUE", "yes", "on"}, *falsy[] = {"false", "False", "FALSE",
                                                                                      "no", "off"};
    int tx = -1, ty = -1;
    for (int i = 0; i < 5; i++) {
        if (strcmp(x, truthy[i]) == 0)
            tx = 1;
        if (strcmp(x, falsy[i]) == 0)
            tx = 0;
        if (strcmp(y, truthy[i]) == 0)
            ty = 1;
        if (strcmp(y, falsy[i]) == 0)
            ty = 0;
    }
    return tx >= 0 && tx == ty;
}

int lpz_mixture_open(const char *dir, const char *file, const lpz_plugin *net_plugin, const lpz_shape *sample_shape,
                     const lpz_config_options *opts, lpz_mixture *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    lpz_mixture_file mf;
    memset(&mf, 0, sizeof mf);
    int rc = LPZ_OK, n;
    if (dir) {
        if ((rc = lpz_mixture_read(dir, &mf, err)))
            return rc;
        n = mf.n;
    } else {
        n = 1;
    }
    out->models = calloc((size_t)n, sizeof *out->models);
    out->gens = calloc((size_t)n, sizeof *out->gens);
    out->weights = calloc((size_t)n, sizeof *out->weights);
    out->paths = calloc((size_t)n, sizeof *out->paths);
    if (!out->models || !out->gens || !out->weights || !out->paths) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    out->n = n;
    double sum = 0, top = 0;
    for (int j = 0; j < n; j++) {
        out->paths[j] = strdup(dir ? mf.paths[j] : file);
        out->weights[j] = dir ? mf.weights[j] : 1.0;
        top = out->weights[j] > top ? out->weights[j] : top;
        sum += out->weights[j];
    }
    if (!isfinite(sum)) { /* weights near DBL_MAX: by the largest first */
        sum = 0;
        for (int j = 0; j < n; j++)
            sum += out->weights[j] /= top;
    }
    for (int j = 0; j < n; j++) {
        if (!out->paths[j]) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
            goto done;
        }
        out->weights[j] /= sum;
    }
    for (int j = 0; j < n && !rc; j++) {
        const char *path = out->paths[j];
        lpz_loaded_model *lm = &out->models[j];
        if ((rc = lpz_model_open(path, net_plugin, lm, err))) {
            if (!err || !err->where[0])
                lpz_error_where(err, "%s", path);
            /* only for another network's file: a damaged one has its own message (and hint) */
            if (err && rc == LPZ_EINVAL && !err->hint[0])
                lpz_error_hint(err, "the mixture must come from a run of this configuration's network (%s)",
                               net_plugin->name);
            break;
        }
        const lpz_model_info *info = &lm->info;
        char a[96], b[96];
        if (info->role != LPZ_ROLE_GENERATOR) {
            rc = lpz_error_set(err, LPZ_EINVAL, "the file holds a %s, not a generator", lpz_role_name(info->role));
        } else if (j > 0 && !shape_eq(&info->sample_shape, &out->models[0].info.sample_shape)) {
            /* the first generator's shape is the data's (checked below for j = 0), or without the data the
             * shape taken for it (lpz generate of images): the mixture mixes generators of two runs */
            lpz_shape_format(&info->sample_shape, a, sizeof a);
            lpz_shape_format(&out->models[0].info.sample_shape, b, sizeof b);
            rc = lpz_error_set(err, LPZ_EINVAL, "the generator makes samples of shape %s but %s makes %s", a,
                               out->paths[0], b);
            lpz_error_where(err, "%s", path);
            lpz_error_hint(err, "the generators of a mixture must come from one run: mixture.yml lists them");
            break;
        } else if (!shape_eq(&info->sample_shape, sample_shape)) {
            lpz_shape_format(&info->sample_shape, a, sizeof a);
            lpz_shape_format(sample_shape, b, sizeof b);
            rc = lpz_error_set(err, LPZ_EINVAL,
                               "the generator makes samples of shape %s but the configured dataset has %s", a, b);
        } else if (j > 0 && !shape_eq(&info->latent_shape, &out->models[0].info.latent_shape)) {
            lpz_shape_format(&info->latent_shape, a, sizeof a);
            lpz_shape_format(&out->models[0].info.latent_shape, b, sizeof b);
            rc = lpz_error_set(err, LPZ_EINVAL, "latent shape %s differs from %s of %s", a, b, out->paths[0]);
        }
        for (int o = 0; opts && o < opts->count && !rc; o++) {
            const lpz_config_option *want = &opts->items[o];
            const char *rec = NULL;
            for (int i = 0; i < info->n_options; i++)
                if (strcmp(info->option_keys[i], want->key) == 0)
                    rec = info->option_values[i];
            if (rec && !same_value(rec, want->value))
                rc = lpz_error_set(err, LPZ_EINVAL,
                                   "network option %s is %s in the file but %s in the configuration (%s)",
                                   want->key, rec, want->value, want->where);
        }
        if (rc) {
            lpz_error_where(err, "%s", path);
            lpz_error_hint(err, "use the configuration the mixture was trained with (its run folder's config.yml)");
        }
        out->gens[j] = lm->model;
    }
done:
    lpz_mixture_file_free(&mf);
    if (rc)
        lpz_mixture_close(out);
    return rc;
}

int lpz_mixture_open_check(void *request, const lpz_dataset_info *info, lpz_error *err)
{
    const lpz_mixture_request *r = request;
    return lpz_mixture_open(r->dir, r->file, r->net_plugin, &info->sample_shape, r->opts, r->out, err);
}
