/* core/runtime/run.h - from a configuration to a finished local run.
 *
 * Loads the plugins the configuration names, fills their options, opens
 * the dataset, configures the network, creates the result folder
 * <output_dir>/<trainer name>/<timestamp>/ with the resolved config.yml,
 * and trains (runtime/trainer.h). Shared by `lpz train` and, later, the
 * distributed client.
 */
#ifndef LPZ_RUNTIME_RUN_H
#define LPZ_RUNTIME_RUN_H

#include "config/config.h"
#include "plugin/registry.h"
#include "runtime/trainer.h"

typedef struct lpz_run_request {
    const lpz_config *config;
    const lpz_registry *registry;
    int progress;        /* 0 quiet, 1 log lines, 2 a live terminal line */
    volatile int *stop;  /* set asynchronously to stop (SIGINT) */
    const char *resume_dir; /* continue this run from its checkpoints (NULL: a new run) */
    void (*on_iteration)(void *user, const char *run_dir, int iteration); /* see lpz_train_setup */
    void *user;
} lpz_run_request;

typedef struct lpz_run_outcome {
    /* The run folder. After a failure "" when this run left no results of
     * its own there: a new folder that held only config.yml was removed
     * (with the folders made for it), a resumed one left as it was. */
    char run_dir[4096];
    lpz_train_result result;
} lpz_run_outcome;

int lpz_run_local(const lpz_run_request *req, lpz_run_outcome *out, lpz_error *err);

/* master.calculate_score: every cell's final mixture (run_dir/master/<c>/)
 * scored with master.score_sample_size samples: FID against as many real
 * samples of ds (the training split; the trainer's feature model, cached
 * in cache_dir). scores[c] is the FID, NAN for a cell without a mixture
 * (warned). net_plugin opens the generators. Logs a line per cell. Fails
 * with LPZ_EUNSUPPORTED when the dataset has no FID features and with
 * LPZ_ECANCELED when *stop is set. */
int lpz_run_final_scores(const lpz_config *cfg, lpz_dataset *ds, const lpz_plugin *net_plugin, const char *cache_dir,
                         const char *run_dir, int n_cells, volatile int *stop, double *scores, lpz_error *err);

/* lpz_run_final_scores for a process that has not opened the run's data
 * (the distributed master): opens the dataloader and network plugins of
 * cfg from reg and the training split, as `lpz score` does. */
int lpz_run_final_scores_of(const lpz_registry *reg, const lpz_config *cfg, const char *run_dir, int n_cells,
                            volatile int *stop, double *scores, lpz_error *err);

/* The index of the lowest score of n, ignoring NaN ones; -1 when all are. */
int lpz_run_lowest_score(const double *scores, int n);

/* Sets result->best_cell from final scores (lowest; the cells without one
 * do not compete) and puts them in the cells' results. */
void lpz_run_use_final_scores(lpz_train_result *result, const double *scores, int64_t samples);

/* Fills training parameters from a configuration (no plugin needed). */
int lpz_train_params_from_config(const lpz_config *cfg, lpz_train_params *p, lpz_error *err);

/* Sets the process's matrix-product precision from general.matmul_precision
 * (nn/precision.h) and says in the log which one runs: high and medium
 * need AMX and run as highest without it. Every command that computes with
 * models calls it once its configuration is read. Returns LPZ_OK. */
int lpz_run_apply_precision(const lpz_config *cfg);

/* lpz train (local and master): at the default precision on a CPU that
 * can run "high", one log line saying so. */
void lpz_run_hint_precision(const lpz_config *cfg);

/* Creates the result folder <output_dir>/<trainer name>/<timestamp>[-n]/
 * and writes its path to out. */
int lpz_run_make_dir(const lpz_train_params *p, char *out, size_t size, lpz_error *err);

/* After a new run failed before it wrote results: removes run_dir when it
 * holds nothing but its config.yml and empty folders (what lpz puts there
 * before training). 1 when removed; 0, and nothing removed, when it holds
 * anything else. */
int lpz_run_remove_unused(const char *run_dir);

/* Before a run folder is resumed: LPZ_EINVAL (naming the file and the
 * --set that fixes it) when its metrics.csv already has iterations past
 * n_iterations, which the resumed run could neither redo nor keep. A
 * folder without metrics.csv passes. */
int lpz_run_check_resume(const char *run_dir, int n_iterations, lpz_error *err);

/* Loads the plugin of `kind` named `name` and fills its options from the
 * configuration section ("dataloader" or "network"). */
int lpz_run_plugin(const lpz_registry *reg, const lpz_config *cfg, uint32_t kind, const lpz_plugin **plugin,
                   lpz_options **options, lpz_error *err);

#endif
