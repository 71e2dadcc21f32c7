/* core/config/config.c - reading, overriding, checking and dumping the run
 * file. The key table is in keys.c; this file only walks YAML against it.
 * Owns: lpz_config's memory. Calls: base (errors), scalar.c, options.c,
 * libyaml (document API: every node keeps its line and column). */
#include "config/config.h"
#include "config/options_internal.h"
#include "config/scalar.h"
#include "base/file.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define MAX_INCLUDE_DEPTH 16
#define MAX_NESTING 64     /* mappings inside mappings; guards cyclic aliases */
#define NODE_BUDGET 200000 /* nodes visited per load; guards alias bombs */
#define LOC_MAX 1100       /* "file:line:col" */

/* Plugin sections: keys there that are not core keys are plugin options. */
static const char *const plugin_sections[] = {"dataloader", "network"};

typedef struct parse_ctx {
    lpz_config *cfg;
    lpz_error *err;
    const char *file;               /* display name of the current file, or "--set" */
    int cli;                        /* 1 while applying --set */
    char *chain[MAX_INCLUDE_DEPTH]; /* real paths of the files being read (cycle check) */
    char *names[MAX_INCLUDE_DEPTH]; /* their display names (for the cycle message) */
    int depth;
    int nesting;
    long budget;
    int resolved; /* text as lpz_config_dump writes it (lpz_config_load_resolved): no !include, no !ENV */
} parse_ctx;

/* ---- small helpers ------------------------------------------------------- */

static size_t key_index(const lpz_config_key *k)
{
    size_t n;
    const lpz_config_key *all = lpz_config_keys(&n);
    return (size_t)(k - all);
}

static void *field(lpz_config *cfg, const lpz_config_key *k)
{
    return (char *)cfg + k->offset;
}

static const void *cfield(const lpz_config *cfg, const lpz_config_key *k)
{
    return (const char *)cfg + k->offset;
}

static void loc_of(const parse_ctx *c, yaml_mark_t m, char *buf, size_t size)
{
    if (c->cli)
        snprintf(buf, size, "--set");
    else
        snprintf(buf, size, "%s:%lu:%lu", c->file, (unsigned long)m.line + 1, (unsigned long)m.column + 1);
}

/* Sets err's where to "<loc>: <path>" ("--set <path>" on the command line). */
static void where_at(parse_ctx *c, yaml_mark_t m, const char *path)
{
    if (c->cli) {
        lpz_error_where(c->err, "--set %s", path);
        return;
    }
    char loc[LOC_MAX];
    loc_of(c, m, loc, sizeof loc);
    lpz_error_where(c->err, "%s: %s", loc, path);
}

static int record_where(lpz_config *cfg, const lpz_config_key *k, const char *where)
{
    size_t n;
    lpz_config_keys(&n);
    if (!cfg->where) {
        cfg->where = calloc(n, sizeof *cfg->where);
        if (!cfg->where)
            return LPZ_ENOMEM;
    }
    char *w = strdup(where);
    if (!w)
        return LPZ_ENOMEM;
    size_t i = key_index(k);
    free(cfg->where[i]);
    cfg->where[i] = w;
    return LPZ_OK;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_SCALAR_NODE: return "a scalar";
    default: return "nothing";
    }
}

static const char *scalar_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static int is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE || n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
}

/* A tag the user wrote (not one of libyaml's defaults). */
static const char *user_tag(const yaml_node_t *n)
{
    const char *t = (const char *)n->tag;
    if (!t || !strncmp(t, "tag:yaml.org,2002:", 18))
        return NULL;
    return t;
}

static const char *last_component(const char *path)
{
    const char *d = strrchr(path, '.');
    return d ? d + 1 : path;
}

/* 1 when some key lives below path (path is a section). */
static int is_section(const char *path)
{
    size_t n, len = strlen(path);
    const lpz_config_key *k = lpz_config_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(k[i].path, path, len) && k[i].path[len] == '.')
            return 1;
    return 0;
}

/* The plugin section path belongs to directly ("dataloader.path" ->
 * "dataloader"), or NULL. */
static const char *plugin_section_of(const char *path)
{
    for (size_t i = 0; i < sizeof plugin_sections / sizeof plugin_sections[0]; i++) {
        size_t len = strlen(plugin_sections[i]);
        if (!strncmp(path, plugin_sections[i], len) && path[len] == '.' && !strchr(path + len + 1, '.') &&
            path[len + 1])
            return plugin_sections[i];
    }
    return NULL;
}

/* Copies src into a fixed buffer, refusing text that does not fit. */
static int copy_string(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (len >= size)
        return 0;
    memset(dst, 0, size);
    memcpy(dst, src, len);
    return 1;
}

/* ---- assigning one value ---------------------------------------------- */

static int enum_lookup(const char *choices, const char *text, int *out)
{
    int idx = 0;
    const char *p = choices;
    size_t tl = strlen(text);
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == tl && !strncasecmp(p, text, len)) {
            *out = idx;
            return 1;
        }
        idx++;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

const char *lpz_config_enum_text(const char *path, int value)
{
    static __thread char buf[LPZ_CONFIG_NAME_MAX];
    const lpz_config_key *k = lpz_config_find_key(path);
    if (!k || k->type != LPZ_CFG_ENUM)
        return "?";
    const char *p = k->choices;
    for (int i = 0; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (i == value) {
            snprintf(buf, sizeof buf, "%.*s", (int)len, p);
            return buf;
        }
        if (!bar)
            break;
        p = bar + 1;
    }
    return "?";
}

static void enum_hint(const lpz_config_key *k, const char *text, lpz_error *err)
{
    const char *names[32];
    char copy[512];
    snprintf(copy, sizeof copy, "%s", k->choices);
    size_t n = 0;
    for (char *s = strtok(copy, "|"); s && n < 32; s = strtok(NULL, "|"))
        names[n++] = s;
    int c = lpz_closest(text, names, n);
    char list[512];
    snprintf(list, sizeof list, "%s", k->choices);
    for (char *p = list; *p; p++)
        if (*p == '|')
            *p = ',';
    if (c >= 0)
        lpz_error_hint(err, "did you mean '%s'? (allowed: %s)", names[c], list);
    else
        lpz_error_hint(err, "allowed values: %s", list);
}

/* A bound as people write it: 1000000, not 1e+06. */
static const char *num(double v, char *buf, size_t size)
{
    if (v == floor(v) && fabs(v) <= 9007199254740992.0) /* whole numbers exactly, up to 2^53 */
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%g", v);
    return buf;
}

/* text: the value as written, shown in the message (NULL: v) */
static int range_check_text(const lpz_config_key *k, double v, const char *text, lpz_error *err)
{
    int low = (k->flags & LPZ_CFG_MIN_EXCLUSIVE) ? v <= k->min : v < k->min;
    if (!low && v <= k->max)
        return LPZ_OK;
    const char *name = last_component(k->path);
    char a[48], b[48], got[48];
    int excl = (k->flags & LPZ_CFG_MIN_EXCLUSIVE) != 0;
    if (k->max >= 1e300)
        lpz_error_set(err, LPZ_EINVAL, "%s must be %s %s, got %s", name,
                      excl ? ">" : ">=", num(k->min, a, sizeof a), text ? text : num(v, got, sizeof got));
    else
        lpz_error_set(err, LPZ_EINVAL, "%s must be in %s%s, %s], got %s", name, excl ? "(" : "[",
                      num(k->min, a, sizeof a), num(k->max, b, sizeof b), text ? text : num(v, got, sizeof got));
    lpz_error_hint(err, "%s: %s", name, k->description);
    return LPZ_EINVAL;
}

static int range_check(const lpz_config_key *k, double v, lpz_error *err)
{
    return range_check_text(k, v, NULL, err);
}

/* Parses a scalar's text as key k's type and stores it. `plain` says the
 * scalar was unquoted (only a plain empty/~/null is YAML's null). Fills
 * err's message and hint; the caller adds where. */
