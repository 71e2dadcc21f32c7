/* core/plugin/registry.h - finding, loading and checking plugins.
 *
 * Owns: the plugin search path, dlopen/dlsym, ABI checks, lookup by kind
 * and name. Calls: base only. Plugins are never unloaded while the
 * registry lives; destroy it last.
 *
 * Search order: each --plugin-dir (in the order given), then the folders
 * of LPZ_PLUGIN_PATH (colon-separated), then the install folder, then the
 * build tree's plugins/ next to the running executable's bin/. The first
 * plugin of a kind and name wins; later ones are listed as shadowed.
 */
#ifndef LPZ_PLUGIN_REGISTRY_H
#define LPZ_PLUGIN_REGISTRY_H

#include <lpz/error.h>
#include <lpz/plugin.h>

typedef struct lpz_plugin_entry {
    char *path;               /* the .so file */
    void *handle;             /* dlopen handle; NULL when the file is not a valid plugin */
    const lpz_plugin *desc;   /* NULL when the file is not a valid plugin */
    char problem[768];        /* why it is not usable ("" when it is) */
    int shadowed_by;          /* index of the entry that wins for this name, or -1 */
    char alias_note[512];     /* aliases an earlier plugin of the kind answers to ("" when none): not this one's */
} lpz_plugin_entry;

typedef struct lpz_registry {
    char **dirs; /* search folders in order (existing or not) */
    int n_dirs;
    lpz_plugin_entry *entries;
    int n_entries;
} lpz_registry;

/* Builds the search path (extra_dirs first) and loads every *.so found.
 * Files that are not valid plugins are kept as entries with a problem;
 * they never make this fail. Fails only on out-of-memory. */
int lpz_registry_open(lpz_registry *reg, const char *const *extra_dirs, int n_extra, lpz_error *err);

/* Finds a usable plugin of `kind` called `name` (or with that alias).
 * LPZ_ENOTFOUND names the kind, the name, the folders searched and the
 * names of that kind that exist. */
int lpz_registry_find(const lpz_registry *reg, uint32_t kind, const char *name, const lpz_plugin **out,
                      lpz_error *err);

/* The entry of a found descriptor (for its file path). */
const lpz_plugin_entry *lpz_registry_entry_of(const lpz_registry *reg, const lpz_plugin *desc);

void lpz_registry_close(lpz_registry *reg);

/* Checks one descriptor read from `path` (exposed for tests); fills
 * problem and returns 0 when unusable. */
int lpz_plugin_check(const lpz_plugin *desc, char *problem, size_t problem_size);

#endif
