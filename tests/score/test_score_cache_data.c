/* tests/score/test_score_cache_data.c - the FID caches (real-data
 * statistics, the classifier trained for MNIST-format data) belong to the
 * data they were made from: a data file replaced by other data of the same
 * size (the npy dataloader, compiled in) is scored with statistics and a
 * classifier of its own, not with the cached ones of the file before;
 * the same data reuse them. And lpz_dataset_digest itself. */
#include "data/dataset.h"
#include "score/score.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../data/data_test_util.h"

#include <lpz/rng.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[512];

static int setup(void **st)
{
    (void)st;
    return lpz_test_mkdtemp(dir, sizeof dir, "score-cache");
}

static int teardown(void **st)
{
    (void)st;
    lpz_test_rmtree(dir);
    return 0;
}

/* A float32 .npy of the given shape text and n floats, in the scratch folder. */
static void write_npy(const char *name, const char *shape, const float *v, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(dt_write_npy(path, "<f4", "False", shape, v, n * sizeof *v), 0);
}

static lpz_dataset *open_npy(const char *path, const char *labels, lpz_options **o)
{
    *o = lpz_options_create(lpz_plugin_descriptor.options, "npy");
    lpz_error err;
    char full[1024];
    snprintf(full, sizeof full, "%s/%s", dir, path);
    assert_int_equal(lpz_options_set(*o, "path", full, "test.yml:1:1", &err), LPZ_OK);
    if (labels) {
        snprintf(full, sizeof full, "%s/%s", dir, labels);
        assert_int_equal(lpz_options_set(*o, "labels", full, "test.yml:2:1", &err), LPZ_OK);
    }
    lpz_dataset_context ctx = {sizeof ctx, *o, dir, dir, dir, NULL, LPZ_SPLIT_TRAIN};
    lpz_dataset *ds = NULL;
    assert_int_equal(lpz_dataset_open(&lpz_plugin_descriptor, &ctx, &ds, &err), LPZ_OK);
    return ds;
}

static void fill(float *v, size_t n, uint64_t seed)
{
    lpz_rng r;
    lpz_rng_seed(&r, seed, 7);
    lpz_rng_fill_normal(&r, v, n, 0.0f, 1.0f);
}

static void digest_follows_the_data(void **st)
{
    (void)st;
    enum { N = 300, F = 4 };
    float *v = malloc(N * F * sizeof *v);
    fill(v, N * F, 1);
    write_npy("d.npy", "(300, 4)", v, N * F);
    lpz_options *o;
    lpz_error err;
    uint64_t a, b, c;
    lpz_dataset *ds = open_npy("d.npy", NULL, &o);
    assert_int_equal(lpz_dataset_digest(ds, &a, &err), LPZ_OK);
    assert_int_equal(lpz_dataset_digest(ds, &b, &err), LPZ_OK);
    assert_true(a == b);
    lpz_dataset_close(ds);
    lpz_options_destroy(o);
    /* the last sample is among those read: changing it changes the digest */
    v[(N - 1) * F + 2] += 1.0f;
    write_npy("d.npy", "(300, 4)", v, N * F);
    ds = open_npy("d.npy", NULL, &o);
    assert_int_equal(lpz_dataset_digest(ds, &c, &err), LPZ_OK);
    assert_true(c != a);
    lpz_dataset_close(ds);
    lpz_options_destroy(o);
    free(v);
}

static void statistics_belong_to_their_data(void **st)
{
    (void)st;
    enum { N = 300, F = 4 };
    float *v = malloc(N * F * sizeof *v);
    fill(v, N * F, 2);
    write_npy("s.npy", "(300, 4)", v, N * F);
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache-s", dir);
    lpz_scorer_options so = {NULL, cache, 200, LPZ_SCORE_REAL_SEED, NULL, NULL, NULL};
    lpz_error err;
    int cached[3];
    for (int round = 0; round < 3; round++) {
        if (round == 2) { /* other data, same size and shape */
            fill(v, N * F, 3);
            write_npy("s.npy", "(300, 4)", v, N * F);
        }
        lpz_options *o;
        lpz_dataset *ds = open_npy("s.npy", NULL, &o);
        lpz_scorer *s;
        assert_int_equal(lpz_scorer_create(ds, &so, &s, &err), LPZ_OK);
        assert_int_equal(lpz_scorer_features(s), LPZ_FEATURES_RAW);
        cached[round] = lpz_scorer_stats_cached(s);
        lpz_scorer_destroy(s);
        lpz_dataset_close(ds);
        lpz_options_destroy(o);
    }
    assert_int_equal(cached[0], 0); /* computed */
    assert_int_equal(cached[1], 1); /* the same data: from the cache */
    assert_int_equal(cached[2], 0); /* other data: computed again */
    free(v);
}

static void classifier_belongs_to_its_data(void **st)
{
    (void)st;
    enum { N = 120, NUMEL = 784 };
    float *v = malloc((size_t)N * NUMEL * sizeof *v), lab[N];
    fill(v, (size_t)N * NUMEL, 4);
    for (int i = 0; i < N; i++)
        lab[i] = (float)(i % 10);
    write_npy("i.npy", "(120, 1, 28, 28)", v, (size_t)N * NUMEL);
    write_npy("l.npy", "(120,)", lab, N);
    char cache[600];
    snprintf(cache, sizeof cache, "%s/cache-c", dir);
    lpz_scorer_options so = {NULL, cache, 100, LPZ_SCORE_REAL_SEED, NULL, NULL, NULL};
    lpz_error err;
    int trained[3];
    for (int round = 0; round < 3; round++) {
        if (round == 2) {
            fill(v, (size_t)N * NUMEL, 5);
            write_npy("i.npy", "(120, 1, 28, 28)", v, (size_t)N * NUMEL);
        }
        lpz_options *o;
        lpz_dataset *ds = open_npy("i.npy", "l.npy", &o);
        lpz_scorer *s;
        assert_int_equal(lpz_scorer_create(ds, &so, &s, &err), LPZ_OK);
        assert_int_equal(lpz_scorer_features(s), LPZ_FEATURES_CLASSIFIER);
        trained[round] = lpz_scorer_trained_classifier(s);
        lpz_scorer_destroy(s);
        lpz_dataset_close(ds);
        lpz_options_destroy(o);
    }
    assert_int_equal(trained[0], 1); /* none cached: trained */
    assert_int_equal(trained[1], 0); /* the same data: the cached one */
    assert_int_equal(trained[2], 1); /* other data: trained again */
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digest_follows_the_data),
        cmocka_unit_test(statistics_belong_to_their_data),
        cmocka_unit_test(classifier_belongs_to_its_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
