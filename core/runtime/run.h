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
    /* Set to 1 when the final scoring begins, the training complete (a
     * SIGINT handler then says that it stops the scoring); NULL: none. */
    volatile int *scoring;
} lpz_run_request;

typedef struct lpz_run_outcome {
    /* The run folder. After a failure "" when this run left no results of
     * its own there: a new folder that held only config.yml was removed
     * (with the folders made for it), a resumed one left as it was. */
    char run_dir[4096];
    lpz_train_result result;
} lpz_run_outcome;

int lpz_run_local(const lpz_run_request *req, lpz_run_outcome *out, lpz_error *err);

/* master.calculate_score: after the training, every cell's final mixture
 * (run_dir/master/<c>/) scored once more with master.score_sample_size
 * samples: FID against as many real samples of the training split, with
 * the trainer's feature model. The scores are kept in
 * run_dir/final_scores.csv, one row "cell,iterations,samples,fid" per cell
 * (fid and samples empty until it is scored), written before the first
 * cell is scored and again after each: an interrupted scoring keeps what it
 * had, and a later scoring of the same mixtures (a cell after as many
 * iterations) with as many samples takes their scores from the file
 * instead of drawing new samples (logged); the others are scored again. */
#define LPZ_FINAL_SCORES_FILE "final_scores.csv"

typedef struct lpz_final_request {
    const lpz_config *cfg;
    const char *run_dir;
    int n_cells;
    /* [n_cells] the iterations each cell's final mixture was made after;
     * < 0: the cell has none (a lost cell of a distributed run) */
    const int *iterations;
    volatile int *stop; /* set asynchronously (SIGINT) to stop, also within a cell's scoring */
    volatile int *scoring; /* set to 1 (atomically) when the scoring begins, for a SIGINT handler; NULL: none */
    /* The training split when this process has it open (a local run), with
     * its cache folder and the network plugin. ds NULL: the dataloader and
     * network of cfg are opened from registry, and only when a cell is
     * left to score (the master, a resume that only scores). */
    lpz_dataset *ds;
    const char *cache_dir;
    const lpz_plugin *net_plugin;
    const lpz_registry *registry;
} lpz_final_request;

/* Scores as above: scores[c] (n_cells) the final FID, NAN for a cell
 * without a mixture or a score; out says what happened (state, cells
 * scored and taken from the file, seconds). Logs a line per cell; a failure
 * (data without FID features, a bad mixture) is a warning and state
 * LPZ_FINAL_FAILED, a stop LPZ_FINAL_STOPPED: the training's results are
 * complete either way. */
void lpz_run_final_scoring(const lpz_final_request *rq, double *scores, lpz_final_outcome *out);

/* 1 when run_dir/final_scores.csv lists every one of n_cells cells after
 * n_iterations iterations: the training of the run had finished when its
 * final scoring began, and a --resume with that many iterations has only
 * the final scoring left (done or not). */
int lpz_run_trained_for_final(const char *run_dir, int n_cells, int n_iterations);

/* 1 when the run's own records say that its training of n_iterations is
 * complete, with or without final_scores.csv: every one of n_cells cells
 * has its checkpoint (checkpoints/cell-<c>.safetensors) after n_iterations
 * iterations and its final mixture (master/<c>/mixture.yml) written no
 * earlier than that checkpoint (the trainer writes the mixtures after the
 * cells' last checkpoints: a run killed in between, or one whose mixture
 * is of an earlier stop, is not complete and is resumed as before). */
int lpz_run_training_complete(const char *run_dir, int n_cells, int n_iterations);

/* The index of the lowest score of n, ignoring NaN ones; -1 when all are. */
int lpz_run_lowest_score(const double *scores, int n);

/* The best of n cells (present[i] 0: not a candidate; present NULL: all
 * are): the best score (the lowest; the highest when `higher`, for the
 * inception score) when both compared have one, else the lowest generator
 * fitness; -1 when there is none. */
int lpz_run_best_cell(int n, const double *score, const double *fitness, const int *present, int higher);

/* 1 when the training's score (trainer.params.score) is better higher:
 * the inception score; 0 for FID, constant and none. */
int lpz_run_score_higher(const lpz_config *cfg);

/* The training's scorer for trainer.params.score.type fid or
 * inception_score (*out NULL for constant, none or score.enabled false),
 * with the classifier and real statistics cached in cache_dir. FID that
 * lpz cannot compute for this data (samples of more than 512 values that
 * are not images) is a warning and *out NULL: the run trains without a
 * score. The inception score on data without the classifier's 10 classes
 * is an error. stop: Ctrl-C during a first run's classifier training. */
int lpz_run_open_scorer(const lpz_config *cfg, lpz_dataset *ds, const char *cache_dir, volatile int *stop,
                        lpz_scorer **out, lpz_error *err);

/* result->best_cell of a training: lpz_run_best_cell over the cells of r
 * that finished an iteration (before that a cell's fitness is not
 * measured), -1 when none has. LPZ_OK, or LPZ_ENOMEM. */
int lpz_run_result_best_cell(const lpz_train_result *r, int *best);

/* When result->final.state is LPZ_FINAL_DONE: puts the final scores into
 * the cells' results and sets result->best_cell to the lowest (the cells
 * without one do not compete). Else leaves the result as it is. */
void lpz_run_use_final_scores(lpz_train_result *result, const double *scores);

