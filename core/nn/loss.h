/* core/nn/loss.h - GAN losses with their gradients (core-internal).
 *
 * Each loss takes the n outputs of a discriminator (one value per sample,
 * shape (n) or (n, 1)), a target label and writes dL/doutput[i] into grad
 * (n floats; the 1/n of the mean is included, so grad feeds
 * lpz_model_backward directly). The loss value is returned in *loss.
 * All reductions are means over the n samples.
 *
 *   BCE          L = -mean(t log(p) + (1 - t) log(1 - p)), each log clamped
 *                to >= -100 as torch.nn.BCELoss; target t in [0, 1]
 *                (1 = real, 0 = fake); p must lie in [0, 1].
 *                grad_i = (p_i - t) / max(p_i (1 - p_i), 1e-12) / n
 *                (PyTorch's binary_cross_entropy_backward).
 *   MSE          L = mean((p - t)^2), grad_i = 2 (p_i - t) / n.
 *   HEURISTIC    the non-saturating generator loss of the original,
 *                L = -0.5 mean(log(p)); target must be 1. The log is
 *                clamped to >= -100 like BCE's (the original gives inf when
 *                a D output is exactly 0), so L = 0.5 BCE(p, 1) and
 *                grad_i = -0.5 / max(p_i, 1e-12) / n.
 *   WASSERSTEIN  critic scores (no sigmoid): target 1 (real) gives
 *                L = -mean(s), target 0 (fake) L = +mean(s); grad_i = -+1/n.
 *                The critic minimises W(real, 1) + W(fake, 0), the
 *                generator W(fake, 1).
 *
 * Outputs are validated: NaN or infinite values (and, for BCE and
 * HEURISTIC, values outside [0, 1]) are refused with LPZ_EINVAL naming the
 * first offending sample.
 */
#ifndef LPZ_CORE_NN_LOSS_H
#define LPZ_CORE_NN_LOSS_H

#include <lpz/error.h>

typedef enum lpz_loss_kind {
    LPZ_LOSS_BCE = 0,
    LPZ_LOSS_MSE = 1,
    LPZ_LOSS_HEURISTIC = 2,
    LPZ_LOSS_WASSERSTEIN = 3
} lpz_loss_kind;

/* Computes loss `kind` of out[0..n) against `target`; grad may be NULL
 * when only the value is needed (fitness evaluation). */
int lpz_loss(lpz_loss_kind kind, const float *out, int64_t n, float target, double *loss, float *grad,
             lpz_error *err);

/* "bce", "mse", "heuristic", "wasserstein" (also the original's
 * "bceloss", "mseloss", "heuristicloss"); LPZ_ENOTFOUND otherwise. */
int lpz_loss_from_name(const char *name, lpz_loss_kind *kind, lpz_error *err);
const char *lpz_loss_name(lpz_loss_kind kind);

#endif
