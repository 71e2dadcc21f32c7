/* core/nn/linear_kernels.c - packing-free AVX-512 products of the linear
 * layer and of the convolutions (see linear_kernels.h for why). Compiled
 * with AVX-512 flags (CMakeLists.txt); layers.c and conv.c call in only
 * after nn_lk_available().
 *
 * One register tile serves all the products: C [8 x 48] (8 rows of A
 * times a 48-column slice of B) in 24 zmm accumulators; per step k of the
 * reduction, three loads of B [k, n0 .. n0 + 48) (contiguous) and eight
 * broadcasts of A [m0 .. m0 + 8, k] (A is addressed through strides; a
 * transposed A's 8-row block, dy^T or W^T, is first copied into K x 8
 * contiguous floats, see product). 24 FMAs per 11 loads keep the
 * two FMA ports busy. Tails: the last vector of a row slice is masked; a
 * block of fewer than 8 rows repeats its last row (valid memory, results
 * not stored). The reduction runs over k = 0, 1, ... K - 1 in order for
 * every element (the convolutions': in order within each block of 256,
 * the blocks' sums added in order): one summation order per shape,
 * whatever the tiling.
 */
#include "nn/linear_kernels.h"
#include "nn/simd_transpose.h"

#include "nn/elementwise.h"

#include <immintrin.h>
#include <stddef.h>

#define MR 8          /* rows of A per tile */
#define NV 3          /* zmm vectors per tile row */
#define NR (16 * NV)  /* columns of B per tile */
/* The input gradient's tiles (pf) prefetch B's row k + PF_ROWS into L1 at
 * step k: its panel of W (K rows of 192 bytes, a row length apart) does
 * not fit in L1 and the hardware prefetchers miss the strided rows; with
 * W cold (the trainer's case: a cell's weights and Adam state exceed L2)
 * the product ran 10-20% faster on the MLP GAN's shapes, warm +0-5%. */
#define PF_ROWS 16
/* The longest reduction whose transposed A block is copied (product):
 * every transposed product here has K <= 256 (the linear weight gradient
 * runs on these kernels up to 256 rows, the convolutions' products in
 * blocks of NN_LK_KC = 256). */
#define AT_KMAX 256

enum { ST_STORE, ST_ADD, ST_TRANS };

#define INLINE static inline __attribute__((always_inline))

/* The activation a forward product applies to its outputs before storing
 * them (nn_lk_forward_act): ReLU or LeakyReLU as nn_rect in elementwise.c,
 * v > 0 ? v : (ReLU ? 0 : v slope), the same floats; else v. */
INLINE __m512 rect(int act, __m512 v, __m512 slope)
{
    if (act != NN_ACT_RELU && act != NN_ACT_LEAKY_RELU)
        return v;
    __mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
    return act == NN_ACT_RELU ? _mm512_maskz_mov_ps(pos, v) : _mm512_mask_blend_ps(pos, _mm512_mul_ps(v, slope), v);
}

/* One tile: C [mr x nr] (mr <= 8, nr <= 16 nv) over k = 0..K-1 of
 * A (m, k) = a[m sam + k sak] and B (k, n) = b[k ldb + n]. A full 8-row
 * block reads A with one unit stride assumed: sam = 1 when at (A is a
 * transposed matrix: dy^T, W^T), else sak = 1 (W, dy rows); every product
 * of this file is called so, and a new caller must be too.
 *   ST_STORE: c[m ldc + n] = sum;  ST_ADD: c[m ldc + n] += sum;
 *   ST_TRANS: c[n ldc + m] = act(bias[m] + sum) (the tile written
 *   transposed; act: NN_ACT_RELU, NN_ACT_LEAKY_RELU (slope) or none).
 * na (not NULL: a full block): the next 8-row block of A (rows sam apart,
 * K floats each), brought into L1 a line per step k while this tile runs
 * (see product). */
