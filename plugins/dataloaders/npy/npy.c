/* plugins/dataloaders/npy (alias array) - your own data from a NumPy .npy
 * file or a CSV table, without writing a plugin: np.save("data.npy", x)
 * (or df.to_csv("data.csv", index=False)) and train.
 *
 * Input (option `path`, no default): an array of N samples, any dtype the
 * SDK's npy reader takes (float32/64, (u)int8..64, bool):
 *   (N, F)           vectors of F values           kind vector
 *   (N, T, F)        sequences of T steps x F      kind sequence
 *   (N, H, W)        grey images                   kind image (set kind: image)
 *   (N, C, H, W)     images, C = 1 or 3            kind image
 *   (N, H, W, C)     the same, channels last       kind image, channels_last: true
 * `kind: auto` (the default) takes the kind from the number of dimensions
 * (2 vector, 3 sequence, 4 image). `kind: vector` flattens any sample.
 *
 * Scaling to [-1, 1] (option `scaling`), undone by to_original_units so
 * that generated samples come out in the data's units:
 *   feature  (default) min-max per feature: per column of vectors, per
 *            last-axis feature of sequences, per channel of images;
 *   global   one min-max over the whole array;
 *   none     the values are used as they are and must lie in [-1, 1].
 * A feature whose values are all equal is 0 (and maps back to its value).
 *
 * Labels (option `labels`, optional): a .npy of N whole numbers 0..1023,
 * one class per sample (n_classes = the largest + 1). With 10 classes and
 * 1x28x28 images lpz's FID classifier scores the data as it does MNIST,
 * with the inception score and the TVD of the class histogram.
 *
 * CSV tables (option `format`: auto takes any file not named .npy and
 * without the .npy magic as one; csv.h): one sample per line, a header
 * line optional, commas, semicolons, tabs or blanks between values
 * (`delimiter`); `label_column` takes a column as the labels. The values
 * are then (N, F) as an array's; `sample_shape` (28x28, 1x28x28, 30x4)
 * reads every sample's values, of a table or an array, as that shape.
 * Generated vectors render with the header's names.
 *
 * describe tells the sample shape from a .npy's header, or a table's lines
 * up to its first row, through open's own steps (read_source, read_data,
 * samples_of), so that a shape the network cannot take is refused before
 * the whole file is read and scaled.
 *
 * Both splits read the same file. Uses only the SDK.
 */
#include "csv.h"

#include <lpz/io.h>
#include <lpz/lpz.h>

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_CLASSES 1024

typedef enum { SCALE_FEATURE, SCALE_GLOBAL, SCALE_NONE } scaling;

typedef struct npy_state {
    float *data;        /* n x numel, scaled to [-1, 1] */
    int64_t n, numel;
    lpz_sample_kind kind;
    lpz_shape shape;    /* of one sample */
    int64_t nf;         /* scaled groups: features or channels (1 for global and none) */
    int64_t stride;     /* element e of a sample belongs to group (e / stride) % nf */
    double *lo, *hi;    /* per group */
    int32_t *labels;    /* n, or NULL */
    int32_t n_classes;
    char **names;       /* a CSV header's names of the numel values of a vector, or NULL */
} npy_state;

