/* core/config/options.c - a plugin's validated options (lpz/options.h).
 * Owns: lpz_options (the values of one plugin instance, checked against
 * the plugin's spec). Calls: base (errors), scalar.c. */
#include "config/config.h"
#include "config/options_internal.h"
#include "config/scalar.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lpz_options {
    const lpz_option_spec *spec;
    size_t count;
    char *plugin;  /* for messages */
    char *section; /* "dataloader" / "network" for key paths in messages, or NULL */
    char **value;  /* count entries: YAML text given, or NULL */
    char **where;  /* count entries: "file:line:col: section.key" / "--set section.key", or NULL */
    char **unset;  /* count entries: what lpz_options_where says of a key not given ("network.hidden (not set;
                    * tinymlp's default 0)"), made when the section is known */
};

/* o->unset for the current section; a failed allocation leaves an entry NULL ("" is said then). */
static void make_unset_where(lpz_options *o)
{
    for (size_t i = 0; i < o->count; i++) {
        free(o->unset[i]);
        o->unset[i] = NULL;
        const lpz_option_spec *sp = &o->spec[i];
        size_t n = strlen(sp->name) + strlen(o->plugin) + (o->section ? strlen(o->section) : 0) +
                   (sp->default_value ? strlen(sp->default_value) : 0) + 48;
        char *w = malloc(n);
        if (!w)
            continue;
        if (sp->default_value)
            snprintf(w, n, "%s%s%s (not set; %s's default %s)", o->section ? o->section : "", o->section ? "." : "",
                     sp->name, o->plugin, sp->default_value[0] ? sp->default_value : "\"\"");
        else
            snprintf(w, n, "%s%s%s (not set)", o->section ? o->section : "", o->section ? "." : "", sp->name);
        o->unset[i] = w;
    }
}

static const char *type_name(lpz_option_type t)
{
    switch (t) {
    case LPZ_OPT_STRING: return "a string";
    case LPZ_OPT_INT: return "an integer";
    case LPZ_OPT_FLOAT: return "a number";
    case LPZ_OPT_BOOL: return "a boolean (true/false)";
    case LPZ_OPT_PATH: return "a path";
    }
    return "an unknown type";
}

lpz_options *lpz_options_create(const lpz_option_spec *spec, const char *plugin_name)
{
    lpz_options *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->spec = spec;
    while (spec && spec[o->count].name)
        o->count++;
    o->plugin = strdup(plugin_name ? plugin_name : "?");
    o->value = calloc(o->count + 1, sizeof *o->value);
    o->where = calloc(o->count + 1, sizeof *o->where);
    o->unset = calloc(o->count + 1, sizeof *o->unset);
    if (!o->plugin || !o->value || !o->where || !o->unset) {
        lpz_options_destroy(o);
        return NULL;
    }
    make_unset_where(o);
    return o;
}

void lpz_options_destroy(lpz_options *o)
{
    if (!o)
        return;
    for (size_t i = 0; o->value && i < o->count; i++) {
        free(o->value[i]);
        free(o->where[i]);
        if (o->unset)
            free(o->unset[i]);
    }
    free(o->value);
    free(o->where);
    free(o->unset);
    free(o->plugin);
    free(o->section);
    free(o);
}

int lpz_options_set_section(lpz_options *o, const char *section)
{
    if (!o)
        return LPZ_EINVAL;
    char *s = section ? strdup(section) : NULL;
    if (section && !s)
        return LPZ_ENOMEM;
    free(o->section);
    o->section = s;
    make_unset_where(o);
    return LPZ_OK;
}

/* Where a value of key came from, as the core's keys say it: "run.yml:3:9:
 * dataloader.path", "--set dataloader.path", or the bare key path when
 * `where` is empty. */
static void locate(const lpz_options *o, const char *key, const char *where, char *out, size_t size)
{
    char path[320];
    snprintf(path, sizeof path, "%s%s%s", o->section ? o->section : "", o->section ? "." : "", key);
    lpz_config_locate(where, path, out, size);
}

static int find(const lpz_options *o, const char *key)
{
    for (size_t i = 0; key && i < o->count; i++)
        if (!strcmp(o->spec[i].name, key))
            return (int)i;
    return -1;
}

/* Checks that text parses as type t. */
static int type_ok(lpz_option_type t, const char *text)
{
    int64_t i;
    double d;
    int b;
    switch (t) {
    case LPZ_OPT_STRING:
    case LPZ_OPT_PATH: return 1;
    case LPZ_OPT_INT: return lpz_scalar_int(text, &i);
    case LPZ_OPT_FLOAT: return lpz_scalar_float(text, &d);
    case LPZ_OPT_BOOL: return lpz_scalar_bool(text, &b);
    }
    return 0;
}

const char *lpz_option_type_word(lpz_option_type t)
{
    static const char *words[] = {"?", "string", "int", "float", "bool", "path"};
    return t >= LPZ_OPT_STRING && t <= LPZ_OPT_PATH ? words[t] : words[0];
}

