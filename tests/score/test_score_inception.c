/* FID on colour images goes through InceptionV3: without weights the
 * scorer says exactly what to configure; with a weights file (random
 * values written by tests/inception's tool) real images score lower than
 * noise, and a set scored against itself gives about 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "data/dataset.h"
#include "score/score.h"

#define N_IMAGES 8
#define SIDE 32

/* A tiny colour-image dataloader: smooth patterns, one per index. */
static int img_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    (void)ctx, (void)err;
    *state = NULL;
    info->sample_shape = lpz_shape_make(3, 3, SIDE, SIDE, 0);
    info->count = N_IMAGES;
    info->n_classes = 0;
    info->kind = LPZ_SAMPLE_IMAGE;
    return LPZ_OK;
}

static void img_close(void *state)
{
    (void)state;
}

static int img_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)state, (void)err;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < SIDE; y++)
            for (int x = 0; x < SIDE; x++)
                out[(c * SIDE + y) * SIDE + x] = 0.8f * sinf(0.2f * (float)(x + 2 * y + 5 * c + 3 * index));
    return LPZ_OK;
}

static const lpz_dataloader_ops img_ops = {sizeof img_ops, img_open, img_close, img_read, NULL, NULL, NULL, NULL, NULL};
static const lpz_plugin img_plugin = {LPZ_ABI_MAJOR, LPZ_ABI_MINOR, LPZ_PLUGIN_DATALOADER, "test_images", NULL, "1",
                                      "colour test images", NULL, &img_ops};

static char weights[256];

static lpz_dataset *open_images(void)
{
    lpz_dataset_context ctx = {sizeof ctx, NULL, "/tmp", "/tmp", ".", NULL, LPZ_SPLIT_TRAIN};
    lpz_dataset *ds = NULL;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(&img_plugin, &ctx, &ds, &err), LPZ_OK);
    return ds;
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("LPZ_BUILD_DIR");
    snprintf(weights, sizeof weights, "%s/inception-random-%d.safetensors",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/tests/inception_tool random-weights %s 1 > /dev/null", b ? b : ".", weights);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(weights);
    return 0;
}

static void test_colour_images_without_weights_say_what_to_configure(void **state)
{
    (void)state;
    lpz_dataset *ds = open_images();
    lpz_scorer_options o = {0};
    o.sample_size = 4;
    lpz_scorer *s = NULL;
    lpz_error err;
    assert_int_not_equal(lpz_scorer_create(ds, &o, &s, &err), LPZ_OK);
    assert_null(s);
    assert_non_null(strstr(err.message, "InceptionV3 weights"));
    assert_non_null(strstr(err.hint, "trainer.params.score.feature_model"));
    assert_non_null(strstr(err.hint, "docs/inception.md"));
    lpz_dataset_close(ds);
}

static void test_inception_fid_of_real_images_is_below_noise(void **state)
{
    (void)state;
    lpz_dataset *ds = open_images();
    lpz_scorer_options o = {0};
    o.sample_size = N_IMAGES;
    o.feature_model = weights;
    lpz_scorer *s = NULL;
    lpz_error err;
    assert_int_equal(lpz_scorer_create(ds, &o, &s, &err), LPZ_OK);
    assert_int_equal(lpz_scorer_features(s), LPZ_FEATURES_INCEPTION);
    lpz_score_context *ctx;
    assert_int_equal(lpz_score_context_create(s, &ctx, &err), LPZ_OK);
    int64_t numel = 3 * SIDE * SIDE;
    float *x = malloc(sizeof(float) * (size_t)(N_IMAGES * numel));
    for (int i = 0; i < N_IMAGES; i++)
        assert_int_equal(lpz_dataset_read(ds, i, x + i * numel, &err), LPZ_OK);
    double fid_real, fid_noise;
    assert_int_equal(lpz_score_fid(ctx, x, N_IMAGES, &fid_real, &err), LPZ_OK);
    lpz_rng rng;
    lpz_rng_seed(&rng, 5, 0);
    lpz_rng_fill_uniform(&rng, x, (size_t)(N_IMAGES * numel), -1.0f, 1.0f);
    assert_int_equal(lpz_score_fid(ctx, x, N_IMAGES, &fid_noise, &err), LPZ_OK);
    /* The real statistics use every image, so scoring the same images gives
     * about 0 (relative to the scale of the noise's distance). */
    assert_true(isfinite(fid_real) && isfinite(fid_noise));
    assert_true(fid_real < 1e-3 * fid_noise);
    assert_true(fid_noise > 0.0);
    free(x);
    lpz_score_context_destroy(ctx);
    lpz_scorer_destroy(s);
    lpz_dataset_close(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colour_images_without_weights_say_what_to_configure),
        cmocka_unit_test(test_inception_fid_of_real_images_is_below_noise),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
