/* lpz_network_create against plugin bugs: a configure that returns OK
 * without setting its state (NULL then, with a warning), one that fails
 * without saying why, and an impossible latent shape. Fake plugins here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <lpz/lpz.h>

#include "model/model.h"

static int g_mode; /* 0: no state set, 1: fails silently, 2: bad latent, 3: fine (state NULL) */

static int fake_configure(const lpz_network_context *ctx, void **state, lpz_shape *latent, lpz_error *err)
{
    (void)ctx;
    (void)err;
    if (g_mode == 1)
        return LPZ_EINVAL;
    if (g_mode != 0)
        *state = NULL;
    *latent = g_mode == 2 ? lpz_shape_make(1, 0, 0, 0, 0) : lpz_shape_make(1, 4, 0, 0, 0);
    return LPZ_OK;
}

static void fake_release(void *state)
{
    (void)state;
}

static int g_seen_state; /* build saw: 1 NULL, 2 something else */
static char g_warned[512];
static void keep_warning(void *user, lpz_log_level level, const char *line)
{
    (void)user;
    if (level == LPZ_LOG_WARN)
        snprintf(g_warned, sizeof g_warned, "%s", line);
}

static int fake_build(void *state, lpz_role role, lpz_model *m, lpz_error *err)
{
    g_seen_state = state ? 2 : 1;
    if (role == LPZ_ROLE_GENERATOR)
        return lpz_model_add_linear(m, "0", 2, 1, err);
    return lpz_model_add_linear(m, "0", 1, 1, err) || lpz_model_add_sigmoid(m, err);
}

static const lpz_network_ops fake_ops = {sizeof fake_ops, fake_configure, fake_release, fake_build, NULL};
static const lpz_plugin fake = {LPZ_ABI_MAJOR, LPZ_ABI_MINOR, LPZ_PLUGIN_NETWORK, "fake", NULL, "1", "test",
                                NULL, &fake_ops};

static int create(int mode, lpz_error *err)
{
    g_mode = mode;
    lpz_shape sample = lpz_shape_make(1, 2, 0, 0, 0);
    lpz_network *net = NULL;
    int rc = lpz_network_create(&fake, NULL, &sample, 0, &net, err);
    if (rc == LPZ_OK) {
        lpz_model *m = NULL;
        g_seen_state = 0;
        assert_int_equal(lpz_network_build(net, LPZ_ROLE_GENERATOR, 1, &m, err), LPZ_OK);
        lpz_model_destroy(m);
        lpz_network_destroy(net);
    }
    else
        assert_null(net);
    return rc;
}

static void test_plugin_bugs_are_named(void **state)
{
    (void)state;
    lpz_error err;
    assert_int_equal(create(3, &err), LPZ_OK);
    g_warned[0] = '\0';
    lpz_log_set_sink(keep_warning, NULL);
    assert_int_equal(create(0, &err), LPZ_OK); /* taken as NULL, said */
    lpz_log_set_sink(NULL, NULL);
    assert_non_null(strstr(g_warned, "network plugin fake: configure returned OK without setting *state: taken as "
                                     "NULL"));
    assert_int_equal(g_seen_state, 1);
    assert_int_not_equal(create(1, &err), LPZ_OK);
    assert_non_null(strstr(err.message, "network plugin fake refused its configuration"));
    assert_int_not_equal(create(2, &err), LPZ_OK);
    assert_non_null(strstr(err.message, "set an invalid latent shape"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_plugin_bugs_are_named)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