/* The problem of option i of spec, if any, into problem: 1 when there is one. */
static int option_problem(const lpz_option_spec *spec, int i, const char *section, char *problem, size_t size)
{
    const lpz_option_spec *o = &spec[i];
    int name_ok = o->name[0] != '\0';
    for (const char *c = o->name; *c && name_ok; c++)
        name_ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
    char key[300];
    snprintf(key, sizeof key, "%s.%s", section, o->name);
    if (!name_ok)
        snprintf(problem, size, "option %d is named \"%.64s\" (expected letters, digits and '_')", i, o->name);
    else if (lpz_config_find_key(key))
        snprintf(problem, size, "option %s is a core key of %s: it could never be set", o->name, section);
    else if (o->type < LPZ_OPT_STRING || o->type > LPZ_OPT_PATH)
        snprintf(problem, size, "option %s has an unknown type %d", o->name, (int)o->type);
    else if (o->default_value && !type_ok(o->type, o->default_value))
        snprintf(problem, size, "option %s: default \"%.64s\" does not parse as %s", o->name, o->default_value,
                 lpz_option_type_word(o->type));
    else {
        for (int j = 0; j < i; j++)
            if (strcmp(spec[j].name, o->name) == 0) {
                snprintf(problem, size, "option %s is declared twice", o->name);
                return 1;
            }
        return 0;
    }
    return 1;
}

int lpz_options_spec_ok(const lpz_option_spec *spec, const char *section, char *problem, size_t size)
{
    for (int i = 0; spec && spec[i].name; i++)
        if (option_problem(spec, i, section, problem, size))
            return 0;
    return 1;
}