INLINE void tile(const int pf, const int nv, const int masked, const int full, const int mode, const int at,
                 int64_t K, const float *a, ptrdiff_t sam, ptrdiff_t sak, int mr, const float *b, ptrdiff_t ldb, int nr,
                 const float *bias, float *c, ptrdiff_t ldc, const float *na, int act, float slope)
{
    int64_t na_lines = na ? 8 * ((K + 15) / 16) : 0;
    __m512 acc[MR][NV];
    const float *ap[MR];
    __mmask16 lm = (__mmask16)(0xFFFFu >> (16 * nv - nr)); /* valid lanes of the last vector */
    for (int m = 0; m < MR; m++) {
        int mm = m < mr ? m : mr - 1;
        ap[m] = a + mm * sam;
        __m512 init = mode == ST_TRANS && bias ? _mm512_set1_ps(bias[mm]) : _mm512_setzero_ps();
        for (int v = 0; v < nv; v++)
            acc[m][v] = init;
    }
    /* The tile of C arrives during the k loop: ST_ADD reads it; a stored
     * transposed product (the linear weight gradient) writes lines of the
     * gradient buffer that another cell's step or the Adam pass evicted, and
     * a store that misses waits for the line to be read first. Fetched
     * for writing up front, the linear weight gradient of the quick start's
     * shapes ran 8-13% faster with the buffer in L3 (1-4% slower warm),
     * and the 2x2 quick start took 2% less CPU. */
    if (mode == ST_STORE && at)
        for (int m = 0; m < MR; m++)
            for (int v = 0; v < nv; v++)
                if (m < mr)
                    _mm_prefetch((const char *)(c + m * ldc + 16 * v), _MM_HINT_ET0);
    if (mode == ST_ADD)
        for (int m = 0; m < MR; m++)
            for (int v = 0; v < nv; v++)
                if (m < mr)
                    _mm_prefetch((const char *)(c + m * ldc + 16 * v), _MM_HINT_T0);
    /* A's elements of step k: a full block addresses them from one or two
     * pointers (rows along k: a + k and a + 4 sam + k, indexed by 0, sam,
     * 2 sam, 3 sam; columns along m: a + k sak, constant offsets), which
     * leaves registers for the loop; a short block goes through ap[]. */
    ptrdiff_t s1 = sam, s2 = 2 * sam, s3 = 3 * sam;
    const float *a4 = a + 4 * sam;
    for (int64_t k = 0; k < K; k++) {
        __m512 bv[NV];
        const float *bk = b + k * ldb;
        /* opaque to the compiler: it keeps base + index addressing, not 8 pointers */
        if (full && !at)
            __asm__("" : "+r"(s1), "+r"(s2), "+r"(s3));
        if (pf && k + PF_ROWS < K) { /* the row's nr floats: nv lines, one more when W is not 64-byte aligned */
            for (int v = 0; v < nv; v++)
                _mm_prefetch((const char *)(bk + PF_ROWS * ldb + 16 * v), _MM_HINT_T0);
            _mm_prefetch((const char *)(bk + PF_ROWS * ldb + nr - 1), _MM_HINT_T0);
        }
        if (k < na_lines)
            _mm_prefetch((const char *)(na + (k & 7) * sam + (k >> 3) * 16), _MM_HINT_T0);
        for (int v = 0; v < nv; v++)
            bv[v] = masked && v == nv - 1 ? _mm512_maskz_loadu_ps(lm, bk + 16 * v) : _mm512_loadu_ps(bk + 16 * v);
        for (int m = 0; m < MR; m++) {
            float am;
            if (!full)
                am = ap[m][k * sak];
            else if (at)
                am = a[k * sak + m];
            else {
                const float *p = (m < 4 ? a : a4) + k;
                int q = m & 3;
                am = q == 0 ? p[0] : q == 1 ? p[s1] : q == 2 ? p[s2] : p[s3];
            }
            __m512 av = _mm512_set1_ps(am);
            for (int v = 0; v < nv; v++)
                acc[m][v] = _mm512_fmadd_ps(av, bv[v], acc[m][v]);
        }
    }
    if (mode == ST_TRANS) {
        __mmask8 mm8 = (__mmask8)(0xFFu >> (MR - mr));
#pragma GCC unroll 3 /* a constant v keeps acc[][] in registers */
        for (int v = 0; v < nv; v++) {
            __m512 r[MR];
            __m256 col[16];
            for (int m = 0; m < MR; m++)
                r[m] = rect(act, acc[m][v], _mm512_set1_ps(slope));
            nn_tr8x16(r, col);
            for (int j = 0; j < 16; j++) /* constant bounds: keeps acc[] and col[] in registers */
                if (16 * v + j < nr)
                    _mm256_mask_storeu_ps(c + (16 * v + j) * ldc, mm8, col[j]);
        }
        return;
    }
    for (int m = 0; m < MR; m++) {
        if (m >= mr)
            break;
        float *cm = c + m * ldc;
        for (int v = 0; v < nv; v++) {
            __mmask16 k16 = v == nv - 1 ? lm : (__mmask16)0xFFFF;
            __m512 s = acc[m][v];
            if (mode == ST_ADD)
                s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(k16, cm + 16 * v));
            _mm512_mask_storeu_ps(cm + 16 * v, k16, s);
        }
    }
}