/* snprintf for paths: 1 when the text fit. */
static int fmt_path(char *out, size_t size, const char *fmt, ...) LPZ_PRINTF(3, 4);
static int fmt_path(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

static void npy_close(void *state)
{
    npy_state *s = state;
    if (!s)
        return;
    free(s->data);
    free(s->lo);
    free(s->hi);
    free(s->labels);
    if (s->names)
        for (int64_t j = 0; j < s->numel; j++)
            free(s->names[j]);
    free(s->names);
    free(s);
}

/* The option `key` as a path: as given when it exists (or is absolute),
 * else relative to the run file's folder. */
static void resolve(const lpz_dataset_context *ctx, const char *opt, char *path, size_t size)
{
    struct stat st;
    fmt_path(path, size, "%s", opt);
    if (opt[0] != '/' && stat(path, &st) != 0 && ctx->config_dir)
        fmt_path(path, size, "%s/%s", ctx->config_dir, opt);
}

/* The .npy of option `key`: whole, or its header alone (a.data NULL). */
static int load(const lpz_dataset_context *ctx, const char *key, int whole, lpz_array *a, char *path, size_t size,
                lpz_error *err)
{
    const char *opt;
    int rc = lpz_options_get_string(ctx->options, key, &opt, err);
    if (rc)
        return rc;
    if (!*opt) { /* --set dataloader.labels= ("./: not a regular file (a folder)") */
        lpz_error_set(err, LPZ_EINVAL, "%s is empty", key);
        lpz_error_where(err, "%s", lpz_options_where(ctx->options, key));
        lpz_error_hint(err, "give dataloader.%s a .npy file%s", key, strcmp(key, "path") ? ", or leave it out" : "");
        return LPZ_EINVAL;
    }
    resolve(ctx, opt, path, size);
    if ((rc = whole ? lpz_npy_load(path, a, err) : lpz_npy_load_header(path, a, err))) {
        if (rc == LPZ_ENOTFOUND || rc == LPZ_EIO)
            lpz_error_hint(err, "%s is %s", lpz_options_where(ctx->options, key), opt);
        else if (rc == LPZ_EFORMAT && !npy_is_npy_file(path))
            lpz_error_hint(err, "dataloader.%s must be a NumPy array saved with numpy.save (a .npy file)%s", key,
                           strcmp(key, "path") ? "" : ", or a CSV table (a table named .npy needs format: csv)");
    }
    return rc;
}

static int fail_at(lpz_error *err, const lpz_dataset_context *ctx, const char *key, int rc)
{
    lpz_error_where(err, "%s", lpz_options_where(ctx->options, key));
    return rc;
}

static const char *kind_text(lpz_sample_kind k)
{
    return k == LPZ_SAMPLE_IMAGE ? "image" : k == LPZ_SAMPLE_SEQUENCE ? "sequence" : "vector";
}

/* The sample shape and kind from the array's shape and the options. */
static int shape_of(const lpz_dataset_context *ctx, const lpz_array *a, const char *path, int channels_last,
                    npy_state *s, lpz_error *err)
{
    const char *kind;
    int rc = lpz_options_get_string(ctx->options, "kind", &kind, err);
    if (rc)
        return rc;
    int nd = a->ndim - 1; /* dimensions of one sample */
    const int64_t *d = a->shape + 1;
    /* kind vector flattens a sample of any shape: (N, 2, 3, 4, 5) too */
    if (nd < 1 || (nd > 3 && strcmp(kind, "vector"))) {
        lpz_error_set(err, LPZ_EFORMAT, "array of %d dimension%s; expected (N, F) vectors, (N, T, F) sequences or "
                      "(N, C, H, W) images", a->ndim, a->ndim == 1 ? "" : "s");
        lpz_error_where(err, "%s", path);
        if (a->ndim == 1)
            lpz_error_hint(err, "one value per sample is (N, 1): numpy.save(path, x.reshape(-1, 1))");
        else if (nd > 3)
            lpz_error_hint(err, "set dataloader.kind: vector to read each sample's values flattened");
        return LPZ_EFORMAT;
    }
    if (!strcmp(kind, "auto"))
        kind = nd == 1 ? "vector" : nd == 2 ? "sequence" : "image";
    if (!strcmp(kind, "vector")) {
        int64_t f = 1;
        for (int i = 0; i < nd; i++)
            f *= d[i];
        s->kind = LPZ_SAMPLE_VECTOR;
        s->shape = lpz_shape_make(1, f, 0, 0, 0);
    } else if (!strcmp(kind, "sequence")) {
        if (nd != 2) {
            lpz_error_set(err, LPZ_EFORMAT, "kind sequence needs an array (N, T, F); this one has %d dimensions",
                          a->ndim);
            lpz_error_where(err, "%s", path);
            lpz_error_hint(err, "set dataloader.kind to vector (any shape, flattened) or image");
            return LPZ_EFORMAT;
        }
        s->kind = LPZ_SAMPLE_SEQUENCE;
        s->shape = lpz_shape_make(2, d[0], d[1], 0, 0);
    } else if (!strcmp(kind, "image")) {
        int64_t c, h, w;
        if (nd == 2) {
            c = 1, h = d[0], w = d[1];
        } else if (nd == 3 && channels_last) {
            h = d[0], w = d[1], c = d[2];
        } else if (nd == 3) {
            c = d[0], h = d[1], w = d[2];
        } else {
            lpz_error_set(err, LPZ_EFORMAT, "kind image needs an array (N, H, W) or (N, C, H, W); this one has %d "
                          "dimensions", a->ndim);
            lpz_error_where(err, "%s", path);
            return LPZ_EFORMAT;
        }
        if (c != 1 && c != 3) { /* the samples' shape: a table's count of rows is not known to describe */
            lpz_error_set(err, LPZ_EFORMAT, "images of %lld channels (samples of shape (%lld, %lld, %lld)); lpz "
                          "takes 1 (grey) or 3 (RGB)", (long long)c, (long long)d[0], (long long)d[1],
                          (long long)d[2]);
            lpz_error_where(err, "%s", path);
            if (!channels_last && (d[2] == 1 || d[2] == 3))
                lpz_error_hint(err, "the array looks channels-last (N, H, W, C): set dataloader.channels_last: true");
            else if (channels_last && (d[0] == 1 || d[0] == 3))
                lpz_error_hint(err, "the array looks channels-first (N, C, H, W): set dataloader.channels_last: false");
            return LPZ_EFORMAT;
        }
        s->kind = LPZ_SAMPLE_IMAGE;
        s->shape = lpz_shape_make(3, c, h, w, 0);
    } else {
        lpz_error_set(err, LPZ_EINVAL, "kind '%s' is not auto, vector, sequence or image", kind);
        return fail_at(err, ctx, "kind", LPZ_EINVAL);
    }
    if (channels_last && s->kind != LPZ_SAMPLE_IMAGE) {
        lpz_error_set(err, LPZ_EINVAL, "channels_last applies to images; the data are read as %s",
                      kind_text(s->kind));
        lpz_error_hint(err, "set dataloader.kind: image for an array (N, H, W, C)");
        return fail_at(err, ctx, "channels_last", LPZ_EINVAL);
    }
    s->n = a->shape[0];
    s->numel = lpz_shape_numel(&s->shape);
    if (s->n < 1 || s->numel < 1) {
        lpz_error_set(err, LPZ_EFORMAT, "the array is empty (%lld samples of %lld values)", (long long)s->n,
                      (long long)s->numel);
        lpz_error_where(err, "%s", path);
        return LPZ_EFORMAT;
    }
    return LPZ_OK;
}

/* (N, H, W, C) to (N, C, H, W), in a new buffer that replaces *data. */
static int to_channels_first(float **data, int64_t n, int64_t c, int64_t hw, lpz_error *err)
{
    float *t = malloc((size_t)(n * c * hw) * sizeof *t);
    if (!t)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld images", (long long)n);
    const float *src = *data;
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < hw; p++)
            for (int64_t k = 0; k < c; k++)
                t[(i * c + k) * hw + p] = src[(i * hw + p) * c + k];
    free(*data);
    *data = t;
    return LPZ_OK;
}

