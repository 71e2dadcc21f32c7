/* tests/base/test_rng.c - normal deviates: the polynomial Box-Muller
 * against libm on the same uniforms, the block paths of fill_normal (the
 * baseline build and the AVX-512 one) against the scalar path double for
 * double on edge and random uniforms, fill_normal against single draws,
 * and the moments. */
#include <lpz/rng.h>

#include "base/rng_internal.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_normal_matches_libm_box_muller(void **state)
{
    (void)state;
    lpz_rng a, b;
    lpz_rng_seed(&a, 3, 1);
    b = a;
    double worst = 0;
    for (int i = 0; i < 200000; i++) {
        double z0 = lpz_rng_normal(&a), z1 = lpz_rng_normal(&a);
        double u1, u2;
        do
            u1 = lpz_rng_uniform(&b);
        while (u1 <= 0.0);
        u2 = lpz_rng_uniform(&b);
        double r = sqrt(-2.0 * log(u1));
        double w0 = r * cos(2.0 * M_PI * u2), w1 = r * sin(2.0 * M_PI * u2);
        /* error relative to the radius: sin and cos near 0 have no
         * relative accuracy to keep */
        double e = fmax(fabs(z0 - w0), fabs(z1 - w1)) / fmax(r, 1e-300);
        worst = fmax(worst, e);
    }
    assert_true(worst < 1e-13);
}

static void test_block_paths_equal_the_scalar_path_bit_for_bit(void **state)
{
    (void)state;
    enum { N = 4096 };
    static double u1[N], u2[N], z[3][2][N];
    /* edges: u1 = 1 (r = -0), the smallest u1, mantissas around sqrt(2);
     * u2 on and next to the quadrant boundaries and their midpoints */
    const double e1[] = {1.0, 0x1.0p-53, 0.7071067811865475, 0.7071067811865476, 0.35355339059327373,
                         0.3535533905932738, 0.5, 0.25, 0x1.fffffffffffffp-1, 0x1.6a09e667f3bccp-1,
                         0x1.6a09e667f3bcdp-1};
    const double e2[] = {0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 0x1.bffffffffffffp-1,
                         0x1.fffffffffffffp-1, 0x1.0p-53, 0x1.0000000000001p-2, 0x1.ffffffffffffep-3};
    int k = 0;
    for (size_t a = 0; a < sizeof e1 / sizeof *e1; a++)
        for (size_t b = 0; b < sizeof e2 / sizeof *e2; b++, k++)
            u1[k] = e1[a], u2[k] = e2[b];
    lpz_rng rng;
    lpz_rng_seed(&rng, 5, 6);
    for (; k < N; k++) {
        do
            u1[k] = lpz_rng_uniform(&rng);
        while (u1[k] <= 0.0);
        u2[k] = lpz_rng_uniform(&rng);
    }
    int ran = 0;
    for (int path = 0; path < 3; path++)
        if (lpz_rng_box_muller_path(path, u1, u2, z[path][0], z[path][1], N))
            ran |= 1 << path;
    assert_int_equal(ran & 3, 3); /* the scalar and the baseline block run everywhere */
    for (int path = 1; path < 3; path++)
        if (ran & (1 << path))
            for (int i = 0; i < N; i++)
                if (memcmp(&z[path][0][i], &z[0][0][i], sizeof(double)) ||
                    memcmp(&z[path][1][i], &z[0][1][i], sizeof(double)))
                    fail_msg("path %d, u1 %a, u2 %a: (%a, %a) against the scalar path's (%a, %a)", path, u1[i],
                             u2[i], z[path][0][i], z[path][1][i], z[0][0][i], z[0][1][i]);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    /* where the CPU has it, the AVX-512 block must be the one in use */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        assert_true(ran & 4);
#endif
    if (!(ran & 4))
        print_message("no AVX-512 here: its block path was not compared\n");
    assert_int_equal(lpz_rng_box_muller_path(7, u1, u2, z[0][0], z[0][1], 1), 0);
}

static void test_fill_normal_is_a_sequence_of_single_draws(void **state)
{
    (void)state;
    size_t sizes[] = {0, 1, 2, 3, 127, 128, 129, 1000, 6401};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        for (int spare = 0; spare < 2; spare++) {
            size_t n = sizes[k];
            lpz_rng a, b;
            lpz_rng_seed(&a, 10 + k, 2);
            if (spare)
                (void)lpz_rng_normal(&a); /* leaves a spare deviate */
            b = a;
            float *x = malloc((n + 1) * sizeof *x);
            lpz_rng_fill_normal(&a, x, n, 0.5f, 2.0f);
            for (size_t i = 0; i < n; i++) {
                float want = 0.5f + 2.0f * (float)lpz_rng_normal(&b);
                assert_memory_equal(&x[i], &want, sizeof want);
            }
            /* and the generators are left in the same state */
            assert_true(lpz_rng_normal(&a) == lpz_rng_normal(&b));
            free(x);
        }
}

static void test_normal_moments(void **state)
{
    (void)state;
    lpz_rng rng;
    lpz_rng_seed(&rng, 99, 0);
    const size_t n = 1000000;
    float *x = malloc(n * sizeof *x);
    lpz_rng_fill_normal(&rng, x, n, 0.0f, 1.0f);
    double m = 0, v = 0, k4 = 0;
    size_t tail = 0;
    for (size_t i = 0; i < n; i++)
        m += x[i];
    m /= n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m;
        v += d * d;
        k4 += d * d * d * d;
        tail += fabs(x[i]) > 3.0;
    }
    v /= n;
    k4 /= n * v * v;
    assert_true(fabs(m) < 5.0 / sqrt((double)n));
    assert_true(fabs(v - 1.0) < 5.0 * sqrt(2.0 / n));
    assert_true(fabs(k4 - 3.0) < 0.05);
    /* P(|z| > 3) = 0.0027 */
    assert_true(fabs((double)tail - 2700.0) < 5 * sqrt(2700.0));
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_matches_libm_box_muller),
        cmocka_unit_test(test_block_paths_equal_the_scalar_path_bit_for_bit),
        cmocka_unit_test(test_fill_normal_is_a_sequence_of_single_draws),
        cmocka_unit_test(test_normal_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
