/* core/nn/bf16_split.h - fp32 values split into bf16 limbs, shared by the
 * bf16 kernels (amx_kernels.c, avx512bf16_kernels.c): x = hi + lo with
 * hi = bf16(x) and lo = bf16(x - hi), rounded to nearest even (the
 * precision each header states). The intrinsics are AVX-512 F/BW/VL and
 * BF16: include this only from a file compiled with those flags, and call
 * it only after that file's CPU check.
 */
#ifndef LPZ_NN_BF16_SPLIT_H
#define LPZ_NN_BF16_SPLIT_H

#include <immintrin.h>

/* 16 floats -> hi (and lo when limbs = 2, else zeros) as 16 bf16 each */
static inline __attribute__((always_inline)) void nn_bf16_split16(int limbs, __m512 x, __m256i *hi, __m256i *lo)
{
    __m256i h = (__m256i)_mm512_cvtneps_pbh(x);
    *hi = h;
    *lo = _mm256_setzero_si256();
    if (limbs == 2) {
        __m512 hf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        *lo = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(x, hf));
    }
}

/* 8 floats likewise */
static inline __attribute__((always_inline)) void nn_bf16_split8(int limbs, __m256 x, __m128i *hi, __m128i *lo)
{
    __m128i h = (__m128i)_mm256_cvtneps_pbh(x);
    *hi = h;
    *lo = _mm_setzero_si128();
    if (limbs == 2) {
        __m256 hf = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        *lo = (__m128i)_mm256_cvtneps_pbh(_mm256_sub_ps(x, hf));
    }
}

/* (lo, hi) -> one 512-bit register, lo in the low half */
static inline __attribute__((always_inline)) __m512i nn_cat256(__m256i lo, __m256i hi)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

#endif