static int assign_scalar(lpz_config *cfg, const lpz_config_key *k, const char *text, int plain, int cli,
                         lpz_error *err)
{
    const char *name = last_component(k->path);
    if (plain && lpz_scalar_is_null(text) && k->type != LPZ_CFG_STRING) {
        lpz_error_set(err, LPZ_EINVAL, "%s has no value; expected %s", name, lpz_config_type_name(k->type));
        if (cli) /* --set key= has no colon to write after */
            lpz_error_hint(err, "write a value after the '=': --set %s=%s (the default)", k->path, k->default_value);
        else
            lpz_error_hint(err, "write a value after the colon (default: %s)", k->default_value);
        return LPZ_EINVAL;
    }
    switch (k->type) {
    case LPZ_CFG_BOOL: {
        int b;
        if (!lpz_scalar_bool(text, &b)) {
            lpz_error_set(err, LPZ_EINVAL, "%s expects a boolean, got '%.*s%s'", name, LPZ_SHOWN(text));
            lpz_error_hint(err, "write true or false (True/False and yes/no also work)");
            return LPZ_EINVAL;
        }
        *(bool *)field(cfg, k) = b != 0;
        return LPZ_OK;
    }
    case LPZ_CFG_INT: {
        int64_t v;
        if (!lpz_scalar_int(text, &v)) {
            double d;
            lpz_error_set(err, LPZ_EINVAL, "%s expects an integer, got '%.*s%s'", name, LPZ_SHOWN(text));
            if (lpz_scalar_float(text, &d) && d >= k->min && d <= k->max)
                lpz_error_hint(err, "write a whole number without a decimal point, e.g. %.0f", floor(d));
            else if (lpz_scalar_float(text, &d)) /* 1e100: no whole number to suggest, the range is the news */
                lpz_error_hint(err, "a whole number in [%.17g, %.17g]", k->min, k->max);
            else
                lpz_error_hint(err, "write a whole number such as %s", k->default_value);
            return LPZ_EINVAL;
        }
        char written[32];
        snprintf(written, sizeof written, "%lld", (long long)v);
        if (range_check_text(k, (double)v, written, err))
            return LPZ_EINVAL;
        if (k->size == sizeof(int64_t))
            *(int64_t *)field(cfg, k) = v;
        else
            *(int *)field(cfg, k) = (int)v;
        return LPZ_OK;
    }
    case LPZ_CFG_FLOAT: {
        double v;
        if (!lpz_scalar_float(text, &v)) {
            char *end;
            errno = 0;
            double d = strtod(text, &end);
            if (*text && !*end && errno == ERANGE && isinf(d)) { /* 1e400: a number, out of range */
                lpz_error_set(err, LPZ_EINVAL, "%s: '%.*s%s' is beyond the range of numbers (about 1.8e308)", name,
                              LPZ_SHOWN(text));
                lpz_error_hint(err, "%s: %s", name, k->description);
                return LPZ_EINVAL;
            }
            if (*text && !*end && errno == ERANGE) { /* 1e-320: a number, too close to 0 for a double */
                lpz_error_set(err, LPZ_EINVAL, "%s: '%.*s%s' is too close to 0 for a number (below about 2.2e-308)",
                              name, LPZ_SHOWN(text));
                lpz_error_hint(err, "%s: %s", name, k->description);
                return LPZ_EINVAL;
            }
            lpz_error_set(err, LPZ_EINVAL, "%s expects a number, got '%.*s%s'", name, LPZ_SHOWN(text));
            lpz_error_hint(err, "write a decimal number such as %s", k->default_value);
            return LPZ_EINVAL;
        }
        if (range_check(k, v, err))
            return LPZ_EINVAL;
        *(double *)field(cfg, k) = v;
        return LPZ_OK;
    }
    case LPZ_CFG_STRING: {
        const char *t = plain && lpz_scalar_is_null(text) ? "" : text;
        if (!copy_string(field(cfg, k), k->size, t)) {
            lpz_error_set(err, LPZ_EINVAL, "%s is too long (%zu bytes, at most %zu)", name, strlen(t),
                          k->size - 1);
            lpz_error_hint(err, "use a shorter value");
            return LPZ_EINVAL;
        }
        return LPZ_OK;
    }
    case LPZ_CFG_ENUM: {
        int v;
        int b;
        /* false|true|always keys also take the original's True/False/yes/no. */
        if (!strncmp(k->choices, "false|true|", 11) && lpz_scalar_bool(text, &b)) {
            *(int *)field(cfg, k) = b;
            return LPZ_OK;
        }
        if (!enum_lookup(k->choices, text, &v)) {
            lpz_error_set(err, LPZ_EINVAL, "%s: unknown value '%.*s%s'", name, LPZ_SHOWN(text));
            enum_hint(k, text, err);
            return LPZ_EINVAL;
        }
        *(int *)field(cfg, k) = v;
        return LPZ_OK;
    }
    case LPZ_CFG_NODES: break;
    }
    return lpz_error_set(err, LPZ_EINVAL, "%s cannot be set from a scalar", name);
}

/* ---- defaults and cleanup ------------------------------------------------ */

static void options_clear(lpz_config_options *o)
{
    for (int i = 0; i < o->count; i++) {
        free(o->items[i].key);
        free(o->items[i].value);
        free(o->items[i].where);
    }
    free(o->items);
    memset(o, 0, sizeof *o);
}

void lpz_config_init_defaults(lpz_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    size_t n;
    const lpz_config_key *k = lpz_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        if (k[i].type == LPZ_CFG_NODES)
            continue; /* "[]": no nodes */
        char text[256];
        const char *d = k[i].default_value;
        size_t len = strlen(d);
        /* Table defaults are plain or simply double-quoted (no escapes). */
        if (len >= 2 && d[0] == '"' && d[len - 1] == '"')
            snprintf(text, sizeof text, "%.*s", (int)(len - 2), d + 1);
        else
            snprintf(text, sizeof text, "%s", d);
        (void)assign_scalar(cfg, &k[i], text, 0, 0, NULL);
    }
}

void lpz_config_destroy(lpz_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->general.distribution.client_nodes);
    options_clear(&cfg->dataloader.options);
    options_clear(&cfg->network.options);
    if (cfg->where) {
        size_t n;
        lpz_config_keys(&n);
        for (size_t i = 0; i < n; i++)
            free(cfg->where[i]);
        free(cfg->where);
    }
    lpz_config_init_defaults(cfg);
}

/* ---- plugin options ------------------------------------------------------ */

static lpz_config_options *options_of(lpz_config *cfg, const char *section)
{
    return !strcmp(section, "dataloader") ? &cfg->dataloader.options : &cfg->network.options;
}

static int options_put(lpz_config_options *o, const char *key, const char *value, const char *where)
{
    char *k = strdup(key), *v = strdup(value), *w = strdup(where);
    if (!k || !v || !w) {
        free(k);
        free(v);
        free(w);
        return LPZ_ENOMEM;
    }
    for (int i = 0; i < o->count; i++) {
        if (!strcmp(o->items[i].key, key)) {
            free(o->items[i].key);
            free(o->items[i].value);
            free(o->items[i].where);
            o->items[i] = (lpz_config_option){k, v, w};
            return LPZ_OK;
        }
    }
    if (o->count == o->capacity) {
        int cap = o->capacity ? o->capacity * 2 : 8;
        lpz_config_option *items = realloc(o->items, (size_t)cap * sizeof *items);
        if (!items) {
            free(k);
            free(v);
            free(w);
            return LPZ_ENOMEM;
        }
        o->items = items;
        o->capacity = cap;
    }
    o->items[o->count++] = (lpz_config_option){k, v, w};
    return LPZ_OK;
}

/* ---- unknown keys ----------------------------------------------------- */

/* Fills err for an unknown key `path`, suggesting the closest known one. */
static int unknown_key(parse_ctx *c, yaml_mark_t m, const char *path)
{
    const char *name = last_component(path);
    size_t plen = (size_t)(name - path); /* includes the dot; 0 at top level */
    size_t n;
    const lpz_config_key *k = lpz_config_keys(&n);

    /* Siblings: next component of every key under the same parent. */
    char sib[128][64];
    const char *sibs[128];
    size_t ns = 0;
    for (size_t i = 0; i < n && ns < 128; i++) {
        if (plen && strncmp(k[i].path, path, plen))
            continue;
        const char *rest = k[i].path + plen;
        size_t len = strcspn(rest, ".");
        if (len >= sizeof sib[0])
            continue;
        int dup = 0;
        for (size_t j = 0; j < ns && !dup; j++)
            dup = strlen(sibs[j]) == len && !strncmp(sibs[j], rest, len);
        if (dup)
            continue;
        memcpy(sib[ns], rest, len);
        sib[ns][len] = '\0';
        sibs[ns] = sib[ns];
        ns++;
    }
    lpz_error_set(c->err, LPZ_ENOTFOUND, "unknown key '%s'", name);
    where_at(c, m, path);
    if (!strcmp(name, "<<")) { /* YAML 1.1's merge key: libyaml leaves it to the application */
        lpz_error_hint(c->err, "YAML merge keys (<<) are not supported: write the keys themselves, or take a "
                               "section from another file with 'general: !include general.yml'");
        return LPZ_ENOTFOUND;
    }
    /* Keys of the original Lipizzaner that lpz does not take: "did you mean default_adam_learning_rate?" made
     * them look like typos, and renaming one gave a duplicate key or silently another start. */
    if (!strcmp(path, "trainer.params.default_g_adam_learning_rate") ||
        !strcmp(path, "trainer.params.default_d_adam_learning_rate")) {
        lpz_error_set(c->err, LPZ_ENOTFOUND, "the original Lipizzaner's separate starting learning rate of the %s "
                      "is not supported", strstr(path, "_g_adam") ? "generators" : "discriminators");
        where_at(c, m, path);
        lpz_error_hint(c->err, "lpz starts generators and discriminators at trainer.params.default_adam_learning_rate"
                       ", the learning-rate mutation's lr0: remove the key, or set that one "
                       "(docs/howto/coming-from-lipizzaner.md)");
        return LPZ_ENOTFOUND;
    }
    int best = lpz_closest(name, sibs, ns);
    if (best >= 0) {
        lpz_error_hint(c->err, "did you mean '%.*s%s'?", (int)plen, path, sibs[best]);
        return LPZ_ENOTFOUND;
    }
    /* The right name in the wrong section? */
    int best_d = 3;
    const char *other = NULL;
    for (size_t i = 0; i < n; i++) {
        int d = lpz_edit_distance(name, last_component(k[i].path));
        if (d < best_d) {
            best_d = d;
            other = k[i].path;
        }
    }
    if (other) {
        lpz_error_hint(c->err, "did you mean '%s'? (it belongs in a different section)", other);
        return LPZ_ENOTFOUND;
    }
    char list[400] = "";
    size_t used = 0;
    for (size_t i = 0; i < ns && used + 1 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", sibs[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (plen)
        lpz_error_hint(c->err, "keys known in '%.*s': %s (see docs/configuration.md)", (int)(plen - 1), path,
                       list);
    else
        lpz_error_hint(c->err, "known sections: %s (see docs/configuration.md)", list);
    return LPZ_ENOTFOUND;
}

/* ---- walking YAML ---------------------------------------------------------- */

static int apply_node(parse_ctx *c, yaml_document_t *doc, const char *path, yaml_node_t *val,
                      yaml_mark_t key_mark);
static int load_file(parse_ctx *c, const char *display, const char *path, yaml_mark_t from);

/* Expands ${NAME} in text (the original's !ENV tag). */
static int expand_env(parse_ctx *c, yaml_mark_t m, const char *path, const char *text, char *out, size_t size)
{
    size_t used = 0;
    for (const char *p = text; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');
            if (!end) {
                lpz_error_set(c->err, LPZ_EINVAL, "unterminated ${...} in !ENV value '%s'", text);
                where_at(c, m, path);
                lpz_error_hint(c->err, "write ${NAME}");
                return LPZ_EINVAL;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(end - p - 2), p + 2);
            /* ${NAME:-default}: the default when NAME is unset or empty, as in the shell */
            char *dflt = strstr(name, ":-");
            if (dflt) {
                *dflt = '\0';
                dflt += 2;
            }
            for (const char *q = name; *q; q++)
                if (!(isalnum((unsigned char)*q) || *q == '_') || (q == name && isdigit((unsigned char)*q))) {
                    lpz_error_set(c->err, LPZ_EINVAL, "'%s' in !ENV value '%s' is not a variable name", name, text);
                    where_at(c, m, path);
                    lpz_error_hint(c->err, "write ${NAME} or ${NAME:-default} (NAME of letters, digits and _)");
                    return LPZ_EINVAL;
                }
            if (!name[0]) {
                lpz_error_set(c->err, LPZ_EINVAL, "empty ${} in !ENV value '%s'", text);
                where_at(c, m, path);
                lpz_error_hint(c->err, "write ${NAME} with the variable's name");
                return LPZ_EINVAL;
            }
            const char *v = getenv(name);
            if (dflt && (!v || !v[0]))
                v = dflt;
            if (!v) {
                lpz_error_set(c->err, LPZ_ENOTFOUND, "environment variable %s is not set", name);
                where_at(c, m, path);
                lpz_error_hint(c->err, "export %s=... before running, or write the value instead of !ENV",
                               name);
                return LPZ_ENOTFOUND;
            }
            size_t vl = strlen(v);
            if (used + vl >= size) {
                lpz_error_set(c->err, LPZ_EINVAL, "!ENV value is too long after expansion: ${%s} is %zu "
                              "characters, and a value holds at most %zu", name, vl, size - 1);
                where_at(c, m, path);
                return LPZ_EINVAL;
            }
            memcpy(out + used, v, vl);
            used += vl;
            p = end + 1;
        } else {
            if (used + 1 >= size)
                goto too_long;
            out[used++] = *p++;
        }
    }
    out[used] = '\0';
    return LPZ_OK;
too_long:
    lpz_error_set(c->err, LPZ_EINVAL, "!ENV value is too long after expansion (at most %zu characters)", size - 1);
    where_at(c, m, path);
    return LPZ_EINVAL;
}