/* From run_dir/metrics.csv: each cell's g_fitness and score (NAN: empty)
 * of its latest iteration; NAN for a cell without a row. */
int lpz_run_last_rows(const char *run_dir, int n_cells, double *g_fitness, double *score, lpz_error *err);

/* Fills training parameters from a configuration (no plugin needed). */
int lpz_train_params_from_config(const lpz_config *cfg, lpz_train_params *p, lpz_error *err);

/* Sets the process's matrix-product precision from general.matmul_precision
 * (nn/precision.h) and says in the log which one runs and on what: high
 * needs AMX, medium AMX or AVX512-BF16, and each runs as highest (with a
 * warning saying why) without them. Every command that computes with
 * models calls it once its configuration is read. Returns LPZ_OK. */
int lpz_run_apply_precision(const lpz_config *cfg);

/* lpz train (local and master), once the run starts: warnings for keys
 * set that have no effect with the others (network.loss with
 * lipizzaner_wgan, network.randomized without mustangs), and at the
 * default precision on a CPU that can run "high", one log line saying so. */
void lpz_run_hints(const lpz_config *cfg);

/* Creates the result folder <output_dir>/<trainer name>/<timestamp>[-n]/
 * and writes its path to out. */
int lpz_run_make_dir(const lpz_train_params *p, char *out, size_t size, lpz_error *err);

/* The run folder's lock, RUN/.lpz-lock (flock; the file holds the pid):
 * held by lpz train and a distributed master (their final scoring too;
 * lpz score and lpz generate only read the folder) so that a second process, a --resume given while the
 * run still goes on, is refused (LPZ_ESTATE, naming the process) instead
 * of both overwriting the checkpoints and appending rows. *fd is the lock
 * (-1 on a file system without locks: warned, not refused). A lock of a
 * process that was killed is free (the kernel drops it); its file stays. */
int lpz_run_lock(const char *run_dir, int *fd, lpz_error *err);
/* Lets the lock go and removes its file; fd < 0: nothing. */
void lpz_run_unlock(const char *run_dir, int fd);

/* After a new run failed before it wrote results: removes run_dir when it
 * holds nothing but its config.yml and empty folders (what lpz puts there
 * before training) and, setup_only (the run failed before its training
 * began), files at its top (what a dataloader writes while it opens:
 * network_traffic's scaling.json). 1 when removed; 0, and nothing removed,
 * when it holds anything else. */
int lpz_run_remove_unused(const char *run_dir, int setup_only);

/* Before a run folder is resumed: LPZ_EINVAL (naming the file and the
 * --set that fixes it) when its metrics.csv already has iterations past
 * n_iterations, which the resumed run could neither redo nor keep. A
 * folder without metrics.csv passes. */
int lpz_run_check_resume(const char *run_dir, int n_iterations, lpz_error *err);

/* The sample shape a resumed run's networks were trained on, from the
 * metadata of its first saved generator (master/<c>/generator-<c>), the
 * file's path in `from`; 0 when no mixture says (a run killed before it
 * saved one, or a file without the network's metadata). A resume on data
 * of another shape cannot load a single network: refused up front. */
int lpz_run_trained_sample_shape(const char *run_dir, int n_cells, lpz_shape *shape, char *from, size_t from_size);

/* LPZ_EINVAL, where dataloader.batch_size was set and with the batcher's
 * hint, when the batch is larger than the dataset. */
int lpz_run_check_batch_size(const lpz_config *cfg, int64_t batch_size, lpz_dataset *ds, lpz_error *err);

/* The data a run trains on and the network for its samples. */
typedef struct lpz_run_data {
    const lpz_config *cfg;
    const lpz_train_params *params;
    const lpz_plugin *dataloader;
    const lpz_dataset_context *ctx;
    const lpz_plugin *network;
    const lpz_options *network_options;
    const char *resume_dir; /* a resumed run's folder: the shape its networks have is the data's; NULL: none */
    int final_scoring;      /* 1: master.calculate_score is this process's (a local run): checked too */
} lpz_run_data;

/* Opens the data and configures the network for its samples, checking
 * what needs only their shape (a resumed run's shape, the network's
 * configure, the scores' settings: colour images without the InceptionV3
 * weights) before the dataloader's open when it describes its samples
 * first (lpz_dataset_open_checked): a configuration that cannot take the
 * samples is refused at once, not after open's work (celeba decodes every
 * image). On failure *ds and *net are NULL. */
int lpz_run_open_data(const lpz_run_data *rd, lpz_dataset **ds, lpz_network **net, lpz_error *err);

/* lpz config's check of what the data decide: the sample shape the
 * dataloader tells without reading the data (its describe), and against
 * it the network's configure and the scores' settings, as lpz train
 * checks them before the dataloader's open. An error when they refuse it
 * (or describe refuses the options); LPZ_OK otherwise, with `said` a
 * sentence for the user: the shape checked, or why the data could not be
 * (*unchecked 1: not on this machine; 2: a dataloader that tells its shape
 * only in open). */
int lpz_run_check_config_data(const lpz_config *cfg, const lpz_registry *reg, char *said, size_t said_size,
                              int *unchecked, lpz_error *err);

/* Loads the plugin of `kind` named `name` and fills its options from the
 * configuration section ("dataloader" or "network"). */
int lpz_run_plugin(const lpz_registry *reg, const lpz_config *cfg, uint32_t kind, const lpz_plugin **plugin,
                   lpz_options **options, lpz_error *err);

#endif