/* The forward product's last columns (samples) when 1-8 of a 16-lane vector
 * are left, R % 16 in 1..8 (100 rows end in 4, 200 in 8): one 8-lane
 * ymm per row of the tile instead of a zmm. Zen 4 runs a 512-bit FMA as
 * two 256-bit halves, so the half vector costs half the time (100 rows:
 * 6.5 vectors' FMA time instead of 7, 3 + 3 + a half instead of 3 + 2 +
 * 2 panels); on CPUs with 512-bit FMA units it issues as many FMAs as a
 * zmm. B is padded (x^T, rows of 16), so the 8 floats are readable. The
 * sums are tile()'s (ST_TRANS): the bias, then k = 0 .. K-1 in order. */
INLINE void tile_half(const int full, int64_t K, const float *a, ptrdiff_t sam, int mr, const float *b,
                      ptrdiff_t ldb, int nr, const float *bias, float *c, ptrdiff_t ldc, int act, float slope)
{
    __m256 acc[MR];
    const float *ap[MR];
    for (int m = 0; m < MR; m++) {
        int mm = m < mr ? m : mr - 1;
        ap[m] = a + mm * sam;
        acc[m] = bias ? _mm256_set1_ps(bias[mm]) : _mm256_setzero_ps();
    }
    ptrdiff_t s1 = sam, s2 = 2 * sam, s3 = 3 * sam;
    const float *a4 = a + 4 * sam;
    for (int64_t k = 0; k < K; k++) {
        if (full)
            __asm__("" : "+r"(s1), "+r"(s2), "+r"(s3));
        __m256 bv = _mm256_loadu_ps(b + k * ldb);
        for (int m = 0; m < MR; m++) {
            float am;
            if (!full) {
                am = ap[m][k];
            } else {
                const float *p = (m < 4 ? a : a4) + k;
                int q = m & 3;
                am = q == 0 ? p[0] : q == 1 ? p[s1] : q == 2 ? p[s2] : p[s3];
            }
            acc[m] = _mm256_fmadd_ps(_mm256_set1_ps(am), bv, acc[m]);
        }
    }
    __mmask8 mm8 = (__mmask8)(0xFFu >> (MR - mr));
    __m512 r[MR];
    __m256 col[16];
    for (int m = 0; m < MR; m++)
        r[m] = rect(act, _mm512_zextps256_ps512(acc[m]), _mm512_set1_ps(slope));
    nn_tr8x16(r, col);
    for (int j = 0; j < 8; j++)
        if (j < nr)
            _mm256_mask_storeu_ps(c + j * ldc, mm8, col[j]);
}

/* One panel of nv vectors: masked loads of B only when the panel ends
 * inside a vector and B has no padding there. */
INLINE void panel(const int pf, const int nv, const int mode, const int at, int masked, int64_t K, const float *a,
                  ptrdiff_t sam, ptrdiff_t sak, int mr, const float *b, ptrdiff_t ldb, int nr, const float *bias,
                  float *c, ptrdiff_t ldc, const float *na, int act, float slope)
{
    if (masked)
        tile(pf, nv, 1, 0, mode, at, K, a, sam, sak, mr, b, ldb, nr, bias, c, ldc, NULL, act, slope);
    else if (mr < MR)
        tile(pf, nv, 0, 0, mode, at, K, a, sam, sak, mr, b, ldb, nr, bias, c, ldc, NULL, act, slope);
    else
        tile(pf, nv, 0, 1, mode, at, K, a, sam, sak, mr, b, ldb, nr, bias, c, ldc, na, act, slope);
}