static int parse_port_range(const char *text, int *lo, int *hi)
{
    int64_t a, b;
    const char *dash = strchr(text + (text[0] == '-'), '-');
    if (!dash) {
        if (!lpz_scalar_int(text, &a))
            return 0;
        b = a;
    } else {
        char left[32];
        if ((size_t)(dash - text) >= sizeof left)
            return 0;
        snprintf(left, sizeof left, "%.*s", (int)(dash - text), text);
        if (!lpz_scalar_int(left, &a) || !lpz_scalar_int(dash + 1, &b))
            return 0;
    }
    *lo = a < INT_MIN ? INT_MIN : a > INT_MAX ? INT_MAX : (int)a;
    *hi = b < INT_MIN ? INT_MIN : b > INT_MAX ? INT_MAX : (int)b;
    return 1;
}

/* A client node's address is a host name or an IP literal, which the master
 * puts in tcp://HOST:PORT: an empty one, blanks, a URL or a port written into
 * it failed only when the master dialled ("cannot dial: Address invalid",
 * naming no file or line). Fills err and returns 1 for such an address. */
static int bad_address(parse_ctx *c, const char *text)
{
    if (!*text) {
        lpz_error_set(c->err, LPZ_EINVAL, "client node has no address");
        lpz_error_hint(c->err, "fill in the client's IP address or host name, e.g. 127.0.0.1");
        return 1;
    }
    for (const char *p = text; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) || *p == '/') {
            lpz_error_set(c->err, LPZ_EINVAL, "address '%.*s%s' is not a host name or IP address",
                          LPZ_SHOWN(text));
            lpz_error_hint(c->err, "%s", strstr(text, "://")
                                             ? "write the host alone, without the tcp:// (lpz adds it), e.g. "
                                               "'address: 10.0.0.1' and the port under 'port:'"
                                             : "write the IP address or host name alone, e.g. 10.0.0.1");
            return 1;
        }
    if (!strchr(text, ':'))
        return 0;
    /* With a colon it must be an IPv6 literal, bracketed or not, with an optional %zone. */
    char ip[LPZ_CONFIG_NAME_MAX];
    size_t n = strlen(text);
    if (text[0] == '[' && n >= 2 && text[n - 1] == ']')
        snprintf(ip, sizeof ip, "%.*s", (int)(n - 2), text + 1);
    else
        snprintf(ip, sizeof ip, "%s", text);
    char *zone = strchr(ip, '%');
    if (zone)
        *zone = '\0';
    struct in6_addr a6;
    if (inet_pton(AF_INET6, ip, &a6) == 1)
        return 0;
    const char *colon = strrchr(text, ':');
    int port_after = colon[1] != '\0' && strspn(colon + 1, "0123456789") == strlen(colon + 1);
    lpz_error_set(c->err, LPZ_EINVAL, "address '%.*s%s' is %s", LPZ_SHOWN(text),
                  port_after ? "a host and a port" : "neither a host name nor an IP address");
    if (port_after)
        lpz_error_hint(c->err, "write the port under 'port:': 'address: %.*s' and 'port: %s'",
                       (int)(colon - text), text, colon + 1);
    else
        lpz_error_hint(c->err, "write an IPv4 address, a host name or an IPv6 address such as ::1");
    return 1;
}

/* general.distribution.client_nodes: a list of {address, port}. */
static int apply_nodes(parse_ctx *c, yaml_document_t *doc, const lpz_config_key *k, yaml_node_t *val)
{
    lpz_config *cfg = c->cfg;
    if (val->type == YAML_SCALAR_NODE && is_plain(val) && lpz_scalar_is_null(scalar_text(val))) {
        free(cfg->general.distribution.client_nodes);
        cfg->general.distribution.client_nodes = NULL;
        cfg->general.distribution.n_client_nodes = 0;
        return LPZ_OK;
    }
    if (val->type != YAML_SEQUENCE_NODE) {
        lpz_error_set(c->err, LPZ_EINVAL, "client_nodes expects a list of {address, port}, got %s",
                      node_kind(val));
        where_at(c, val->start_mark, k->path);
        lpz_error_hint(c->err,
                       "write e.g.\n  client_nodes:\n    - address: 127.0.0.1\n      port: 5000-5003");
        return LPZ_EINVAL;
    }
    lpz_config_node *nodes = NULL;
    int count = 0, cap = 0;
    char path[256];
    for (yaml_node_item_t *it = val->data.sequence.items.start; it < val->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        int index = (int)(it - val->data.sequence.items.start);
        snprintf(path, sizeof path, "%s[%d]", k->path, index);
        if (!item || item->type != YAML_MAPPING_NODE) {
            lpz_error_set(c->err, LPZ_EINVAL, "a client node must be a mapping {address, port}, got %s",
                          item ? node_kind(item) : "nothing");
            where_at(c, item ? item->start_mark : val->start_mark, path);
            lpz_error_hint(c->err, "write '- address: 10.0.0.1' and 'port: 5000' on the next line");
            goto fail;
        }
        const char *address = NULL;
        int lo = 5000, hi = 5000;
        yaml_mark_t port_mark = item->start_mark;
        for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
            yaml_node_t *kn = yaml_document_get_node(doc, p->key);
            yaml_node_t *vn = yaml_document_get_node(doc, p->value);
            const char *kname = kn && kn->type == YAML_SCALAR_NODE ? scalar_text(kn) : "?";
            char sub[300];
            snprintf(sub, sizeof sub, "%s.%s", path, kname);
            if (!vn || vn->type != YAML_SCALAR_NODE) {
                lpz_error_set(c->err, LPZ_EINVAL, "%s expects a scalar, got %s", kname,
                              vn ? node_kind(vn) : "nothing");
                where_at(c, vn ? vn->start_mark : item->start_mark, sub);
                goto fail;
            }
            const char *text = scalar_text(vn);
            if (!strcmp(kname, "address")) {
                if (is_plain(vn) && lpz_scalar_is_null(text)) {
                    lpz_error_set(c->err, LPZ_EINVAL, "client node has no address");
                    where_at(c, vn->start_mark, sub);
                    lpz_error_hint(c->err, "fill in the client's IP address or host name, e.g. 127.0.0.1");
                    goto fail;
                }
                if (strlen(text) >= LPZ_CONFIG_NAME_MAX) {
                    lpz_error_set(c->err, LPZ_EINVAL, "address is too long");
                    where_at(c, vn->start_mark, sub);
                    goto fail;
                }
                if (bad_address(c, text)) {
                    where_at(c, vn->start_mark, sub);
                    goto fail;
                }
                address = text;
            } else if (!strcmp(kname, "port")) {
                port_mark = vn->start_mark;
                if (!parse_port_range(text, &lo, &hi) || lo < 1 || hi > 65535 || lo > hi) {
                    lpz_error_set(c->err, LPZ_EINVAL, "bad port '%.*s%s'", LPZ_SHOWN(text));
                    where_at(c, vn->start_mark, sub);
                    lpz_error_hint(c->err, "write a port 1-65535 or a range such as 5000-5003 (low-high)");
                    goto fail;
                }
            } else {
                const char *known[] = {"address", "port"};
                int best = lpz_closest(kname, known, 2);
                lpz_error_set(c->err, LPZ_ENOTFOUND, "unknown key '%s' in a client node", kname);
                where_at(c, kn ? kn->start_mark : item->start_mark, sub);
                if (best >= 0)
                    lpz_error_hint(c->err, "did you mean '%s'?", known[best]);
                else
                    lpz_error_hint(c->err, "a client node has only address and port");
                goto fail;
            }
        }
        if (!address) {
            lpz_error_set(c->err, LPZ_EINVAL, "client node has no address");
            where_at(c, item->start_mark, path);
            lpz_error_hint(c->err, "add 'address: <IP or host name>'");
            goto fail;
        }
        if (count + (hi - lo + 1) > LPZ_CONFIG_MAX_NODES) {
            lpz_error_set(c->err, LPZ_EINVAL, "more than %d client nodes", LPZ_CONFIG_MAX_NODES);
            where_at(c, port_mark, path);
            lpz_error_hint(c->err, "check the port ranges");
            goto fail;
        }
        for (int port = lo; port <= hi; port++) {
            if (count == cap) {
                cap = cap ? cap * 2 : 8;
                lpz_config_node *nn = realloc(nodes, (size_t)cap * sizeof *nn);
                if (!nn) {
                    lpz_error_set(c->err, LPZ_ENOMEM, "out of memory");
                    goto fail;
                }
                nodes = nn;
            }
            memset(&nodes[count], 0, sizeof nodes[count]);
            memcpy(nodes[count].address, address, strlen(address));
            nodes[count].port = port;
            count++;
        }
    }
    free(cfg->general.distribution.client_nodes);
    cfg->general.distribution.client_nodes = nodes;
    cfg->general.distribution.n_client_nodes = count;
    return LPZ_OK;