static int64_t group_of(const npy_state *s, int64_t e)
{
    return (e / s->stride) % s->nf;
}

/* Finds the groups' ranges, checks every value, and scales in place. */
static int scale(const lpz_dataset_context *ctx, npy_state *s, scaling how, const char *path, lpz_error *err)
{
    if (how == SCALE_FEATURE) {
        if (s->kind == LPZ_SAMPLE_IMAGE) { /* per channel */
            s->nf = s->shape.dim[0];
            s->stride = s->shape.dim[1] * s->shape.dim[2];
        } else { /* per column of a vector, per last-axis feature of a sequence */
            s->nf = s->shape.dim[s->shape.ndim - 1];
            s->stride = 1;
        }
    } else {
        s->nf = 1;
        s->stride = 1;
    }
    s->lo = malloc((size_t)s->nf * sizeof *s->lo);
    s->hi = malloc((size_t)s->nf * sizeof *s->hi);
    if (!s->lo || !s->hi)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    for (int64_t g = 0; g < s->nf; g++)
        s->lo[g] = INFINITY, s->hi[g] = -INFINITY;
    for (int64_t i = 0; i < s->n; i++) {
        const float *x = s->data + i * s->numel;
        for (int64_t e = 0; e < s->numel; e++) {
            double v = x[e];
            if (!isfinite(v) || (how == SCALE_NONE && (v < -1.0 || v > 1.0))) {
                lpz_error_set(err, LPZ_EFORMAT, "value %g of sample %lld, element %lld %s", v, (long long)i,
                              (long long)e, !isfinite(v) ? (isinf(v) ? "is not finite (or beyond float32's range, "
                                                                      "3.4e38)" : "is not a number")
                                                         : "is outside [-1, 1]");
                lpz_error_where(err, "%s", path);
                if (isfinite(v))
                    lpz_error_hint(err, "with scaling none (%s) the values must already lie in [-1, 1]; set it "
                                   "to feature or global to scale them", lpz_options_where(ctx->options, "scaling"));
                return LPZ_EFORMAT;
            }
            int64_t g = group_of(s, e);
            if (v < s->lo[g])
                s->lo[g] = v;
            if (v > s->hi[g])
                s->hi[g] = v;
        }
    }
    if (how == SCALE_NONE) {
        s->lo[0] = -1.0, s->hi[0] = 1.0; /* identity both ways */
        return LPZ_OK;
    }
    for (int64_t i = 0; i < s->n; i++) {
        float *x = s->data + i * s->numel;
        for (int64_t e = 0; e < s->numel; e++) {
            int64_t g = group_of(s, e);
            double r = s->hi[g] - s->lo[g];
            double y = r > 0 ? 2.0 * (x[e] - s->lo[g]) / r - 1.0 : 0.0;
            x[e] = (float)(y < -1.0 ? -1.0 : y > 1.0 ? 1.0 : y);
        }
    }
    return LPZ_OK;
}

/* The labels file: one class per sample (its header, checked against the
 * count of samples: describe), and every class a whole number (whole). */