static void hint_known(const lpz_options *o, const char *key, lpz_error *err)
{
    if (o->count == 0) {
        lpz_error_hint(err, "plugin '%s' takes no options; remove the key", o->plugin);
        return;
    }
    const char *names[64];
    size_t n = o->count < 64 ? o->count : 64;
    for (size_t i = 0; i < n; i++)
        names[i] = o->spec[i].name;
    int c = lpz_closest(key, names, n);
    if (c >= 0) {
        lpz_error_hint(err, "did you mean '%s'?", names[c]);
        return;
    }
    char list[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used + 1 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    lpz_error_hint(err, "plugin '%s' knows: %s", o->plugin, list);
}

int lpz_options_set(lpz_options *o, const char *key, const char *value, const char *where, lpz_error *err)
{
    if (!o || !key || !value)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_options_set: NULL argument");
    char w[sizeof err->where];
    locate(o, key, where ? where : "", w, sizeof w);
    int i = find(o, key);
    if (i < 0) {
        lpz_error_set(err, LPZ_ENOTFOUND, "unknown option '%s' for plugin '%s'", key, o->plugin);
        lpz_error_where(err, "%s", w);
        hint_known(o, key, err);
        return LPZ_ENOTFOUND;
    }
    lpz_option_type t = o->spec[i].type;
    if (!type_ok(t, value)) {
        lpz_error_set(err, LPZ_EINVAL, "option '%s' of plugin '%s' expects %s, got '%.*s%s'", key, o->plugin,
                      type_name(t), LPZ_SHOWN(value));
        lpz_error_where(err, "%s", w);
        lpz_error_hint(err, "%s", o->spec[i].help ? o->spec[i].help : "see `lpz plugins -v`");
        return LPZ_EINVAL;
    }
    char *v = strdup(value), *wh = strdup(w);
    if (!v || !wh) {
        free(v);
        free(wh);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    free(o->value[i]);
    free(o->where[i]);
    o->value[i] = v;
    o->where[i] = wh;
    return LPZ_OK;
}

/* The text of key (given, else default) after checking it was declared with
 * type t. */
static int lookup(const lpz_options *o, const char *key, lpz_option_type t, const char **text, lpz_error *err)
{
    if (!o || !key)
        return lpz_error_set(err, LPZ_EINVAL, "options lookup: NULL argument");
    int i = find(o, key);
    if (i < 0) {
        lpz_error_set(err, LPZ_EINVAL, "plugin '%s' reads option '%s', which it does not declare", o->plugin,
                      key);
        lpz_error_hint(err, "add '%s' to the plugin's option spec", key);
        return LPZ_EINVAL;
    }
    /* a path is read as a string */
    if (o->spec[i].type != t && !(t == LPZ_OPT_STRING && o->spec[i].type == LPZ_OPT_PATH)) {
        lpz_error_set(err, LPZ_EINVAL, "option '%s' of plugin '%s' is declared as %s, read as %s", key,
                      o->plugin, type_name(o->spec[i].type), type_name(t));
        lpz_error_hint(err, "use the getter of the declared type");
        return LPZ_EINVAL;
    }
    *text = o->value[i] ? o->value[i] : o->spec[i].default_value;
    if (!*text) {
        lpz_error_set(err, LPZ_ENOTFOUND, "option '%s' of plugin '%s' is not set and has no default", key,
                      o->plugin);
        lpz_error_hint(err, "set it in the plugin's section of the run file or with --set");
        return LPZ_ENOTFOUND;
    }
    return LPZ_OK;
}

static int bad_default(const lpz_options *o, const char *key, const char *text, lpz_option_type t,
                       lpz_error *err)
{
    lpz_error_set(err, LPZ_EINVAL, "default '%s' of option '%s' of plugin '%s' is not %s", text, key,
                  o->plugin, type_name(t));
    lpz_error_hint(err, "fix the plugin's option spec");
    return LPZ_EINVAL;
}

int lpz_options_get_string(const lpz_options *o, const char *key, const char **out, lpz_error *err)
{
    const char *t = NULL;
    int rc = lookup(o, key, LPZ_OPT_STRING, &t, err);
    if (rc == LPZ_OK)
        *out = t;
    return rc;
}

int lpz_options_get_int(const lpz_options *o, const char *key, int64_t *out, lpz_error *err)
{
    const char *t = NULL;
    int rc = lookup(o, key, LPZ_OPT_INT, &t, err);
    if (rc != LPZ_OK)
        return rc;
    return lpz_scalar_int(t, out) ? LPZ_OK : bad_default(o, key, t, LPZ_OPT_INT, err);
}

int lpz_options_get_float(const lpz_options *o, const char *key, double *out, lpz_error *err)
{
    const char *t = NULL;
    int rc = lookup(o, key, LPZ_OPT_FLOAT, &t, err);
    if (rc != LPZ_OK)
        return rc;
    return lpz_scalar_float(t, out) ? LPZ_OK : bad_default(o, key, t, LPZ_OPT_FLOAT, err);
}

int lpz_options_get_bool(const lpz_options *o, const char *key, int *out, lpz_error *err)
{
    const char *t = NULL;
    int rc = lookup(o, key, LPZ_OPT_BOOL, &t, err);
    if (rc != LPZ_OK)
        return rc;
    return lpz_scalar_bool(t, out) ? LPZ_OK : bad_default(o, key, t, LPZ_OPT_BOOL, err);
}

int lpz_options_is_set(const lpz_options *o, const char *key)
{
    if (!o)
        return 0;
    int i = find(o, key);
    return i >= 0 && o->value[i] != NULL;
}

const char *lpz_options_where(const lpz_options *o, const char *key)
{
    if (!o)
        return "";
    int i = find(o, key);
    if (i < 0)
        return "";
    return o->where[i] ? o->where[i] : o->unset[i] ? o->unset[i] : "";
}

void lpz_options_hint_included(const lpz_options *o, const char *config_dir, lpz_error *err)
{
    char dir[PATH_MAX], run_dir[PATH_MAX], try[2 * PATH_MAX + 2], found[PATH_MAX], had[sizeof err->hint];
    if (!o || !err || !config_dir || !realpath(config_dir[0] ? config_dir : ".", run_dir))
        return;
    for (size_t i = 0; i < o->count; i++) {
        const char *value, *where = o->where[i];
        lpz_error unused;
        if (o->spec[i].type != LPZ_OPT_PATH || !o->value[i] || !where ||
            lpz_options_get_string(o, o->spec[i].name, &value, &unused) || !value[0] || value[0] == '/')
            continue;
        const char *end = NULL; /* where = "FILE:LINE:COL: section.key" */
        for (const char *p = strchr(where, ':'); p && !end; p = strchr(p + 1, ':')) {
            long line, col;
            int n = 0;
            if (sscanf(p, ":%ld:%ld%n", &line, &col, &n) == 2 && p[n] == ':')
                end = p;
        }
        const char *slash = end ? memrchr(where, '/', (size_t)(end - where)) : NULL;
        int len = slash ? (int)(slash - where) : 1;
        if (!end || snprintf(try, sizeof try, "%.*s", len, slash ? where : ".") >= (int)sizeof try ||
            !realpath(try, dir) || !strcmp(dir, run_dir) || realpath(value, found))
            continue; /* set with --set, in the run file itself, or found in the current folder */
        if (snprintf(try, sizeof try, "%s/%s", run_dir, value) < (int)sizeof try && realpath(try, found))
            continue; /* found in the run file's folder: not this option's problem */
        snprintf(had, sizeof had, "%s", err->hint);
        lpz_error_hint(err, "%s%s%s%s%s is written in %.*s, a file !include'd from another folder: a relative path "
                       "is looked for in the current folder, then in the run file's folder %s, not in the included "
                       "file's", had, had[0] ? "; " : "", o->section ? o->section : "", o->section ? "." : "",
                       o->spec[i].name, (int)(end - where), where, run_dir);
        if (snprintf(try, sizeof try, "%s/%s", dir, value) < (int)sizeof try && realpath(try, found)) {
            snprintf(had, sizeof had, "%s", err->hint);
            lpz_error_hint(err, "%s (write it absolute: %s)", had, found);
        }
        return;
    }
}
