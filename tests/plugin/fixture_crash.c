/* A dataloader whose open writes through a NULL pointer, in a folder of its
 * own (plugin-fixtures-crash): what lpz says when a plugin crashes
 * (tests/cli/cli.sh). */
#include <lpz/lpz.h>

static int crash_open(const lpz_dataset_context *c, void **s, lpz_dataset_info *i, lpz_error *e)
{
    (void)c, (void)s, (void)i, (void)e;
    volatile int *nowhere = (volatile int *)0;
    *nowhere = 1;
    return LPZ_OK;
}

static void nothing(void *state)
{
    (void)state;
}

static int no_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)state, (void)index, (void)out;
    return lpz_error_set(err, LPZ_ESTATE, "must never be called");
}

static const lpz_dataloader_ops ops = {sizeof ops, crash_open, nothing, no_read, NULL, NULL, NULL, NULL, NULL};
LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "fixture_crash", NULL, "0.1", "crashes when opened", NULL, &ops);