static int read_labels(const lpz_dataset_context *ctx, npy_state *s, int whole, lpz_error *err)
{
    char path[PATH_MAX];
    lpz_array a;
    int rc = load(ctx, "labels", whole, &a, path, sizeof path, err);
    if (rc)
        return rc;
    if (a.count != s->n || (a.ndim != 1 && !(a.ndim == 2 && a.shape[1] == 1))) {
        char shape[160];
        size_t k = (size_t)snprintf(shape, sizeof shape, "(");
        for (int i = 0; i < a.ndim && k < sizeof shape - 24; i++)
            k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", i ? ", " : "", (long long)a.shape[i]);
        snprintf(shape + k, sizeof shape - k, "%s)", a.ndim == 1 ? "," : "");
        lpz_error_set(err, LPZ_EFORMAT, "labels of shape %s for %lld samples; expected (%lld,): one class number "
                      "per sample", shape, (long long)s->n, (long long)s->n);
        lpz_error_where(err, "%s", path);
        lpz_array_free(&a);
        return LPZ_EFORMAT;
    }
    if (!whole)
        return LPZ_OK;
    if (!(s->labels = malloc((size_t)s->n * sizeof *s->labels))) {
        lpz_array_free(&a);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    int32_t top = 0;
    for (int64_t i = 0; i < s->n; i++) {
        float v = a.data[i];
        if (!(v >= 0 && v < MAX_CLASSES) || v != floorf(v)) {
            lpz_error_set(err, LPZ_EFORMAT, "label %g of sample %lld is not a whole number from 0 to %d", (double)v,
                          (long long)i, MAX_CLASSES - 1);
            lpz_error_where(err, "%s", path);
            lpz_array_free(&a);
            return LPZ_EFORMAT;
        }
        s->labels[i] = (int32_t)v;
        if (s->labels[i] > top)
            top = s->labels[i];
    }
    s->n_classes = top + 1;
    lpz_array_free(&a);
    return LPZ_OK;
}

/* describe reads at most this much of a table to find its first row, and
 * beyond leaves the shape to open (test_npy sets less). */
#ifndef NPY_DESCRIBE_MAX_BYTES
#define NPY_DESCRIBE_MAX_BYTES ((size_t)16 << 20)
#endif

/* What the options say of the input, checked before any value is read:
 * describe and open both start here, so they refuse the same options with
 * the same errors, in the order open always checked them. */
typedef struct npy_source {
    const char *given;     /* dataloader.path as written */
    char path[PATH_MAX];   /* and as found (resolve) */
    int is_csv;
    char delim;            /* a table's delimiter, 0 to find it */
    int header_mode;       /* a table's header line: -1 auto, 1 there, 0 not */
    const char *label_col; /* a table's label column, or NULL */
    scaling how;
    const char *how_text;
    int channels_last;
} npy_source;

static int read_source(const lpz_dataset_context *ctx, npy_source *src, lpz_error *err)
{
    memset(src, 0, sizeof *src);
    const char *given = "";
    if (lpz_options_is_set(ctx->options, "path"))
        lpz_options_get_string(ctx->options, "path", &given, NULL);
    if (!given[0]) {
        lpz_error_set(err, LPZ_ENOTFOUND, "no input file: the option path is required");
        lpz_error_where(err, "dataloader.path");
        lpz_error_hint(err, "set dataloader.path to a .npy of (N, F) vectors, (N, T, F) sequences or (N, C, H, W) "
                            "images (numpy.save)");
        return LPZ_ENOTFOUND;
    }
    int rc = lpz_options_get_string(ctx->options, "scaling", &src->how_text, err);
    if (!rc)
        rc = lpz_options_get_bool(ctx->options, "channels_last", &src->channels_last, err);
    if (rc)
        return rc;
    if (!strcmp(src->how_text, "feature"))
        src->how = SCALE_FEATURE;
    else if (!strcmp(src->how_text, "global"))
        src->how = SCALE_GLOBAL;
    else if (!strcmp(src->how_text, "none"))
        src->how = SCALE_NONE;
    else {
        lpz_error_set(err, LPZ_EINVAL, "scaling '%s' is not feature, global or none", src->how_text);
        return fail_at(err, ctx, "scaling", LPZ_EINVAL);
    }
    const char *format, *delim_opt;
    rc = lpz_options_get_string(ctx->options, "format", &format, err);
    if (!rc)
        rc = lpz_options_get_string(ctx->options, "delimiter", &delim_opt, err);
    if (!rc)
        rc = lpz_options_get_string(ctx->options, "path", &src->given, err);
    if (rc)
        return rc;
    if (!strcmp(delim_opt, "auto"))
        src->delim = 0;
    else if (!strcmp(delim_opt, ",") || !strcmp(delim_opt, "comma"))
        src->delim = ',';
    else if (!strcmp(delim_opt, ";") || !strcmp(delim_opt, "semicolon"))
        src->delim = ';';
    else if (!strcmp(delim_opt, "tab") || !strcmp(delim_opt, "\t"))
        src->delim = '\t';
    else if (!strcmp(delim_opt, "space") || !strcmp(delim_opt, " ") || !strcmp(delim_opt, "blank"))
        src->delim = ' ';
    else {
        lpz_error_set(err, LPZ_EINVAL, "delimiter '%s' is not auto, comma, semicolon, tab or space", delim_opt);
        return fail_at(err, ctx, "delimiter", LPZ_EINVAL);
    }
    const char *path = src->path;
    resolve(ctx, src->given, src->path, sizeof src->path);
    size_t len = strlen(path);
    if (!strcmp(format, "auto")) /* a file named .npy is one (the reader says when it is not); else by its magic */
        src->is_csv = !(len >= 4 && !strcasecmp(path + len - 4, ".npy")) && !npy_is_npy_file(path);
    else if (!strcmp(format, "csv") && npy_is_npy_file(path)) {
        lpz_error_set(err, LPZ_EINVAL, "format is csv, and %s is a NumPy .npy (it starts with the .npy magic)", path);
        lpz_error_hint(err, "set dataloader.format to auto or npy");
        return fail_at(err, ctx, "format", LPZ_EINVAL);
    } else if (!strcmp(format, "csv"))
        src->is_csv = 1;
    else if (!strcmp(format, "npy"))
        src->is_csv = 0;
    else {
        lpz_error_set(err, LPZ_EINVAL, "format '%s' is not auto, npy or csv", format);
        return fail_at(err, ctx, "format", LPZ_EINVAL);
    }
    int has_label_col = lpz_options_is_set(ctx->options, "label_column");
    if (has_label_col && !src->is_csv) {
        lpz_error_set(err, LPZ_EINVAL, "label_column names a column of a CSV table, and %s is a .npy", path);
        lpz_error_hint(err, "for a .npy, set dataloader.labels to a .npy of the class numbers");
        return fail_at(err, ctx, "label_column", LPZ_EINVAL);
    }
    if (has_label_col && lpz_options_is_set(ctx->options, "labels")) {
        lpz_error_set(err, LPZ_EINVAL, "both labels and label_column are set; the classes come from one of them");
        return fail_at(err, ctx, "label_column", LPZ_EINVAL);
    }
    if (!src->is_csv) {
        static const char *const csv_only[] = {"delimiter", "header", NULL};
        for (int i = 0; csv_only[i]; i++)
            if (lpz_options_is_set(ctx->options, csv_only[i])) {
                lpz_error_set(err, LPZ_EINVAL, "%s applies to CSV tables, and %s is a .npy", csv_only[i], path);
                return fail_at(err, ctx, csv_only[i], LPZ_EINVAL);
            }
        return LPZ_OK;
    }
    const char *header;
    if (has_label_col && (rc = lpz_options_get_string(ctx->options, "label_column", &src->label_col, err)))
        return rc;
    if ((rc = lpz_options_get_string(ctx->options, "header", &header, err)))
        return rc;
    src->header_mode = !strcmp(header, "auto") ? -1 : !strcmp(header, "true") ? 1 : !strcmp(header, "false") ? 0 : 2;
    if (src->header_mode == 2) {
        lpz_error_set(err, LPZ_EINVAL, "header '%s' is not auto, true or false", header);
        return fail_at(err, ctx, "header", LPZ_EINVAL);
    }
    return LPZ_OK;
}

/* The data file: all of it (whole: open) into *a, a table into *table with
 * *a taking its values as (rows, cols); or what tells the samples' shape
 * (describe): a .npy's header (a->data NULL), a table's lines up to its
 * first row (*a then 1 x cols, the first row's values: the count of rows
 * is not known). *a is left empty (ndim 0) when npy_csv_head cannot tell
 * (that row lies beyond NPY_DESCRIBE_MAX_BYTES, or an error before it in a
 * longer file). notes: describe's, for the table's first line. */
static int read_data(const lpz_dataset_context *ctx, npy_source *src, int whole, lpz_array *a, npy_csv *table,
                     npy_csv_notes *notes, lpz_error *err)
{
    memset(a, 0, sizeof *a);
    memset(table, 0, sizeof *table);
    if (!src->is_csv)
        return load(ctx, "path", whole, a, src->path, sizeof src->path, err);
    int rc = whole ? npy_csv_load(src->path, src->delim, src->header_mode, src->label_col, MAX_CLASSES, table, err)
                   : npy_csv_head(src->path, src->delim, src->header_mode, src->label_col, MAX_CLASSES,
                                  NPY_DESCRIBE_MAX_BYTES, notes, table, err);
    if (rc) {
        if (rc == LPZ_ENOTFOUND || rc == LPZ_EIO)
            lpz_error_hint(err, "%s is %s", lpz_options_where(ctx->options, "path"), src->given);
        else if (rc == LPZ_EINVAL && src->label_col)
            lpz_error_hint(err, "%s is %s", lpz_options_where(ctx->options, "label_column"), src->label_col);
        return rc;
    }
    if (!table->rows) /* describe: the first row is too far into the file */
        return LPZ_OK;
    a->ndim = 2;
    a->shape[0] = table->rows;
    a->shape[1] = table->cols;
    a->count = table->rows * table->cols;
    a->data = table->data; /* the state takes it */
    table->data = NULL;
    return LPZ_OK;
}

/* sample_shape: each sample's values read as that shape ("28x28",
 * "1x28x28", "30x4"): a (N, ...) array of as many values per sample. */
static int reshape(const lpz_dataset_context *ctx, lpz_array *a, const char *path, lpz_error *err)
{
    const char *text;
    int rc = lpz_options_get_string(ctx->options, "sample_shape", &text, err);
    if (rc)
        return rc;
    int64_t dims[3], prod = 1;
    int nd = 0;
    const char *p = text;
    for (;;) {
        int64_t v = 0;
        const char *q = p;
        while (*q >= '0' && *q <= '9' && v <= ((int64_t)1 << 31))
            v = v * 10 + (*q++ - '0');
        if (q == p || v < 1 || nd == 3 || (*q && *q != 'x')) {
            lpz_error_set(err, LPZ_EINVAL, "sample_shape '%s' is not 1 to 3 positive whole numbers joined by x "
                          "(28x28, 1x28x28, 30x4)", text);
            return fail_at(err, ctx, "sample_shape", LPZ_EINVAL);
        }
        if (v > ((int64_t)1 << 31) || prod > ((int64_t)1 << 40) / v) {
            lpz_error_set(err, LPZ_EINVAL, "sample_shape '%s' is too large (each size at most 2^31, a sample at "
                          "most 2^40 values)", text);
            return fail_at(err, ctx, "sample_shape", LPZ_EINVAL);
        }
        dims[nd++] = v;
        prod *= v;
        if (!*q)
            break;
        p = q + 1;
    }
    int64_t per = a->ndim >= 1 && a->shape[0] > 0 ? a->count / a->shape[0] : 0;
    if (prod != per) {
        lpz_error_set(err, LPZ_EINVAL, "sample_shape %s holds %lld values, and the samples of %s have %lld", text,
                      (long long)prod, path, (long long)per);
        return fail_at(err, ctx, "sample_shape", LPZ_EINVAL);
    }
    a->ndim = 1 + nd;
    for (int i = 0; i < nd; i++)
        a->shape[1 + i] = dims[i];
    return LPZ_OK;
}

/* The sample shape and kind: sample_shape read into the array's shape,
 * then the kind's rules (shape_of), for describe and open alike. */
static int samples_of(const lpz_dataset_context *ctx, const npy_source *src, lpz_array *a, npy_state *s,
                      lpz_error *err)
{
    int rc = LPZ_OK;
    int shaped = lpz_options_is_set(ctx->options, "sample_shape");
    if (shaped)
        rc = reshape(ctx, a, src->path, err);
    if (!rc && (rc = shape_of(ctx, a, src->path, src->channels_last, s, err)) && src->is_csv && !shaped)
        lpz_error_hint(err, "a table's rows are vectors: set dataloader.sample_shape (1x28x28, 30x4, ...) to read "
                            "them as images or sequences");
    return rc;
}

/* What open will report, from the options and a glance at the file (a
 * .npy's header, a table's lines up to its first row) through open's own
 * steps, so that a shape the network cannot take is refused before the
 * whole file is read and scaled; a .npy's labels file is checked against
 * its count of samples too (its header). Left to open (shape not told): a
 * table whose first row lies beyond NPY_DESCRIBE_MAX_BYTES, or whose lines
 * up to it hold an error while the file goes on (open's whole read may find
 * a NUL byte first, and says that). */
static int npy_describe(const lpz_dataset_context *ctx, lpz_dataset_info *info, lpz_error *err)
{
    npy_source src;
    lpz_array a;
    npy_csv table;
    npy_csv_notes notes;
    npy_state s;
    memset(&a, 0, sizeof a);
    memset(&table, 0, sizeof table);
    memset(&notes, 0, sizeof notes);
    memset(&s, 0, sizeof s);
    int rc = read_source(ctx, &src, err);
    if (!rc)
        rc = read_data(ctx, &src, 0, &a, &table, &notes, err);
    if (!rc && a.ndim > 0)
        rc = samples_of(ctx, &src, &a, &s, err);
    if (!rc && a.ndim > 0 && !src.is_csv && lpz_options_is_set(ctx->options, "labels"))
        rc = read_labels(ctx, &s, 0, err); /* a table's count of rows is not known here: open checks */
    free(a.data);
    npy_csv_free(&table);
    /* the warnings about a table's first line: open's to say, unless this refusal keeps open from running */
    npy_csv_notes_flush(&notes, rc != LPZ_OK);
    if (rc || a.ndim == 0)
        return rc;
    info->sample_shape = s.shape;
    info->kind = s.kind;
    return LPZ_OK;
}

static int npy_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    npy_source src;
    lpz_array a;
    npy_csv table;
    int rc = read_source(ctx, &src, err);
    if (!rc)
        rc = read_data(ctx, &src, 1, &a, &table, NULL, err);
    if (rc)
        return rc;
    const char *path = src.path;
    char table_delim = table.delim;
    int table_header = table.names != NULL;
    npy_state *s = calloc(1, sizeof *s);
    if (!s) {
        lpz_array_free(&a);
        npy_csv_free(&table);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    rc = samples_of(ctx, &src, &a, s, err);
    s->data = a.data;
    a.data = NULL;
    if (!rc && table.labels) {
        s->labels = table.labels, s->n_classes = table.n_classes;
        table.labels = NULL;
    }
    if (!rc && table.names && s->kind == LPZ_SAMPLE_VECTOR && table.cols == s->numel) {
        s->names = table.names;
        table.names = NULL;
    }
    npy_csv_free(&table);
    /* the labels before the values are scaled, in describe's order */
    if (!rc && lpz_options_is_set(ctx->options, "labels"))
        rc = read_labels(ctx, s, 1, err);
    if (!rc && src.channels_last)
        rc = to_channels_first(&s->data, s->n, s->shape.dim[0], s->shape.dim[1] * s->shape.dim[2], err);
    if (!rc)
        rc = scale(ctx, s, src.how, path, err);
    if (rc) {
        npy_close(s);
        return rc;
    }
    info->sample_shape = s->shape;
    info->count = s->n;
    info->n_classes = s->n_classes;
    info->kind = s->kind;
    char dims[96];
    if (s->shape.ndim == 1)
        snprintf(dims, sizeof dims, "%lld", (long long)s->shape.dim[0]);
    else if (s->shape.ndim == 2)
        snprintf(dims, sizeof dims, "%lld x %lld", (long long)s->shape.dim[0], (long long)s->shape.dim[1]);
    else
        snprintf(dims, sizeof dims, "%lld x %lld x %lld", (long long)s->shape.dim[0], (long long)s->shape.dim[1],
                 (long long)s->shape.dim[2]);
    char classes[48] = "";
    if (s->labels)
        snprintf(classes, sizeof classes, ", %d class%s", (int)s->n_classes, s->n_classes == 1 ? "" : "es");
    char format[96] = "";
    if (src.is_csv)
        snprintf(format, sizeof format, "a table split at %s%s; ", npy_csv_delim_name(table_delim),
                 table_header ? ", with a header" : "");
    lpz_log(LPZ_LOG_INFO, "npy: %lld %s samples of %s from %s (%sscaling %s%s)", (long long)s->n, kind_text(s->kind),
            dims, path, format, src.how_text, classes);
    /* Classes count from 0: labels 1..10 are 11 classes to lpz, and no FID classifier is trained for them */
    int has_zero = 0;
    for (int64_t i = 0; s->labels && i < s->n && !has_zero; i++)
        has_zero = s->labels[i] == 0;
    const char *label_file = path; /* the labels' file, or the table holding their column */
    lpz_error unused;
    if (lpz_options_is_set(ctx->options, "labels") &&
        lpz_options_get_string(ctx->options, "labels", &label_file, &unused))
        label_file = path;
    if (s->labels && !has_zero && s->n_classes > 1)
        lpz_log(LPZ_LOG_WARN, "%s: no sample has class 0: classes count from 0, so labels 1 to %d are %d classes here; "
                "if they number the classes from 1, subtract 1 (numpy: labels - 1)", label_file,
                (int)s->n_classes - 1, (int)s->n_classes);
    *state = s;
    return LPZ_OK;
}

static int npy_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)err;
    const npy_state *s = state;
    memcpy(out, s->data + index * s->numel, (size_t)s->numel * sizeof *out);
    return LPZ_OK;
}

