/* core/runtime/checkpoint.h - saving and restoring a cell.
 *
 * A checkpoint is one safetensors file per cell,
 * <run>/checkpoints/cell-<c>.safetensors, written atomically. For each
 * local member ("generator.<i>" / "discriminator.<i>") it holds the
 * tensors <prefix>.params, <prefix>.adam_m, <prefix>.adam_v and (when the
 * network has batch norm) <prefix>.buffers, and metadata with the member's
 * learning rate, fitness, id, Adam step, loss and source cell; plus the
 * cell's completed iteration count, mixture weights and random state (the
 * xoshiro state and the normal deviate it holds for the next draw).
 */
#ifndef LPZ_RUNTIME_CHECKPOINT_H
#define LPZ_RUNTIME_CHECKPOINT_H

#include "evolution/evolution.h"
#include "runtime/member.h"

#include <lpz/rng.h>

typedef struct lpz_cell_state {
    int cell;
    int grid_k;          /* the run's k x k grid: a checkpoint of another grid is refused */
    int iteration;       /* completed iterations */
    int pop;
    lpz_member *gen;     /* [pop] */
    lpz_member *disc;    /* [pop] */
    double *mix;         /* [n_mix] */
    int n_mix;
    lpz_rng *rng;
    int critic;       /* saved: 1 when the run trains WGAN critics (lipizzaner_wgan) */
    int critic_saved; /* loaded: the checkpoint's critic, -1 when it does not say (an earlier lpz) */
} lpz_cell_state;

/* Writes the checkpoint of one cell under run_dir/checkpoints/. */
int lpz_checkpoint_save(const char *run_dir, const lpz_cell_state *s, lpz_error *err);

/* Restores a cell saved by lpz_checkpoint_save into members already built
 * for the same network and population size. Every count and shape is
 * checked; LPZ_ENOTFOUND when the cell has no checkpoint. */
int lpz_checkpoint_load(const char *run_dir, lpz_cell_state *s, lpz_error *err);

/* The completed iterations that cell's checkpoint holds (without building
 * any member); LPZ_ENOTFOUND when the cell has none, LPZ_EFORMAT when it
 * is not a checkpoint of that cell. */
int lpz_checkpoint_iteration(const char *run_dir, int cell, int *iteration, lpz_error *err);

#endif
