/* core/cli/cmd_plugins.c - `lpz plugins`: what the search path holds. */
#include "cli/commands.h"
#include "config/options_internal.h"
#include "plugin/registry.h"

#include <stdio.h>
#include <string.h>

/* An options table that cannot work (a default that does not parse, a
 * name declared twice or taken by a core key): "" when it is fine. Such a
 * plugin is listed, and refused when a run uses it. */
static void options_problem(const lpz_plugin *d, char *out, size_t size)
{
    char problem[256];
    out[0] = '\0';
    if (!lpz_options_spec_ok(d->options, d->kind == LPZ_PLUGIN_DATALOADER ? "dataloader" : "network", problem,
                             sizeof problem))
        snprintf(out, size, "declares an option that cannot work: %s", problem);
}

static void print_kind(const lpz_registry *reg, uint32_t kind, int verbose)
{
    printf("%ss:\n", lpz_plugin_kind_name(kind));
    int any = 0;
    for (int i = 0; i < reg->n_entries; i++) {
        const lpz_plugin_entry *e = &reg->entries[i];
        if (!e->desc || e->desc->kind != kind)
            continue;
        any = 1;
        char aliases[256] = "";
        size_t n = 0;
        if (e->desc->aliases)
            for (const char *const *a = e->desc->aliases; *a && n < sizeof aliases; a++)
                n += (size_t)snprintf(aliases + n, sizeof aliases - n, "%s%s", n ? ", " : " (alias ", *a);
        if (n && n < sizeof aliases - 1)
            strcat(aliases, ")");
        printf("  %s%s  %s  %s\n      %s", e->desc->name, aliases, e->desc->version ? e->desc->version : "?",
               e->desc->description ? e->desc->description : "", e->path);
        if (e->shadowed_by >= 0)
            printf("  [%s]", e->problem);
        else if (e->alias_note[0])
            printf("  [%s]", e->alias_note);
        char bad[300];
        options_problem(e->desc, bad, sizeof bad);
        if (bad[0])
            printf("  [not usable: %s]", bad);
        printf("\n");
        if (verbose && e->desc->options)
            for (const lpz_option_spec *o = e->desc->options; o->name; o++) {
                printf("      option %s (%s, default %s): %s\n", o->name, lpz_option_type_word(o->type),
                       o->default_value ? o->default_value : "unset", o->help ? o->help : "");
            }
    }
    if (!any)
        printf("  (none)\n");
}

int lpz_cmd_plugins(const lpz_cli_args *args)
{
    lpz_registry reg;
    lpz_error err;
    if (lpz_registry_open(&reg, args->plugin_dirs, args->n_plugin_dirs, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        return 1;
    }
    print_kind(&reg, LPZ_PLUGIN_DATALOADER, args->verbose);
    print_kind(&reg, LPZ_PLUGIN_NETWORK, args->verbose);
    int bad = 0;
    for (int i = 0; i < reg.n_entries; i++) {
        char why[300];
        if (reg.entries[i].desc)
            options_problem(reg.entries[i].desc, why, sizeof why);
        if (!reg.entries[i].desc || why[0]) {
            if (!bad++)
                printf("not usable:\n");
            printf("  %s\n      %s\n", reg.entries[i].path, reg.entries[i].desc ? why : reg.entries[i].problem);
        }
    }
    printf("searched:");
    for (int i = 0; i < reg.n_dirs; i++)
        printf("%s %s", i ? "," : "", reg.dirs[i]);
    printf("\n");
    lpz_registry_close(&reg);
    return 0;
}