static int npy_label(void *state, int64_t index, int32_t *label, lpz_error *err)
{
    const npy_state *s = state;
    if (!s->labels)
        return lpz_error_set(err, LPZ_EUNSUPPORTED, "no labels (set dataloader.labels)");
    *label = s->labels[index];
    return LPZ_OK;
}

static int npy_to_original(void *state, float *samples, int64_t n, lpz_error *err)
{
    (void)err;
    const npy_state *s = state;
    for (int64_t i = 0; i < n; i++) {
        float *x = samples + i * s->numel;
        for (int64_t e = 0; e < s->numel; e++) {
            int64_t g = group_of(s, e);
            x[e] = (float)((x[e] + 1.0) * 0.5 * (s->hi[g] - s->lo[g]) + s->lo[g]);
        }
    }
    return LPZ_OK;
}

/* Images: a PNG grid (as the core's own rendering). Vectors and sequences:
 * CSV in the data's units, a row per sample (and step). */
static int npy_render(void *state, const float *samples, int64_t n, const char *path_base, lpz_error *err)
{
    const npy_state *s = state;
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s.%s", path_base, s->kind == LPZ_SAMPLE_IMAGE ? "png" : "csv")) {
        lpz_error_set(err, LPZ_EINVAL, "output path is too long");
        lpz_error_where(err, "%s", path_base);
        return LPZ_EINVAL;
    }
    if (s->kind == LPZ_SAMPLE_IMAGE)
        return lpz_png_save_grid(path, samples, n, (int)s->shape.dim[0], (int)s->shape.dim[1],
                                 (int)s->shape.dim[2], 0, err);
    int64_t t = s->kind == LPZ_SAMPLE_SEQUENCE ? s->shape.dim[0] : 1, f = s->numel / t;
    float *copy = malloc((size_t)(n * s->numel) * sizeof *copy);
    size_t names_len = 0; /* a CSV header's names, each quoted with its quotes doubled at most */
    for (int64_t j = 0; s->names && j < f; j++)
        names_len += 2 * strlen(s->names[j]) + 3;
    size_t cap = 64 + (size_t)f * 24 + names_len + (size_t)(n * t) * (48 + (size_t)f * 20);
    char *buf = malloc(cap);
    if (!copy || !buf) {
        free(copy), free(buf);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory rendering %lld samples", (long long)n);
    }
    memcpy(copy, samples, (size_t)(n * s->numel) * sizeof *copy);
    npy_to_original(state, copy, n, err);
    size_t len = (size_t)snprintf(buf, cap, "sample%s", t > 1 || s->kind == LPZ_SAMPLE_SEQUENCE ? ",t" : "");
    for (int64_t j = 0; j < f; j++) {
        const char *name = s->names ? s->names[j] : NULL;
        if (!name) {
            len += (size_t)snprintf(buf + len, cap - len, ",feature_%lld", (long long)j);
        } else if (!strpbrk(name, ",\"\r\n") && name[0] != ' ' && (!name[0] || name[strlen(name) - 1] != ' ')) {
            len += (size_t)snprintf(buf + len, cap - len, ",%s", name);
        } else { /* quoted, as the table had it */
            buf[len++] = ',', buf[len++] = '"';
            for (const char *q = name; *q; q++) {
                if (*q == '"')
                    buf[len++] = '"';
                buf[len++] = *q == '\n' || *q == '\r' ? ' ' : *q;
            }
            buf[len++] = '"';
        }
    }
    len += (size_t)snprintf(buf + len, cap - len, "\n");
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < t; k++) {
            if (s->kind == LPZ_SAMPLE_SEQUENCE)
                len += (size_t)snprintf(buf + len, cap - len, "%lld,%lld", (long long)i, (long long)k);
            else
                len += (size_t)snprintf(buf + len, cap - len, "%lld", (long long)i);
            /* 9 digits read back as the same float32 (samples.npy's value); 7 cut 16777215 to 1.677722e+07 */
            for (int64_t j = 0; j < f; j++)
                len += (size_t)snprintf(buf + len, cap - len, ",%.9g", (double)copy[(i * t + k) * f + j]);
            len += (size_t)snprintf(buf + len, cap - len, "\n");
        }
    free(copy);
    int rc = lpz_file_save(path, buf, len, err);
    free(buf);
    return rc;
}

