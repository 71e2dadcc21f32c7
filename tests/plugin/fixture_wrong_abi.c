/* A plugin that claims an ABI major this lpz does not have. */
#include <lpz/lpz.h>

static int never(const lpz_dataset_context *c, void **s, lpz_dataset_info *i, lpz_error *e)
{
    (void)c, (void)s, (void)i;
    return lpz_error_set(e, LPZ_ESTATE, "must never be called");
}

static const lpz_dataloader_ops ops = {sizeof ops, never, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
LPZ_PLUGIN_EXPORT const lpz_plugin lpz_plugin_descriptor = {
    LPZ_ABI_MAJOR + 98, 7, LPZ_PLUGIN_DATALOADER, "fixture_future", NULL, "9.9", "from the future", NULL, &ops};
