/* tests/base/test_rng.c - normal deviates: the polynomial Box-Muller
 * against libm on the same uniforms, the block path of fill_normal against
 * single draws, and the moments. */
#include <lpz/rng.h>

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
        cmocka_unit_test(test_fill_normal_is_a_sequence_of_single_draws),
        cmocka_unit_test(test_normal_moments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
