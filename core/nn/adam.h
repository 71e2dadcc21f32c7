/* core/nn/adam.h - Adam with per-model state (core-internal).
 *
 * One lpz_adam belongs to one model (an individual): step count t and the
 * moments m, v, each a flat vector of the model's param_count floats, in
 * the order of lpz_model_params. The learning rate and betas are given at
 * every step, because an individual's learning rate mutates every batch.
 *
 * Update, as torch.optim.Adam (weight_decay 0, amsgrad off), per element:
 *   t += 1
 *   m = b1 m + (1 - b1) g
 *   v = b2 v + (1 - b2) g^2
 *   p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * with the bias corrections computed in double, eps = 1e-8.
 *
 * The state travels with the individual between cells: lpz_adam_get_state
 * and lpz_adam_set_state copy it as (t, m[], v[]).
 */
#ifndef LPZ_CORE_NN_ADAM_H
#define LPZ_CORE_NN_ADAM_H

#include <lpz/error.h>

/* The largest step count a state may hold (2^53: exact in the double of the
 * bias corrections, and far beyond any training). A count from a file or a
 * message above it is refused, so t + 1 never overflows. */
#define LPZ_ADAM_MAX_STEP ((int64_t)1 << 53)

typedef struct lpz_adam {
    int64_t n;  /* number of parameters */
    int64_t t;  /* steps taken */
    float *m;   /* first moments [n] */
    float *v;   /* second moments [n] */
    float eps;  /* 1e-8 */
} lpz_adam;

/* State for n parameters, zero moments, t = 0. */
int lpz_adam_create(int64_t n, lpz_adam **out, lpz_error *err);
void lpz_adam_destroy(lpz_adam *a);

/* Back to t = 0 and zero moments. */
void lpz_adam_reset(lpz_adam *a);

/* One step: updates params[0..n) from grads[0..n). Refuses lr < 0, betas
 * outside [0, 1), non-finite values, or t at LPZ_ADAM_MAX_STEP. */
int lpz_adam_step(lpz_adam *a, float *params, const float *grads, double lr, double beta1, double beta2,
                  lpz_error *err);

/* Copies state out (t and the 2 n moments) or in; m and v have n floats;
 * t in [0, LPZ_ADAM_MAX_STEP]. */
void lpz_adam_get_state(const lpz_adam *a, int64_t *t, float *m, float *v);
int lpz_adam_set_state(lpz_adam *a, int64_t t, const float *m, const float *v, lpz_error *err);

/* dst = src for two states of the same length. */
int lpz_adam_copy(lpz_adam *dst, const lpz_adam *src, lpz_error *err);

#endif