/* C [M x N] over K, tile by tile. Panels of B are 3 vectors wide, but 4
 * remaining vectors go as 2 + 2, never leaving a lone 1-vector panel after
 * a 3-vector one (a 1-vector tile does 8 FMAs per 9 loads: load-bound).
 * padded: B's rows may be read up to the next multiple of 16 columns
 * (x^T in the forward product), so no load needs a mask.
 * m_outer: 8-row blocks of A outside, each (8 x K floats) staying in L1
 * while it passes over every panel of B: the forward product (A = W is
 * then read from memory exactly once, B = x^T stays in L2) and the weight
 * gradient (A = dy^T, B = x from L2, each row block of dW read and written
 * once, in order). Otherwise panels outside, each (K x 48 floats) staying
 * in L2 while every block of A passes over it: the input gradient (B = W
 * read from memory once). Measured both ways on the MLP GAN's shapes.
 * pf: prefetch B's rows PF_ROWS steps ahead (the input gradient). */
INLINE void product(const int mode, const int at, int padded, int m_outer, const int pf, int64_t M, int64_t N,
                    int64_t K, const float *a, ptrdiff_t sam, ptrdiff_t sak, ptrdiff_t sab, const float *b,
                    ptrdiff_t ldb, const float *bias, float *c, ptrdiff_t ldc, int act, float slope)
{
    int64_t nb = m_outer ? (M + MR - 1) / MR : 1; /* outer blocks of A; 1: a single sweep, the panels outside */
    /* A transposed (at: A (m, k) = a[k sak + m], sam = 1 in every such
     * call) keeps its 8-row block in K lines sak floats apart; with sak a
     * multiple of 1024 floats (the convolutions' weights W [Cout x C k k],
     * read as W^T, C k k = 1024-8192 in the DCGAN) every line falls in the
     * same L1 set and the block came from L2 on every panel. With the
     * panels inside, the block is copied first into K x 8 contiguous floats
     * (the same elements, so the same sums; also dy^T of the linear weight
     * gradient): the DCGAN's transposed products 130-140 -> 135-150
     * GFLOP/s, its step 2-4% faster. */
    float ablk[AT_KMAX * MR] __attribute__((aligned(64)));
    int copy_a = at && m_outer && K <= AT_KMAX && !sab;
    /* the forward's last 1-8 columns go to tile_half; the panels before them are whole vectors */
    int64_t tail = mode == ST_TRANS && padded && !at && N % 16 && N % 16 <= 8 ? N % 16 : 0, Nv = N - tail;
    for (int64_t ob = 0; ob < nb; ob++) {
        if (copy_a) {
            int64_t m0 = ob * MR;
            int mr = M - m0 < MR ? (int)(M - m0) : MR;
            __mmask8 km = (__mmask8)(0xFFu >> (MR - mr));
            for (int64_t k = 0; k < K; k++)
                _mm256_store_ps(ablk + k * MR, _mm256_maskz_loadu_ps(km, a + k * sak + m0));
        }
        for (int64_t n0 = 0; n0 < N;) {
            int64_t m_end = m_outer ? (ob + 1) * MR : M;
            if (n0 == Nv) { /* tail > 0: the half-vector panel, last */
                for (int64_t m0 = m_outer ? ob * MR : 0; m0 < M && m0 < m_end; m0 += MR) {
                    int mr = M - m0 < MR ? (int)(M - m0) : MR;
                    const float *bm = bias ? bias + m0 : NULL;
                    if (mr < MR)
                        tile_half(0, K, a + m0 * sam, sam, mr, b + n0, ldb, (int)tail, bm, c + n0 * ldc + m0, ldc,
                                  act, slope);
                    else
                        tile_half(1, K, a + m0 * sam, sam, mr, b + n0, ldb, (int)tail, bm, c + n0 * ldc + m0, ldc,
                                  act, slope);
                }
                break;
            }
            int64_t left = (Nv - n0 + 15) / 16; /* vectors left */
            int nv = left == 4 ? 2 : left >= 3 ? 3 : (int)left;
            int nr = Nv - n0 < 16 * nv ? (int)(Nv - n0) : 16 * nv;
            int masked = !padded && nr % 16 != 0;
            for (int64_t m0 = m_outer ? ob * MR : 0; m0 < M && m0 < m_end; m0 += MR) {
                int mr = M - m0 < MR ? (int)(M - m0) : MR;
                const float *am = copy_a ? ablk : sab ? a + m0 / MR * sab : a + m0 * sam;
                const float *bn = b + n0, *bm = bias ? bias + m0 : NULL;
                ptrdiff_t ak = copy_a ? MR : sak;
                float *cmn = mode == ST_TRANS ? c + n0 * ldc + m0 : c + m0 * ldc + n0;
                /* The forward (A = W, read once, block by block): the first panel
                 * of a block brings the next block's rows into L1 (8 x 3 KB at 784
                 * inputs). In training W arrives cold (a cell's parameters and
                 * Adam state exceed L2, and four cells of a 2x2 grid take turns on
                 * a core), and each new block waited for its 8 rows: the forward
                 * products of the quick start's shapes ran 8-25% faster with W in
                 * L3 (Zen 4; +1-8% warm), the 2x2 quick start took 5% less CPU. */
                const float *na = mode == ST_TRANS && !at && n0 == 0 && m0 + 2 * MR <= M ? am + MR * sam : NULL;
                if (nv == 3)
                    panel(pf, 3, mode, at, masked, K, am, sam, ak, mr, bn, ldb, nr, bm, cmn, ldc, na, act, slope);
                else if (nv == 2)
                    panel(pf, 2, mode, at, masked, K, am, sam, ak, mr, bn, ldb, nr, bm, cmn, ldc, na, act, slope);
                else
                    panel(pf, 1, mode, at, masked, K, am, sam, ak, mr, bn, ldb, nr, bm, cmn, ldc, na, act, slope);
            }
            n0 += nr;
        }
    }
}

