/* core/nn/loss.c - see loss.h for the exact formulas. */
#include "nn/loss.h"

#include <math.h>
#include <string.h>

static const char *const names[] = {"bce", "mse", "heuristic", "wasserstein"};

const char *lpz_loss_name(lpz_loss_kind kind)
{
    return (unsigned)kind < 4 ? names[kind] : "unknown";
}

int lpz_loss_from_name(const char *name, lpz_loss_kind *kind, lpz_error *err)
{
    static const char *const orig[] = {"bceloss", "mseloss", "heuristicloss", "wassersteinloss"};
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, names[i]) == 0 || strcmp(name, orig[i]) == 0) {
            *kind = (lpz_loss_kind)i;
            return LPZ_OK;
        }
    lpz_error_set(err, LPZ_ENOTFOUND, "unknown loss \"%s\"", name ? name : "(null)");
    lpz_error_hint(err, "use bceloss, mseloss, heuristicloss or wasserstein");
    return LPZ_ENOTFOUND;
}

static double clamped_log(double v)
{
    double l = log(v);
    return l < -100.0 ? -100.0 : l;
}

int lpz_loss(lpz_loss_kind kind, const float *out, int64_t n, float target, double *loss, float *grad,
             lpz_error *err)
{
    if (!out || !loss || n < 1)
        return lpz_error_set(err, LPZ_EINVAL, "loss %s: no outputs (n = %lld)", lpz_loss_name(kind), (long long)n);
    if ((unsigned)kind > LPZ_LOSS_WASSERSTEIN)
        return lpz_error_set(err, LPZ_EINVAL, "unknown loss kind %d", (int)kind);
    if (!isfinite(target) || ((kind == LPZ_LOSS_BCE) && (target < 0.0f || target > 1.0f)))
        return lpz_error_set(err, LPZ_EINVAL, "loss %s: target %g is not in [0, 1]", lpz_loss_name(kind),
                             (double)target);
    if ((kind == LPZ_LOSS_HEURISTIC && target != 1.0f) ||
        (kind == LPZ_LOSS_WASSERSTEIN && target != 0.0f && target != 1.0f))
        return lpz_error_set(err, LPZ_EINVAL, "loss %s: target must be %s, got %g", lpz_loss_name(kind),
                             kind == LPZ_LOSS_HEURISTIC ? "1 (it is a generator loss)" : "0 or 1", (double)target);
    int prob = kind == LPZ_LOSS_BCE || kind == LPZ_LOSS_HEURISTIC;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(out[i]) || (prob && (out[i] < 0.0f || out[i] > 1.0f))) {
            lpz_error_set(err, LPZ_EINVAL, "loss %s: output %lld of the batch is %g%s", lpz_loss_name(kind),
                          (long long)i, (double)out[i], prob ? ", not a probability in [0, 1]" : "");
            /* a sigmoid never gives NaN or infinity: those come from the parameters or inputs */
            lpz_error_hint(err, prob && isfinite(out[i]) ? "the discriminator must end with a sigmoid for this loss"
                                                         : "training diverged; lower the learning rate");
            return LPZ_EINVAL;
        }
    double sum = 0.0, inv = 1.0 / (double)n, t = target;
    for (int64_t i = 0; i < n; i++) {
        double p = out[i];
        switch (kind) {
        case LPZ_LOSS_BCE:
            sum -= t * clamped_log(p) + (1.0 - t) * clamped_log(1.0 - p);
            if (grad)
                grad[i] = (float)((p - t) / fmax(p * (1.0 - p), 1e-12) * inv);
            break;
        case LPZ_LOSS_MSE:
            sum += (p - t) * (p - t);
            if (grad)
                grad[i] = (float)(2.0 * (p - t) * inv);
            break;
        case LPZ_LOSS_HEURISTIC:
            sum -= 0.5 * clamped_log(p);
            if (grad)
                grad[i] = (float)(-0.5 / fmax(p, 1e-12) * inv);
            break;
        case LPZ_LOSS_WASSERSTEIN:
            sum += target == 1.0f ? -p : p;
            if (grad)
                grad[i] = (float)(target == 1.0f ? -inv : inv);
            break;
        }
    }
    *loss = sum * inv;
    return LPZ_OK;
}
