/* core/runtime/final_score.c - master.calculate_score: every cell's final
 * mixture scored once more, at the end, with master.score_sample_size
 * samples (the original's master scored the results it gathered, with
 * 50,000 samples by default, and named the best). See run.h. */
#include "runtime/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lpz/log.h>

#include "config/options_internal.h"
#include "io/fsutil.h"
#include "score/score.h"

int lpz_run_final_scores(const lpz_config *cfg, lpz_dataset *ds, const lpz_plugin *net_plugin, const char *cache_dir,
                         const char *run_dir, int n_cells, volatile int *stop, double *scores, lpz_error *err)
{
    int64_t n = cfg->master.score_sample_size;
    for (int c = 0; c < n_cells; c++)
        scores[c] = NAN;
    lpz_log(LPZ_LOG_INFO, "master.calculate_score: scoring every cell's mixture with %lld samples (FID; "
            "master.score_sample_size)", (long long)n);
    lpz_scorer_options so = {0};
    so.feature_model = cfg->trainer.params.score.feature_model;
    so.cache_dir = cache_dir;
    so.sample_size = n;
    so.seed = LPZ_SCORE_REAL_SEED;
    so.stop = stop;
    lpz_scorer *scorer = NULL;
    lpz_score_context *ctx = NULL;
    int rc = lpz_scorer_create(ds, &so, &scorer, err);
    if (!rc)
        rc = lpz_score_context_create(scorer, &ctx, err);
    if (rc) {
        lpz_error_context(err, "master.calculate_score");
        goto done;
    }
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
    for (int c = 0; c < n_cells && !rc; c++) {
        if (stop && __atomic_load_n(stop, __ATOMIC_SEQ_CST)) {
            rc = lpz_error_set(err, LPZ_ECANCELED, "stopped while scoring the final mixtures");
            break;
        }
        char dir[4200], yml[4300];
        snprintf(dir, sizeof dir, "%s/master/%d", run_dir, c);
        snprintf(yml, sizeof yml, "%s/mixture.yml", dir);
        if (!lpz_is_file(yml)) {
            lpz_log(LPZ_LOG_WARN, "cell %d: no final mixture (%s) to score", c, yml);
            continue;
        }
        lpz_mixture mix;
        memset(&mix, 0, sizeof mix);
        rc = lpz_mixture_open(dir, NULL, net_plugin, &info->sample_shape, &cfg->network.options, &mix, err);
        lpz_rng rng;
        lpz_rng_seed(&rng, (uint64_t)cfg->general.seed, 0x66696e616c /* "final" */ + (uint64_t)c);
        double fid = NAN;
        if (!rc)
            rc = lpz_mixture_fid(ctx, mix.gens, mix.weights, mix.n, n,
                                 (lpz_mix_mode)cfg->trainer.mixture_generator_samples_mode, &rng, &fid, err);
        lpz_mixture_close(&mix);
        if (rc) {
            lpz_error_context(err, "scoring the mixture of cell %d (%s)", c, dir);
            break;
        }
        scores[c] = fid;
        lpz_log(LPZ_LOG_INFO, "cell %d: final mixture FID %.4f (%lld samples)", c, fid, (long long)n);
    }
done:
    lpz_score_context_destroy(ctx);
    lpz_scorer_destroy(scorer);
    return rc;
}

int lpz_run_lowest_score(const double *scores, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++)
        if (!isnan(scores[i]) && (best < 0 || scores[i] < scores[best]))
            best = i;
    return best;
}

void lpz_run_use_final_scores(lpz_train_result *result, const double *scores, int64_t samples)
{
    for (int i = 0; i < result->n_cells; i++)
        result->cells[i].score = scores[result->cells[i].cell];
    int best = lpz_run_lowest_score(scores, result->n_cells); /* the cells of a local run are 0..n-1 in order */
    if (best >= 0) {
        result->best_cell = best;
        result->final_score_samples = samples;
    }
}

int lpz_run_final_scores_of(const lpz_registry *reg, const lpz_config *cfg, const char *run_dir, int n_cells,
                            volatile int *stop, double *scores, lpz_error *err)
{
    const lpz_plugin *dl_plugin, *net_plugin;
    lpz_options *dl_opts = NULL, *net_opts = NULL;
    lpz_dataset *ds = NULL;
    char cache[4096];
    int rc = lpz_run_plugin(reg, cfg, LPZ_PLUGIN_DATALOADER, &dl_plugin, &dl_opts, err);
    if (!rc)
        rc = lpz_run_plugin(reg, cfg, LPZ_PLUGIN_NETWORK, &net_plugin, &net_opts, err);
    if (!rc)
        rc = lpz_score_open_dataset(dl_plugin, dl_opts, cfg->general.output_dir, cfg->source_dir, LPZ_SPLIT_TRAIN, &ds,
                                    cache, sizeof cache, err);
    if (!rc)
        rc = lpz_run_final_scores(cfg, ds, net_plugin, cache, run_dir, n_cells, stop, scores, err);
    lpz_dataset_close(ds);
    lpz_options_destroy(net_opts);
    lpz_options_destroy(dl_opts);
    return rc;
}