/* x^T [In x Rp] of x [R x In], Rp = R rounded up to 16 (rows 64-byte
 * aligned); padding columns hold copies of the last row (finite, never
 * stored). Blocks of 8 rows x 16 columns through nn_tr8x16. */
int64_t nn_lk_forward_scratch(int64_t R, int64_t In)
{
    return In * ((R + 15) / 16 * 16);
}

static void transpose_x(int64_t R, int64_t In, const float *x, float *xt)
{
    int64_t Rp = (R + 15) / 16 * 16;
    for (int64_t r0 = 0; r0 < Rp; r0 += 8) {
        const float *row[8];
        for (int m = 0; m < 8; m++)
            row[m] = x + (r0 + m < R ? r0 + m : R - 1) * In;
        for (int64_t i0 = 0; i0 < In; i0 += 16) {
            int ni = In - i0 < 16 ? (int)(In - i0) : 16;
            __mmask16 lm = (__mmask16)(0xFFFFu >> (16 - ni));
            __m512 r[8];
            __m256 col[16];
            for (int m = 0; m < 8; m++)
                r[m] = _mm512_maskz_loadu_ps(lm, row[m] + i0);
            nn_tr8x16(r, col);
            for (int j = 0; j < 16; j++)
                if (j < ni)
                    _mm256_storeu_ps(xt + (i0 + j) * Rp + r0, col[j]);
        }
    }
}

void nn_lk_forward(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b, float *y,
                   float *xt)
{
    nn_lk_forward_act(R, O, In, x, W, b, y, xt, NN_ACT_IDENTITY, 0.0f);
}

void nn_lk_forward_act(int64_t R, int64_t O, int64_t In, const float *x, const float *W, const float *b, float *y,
                       float *xt, int act, float slope)
{
    /* y^T [O x R] = W [O x In] x^T [In x R] + b: A = W (rows contiguous along
     * the reduction index i), B = x^T; tiles are written transposed into y */
    transpose_x(R, In, x, xt);
    int64_t Rp = (R + 15) / 16 * 16;
    product(ST_TRANS, 0, 1, 1, 0, O, R, In, W, In, 1, 0, xt, Rp, b, y, O, act, slope);
}

void nn_lk_backward_input(int64_t R, int64_t O, int64_t In, const float *dy, const float *W, float *dx)
{
    /* A = dy [R x O] (reduction along o, contiguous), B = W [O x In] */
    product(ST_STORE, 0, 0, 0, 1, R, In, O, dy, O, 1, 0, W, In, NULL, dx, In, NN_ACT_IDENTITY, 0.0f);
}