static const lpz_option_spec npy_options[] = {
    {"path", LPZ_OPT_PATH, NULL,
     ".npy of N samples ((N, F) vectors, (N, T, F) sequences, (N, C, H, W) images) or a CSV table of N rows; "
     "required"},
    {"kind", LPZ_OPT_STRING, "auto",
     "auto (by dimensions: 2 vector, 3 sequence, 4 image), vector (any sample flattened), sequence or image "
     "((N, H, W) grey too)"},
    {"channels_last", LPZ_OPT_BOOL, "false", "images stored (N, H, W, C), as most image libraries give them"},
    {"scaling", LPZ_OPT_STRING, "feature",
     "to [-1, 1]: feature (min-max per feature or channel), global (one min-max), none (values already in [-1, 1])"},
    {"labels", LPZ_OPT_PATH, NULL, "optional .npy of N class numbers 0..1023 (for the FID classifier's scores)"},
    {"format", LPZ_OPT_STRING, "auto", "auto (a .npy by its name or first bytes, else a CSV table), npy or csv"},
    {"delimiter", LPZ_OPT_STRING, "auto",
     "of a CSV table: auto (the most frequent of comma, semicolon, tab on its first line; none: blanks), comma, "
     "semicolon, tab or space"},
    {"label_column", LPZ_OPT_STRING, NULL,
     "of a CSV table: the column of class numbers 0..1023 (header name, or number from 1), left out of the values"},
    {"header", LPZ_OPT_STRING, "auto",
     "of a CSV table: auto (the first line is a header when a field of it is not a number), true or false"},
    {"sample_shape", LPZ_OPT_STRING, NULL,
     "each sample's values read as this shape: 28x28 or 1x28x28 (images, with kind image), 30x4 (sequences)"},
    {NULL, 0, NULL, NULL},
};

static const lpz_dataloader_ops npy_ops = {
    .size = sizeof(lpz_dataloader_ops),
    .open = npy_open,
    .close = npy_close,
    .read = npy_read,
    .label = npy_label,
    .render = npy_render,
    .to_original_units = npy_to_original,
    .describe = npy_describe,
};

static const char *const npy_aliases[] = {"array", NULL};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "npy", npy_aliases, "1.0.0",
                  "your own data from a NumPy .npy or a CSV table: vectors, sequences or images, min-max scaled to "
                  "[-1, 1]",
                  npy_options, &npy_ops);
