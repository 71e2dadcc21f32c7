/* core/nn/simd_transpose.h - in-register transposes shared by the engine's
 * AVX-512 kernels (linear_kernels.c, amx_kernels.c, avx512bf16_kernels.c).
 * Every intrinsic here is AVX-512 F: include it only from a file compiled
 * with AVX-512 flags, and call it only after that file's CPU check.
 */
#ifndef LPZ_NN_SIMD_TRANSPOSE_H
#define LPZ_NN_SIMD_TRANSPOSE_H

#include <immintrin.h>

/* r[0..7]: 8 rows of 16 32-bit elements. out[j] = (r0[j], r1[j], ..., r7[j])
 * for j = 0..15: an 8 x 16 -> 16 x 8 transpose in 40 shuffles. Floats
 * here, but any 32-bit elements pass through unchanged (bf16 pairs too). */
static inline __attribute__((always_inline)) void nn_tr8x16(const __m512 r[8], __m256 out[16])
{
    __m512 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);     /* per 128-bit lane: a0 b0 a1 b1 */
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]); /* a2 b2 a3 b3 */
    }
    for (int h = 0; h < 8; h += 4) { /* rows 0-3, rows 4-7 */
        /* u[h + q], 128-bit lane L: rows h..h+3 of column 4L + q */
        u[h + 0] = _mm512_shuffle_ps(t[h + 0], t[h + 2], 0x44);
        u[h + 1] = _mm512_shuffle_ps(t[h + 0], t[h + 2], 0xEE);
        u[h + 2] = _mm512_shuffle_ps(t[h + 1], t[h + 3], 0x44);
        u[h + 3] = _mm512_shuffle_ps(t[h + 1], t[h + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++) {
        /* (u[q].L0, u[q].L1, u[q+4].L0, u[q+4].L1) -> (u[q].L0, u[q+4].L0, u[q].L1, u[q+4].L1):
         * columns q and 4 + q; then the same for lanes 2, 3: columns 8 + q, 12 + q */
        __m512 lo = _mm512_shuffle_f32x4(u[q], u[q + 4], 0x44);
        __m512 hi = _mm512_shuffle_f32x4(u[q], u[q + 4], 0xEE);
        lo = _mm512_shuffle_f32x4(lo, lo, 0xD8);
        hi = _mm512_shuffle_f32x4(hi, hi, 0xD8);
        out[q] = _mm512_castps512_ps256(lo);
        out[q + 4] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(lo), 1));
        out[q + 8] = _mm512_castps512_ps256(hi);
        out[q + 12] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(hi), 1));
    }
}

/* 16 x 16 transpose of 32-bit elements, in place */
static inline __attribute__((always_inline)) void nn_tr16(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* r[4q + j], 128-bit lane L: rows 4L..4L+3 of column (j, q) in the
     * order the unpacks left them; the lane shuffles gather them */
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xDD);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xDD);
    }
}

#endif
