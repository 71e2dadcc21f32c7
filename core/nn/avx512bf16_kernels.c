/* core/nn/avx512bf16_kernels.c - matrix products in bf16 limbs with fp32
 * accumulation on VDPBF16PS (see avx512bf16_kernels.h for the precision
 * and why). Compiled with AVX-512 F/BW/VL and BF16 flags (CMakeLists.txt);
 * callers check nn_avx512bf16_available() first.
 *
 * VDPBF16PS adds to each of 16 fp32 lanes the products of a pair of bf16
 * in one operand with the pair in the same lane of the other. With A's
 * pair (A[m][k], A[m][k+1]) broadcast to every lane and B's pairs
 * (B[k][n], B[k+1][n]) for 16 columns n in the other (the VNNI layout the
 * AMX tiles take too), one instruction adds two steps of the reduction to
 * 16 elements of a row of C. A product C [M x N] = A [M x K] B [K x N]:
 * - the reduction in steps of one pair (k, k+1), K odd padded with a zero;
 *   with two limbs each block of up to 16 pairs (32 elements of k) runs as
 *   three: hi(A) x hi(B), lo(A) x hi(B), hi(A) x lo(B) (lo x lo dropped,
 *   as on AMX), so the packed operands hold 3 steps per pair;
 * - A packed once into panels of 8 rows, step by step: 8 pairs (32 bytes)
 *   per step, a panel's steps contiguous;
 * - B packed one panel of up to 48 columns (3 vectors) at a time, step by
 *   step in the VNNI layout (64 bytes per vector), then every panel of A
 *   passes over it: an 8 x 48 block of C in 24 zmm accumulators; per step
 *   three loads of B and eight broadcasts of A pairs (embedded in the
 *   instructions) feed 24 VDPBF16PS, as the fp32 kernels' 24 FMAs
 *   (linear_kernels.c). Panels of 4 vectors go as 2 + 2, never 3 + 1;
 * - the reduction in blocks of KC steps, so that a block of B's panel
 *   (KC x 192 bytes, 24 KB) stays in L1 while the panels of A pass; C is
 *   the accumulator between blocks (stored and loaded as fp32: exact);
 * - C's elements start from bias[n] + old C and are stored with masks at
 *   the row and column edges (padding rows of A and columns of B are
 *   zeros, computed and not stored).
 * Every element's sum runs in one fixed order per K: results are
 * deterministic and independent of threads and of the rows and columns a
 * call covers.
 */
#include "nn/avx512bf16_kernels.h"
#include "nn/internal.h"

const char *nn_avx512bf16_status_text(nn_avx512bf16_status_t s)
{
    switch (s) {
    case NN_AVX512BF16_OK: return "AVX512-BF16 available";
    case NN_AVX512BF16_NOT_BUILT:
        return "this build of lpz has no AVX512-BF16 kernels (its compiler could not build them)";
    case NN_AVX512BF16_NO_CPU: return "this CPU has no AVX512-BF16";
    default: return "the OS does not enable the AVX-512 register state";
    }
}

#ifdef LPZ_NO_AVX512BF16

nn_avx512bf16_status_t nn_avx512bf16_status(void)
{
    return NN_AVX512BF16_NOT_BUILT;
}

int nn_avx512bf16_available(void)
{
    return 0;
}

int nn_avx512bf16_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                       const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc,
                       int add)
{
    (void)limbs, (void)M, (void)N, (void)K, (void)a, (void)a_rs, (void)a_cs, (void)b, (void)b_rs, (void)b_cs;
    (void)bias, (void)c, (void)ldc, (void)add;
    return -1;
}

#else

#include "nn/bf16_split.h"
#include "nn/simd_transpose.h"

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>

#define MR 8     /* rows of A per register block */
#define NVMAX 3  /* zmm vectors (16 columns each) per register block */
#define BP 16    /* pairs of the reduction per packing block (32 elements) */
#define KC 128   /* steps per cache block of the reduction */

