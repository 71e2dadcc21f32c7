/* tests/score/test_score.c - core/score: FID properties, the matrix square
 * root, the max-pool layer and cross-entropy against finite differences,
 * mixture sampling, mixture.yml, the ES, classifier files, and (when
 * Debian's Fashion-MNIST is installed) classifier training and the scorer
 * with its cache. The mnist plugin's source is compiled in (fashion name). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/options_internal.h"
#include "io/fsutil.h"
#include "io/safetensors.h"
#include "nn/precision.h"
#include "score/score.h"

#include <lpz/plugin.h>

#include "scratch.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FMNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

/* n x d features: correlated Gaussian rows (x = A g + shift). */
static float *random_features(int64_t n, int d, double shift, uint64_t seed)
{
    lpz_rng rng;
    lpz_rng_seed(&rng, seed, 0);
    float *f = malloc((size_t)(n * d) * sizeof *f);
    double g[64];
    for (int64_t i = 0; i < n; i++) {
        for (int a = 0; a < d; a++)
            g[a] = lpz_rng_normal(&rng);
        for (int a = 0; a < d; a++) {
            double v = g[a] + (a > 0 ? 0.5 * g[a - 1] : 0) + shift;
            f[i * d + a] = (float)v;
        }
    }
    return f;
}

static double fid_of(const float *a, int64_t na, const float *b, int64_t nb, int d)
{
    double *m1 = malloc((size_t)d * 8), *m2 = malloc((size_t)d * 8);
    double *s1 = malloc((size_t)d * d * 8), *s2 = malloc((size_t)d * d * 8);
    lpz_error err;
    assert_int_equal(lpz_feature_stats(a, na, d, m1, s1, &err), LPZ_OK);
    assert_int_equal(lpz_feature_stats(b, nb, d, m2, s2, &err), LPZ_OK);
    double fid = -1;
    assert_int_equal(lpz_fid_from_stats(m1, s1, NULL, m2, s2, d, &fid, &err), LPZ_OK);
    free(m1), free(m2), free(s1), free(s2);
    return fid;
}

static void test_fid_of_a_set_with_itself_is_zero(void **state)
{
    (void)state;
    float *a = random_features(500, 10, 0, 1);
    double fid = fid_of(a, 500, a, 500, 10);
    assert_true(fid >= 0 && fid < 1e-8);
    free(a);
}

static void test_fid_is_symmetric(void **state)
{
    (void)state;
    float *a = random_features(400, 10, 0, 1), *b = random_features(300, 10, 0.3, 2);
    double ab = fid_of(a, 400, b, 300, 10), ba = fid_of(b, 300, a, 400, 10);
    assert_true(ab > 0.1);
    assert_true(fabs(ab - ba) <= 1e-9 * ab);
    free(a), free(b);
}

static void test_fid_grows_with_a_shift(void **state)
{
    (void)state;
    float *a = random_features(500, 8, 0, 1);
    double last = 0;
    for (int k = 1; k <= 4; k++) {
        double s = 0.5 * k;
        /* The same rows shifted: covariances equal, FID = d s^2 exactly. */
        float *b = malloc(500 * 8 * sizeof *b);
        for (int i = 0; i < 500 * 8; i++)
            b[i] = a[i] + (float)s;
        double fid = fid_of(a, 500, b, 500, 8);
        assert_true(fid > last);
        assert_true(fabs(fid - 8 * s * s) < 1e-3 * 8 * s * s);
        last = fid;
        free(b);
    }
    free(a);
}

static void test_fid_of_one_dimensional_gaussians(void **state)
{
    (void)state;
    /* N(0, 4) vs N(3, 1): mu^2 + (sigma1 - sigma2)^2 = 9 + 1. */
    double m1 = 0, s1 = 4, m2 = 3, s2 = 1, fid;
    lpz_error err;
    assert_int_equal(lpz_fid_from_stats(&m1, &s1, NULL, &m2, &s2, 1, &fid, &err), LPZ_OK);
    assert_true(fabs(fid - 10) < 1e-12);
}

/* Two-pass reference statistics in long double. */
static void reference_stats(const float *f, int64_t n, int d, double *mean, double *cov)
{
    for (int a = 0; a < d; a++) {
        long double m = 0;
        for (int64_t i = 0; i < n; i++)
            m += f[i * d + a];
        mean[a] = (double)(m / n);
    }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            long double c = 0;
            for (int64_t i = 0; i < n; i++)
                c += ((long double)f[i * d + a] - mean[a]) * ((long double)f[i * d + b] - mean[b]);
            cov[a * d + b] = (double)(c / (n - 1));
        }
}

static void test_streamed_statistics_match_two_passes(void **state)
{
    (void)state;
    enum { N = 1000, D = 12 };
    /* A mean far larger than the spread (1e4 against 1): the one-pass sums
     * would lose the covariance without the shift. */
    double shifts[] = {0, 1e4};
    for (int t = 0; t < 2; t++) {
        float *f = random_features(N, D, shifts[t], 11 + t);
        double rm[D], rc[D * D], m[D], c[D * D], m2[D], c2[D * D];
        reference_stats(f, N, D, rm, rc);
        lpz_stats acc;
        lpz_error err;
        assert_int_equal(lpz_stats_init(&acc, D, &err), LPZ_OK);
        /* rows in pieces of 1, 7, 128, 300, ... around the 128-row folds */
        int64_t pieces[] = {1, 7, 128, 300, 64}, at = 0;
        for (size_t k = 0; at < N / 2; k = (k + 1) % 5) {
            int64_t p = pieces[k] < N / 2 - at ? pieces[k] : N / 2 - at;
            lpz_stats_add(&acc, f + at * D, p);
            at += p;
        }
        assert_int_equal(lpz_stats_count(&acc), N / 2);
        /* finishing does not end the accumulation */
        assert_int_equal(lpz_stats_finish(&acc, m, c, &err), LPZ_OK);
        lpz_stats_add(&acc, f + at * D, N - at);
        assert_int_equal(lpz_stats_finish(&acc, m, c, &err), LPZ_OK);
        assert_int_equal(lpz_feature_stats(f, N, D, m2, c2, &err), LPZ_OK);
        for (int a = 0; a < D; a++) {
            assert_true(fabs(m[a] - rm[a]) <= 1e-12 * (1 + fabs(rm[a])));
            assert_true(m2[a] == m[a]);
            for (int b = 0; b < D; b++) {
                /* the covariances are about 1: absolute error against that */
                assert_true(fabs(c[a * D + b] - rc[a * D + b]) <= 1e-9);
                assert_true(c[a * D + b] == c[b * D + a]);
                assert_true(fabs(c2[a * D + b] - rc[a * D + b]) <= 1e-9);
            }
        }
        lpz_stats_free(&acc);
        free(f);
    }
    /* bad input: too few rows, non-finite rows, sizes out of range */
    lpz_stats acc;
    lpz_error err;
    double m[2], c[4];
    float rows[4] = {1, 2, NAN, 3};
    assert_int_equal(lpz_stats_init(&acc, 2, &err), LPZ_OK);
    assert_int_equal(lpz_stats_finish(&acc, m, c, &err), LPZ_EINVAL);
    lpz_stats_add(&acc, rows, 1);
    assert_int_equal(lpz_stats_finish(&acc, m, c, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "at least 2 samples (got 1)"));
    lpz_stats_add(&acc, rows + 2, 1);
    assert_int_equal(lpz_stats_finish(&acc, m, c, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "feature 0 of the samples is not finite"));
    lpz_stats_free(&acc);
    assert_int_equal(lpz_stats_init(&acc, 0, &err), LPZ_EINVAL);
    assert_int_equal(lpz_stats_init(&acc, 4097, &err), LPZ_EINVAL);
    lpz_stats_free(&acc); /* a failed init leaves nothing to free: harmless */
}

