/* core/evolution/evolution.c - see evolution.h. */
#include "evolution/evolution.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

int lpz_grid_neighbourhood(int k, int cell, int out[LPZ_MAX_NEIGHBOURS])
{
    int x = cell % k, y = cell / k;
    int cand[LPZ_MAX_NEIGHBOURS] = {
        cell,
        y * k + (x + k - 1) % k,
        ((y + k - 1) % k) * k + x,
        y * k + (x + 1) % k,
        ((y + 1) % k) * k + x,
    };
    int n = 0;
    for (int i = 0; i < LPZ_MAX_NEIGHBOURS; i++) {
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= out[j] == cand[i];
        if (!dup)
            out[n++] = cand[i];
    }
    return n;
}

double lpz_fitness_combine(const double *losses, int n, lpz_combine_mode mode)
{
    if (n <= 0)
        return 0.0;
    double acc = losses[0];
    for (int i = 1; i < n; i++) {
        switch (mode) {
        case LPZ_COMBINE_AVERAGE: acc += losses[i]; break;
        case LPZ_COMBINE_BEST: acc = fmin(acc, losses[i]); break;
        case LPZ_COMBINE_WORSE: acc = fmax(acc, losses[i]); break;
        }
    }
    return mode == LPZ_COMBINE_AVERAGE ? acc / n : acc;
}

int lpz_tournament(const double *fitness, int n, int tournament_size, lpz_rng *rng)
{
    if (tournament_size > n)
        tournament_size = n;
    if (tournament_size < 1)
        tournament_size = 1;
    /* Distinct draws by rejection: tournaments are small (2 by default),
     * so a repeat is rare, and any population size works. */
    int drawn[LPZ_TOURNAMENT_MAX];
    int best = -1;
    if (tournament_size > LPZ_TOURNAMENT_MAX)
        tournament_size = LPZ_TOURNAMENT_MAX;
    for (int t = 0; t < tournament_size; t++) {
        int pick, repeat;
        do {
            pick = (int)lpz_rng_below(rng, (uint64_t)n);
            repeat = 0;
            for (int j = 0; j < t; j++)
                repeat |= drawn[j] == pick;
        } while (repeat);
        drawn[t] = pick;
        if (best < 0 || fitness[pick] < fitness[best])
            best = pick;
    }
    return best;
}

void lpz_sort_by_fitness(const double *fitness, int n, int *order)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    /* Insertion sort: populations are tiny and it is stable. */
    for (int i = 1; i < n; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && fitness[order[j]] > fitness[v]) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}

int lpz_replacement_plan(const double *local_fitness, const int *local_order, int n_local,
                         const double *new_fitness, const int *new_order, int n_new, int n_replacements,
                         int (*pairs)[2])
{
    int count = 0;
    for (int i = 0; i < n_replacements && i < n_new && i < n_local; i++) {
        int worst = local_order[n_local - n_replacements + i >= 0 ? n_local - n_replacements + i : i];
        int best_new = new_order[i];
        if (local_fitness[worst] > new_fitness[best_new]) {
            pairs[count][0] = worst;
            pairs[count][1] = best_new;
            count++;
        }
    }
    return count;
}

double lpz_mutate_learning_rate(double lr, double lr0, double alpha, double p, lpz_rng *rng)
{
    if (lpz_rng_uniform(rng) >= p)
        return lr;
    double delta = -lr0 / 10.0 + lr0 * lpz_rng_normal(rng);
    double out = lr + alpha * delta;
    return out > 0.0 ? out : 0.0;
}

void lpz_mutate_mixture_weights(const double *weights, int n, double sigma, lpz_rng *rng, double *out)
{
    double sum = 0.0, top = 0.0;
    for (int i = 0; i < n; i++) {
        out[i] = weights[i] + sigma * lpz_rng_normal(rng);
        if (!(out[i] > 0.0)) /* also NaN */
            out[i] = 0.0;
        if (!isfinite(out[i]))
            out[i] = DBL_MAX;
        top = out[i] > top ? out[i] : top;
        sum += out[i];
    }
    if (!isfinite(sum)) { /* a huge mixture_sigma: by the largest first */
        sum = 0.0;
        for (int i = 0; i < n; i++)
            sum += out[i] /= top;
    }
    for (int i = 0; i < n; i++)
        out[i] = sum > 0.0 ? out[i] / sum : 1.0 / n;
}

int lpz_discriminator_trains(int skip_each_nth_step, long batch_index)
{
    return skip_each_nth_step <= 0 || batch_index % (skip_each_nth_step + 1) == 0;
}
