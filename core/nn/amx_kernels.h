/* core/nn/amx_kernels.h - fp32 matrix products on the AMX tile unit
 * (amx_kernels.c), for the "high" and "medium" matmul precisions
 * (lpz_nn_set_matmul_precision).
 *
 * Each fp32 operand is split into bf16 limbs, x = hi + lo with hi = bf16(x)
 * and lo = bf16(x - hi); TDPBF16PS multiplies bf16 pairs exactly and sums
 * in fp32. bf16 holds 8 significant bits, so |lo| <= 2^-8 |x| and hi + lo
 * is within 2^-17 of x. limbs = 2 ("high") sums hi*hi + lo*hi + hi*lo:
 * each product is off by lo*lo' plus the residuals' products, at most
 * 2^-16 + 2 x 2^-17 = 2^-15 (3.05e-5) of its size and usually far less,
 * against 2^-24 for fp32; over a dot product the errors partly cancel (measured:
 * 7e-7 of the sum of the terms' magnitudes for 784 terms). limbs = 1
 * ("medium") is plain bf16 (about 2^-8 per operand, up to 2^-7 per
 * product). On a Sapphire Rapids core the tile unit multiplies bf16 at
 * about 950 GFLOP/s against about 160 for fp32 FMAs.
 */
#ifndef LPZ_NN_AMX_KERNELS_H
#define LPZ_NN_AMX_KERNELS_H

#include <stdint.h>

typedef enum nn_amx_status_t {
    NN_AMX_OK = 0,
    NN_AMX_NOT_BUILT, /* the compiler could not build amx_kernels.c */
    NN_AMX_NO_CPU,    /* no AMX-TILE, AMX-BF16, AVX-512 F/DQ/BW/BF16, or the OS does not enable AVX-512 */
    NN_AMX_NO_OS      /* the kernel refused the tile state (before Linux 5.16, or a hypervisor without it) */
} nn_amx_status_t;

/* Whether the kernels can run here, checked once (the first call asks
 * Linux for the tile state). */
nn_amx_status_t nn_amx_status(void);
/* nn_amx_status() == NN_AMX_OK */
int nn_amx_available(void);
/* A sentence for the log and --version. */
const char *nn_amx_status_text(nn_amx_status_t s);

/* C [M x N] (row stride ldc) = sum over k of A(m, k) B(k, n), + bias[n]
 * when bias is not NULL, + C's old contents when add. A(m, k) =
 * a[m a_rs + k a_cs] and B(k, n) = b[k b_rs + n b_cs], each with one unit
 * stride (a_cs or a_rs 1; b_rs or b_cs 1). limbs: 2 or 1. M, N, K >= 1.
 * Returns 0, or -1 with nothing written (the caller falls back) when the
 * tile unit is not available, the arguments are out of range (limbs, sizes
 * under 1, an operand without a unit stride) or its
 * scratch could not be allocated.
 *
 * Edges of the bf16 range: finite inputs above about 3.39e38 in magnitude
 * round to infinity in bf16; at limbs 2 an infinite operand makes its
 * results NaN rather than infinite (its lo limb is inf - inf, and the cross
 * terms multiply an infinity by the other operand's limbs, zero for values
 * bf16 holds exactly): non-finite either way, never a wrong finite number.
 * The tile unit treats subnormal bf16 inputs and products as zero,
 * so inputs below about 1e-38 count as zero and below about 6e-36 the lo
 * limb is lost (one limb's precision). Training never comes near either. */
int nn_amx_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add);

#endif