fail:
    free(nodes);
    return c->err ? c->err->code : LPZ_EINVAL;
}

static int apply_key(parse_ctx *c, yaml_document_t *doc, const lpz_config_key *k, yaml_node_t *val)
{
    char loc[LOC_MAX];
    loc_of(c, val->start_mark, loc, sizeof loc);
    int rc;
    if (k->type == LPZ_CFG_NODES) {
        rc = apply_nodes(c, doc, k, val);
    } else if (val->type != YAML_SCALAR_NODE) {
        lpz_error_set(c->err, LPZ_EINVAL, "%s expects %s, got %s", last_component(k->path),
                      lpz_config_type_name(k->type), node_kind(val));
        where_at(c, val->start_mark, k->path);
        if (c->cli)
            lpz_error_hint(c->err, "write --set %s=%s (a single value)", k->path, k->default_value);
        else
            lpz_error_hint(c->err, "write '%s: %s' (a single value)", last_component(k->path), k->default_value);
        return LPZ_EINVAL;
    } else {
        const char *text = scalar_text(val);
        const char *tag = user_tag(val);
        char expanded[LPZ_CONFIG_PATH_MAX];
        if (tag && !strcmp(tag, "!ENV")) {
            if ((rc = expand_env(c, val->start_mark, k->path, text, expanded, sizeof expanded)))
                return rc;
            text = expanded;
        }
        rc = assign_scalar(c->cfg, k, text, is_plain(val) && !tag, c->cli, c->err);
        if (rc)
            where_at(c, val->start_mark, k->path);
    }
    if (rc == LPZ_OK && record_where(c->cfg, k, loc))
        return lpz_error_set(c->err, LPZ_ENOMEM, "out of memory");
    return rc;
}

static int apply_mapping(parse_ctx *c, yaml_document_t *doc, const char *prefix, yaml_node_t *map)
{
    if (++c->nesting > MAX_NESTING) {
        lpz_error_set(c->err, LPZ_EFORMAT, "mappings nested more than %d deep", MAX_NESTING);
        where_at(c, map->start_mark, prefix);
        lpz_error_hint(c->err, "check for recursive YAML aliases");
        return LPZ_EFORMAT;
    }
    int rc = LPZ_OK;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top && !rc; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        if (!kn || !vn)
            continue;
        if (kn->type != YAML_SCALAR_NODE) {
            rc = lpz_error_set(c->err, LPZ_EFORMAT, "a key must be a plain name, not %s", node_kind(kn));
            where_at(c, kn->start_mark, *prefix ? prefix : "(top level)");
            lpz_error_hint(c->err, "write 'name: value'");
            break;
        }
        const char *name = scalar_text(kn);
        /* The same key twice in one mapping is almost always a mistake. */
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *qk = yaml_document_get_node(doc, q->key);
            if (qk && qk->type == YAML_SCALAR_NODE && !strcmp(scalar_text(qk), name)) {
                char first[LOC_MAX];
                loc_of(c, qk->start_mark, first, sizeof first);
                lpz_error_set(c->err, LPZ_EINVAL, "key '%s' appears twice in the same mapping (first at %s)",
                              name, first);
                where_at(c, kn->start_mark, *prefix ? prefix : name);
                lpz_error_hint(c->err, "keep one of them");
                rc = LPZ_EINVAL;
                break;
            }
        }
        if (rc)
            break;
        char path[512];
        if (snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name) >= (int)sizeof path) {
            rc = lpz_error_set(c->err, LPZ_EINVAL, "key path too long");
            where_at(c, kn->start_mark, prefix);
            break;
        }
        if (!*name || strchr(name, '.')) {
            rc = lpz_error_set(c->err, LPZ_EINVAL, "key '%s' is not a plain name", name);
            where_at(c, kn->start_mark, path);
            lpz_error_hint(c->err, "nest sections instead of writing dots in keys");
            break;
        }
        rc = apply_node(c, doc, path, vn, kn->start_mark);
    }
    c->nesting--;
    return rc;
}

/* Applies val at path; key_mark is where its key was written (unknown keys
 * are reported there, bad values at the value). */
static int apply_node(parse_ctx *c, yaml_document_t *doc, const char *path, yaml_node_t *val,
                      yaml_mark_t key_mark)
{
    if (--c->budget < 0) {
        lpz_error_set(c->err, LPZ_EFORMAT, "the document has too many nodes");
        where_at(c, val->start_mark, path);
        lpz_error_hint(c->err, "check for YAML aliases that expand exponentially");
        return LPZ_EFORMAT;
    }
    const char *tag = user_tag(val);
    const char *std = val->tag && !strncmp((const char *)val->tag, "tag:yaml.org,2002:", 18)
                          ? (const char *)val->tag + 18 : NULL;
    if (std && strcmp(std, "str") && strcmp(std, "int") && strcmp(std, "float") && strcmp(std, "bool") &&
        strcmp(std, "null") && strcmp(std, "map") && strcmp(std, "seq")) {
        /* !!binary, !!timestamp, !!set ...: their values would be taken as their text (base64 as a path) */
        lpz_error_set(c->err, LPZ_EFORMAT, "the YAML tag '!!%s' is not supported", std);
        where_at(c, val->start_mark, path);
        lpz_error_hint(c->err, "write the value itself; lpz understands !!str, !!int, !!float, !!bool, !!null, "
                               "!include FILE and !ENV ${VAR}");
        return LPZ_EFORMAT;
    }
    if (tag && c->resolved && (!strcmp(tag, "!include") || !strcmp(tag, "!ENV"))) {
        /* A master's configuration is sent resolved: a tag in it would read
         * a client's files or environment (and quote them in errors). */
        lpz_error_set(c->err, LPZ_EFORMAT, "'%s' is not allowed in %s: it is read as lpz writes it, resolved", tag,
                      c->file);
        where_at(c, val->start_mark, path);
        lpz_error_hint(c->err, "%s would read this machine's %s", tag,
                       !strcmp(tag, "!include") ? "files" : "environment variables");
        return LPZ_EFORMAT;
    }
    if (tag && strcmp(tag, "!include") && strcmp(tag, "!ENV")) {
        lpz_error_set(c->err, LPZ_EFORMAT, "unknown tag '%s'", tag);
        where_at(c, val->start_mark, path);
        lpz_error_hint(c->err, "lpz understands !include FILE and !ENV ${VAR}");
        return LPZ_EFORMAT;
    }
    if (tag && !strcmp(tag, "!include")) {
        if (val->type != YAML_SCALAR_NODE || !*scalar_text(val)) {
            lpz_error_set(c->err, LPZ_EFORMAT, "!include needs a file name");
            where_at(c, val->start_mark, path);
            lpz_error_hint(c->err, "write 'general: !include general.yml'");
            return LPZ_EFORMAT;
        }
        /* A key that is neither a section, nor a key, nor a plugin option is
         * unknown whatever the file holds: said at the key, in this file
         * (not at line 1 of the included one). */
        if (*path && !is_section(path) && !lpz_config_find_key(path) && !plugin_section_of(path))
            return unknown_key(c, key_mark, path);
        /* Relative to the folder of the including file. */
        const char *name = scalar_text(val);
        char display[LPZ_CONFIG_PATH_MAX];
        const char *slash = c->cli ? NULL : strrchr(c->file, '/');
        if (name[0] == '/' || !slash)
            snprintf(display, sizeof display, "%s", name);
        else
            snprintf(display, sizeof display, "%.*s/%s", (int)(slash - c->file), c->file, name);
        return load_file(c, display, path, val->start_mark);
    }

    const lpz_config_key *k = lpz_config_find_key(path);
    if (k)
        return apply_key(c, doc, k, val);
    if (*path && is_section(path)) {
        if (val->type == YAML_SCALAR_NODE && is_plain(val) && lpz_scalar_is_null(scalar_text(val)))
            return LPZ_OK; /* "section:" with nothing under it */
        if (val->type != YAML_MAPPING_NODE) {
            lpz_error_set(c->err, LPZ_EINVAL, "'%s' is a section and needs a mapping, got %s",
                          last_component(path), node_kind(val));
            where_at(c, val->start_mark, path);
            lpz_error_hint(c->err, "put its keys on the following lines, indented");
            return LPZ_EINVAL;
        }
        if (!strcmp(path, "trainer.params.optimize_mixture")) {
            /* As in the original, the section's presence switches it on;
             * an explicit enabled: below still wins. */
            const lpz_config_key *en = lpz_config_find_key("trainer.params.optimize_mixture.enabled");
            char loc[LOC_MAX];
            loc_of(c, val->start_mark, loc, sizeof loc);
            c->cfg->trainer.params.optimize_mixture.enabled = true;
            if (record_where(c->cfg, en, loc))
                return lpz_error_set(c->err, LPZ_ENOMEM, "out of memory");
        }
        return apply_mapping(c, doc, path, val);
    }
    const char *section = plugin_section_of(path);
    if (section) {
        if (val->type != YAML_SCALAR_NODE) {
            lpz_error_set(c->err, LPZ_EINVAL, "plugin option '%s' must be a single value, got %s",
                          last_component(path), node_kind(val));
            where_at(c, val->start_mark, path);
            lpz_error_hint(c->err, "plugin options are strings, numbers or booleans");
            return LPZ_EINVAL;
        }
        char loc[LOC_MAX];
        loc_of(c, val->start_mark, loc, sizeof loc);
        const char *text = scalar_text(val);
        char expanded[LPZ_CONFIG_PATH_MAX];
        if (tag && !strcmp(tag, "!ENV")) {
            int rc = expand_env(c, val->start_mark, path, text, expanded, sizeof expanded);
            if (rc)
                return rc;
            text = expanded;
        } else if (is_plain(val) && lpz_scalar_is_null(text)) {
            text = "";
        }
        if (options_put(options_of(c->cfg, section), last_component(path), text, loc))
            return lpz_error_set(c->err, LPZ_ENOMEM, "out of memory");
        return LPZ_OK;
    }
    if (!*path) {
        if (val->type != YAML_MAPPING_NODE) {
            lpz_error_set(c->err, LPZ_EFORMAT, "a run file must be a mapping of sections, got %s",
                          node_kind(val));
            where_at(c, val->start_mark, "(top level)");
            lpz_error_hint(c->err,
                           "start with 'trainer:', 'dataloader:', 'network:', 'master:' or 'general:'");
            return LPZ_EFORMAT;
        }
        return apply_mapping(c, doc, "", val);
    }
    return unknown_key(c, key_mark, path);
}

