/* core/nn/amx_kernels.h - fp32 matrix products on the AMX tile unit
 * (amx_kernels.c), for the "high" and "medium" matmul precisions
 * (lpz_nn_set_matmul_precision).
 *
 * Each fp32 operand is split into bf16 limbs, x = hi + lo with hi = bf16(x)
 * and lo = bf16(x - hi); TDPBF16PS multiplies bf16 pairs exactly and sums
 * in fp32. bf16 holds 8 significant bits, so hi is within 2^-8 of x and
 * hi + lo within 2^-16. limbs = 2 ("high") sums hi*hi + lo*hi + hi*lo:
 * each product is exact to about 2^-16 of its size (at most about
 * 3 x 2^-16 = 4.6e-5: the limbs' residuals and the dropped lo*lo), against
 * 2^-24 for fp32; over a dot product the errors partly cancel (measured:
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
 * Returns 0, or -1 when its scratch could not be allocated (nothing
 * written: the caller falls back). */
int nn_amx_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc, int add);

#endif
