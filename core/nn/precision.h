/* core/nn/precision.h - the process-wide precision of the engine's fp32
 * matrix products (general.matmul_precision), after PyTorch's
 * torch.set_float32_matmul_precision:
 *   highest  fp32 products (the default);
 *   high     on CPUs with AMX-BF16, products on the tile unit in two bf16
 *            limbs (amx_kernels.h): each product exact to about 2^-16 of
 *            its size (fp32's worst-case bound for a sum of K terms is
 *            K 2^-24: the same order for a few hundred terms); the
 *            products about twice as fast here;
 *   medium   one bf16 limb (about 2^-8), about four times as fast.
 * Without AMX, high and medium run as highest. Set it before any model
 * computes (the trainer and the commands set it from the configuration);
 * a change while products run on other threads takes effect at their next
 * product.
 */
#ifndef LPZ_NN_PRECISION_H
#define LPZ_NN_PRECISION_H

typedef enum lpz_matmul_precision {
    LPZ_MATMUL_HIGHEST = 0,
    LPZ_MATMUL_HIGH = 1,
    LPZ_MATMUL_MEDIUM = 2
} lpz_matmul_precision;

/* Sets the requested precision; returns the one in effect (highest when
 * the CPU cannot run the faster ones). */
lpz_matmul_precision lpz_nn_set_matmul_precision(lpz_matmul_precision p);

/* The precision in effect. */
lpz_matmul_precision lpz_nn_matmul_precision(void);

/* "highest", "high", "medium" */
const char *lpz_matmul_precision_name(lpz_matmul_precision p);

#endif
