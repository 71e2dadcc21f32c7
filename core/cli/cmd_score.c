/* core/cli/cmd_score.c - `lpz score (--mixture-source DIR | --generator
 * FILE | --samples FILE.npy) [-f CONFIG] [--sample-size N] [--seed S]
 * [--json]`: FID, and for labelled MNIST-format data inception score and
 * TVD, of generated samples against the configured dataset (core/score);
 * without -f, the dataset of the run the mixture is in. */
#include "cli/commands.h"
#include "config/config.h"
#include "config/options_internal.h"
#include "io/npy.h"
#include "plugin/registry.h"
#include "runtime/run.h"
#include "runtime/units.h"
#include "score/score.h"

#include <lpz/log.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void print_number(const char *name, double v, int json, int last)
{
    if (json) {
        if (isnan(v))
            printf("  \"%s\": null%s\n", name, last ? "" : ",");
        else
            printf("  \"%s\": %.10g%s\n", name, v, last ? "" : ",");
    } else if (!isnan(v)) {
        printf("%-16s %.6f\n", name, v);
    }
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Samples held at a time. */
#define SCORE_BLOCK_BYTES (64 << 20)

/* The next samples, from done on (at most block, n in all), into x: read
 * from the array (in the dataset's [-1, 1] units, as the dataloaders
 * guarantee: images saved in [0, 1] or [0, 255] would give a
 * plausible-looking, meaningless FID) or generated. */
static int next_block(lpz_npy_reader *reader, lpz_mixture_sampler *sampler, const char *path, int images, float *x,
                      int64_t block, int64_t n, int64_t done, int64_t numel, int64_t *got, lpz_error *err)
{
    int64_t k = n - done < block ? n - done : block;
    *got = k;
    if (sampler)
        return lpz_mixture_sampler_next(sampler, k, x, got, err);
    int rc = lpz_npy_reader_read(reader, x, k * numel, err);
    if (rc)
        return rc;
    for (int64_t i = 0; i < k * numel; i++)
        if (!(x[i] >= -1.0f && x[i] <= 1.0f)) {
            lpz_error_set(err, LPZ_EINVAL, "sample %lld, element %lld is %g, outside [-1, 1]",
                          (long long)(done + i / numel), (long long)(i % numel), (double)x[i]);
            lpz_error_where(err, "%s", path);
            if (images)
                lpz_error_hint(err, "--samples takes the dataset's [-1, 1] units (map images in [0, 1] with 2 x - 1, "
                                    "in [0, 255] with x / 127.5 - 1)");
            else
                lpz_error_hint(err, "--samples takes the dataset's [-1, 1] units: give the samples-raw.npy that "
                                    "'lpz generate' writes beside samples.npy (that one is in original units)");
            return LPZ_EINVAL;
        }
    return LPZ_OK;
}

/* lpz_score_context_set_progress: samples whose features are done */
typedef struct score_progress {
    lpz_cli_progress *pr;
    int64_t done;
} score_progress;

static void on_features(void *arg, int64_t k)
{
    score_progress *sp = arg;
    sp->done += k;
    lpz_cli_progress_update(sp->pr, sp->done);
}

int lpz_cmd_score(const lpz_cli_args *args)
{
    int sources = !!args->mixture_source + !!args->generator + !!args->samples;
    if (sources != 1) {
        fprintf(stderr, "lpz: error: 'lpz score' needs exactly one of --mixture-source DIR, --generator FILE, "
                        "--samples FILE.npy (see 'lpz score --help')\n");
        return 2;
    }
    if (args->samples && args->seed) { /* nothing is drawn: the seed would change nothing */
        fprintf(stderr, "lpz: error: option '--seed' does not apply to 'lpz score --samples': the samples are "
                        "read, not drawn (see 'lpz score --help')\n");
        return 2;
    }
    /* the mixture's (a generator file's) folder: its record of the units, and without -f its run */
    char gen_dir[PATH_MAX], run_cfg[PATH_MAX + 32];
    snprintf(gen_dir, sizeof gen_dir, "%s", args->mixture_source ? args->mixture_source
                                            : args->generator ? args->generator : "");
    if (args->generator) {
        char *slash = strrchr(gen_dir, '/');
        if (!slash)
            snprintf(gen_dir, sizeof gen_dir, ".");
        else if (slash == gen_dir)
            gen_dir[1] = '\0';
        else
            *slash = '\0';
    }
    const char *config_file = args->config_file;
    if (!config_file && !args->samples && lpz_cli_mixture_run_config(gen_dir, run_cfg, sizeof run_cfg))
        config_file = run_cfg;
    if (!config_file) {
        if (args->samples)
            fprintf(stderr, "lpz: error: 'lpz score --samples' needs -f CONFIG, the configuration of the data to "
                            "compare with (see 'lpz score --help')\n");
        else
            fprintf(stderr, "lpz: error: 'lpz score' needs -f CONFIG: %s is not in a run folder's master/<cell>, "
                            "whose run's config.yml it would take (see 'lpz score --help')\n",
                    args->mixture_source ? args->mixture_source : args->generator);
        return 2;
    }
    int64_t n_req = 0;
    uint64_t seed = 0;
    if (args->sample_size) { /* 2 .. 10^7 (lpz_cli_parse_count's range starts at 1) */
        char *end;
        errno = 0;
        long long v = strtoll(args->sample_size, &end, 10);
        if (!lpz_cli_is_digits(args->sample_size) || *end || errno || v > 10000000) {
            fprintf(stderr, "lpz: error: --sample-size %s: expected a whole number from 2 to 10000000\n",
                    args->sample_size);
            return 2;
        }
        n_req = v;
    }
    if (args->seed && lpz_cli_parse_seed(args->seed, &seed))
        return 2;
    if (args->sample_size && n_req < 2) { /* FID needs a covariance: two samples at least */
        fprintf(stderr, "lpz: error: --sample-size %s: scores need at least 2 samples (see 'lpz score --help')\n",
                args->sample_size);
        return 2;
    }
    lpz_error err;
    lpz_error_clear(&err);
    lpz_config cfg;
    lpz_registry reg;
    memset(&reg, 0, sizeof reg);
    const lpz_plugin *dl_plugin, *net_plugin = NULL; /* the network: for generators, not --samples */
    lpz_options *dl_opts = NULL, *net_opts = NULL;
    lpz_dataset *ds = NULL;
    lpz_scorer *scorer = NULL;
    lpz_score_context *ctx = NULL;
    lpz_mixture mix;
    memset(&mix, 0, sizeof mix);
    lpz_npy_reader *reader = NULL;
    lpz_mixture_sampler *sampler = NULL;
    lpz_score_stream *stream = NULL;
    float *samples = NULL;
    int rc = 1;
    char cache[PATH_MAX];
    if (lpz_cli_read_config(args, config_file, &cfg, &err))
        goto fail;
    if (!args->config_file)
        lpz_log(LPZ_LOG_INFO, "configuration: %s (the %s's run)", config_file,
                args->mixture_source ? "mixture" : "generator");
    /* generators: opened for the data's samples, before they are read when the dataloader can tell them */
    lpz_mixture_request mixture = {args->mixture_source, args->generator, NULL, &cfg.network.options, &mix};
    if (lpz_run_apply_precision(&cfg) ||
        lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err) ||
        lpz_run_plugin(&reg, &cfg, LPZ_PLUGIN_DATALOADER, &dl_plugin, &dl_opts, &err) ||
        (!args->samples && lpz_run_plugin(&reg, &cfg, LPZ_PLUGIN_NETWORK, &net_plugin, &net_opts, &err)))
        goto fail;
    mixture.net_plugin = net_plugin;
    if (lpz_score_open_dataset(dl_plugin, dl_opts, cfg.general.output_dir, cfg.source_dir, LPZ_SPLIT_TRAIN,
                               args->samples ? NULL : lpz_mixture_open_check, &mixture, &ds, cache, sizeof cache,
                               &err)) {
        lpz_options_hint_included(dl_opts, cfg.source_dir, &err);
        goto fail;
    }
    if (!args->seed)
        seed = (uint64_t)cfg.general.seed;
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
    int64_t numel = lpz_dataset_numel(ds);
    int64_t n = n_req ? n_req : cfg.trainer.params.score.score_sample_size;

    /* The samples to score, a block at a time (never all at once: 50,000
     * CelebA samples would be 2.4 GB): from the array file, or generated. */
    int64_t block = 0;
    if (args->samples) {
        if (lpz_npy_reader_open(args->samples, &reader, &err))
            goto fail;
        int64_t shp[LPZ_NPY_MAX_DIMS];
        int ndim = lpz_npy_reader_shape(reader, shp);
        if (ndim >= 1 && shp[0] == 0) {
            lpz_error_set(&err, LPZ_EINVAL, "the array holds no samples (shape[0] is 0)");
            lpz_error_where(&err, "%s", args->samples);
            goto fail;
        }
        /* the reader checked that the product of all dimensions fits; with
         * one of 0 the others may be anything, and the product is 0 */
        int64_t tail = 1;
        for (int i = 1; i < ndim; i++)
            if (!shp[i])
                tail = 0;
        for (int i = 1; i < ndim && tail; i++)
            tail *= shp[i];
        int dims_ok = ndim == 2 || ndim == 1 + info->sample_shape.ndim;
        for (int i = 1; dims_ok && ndim > 2 && i < ndim; i++)
            dims_ok = shp[i] == info->sample_shape.dim[i - 1];
        if (ndim < 2 || tail != numel || !dims_ok) {
            /* (N, numel), or for samples of 2 or more dimensions also (N, their dimensions) */
            char want[128];
            size_t o = (size_t)snprintf(want, sizeof want, "(N, %lld)", (long long)numel);
            if (info->sample_shape.ndim > 1) {
                o += (size_t)snprintf(want + o, sizeof want - o, " or (N");
                for (int i = 0; i < info->sample_shape.ndim && o < sizeof want; i++)
                    o += (size_t)snprintf(want + o, sizeof want - o, ", %lld", (long long)info->sample_shape.dim[i]);
                if (o < sizeof want)
                    snprintf(want + o, sizeof want - o, ")");
            }
            lpz_error_set(&err, LPZ_EINVAL,
                          "the array has %d dimensions and %lld values per row; expected %s: N samples of the "
                          "dataset's shape",
                          ndim, (long long)(ndim < 2 ? 0 : tail), want);
            lpz_error_where(&err, "%s", args->samples);
            /* images saved channels last (N, H, W, C), as most image libraries hold them */
            const lpz_shape *ss = &info->sample_shape;
            if (ndim == 4 && ss->ndim == 3 && shp[1] == ss->dim[1] && shp[2] == ss->dim[2] && shp[3] == ss->dim[0])
                lpz_error_hint(&err, "the array looks channels-last (N, H, W, C): move the channels first, e.g. "
                                     "numpy's a.transpose(0, 3, 1, 2)");
            goto fail;
        }
        n = shp[0];
        if (n < 2) {
            lpz_error_set(&err, LPZ_EINVAL, "the array holds 1 sample; scores need at least 2");
            lpz_error_where(&err, "%s", args->samples);
            goto fail;
        }
        if (n_req > n) { /* scoring fewer than asked for would compare with other runs' --sample-size */
            lpz_error_set(&err, LPZ_EINVAL, "--sample-size %lld is more than the %lld samples the array holds",
                          (long long)n_req, (long long)n);
            lpz_error_where(&err, "%s", args->samples);
            lpz_error_hint(&err, "drop --sample-size to score all %lld, or give at most %lld", (long long)n,
                           (long long)n);
            goto fail;
        }
        if (n_req)
            n = n_req;
    } else {
        /* the mixture's record of the units it was trained in: a generator
         * file's is in its folder (master/<cell>/) */
        if (lpz_units_record_check(gen_dir, &cfg, config_file, ds, &err))
            goto fail;
        lpz_rng rng;
        lpz_rng_seed(&rng, seed, 0x67656e /* "gen" */);
        if (lpz_mixture_sampler_open(mix.gens, mix.weights, mix.n, n,
                                     (lpz_mix_mode)cfg.trainer.mixture_generator_samples_mode, &rng, NULL, &sampler,
                                     &err))
            goto fail;
    }
    if (n < 2) {
        lpz_error_set(&err, LPZ_EINVAL, "scores need at least 2 samples, got %lld", (long long)n);
        goto fail;
    }
    block = (SCORE_BLOCK_BYTES / 4) / (numel > 0 ? numel : 1);
    block = block < 2 ? 2 : block > n ? n : block;
    samples = malloc((size_t)(block * numel) * sizeof *samples);
    if (!samples) {
        lpz_error_set(&err, LPZ_ENOMEM, "out of memory for %lld samples of %lld values", (long long)block,
                      (long long)numel);
        goto fail;
    }
    /* The first block before the scorer (which may train a classifier
     * first): samples in the wrong units are refused at once. */
    int64_t k = 0;
    int images = info->kind == LPZ_SAMPLE_IMAGE;
    if (next_block(reader, sampler, args->samples, images, samples, block, n, 0, numel, &k, &err))
        goto fail;

    lpz_scorer_options so = {cfg.trainer.params.score.feature_model, cache, n, LPZ_SCORE_REAL_SEED, NULL, NULL,
                             NULL};
    if (lpz_scorer_create(ds, &so, &scorer, &err) || lpz_score_context_create(scorer, &ctx, &err) ||
        lpz_score_stream_open(ctx, &stream, &err))
        goto fail;
    lpz_cli_progress pr;
    lpz_cli_progress_start(&pr, "scoring", "samples", n, !args->quiet);
    /* InceptionV3 takes about 0.13 s a sample here: a 64 MB block of CelebA-sized samples (1,365) took minutes
     * without a progress line; the context says every group of samples it computed */
    score_progress sp = {&pr, 0};
    int by_group = lpz_scorer_features(scorer) == LPZ_FEATURES_INCEPTION; /* else by block (fast) */
    if (by_group)
        lpz_score_context_set_progress(ctx, on_features, &sp);
    for (int64_t done_rows = 0;;) {
        if (lpz_score_stream_add(stream, samples, k, &err)) {
            lpz_cli_progress_end(&pr);
            goto fail;
        }
        done_rows += k;
        if (!by_group)
            lpz_cli_progress_update(&pr, done_rows);
        if (done_rows >= n)
            break;
        if (next_block(reader, sampler, args->samples, images, samples, block, n, done_rows, numel, &k, &err)) {
            lpz_cli_progress_end(&pr);
            goto fail;
        }
    }
    lpz_scores sc;
    int frc = lpz_score_stream_finish(stream, &sc, &err); /* the last group's features: still in progress */
    lpz_score_context_set_progress(ctx, NULL, NULL);
    lpz_cli_progress_end(&pr);
    if (frc)
        goto fail;
    const char *source = args->samples ? args->samples : args->generator ? args->generator : args->mixture_source;
    lpz_feature_kind kind = lpz_scorer_features(scorer);
    const char *features = kind == LPZ_FEATURES_RAW ? "raw sample values"
                           : kind == LPZ_FEATURES_INCEPTION ? "InceptionV3" : "classifier";
    if (args->json) {
        printf("{\n  \"source\": ");
        json_string(source);
        printf(",\n  \"dataset\": ");
        json_string(lpz_dataset_name(ds));
        printf(",\n  \"samples\": %lld,\n  \"features\": ", (long long)n);
        json_string(features);
        printf(",\n  \"feature_model\": ");
        json_string(lpz_scorer_classifier_path(scorer));
        printf(",\n");
        print_number("fid", sc.fid, 1, 0);
        print_number("inception_score", sc.inception_score, 1, 0);
        print_number("tvd", sc.tvd, 1, 1);
        printf("}\n");
    } else {
        printf("%s: %lld samples against %lld real %s samples (features: %s%s%s)\n", source, (long long)n,
               (long long)n, lpz_dataset_name(ds), features, lpz_scorer_classifier_path(scorer)[0] ? " " : "",
               lpz_scorer_classifier_path(scorer));
        print_number("FID", sc.fid, 0, 0);
        print_number("inception score", sc.inception_score, 0, 0);
        print_number("TVD", sc.tvd, 0, 1);
    }
    rc = 0;
    goto done;
fail:
    lpz_cli_print_error(&err);
done:
    free(samples);
    lpz_npy_reader_close(reader);
    lpz_mixture_sampler_close(sampler);
    lpz_score_stream_close(stream);
    lpz_score_context_destroy(ctx);
    lpz_scorer_destroy(scorer);
    lpz_mixture_close(&mix);
    lpz_dataset_close(ds);
    lpz_options_destroy(net_opts);
    lpz_options_destroy(dl_opts);
    if (reg.dirs || reg.entries)
        lpz_registry_close(&reg);
    lpz_config_destroy(&cfg);
    return rc;
}