#define MAX_FILE_BYTES (16u << 20) /* a run file is a few KB; this guards /dev/zero and friends */

/* Deeper nesting than any run file needs (sections, keys, client lists). */
#define MAX_NESTING 64

/* A scalar holding a NUL character (YAML's "\0" escape) would be cut there
 * by every C string use: "/data\0/etc" became "/data". Refused, naming it. */
static int check_nul(parse_ctx *c, yaml_document_t *doc, const char *display)
{
    for (yaml_node_t *n = doc->nodes.start; n < doc->nodes.top; n++) {
        if (n->type != YAML_SCALAR_NODE || strlen(scalar_text(n)) == n->data.scalar.length)
            continue;
        int rc = lpz_error_set(c->err, LPZ_EINVAL, "the value holds a NUL character (\\0), which no setting takes");
        if (c->cli)
            lpz_error_where(c->err, "%s", display);
        else
            lpz_error_where(c->err, "%s:%lu:%lu", display, (unsigned long)n->start_mark.line + 1,
                            (unsigned long)n->start_mark.column + 1);
        lpz_error_hint(c->err, "remove the \\0 escape");
        return rc;
    }
    return LPZ_OK;
}

/* Walks data's YAML events and refuses nesting deeper than MAX_NESTING,
 * naming the file, line and column. Syntax errors are left to the loader
 * (which reports them as before). */