static void test_matrix_sqrt_of_random_spd_matrices(void **state)
{
    (void)state;
    int sizes[] = {1, 2, 5, 10, 40};
    lpz_rng rng;
    lpz_rng_seed(&rng, 3, 0);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        int d = sizes[t];
        double *b = malloc((size_t)d * d * 8), *a = malloc((size_t)d * d * 8), *s = malloc((size_t)d * d * 8);
        for (int i = 0; i < d * d; i++)
            b[i] = lpz_rng_normal(&rng);
        double amax = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double v = i == j ? 1e-3 : 0;
                for (int k = 0; k < d; k++)
                    v += b[i * d + k] * b[j * d + k];
                a[i * d + j] = v;
                amax = fmax(amax, fabs(v));
            }
        lpz_error err;
        assert_int_equal(lpz_sym_sqrt(a, d, s, &err), LPZ_OK);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double v = 0;
                for (int k = 0; k < d; k++)
                    v += s[i * d + k] * s[k * d + j];
                assert_true(fabs(v - a[i * d + j]) <= 1e-9 * amax);
                assert_true(fabs(s[i * d + j] - s[j * d + i]) <= 1e-12 * amax);
            }
        free(a), free(b), free(s);
    }
    double bad[4] = {1, NAN, NAN, 1}, out[4];
    lpz_error err;
    assert_int_equal(lpz_sym_sqrt(bad, 2, out, &err), LPZ_EINVAL);
}

/* Loss = sum(w * y) of a model's output; returns it and the input gradient. */
static double weighted_output(lpz_model *m, const float *x, int64_t n, const float *w, int64_t out_numel,
                              float *dx)
{
    lpz_error err;
    const float *y = lpz_model_forward(m, x, n, &err);
    assert_non_null(y);
    double l = 0;
    for (int64_t i = 0; i < n * out_numel; i++)
        l += (double)w[i] * y[i];
    if (dx) {
        lpz_model_zero_grad(m);
        assert_int_equal(lpz_model_backward(m, w, dx, &err), LPZ_OK);
    }
    return l;
}

