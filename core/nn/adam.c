/* core/nn/adam.c - see adam.h for the update formula. */
#include "nn/adam.h"
#include "nn/elementwise.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int lpz_adam_create(int64_t n, lpz_adam **out, lpz_error *err)
{
    if (!out)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_adam_create: out is NULL");
    *out = NULL;
    if (n < 0)
        return lpz_error_set(err, LPZ_EINVAL, "Adam state for %lld parameters", (long long)n);
    lpz_adam *a = calloc(1, sizeof(*a));
    size_t sz = (size_t)(n ? n : 1) * sizeof(float);
    if (a) {
        a->m = calloc(1, sz);
        a->v = calloc(1, sz);
    }
    if (!a || !a->m || !a->v) {
        lpz_adam_destroy(a);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for the Adam state of %lld parameters",
                             (long long)n);
    }
    a->n = n;
    a->eps = 1e-8f;
    *out = a;
    return LPZ_OK;
}

void lpz_adam_destroy(lpz_adam *a)
{
    if (!a)
        return;
    free(a->m);
    free(a->v);
    free(a);
}

void lpz_adam_reset(lpz_adam *a)
{
    a->t = 0;
    if (a->n) {
        memset(a->m, 0, (size_t)a->n * sizeof(float));
        memset(a->v, 0, (size_t)a->n * sizeof(float));
    }
}

int lpz_adam_step(lpz_adam *a, float *params, const float *grads, double lr, double beta1, double beta2,
                  lpz_error *err)
{
    if (!(lr >= 0.0 && isfinite(lr)))
        return lpz_error_set(err, LPZ_EINVAL, "Adam: learning rate %g is not a finite number >= 0", lr);
    if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0))
        return lpz_error_set(err, LPZ_EINVAL, "Adam: betas (%g, %g) are not both in [0, 1)", beta1, beta2);
    if (a->t >= LPZ_ADAM_MAX_STEP)
        return lpz_error_set(err, LPZ_EINVAL, "Adam: step count %lld is at its limit (2^53)", (long long)a->t);
    a->t++;
    double bc1 = 1.0 - pow(beta1, (double)a->t);
    double bc2 = 1.0 - pow(beta2, (double)a->t);
    nn_adam_update(params, grads, a->m, a->v, a->n, (float)beta1, (float)beta2, (float)(lr / bc1),
                   (float)sqrt(bc2), a->eps);
    return LPZ_OK;
}

void lpz_adam_get_state(const lpz_adam *a, int64_t *t, float *m, float *v)
{
    if (t)
        *t = a->t;
    if (m && a->n)
        memcpy(m, a->m, (size_t)a->n * sizeof(float));
    if (v && a->n)
        memcpy(v, a->v, (size_t)a->n * sizeof(float));
}

int lpz_adam_set_state(lpz_adam *a, int64_t t, const float *m, const float *v, lpz_error *err)
{
    if (t < 0 || t > LPZ_ADAM_MAX_STEP)
        return lpz_error_set(err, LPZ_EINVAL, "Adam state: step count %lld is outside [0, 2^53]", (long long)t);
    a->t = t;
    if (a->n) {
        memcpy(a->m, m, (size_t)a->n * sizeof(float));
        memcpy(a->v, v, (size_t)a->n * sizeof(float));
    }
    return LPZ_OK;
}

int lpz_adam_copy(lpz_adam *dst, const lpz_adam *src, lpz_error *err)
{
    if (dst->n != src->n)
        return lpz_error_set(err, LPZ_EINVAL, "Adam states of different lengths (%lld and %lld)",
                             (long long)src->n, (long long)dst->n);
    return lpz_adam_set_state(dst, src->t, src->m, src->v, err);
}
