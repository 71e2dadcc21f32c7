/* A minimal valid dataloader plugin for the loader tests: 10 samples of (2). */
#include <lpz/lpz.h>

static int fx_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    (void)ctx;
    (void)err;
    *state = NULL;
    info->sample_shape = lpz_shape_make(1, 2, 0, 0, 0);
    info->count = 10;
    info->n_classes = 0;
    info->kind = LPZ_SAMPLE_VECTOR;
    return LPZ_OK;
}

static void fx_close(void *state)
{
    (void)state;
}

static int fx_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)state;
    (void)err;
    out[0] = (float)index / 10.0f;
    out[1] = -out[0];
    return LPZ_OK;
}

static const lpz_dataloader_ops ops = {sizeof ops, fx_open, fx_close, fx_read, NULL, NULL, NULL, NULL, NULL};
static const char *const aliases[] = {"fixture_alias", NULL};
static const lpz_option_spec options[] = {{"scale", LPZ_OPT_FLOAT, "1.0", "a test option"}, {NULL, 0, NULL, NULL}};
LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "fixture_valid", aliases, "1.2.3", "valid test plugin", options, &ops);