static void test_maxpool_forward_and_finite_differences(void **state)
{
    (void)state;
    lpz_error err;
    lpz_model *m;
    lpz_shape in = lpz_shape_make(3, 2, 5, 6, 0);
    assert_int_equal(lpz_model_create(&in, 1, &m, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_maxpool2d(m, "pool", 2, &err), LPZ_OK);
    lpz_shape out = lpz_model_output_shape(m);
    assert_int_equal(out.ndim, 3);
    assert_int_equal(out.dim[0], 2);
    assert_int_equal(out.dim[1], 2); /* floor(5 / 2) */
    assert_int_equal(out.dim[2], 3);
    const int64_t n = 3, xn = 2 * 5 * 6, yn = 2 * 2 * 3;
    float x[3 * 60], w[3 * 12], dx[3 * 60];
    lpz_rng rng;
    lpz_rng_seed(&rng, 5, 0);
    /* Distinct values (no ties) so the finite differences are exact. */
    for (int i = 0; i < n * xn; i++)
        x[i] = (float)(i % 17) * 0.37f + (float)i * 0.001f - 3.0f;
    for (int i = n * xn - 1; i > 0; i--) {
        int j = (int)lpz_rng_below(&rng, (uint64_t)i + 1);
        float t = x[i];
        x[i] = x[j], x[j] = t;
    }
    lpz_rng_fill_uniform(&rng, w, (size_t)(n * yn), -1, 1);
    const float *y = lpz_model_forward(m, x, n, &err);
    /* Spot check: output (sample 1, channel 1, 1, 2) = max of its window. */
    const float *xs = x + 1 * xn + 1 * 30;
    float want = xs[2 * 6 + 4];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++)
            want = fmaxf(want, xs[(2 + a) * 6 + 4 + b]);
    assert_true(y[1 * yn + 1 * 6 + 1 * 3 + 2] == want);
    weighted_output(m, x, n, w, yn, dx);
    for (int i = 0; i < n * xn; i++) {
        float keep = x[i];
        const float h = 1e-3f;
        x[i] = keep + h;
        double lp = weighted_output(m, x, n, w, yn, NULL);
        x[i] = keep - h;
        double lm = weighted_output(m, x, n, w, yn, NULL);
        x[i] = keep;
        double fd = (lp - lm) / (2 * h);
        assert_true(fabs(fd - dx[i]) < 1e-2);
    }
    lpz_model *c;
    assert_int_equal(lpz_model_clone(m, &c, &err), LPZ_OK); /* no destroy hook: clonable */
    lpz_model_destroy(c);
    lpz_model_destroy(m);
    assert_int_equal(lpz_model_create(&in, 1, &m, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_maxpool2d(m, "pool", 4, &err), LPZ_EINVAL);
    lpz_model_destroy(m);
}

static void test_cross_entropy_gradient_matches_finite_differences(void **state)
{
    (void)state;
    const int n = 4, C = 10;
    float z[40], g[40];
    int32_t labels[4] = {3, 0, 9, 3};
    lpz_rng rng;
    lpz_rng_seed(&rng, 9, 0);
    lpz_rng_fill_normal(&rng, z, 40, 0, 3);
    double loss, lp, lm;
    int64_t correct;
    lpz_error err;
    assert_int_equal(lpz_cross_entropy(z, labels, n, C, &loss, g, &correct, &err), LPZ_OK);
    assert_true(loss > 0);
    for (int i = 0; i < n * C; i++) {
        float keep = z[i];
        z[i] = keep + 1e-2f;
        lpz_cross_entropy(z, labels, n, C, &lp, NULL, NULL, &err);
        z[i] = keep - 1e-2f;
        lpz_cross_entropy(z, labels, n, C, &lm, NULL, NULL, &err);
        z[i] = keep;
        assert_true(fabs((lp - lm) / 2e-2 - g[i]) < 1e-4);
    }
    /* Confident right answers: loss near 0, all correct. */
    float sure[20] = {0};
    int32_t l2[2] = {1, 7};
    sure[1] = 50, sure[10 + 7] = 50;
    assert_int_equal(lpz_cross_entropy(sure, l2, 2, C, &loss, NULL, &correct, &err), LPZ_OK);
    assert_true(loss < 1e-10);
    assert_int_equal(correct, 2);
    int32_t bad[1] = {10};
    assert_int_equal(lpz_cross_entropy(sure, bad, 1, C, &loss, NULL, NULL, &err), LPZ_EINVAL);
}

static void test_exact_proportion_counts_are_within_one(void **state)
{
    (void)state;
    lpz_rng rng;
    lpz_rng_seed(&rng, 11, 0);
    int64_t sizes[] = {1, 7, 100, 1000, 999};
    for (int trial = 0; trial < 50; trial++) {
        double w[5];
        int ng = 1 + trial % 5;
        double s = 0;
        for (int j = 0; j < ng; j++)
            s += (w[j] = lpz_rng_uniform(&rng) * (j == 2 ? 0 : 1) + (j == 0 ? 0.01 : 0));
        int64_t count = sizes[trial % 5];
        int *a = malloc((size_t)count * sizeof *a);
        lpz_error err;
        assert_int_equal(lpz_mixture_assign(w, ng, count, LPZ_MIXMODE_EXACT_PROPORTION, &rng, a, &err), LPZ_OK);
        int64_t c[5] = {0};
        for (int64_t i = 0; i < count; i++) {
            assert_true(a[i] >= 0 && a[i] < ng);
            c[a[i]]++;
        }
        for (int j = 0; j < ng; j++)
            assert_true(fabs((double)c[j] - (double)count * w[j] / s) < 1.0 + 1e-9);
        free(a);
    }
    /* independent_probability: frequencies near the weights (5 sigma). */
    double w[3] = {0.2, 0.5, 0.3};
    int *a = malloc(20000 * sizeof *a);
    lpz_error err;
    assert_int_equal(lpz_mixture_assign(w, 3, 20000, LPZ_MIXMODE_INDEPENDENT_PROBABILITY, &rng, a, &err), LPZ_OK);
    int64_t c[3] = {0};
    for (int i = 0; i < 20000; i++)
        c[a[i]]++;
    for (int j = 0; j < 3; j++)
        assert_true(fabs((double)c[j] - 20000 * w[j]) < 5 * sqrt(20000 * w[j] * (1 - w[j])));
    free(a);
    double zero[2] = {0, 0}, neg[2] = {1, -0.5};
    int one[1];
    assert_int_equal(lpz_mixture_assign(zero, 2, 1, LPZ_MIXMODE_EXACT_PROPORTION, &rng, one, &err), LPZ_EINVAL);
    assert_int_equal(lpz_mixture_assign(neg, 2, 1, LPZ_MIXMODE_EXACT_PROPORTION, &rng, one, &err), LPZ_EINVAL);
}

static void test_paired_assignments_are_coupled(void **state)
{
    (void)state;
    lpz_rng rng;
    lpz_rng_seed(&rng, 12, 0);
    lpz_error err;
    const int64_t n = 1000;
    int *ga = malloc(n * sizeof *ga), *gb = malloc(n * sizeof *gb), *single = malloc(n * sizeof *single);
    for (int mode = 0; mode < 2; mode++) {
        for (int trial = 0; trial < 20; trial++) {
            int ng = 2 + trial % 4;
            double wa[5], wb[5], sa = 0, sb = 0;
            for (int j = 0; j < ng; j++)
                sa += (wa[j] = 0.05 + lpz_rng_uniform(&rng));
            for (int j = 0; j < ng; j++)
                sb += (wb[j] = wa[j] + (trial < 10 ? 0.01 : 0.2) * (lpz_rng_uniform(&rng) - 0.5));
            assert_int_equal(lpz_mixture_assign_pair(wa, wb, ng, n, (lpz_mix_mode)mode, &rng, ga, gb, &err), LPZ_OK);
            int64_t ca[5] = {0}, cb[5] = {0}, differ = 0;
            for (int64_t i = 0; i < n; i++) {
                assert_true(ga[i] >= 0 && ga[i] < ng && gb[i] >= 0 && gb[i] < ng);
                ca[ga[i]]++, cb[gb[i]]++;
                differ += ga[i] != gb[i];
            }
            /* A sample changes generator only where the cumulative weights
             * part: at most n times the sum of their differences (plus the
             * remainders of exact_proportion). */
            double cum_a = 0, cum_b = 0, bound = 0;
            for (int j = 0; j < ng; j++) {
                cum_a += wa[j] / sa, cum_b += wb[j] / sb;
                bound += fabs(cum_a - cum_b);
            }
            if (mode == LPZ_MIXMODE_EXACT_PROPORTION) {
                for (int j = 0; j < ng; j++) {
                    assert_true(fabs((double)ca[j] - (double)n * wa[j] / sa) < 1.0 + 1e-9);
                    assert_true(fabs((double)cb[j] - (double)n * wb[j] / sb) < 1.0 + 1e-9);
                }
                assert_true((double)differ <= n * bound + 2 * ng);
            } else {
                assert_true((double)differ <= n * bound + 5 * sqrt(n * bound) + 1);
            }
        }
        /* The same weights twice: the same assignment, distributed as
         * lpz_mixture_assign's (same counts in exact_proportion). */
        double w[3] = {0.2, 0.5, 0.3};
        assert_int_equal(lpz_mixture_assign_pair(w, w, 3, n, (lpz_mix_mode)mode, &rng, ga, gb, &err), LPZ_OK);
        assert_memory_equal(ga, gb, n * sizeof *ga);
        assert_int_equal(lpz_mixture_assign(w, 3, n, (lpz_mix_mode)mode, &rng, single, &err), LPZ_OK);
        int64_t c1[3] = {0}, c2[3] = {0};
        for (int64_t i = 0; i < n; i++)
            c1[ga[i]]++, c2[single[i]]++;
        for (int j = 0; j < 3; j++)
            assert_true(mode == LPZ_MIXMODE_EXACT_PROPORTION ? c1[j] == c2[j]
                                                             : fabs((double)c1[j] - n * w[j]) < 5 * sqrt(n * w[j]));
    }
    double neg[2] = {1, -0.5}, ok[2] = {1, 1};
    assert_int_equal(lpz_mixture_assign_pair(ok, neg, 2, 1, LPZ_MIXMODE_EXACT_PROPORTION, &rng, ga, gb, &err),
                     LPZ_EINVAL);
    free(ga), free(gb), free(single);
}

/* A "generator" (4) -> (3) that is one linear layer. */
static lpz_model *tiny_generator(uint64_t seed)
{
    lpz_model *m;
    lpz_error err;
    lpz_shape in = lpz_shape_make(1, 4, 0, 0, 0);
    assert_int_equal(lpz_model_create(&in, seed, &m, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_linear(m, "0", 3, 1, &err), LPZ_OK);
    lpz_model_set_training(m, 0);
    return m;
}

static void test_mixture_generate_uses_each_latent_row_with_its_generator(void **state)
{
    (void)state;
    lpz_model *g[2] = {tiny_generator(1), tiny_generator(2)};
    double w[2] = {0.25, 0.75};
    const int64_t n = 300;
    float *z = malloc(n * 4 * sizeof *z), *x = malloc(n * 3 * sizeof *x), *x2 = malloc(n * 3 * sizeof *x2);
    lpz_rng rng;
    lpz_rng_seed(&rng, 4, 0);
    lpz_rng_fill_normal(&rng, z, n * 4, 0, 1);
    lpz_error err;
    lpz_rng a, b;
    lpz_rng_seed(&a, 77, 1);
    lpz_rng_seed(&b, 77, 1);
    assert_int_equal(lpz_mixture_generate(g, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &a, z, x, &err), LPZ_OK);
    assert_int_equal(lpz_mixture_generate(g, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &b, z, x2, &err), LPZ_OK);
    assert_memory_equal(x, x2, n * 3 * sizeof *x);
    /* The sampler a block at a time (lpz generate, lpz score): the same
     * samples, in blocks of any size, and the same random numbers used. */
    for (int drawn = 0; drawn < 2; drawn++) {
        lpz_rng_seed(&a, 77, 1);
        lpz_rng_seed(&b, 77, 1);
        assert_int_equal(lpz_mixture_generate(g, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &a, drawn ? NULL : z, x,
                                              &err), LPZ_OK);
        lpz_mixture_sampler *sp;
        assert_int_equal(lpz_mixture_sampler_open(g, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &b, drawn ? NULL : z,
                                                  &sp, &err), LPZ_OK);
        assert_int_equal(lpz_mixture_sampler_numel(sp), 3);
        assert_true(lpz_rng_u64(&a) == lpz_rng_u64(&b));
        const int64_t asks[] = {1, 63, 64, 65, 7, 1000};
        int64_t at = 0, got;
        memset(x2, 0, n * 3 * sizeof *x2);
        for (size_t q = 0; q < sizeof asks / sizeof *asks; q++) {
            assert_int_equal(lpz_mixture_sampler_next(sp, asks[q], x2 + at * 3, &got, &err), LPZ_OK);
            assert_int_equal(got, at + asks[q] <= n ? asks[q] : n - at);
            at += got;
        }
        assert_int_equal(at, n);
        assert_int_equal(lpz_mixture_sampler_next(sp, 5, x2, &got, &err), LPZ_OK);
        assert_int_equal(got, 0);
        assert_int_equal(lpz_mixture_sampler_next(sp, 0, x2, &got, &err), LPZ_EINVAL);
        lpz_mixture_sampler_close(sp);
        assert_memory_equal(x, x2, n * 3 * sizeof *x);
    }
    /* Bit for bit even where a generator's output depends on the rows
     * computed with it (BLAS kernels change with the batch; here, plainly,
     * batch norm in training mode): each generator's rows are batched as in
     * lpz_mixture_generate whatever the blocks asked for. */
    {
        lpz_model *bn[2] = {tiny_generator(5), tiny_generator(6)};
        for (int j = 0; j < 2; j++) {
            assert_int_equal(lpz_model_add_batchnorm(bn[j], "1", &err), LPZ_OK);
            lpz_model_set_training(bn[j], 1);
        }
        lpz_rng_seed(&a, 78, 1);
        lpz_rng_seed(&b, 78, 1);
        assert_int_equal(lpz_mixture_generate(bn, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &a, z, x, &err), LPZ_OK);
        lpz_mixture_sampler *sp;
        assert_int_equal(lpz_mixture_sampler_open(bn, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &b, z, &sp, &err),
                         LPZ_OK);
        const int64_t asks[] = {1, 63, 2, 64, 65, 7, 30, 1000};
        int64_t at = 0, got;
        memset(x2, 0, n * 3 * sizeof *x2);
        for (size_t q = 0; q < sizeof asks / sizeof *asks; q++) {
            assert_int_equal(lpz_mixture_sampler_next(sp, asks[q], x2 + at * 3, &got, &err), LPZ_OK);
            at += got;
        }
        assert_int_equal(at, n);
        lpz_mixture_sampler_close(sp);
        assert_memory_equal(x, x2, n * 3 * sizeof *x);
        /* and the probe can tell: a row computed in another batch (of two)
         * comes out otherwise */
        int *gen_of = malloc(n * sizeof *gen_of);
        lpz_rng_seed(&a, 78, 1);
        assert_int_equal(lpz_mixture_assign(w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &a, gen_of, &err), LPZ_OK);
        int64_t i1 = 1;
        while (gen_of[i1] != gen_of[0])
            i1++;
        float pair[8];
        memcpy(pair, z, 4 * sizeof *z);
        memcpy(pair + 4, z + i1 * 4, 4 * sizeof *z);
        const float *two = lpz_model_forward(bn[gen_of[0]], pair, 2, &err);
        assert_non_null(two);
        assert_true(memcmp(two, x, 3 * sizeof *x) != 0);
        free(gen_of);
        lpz_model_destroy(bn[0]), lpz_model_destroy(bn[1]);
    }
    lpz_rng_seed(&a, 77, 1);
    assert_int_equal(lpz_mixture_generate(g, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &a, z, x, &err), LPZ_OK);
    /* Replaying the assignment: sample i is g[assign[i]](z[i]). */
    int *as = malloc(n * sizeof *as);
    lpz_rng_seed(&a, 77, 1);
    assert_int_equal(lpz_mixture_assign(w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &a, as, &err), LPZ_OK);
    int64_t used[2] = {0};
    for (int64_t i = 0; i < n; i++) {
        const float *y = lpz_model_forward(g[as[i]], z + i * 4, 1, &err);
        for (int k = 0; k < 3; k++)
            assert_true(fabsf(y[k] - x[i * 3 + k]) <= 1e-5f * (1 + fabsf(y[k])));
        used[as[i]]++;
    }
    assert_int_equal(used[0], 75);
    assert_int_equal(used[1], 225);
    /* Without latents: drawn from rng; another seed gives other samples. */
    lpz_rng_seed(&a, 78, 1);
    assert_int_equal(lpz_mixture_generate(g, w, 2, n, LPZ_MIXMODE_INDEPENDENT_PROBABILITY, &a, NULL, x2, &err),
                     LPZ_OK);
    assert_true(memcmp(x, x2, n * 3 * sizeof *x) != 0);
    free(z), free(x), free(x2), free(as);
    lpz_model_destroy(g[0]);
    lpz_model_destroy(g[1]);
}

/* Score: squared distance of the weights to a target. */
static int distance_score(void *user, const double *w, int n, double *score, lpz_error *err)
{
    (void)err;
    const double *t = user;
    double s = 0;
    for (int j = 0; j < n; j++)
        s += (w[j] - t[j]) * (w[j] - t[j]);
    *score = s;
    return LPZ_OK;
}

static void test_mixture_es_improves_and_keeps_weights_normalised(void **state)
{
    (void)state;
    double target[3] = {0.7, 0.2, 0.1}, w[3] = {1, 1, 1}, initial;
    distance_score(target, (double[]){1.0 / 3, 1.0 / 3, 1.0 / 3}, 3, &initial, NULL);
    lpz_mixture_es_params p = {200, 0.05, 0, 1};
    lpz_rng rng;
    lpz_rng_seed(&rng, 1, 0);
    double best;
    lpz_error err;
    assert_int_equal(lpz_mixture_optimize(w, 3, &p, &rng, distance_score, target, &best, &err), LPZ_OK);
    assert_true(best < initial / 10);
    assert_true(fabs(w[0] + w[1] + w[2] - 1) < 1e-12);
    double check;
    distance_score(target, w, 3, &check, NULL);
    assert_true(check == best);
    p.generations = 0;
    p.random_init = 1;
    assert_int_equal(lpz_mixture_optimize(w, 3, &p, &rng, distance_score, target, &best, &err), LPZ_OK);
    assert_true(fabs(w[0] + w[1] + w[2] - 1) < 1e-12);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_mixture_yml_is_read_and_checked(void **state)
{
    (void)state;
    char dir[512], p[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "score"), 0);
    snprintf(p, sizeof p, "%s/generator-0.safetensors", dir);
    write_text(p, "x");
    snprintf(p, sizeof p, "%s/generator-1.safetensors", dir);
    write_text(p, "x");
    snprintf(p, sizeof p, "%s/mixture.yml", dir);
    lpz_mixture_file m;
    lpz_error err;
    write_text(p, "# comment\ngenerator-0.safetensors: 0.25\n\n\"generator-1.safetensors\": 0.75  # mine\n");
    assert_int_equal(lpz_mixture_read(dir, &m, &err), LPZ_OK);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.files[1], "generator-1.safetensors");
    assert_true(m.weights[0] == 0.25 && m.weights[1] == 0.75);
    lpz_mixture_file_free(&m);
    struct {
        const char *text, *needle;
    } bad[] = {
        {"generator-0.safetensors 0.5\n", ":1"},
        {"generator-0.safetensors: -1\n", "finite number"},
        {"generator-0.safetensors: nan\n", "finite number"},
        {"../generator-0.safetensors: 1\n", "plain file name"},
        {"generator-0.safetensors: 1\ngenerator-0.safetensors: 1\n", "twice"},
        {"generator-0.safetensors: 1\ngenerator-7.safetensors: 1\n", ":2"},
        {"generator-0.safetensors: 0\n", "every weight is 0"},
        {"generator-0.safetensors: 0x10\n", "weight \"0x10\""},
        {"generator-0.safetensors: infinity\n", "not a finite number"},
        {"# nothing\n", "no generators"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(p, bad[i].text);
        lpz_error_clear(&err);
        assert_int_not_equal(lpz_mixture_read(dir, &m, &err), LPZ_OK);
        char buf[4096];
        lpz_error_format(&err, buf, sizeof buf);
        if (!strstr(buf, bad[i].needle))
            fail_msg("mixture.yml case %zu: \"%s\" does not mention \"%s\"", i, buf, bad[i].needle);
        assert_int_equal(m.n, 0);
    }
    /* about the whole file: no line named (it named the line after the last) */
    write_text(p, "generator-0.safetensors: 0\n");
    assert_int_not_equal(lpz_mixture_read(dir, &m, &err), LPZ_OK);
    assert_true(strlen(err.where) > 12 && !strcmp(err.where + strlen(err.where) - 12, "/mixture.yml"));
    snprintf(p, sizeof p, "%s/missing", dir);
    assert_int_equal(lpz_mixture_read(p, &m, &err), LPZ_ENOTFOUND);
    /* a run folder (it has master/) instead of one of its mixtures: the hint says which to give */
    snprintf(p, sizeof p, "%s/run", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/run/master", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/run", dir);
    assert_int_not_equal(lpz_mixture_read(p, &m, &err), LPZ_OK);
    assert_non_null(strstr(err.hint, "is a run folder: give one of its mixtures"));
    assert_non_null(strstr(err.hint, "/run/master/<cell>"));
    lpz_test_rmtree(dir);
}

/* The classifier is the FIDs' yardstick: it computes in fp32 at every
 * general.matmul_precision (lpz_model_pin_fp32 in lpz_classifier_build),
 * forward and backward. Where high or medium runs in bf16 limbs (high on
 * AMX, medium on AMX or AVX512-BF16), neither may change a bit of its
 * features or gradients; elsewhere they run as highest anyway. */
static void test_classifier_computes_in_fp32_at_every_precision(void **state)
{
    (void)state;
    lpz_model *m;
    lpz_error err;
    assert_int_equal(lpz_classifier_build(5, 0.0f, 0.0f, &m, &err), LPZ_OK);
    enum { N = 32 };
    static float x[N * 28 * 28], dy[N * 10];
    for (int i = 0; i < N * 28 * 28; i++)
        x[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    for (int i = 0; i < N * 10; i++)
        dy[i] = (float)((i * 31) % 17) / 8.0f - 1.0f;
    int64_t np = lpz_model_param_count(m);
    float *y[3], *g[3];
    static const lpz_matmul_precision prec[3] = {LPZ_MATMUL_HIGHEST, LPZ_MATMUL_HIGH, LPZ_MATMUL_MEDIUM};
    int ran[3] = {1, 0, 0};
    for (int p = 1; p < 3; p++)
        ran[p] = lpz_nn_matmul_unit(prec[p]) != LPZ_MATMUL_UNIT_FP32;
    if (!ran[1] && !ran[2]) {
        lpz_model_destroy(m);
        skip(); /* neither AMX nor AVX512-BF16 here: every precision runs as highest for every model */
    }
    for (int p = 0; p < 3; p++) {
        y[p] = malloc(N * 10 * sizeof(float));
        g[p] = malloc((size_t)np * sizeof(float));
        if (!ran[p])
            continue;
        assert_int_equal(lpz_nn_set_matmul_precision(prec[p]), prec[p]);
        const float *out = lpz_model_forward(m, x, N, &err);
        assert_non_null(out);
        memcpy(y[p], out, N * 10 * sizeof(float));
        lpz_model_zero_grad(m);
        assert_int_equal(lpz_model_backward(m, dy, NULL, &err), LPZ_OK);
        memcpy(g[p], lpz_model_grads(m), (size_t)np * sizeof(float));
    }
    lpz_nn_set_matmul_precision(LPZ_MATMUL_HIGHEST);
    for (int p = 1; p < 3; p++)
        if (ran[p]) {
            assert_memory_equal(y[0], y[p], N * 10 * sizeof(float));
            assert_memory_equal(g[0], g[p], (size_t)np * sizeof(float));
        }
    for (int p = 0; p < 3; p++)
        free(y[p]), free(g[p]);
    lpz_model_destroy(m);
}

static void test_classifier_has_torch_names_and_round_trips(void **state)
{
    (void)state;
    lpz_model *m, *back;
    lpz_error err;
    assert_int_equal(lpz_classifier_build(3, 0.5f, 0.5f, &m, &err), LPZ_OK);
    static const struct {
        const char *name;
        int ndim;
        int64_t d[4];
    } want[] = {{"conv1.weight", 4, {10, 1, 5, 5}}, {"conv1.bias", 1, {10}}, {"conv2.weight", 4, {20, 10, 5, 5}},
                {"conv2.bias", 1, {20}},           {"fc1.weight", 2, {50, 320}}, {"fc1.bias", 1, {50}},
                {"fc2.weight", 2, {10, 50}},       {"fc2.bias", 1, {10}}};
    assert_int_equal(lpz_model_tensor_count(m), 8);
    for (int i = 0; i < 8; i++) {
        const char *name;
        lpz_shape s;
        float *data;
        int trainable;
        assert_int_equal(lpz_model_tensor_info(m, i, &name, &s, &data, &trainable), LPZ_OK);
        assert_string_equal(name, want[i].name);
        assert_int_equal(s.ndim, want[i].ndim);
        for (int k = 0; k < s.ndim; k++)
            assert_int_equal(s.dim[k], want[i].d[k]);
    }
    lpz_shape out = lpz_model_output_shape(m);
    assert_int_equal(out.ndim, 1);
    assert_int_equal(out.dim[0], 10);
    char dir[512], path[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "score"), 0);
    snprintf(path, sizeof path, "%s/c.safetensors", dir);
    assert_int_equal(lpz_classifier_save(path, m, "toy", 0.5, NULL, &err), LPZ_OK);
    assert_int_equal(lpz_classifier_load(path, &back, &err), LPZ_OK);
    int64_t np = lpz_model_param_count(m);
    assert_int_equal(lpz_model_param_count(back), np);
    assert_memory_equal(lpz_model_params(m), lpz_model_params(back), (size_t)np * sizeof(float));
    lpz_model_destroy(back);
    write_text(path, "not a model");
    assert_int_not_equal(lpz_classifier_load(path, &back, &err), LPZ_OK);
    assert_null(back);
    lpz_test_rmtree(dir);
    lpz_model_destroy(m);
}

/* ---- with Fashion-MNIST --------------------------------------------------- */

extern const lpz_plugin lpz_plugin_descriptor;

static lpz_dataset *open_fmnist(lpz_split split, const char *dir, lpz_options **opts)
{
    *opts = lpz_options_create(lpz_plugin_descriptor.options, lpz_plugin_descriptor.name);
    lpz_dataset_context ctx = {sizeof ctx, *opts, dir, dir, ".", NULL, split};
    lpz_dataset *ds = NULL;
    lpz_error err;
    if (lpz_dataset_open(&lpz_plugin_descriptor, &ctx, &ds, &err)) {
        char buf[4096];
        fail_msg("%s", lpz_error_format(&err, buf, sizeof buf));
    }
    return ds;
}

static void test_classifier_learns_from_a_small_subset(void **state)
{
    (void)state;
    if (access(FMNIST, R_OK) != 0)
        skip();
    char dir[512];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "score"), 0);
    lpz_options *o1, *o2;
    lpz_dataset *train = open_fmnist(LPZ_SPLIT_TRAIN, dir, &o1), *test = open_fmnist(LPZ_SPLIT_TEST, dir, &o2);
    lpz_classifier_train_params p;
    lpz_classifier_train_defaults(&p);
    p.epochs = 2;
    p.max_train = 3000;
    p.max_test = 1000;
    lpz_classifier_report rep;
    lpz_model *m = NULL;
    lpz_error err;
    assert_int_equal(lpz_classifier_train(train, test, &p, &m, &rep, &err), LPZ_OK);
    /* 10 classes: chance is 10%; 3000 images for 2 epochs reach ~70%. */
    assert_true(rep.test_accuracy > 0.6);
    assert_int_equal(rep.n_train, 3000);
    assert_int_equal(rep.n_test, 1000);
    double acc;
    assert_int_equal(lpz_classifier_accuracy(m, test, 1000, &acc, &err), LPZ_OK);
    assert_true(acc == rep.test_accuracy);
    lpz_model_destroy(m);
    lpz_dataset_close(train), lpz_dataset_close(test);
    lpz_options_destroy(o1), lpz_options_destroy(o2);
    lpz_test_rmtree(dir);
}