#define INLINE static inline __attribute__((always_inline))

typedef uint32_t pair_t; /* two bf16: the even k in the low half */

/* ---- availability --------------------------------------------------------- */

static nn_avx512bf16_status_t bf16_status = NN_AVX512BF16_NO_CPU;
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;

static void bf16_init(void)
{
    unsigned a, b, c, d;
    /* leaf 7.0: EBX bit 16 AVX512F, 30 BW, 31 VL; leaf 7.1: EAX bit 5 AVX512_BF16 */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return;
    unsigned max7 = a;
    int avx512 = (b >> 16 & 1) && (b >> 30 & 1) && (b >> 31 & 1);
    if (!avx512 || max7 < 1 || !__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a >> 5 & 1))
        return;
    /* leaf 1: ECX bit 27 OSXSAVE; then XCR0 must enable the SSE, AVX and
     * the three AVX-512 states (opmask, upper halves of zmm0-15, zmm16-31:
     * bits 1, 2, 5, 6, 7) */
    bf16_status = NN_AVX512BF16_NO_OS;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1))
        return;
    unsigned xlo, xhi;
    __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
    if ((xlo & 0xE6) == 0xE6)
        bf16_status = NN_AVX512BF16_OK;
}

nn_avx512bf16_status_t nn_avx512bf16_status(void)
{
    pthread_once(&bf16_once, bf16_init);
    return bf16_status;
}

int nn_avx512bf16_available(void)
{
    return nn_avx512bf16_status() == NN_AVX512BF16_OK;
}

/* ---- packing ----------------------------------------------------------------- */

/* Where a packing block's steps go: np pairs per limb copy. A runs
 * hi, lo, hi (against B's hi, hi, lo); one limb: hi alone. The step of
 * pair p of limb copy j is j np + p. */
enum { OP_A, OP_B };

INLINE int hi_copy(int which, int limbs, int j) /* the j-th hi copy's position, or -1 */
{
    if (limbs == 1)
        return j == 0 ? 0 : -1;
    return which == OP_A ? (j == 0 ? 0 : 2) : (j == 0 ? 0 : 1);
}

INLINE int lo_copy(int which) /* the lo limb's position at two limbs */
{
    return which == OP_A ? 1 : 2;
}

/* Masks of the valid elements among 32 from k0: kv = K - k0 >= 1 of them */
INLINE void kmasks(int64_t kv, __mmask16 *m0, __mmask16 *m1)
{
    *m0 = kv >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << kv) - 1);
    *m1 = kv >= 32 ? (__mmask16)0xFFFF : kv > 16 ? (__mmask16)((1u << (kv - 16)) - 1) : 0;
}

/* One block of A's panel, rows along the reduction: A(r, k) = src[r rs + k]
 * for rows r < mr (the others zero) and k in [k0, k0 + 2 np) (zero from
 * K). dst: the block's first step, 8 pairs per step. */
static void pack_a_rows(int limbs, const float *src, ptrdiff_t rs, int mr, int64_t k0, int64_t K, int np,
                        pair_t *dst)
{
    __mmask16 m0, m1;
    kmasks(K - k0, &m0, &m1);
    __m512 h[MR], l[MR];
    for (int r = 0; r < MR; r++) {
        if (r >= mr) {
            h[r] = l[r] = _mm512_setzero_ps();
            continue;
        }
        const float *p = src + r * rs + k0;
        __m256i h0, h1, l0, l1;
        nn_bf16_split16(limbs, _mm512_maskz_loadu_ps(m0, p), &h0, &l0);
        nn_bf16_split16(limbs, _mm512_maskz_loadu_ps(m1, p + 16), &h1, &l1);
        h[r] = _mm512_castsi512_ps(nn_cat256(h0, h1)); /* 16 pairs of row r */
        l[r] = _mm512_castsi512_ps(nn_cat256(l0, l1));
    }
    __m256 th[16], tl[16];
    nn_tr8x16(h, th); /* th[p]: pair p of the 8 rows */
    for (int j = 0; j < 2; j++) {
        int at = hi_copy(OP_A, limbs, j);
        if (at >= 0)
            for (int p = 0; p < np; p++)
                _mm256_storeu_ps((float *)(dst + (at * np + p) * MR), th[p]);
    }
    if (limbs == 2) {
        nn_tr8x16(l, tl);
        for (int p = 0; p < np; p++)
            _mm256_storeu_ps((float *)(dst + (lo_copy(OP_A) * np + p) * MR), tl[p]);
    }
}

