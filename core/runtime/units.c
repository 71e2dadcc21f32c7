/* core/runtime/units.c - the record of the original units a mixture was
 * trained in. See units.h. */
#include "runtime/units.h"

#include "base/file.h"
#include "io/fsutil.h"
#include "io/text.h"

#include <lpz/log.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FORMAT "lpz units 1"
#define MAX_OPTS 64

typedef struct unit_opt {
    char key[128];
    char value[1024];
    char file[PATH_MAX]; /* the value as an existing file or folder, absolute; "" when it names none */
    const char *where;   /* of the configuration's option ("run.yml:3:9", "--set"); not recorded */
} unit_opt;

typedef struct units {
    char dataloader[LPZ_CONFIG_NAME_MAX];
    unit_opt *opts;
    int n_opts;
    int64_t elements; /* floats in a sample */
    int64_t m;        /* recorded elements */
    double *values;   /* 3 x m: what -1, 0 and 1 map to */
} units;

static void units_free(units *u)
{
    free(u->opts);
    free(u->values);
    memset(u, 0, sizeof *u);
}

/* Element k of the m recorded ones. */
static int64_t element_of(int64_t k, int64_t m, int64_t elements)
{
    return (int64_t)((double)k * (double)elements / (double)m);
}

/* What the dataset maps -1, 0 and 1 of each recorded element to. */
static int probe(lpz_dataset *ds, units *u, lpz_error *err)
{
    int64_t numel = lpz_dataset_numel(ds);
    u->elements = numel;
    u->m = numel < LPZ_UNITS_MAX_ELEMENTS ? numel : LPZ_UNITS_MAX_ELEMENTS;
    float *buf = malloc((size_t)(3 * numel) * sizeof *buf);
    u->values = malloc((size_t)(3 * u->m) * sizeof *u->values);
    if (!buf || !u->values) {
        free(buf);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    for (int p = 0; p < 3; p++)
        for (int64_t i = 0; i < numel; i++)
            buf[p * numel + i] = (float)(p - 1);
    int rc = lpz_dataset_to_original_units(ds, buf, 3, err);
    if (!rc)
        for (int p = 0; p < 3; p++)
            for (int64_t k = 0; k < u->m; k++)
                u->values[p * u->m + k] = buf[p * numel + element_of(k, u->m, numel)];
    free(buf);
    return rc;
}

/* The dataloader's options as the configuration gives them; values that
 * name an existing file (relative: to the current folder, else to the
 * configuration's folder, as the dataloaders resolve them) also absolute. */
static int collect_options(const lpz_config *cfg, units *u, lpz_error *err)
{
    snprintf(u->dataloader, sizeof u->dataloader, "%s", cfg->dataloader.dataset_name);
    const lpz_config_options *o = &cfg->dataloader.options;
    int n = o->count < MAX_OPTS ? o->count : MAX_OPTS;
    u->opts = calloc((size_t)(n ? n : 1), sizeof *u->opts);
    if (!u->opts)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        unit_opt *x = &u->opts[u->n_opts++];
        const char *v = o->items[i].value ? o->items[i].value : "";
        size_t len = strlen(v);
        snprintf(x->key, sizeof x->key, "%s", o->items[i].key);
        x->where = o->items[i].where;
        if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0])
            snprintf(x->value, sizeof x->value, "%.*s", (int)(len - 2), v + 1);
        else
            snprintf(x->value, sizeof x->value, "%s", v);
        if (!lpz_config_locate_path(x->value, cfg->source_dir, x->file))
            x->file[0] = '\0';
    }
    return LPZ_OK;
}

/* ---- writing ---- */

