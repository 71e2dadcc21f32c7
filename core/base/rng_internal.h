/* core/base/rng_internal.h - the Box-Muller paths of rng.c, for tests
 * (library internal, not SDK). */
#ifndef LPZ_CORE_BASE_RNG_INTERNAL_H
#define LPZ_CORE_BASE_RNG_INTERNAL_H

/* z0[i], z1[i] of n pairs of uniforms (u1 in (0, 1], u2 in [0, 1)) by one
 * path: 0 the scalar one of lpz_rng_normal (and of lpz_rng_fill_normal's
 * blocks without AVX-512), 1 the branch-free block built for baseline
 * x86-64 (only for this check), 2 the same built for AVX-512 (the blocks'
 * path where the CPU has it). Returns 0 (and writes nothing) when this CPU or build lacks
 * the path, else 1. */
int lpz_rng_box_muller_path(int path, const double *u1, const double *u2, double *z0, double *z1, int n);

#endif
