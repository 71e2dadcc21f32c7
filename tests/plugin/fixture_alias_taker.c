/* A dataloader named like fixture_valid's alias, in a folder of its own
 * (plugin-fixtures-alias) searched before the fixtures: the alias is then
 * this plugin's, which the registry notes on fixture_valid. */
#include <lpz/lpz.h>

static int never(const lpz_dataset_context *c, void **s, lpz_dataset_info *i, lpz_error *e)
{
    (void)c, (void)s, (void)i;
    return lpz_error_set(e, LPZ_ESTATE, "must never be called");
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

static const lpz_dataloader_ops ops = {sizeof ops, never, nothing, no_read, NULL, NULL, NULL, NULL, NULL};
LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "fixture_alias", NULL, "0.1", "takes fixture_valid's alias", NULL, &ops);