/* The same block with rows along the panel: A(r, k) = src[k cs + r]
 * (A stored transposed). */
static void pack_a_cols(int limbs, const float *src, ptrdiff_t cs, int mr, int64_t k0, int64_t K, int np,
                        pair_t *dst)
{
    __mmask8 mm = (__mmask8)(0xFFu >> (MR - mr));
    for (int p = 0; p < np; p++) {
        int64_t k = k0 + 2 * p;
        __m256 e = _mm256_maskz_loadu_ps(mm, src + k * cs);
        __m256 o = k + 1 < K ? _mm256_maskz_loadu_ps(mm, src + (k + 1) * cs) : _mm256_setzero_ps();
        __m128i he, ho, le, lo;
        nn_bf16_split8(limbs, e, &he, &le);
        nn_bf16_split8(limbs, o, &ho, &lo);
        __m256i hp = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(he, ho)),
                                             _mm_unpackhi_epi16(he, ho), 1);
        for (int j = 0; j < 2; j++) {
            int at = hi_copy(OP_A, limbs, j);
            if (at >= 0)
                _mm256_storeu_si256((__m256i *)(dst + (at * np + p) * MR), hp);
        }
        if (limbs == 2) {
            __m256i lp = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi16(le, lo)),
                                                 _mm_unpackhi_epi16(le, lo), 1);
            _mm256_storeu_si256((__m256i *)(dst + (lo_copy(OP_A) * np + p) * MR), lp);
        }
    }
}

/* One block of B's panel, columns along the rows of memory: B(k, n) =
 * src[k rs + n] for columns n < nc of the panel's 16 nv (the others zero)
 * and k in [k0, k0 + 2 np). dst: the block's first step, 16 nv pairs per
 * step, pair p of column n at p (16 nv) + n. */
static void pack_b_cols(int limbs, const float *src, ptrdiff_t rs, int nc, int nv, int64_t k0, int64_t K, int np,
                        pair_t *dst)
{
    /* (bf16 of row k, bf16 of row k + 1) -> pairs per column */
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7,
                                         22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    int ss = 16 * nv;
    for (int p = 0; p < np; p++) {
        int64_t k = k0 + 2 * p;
        for (int v = 0; v < nv; v++) {
            int left = nc - 16 * v;
            __mmask16 mc = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            __m512 e = _mm512_maskz_loadu_ps(mc, src + k * rs + 16 * v);
            __m512 o = k + 1 < K ? _mm512_maskz_loadu_ps(mc, src + (k + 1) * rs + 16 * v) : _mm512_setzero_ps();
            __m256i he, ho, le, lo;
            nn_bf16_split16(limbs, e, &he, &le);
            nn_bf16_split16(limbs, o, &ho, &lo);
            __m512i hp = _mm512_permutexvar_epi16(idx, nn_cat256(he, ho));
            for (int j = 0; j < 2; j++) {
                int at = hi_copy(OP_B, limbs, j);
                if (at >= 0)
                    _mm512_store_si512(dst + (at * np + p) * ss + 16 * v, hp);
            }
            if (limbs == 2)
                _mm512_store_si512(dst + (lo_copy(OP_B) * np + p) * ss + 16 * v,
                                   _mm512_permutexvar_epi16(idx, nn_cat256(le, lo)));
        }
    }
}

