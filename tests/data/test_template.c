/* tests/data/test_template.c - sdk/template/toy_gaussians.c (compiled into
 * this test) works as the how-to promises: options, points on the ring in
 * [-1, 1], labels, batches through the core, render and original units. */
#include "data/batcher.h"
#include "data/dataset.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "data_test_util.h"

#include <math.h>

static const lpz_plugin *P = &lpz_plugin_descriptor;

static void points_lie_on_the_ring_of_modes(void **st)
{
    (void)st;
    lpz_options *o = dt_options(P, "count", "4000", "modes", "4", "std", "0.01", "scale", "10", NULL);
    assert_non_null(o);
    lpz_dataset_context ctx = dt_context(o, "/nonexistent");
    lpz_dataset *ds;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(P, &ctx, &ds, &err), LPZ_OK);
    const lpz_dataset_info *info = lpz_dataset_get_info(ds);
    assert_int_equal(info->count, 4000);
    assert_int_equal(info->n_classes, 4);
    assert_int_equal(lpz_dataset_numel(ds), 2);

    lpz_batcher_config c = lpz_batcher_config_default(100, 1, 0);
    lpz_batcher *b;
    assert_int_equal(lpz_batcher_create(ds, &c, &b, &err), LPZ_OK);
    float x[200];
    int32_t lab[100];
    int per_mode[4] = {0};
    for (int k = 0; k < 40; k++) {
        assert_int_equal(lpz_batcher_next(b, x, lab, &err), LPZ_OK);
        for (int i = 0; i < 100; i++) {
            /* mode m sits at angle 2 pi m / 4 on radius 0.75 */
            double cx = 0.75 * cos(1.5707963267948966 * lab[i]), cy = 0.75 * sin(1.5707963267948966 * lab[i]);
            assert_true(hypot(x[2 * i] - cx, x[2 * i + 1] - cy) < 0.08);
            per_mode[lab[i]]++;
        }
    }
    for (int m = 0; m < 4; m++)
        assert_true(per_mode[m] > 800 && per_mode[m] < 1200);
    lpz_batcher_destroy(b);

    char dir[512], base[600], path[700];
    assert_int_equal(lpz_test_mkdtemp(dir, sizeof dir, "toy"), 0);
    snprintf(base, sizeof base, "%s/points", dir);
    assert_int_equal(lpz_dataset_render(ds, x, 3, base, &err), LPZ_OK);
    snprintf(path, sizeof path, "%s.csv", base);
    char *csv = dt_slurp(path);
    assert_non_null(csv);
    assert_true(strncmp(csv, "x,y\n", 4) == 0);
    double px, py;
    assert_int_equal(sscanf(csv + 4, "%lf,%lf", &px, &py), 2);
    assert_float_equal(px, x[0] * 10.0, 1e-3);
    free(csv);
    assert_int_equal(lpz_dataset_to_original_units(ds, x, 1, &err), LPZ_OK);
    assert_float_equal(x[0], px, 1e-3);
    lpz_test_rmtree(dir);
    lpz_dataset_close(ds);
    lpz_options_destroy(o);
}

static void bad_options_name_the_key(void **st)
{
    (void)st;
    lpz_options *o = dt_options(P, "radius", "1.5", NULL);
    assert_non_null(o);
    lpz_dataset_context ctx = dt_context(o, "/nonexistent");
    lpz_dataset *ds = NULL;
    lpz_error err;
    assert_int_equal(lpz_dataset_open(P, &ctx, &ds, &err), LPZ_EINVAL);
    dt_show(&err);
    assert_non_null(strstr(err.message, "radius"));
    assert_non_null(strstr(err.where, "test.yml:1:1"));
    lpz_options_destroy(o);
    o = dt_options(P, "modes", "0", NULL);
    ctx.options = o;
    assert_int_equal(lpz_dataset_open(P, &ctx, &ds, &err), LPZ_EINVAL);
    lpz_options_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(points_lie_on_the_ring_of_modes),
        cmocka_unit_test(bad_options_name_the_key),
    };
    return cmocka_run_group_tests_name("template_toy_gaussians", tests, NULL, NULL);
}
