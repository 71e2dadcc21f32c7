/* A dataloader whose options table cannot work: a float option whose
 * default does not parse. `lpz plugins` lists it as not usable; a run that
 * names it is refused, naming the file. */
#include <lpz/lpz.h>

static int never(const lpz_dataset_context *c, void **s, lpz_dataset_info *i, lpz_error *e)
{
    (void)c, (void)s, (void)i;
    return lpz_error_set(e, LPZ_ESTATE, "must never be called");
}

static void fx_close(void *state)
{
    (void)state;
}

static int fx_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)state, (void)index, (void)out;
    return lpz_error_set(err, LPZ_ESTATE, "must never be called");
}

static const lpz_dataloader_ops ops = {sizeof ops, never, fx_close, fx_read, NULL, NULL, NULL, NULL, NULL};
static const lpz_option_spec options[] = {{"radius", LPZ_OPT_FLOAT, "abc", "a broken default"},
                                          {NULL, 0, NULL, NULL}};
LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "fixture_bad_option", NULL, "0.1", "options table with a bad default",
                  options, &ops);