/* The same block with the reduction along the rows of memory: B(k, n) =
 * src[n cs + k] (B stored transposed, W^T in the forward product): each
 * column's 32 elements give its 16 pairs, and a 16 x 16 transpose turns
 * 16 columns' pairs into 16 steps. */
static void pack_b_rows(int limbs, const float *src, ptrdiff_t cs, int nc, int nv, int64_t k0, int64_t K, int np,
                        pair_t *dst)
{
    __mmask16 m0, m1;
    kmasks(K - k0, &m0, &m1);
    int ss = 16 * nv;
    for (int v = 0; v < nv; v++) {
        __m512i h[16], l[16];
        for (int j = 0; j < 16; j++) {
            int n = 16 * v + j;
            if (n >= nc) {
                h[j] = l[j] = _mm512_setzero_si512();
                continue;
            }
            const float *q = src + n * cs + k0;
            __m256i h0, h1, l0, l1;
            nn_bf16_split16(limbs, _mm512_maskz_loadu_ps(m0, q), &h0, &l0);
            nn_bf16_split16(limbs, _mm512_maskz_loadu_ps(m1, q + 16), &h1, &l1);
            h[j] = nn_cat256(h0, h1);
            l[j] = nn_cat256(l0, l1);
        }
        nn_tr16(h); /* h[p]: pair p of the 16 columns */
        for (int c = 0; c < 2; c++) {
            int at = hi_copy(OP_B, limbs, c);
            if (at >= 0)
                for (int p = 0; p < np; p++)
                    _mm512_store_si512(dst + (at * np + p) * ss + 16 * v, h[p]);
        }
        if (limbs == 2) {
            nn_tr16(l);
            for (int p = 0; p < np; p++)
                _mm512_store_si512(dst + (lo_copy(OP_B) * np + p) * ss + 16 * v, l[p]);
        }
    }
}

/* ---- the register block ------------------------------------------------------- */

/* C [mr x nr] (mr <= 8, nr <= 16 nv) of one panel of A and one of B over
 * ns steps: pa 8 pairs per step, pb 16 nv pairs per step. first: the sums
 * start from bias + old C (add) or bias; else from C (the previous
 * blocks' sums). */
INLINE void block(const int nv, const int first, int64_t ns, const pair_t *pa, const pair_t *pb, int mr, int nr,
                  const float *bias, int add, float *c, ptrdiff_t ldc)
{
    __m512 acc[MR][NVMAX];
    __mmask16 mk[NVMAX];
    for (int v = 0; v < nv; v++) {
        int left = nr - 16 * v;
        mk[v] = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
    }
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < nv; v++) {
            __m512 s = _mm512_setzero_ps();
            if (first && bias)
                s = _mm512_maskz_loadu_ps(mk[v], bias + 16 * v);
            if (m < mr && (!first || add)) {
                __m512 old = _mm512_maskz_loadu_ps(mk[v], c + m * ldc + 16 * v);
                s = first ? _mm512_add_ps(s, old) : old;
            }
            acc[m][v] = s;
        }
    for (int64_t s = 0; s < ns; s++) {
        __m512bh bv[NVMAX];
        for (int v = 0; v < nv; v++)
            bv[v] = (__m512bh)_mm512_load_si512(pb + s * 16 * nv + 16 * v);
        for (int m = 0; m < MR; m++) {
            /* A's pair as the memory operand: an embedded broadcast */
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)pa[s * MR + m]);
            for (int v = 0; v < nv; v++)
                acc[m][v] = _mm512_dpbf16_ps(acc[m][v], bv[v], av);
        }
    }
    for (int m = 0; m < MR; m++) {
        if (m >= mr)
            break;
        for (int v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(c + m * ldc + 16 * v, mk[v], acc[m][v]);
    }
}

