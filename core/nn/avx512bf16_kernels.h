/* core/nn/avx512bf16_kernels.h - fp32 matrix products in bf16 limbs on
 * the AVX512-BF16 vector instruction VDPBF16PS (avx512bf16_kernels.c):
 * the "medium" matmul precision (lpz_nn_set_matmul_precision) on CPUs
 * with AVX512-BF16 but no AMX (AMD Zen 4 and later, Intel Cooper Lake).
 *
 * The same contract and the same limbs as nn_amx_gemm (amx_kernels.h):
 * x = hi + lo, hi = bf16(x), lo = bf16(x - hi); limbs = 1 multiplies the
 * hi limbs (about 2^-8 per operand, at most 0.994 2^-7 per product),
 * limbs = 2 sums hi*hi + lo*hi + hi*lo (at most 0.994 2^-15 per product).
 * VDPBF16PS multiplies 32 bf16 pairs per instruction where an fp32 FMA
 * does 16 products: on the AMD EPYC (Zen 4 class) that lpz is measured on,
 * 234 against 117 GFLOP/s per core. One limb is then up to twice as fast
 * as fp32; two limbs take three products for fp32's one, 1.5 times fp32's
 * instructions, and are slower than fp32 there, so "high" does not use
 * these kernels (docs/performance.md has the measurements): limbs = 2 is
 * kept for its tests and benchmarks.
 *
 * Numerics of the instructions (Intel SDM, VCVTNEPS2BF16 and VDPBF16PS):
 * the fp32 -> bf16 conversion rounds to nearest even and turns subnormal
 * inputs into zeros of their sign; VDPBF16PS adds each of its two
 * products to the fp32 accumulator as one fused multiply-add rounded to
 * nearest even (the odd element of a pair first), treats subnormal inputs
 * (the accumulator included) as zero and flushes subnormal results to
 * zero, whatever MXCSR says. So inputs below about 1.2e-38 in magnitude
 * count as zero, below about 3e-36 the lo limb is lost (one limb's
 * precision), and sums that pass through the subnormal range are flushed.
 * Finite inputs above about 3.39e38 round to infinity in bf16; at limbs 2
 * an infinite operand gives NaN rather than infinity (its lo limb is
 * inf - inf): non-finite either way, never a wrong finite number.
 * Training never comes near these edges.
 */
#ifndef LPZ_NN_AVX512BF16_KERNELS_H
#define LPZ_NN_AVX512BF16_KERNELS_H

#include <stdint.h>

typedef enum nn_avx512bf16_status_t {
    NN_AVX512BF16_OK = 0,
    NN_AVX512BF16_NOT_BUILT, /* the compiler could not build avx512bf16_kernels.c */
    NN_AVX512BF16_NO_CPU,    /* no AVX512_BF16, or no AVX-512 F, BW or VL */
    NN_AVX512BF16_NO_OS      /* the OS does not enable the AVX-512 register state (XCR0) */
} nn_avx512bf16_status_t;

/* Whether the kernels can run here (cpuid and XCR0, checked once). */
nn_avx512bf16_status_t nn_avx512bf16_status(void);
/* nn_avx512bf16_status() == NN_AVX512BF16_OK */
int nn_avx512bf16_available(void);
/* A sentence for the log and --version. */
const char *nn_avx512bf16_status_text(nn_avx512bf16_status_t s);

/* C [M x N] (row stride ldc) = sum over k of A(m, k) B(k, n), + bias[n]
 * when bias is not NULL, + C's old contents when add. A(m, k) =
 * a[m a_rs + k a_cs] and B(k, n) = b[k b_rs + n b_cs], each with one unit
 * stride (a_cs or a_rs 1; b_rs or b_cs 1). limbs: 2 or 1. M, N, K >= 1.
 * Returns 0, or -1 with nothing written (the caller falls back) when the
 * CPU cannot run the kernels, the arguments are out of range (limbs,
 * sizes under 1, an operand without a unit stride) or the scratch could
 * not be allocated. C must not overlap A, B or bias. Each element's sum
 * starts from bias[n] + old C (or bias, or 0) and adds the products in
 * one fixed order per K: results are deterministic and the same whatever
 * rows or columns a call covers, and on any thread. */
int nn_avx512bf16_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                       const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc,
                       int add);

#endif