/* The ES's score before it was streamed: samples generated on the fixed
 * latents, then scored (test_scorer_ranks_real_above_noise...). */
typedef struct es_ref {
    lpz_score_context *c;
    lpz_model **g;
    int64_t n;
    lpz_rng *rng;
    const float *lat;
    float *x;
} es_ref;

static int es_ref_score(void *user, const double *w, int n_gens, double *score, lpz_error *err)
{
    es_ref *r = user;
    int rc = lpz_mixture_generate(r->g, w, n_gens, r->n, LPZ_MIXMODE_EXACT_PROPORTION, r->rng, r->lat, r->x, err);
    if (rc || lpz_score_context_metric(r->c) == LPZ_METRIC_FID)
        return rc ? rc : lpz_score_fid(r->c, r->x, r->n, score, err);
    lpz_scores sc;
    rc = lpz_score_samples(r->c, r->x, r->n, &sc, err);
    *score = sc.inception_score;
    return rc;
}

static void test_scorer_ranks_real_above_noise_and_caches_statistics(void **state)
{
    (void)state;
    if (access(FMNIST, R_OK) != 0)
        skip();
    char dir[512], clf[1024], cache[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "score"), 0);
    lpz_options *o1, *o2;
    lpz_dataset *train = open_fmnist(LPZ_SPLIT_TRAIN, dir, &o1), *test = open_fmnist(LPZ_SPLIT_TEST, dir, &o2);
    lpz_error err;
    /* A quickly trained classifier as the configured feature model. */
    lpz_classifier_train_params p;
    lpz_classifier_train_defaults(&p);
    p.epochs = 1;
    p.max_train = 2000;
    lpz_model *m = NULL;
    assert_int_equal(lpz_classifier_train(train, NULL, &p, &m, NULL, &err), LPZ_OK);
    snprintf(clf, sizeof clf, "%s/clf.safetensors", dir);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    assert_int_equal(lpz_classifier_save(clf, m, "fashion_mnist", NAN, NULL, &err), LPZ_OK);
    lpz_model_destroy(m);

    const int64_t n = 500;
    lpz_scorer_options so = {clf, cache, n, LPZ_SCORE_REAL_SEED, NULL, NULL, NULL};
    lpz_scorer *s;
    assert_int_equal(lpz_scorer_create(train, &so, &s, &err), LPZ_OK);
    assert_int_equal(lpz_scorer_stats_cached(s), 0);
    assert_int_equal(lpz_scorer_has_classes(s), 1);
    lpz_score_context *c;
    assert_int_equal(lpz_score_context_create(s, &c, &err), LPZ_OK);
    float *x = malloc((size_t)n * 784 * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        assert_int_equal(lpz_dataset_read(test, i, x + i * 784, &err), LPZ_OK);
    lpz_scores real, noise;
    assert_int_equal(lpz_score_samples(c, x, n, &real, &err), LPZ_OK);
    lpz_rng rng;
    lpz_rng_seed(&rng, 1, 0);
    float *z = malloc((size_t)n * 784 * sizeof *z);
    lpz_rng_fill_uniform(&rng, z, (size_t)n * 784, -1, 1);
    assert_int_equal(lpz_score_samples(c, z, n, &noise, &err), LPZ_OK);
    assert_true(real.fid < noise.fid / 10);
    assert_true(real.tvd < noise.tvd);
    assert_true(real.inception_score > noise.inception_score);
    assert_true(real.tvd >= 0 && real.tvd <= 1 && real.inception_score >= 1 && real.inception_score <= 10);
    z[5] = NAN;
    assert_int_equal(lpz_score_samples(c, z, n, &noise, &err), LPZ_EINVAL);

    /* The same scores from pieces of any size (lpz score streams its
     * samples), and the inception score's running sums equal its two-pass
     * definition: p(y) first, then the mean KL to it. */
    {
        lpz_score_stream *st;
        assert_int_equal(lpz_score_stream_open(c, &st, &err), LPZ_OK);
        const int64_t cut[] = {0, 1, 3, 3, 300, n}; /* an empty piece too */
        for (int p = 0; p < 5; p++)
            assert_int_equal(lpz_score_stream_add(st, x + cut[p] * 784, cut[p + 1] - cut[p], &err), LPZ_OK);
        lpz_scores sc;
        assert_int_equal(lpz_score_stream_finish(st, &sc, &err), LPZ_OK);
        lpz_score_stream_close(st);
        /* bit for bit: a row's logits can differ in their last bits with
         * the rows passed with it (OpenBLAS on AMD EPYC: FID off by 5e-8
         * when the first piece of one row went alone), so the stream groups
         * rows as lpz_score_samples does whatever the pieces */
        assert_true(sc.n == n && sc.fid == real.fid && sc.tvd == real.tvd);
        assert_true(sc.inception_score == real.inception_score);
        float *lg = malloc((size_t)n * 10 * sizeof *lg);
        assert_int_equal(lpz_score_features(c, x, n, lg, &err), LPZ_OK);
        double marg[10] = {0}, kl = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int64_t i = 0; i < n; i++) {
                double mx = lg[i * 10], sum = 0;
                for (int q = 1; q < 10; q++)
                    mx = fmax(mx, lg[i * 10 + q]);
                for (int q = 0; q < 10; q++)
                    sum += exp(lg[i * 10 + q] - mx);
                for (int q = 0; q < 10; q++) {
                    double lp = lg[i * 10 + q] - mx - log(sum), pr = exp(lp);
                    if (pass == 0)
                        marg[q] += pr / (double)n;
                    else
                        kl += pr * (lp - log(marg[q]));
                }
            }
        assert_true(fabs(real.inception_score - exp(kl / (double)n)) <= 1e-9 * real.inception_score);
        free(lg);
        /* a bad sample in a later piece is named by its number in the stream */
        float keep = x[301 * 784 + 2];
        x[301 * 784 + 2] = INFINITY;
        assert_int_equal(lpz_score_stream_open(c, &st, &err), LPZ_OK);
        assert_int_equal(lpz_score_stream_add(st, x, 300, &err), LPZ_OK);
        assert_int_equal(lpz_score_stream_add(st, x + 300 * 784, 200, &err), LPZ_EINVAL);
        assert_non_null(strstr(err.message, "sample 301 has a non-finite value (element 2)"));
        /* a refused piece leaves the stream as it was */
        x[301 * 784 + 2] = keep;
        assert_int_equal(lpz_score_stream_add(st, x + 300 * 784, 200, &err), LPZ_OK);
        assert_int_equal(lpz_score_stream_finish(st, &sc, &err), LPZ_OK);
        assert_true(sc.n == n && sc.fid == real.fid);
        lpz_score_stream_close(st);
        /* a piece that fails once taken (stopped) ends the stream: its
         * samples are counted but not all in the statistics */
        volatile int stop = 0;
        lpz_score_context_set_stop(c, &stop);
        assert_int_equal(lpz_score_stream_open(c, &st, &err), LPZ_OK);
        assert_int_equal(lpz_score_stream_add(st, x, 100, &err), LPZ_OK);
        stop = 1;
        assert_int_equal(lpz_score_stream_add(st, x + 100 * 784, 200, &err), LPZ_ECANCELED);
        stop = 0;
        assert_int_equal(lpz_score_stream_add(st, x + 300 * 784, 200, &err), LPZ_EINVAL);
        assert_int_equal(lpz_score_stream_finish(st, &sc, &err), LPZ_EINVAL);
        assert_non_null(strstr(err.message, "failed"));
        lpz_score_stream_close(st);
        lpz_score_context_set_stop(c, NULL);
        assert_int_equal(lpz_score_stream_open(c, &st, &err), LPZ_OK);
        assert_int_equal(lpz_score_stream_add(st, x, 1, &err), LPZ_OK);
        assert_int_equal(lpz_score_stream_finish(st, &sc, &err), LPZ_EINVAL); /* one sample */
        lpz_score_stream_close(st);
    }

    /* Two weightings scored on common samples: each FID is the FID of the
     * samples its coupled assignment and the shared latents give. */
    lpz_model *g[2];
    for (int j = 0; j < 2; j++) {
        lpz_shape in = lpz_shape_make(1, 8, 0, 0, 0);
        assert_int_equal(lpz_model_create(&in, 30 + j, &g[j], &err), LPZ_OK);
        assert_int_equal(lpz_model_add_linear(g[j], "0", 784, 1, &err), LPZ_OK);
        lpz_model_set_training(g[j], 0);
    }
    double wa[2] = {0.5, 0.5}, wb[2] = {0.3, 0.7}, fa, fb, fa2, fb2;
    lpz_rng r1, r2;
    lpz_rng_seed(&r1, 5, 0);
    r2 = r1;
    assert_int_equal(lpz_mixture_score_pair(c, g, wa, wb, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r1, &fa, &fb, &err),
                     LPZ_OK);
    int *ga = malloc(n * sizeof *ga), *gb = malloc(n * sizeof *gb);
    float *lat = malloc((size_t)n * 8 * sizeof *lat), *xa = malloc((size_t)n * 784 * sizeof *xa);
    assert_int_equal(lpz_mixture_assign_pair(wa, wb, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r2, ga, gb, &err), LPZ_OK);
    lpz_rng_fill_normal(&r2, lat, (size_t)n * 8, 0, 1);
    int64_t differ = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < n; i++) {
            int j = pass ? gb[i] : ga[i];
            differ += pass && gb[i] != ga[i];
            const float *y = lpz_model_forward(g[j], lat + i * 8, 1, &err);
            memcpy(xa + i * 784, y, 784 * sizeof *xa);
        }
        assert_int_equal(lpz_score_fid(c, xa, n, pass ? &fb2 : &fa2, &err), LPZ_OK);
    }
    assert_true(differ > 0 && differ < n / 2);
    assert_true(fabs(fa - fa2) <= 1e-6 * fabs(fa2) && fabs(fb - fb2) <= 1e-6 * fabs(fb2));
    assert_true(fa != fb);
    /* The same weights twice: the same FID. */
    assert_int_equal(
        lpz_mixture_score_pair(c, g, wa, wa, 2, n, LPZ_MIXMODE_INDEPENDENT_PROBABILITY, &r1, &fa, &fb, &err), LPZ_OK);
    assert_true(fa == fb);
    /* One weighting, streamed: the FID of the samples lpz_mixture_generate
     * writes from the same generator state. */
    for (int mode = 0; mode < 2; mode++) {
        lpz_rng_seed(&r1, 6 + mode, 0);
        r2 = r1;
        assert_int_equal(lpz_mixture_score(c, g, wb, 2, n, (lpz_mix_mode)mode, &r1, &fa, &err), LPZ_OK);
        assert_int_equal(lpz_mixture_generate(g, wb, 2, n, (lpz_mix_mode)mode, &r2, NULL, xa, &err), LPZ_OK);
        assert_int_equal(lpz_score_fid(c, xa, n, &fa2, &err), LPZ_OK);
        assert_true(fabs(fa - fa2) <= 1e-6 * fabs(fa2));
        assert_true(lpz_rng_u64(&r1) == lpz_rng_u64(&r2));
    }
    /* The ES with FID, streamed (no sample buffer): the same weights,
     * score and random numbers as the ES over samples generated with
     * lpz_mixture_generate and scored by lpz_score_fid on the same
     * latents (the reference below). */
    {
        lpz_mixture_es_params es = {4, 0.1, 0, 1};
        double w[2] = {3.0, 7.0}, wr[2] = {3.0, 7.0}, best, ref;
        lpz_rng_seed(&r1, 9, 0);
        r2 = r1;
        assert_int_equal(lpz_mixture_optimize_score(c, g, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &es, &r1, &best, &err),
                         LPZ_OK);
        lpz_rng_fill_normal(&r2, lat, (size_t)n * 8, 0, 1);
        es_ref er = {c, g, n, &r2, lat, xa};
        assert_int_equal(lpz_mixture_optimize(wr, 2, &es, &r2, es_ref_score, &er, &ref, &err), LPZ_OK);
        assert_true(fabs(best - ref) <= 1e-6 * fabs(ref));
        assert_true(w[0] == wr[0] && w[1] == wr[1]);
        assert_true(w[0] != 0.3 && fabs(w[0] + w[1] - 1.0) < 1e-12); /* a mutation won */
        assert_true(lpz_rng_u64(&r1) == lpz_rng_u64(&r2));
    }
    /* The inception score as the context's metric (trainer.params.score.type
     * inception_score): each mixture score is the inception score of the
     * samples lpz_mixture_generate writes; the pair's too; the ES keeps
     * higher scores (the same run as the reference ES over generated
     * samples with lower_is_better 0). */
    assert_int_equal(lpz_score_context_set_metric(c, LPZ_METRIC_IS, &err), LPZ_OK);
    {
        lpz_scores sc;
        lpz_rng_seed(&r1, 11, 0);
        r2 = r1;
        assert_int_equal(lpz_mixture_score(c, g, wb, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r1, &fa, &err), LPZ_OK);
        assert_int_equal(lpz_mixture_generate(g, wb, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r2, NULL, xa, &err),
                         LPZ_OK);
        assert_int_equal(lpz_score_samples(c, xa, n, &sc, &err), LPZ_OK);
        assert_true(fa >= 1.0 && fabs(fa - sc.inception_score) <= 1e-6 * sc.inception_score);
        lpz_rng_seed(&r1, 12, 0);
        assert_int_equal(
            lpz_mixture_score_pair(c, g, wa, wa, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r1, &fa, &fb, &err), LPZ_OK);
        assert_true(fa == fb && fa >= 1.0);
        /* two weightings: each score is the inception score of its own samples (coupled assignments, shared
         * latents), so the rows of weighting b alone count for b only */
        lpz_rng_seed(&r1, 14, 0);
        r2 = r1;
        assert_int_equal(
            lpz_mixture_score_pair(c, g, wa, wb, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r1, &fa, &fb, &err), LPZ_OK);
        assert_int_equal(lpz_mixture_assign_pair(wa, wb, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r2, ga, gb, &err),
                         LPZ_OK);
        lpz_rng_fill_normal(&r2, lat, (size_t)n * 8, 0, 1);
        for (int pass = 0; pass < 2; pass++) {
            for (int64_t i = 0; i < n; i++) {
                const float *y = lpz_model_forward(g[pass ? gb[i] : ga[i]], lat + i * 8, 1, &err);
                memcpy(xa + i * 784, y, 784 * sizeof *xa);
            }
            assert_int_equal(lpz_score_samples(c, xa, n, &sc, &err), LPZ_OK);
            double got = pass ? fb : fa;
            assert_true(fabs(got - sc.inception_score) <= 1e-6 * sc.inception_score);
        }
        assert_true(fa != fb);
        lpz_mixture_es_params es = {6, 0.2, 0, 1}; /* lower_is_better is the metric's, whatever given */
        double w[2] = {9.0, 1.0}, wr[2] = {9.0, 1.0}, best, ref, first;
        lpz_rng_seed(&r1, 13, 0);
        r2 = r1;
        assert_int_equal(lpz_mixture_optimize_score(c, g, w, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &es, &r1, &best,
                                                    &err),
                         LPZ_OK);
        lpz_rng_fill_normal(&r2, lat, (size_t)n * 8, 0, 1);
        es_ref er = {c, g, n, &r2, lat, xa};
        double w0r[2] = {0.9, 0.1};
        lpz_rng keep = r2;
        assert_int_equal(es_ref_score(&er, w0r, 2, &first, &err), LPZ_OK);
        r2 = keep;
        es.lower_is_better = 0;
        assert_int_equal(lpz_mixture_optimize(wr, 2, &es, &r2, es_ref_score, &er, &ref, &err), LPZ_OK);
        assert_true(fabs(best - ref) <= 1e-6 * ref && w[0] == wr[0] && w[1] == wr[1]);
        assert_true(best >= first);
    }
    assert_int_equal(lpz_score_context_set_metric(c, LPZ_METRIC_FID, &err), LPZ_OK);

    /* a generator that makes non-finite samples is refused, naming it */
    float *w0;
    assert_int_equal(lpz_model_param(g[1], "0.weight", &w0, NULL, &err), LPZ_OK);
    w0[0] = NAN;
    assert_int_equal(lpz_mixture_score(c, g, wb, 2, n, LPZ_MIXMODE_EXACT_PROPORTION, &r1, &fa, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "non-finite"));
    assert_non_null(strstr(err.where, "generator 1"));
    free(ga), free(gb), free(lat), free(xa);
    lpz_model_destroy(g[0]), lpz_model_destroy(g[1]);

    /* A second scorer reads the statistics from the cache: same FID. */
    lpz_scorer *s2;
    lpz_score_context *c2;
    assert_int_equal(lpz_scorer_create(train, &so, &s2, &err), LPZ_OK);
    assert_int_equal(lpz_scorer_stats_cached(s2), 1);
    assert_int_equal(lpz_score_context_create(s2, &c2, &err), LPZ_OK);
    double fid2;
    assert_int_equal(lpz_score_fid(c2, x, n, &fid2, &err), LPZ_OK);
    assert_true(fid2 == real.fid);
    lpz_score_context_destroy(c2);
    lpz_scorer_destroy(s2);

    /* A cache with impossible statistics (a negative variance: FID came out
     * 0) is not used: the statistics are computed again, same FID. */
    char stats[1400] = "";
    DIR *dd = opendir(cache);
    assert_non_null(dd);
    for (struct dirent *e; (e = readdir(dd));)
        if (strncmp(e->d_name, "fid-stats-", 10) == 0)
            snprintf(stats, sizeof stats, "%s/%s", cache, e->d_name);
    closedir(dd);
    assert_true(stats[0]);
    lpz_st_file sf;
    assert_int_equal(lpz_st_read(stats, &sf, &err), LPZ_OK);
    lpz_st_tensor *tt = malloc((size_t)sf.n_tensors * sizeof *tt);
    double *bad = NULL;
    for (int i = 0; i < sf.n_tensors; i++) {
        tt[i] = sf.tensors[i];
        if (strcmp(tt[i].name, "cov") == 0) {
            bad = malloc(tt[i].nbytes);
            memcpy(bad, tt[i].data, tt[i].nbytes);
            bad[0] = -1e6;
            tt[i].data = bad;
        }
    }
    assert_non_null(bad);
    assert_int_equal(lpz_st_write(stats, tt, sf.n_tensors, (const char *const *)sf.meta_keys,
                                  (const char *const *)sf.meta_values, sf.n_meta, &err),
                     LPZ_OK);
    free(bad), free(tt);
    lpz_st_free(&sf);
    assert_int_equal(lpz_scorer_create(train, &so, &s2, &err), LPZ_OK);
    assert_int_equal(lpz_scorer_stats_cached(s2), 0);
    assert_int_equal(lpz_score_context_create(s2, &c2, &err), LPZ_OK);
    assert_int_equal(lpz_score_fid(c2, x, n, &fid2, &err), LPZ_OK);
    assert_true(fid2 == real.fid);
    lpz_score_context_destroy(c2);
    lpz_scorer_destroy(s2);

    free(x), free(z);
    lpz_score_context_destroy(c);
    lpz_scorer_destroy(s);
    lpz_dataset_close(train), lpz_dataset_close(test);
    lpz_options_destroy(o1), lpz_options_destroy(o2);
    lpz_test_rmtree(dir);
}