void nn_lk_backward_weight(int64_t R, int64_t O, int64_t In, const float *dy, const float *x, float *dW, int add)
{
    /* A (o, r) = dy[r O + o]: dy^T, its 8-row blocks copied by product; B = x [R x In] */
    if (add)
        product(ST_ADD, 1, 0, 1, 0, O, In, R, dy, 1, O, 0, x, In, NULL, dW, In, NN_ACT_IDENTITY, 0.0f);
    else
        product(ST_STORE, 1, 0, 1, 0, O, In, R, dy, 1, O, 0, x, In, NULL, dW, In, NN_ACT_IDENTITY, 0.0f);
}

/* The convolutions' products: K in blocks of NN_LK_KC, the first block
 * stored and the others added (no clearing of C; OpenBLAS clears C for
 * beta = 0 and packs both operands on every call). Each 8-row block of A
 * (8 x KC floats) stays in L1 while it passes over the block's rows of B
 * (KC x N, from L2). One noinline function holding the four (mode, at)
 * instances keeps the tile copies out of each other's way. */
#define NN_LK_KC 256
__attribute__((noinline)) static void conv_block(int mode, int at, int64_t M, int64_t N, int64_t K, const float *a,
                                                 ptrdiff_t sam, ptrdiff_t sak, ptrdiff_t sab, const float *b,
                                                 ptrdiff_t ldb, float *c, ptrdiff_t ldc)
{
    if (at) {
        if (mode == ST_STORE)
            product(ST_STORE, 1, 0, 1, 0, M, N, K, a, sam, sak, sab, b, ldb, NULL, c, ldc, NN_ACT_IDENTITY, 0.0f);
        else
            product(ST_ADD, 1, 0, 1, 0, M, N, K, a, sam, sak, sab, b, ldb, NULL, c, ldc, NN_ACT_IDENTITY, 0.0f);
    } else {
        if (mode == ST_STORE)
            product(ST_STORE, 0, 0, 1, 0, M, N, K, a, sam, sak, sab, b, ldb, NULL, c, ldc, NN_ACT_IDENTITY, 0.0f);
        else
            product(ST_ADD, 0, 0, 1, 0, M, N, K, a, sam, sak, sab, b, ldb, NULL, c, ldc, NN_ACT_IDENTITY, 0.0f);
    }
}

void nn_lk_gemm(int at, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                float *c, int64_t ldc)
{
    for (int64_t k0 = 0; k0 < K; k0 += NN_LK_KC) {
        int64_t kk = K - k0 < NN_LK_KC ? K - k0 : NN_LK_KC;
        const float *ak = at ? a + k0 * lda : a + k0;
        conv_block(k0 ? ST_ADD : ST_STORE, at, M, N, kk, ak, at ? 1 : lda, at ? lda : 1, 0, b + k0 * ldb, ldb, c,
                   ldc);
    }
}

int64_t nn_lk_pack_at_size(int64_t M, int64_t K)
{
    return (M + MR - 1) / MR * MR * K;
}

void nn_lk_pack_at(int64_t M, int64_t K, const float *a, int64_t lda, float *pk)
{
    /* 8 blocks (64 floats: 4 whole lines of each row of a) per pass over K */
    for (int64_t g0 = 0; g0 < M; g0 += 8 * MR)
        for (int64_t k = 0; k < K; k++) {
            const float *ak = a + k * lda;
            for (int64_t m0 = g0; m0 < M && m0 < g0 + 8 * MR; m0 += MR) {
                __mmask8 km = (__mmask8)(M - m0 >= MR ? 0xFFu : 0xFFu >> (MR - (M - m0)));
                _mm256_storeu_ps(pk + (m0 / MR * K + k) * MR, _mm256_maskz_loadu_ps(km, ak + m0));
            }
        }
}

void nn_lk_gemm_packed(int64_t M, int64_t N, int64_t K, const float *pk, const float *b, int64_t ldb, float *c,
                       int64_t ldc)
{
    for (int64_t k0 = 0; k0 < K; k0 += NN_LK_KC) {
        int64_t kk = K - k0 < NN_LK_KC ? K - k0 : NN_LK_KC;
        conv_block(k0 ? ST_ADD : ST_STORE, 1, M, N, kk, pk + k0 * MR, 1, MR, K * MR, b + k0 * ldb, ldb, c, ldc);
    }
}
