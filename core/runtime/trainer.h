/* core/runtime/trainer.h - running a whole grid in one process.
 *
 * Each cell is a thread; cells exchange individuals through nng inproc://
 * sockets with the same message code the distributed mode uses over tcp
 * (core/transport). A cell serves its latest published populations at any
 * time and never waits for a neighbour's iteration, except in
 * deterministic mode, where all cells meet once per iteration so that equal
 * seeds give equal results. At most `cores` cells compute at once, and
 * OpenBLAS then runs one thread, so threads x BLAS threads <= cores. When
 * the process has at least two cores per cell (a 1x1 grid, or a
 * distributed client with one cell) and the networks' samples do not
 * interact (no batch norm or dropout: the MLP and LSTM GANs), one helper
 * thread per cell takes the second half of every training batch, of the
 * fitness chunks and of the FID features; results then differ from the
 * one-thread run by float summation order only, and --deterministic runs
 * stay repeatable (the split is fixed). general.num_workers: 1 turns the
 * helper off.
 */
#ifndef LPZ_RUNTIME_TRAINER_H
#define LPZ_RUNTIME_TRAINER_H

#include "data/dataset.h"
#include "model/model.h"
#include "score/score.h"
#include "runtime/runtime.h"

/* What one run needs that is already open. */
typedef struct lpz_train_setup {
    const lpz_train_params *params;
    lpz_dataset *dataset;        /* training split */
    const lpz_network *network;  /* configured for the dataset's sample shape */
    const char *run_dir;         /* exists; results go here */
    int progress;                /* 0 quiet, 1 log lines, 2 a live terminal line */
    volatile int *stop;          /* set to 1 (e.g. by SIGINT) to stop early; may be NULL */
    int resume;                  /* 1: restore every cell from run_dir/checkpoints/ first */
    /* Scores the mixture of each cell's neighbourhood every iteration (FID;
     * the mixture-weight mutation is kept only when it lowers it). NULL:
     * no score, the weights stay as they are. */
    lpz_scorer *scorer;
    /* Called after every completed grid iteration (all cells done with it,
     * metrics written) and once at the end with iteration = -1; from a
     * cell thread, one call at a time. May be NULL. */
    void (*on_iteration)(void *user, const char *run_dir, int iteration);
    void *user;

    /* Distributed use (all zero/NULL for a whole grid in this process):
     * the cells this process runs, the URL every cell of the grid is dialled
     * at (k*k entries; NULL: inproc), the URL each local cell listens on
     * (n_local_cells entries; NULL: its dial URL), the experiment id (0:
     * derived from time and pid), the shared secret and the neighbour
     * timeout in milliseconds (0: 10 s). */
    const int *local_cells;
    int n_local_cells;
    const char *const *cell_urls;
    const char *const *bind_urls;
    uint64_t experiment;
    const char *secret;
    int fetch_timeout_ms;

    /* The record of the data's original units (runtime/units.h), written
     * next to every saved mixture as master/<cell>/units.json; NULL: none
     * (the dataloader has no original units). */
    const char *units_record;
} lpz_train_setup;

/* Per-cell outcome, filled at the end. */
typedef struct lpz_cell_result {
    int cell;
    int iterations;        /* completed */
    double best_g_fitness; /* of the cell's best local generator */
    double score;          /* mixture score, NAN when not computed */
    int score_es;          /* 1: score is optimize_mixture's (its ES ran), else the last iteration's */
    char mixture_dir[4096];
} lpz_cell_result;

/* master.calculate_score at the end of a run (runtime/run.h:
 * lpz_run_final_scoring), for the local run and the distributed master. */
typedef enum lpz_final_state {
    LPZ_FINAL_NONE = 0, /* not asked for, or the training was stopped */
    LPZ_FINAL_DONE,     /* every cell with a final mixture has its final FID */
    LPZ_FINAL_STOPPED,  /* interrupted (Ctrl-C) after the training had finished */
    LPZ_FINAL_FAILED,   /* could not score (a warning says why): no final scores */
    LPZ_FINAL_UNAVAILABLE, /* no FID for these samples (a warning says why): no final scores */
    LPZ_FINAL_INCOMPLETE /* some cells were left unscored (warnings say why: no mixture file, data scaled
                          * otherwise than it trained on); the best cell is not chosen by final scores */
} lpz_final_state;

typedef struct lpz_final_outcome {
    lpz_final_state state;
    int64_t samples; /* master.score_sample_size */
    int cells;       /* cells with a final mixture to score */
    int scored;      /* scored by this run (all of them, or those before the stop) */
    int reused;      /* taken from final_scores.csv: scored earlier with as many samples */
    int unscored;    /* left unscored by this run (LPZ_FINAL_INCOMPLETE) */
    double seconds;  /* wall time of the final scoring, apart from the training's */
} lpz_final_outcome;

typedef struct lpz_train_result {
    int n_cells;
    lpz_cell_result *cells; /* malloc'd, n_cells */
    int best_cell;
    int stopped;             /* 1 when the training was stopped early */
    double seconds;          /* of the training (the final scoring's are in final) */
    double seconds_per_iteration; /* median over cells and iterations */
    /* 1: the cells' scores are inception scores (higher is better), else
     * FIDs; the final scores of master.calculate_score are FIDs */
    int score_higher;
    /* 1: a --resume of a run whose training had finished (final_scores.csv
     * says so): nothing was trained, only the final scoring was left */
    int trained_before;
    /* state DONE: the cells' scores are master.calculate_score's final FIDs
     * over final.samples samples (lpz_run_use_final_scores); else each
     * cell's score of its last iteration */
    lpz_final_outcome final;
} lpz_train_result;

/* Trains the grid. On success the run folder holds metrics.csv, samples/
 * and master/<cell>/ (generators, discriminators, mixture.yml). */
int lpz_train_local(const lpz_train_setup *setup, lpz_train_result *result, lpz_error *err);

void lpz_train_result_free(lpz_train_result *r);

#endif
