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

/* 1 when the CPU has AMX-TILE, AMX-BF16, AVX-512 F/BW/BF16 and the kernel
 * granted this process the tile state (checked once). */
int nn_amx_available(void);

/* C [M x N] (row stride ldc) = sum over k of A(m, k) B(k, n), + bias[n]
 * when bias is not NULL, + C's old contents when add. A(m, k) =
 * a[m a_rs + k a_cs] and B(k, n) = b[k b_rs + n b_cs], each with one unit
 * stride (a_cs or a_rs 1; b_rs or b_cs 1). limbs: 2 or 1. M, N, K >= 1.
 * Returns 0, or -1 with nothing written (the caller falls back) when the
 * tile unit is not available, the arguments are out of range or its
 * scratch could not be allocated.
 *
 * Edges of the bf16 range: inputs above about 3.39e38 in magnitude round
 * to infinity in bf16 (at limbs 2 the sum of the limbs' products is then
 * NaN); the tile unit treats subnormal bf16 inputs and products as zero,
 * so inputs below about 1e-38 count as zero and below about 6e-36 the lo
 * limb is lost (one limb's precision). Training never comes near either. */
int nn_amx_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add);

#endif