int lpz_units_record_make(const lpz_config *cfg, lpz_dataset *ds, char **out, lpz_error *err)
{
    *out = NULL;
    if (!lpz_dataset_has_original_units(ds))
        return LPZ_OK;
    units u;
    memset(&u, 0, sizeof u);
    int rc = collect_options(cfg, &u, err);
    if (!rc)
        rc = probe(ds, &u, err);
    if (rc) {
        units_free(&u);
        return rc;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (!fp) {
        units_free(&u);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    fprintf(fp, "{\n  \"format\": \"%s\",\n  \"about\": \"what this mixture's generator values -1, 0 and 1 "
                "mean in the data's original units, per element of a sample (lpz generate and lpz score compare "
                "the configured data with it)\",\n  \"dataloader\": ",
            FORMAT);
    lpz_json_put_string(fp, u.dataloader);
    fprintf(fp, ",\n  \"options\": [");
    for (int i = 0; i < u.n_opts; i++) {
        fprintf(fp, "%s\n    {\"key\": ", i ? "," : "");
        lpz_json_put_string(fp, u.opts[i].key);
        fprintf(fp, ", \"value\": ");
        lpz_json_put_string(fp, u.opts[i].value);
        if (u.opts[i].file[0]) {
            fprintf(fp, ", \"file\": ");
            lpz_json_put_string(fp, u.opts[i].file);
        }
        fprintf(fp, "}");
    }
    fprintf(fp, "%s],\n  \"elements\": %lld,\n  \"recorded\": %lld,\n  \"probe\": [-1, 0, 1],\n  \"values\": [",
            u.n_opts ? "\n  " : "", (long long)u.elements, (long long)u.m);
    for (int p = 0; p < 3; p++) {
        fprintf(fp, "%s\n    [", p ? "," : "");
        for (int64_t k = 0; k < u.m; k++) {
            double v = u.values[p * u.m + k];
            if (isfinite(v))
                fprintf(fp, "%s%.9g", k ? ", " : "", v);
            else
                fprintf(fp, "%snull", k ? ", " : "");
        }
        fprintf(fp, "]");
    }
    fprintf(fp, "\n  ]\n}\n");
    units_free(&u);
    if (fclose(fp) != 0 || !text) {
        free(text);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    *out = text;
    return LPZ_OK;
}

/* ---- reading: the JSON the writer above produces (any spacing and key
 * order; unknown keys skipped) ---- */

typedef struct reader {
    const char *p;
    int bad;
} reader;

static void ws(reader *r)
{
    while (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r')
        r->p++;
}

static int expect(reader *r, char c)
{
    ws(r);
    if (*r->p != c) {
        r->bad = 1;
        return 0;
    }
    r->p++;
    return 1;
}

/* A string into out (cut to size); NULL out skips it. */
static int read_string(reader *r, char *out, size_t size)
{
    if (!expect(r, '"'))
        return 0;
    size_t n = 0;
    while (*r->p && *r->p != '"') {
        char c = *r->p++;
        if (c == '\\') {
            if (!*r->p) /* a backslash at the very end */
                break;
            c = *r->p++;
            if (c == 'u') {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = *r->p;
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) {
                        r->bad = 1;
                        return 0;
                    }
                    v = v * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
                    r->p++;
                }
                c = v < 0x80 ? (char)v : '?';
            } else if (c == 'n') {
                c = '\n';
            } else if (c == 't') {
                c = '\t';
            } else if (c != '"' && c != '\\' && c != '/') {
                r->bad = 1;
                return 0;
            }
        }
        if (out && n + 1 < size)
            out[n++] = c;
    }
    if (out && size)
        out[n] = '\0';
    return expect(r, '"');
}

static int read_number(reader *r, double *v)
{
    ws(r);
    if (!strncmp(r->p, "null", 4)) {
        r->p += 4;
        *v = NAN;
        return 1;
    }
    char *end;
    *v = strtod(r->p, &end);
    if (end == r->p || !isfinite(*v)) { /* the writer writes null for what is not finite: "NaN", "inf", 1e999 are
                                         * not its numbers (a damaged or edited record) */
        r->bad = 1;
        return 0;
    }
    r->p = end;
    return 1;
}

static int skip_value(reader *r, int depth)
{
    ws(r);
    char c = *r->p;
    if (depth > 32) {
        r->bad = 1;
        return 0;
    }
    if (c == '"')
        return read_string(r, NULL, 0);
    if (c == '[' || c == '{') {
        char close = c == '[' ? ']' : '}';
        r->p++;
        ws(r);
        if (*r->p == close) {
            r->p++;
            return 1;
        }
        do {
            if (c == '{' && (!read_string(r, NULL, 0) || !expect(r, ':')))
                return 0;
            if (!skip_value(r, depth + 1))
                return 0;
            ws(r);
        } while (*r->p == ',' && r->p++);
        return expect(r, close);
    }
    if (!strncmp(r->p, "true", 4) || !strncmp(r->p, "null", 4)) {
        r->p += 4;
        return 1;
    }
    if (!strncmp(r->p, "false", 5)) {
        r->p += 5;
        return 1;
    }
    double v;
    return read_number(r, &v);
}

/* Iterates "[" item ("," item)* "]": returns 1 before each item. */
static int list_next(reader *r, int *first)
{
    ws(r);
    if (*first) {
        *first = 0;
        if (!expect(r, '['))
            return 0;
        ws(r);
        if (*r->p == ']') {
            r->p++;
            return 0;
        }
        return 1;
    }
    if (*r->p == ',') {
        r->p++;
        return 1;
    }
    expect(r, ']');
    return 0;
}

static int parse(const char *text, units *u, int64_t max_m)
{
    reader r = {text, 0};
    char key[64], format[64] = "";
    int have_values = 0, probe_ok = 0;
    if (!expect(&r, '{'))
        return 0;
    ws(&r);
    int more = *r.p != '}';
    while (more && !r.bad) {
        if (!read_string(&r, key, sizeof key) || !expect(&r, ':'))
            break;
        if (!strcmp(key, "format")) {
            read_string(&r, format, sizeof format);
        } else if (!strcmp(key, "dataloader")) {
            read_string(&r, u->dataloader, sizeof u->dataloader);
        } else if (!strcmp(key, "options")) {
            int first = 1;
            while (!r.bad && list_next(&r, &first)) {
                if (!u->opts && !(u->opts = calloc(MAX_OPTS, sizeof *u->opts)))
                    return 0;
                unit_opt dummy, *x = u->n_opts < MAX_OPTS ? &u->opts[u->n_opts++] : &dummy;
                memset(x, 0, sizeof *x);
                if (!expect(&r, '{'))
                    break;
                ws(&r);
                if (*r.p == '}') {
                    r.p++;
                    continue;
                }
                do {
                    char k[16];
                    if (!read_string(&r, k, sizeof k) || !expect(&r, ':'))
                        break;
                    if (!strcmp(k, "key"))
                        read_string(&r, x->key, sizeof x->key);
                    else if (!strcmp(k, "value"))
                        read_string(&r, x->value, sizeof x->value);
                    else if (!strcmp(k, "file"))
                        read_string(&r, x->file, sizeof x->file);
                    else
                        skip_value(&r, 1);
                    ws(&r);
                } while (!r.bad && *r.p == ',' && r.p++);
                expect(&r, '}');
            }
        } else if (!strcmp(key, "elements") || !strcmp(key, "recorded")) {
            double v;
            if (read_number(&r, &v) && !(v >= 1 && v <= 1e15 && v == floor(v)))
                r.bad = 1;
            if (!r.bad && key[0] == 'e')
                u->elements = (int64_t)v;
            else if (!r.bad)
                u->m = (int64_t)v;
        } else if (!strcmp(key, "probe")) { /* what "values" map: the generator's -1, 0 and 1, in that order */
            int first = 1, p = 0;
            double v;
            while (!r.bad && list_next(&r, &first))
                if (read_number(&r, &v) && (p > 2 || v != (double)(p++ - 1)))
                    r.bad = 1;
            probe_ok = !r.bad && p == 3;
        } else if (!strcmp(key, "values")) {
            if (u->m < 1 || u->m > max_m || u->values) /* "recorded" comes first */
                return 0;
            if (!(u->values = malloc((size_t)(3 * u->m) * sizeof *u->values)))
                return 0;
            int first = 1, p = 0;
            while (!r.bad && list_next(&r, &first)) {
                int64_t k = 0;
                int ifirst = 1;
                while (!r.bad && list_next(&r, &ifirst)) {
                    double v;
                    if (read_number(&r, &v) && p < 3 && k < u->m)
                        u->values[p * u->m + k] = v;
                    k++;
                }
                if (k != u->m)
                    r.bad = 1;
                p++;
            }
            have_values = !r.bad && p == 3;
        } else {
            skip_value(&r, 1);
        }
        ws(&r);
        more = *r.p == ',';
        if (more)
            r.p++;
    }
    if (!r.bad)
        expect(&r, '}');
    return !r.bad && !strcmp(format, FORMAT) && have_values && probe_ok && u->elements >= u->m;
}

/* ---- checking ---- */

static int same_number(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return fabs(a - b) <= 1e-5 * (fabs(a) + fabs(b)) + 1e-30;
}

static const char *shown(const unit_opt *x)
{
    return x->file[0] ? x->file : x->value;
}

static const unit_opt *find_opt(const units *u, const char *key)
{
    for (int i = 0; i < u->n_opts; i++)
        if (!strcmp(u->opts[i].key, key))
            return &u->opts[i];
    return NULL;
}

/* "dataloader.path=/a/old.npy" lists of the options that differ. */
static void differing(const units *rec, const units *now, char *was, size_t was_size, char *is, size_t is_size,
                      const unit_opt **first_rec)
{
    size_t a = 0, b = 0;
    was[0] = is[0] = '\0';
    *first_rec = NULL;
    for (int pass = 0; pass < 2; pass++) {
        const units *x = pass ? now : rec, *y = pass ? rec : now;
        for (int i = 0; i < x->n_opts; i++) {
            const unit_opt *o = &x->opts[i], *q = find_opt(y, o->key);
            if (pass && q)
                continue; /* listed in the first pass */
            if (q && !strcmp(shown(o), shown(q)))
                continue;
            const unit_opt *r = pass ? q : o, *n = pass ? o : q;
            if (!*first_rec && r && r->file[0])
                *first_rec = r;
            if (a < was_size)
                a += (size_t)snprintf(was + a, was_size - a, "%sdataloader.%s%s%s", a ? ", " : "", o->key,
                                      r ? "=" : " unset", r ? shown(r) : "");
            if (b < is_size)
                b += (size_t)snprintf(is + b, is_size - b, "%sdataloader.%s%s%s", b ? ", " : "", o->key,
                                      n ? "=" : " unset", n ? shown(n) : "");
        }
    }
}

int lpz_units_record_check(const char *dir, const lpz_config *cfg, const char *config_file, lpz_dataset *ds,
                           lpz_error *err)
{
    char path[PATH_MAX + 32], d[PATH_MAX];
    snprintf(d, sizeof d, "%s", dir);
    /* "run//master/0/" of a shell's completion: no "//" in messages */
    size_t n = 0;
    for (const char *c = dir; *c && n + 1 < sizeof d; c++)
        if (!(c[0] == '/' && (c[1] == '/' || (c[1] == '\0' && n > 0))))
            d[n++] = *c;
    d[n] = '\0';
    dir = d;
    snprintf(path, sizeof path, "%s/%s", dir, LPZ_UNITS_FILE);
    int has_units = lpz_dataset_has_original_units(ds);
    struct stat ust;
    if (!lpz_is_file(path) && stat(path, &ust) == 0) { /* there, but a FIFO or a folder: not "an earlier lpz" */
        lpz_error_set(err, LPZ_EINVAL, "not a regular file (%s)", lpz_file_kind(ust.st_mode));
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "lpz writes %s next to the mixture: put back the file or remove what is there",
                       LPZ_UNITS_FILE);
        return LPZ_EINVAL;
    }
    if (!lpz_is_file(path)) {
        if (has_units)
            lpz_log(LPZ_LOG_WARN, "%s has no %s (a run of an earlier lpz, or one on data without original units): "
                                  "the samples are mapped to original units with the scaling of the configured data, "
                                  "right only when it is the data the run trained on (the run's config.yml names it)",
                    dir, LPZ_UNITS_FILE);
        return LPZ_OK;
    }
    char *text = NULL;
    size_t len;
    int rc = lpz_read_file(path, (size_t)64 << 20, &text, &len, err);
    if (rc)
        return rc;
    units rec, now;
    memset(&rec, 0, sizeof rec);
    memset(&now, 0, sizeof now);
    if (!parse(text, &rec, LPZ_UNITS_MAX_ELEMENTS)) {
        free(text);
        units_free(&rec);
        lpz_error_set(err, LPZ_EFORMAT, "not a record of original units (\"format\": \"%s\") that lpz can read",
                      FORMAT);
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "the run wrote it next to the mixture; a damaged copy cannot tell which data it was "
                            "trained on");
        return LPZ_EFORMAT;
    }
    free(text);
    if ((rc = collect_options(cfg, &now, err)) || (has_units && (rc = probe(ds, &now, err)))) {
        units_free(&rec);
        units_free(&now);
        return rc;
    }
    /* the first element whose mapping differs (-1: none) */
    int64_t bad = -1;
    int bad_p = 0;
    if (!has_units || now.elements != rec.elements || now.m != rec.m) {
        bad = 0;
    } else {
        for (int64_t k = 0; k < rec.m && bad < 0; k++)
            for (int p = 0; p < 3 && bad < 0; p++)
                if (!same_number(rec.values[p * rec.m + k], now.values[p * now.m + k])) {
                    bad = k;
                    bad_p = p;
                }
    }
    if (bad < 0) {
        units_free(&rec);
        units_free(&now);
        return LPZ_OK;
    }

    char was[600], is[600], detail[200] = "";
    const unit_opt *old_file;
    differing(&rec, &now, was, sizeof was, is, sizeof is, &old_file);
    if (!has_units)
        snprintf(detail, sizeof detail, "; the configured dataloader %s has no original units",
                 cfg->dataloader.dataset_name);
    else if (now.elements != rec.elements)
        snprintf(detail, sizeof detail, "; the record is of samples of %lld values, the configured data's have %lld",
                 (long long)rec.elements, (long long)now.elements);
    else
        snprintf(detail, sizeof detail, "; the generator's %d in element %lld means %.6g with it, %.6g in training",
                 bad_p - 1, (long long)element_of(bad, rec.m, rec.elements), now.values[bad_p * now.m + bad],
                 rec.values[bad_p * rec.m + bad]);
    if (was[0])
        lpz_error_set(err, LPZ_EINVAL,
                      "the configured data (%s) is scaled differently from the data this mixture was trained with "
                      "(%s, recorded in %s), so its samples would come out in other units%s",
                      is, was, path, detail);
    else
        lpz_error_set(err, LPZ_EINVAL,
                      "the configured data is scaled differently from the data this mixture was trained with, "
                      "though the dataloader options are the same (recorded in %s): the data changed since the "
                      "training, so its samples would come out in other units%s",
                      path, detail);
    /* where: the configuration's option that names the data (the first
     * that differs, else the first that names a file) */
    const unit_opt *at = NULL;
    for (int i = 0; i < now.n_opts && !at; i++) {
        const unit_opt *q = find_opt(&rec, now.opts[i].key);
        if (!q || strcmp(shown(q), shown(&now.opts[i])))
            at = &now.opts[i];
    }
    for (int i = 0; i < now.n_opts && !at; i++)
        if (now.opts[i].file[0])
            at = &now.opts[i];
    if (at) {
        char full[200], where[600];
        snprintf(full, sizeof full, "dataloader.%s", at->key);
        lpz_config_locate(at->where ? at->where : "", full, where, sizeof where);
        lpz_error_where(err, "%s", where);
    }

    /* The hint: the run's own config.yml (two folders up from master/<cell>)
     * when it is not the one given, or the option to set. */
    char run_cfg[PATH_MAX + 32], abs_run[PATH_MAX], abs_given[PATH_MAX];
    snprintf(run_cfg, sizeof run_cfg, "%s/../../config.yml", dir);
    int run_cfg_ok = realpath(run_cfg, abs_run) != NULL && lpz_is_file(abs_run);
    int given_is_run = run_cfg_ok && config_file && realpath(config_file, abs_given) && !strcmp(abs_run, abs_given);
    if (old_file && lpz_is_file(old_file->file))
        lpz_error_hint(err, "give the data the run trained on: --set dataloader.%s=%s%s%s", old_file->key,
                       old_file->file, run_cfg_ok && !given_is_run ? ", or -f " : "",
                       run_cfg_ok && !given_is_run ? abs_run : "");
    else if (old_file)
        lpz_error_hint(err, "the run trained on %s, which is gone: restore it, or a copy of it with --set "
                            "dataloader.%s=COPY, or train again on the new data",
                       old_file->file, old_file->key);
    else if (was[0] && run_cfg_ok && !given_is_run)
        lpz_error_hint(err, "use the run's own configuration: -f %s", abs_run);
    else
        lpz_error_hint(err, "give the data the run trained on, a copy of the file as it was then, or train again "
                            "on the new data");
    units_free(&rec);
    units_free(&now);
    return LPZ_EINVAL;
}
