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
 *
 * And the generators of the cell's models, which draw the dropout masks
 * (lpz_model_rng): they belong to the model slots, not to the individuals
 * copied through them, and go on from iteration to iteration. One I64
 * tensor [count, 6] per kind of slot, model_rng.<slot> with <slot>
 * generator and discriminator (the local members), neighbour_generator and
 * neighbour_discriminator (the neighbours' copies, when the grid has
 * neighbours), selected_generator and selected_discriminator (the copies
 * selection trains, when it is on); a row per model: the xoshiro state
 * s[0..3], 1 or 0 for a normal deviate held or not, the deviate's bits (0
 * without one), each 64-bit word stored as it is. A checkpoint without
 * one of them (an earlier lpz's, or a run's without those slots) leaves
 * those models' generators as they were built, and sets rng_missing when
 * that slot has models.
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
    /* The cell's other model slots, only their models' generators saved: the neighbours' copies (n_nb_slots
     * each, NULL when none) and the selected copies (pop each, NULL without selection). */
    lpz_member *nb_gen, *nb_disc;
    int n_nb_slots;
    lpz_member *sel_gen, *sel_disc;
    int rng_missing; /* loaded: 1 when a slot with models had no model_rng tensor (an earlier lpz's checkpoint) */
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