/* the six instances: constant nv and first keep acc[][] in registers */
__attribute__((noinline)) static void block_any(int nv, int first, int64_t ns, const pair_t *pa, const pair_t *pb,
                                                int mr, int nr, const float *bias, int add, float *c, ptrdiff_t ldc)
{
#define BLK(NV)                                                                                                    \
    do {                                                                                                           \
        if (first)                                                                                                 \
            block(NV, 1, ns, pa, pb, mr, nr, bias, add, c, ldc);                                                   \
        else                                                                                                       \
            block(NV, 0, ns, pa, pb, mr, nr, bias, add, c, ldc);                                                   \
    } while (0)
    if (nv == 3)
        BLK(3);
    else if (nv == 2)
        BLK(2);
    else
        BLK(1);
#undef BLK
}

/* ---- the product ---------------------------------------------------------------- */

int nn_avx512bf16_gemm(int limbs, int64_t M, int64_t N, int64_t K, const float *a, int64_t a_rs, int64_t a_cs,
                       const float *b, int64_t b_rs, int64_t b_cs, const float *bias, float *c, int64_t ldc,
                       int add)
{
    if (!nn_avx512bf16_available() || (limbs != 1 && limbs != 2) || M < 1 || N < 1 || K < 1 ||
        (a_rs != 1 && a_cs != 1) || (b_rs != 1 && b_cs != 1))
        return -1;
    const int copies = limbs == 2 ? 3 : 1; /* steps per pair */
    int64_t P = (K + 1) / 2, S = copies * P, MP = (M + MR - 1) / MR;
    size_t a_bytes = ((size_t)MP * (size_t)S * MR * sizeof(pair_t) + 63) & ~(size_t)63;
    size_t b_bytes = (size_t)S * 16 * NVMAX * sizeof(pair_t);
    char *buf = nn_thread_scratch(NN_SCRATCH_AVX512BF16, a_bytes + b_bytes);
    if (!buf)
        return -1;
    pair_t *pa = (pair_t *)buf, *pb = (pair_t *)(buf + a_bytes);

    /* A, panel by panel; block j's steps start at j BP copies */
    for (int64_t mp = 0; mp < MP; mp++) {
        int64_t m0 = mp * MR;
        int mr = M - m0 < MR ? (int)(M - m0) : MR;
        pair_t *dst = pa + mp * S * MR;
        for (int64_t p0 = 0; p0 < P; p0 += BP) {
            int np = P - p0 < BP ? (int)(P - p0) : BP;
            pair_t *d = dst + p0 * copies * MR;
            if (a_cs == 1)
                pack_a_rows(limbs, a + m0 * a_rs, a_rs, mr, 2 * p0, K, np, d);
            else
                pack_a_cols(limbs, a + m0, a_cs, mr, 2 * p0, K, np, d);
        }
    }

    for (int64_t n0 = 0; n0 < N;) {
        int64_t left = (N - n0 + 15) / 16; /* vectors left */
        int nv = left == 4 ? 2 : left >= 3 ? 3 : (int)left;
        int nr = N - n0 < 16 * nv ? (int)(N - n0) : 16 * nv;
        for (int64_t p0 = 0; p0 < P; p0 += BP) {
            int np = P - p0 < BP ? (int)(P - p0) : BP;
            pair_t *d = pb + p0 * copies * 16 * nv;
            if (b_cs == 1)
                pack_b_cols(limbs, b + n0, b_rs, nr, nv, 2 * p0, K, np, d);
            else
                pack_b_rows(limbs, b + n0 * b_cs, b_cs, nr, nv, 2 * p0, K, np, d);
        }
        for (int64_t s0 = 0; s0 < S; s0 += KC) {
            int64_t ns = S - s0 < KC ? S - s0 : KC;
            for (int64_t mp = 0; mp < MP; mp++) {
                int64_t m0 = mp * MR;
                int mr = M - m0 < MR ? (int)(M - m0) : MR;
                block_any(nv, s0 == 0, ns, pa + (mp * S + s0) * MR, pb + s0 * 16 * nv, mr, nr,
                          bias ? bias + n0 : NULL, add, c + m0 * ldc + n0, ldc);
            }
        }
        n0 += nr;
    }
    return 0;
}

#endif /* LPZ_NO_AVX512BF16 */