/* A generator's last layer that passes its input on and sets *stop after
 * `trip` forward passes (a Ctrl-C in the middle of a scoring). */
typedef struct tripwire {
    volatile int *stop;
    int trip, forwards;
} tripwire;

static int trip_shape(void *self, const lpz_shape *in, lpz_shape *out, lpz_error *err)
{
    (void)self, (void)err;
    *out = *in;
    return LPZ_OK;
}

static const lpz_layer_param_spec *trip_params(void *self, const lpz_shape *in)
{
    (void)self, (void)in;
    return NULL;
}

static void trip_forward(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x, float *y,
                         int train)
{
    (void)params, (void)train;
    tripwire *t = self;
    memcpy(y, x, (size_t)(n * lpz_shape_numel(in)) * sizeof *y);
    if (++t->forwards == t->trip)
        __atomic_store_n(t->stop, 1, __ATOMIC_SEQ_CST);
}

static void trip_backward(void *self, const lpz_shape *in, int64_t n, const float *params, const float *x,
                          const float *y, const float *dy, float *dx, float *dparams)
{
    (void)self, (void)params, (void)x, (void)y, (void)dparams;
    memcpy(dx, dy, (size_t)(n * lpz_shape_numel(in)) * sizeof *dx);
}

static void test_stop_ends_a_mixture_fid_and_the_real_statistics_within_a_chunk(void **state)
{
    (void)state;
    if (access(FMNIST, R_OK) != 0)
        skip();
    char dir[512], clf[1024];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "score"), 0);
    lpz_options *o1;
    lpz_dataset *train = open_fmnist(LPZ_SPLIT_TRAIN, dir, &o1);
    lpz_error err;
    lpz_model *m = NULL;
    assert_int_equal(lpz_classifier_build(3, 0, 0, &m, &err), LPZ_OK);
    snprintf(clf, sizeof clf, "%s/clf.safetensors", dir);
    assert_int_equal(lpz_classifier_save(clf, m, "fashion_mnist", NAN, NULL, &err), LPZ_OK);
    lpz_model_destroy(m);

    /* Set before the real statistics: the scorer is not created. */
    volatile int stop = 1;
    lpz_scorer_options so = {clf, NULL, 200, LPZ_SCORE_REAL_SEED, NULL, NULL, &stop};
    lpz_scorer *s = NULL;
    assert_int_equal(lpz_scorer_create(train, &so, &s, &err), LPZ_ECANCELED);
    assert_null(s);
    stop = 0;
    assert_int_equal(lpz_scorer_create(train, &so, &s, &err), LPZ_OK);
    lpz_score_context *c;
    assert_int_equal(lpz_score_context_create(s, &c, &err), LPZ_OK);
    lpz_score_context_set_stop(c, &stop);

    /* 10 chunks of generator output; the stop comes during the 3rd: no
     * further chunk is generated, and the FID fails as stopped. */
    lpz_model *g;
    lpz_shape in = lpz_shape_make(1, 8, 0, 0, 0);
    assert_int_equal(lpz_model_create(&in, 30, &g, &err), LPZ_OK);
    assert_int_equal(lpz_model_add_linear(g, "0", 784, 1, &err), LPZ_OK);
    static const lpz_layer_ops ops = {sizeof ops, "tripwire", trip_shape, trip_params, NULL, trip_forward,
                                      trip_backward, NULL};
    tripwire tw = {&stop, 3, 0};
    assert_int_equal(lpz_model_add_custom(g, "1", &ops, &tw, &err), LPZ_OK);
    lpz_model_set_training(g, 0);
    double w = 1, fid = -1;
    lpz_rng rng;
    lpz_rng_seed(&rng, 4, 0);
    assert_int_equal(lpz_mixture_score(c, &g, &w, 1, 640, LPZ_MIXMODE_EXACT_PROPORTION, &rng, &fid, &err),
                     LPZ_ECANCELED);
    assert_int_equal(tw.forwards, 3);
    assert_true(fid == -1);
    /* Without the stop the same scoring runs to its end. */
    stop = 0;
    tw.trip = 0;
    tw.forwards = 0;
    assert_int_equal(lpz_mixture_score(c, &g, &w, 1, 640, LPZ_MIXMODE_EXACT_PROPORTION, &rng, &fid, &err), LPZ_OK);
    assert_int_equal(tw.forwards, 10);
    assert_true(fid >= 0);
    /* A context without a stop flag never stops. */
    stop = 1;
    lpz_score_context_set_stop(c, NULL);
    assert_int_equal(lpz_mixture_score(c, &g, &w, 1, 640, LPZ_MIXMODE_EXACT_PROPORTION, &rng, &fid, &err), LPZ_OK);

    lpz_model_destroy(g);
    lpz_score_context_destroy(c);
    lpz_scorer_destroy(s);
    lpz_dataset_close(train);
    lpz_options_destroy(o1);
    lpz_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fid_of_a_set_with_itself_is_zero),
        cmocka_unit_test(test_fid_is_symmetric),
        cmocka_unit_test(test_fid_grows_with_a_shift),
        cmocka_unit_test(test_fid_of_one_dimensional_gaussians),
        cmocka_unit_test(test_streamed_statistics_match_two_passes),
        cmocka_unit_test(test_matrix_sqrt_of_random_spd_matrices),
        cmocka_unit_test(test_maxpool_forward_and_finite_differences),
        cmocka_unit_test(test_cross_entropy_gradient_matches_finite_differences),
        cmocka_unit_test(test_exact_proportion_counts_are_within_one),
        cmocka_unit_test(test_paired_assignments_are_coupled),
        cmocka_unit_test(test_mixture_generate_uses_each_latent_row_with_its_generator),
        cmocka_unit_test(test_mixture_es_improves_and_keeps_weights_normalised),
        cmocka_unit_test(test_mixture_yml_is_read_and_checked),
        cmocka_unit_test(test_classifier_has_torch_names_and_round_trips),
        cmocka_unit_test(test_classifier_computes_in_fp32_at_every_precision),
        cmocka_unit_test(test_classifier_learns_from_a_small_subset),
        cmocka_unit_test(test_scorer_ranks_real_above_noise_and_caches_statistics),
        cmocka_unit_test(test_stop_ends_a_mixture_fid_and_the_real_statistics_within_a_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