static int check_nesting(parse_ctx *c, const char *data, size_t size, const char *display)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return lpz_error_set(c->err, LPZ_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, size);
    int depth = 0, rc = LPZ_OK;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev))
            break; /* the loader reports it */
        yaml_event_type_t type = ev.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > MAX_NESTING) {
                rc = lpz_error_set(c->err, LPZ_EFORMAT, "YAML nested more than %d deep", MAX_NESTING);
                lpz_error_where(c->err, "%s:%lu:%lu", display, (unsigned long)ev.start_mark.line + 1,
                                (unsigned long)ev.start_mark.column + 1);
                lpz_error_hint(c->err, "a run file needs a few levels (sections, keys, lists of clients)");
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (rc || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return rc;
}

static int load_text(parse_ctx *c, const char *display, char *real, const char *data, size_t size,
                     const char *path, yaml_mark_t from);

/* Reads one YAML file and applies its root at `path` ("" = the whole
 * config). `from` is where the !include was written (unused at the top). */
static int load_file(parse_ctx *c, const char *display, const char *path, yaml_mark_t from)
{
    int top = c->depth == 0;
    struct stat st;
    const char *kind, *why = NULL;
    char kind_msg[64];
    int e = 0;
    FILE *f = lpz_fopen_regular(display, &st, &kind); /* a FIFO is refused, not waited on */
    if (!f && kind) {
        snprintf(kind_msg, sizeof kind_msg, "not a regular file (%s)", kind);
        why = kind_msg;
    } else if (!f)
        e = errno;
    else if ((unsigned long long)st.st_size > MAX_FILE_BYTES)
        why = "larger than 16 MB";
    if (e || why) {
        int code = e == ENOENT ? LPZ_ENOTFOUND : e ? LPZ_EIO : LPZ_EINVAL;
        const char *reason = e ? strerror(e) : why;
        if (top) {
            lpz_error_set(c->err, code, "cannot read the run file: %s", reason);
            lpz_error_where(c->err, "%s", display);
            lpz_error_hint(c->err, "check the path given with -f");
        } else {
            lpz_error_set(c->err, code, "cannot read included file '%s': %s", display, reason);
            where_at(c, from, path);
            lpz_error_hint(c->err,
                           "!include paths are relative to the folder of the file that contains them");
        }
        if (f)
            fclose(f);
        return code;
    }
    /* read to the end, not to st_size: files of /proc report size 0 */
    size_t cap = (size_t)st.st_size + 4096, size = 0;
    char *data = malloc(cap + 1);
    char *real = realpath(display, NULL);
    int read_error = 0;
    while (data && real && !read_error) {
        size += fread(data + size, 1, cap - size, f);
        read_error = ferror(f);
        if (read_error || feof(f))
            break;
        char *more = size > MAX_FILE_BYTES ? NULL : realloc(data, 2 * cap + 1);
        if (!more && size > MAX_FILE_BYTES)
            break;
        if (!more) {
            free(data);
            data = NULL;
            break;
        }
        data = more;
        cap *= 2;
    }
    if (!data || !real) {
        free(data);
        free(real);
        fclose(f);
        return lpz_error_set(c->err, LPZ_ENOMEM, "out of memory");
    }
    fclose(f);
    if (read_error || size > MAX_FILE_BYTES) { /* the latter: it grew after fstat */
        free(data);
        free(real);
        if (read_error)
            lpz_error_set(c->err, LPZ_EIO, "reading '%s' failed", display);
        else
            lpz_error_set(c->err, LPZ_EINVAL, "cannot read %s: larger than 16 MB", display);
        if (top)
            lpz_error_where(c->err, "%s", display);
        else
            where_at(c, from, path);
        return c->err->code;
    }
    int rc = load_text(c, display, real, data, size, path, from);
    free(data);
    return rc;
}

/* Parses YAML text (named `display`, identified by `real` for the cycle
 * check; load_text owns and frees real) and applies its root at path. */
static int load_text(parse_ctx *c, const char *display, char *real, const char *data, size_t size,
                     const char *path, yaml_mark_t from)
{
    int top = c->depth == 0;
    for (int i = 0; i < c->depth; i++) {
        if (strcmp(c->chain[i], real))
            continue;
        char chain[400] = "";
        size_t used = 0;
        for (int j = i; j < c->depth && used + 1 < sizeof chain; j++) {
            int w = snprintf(chain + used, sizeof chain - used, "%s -> ", c->names[j]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        lpz_error_set(c->err, LPZ_EINVAL, "include cycle: %s%s", chain, display);
        where_at(c, from, path);
        lpz_error_hint(c->err, "remove one of the !include lines of that chain");
        free(real);
        return LPZ_EINVAL;
    }
    if (c->depth == MAX_INCLUDE_DEPTH) {
        lpz_error_set(c->err, LPZ_EINVAL, "includes nested more than %d deep", MAX_INCLUDE_DEPTH);
        where_at(c, from, path);
        lpz_error_hint(c->err, "flatten the chain of !include files");
        free(real);
        return LPZ_EINVAL;
    }

    const char *saved_file = c->file;
    c->chain[c->depth] = real;
    c->names[c->depth] = (char *)display;
    c->depth++;
    c->file = display;

    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = LPZ_OK, have_doc = 0;
    if (!yaml_parser_initialize(&parser)) {
        rc = lpz_error_set(c->err, LPZ_ENOMEM, "out of memory");
        goto out_file;
    }
    /* libyaml's loader slows down quadratically with nesting (a 200 KB file
     * of '[' took 45 s, 2 MB hours): events first, refused past MAX_NESTING */
    if ((rc = check_nesting(c, data, size, display)))
        goto out_parser;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, size);
    if (!yaml_parser_load(&parser, &doc)) {
        unsigned long line = (unsigned long)parser.problem_mark.line + 1,
                      col = (unsigned long)parser.problem_mark.column + 1;
        char byte[48] = "";
        if (parser.error == YAML_READER_ERROR) {
            /* a character the reader refuses (not UTF-8, a control character): libyaml gives its offset only,
             * the mark stayed at 1:1 */
            size_t off = parser.problem_offset < size ? parser.problem_offset : size;
            line = 1, col = 1;
            for (size_t i = 0; i < off; i++) /* columns in characters, as libyaml's other marks count them */
                if (data[i] == '\n')
                    line++, col = 1;
                else if (((unsigned char)data[i] & 0xc0u) != 0x80u)
                    col++;
            /* the octet for a UTF-8 error, the character for the others (a control character, U+FFFE, ...) */
            if (parser.problem_value >= 0 && parser.problem && strstr(parser.problem, "octet"))
                snprintf(byte, sizeof byte, " (byte 0x%02x)", (unsigned)parser.problem_value & 0xffu);
            else if (parser.problem_value >= 0)
                snprintf(byte, sizeof byte, " (U+%04X)", (unsigned)parser.problem_value);
        }
        rc = lpz_error_set(c->err, LPZ_EFORMAT, "malformed YAML: %s%s%s%s",
                           parser.problem ? parser.problem : "error", byte, parser.context ? " " : "",
                           parser.context ? parser.context : "");
        lpz_error_where(c->err, "%s:%lu:%lu", display, line, col);
        lpz_error_hint(c->err, parser.error == YAML_READER_ERROR
                                   ? "a run file is UTF-8 text without control characters: save it as UTF-8, or "
                                     "remove the character (a binary file given by mistake?)"
                                   : "check the indentation (spaces, not tabs) and that every key is followed by ': '");
        goto out_parser;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root ||
        (root->type == YAML_SCALAR_NODE && is_plain(root) && lpz_scalar_is_null(scalar_text(root)))) {
        if (top) {
            rc = lpz_error_set(c->err, LPZ_EFORMAT, "the file is empty");
            lpz_error_where(c->err, "%s", display);
        } else {
            rc = lpz_error_set(c->err, LPZ_EFORMAT, "included file '%s' is empty", display);
            c->file = saved_file; /* the !include line is in the including file */
            where_at(c, from, path);
        }
        lpz_error_hint(c->err, "a run file has sections trainer, dataloader, network, master and general; "
                               "see configuration/quickstart/");
        goto out_doc;
    }
    if (!top && root->type != YAML_MAPPING_NODE && is_section(path)) {
        rc = lpz_error_set(c->err, LPZ_EINVAL, "included file must hold a mapping for section '%s', got %s",
                           path, node_kind(root));
        lpz_error_where(c->err, "%s:%lu:%lu", display, (unsigned long)root->start_mark.line + 1,
                        (unsigned long)root->start_mark.column + 1);
        lpz_error_hint(c->err, "write the section's keys at the top level of the included file");
        goto out_doc;
    }
    rc = check_nul(c, &doc, display);
    if (rc == LPZ_OK)
        rc = apply_node(c, &doc, path, root, root->start_mark);
    if (rc == LPZ_OK) {
        /* A second document in the same file would be silently ignored. */
        yaml_document_t more;
        if (yaml_parser_load(&parser, &more)) {
            yaml_node_t *r2 = yaml_document_get_root_node(&more);
            if (r2) {
                rc = lpz_error_set(c->err, LPZ_EFORMAT, "the file holds more than one YAML document");
                lpz_error_where(c->err, "%s:%lu:%lu", display, (unsigned long)r2->start_mark.line + 1,
                                (unsigned long)r2->start_mark.column + 1);
                lpz_error_hint(c->err, "remove the '---' line and merge the documents");
            }
            yaml_document_delete(&more);
        }
    }
out_doc:
    if (have_doc)
        yaml_document_delete(&doc);
out_parser:
    yaml_parser_delete(&parser);
out_file:
    c->depth--;
    c->file = saved_file;
    free(c->chain[c->depth]);
    c->chain[c->depth] = NULL;
    return rc;
}

/* ---- public: load, set, read ------------------------------------------ */

int lpz_config_load(const char *path, lpz_config *cfg, lpz_error *err)
{
    lpz_config_init_defaults(cfg);
    lpz_error_clear(err);
    if (!path || !*path)
        return lpz_error_set(err, LPZ_EINVAL, "no run file given");
    if (!copy_string(cfg->source, sizeof cfg->source, path))
        return lpz_error_set(err, LPZ_EINVAL, "run file path too long");
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(cfg->source_dir, sizeof cfg->source_dir, ".");
    else if (slash == path)
        snprintf(cfg->source_dir, sizeof cfg->source_dir, "/");
    else
        snprintf(cfg->source_dir, sizeof cfg->source_dir, "%.*s", (int)(slash - path), path);
    parse_ctx c = {.cfg = cfg, .err = err, .file = path, .budget = NODE_BUDGET};
    yaml_mark_t none = {0, 0, 0};
    return load_file(&c, path, "", none);
}

static int load_buffer(const char *data, size_t size, const char *name, int resolved, lpz_config *cfg,
                       lpz_error *err)
{
    lpz_config_init_defaults(cfg);
    lpz_error_clear(err);
    if (!data || !name || !*name)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_config_load: NULL argument");
    if (!copy_string(cfg->source, sizeof cfg->source, name))
        return lpz_error_set(err, LPZ_EINVAL, "run file name too long");
    snprintf(cfg->source_dir, sizeof cfg->source_dir, ".");
    char *real = strdup(name);
    if (!real)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    parse_ctx c = {.cfg = cfg, .err = err, .file = name, .budget = NODE_BUDGET, .resolved = resolved};
    yaml_mark_t none = {0, 0, 0};
    return load_text(&c, name, real, data, size, "", none);
}

int lpz_config_load_buffer(const char *data, size_t size, const char *name, lpz_config *cfg, lpz_error *err)
{
    return load_buffer(data, size, name, 0, cfg, err);
}

int lpz_config_load_resolved(const char *data, size_t size, const char *name, lpz_config *cfg, lpz_error *err)
{
    return load_buffer(data, size, name, 1, cfg, err);
}

int lpz_config_set(lpz_config *cfg, const char *path, const char *value, lpz_error *err)
{
    lpz_error_clear(err);
    if (!cfg || !path || !value)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_config_set: NULL argument");
    parse_ctx c = {.cfg = cfg, .err = err, .file = "--set", .cli = 1, .budget = NODE_BUDGET};
    const lpz_config_key *k = lpz_config_find_key(path);
    if (!k && !plugin_section_of(path)) {
        yaml_mark_t none = {0, 0, 0};
        if (!*path || *path == '.' || path[strlen(path) - 1] == '.' || strstr(path, "..")) {
            lpz_error_set(err, LPZ_EINVAL, "'%s' is not a key path", path);
            lpz_error_where(err, "--set %s", path);
            lpz_error_hint(err, "write --set section.key=value, e.g. --set trainer.n_iterations=5");
            return LPZ_EINVAL;
        }
        if (is_section(path)) {
            lpz_error_set(err, LPZ_EINVAL, "'%s' is a section, not a key", path);
            lpz_error_where(err, "--set %s", path);
            lpz_error_hint(err, "set one of its keys, e.g. --set %s.<key>=value", path);
            return LPZ_EINVAL;
        }
        return unknown_key(&c, none, path);
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)value, strlen(value));
    int rc;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = lpz_error_set(err, LPZ_EINVAL, "malformed value '%s': %s", value,
                           parser.problem ? parser.problem : "YAML error");
        lpz_error_where(err, "--set %s", path);
        lpz_error_hint(err, "quote text with special characters: --set '%s=\"...\"'", path);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        /* "key=" : an empty plain scalar, i.e. YAML null. */
        yaml_document_delete(&doc);
        yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1);
        yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)"", 0, YAML_PLAIN_SCALAR_STYLE);
        root = yaml_document_get_root_node(&doc);
    }
    char here[300];
    snprintf(here, sizeof here, "--set %s", path);
    rc = !root ? lpz_error_set(err, LPZ_ENOMEM, "out of memory") : check_nul(&c, &doc, here);
    if (rc == LPZ_OK) { /* "7\n---\n..." : what follows the first document would be ignored (checked first: a
                         * refused override changes nothing) */
        yaml_document_t more;
        if (!yaml_parser_load(&parser, &more) || yaml_document_get_root_node(&more)) {
            rc = lpz_error_set(err, LPZ_EINVAL, "the value '%s' holds more than one YAML document", value);
            lpz_error_where(err, "--set %s", path);
            lpz_error_hint(err, "give one value; quote text with special characters: --set '%s=\"...\"'", path);
        }
        if (!parser.error)
            yaml_document_delete(&more);
    }
    if (rc == LPZ_OK)
        rc = apply_node(&c, &doc, path, root, root->start_mark);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int lpz_config_set_assignment(lpz_config *cfg, const char *assignment, lpz_error *err)
{
    const char *eq = assignment ? strchr(assignment, '=') : NULL;
    if (!eq || eq == assignment) {
        lpz_error_set(err, LPZ_EINVAL, "'%s' is not key=value", assignment ? assignment : "");
        lpz_error_where(err, "--set");
        lpz_error_hint(err, "write --set trainer.n_iterations=5");
        return LPZ_EINVAL;
    }
    char path[512];
    if ((size_t)(eq - assignment) >= sizeof path) {
        lpz_error_set(err, LPZ_EINVAL, "key path too long");
        lpz_error_where(err, "--set");
        return LPZ_EINVAL;
    }
    snprintf(path, sizeof path, "%.*s", (int)(eq - assignment), assignment);
    return lpz_config_set(cfg, path, eq + 1, err);
}

int lpz_config_read(const char *path, const char *const *sets, int n_sets, lpz_config *cfg, lpz_error *err)
{
    int rc = lpz_config_load(path, cfg, err);
    for (int i = 0; rc == LPZ_OK && i < n_sets; i++)
        rc = lpz_config_set_assignment(cfg, sets[i], err);
    if (rc == LPZ_OK)
        rc = lpz_config_validate(cfg, err);
    return rc;
}

/* ---- queries ------------------------------------------------------------- */

const char *lpz_config_where(const lpz_config *cfg, const char *path)
{
    const lpz_config_key *k = lpz_config_find_key(path);
    if (!cfg || !k || !cfg->where || !cfg->where[key_index(k)])
        return "default";
    return cfg->where[key_index(k)];
}

int lpz_config_neighbourhood_size(int grid_size)
{
    return grid_size <= 1 ? 1 : grid_size == 2 ? 3 : 5;
}

static int isqrt_exact(int n)
{
    int r = (int)lround(sqrt((double)n));
    return r * r == n ? r : -1;
}

