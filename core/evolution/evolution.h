/* core/evolution/evolution.h - the grid and the evolutionary operators.
 *
 * Owns: toroidal neighbourhoods, fitness combination, tournament
 * selection, replacement, learning-rate mutation, mixture-weight mutation
 * and the discriminator skip rule, as pure functions over plain arrays
 * (../shared/REFERENCE.md, "The algorithm of one cell"). Calls: base only.
 * The trainer (core/runtime) applies them to real individuals.
 */
#ifndef LPZ_EVOLUTION_H
#define LPZ_EVOLUTION_H

#include <lpz/error.h>
#include <lpz/rng.h>

/* ---- grid ---------------------------------------------------------------- */

#define LPZ_MAX_NEIGHBOURS 5

/* The neighbourhood of `cell` on a k x k torus: the cell itself first, then
 * the cells at (x-1, y), (x, y-1), (x+1, y), (x, y+1) with cell = y*k + x,
 * duplicates removed (a 1x1 grid has 1 cell per neighbourhood, 2x2 has 3).
 * Writes the cell numbers to out and returns how many. */
int lpz_grid_neighbourhood(int k, int cell, int out[LPZ_MAX_NEIGHBOURS]);

/* ---- fitness ------------------------------------------------------------- */

typedef enum lpz_combine_mode {
    LPZ_COMBINE_AVERAGE = 0, /* mean of the losses */
    LPZ_COMBINE_BEST = 1,    /* lowest loss */
    LPZ_COMBINE_WORSE = 2    /* highest loss (the original's default "worse") */
} lpz_combine_mode;

/* Combines an individual's losses against n opponents; lower is better. */
double lpz_fitness_combine(const double *losses, int n, lpz_combine_mode mode);

/* ---- selection and replacement -------------------------------------------- */

/* One tournament: draws `tournament_size` distinct individuals of n at
 * random and returns the index of the fittest (lowest fitness; the first
 * drawn wins ties). tournament_size is clamped to n (and to
 * LPZ_TOURNAMENT_MAX: a whole neighbourhood of the largest populations,
 * which the configuration's check keeps it below). */
#define LPZ_TOURNAMENT_MAX (LPZ_MAX_NEIGHBOURS * 64)
int lpz_tournament(const double *fitness, int n, int tournament_size, lpz_rng *rng);

/* Replacement as the original's Population.replacement: both populations
 * sorted by fitness (best first); for i < n_replacements, the i-th worst
 * local individual is replaced by the i-th best new one when that one is
 * strictly better. local_order/new_order are the indices sorted best first
 * (output of lpz_sort_by_fitness). Writes (local index, new index) pairs to
 * pairs and returns how many replacements to make. */
int lpz_replacement_plan(const double *local_fitness, const int *local_order, int n_local,
                         const double *new_fitness, const int *new_order, int n_new, int n_replacements,
                         int (*pairs)[2]);

/* Writes the indices 0..n-1 into order, sorted by ascending fitness
 * (stable). */
void lpz_sort_by_fitness(const double *fitness, int n, int *order);

/* ---- mutation -------------------------------------------------------------- */

/* Learning-rate mutation: with probability p, lr + alpha * delta with
 * delta ~ Normal(-lr0 / 10, lr0), clipped at 0; else lr unchanged. */
double lpz_mutate_learning_rate(double lr, double lr0, double alpha, double p, lpz_rng *rng);

/* Mixture-weight mutation: adds Normal(0, sigma) to each weight, clips at
 * 0 and renormalises to sum 1 (uniform when everything was clipped). */
void lpz_mutate_mixture_weights(const double *weights, int n, double sigma, lpz_rng *rng, double *out);

/* 1 when the discriminators train on this batch: skip rule n = 0, or
 * batch_index % (n + 1) == 0. */
int lpz_discriminator_trains(int skip_each_nth_step, long batch_index);

#endif
