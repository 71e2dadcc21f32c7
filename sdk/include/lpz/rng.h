/* lpz/rng.h - explicit-state random numbers.
 *
 * There is no global random state in lpz: every cell, thread and data
 * stream owns an lpz_rng seeded from the run seed and a stream number, so
 * runs are reproducible whatever the thread schedule. The generator is
 * xoshiro256** (fast, 256-bit state); seeding goes through splitmix64.
 */
#ifndef LPZ_RNG_H
#define LPZ_RNG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lpz_rng {
    uint64_t s[4];
    double spare;   /* cached second normal deviate of Box-Muller */
    int has_spare;
} lpz_rng;

/* Seeds rng from a run seed and a stream number (e.g. the cell number);
 * different streams of one seed are independent. */
LPZ_API void lpz_rng_seed(lpz_rng *rng, uint64_t seed, uint64_t stream);

/* Uniform 64-bit integer. */
LPZ_API uint64_t lpz_rng_u64(lpz_rng *rng);

/* Uniform integer in [0, n); n > 0. Unbiased. */
LPZ_API uint64_t lpz_rng_below(lpz_rng *rng, uint64_t n);

/* Uniform double in [0, 1). */
LPZ_API double lpz_rng_uniform(lpz_rng *rng);

/* Standard normal deviate. */
LPZ_API double lpz_rng_normal(lpz_rng *rng);

/* Fills out[0..n) with Normal(mean, std) as float. */
LPZ_API void lpz_rng_fill_normal(lpz_rng *rng, float *out, size_t n, float mean, float std);

/* Fills out[0..n) with Uniform(lo, hi) as float. */
LPZ_API void lpz_rng_fill_uniform(lpz_rng *rng, float *out, size_t n, float lo, float hi);

/* Derives an independent child generator (e.g. one per layer or thread). */
LPZ_API void lpz_rng_split(lpz_rng *rng, lpz_rng *child);

#ifdef __cplusplus
}
#endif
#endif