int lpz_config_grid_size(const lpz_config *cfg)
{
    if (cfg->general.grid_size > 0)
        return cfg->general.grid_size;
    int n = cfg->general.distribution.n_client_nodes;
    if (n > 0) {
        int r = isqrt_exact(n);
        return r > 0 ? r : 1;
    }
    return 1;
}

/* ---- validation ---------------------------------------------------------- */

void lpz_config_locate(const char *where, const char *path, char *out, size_t size)
{
    if (!*where)
        snprintf(out, size, "%s", path);
    else if (!strcmp(where, "default"))
        snprintf(out, size, "%s (default)", path);
    else if (!strcmp(where, "--set"))
        snprintf(out, size, "--set %s", path);
    else
        snprintf(out, size, "%s: %s", where, path);
}

/* Sets where to "<where the key was set>: <path>" or "<path> (default)". */
static void where_key(const lpz_config *cfg, const char *path, lpz_error *err)
{
    char w[600];
    lpz_config_locate(lpz_config_where(cfg, path), path, w, sizeof w);
    lpz_error_where(err, "%s", w);
}

int lpz_config_validate(lpz_config *cfg, lpz_error *err)
{
    lpz_error_clear(err);
    size_t n;
    const lpz_config_key *k = lpz_config_keys(&n);
    /* Single values, again: the struct may have been changed directly. */
    for (size_t i = 0; i < n; i++) {
        double v;
        const void *f = cfield(cfg, &k[i]);
        if (k[i].type == LPZ_CFG_INT)
            v = k[i].size == sizeof(int64_t) ? (double)*(const int64_t *)f : (double)*(const int *)f;
        else if (k[i].type == LPZ_CFG_FLOAT)
            v = *(const double *)f;
        else
            continue;
        if (range_check(&k[i], v, err)) {
            where_key(cfg, k[i].path, err);
            return LPZ_EINVAL;
        }
    }
    static const char *const required[] = {"dataloader.dataset_name", "network.name", "general.output_dir"};
    for (size_t i = 0; i < 3; i++) {
        const lpz_config_key *rk = lpz_config_find_key(required[i]);
        if (!*(const char *)cfield(cfg, rk)) {
            lpz_error_set(err, LPZ_EINVAL, "%s must not be empty", last_component(rk->path));
            where_key(cfg, rk->path, err);
            lpz_error_hint(err, "%s: the %s", rk->path, rk->description);
            return LPZ_EINVAL;
        }
    }

    const struct {
        const char *path;
        int value;
    } enums[] = {
        {"general.logging.log_level", cfg->general.logging.log_level},
        {"general.logging.image_format", cfg->general.logging.image_format},
        {"general.matmul_precision", cfg->general.matmul_precision},
        {"trainer.name", cfg->trainer.name},
        {"trainer.mixture_generator_samples_mode", cfg->trainer.mixture_generator_samples_mode},
        {"trainer.params.score.type", cfg->trainer.params.score.type},
        {"trainer.params.fitness.fitness_mode", cfg->trainer.params.fitness.fitness_mode},
        {"network.loss", cfg->network.loss},
        {"network.randomized", cfg->network.randomized},
    };
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
        if (!strcmp(lpz_config_enum_text(enums[i].path, enums[i].value), "?")) {
            lpz_error_set(err, LPZ_EINVAL, "invalid value %d", enums[i].value);
            where_key(cfg, enums[i].path, err);
            return LPZ_EINVAL;
        }
    }

    int nodes = cfg->general.distribution.n_client_nodes;
    if (cfg->general.grid_size == 0 && nodes > 0 && isqrt_exact(nodes) < 0) {
        int r = (int)floor(sqrt((double)nodes));
        lpz_error_set(err, LPZ_EINVAL, "%d client nodes do not form a square grid", nodes);
        where_key(cfg, "general.distribution.client_nodes", err);
        lpz_error_hint(err,
                       "list a square number of clients (1, 4, 9, 16, ...: e.g. %d or %d), or set "
                       "general.grid_size",
                       r * r, (r + 1) * (r + 1));
        return LPZ_EINVAL;
    }

    const typeof(cfg->trainer.params) *p = &cfg->trainer.params; /* read-only view */
    int K = lpz_config_grid_size(cfg);
    int nb = lpz_config_neighbourhood_size(K);
    long pool = (long)p->population_size * nb;
    if (p->enable_selection && p->tournament_size > pool &&
        !strcmp(lpz_config_where(cfg, "trainer.params.tournament_size"), "default")) {
        /* Nobody asked for 2: fit the default to a small neighbourhood
         * (the original crashes on its own 1x1 defaults). */
        cfg->trainer.params.tournament_size = (int)pool;
    }
    if (p->enable_selection && p->tournament_size > pool) {
        lpz_error_set(err, LPZ_EINVAL,
                      "tournament_size %d is larger than the neighbourhood population %ld "
                      "(population_size %d x %d cell%s of a %dx%d grid)",
                      p->tournament_size, pool, p->population_size, nb, nb == 1 ? "" : "s", K, K);
        where_key(cfg, "trainer.params.tournament_size", err);
        lpz_error_hint(err,
                       "set trainer.params.tournament_size to at most %ld, raise population_size, or set "
                       "trainer.params.enable_selection: false",
                       pool);
        return LPZ_EINVAL;
    }
    if (p->n_replacements > p->population_size) {
        lpz_error_set(err, LPZ_EINVAL, "n_replacements %d is larger than population_size %d",
                      p->n_replacements, p->population_size);
        where_key(cfg, "trainer.params.n_replacements", err);
        lpz_error_hint(err, "at most population_size individuals can be replaced");
        return LPZ_EINVAL;
    }
    if (cfg->general.checkpoint_period > cfg->trainer.n_iterations) {
        lpz_error_set(err, LPZ_EINVAL, "checkpoint_period %d is larger than n_iterations %d",
                      cfg->general.checkpoint_period, cfg->trainer.n_iterations);
        where_key(cfg, "general.checkpoint_period", err);
        lpz_error_hint(err, "use 0 (never) or a period of at most trainer.n_iterations");
        return LPZ_EINVAL;
    }
    if (p->optimize_mixture.enabled && (p->score.type == LPZ_SCORE_NONE || !p->score.enabled)) {
        lpz_error_set(err, LPZ_EINVAL, "optimize_mixture needs a score, but %s",
                      p->score.enabled ? "score.type is none" : "score.enabled is false");
        where_key(cfg, "trainer.params.optimize_mixture.enabled", err);
        lpz_error_hint(err, "set trainer.params.score.%s, or remove the optimize_mixture section",
                       p->score.enabled ? "type: fid" : "enabled: true");
        return LPZ_EINVAL;
    }
    const typeof(cfg->general.distribution.tls) *tls = &cfg->general.distribution.tls;
    if (tls->enabled && (!tls->cert[0] || !tls->key[0])) {
        lpz_error_set(err, LPZ_EINVAL, "tls is enabled but %s is empty", !tls->cert[0] ? "cert" : "key");
        where_key(cfg, "general.distribution.tls.enabled", err);
        lpz_error_hint(err, "set general.distribution.tls.cert and .key to PEM files, or disable tls");
        return LPZ_EINVAL;
    }
    return LPZ_OK;
}

/* ---- dump ------------------------------------------------------------------ */

static void put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void put_double(FILE *out, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    /* Keep a decimal point so a reader sees a float. */
    if (!strpbrk(buf, ".eE"))
        strcat(buf, ".0");
    fputs(buf, out);
}

static void put_value(FILE *out, const lpz_config *cfg, const lpz_config_key *k, int indent)
{
    const void *f = cfield(cfg, k);
    switch (k->type) {
    case LPZ_CFG_BOOL: fputs(*(const bool *)f ? "true" : "false", out); break;
    case LPZ_CFG_INT:
        if (k->size == sizeof(int64_t))
            fprintf(out, "%lld", (long long)*(const int64_t *)f);
        else
            fprintf(out, "%d", *(const int *)f);
        break;
    case LPZ_CFG_FLOAT: put_double(out, *(const double *)f); break;
    case LPZ_CFG_STRING: put_quoted(out, (const char *)f); break;
    case LPZ_CFG_ENUM: fputs(lpz_config_enum_text(k->path, *(const int *)f), out); break;
    case LPZ_CFG_NODES: {
        int n = cfg->general.distribution.n_client_nodes;
        if (n == 0) {
            fputs("[]", out);
            break;
        }
        for (int i = 0; i < n; i++) {
            fprintf(out, "\n%*s- {address: ", indent * 2 + 2, "");
            put_quoted(out, cfg->general.distribution.client_nodes[i].address);
            fprintf(out, ", port: %d}", cfg->general.distribution.client_nodes[i].port);
        }
        break;
    }
    }
}

/* What a run folder's copy makes absolute (lpz_config_dump_run); NULL in
 * lpz_config_dump. */
typedef struct dump_paths {
    const lpz_option_spec *spec[2]; /* dataloader, network */
    const char *source_dir;         /* the run file's folder */
} dump_paths;

/* The origins of values read from a configuration lpz wrote (a run's
 * config.yml, read again by --resume or lpz config): its lines' comments
 * say where each value came from first, and a new dump keeps them (they
 * all became "RUN/config.yml:12:3"). One file cached. */
typedef struct origins {
    char file[PATH_MAX];
    char *text; /* NULL: not read, or not written by lpz */
    size_t len;
} origins;

static void origins_load(origins *o, const char *file)
{
    if (!strcmp(o->file, file))
        return;
    free(o->text);
    o->text = NULL;
    snprintf(o->file, sizeof o->file, "%s", file);
    struct stat st;
    const char *kind;
    FILE *f = lpz_fopen_regular(file, &st, &kind);
    if (!f)
        return;
    static const char head[] = "# lpz ";
    if (st.st_size > 0 && st.st_size < (1 << 24) && (o->text = malloc((size_t)st.st_size + 1))) {
        o->len = fread(o->text, 1, (size_t)st.st_size, f);
        o->text[o->len] = '\0';
        if (strncmp(o->text, head, sizeof head - 1) || !strstr(o->text, ": the fully resolved configuration")) {
            free(o->text);
            o->text = NULL;
        }
    }
    fclose(f);
}

