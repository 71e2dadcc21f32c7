/* core/nn/precision.h - the process-wide precision of the engine's fp32
 * matrix products (general.matmul_precision), after PyTorch's
 * torch.set_float32_matmul_precision, and the unit that computes them:
 *   highest  fp32 products (the default), on every CPU;
 *   high     two bf16 limbs (each product exact to about 2^-16 of its
 *            size; fp32's worst-case bound for a sum of K terms is
 *            K 2^-24: the same order for a few hundred terms), on CPUs
 *            with AMX-BF16 only (amx_kernels.h: the products about twice
 *            as fast as fp32 there). Elsewhere it runs as highest: on a
 *            CPU with AVX512-BF16 but no AMX, two limbs take three bf16
 *            products for each fp32 one and measured slower than fp32;
 *   medium   one bf16 limb (about 2^-8 per operand), on AMX-BF16 (about
 *            four times as fast as fp32 there), else on AVX512-BF16
 *            (VDPBF16PS, avx512bf16_kernels.h: AMD Zen 4 and later,
 *            Intel Cooper Lake; the MLP GAN's products 1.45-1.86 times
 *            as fast as fp32's, docs/performance.md), else as highest.
 * Both bf16 units round inputs to bf16 to nearest even, treat subnormal
 * inputs as zero and flush subnormal results (the kernels' headers).
 * Set it before any model computes (the trainer and the commands set it
 * from the configuration); a change while products run on other threads
 * takes effect at their next product.
 */
#ifndef LPZ_NN_PRECISION_H
#define LPZ_NN_PRECISION_H

typedef enum lpz_matmul_precision {
    LPZ_MATMUL_HIGHEST = 0,
    LPZ_MATMUL_HIGH = 1,
    LPZ_MATMUL_MEDIUM = 2
} lpz_matmul_precision;

/* What computes the products of a precision on this CPU. */
typedef enum lpz_matmul_unit {
    LPZ_MATMUL_UNIT_FP32 = 0,      /* fp32 FMAs (the engine's AVX-512 kernels, OpenBLAS) */
    LPZ_MATMUL_UNIT_AMX = 1,       /* the AMX tiles in bf16 limbs */
    LPZ_MATMUL_UNIT_AVX512BF16 = 2 /* VDPBF16PS in bf16 limbs */
} lpz_matmul_unit;

/* Sets the requested precision; returns the one in effect (highest when
 * the CPU cannot run the requested one, see above). */
lpz_matmul_precision lpz_nn_set_matmul_precision(lpz_matmul_precision p);

/* The precision in effect. */
lpz_matmul_precision lpz_nn_matmul_precision(void);

/* The unit precision p runs on here: AMX for high and medium where the
 * CPU has AMX-BF16, else AVX512-BF16 for medium where the CPU has that,
 * else fp32 (p then runs as highest). */
lpz_matmul_unit lpz_nn_matmul_unit(lpz_matmul_precision p);

/* Why p runs as highest on this CPU, for the log and --version (e.g.
 * "this CPU has no AMX-BF16 (...); two bf16 limbs on its AVX512-BF16 would
 * be slower than fp32"): written to buf (size bytes), "" when p runs as
 * asked. Returns buf. */
const char *lpz_nn_matmul_fallback_reason(lpz_matmul_precision p, char *buf, unsigned size);

/* "highest", "high", "medium" */
const char *lpz_matmul_precision_name(lpz_matmul_precision p);

/* "fp32", "AMX", "AVX512-BF16" */
const char *lpz_matmul_unit_name(lpz_matmul_unit u);

#endif
