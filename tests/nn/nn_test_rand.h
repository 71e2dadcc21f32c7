/* tests/nn/nn_test_rand.h - random test matrices and the double-precision
 * reference product shared by the engine's kernel tests (include after
 * cmocka.h). One xorshift stream per test program, fixed seed: the same
 * matrices on every run. */
#ifndef LPZ_TESTS_NN_TEST_RAND_H
#define LPZ_TESTS_NN_TEST_RAND_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

static inline uint64_t next_u64(void)
{
    static uint64_t state = 0x9e3779b97f4a7c15ull;
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
}

static inline float urand(void) /* uniform in [-1, 1) */
{
    return (float)((next_u64() >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static inline float *alloc_f(int64_t n)
{
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

static inline float *rand_mat(int64_t n)
{
    float *p = alloc_f(n);
    for (int64_t i = 0; i < n; i++)
        p[i] = urand();
    return p;
}

/* C[m][n] = sum_k A(m, k) B(k, n) in double; mag = sum_k |A(m, k) B(k, n)|
 * (the scale of the rounding error). A(m, k) = a[m sam + k sak],
 * B(k, n) = b[k sbk + n sbn]. */
static inline void ref_product(int64_t M, int64_t N, int64_t K, const float *a, int64_t sam, int64_t sak,
                               const float *b, int64_t sbk, int64_t sbn, double *c, double *mag)
{
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = 0, g = 0;
            for (int64_t k = 0; k < K; k++) {
                double t = (double)a[m * sam + k * sak] * b[k * sbk + n * sbn];
                s += t, g += fabs(t);
            }
            c[m * N + n] = s, mag[m * N + n] = g;
        }
}

#endif