/* For a value set at "FILE:LINE:COL" of a configuration lpz wrote: that
 * line's comment in out ("" when it has none: a default there), 1. 0 when
 * `where` is not such a place. */
static int origin_of(origins *o, const char *where, char *out, size_t size)
{
    const char *c2 = strrchr(where, ':');
    const char *c1 = c2 && c2 > where ? memrchr(where, ':', (size_t)(c2 - where)) : NULL;
    if (!c1 || c1 == where || (size_t)(c1 - where) >= sizeof o->file)
        return 0;
    char *end;
    long line = strtol(c1 + 1, &end, 10);
    if (end != c2 || line < 2 || !c2[1])
        return 0;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%.*s", (int)(c1 - where), where);
    origins_load(o, file);
    if (!o->text)
        return 0;
    const char *p = o->text;
    for (long l = 1; l < line && p; l++)
        p = (p = strchr(p, '\n')) ? p + 1 : NULL;
    if (!p)
        return 0;
    const char *eol = p + strcspn(p, "\n");
    const char *v = strstr(p, ": "); /* the value, then its comment: a quoted value may hold "  # " */
    if (!v || v > eol)
        return 0;
    v += 2;
    if (*v == '"')
        for (v++; v < eol && *v != '"'; v++)
            v += *v == '\\' && v + 1 < eol;
    const char *h = strstr(v, "  # ");
    out[0] = '\0';
    if (h && h < eol)
        snprintf(out, size, "%.*s", (int)(eol - h - 4), h + 4);
    return 1;
}

/* The core keys whose values are files the run reads, used relative to
 * the current folder. Not general.output_dir: it is where results go (and
 * caches), and a run folder moved to another machine would send them to
 * the first machine's path, or fail there. */
static int is_path_key(const char *path)
{
    static const char *keys[] = {"trainer.params.score.feature_model",
                                 "general.distribution.tls.cert", "general.distribution.tls.key",
                                 "general.distribution.tls.ca"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(path, keys[i]))
            return 1;
    return 0;
}

int lpz_config_locate_path(const char *value, const char *dir, char *abs)
{
    if (!value[0])
        return 0;
    if (realpath(value, abs))
        return 1;
    char try[2 * LPZ_CONFIG_PATH_MAX + 2];
    if (value[0] == '/' || !dir || !dir[0] || snprintf(try, sizeof try, "%s/%s", dir, value) >= (int)sizeof try)
        return 0;
    return realpath(try, abs) != NULL;
}

/* A relative value that names an existing file or folder, absolute (the
 * run folder's copy); 0 for an absolute or empty one, or one naming nothing. */
static int absolute_path(const char *value, const char *dir, char *abs)
{
    return value[0] != '/' && lpz_config_locate_path(value, dir, abs);
}

static void put_options(FILE *out, const lpz_config_options *o, const lpz_option_spec *spec,
                        const dump_paths *paths, origins *orig)
{
    for (int i = 0; i < o->count; i++) {
        char first[1024];
        int rel_path = 0; /* a path made relative by hand in a run's config.yml: made absolute again, below */
        for (const lpz_option_spec *s = spec; s && s->name; s++)
            if (!strcmp(s->name, o->items[i].key))
                rel_path = s->type == LPZ_OPT_PATH && o->items[i].value[0] != '/';
        if (!rel_path && origin_of(orig, o->items[i].where, first, sizeof first) && first[0]) {
            fprintf(out, "  %s: ", o->items[i].key);
            put_quoted(out, o->items[i].value);
            fprintf(out, "  # %s\n", first);
            continue;
        }
        int is_path = 0;
        for (const lpz_option_spec *s = spec; s && s->name; s++)
            if (!strcmp(s->name, o->items[i].key))
                is_path = s->type == LPZ_OPT_PATH;
        char abs[PATH_MAX];
        fprintf(out, "  %s: ", o->items[i].key);
        if (is_path && absolute_path(o->items[i].value, paths->source_dir, abs)) {
            put_quoted(out, abs);
            fprintf(out, "  # plugin option, %s, given as ", o->items[i].where);
            put_quoted(out, o->items[i].value); /* escaped: a newline in it would end the comment */
            fputc('\n', out);
        } else {
            put_quoted(out, o->items[i].value);
            fprintf(out, "  # plugin option, %s\n", o->items[i].where);
        }
    }
}

static int dump(const lpz_config *cfg, const dump_paths *paths, FILE *out, lpz_error *err)
{
    size_t n;
    const lpz_config_key *k = lpz_config_keys(&n);
    fprintf(out, "# lpz %s: the fully resolved configuration%s%s\n", LPZ_VERSION,
            cfg->source[0] ? " of " : "", cfg->source);
    origins orig = {"", NULL, 0};
    const char *prev = "";
    for (size_t i = 0; i < n; i++) {
        const char *path = k[i].path;
        /* Open the sections this key needs that the previous one had not. */
        int common = 0, level = 0;
        const char *a = prev, *b = path;
        while (1) {
            size_t la = strcspn(a, "."), lb = strcspn(b, ".");
            if (!b[lb] || !a[la] || la != lb || strncmp(a, b, la))
                break;
            common++;
            a += la + 1;
            b += lb + 1;
        }
        const char *comp = path;
        for (level = 0; level < common; level++)
            comp += strcspn(comp, ".") + 1;
        if (common == 0 && *prev) {
            /* Leaving a top-level section: its plugin options follow its keys. */
            size_t sl = strcspn(prev, ".");
            if (!strncmp(prev, "dataloader", sl) && sl == 10)
                put_options(out, &cfg->dataloader.options, paths ? paths->spec[0] : NULL, paths, &orig);
            if (!strncmp(prev, "network", sl) && sl == 7)
                put_options(out, &cfg->network.options, paths ? paths->spec[1] : NULL, paths, &orig);
        }
        for (;;) {
            size_t len = strcspn(comp, ".");
            if (!comp[len])
                break;
            fprintf(out, "%*s%.*s:\n", level * 2, "", (int)len, comp);
            comp += len + 1;
            level++;
        }
        int list = k[i].type == LPZ_CFG_NODES && cfg->general.distribution.n_client_nodes > 0;
        fprintf(out, "%*s%s:%s", level * 2, "", comp, list ? "" : " ");
        const char *w = lpz_config_where(cfg, path);
        char abs[PATH_MAX], first[1024];
        int rel_path = is_path_key(path) && ((const char *)cfield(cfg, &k[i]))[0] &&
                       ((const char *)cfield(cfg, &k[i]))[0] != '/';
        if (k[i].type != LPZ_CFG_NODES && !rel_path && origin_of(&orig, w, first, sizeof first)) {
            put_value(out, cfg, &k[i], level); /* (a path there is absolute already) */
            if (first[0])
                fprintf(out, "  # %s", first);
        } else if (paths && is_path_key(path) && absolute_path((const char *)cfield(cfg, &k[i]), NULL, abs)) {
            put_quoted(out, abs);
            fprintf(out, "  # %s%sgiven as ", strcmp(w, "default") ? w : "", strcmp(w, "default") ? ", " : "");
            put_quoted(out, (const char *)cfield(cfg, &k[i]));
        } else {
            put_value(out, cfg, &k[i], level);
            if (strcmp(w, "default") && k[i].type != LPZ_CFG_NODES)
                fprintf(out, "  # %s", w);
        }
        fputc('\n', out);
        prev = path;
    }
    size_t sl = strcspn(prev, ".");
    if (sl == 10 && !strncmp(prev, "dataloader", 10))
        put_options(out, &cfg->dataloader.options, paths ? paths->spec[0] : NULL, paths, &orig);
    if (sl == 7 && !strncmp(prev, "network", 7))
        put_options(out, &cfg->network.options, paths ? paths->spec[1] : NULL, paths, &orig);
    free(orig.text);
    if (fflush(out) || ferror(out))
        return lpz_error_set(err, LPZ_EIO, "writing the configuration failed: %s", strerror(errno));
    return LPZ_OK;
}

int lpz_config_dump(const lpz_config *cfg, FILE *out, lpz_error *err)
{
    return dump(cfg, NULL, out, err);
}

int lpz_config_dump_run(const lpz_config *cfg, const lpz_option_spec *dl_spec, const lpz_option_spec *net_spec,
                        FILE *out, lpz_error *err)
{
    dump_paths paths = {{dl_spec, net_spec}, cfg->source_dir};
    return dump(cfg, &paths, out, err);
}

/* ---- plugin options -------------------------------------------------------- */

int lpz_config_fill_options(const lpz_config *cfg, const char *section, lpz_options *opts, lpz_error *err)
{
    if (!cfg || !section || !opts)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_config_fill_options: NULL argument");
    const lpz_config_options *o =
        !strcmp(section, "dataloader") ? &cfg->dataloader.options : &cfg->network.options;
    if (lpz_options_set_section(opts, section))
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    for (int i = 0; i < o->count; i++) {
        int rc = lpz_options_set(opts, o->items[i].key, o->items[i].value, o->items[i].where, err);
        if (rc == LPZ_ENOTFOUND) {
            /* "batchsize: 100" lands here as a plugin option: point at the core key. */
            size_t n, sl = strlen(section);
            const lpz_config_key *k = lpz_config_keys(&n);
            const char *names[32];
            size_t nn = 0;
            for (size_t j = 0; j < n && nn < 32; j++)
                if (!strncmp(k[j].path, section, sl) && k[j].path[sl] == '.')
                    names[nn++] = k[j].path + sl + 1;
            int best = lpz_closest(o->items[i].key, names, nn);
            if (best >= 0)
                lpz_error_hint(err, "did you mean the core key '%s.%s'?", section, names[best]);
        }
        if (rc)
            return rc;
    }
    return LPZ_OK;
}
