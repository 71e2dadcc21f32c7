/* plugins/dataloaders/network_traffic (alias netflow) - sequences of
 * network flow records from a NumPy .npy file (what lpz-pcap2npy writes).
 *
 * Input (option `path`, no default):
 *   (sequences, T, F)  used as is: samples of shape (T, F);
 *   (records, F)       consecutive records cut into sequences of
 *                      `sequence_length` (default 30) records; a last
 *                      incomplete sequence is dropped.
 * Any dtype the SDK's npy reader takes (float32/64, (u)int8..64, bool).
 *
 * Scaling, per feature f over the whole file:
 *   v' = log1p(v) for log features, else v
 *   x  = 2 (v' - min_f) / (max_f - min_f) - 1      (x = 0 if max_f = min_f)
 * Log features (option `log_features`): "auto" (default) takes every
 * feature whose values are all >= 0 (counts, bytes, durations: heavy
 * tailed), "none", "all", or a comma list of feature numbers ("1,2,3").
 * The parameters are saved to <run_dir>/scaling.json so generated
 * sequences can be mapped back; to_original_units inverts the scaling and
 * render writes CSV in original units. describe tells the sample shape
 * from the file's header alone, by open's rules (sequences_of), so a shape
 * the network cannot take is refused before the file is read. Uses only
 * the SDK.
 */
#include <lpz/io.h>
#include <lpz/lpz.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* snprintf for paths and messages: returns 1 when the text fit, 0 when it
 * was cut (the caller treats a cut path as an error or as "not found"). */
static int fmt_path(char *out, size_t size, const char *fmt, ...) LPZ_PRINTF(3, 4);
static int fmt_path(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

typedef struct netflow_state {
    float *data; /* n x t x f, scaled to [-1, 1] */
    int64_t n, t, f;
    double *lo, *hi; /* per feature, after the optional log1p */
    unsigned char *logf;
    char (*names)[32]; /* f column names: from <path>.json (lpz-pcap2npy) or feature_<j> */
} netflow_state;

static void netflow_close(void *state)
{
    netflow_state *s = state;
    if (!s)
        return;
    free(s->data);
    free(s->lo);
    free(s->hi);
    free(s->logf);
    free(s->names);
    free(s);
}

/* Column names for the CSV: the "name" entries of the "fields" array of
 * the sidecar lpz-pcap2npy writes next to its array (<path>.json), when it
 * names exactly f fields with plain names; else feature_<j>. A missing or
 * unexpected sidecar is not an error: names are only labels. */
static void read_field_names(netflow_state *s, const char *npy_path)
{
    for (int64_t j = 0; j < s->f; j++)
        snprintf(s->names[j], sizeof s->names[j], "feature_%lld", (long long)j);
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s.json", npy_path) >= (int)sizeof path)
        return;
    /* O_NONBLOCK and a regular file only: a FIFO there is not waited on */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, O_RDONLY) != 0)) {
        close(fd);
        return;
    }
    FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!fp) {
        if (fd >= 0)
            close(fd);
        return;
    }
    char text[65536];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';
    const char *p = strstr(text, "\"fields\"");
    char found[64][32];
    int64_t count = 0;
    while (p && (p = strstr(p, "\"name\"")) && count < 64) {
        p = strchr(p + 6, ':');
        const char *q = p ? strchr(p, '"') : NULL;
        if (!q)
            return;
        q++;
        size_t k = 0;
        while (q[k] && q[k] != '"' && k < sizeof found[0] - 1) {
            char c = q[k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-'))
                return;
            found[count][k] = c;
            k++;
        }
        if (q[k] != '"' || k == 0)
            return;
        found[count][k] = '\0';
        count++;
        p = q + k + 1;
    }
    if (count != s->f)
        return;
    for (int64_t j = 0; j < s->f; j++)
        memcpy(s->names[j], found[j], sizeof s->names[j]);
}

/* Parses log_features into s->logf; needs the data's per-feature minima. */
static int parse_log_features(const lpz_dataset_context *ctx, netflow_state *s, const double *raw_min, lpz_error *err)
{
    const char *spec = "auto";
    int rc = lpz_options_get_string(ctx->options, "log_features", &spec, err);
    if (rc != LPZ_OK)
        return rc;
    if (!strcmp(spec, "auto")) {
        for (int64_t j = 0; j < s->f; j++) {
            s->logf[j] = raw_min[j] >= 0.0;
            if (!s->logf[j]) /* a single negative value changes the scaling: say so */
                lpz_log(LPZ_LOG_INFO, "network_traffic: feature %lld (%s) has negative values (min %g): scaled "
                        "without log1p (log_features auto takes log1p of features without negative values)",
                        (long long)j, s->names[j], raw_min[j]);
        }
        return LPZ_OK;
    }
    if (!strcmp(spec, "none") || !spec[0])
        return LPZ_OK;
    if (!strcmp(spec, "all")) {
        memset(s->logf, 1, (size_t)s->f);
    } else {
        const char *p = spec;
        while (*p) {
            char *end;
            errno = 0;
            long long j = strtoll(p, &end, 10);
            if (end == p || errno || j < 0 || j >= s->f) {
                lpz_error_set(err, LPZ_EINVAL,
                              "log_features '%s': expected auto, none, all or feature numbers 0..%lld separated by "
                              "commas",
                              spec, (long long)s->f - 1);
                lpz_error_where(err, "%s", lpz_options_where(ctx->options, "log_features"));
                return LPZ_EINVAL;
            }
            s->logf[j] = 1;
            p = end;
            while (*p == ' ')
                p++;
            if (*p == ',')
                p++;
            while (*p == ' ')
                p++;
        }
    }
    for (int64_t j = 0; j < s->f; j++) {
        if (s->logf[j] && raw_min[j] < 0.0) {
            lpz_error_set(err, LPZ_EINVAL, "feature %lld has negative values (min %g): log1p does not apply",
                          (long long)j, raw_min[j]);
            lpz_error_where(err, "%s", lpz_options_where(ctx->options, "log_features"));
            lpz_error_hint(err, "leave feature %lld out of log_features", (long long)j);
            return LPZ_EINVAL;
        }
    }
    return LPZ_OK;
}

static int write_scaling(const char *run_dir, const netflow_state *s, const char *src, lpz_error *err)
{
    size_t cap = 512 + (size_t)s->f * 96 + strlen(src) * 2;
    char *buf = malloc(cap);
    if (!buf)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    size_t len = 0;
#define OUT(...) len += (size_t)snprintf(buf + len, cap - len, __VA_ARGS__)
    OUT("{\n  \"source\": \"");
    for (const char *c = src; *c; c++) {
        if (*c == '"' || *c == '\\')
            OUT("\\%c", *c);
        else if ((unsigned char)*c >= 0x20)
            OUT("%c", *c);
    }
    OUT("\",\n  \"sequence_length\": %lld,\n  \"features\": %lld,\n", (long long)s->t, (long long)s->f);
    OUT("  \"formula\": \"x = 2 * (v' - min) / (max - min) - 1, v' = log1p(v) where log1p is true\",\n");
    const char *keys[3] = {"log1p", "min", "max"};
    for (int k = 0; k < 3; k++) {
        OUT("  \"%s\": [", keys[k]);
        for (int64_t j = 0; j < s->f; j++) {
            if (k == 0)
                OUT("%s%s", j ? ", " : "", s->logf[j] ? "true" : "false");
            else
                OUT("%s%.17g", j ? ", " : "", k == 1 ? s->lo[j] : s->hi[j]);
        }
        OUT("]%s\n", k < 2 ? "," : "");
    }
    OUT("}\n");
#undef OUT
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s/scaling.json", run_dir)) {
        free(buf);
        lpz_error_set(err, LPZ_EINVAL, "run folder path is too long");
        lpz_error_where(err, "%s", run_dir);
        return LPZ_EINVAL;
    }
    int rc = lpz_file_save(path, buf, len, err);
    free(buf);
    return rc;
}

/* The options describe and open both start from: the file (as given and
 * resolved: as written when it exists, else relative to the run file's
 * folder) and sequence_length. */
static int read_options(const lpz_dataset_context *ctx, const char **given, char *path, size_t size,
                        int64_t *seq_len, lpz_error *err)
{
    *seq_len = 30;
    if (!lpz_options_is_set(ctx->options, "path")) {
        lpz_error_set(err, LPZ_ENOTFOUND, "no input file: the option path is required");
        lpz_error_where(err, "dataloader.path");
        lpz_error_hint(err, "set dataloader.path to a .npy of (sequences, T, features) or (records, features), e.g. "
                            "from lpz-pcap2npy");
        return LPZ_ENOTFOUND;
    }
    int rc = lpz_options_get_string(ctx->options, "path", given, err);
    if (rc == LPZ_OK)
        rc = lpz_options_get_int(ctx->options, "sequence_length", seq_len, err);
    if (rc != LPZ_OK)
        return rc;
    struct stat st;
    fmt_path(path, size, "%s", *given);
    if ((*given)[0] != '/' && stat(path, &st) != 0 && ctx->config_dir)
        fmt_path(path, size, "%s/%s", ctx->config_dir, *given);
    return LPZ_OK;
}

/* The .npy (whole: open; its header alone: describe), with the hints of a
 * file that is missing or not a .npy. */
static int load(const lpz_dataset_context *ctx, const char *given, const char *path, int whole, lpz_array *a,
                lpz_error *err)
{
    int rc = whole ? lpz_npy_load(path, a, err) : lpz_npy_load_header(path, a, err);
    if (rc == LPZ_ENOTFOUND || rc == LPZ_EIO)
        lpz_error_hint(err, "%s is %s", lpz_options_where(ctx->options, "path"), given); /* "run.yml:3:9: <key>" */
    else if (rc == LPZ_EFORMAT && strstr(err->message, "not a .npy file")) /* a capture, a CSV, ... */
        lpz_error_hint(err, "path is the .npy of flow sequences; lpz-pcap2npy --pcap CAPTURE -o flows.npy makes "
                            "it from a capture (docs/network-traffic.md)");
    return rc;
}

/* The samples from the array's shape: n sequences of t records x f
 * features (a 2-D array cut into sequences of sequence_length). */
static int sequences_of(const lpz_dataset_context *ctx, const lpz_array *a, const char *path, int64_t seq_len,
                        int64_t *n, int64_t *t, int64_t *f, lpz_error *err)
{
    int rc = LPZ_OK;
    *n = *t = *f = 0;
    if (a->ndim == 3) {
        *n = a->shape[0];
        *t = a->shape[1];
        *f = a->shape[2];
        if (lpz_options_is_set(ctx->options, "sequence_length") && seq_len != *t) {
            rc = lpz_error_set(err, LPZ_EINVAL,
                               "sequence_length %lld does not apply: the file holds sequences of %lld records "
                               "already (shape (%lld, %lld, %lld))",
                               (long long)seq_len, (long long)*t, (long long)*n, (long long)*t, (long long)*f);
            lpz_error_where(err, "%s", lpz_options_where(ctx->options, "sequence_length"));
            if (seq_len >= 1 && seq_len <= 100000000) /* lpz-pcap2npy's range */
                lpz_error_hint(err, "remove sequence_length, or convert again with lpz-pcap2npy --sequence-length "
                                    "%lld (sequence_length cuts only a (records, features) array)",
                               (long long)seq_len);
            else
                lpz_error_hint(err, "remove sequence_length (it cuts only a (records, features) array, and must be "
                                    "positive)");
        }
    } else if (a->ndim == 2) {
        if (seq_len < 1) {
            rc = lpz_error_set(err, LPZ_EINVAL, "sequence_length %lld must be positive", (long long)seq_len);
            lpz_error_where(err, "%s", lpz_options_where(ctx->options, "sequence_length"));
        } else if (a->shape[0] < seq_len) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "only %lld records: fewer than one sequence of %lld",
                               (long long)a->shape[0], (long long)seq_len);
            lpz_error_where(err, "%s", path);
            lpz_error_hint(err, "lower sequence_length or use a longer capture");
        }
        *t = seq_len;
        *n = a->shape[0] / (seq_len > 0 ? seq_len : 1);
        *f = a->shape[1];
    } else {
        rc = lpz_error_set(err, LPZ_EFORMAT, "array has %d dimensions; expected (sequences, T, features) or "
                                             "(records, features)",
                           a->ndim);
        lpz_error_where(err, "%s", path);
    }
    if (rc == LPZ_OK && (*n <= 0 || *t <= 0 || *f <= 0)) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "array is empty (%lld sequences of %lld x %lld)", (long long)*n,
                           (long long)*t, (long long)*f);
        lpz_error_where(err, "%s", path);
    }
    return rc;
}

/* The shape from the options and the file's header (lpz-pcap2npy writes
 * it first), through open's own rules: a T x F the network cannot take is
 * refused before open reads and scales the whole file. */
static int netflow_describe(const lpz_dataset_context *ctx, lpz_dataset_info *info, lpz_error *err)
{
    const char *given;
    char path[PATH_MAX];
    int64_t seq_len, n, t, f;
    lpz_array a;
    int rc = read_options(ctx, &given, path, sizeof path, &seq_len, err);
    if (rc == LPZ_OK)
        rc = load(ctx, given, path, 0, &a, err);
    if (rc != LPZ_OK)
        return rc;
    rc = sequences_of(ctx, &a, path, seq_len, &n, &t, &f, err);
    lpz_array_free(&a);
    if (rc != LPZ_OK)
        return rc;
    info->sample_shape = lpz_shape_make(2, t, f, 0, 0);
    info->kind = LPZ_SAMPLE_SEQUENCE;
    return LPZ_OK;
}

static int netflow_open(const lpz_dataset_context *ctx, void **state, lpz_dataset_info *info, lpz_error *err)
{
    const char *given;
    char path[PATH_MAX];
    int64_t seq_len;
    lpz_array a;
    int rc = read_options(ctx, &given, path, sizeof path, &seq_len, err);
    if (rc == LPZ_OK)
        rc = load(ctx, given, path, 1, &a, err);
    if (rc != LPZ_OK)
        return rc;
    netflow_state *s = calloc(1, sizeof *s);
    if (!s) {
        lpz_array_free(&a);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    rc = sequences_of(ctx, &a, path, seq_len, &s->n, &s->t, &s->f, err);
    if (rc != LPZ_OK) {
        lpz_array_free(&a);
        netflow_close(s);
        return rc;
    }

    /* Keep the used part of the array (drops a last partial sequence). */
    int64_t rows = s->n * s->t, f = s->f;
    s->data = a.data;
    a.data = NULL;
    s->lo = malloc((size_t)f * sizeof *s->lo);
    s->hi = malloc((size_t)f * sizeof *s->hi);
    s->logf = calloc((size_t)f, 1);
    s->names = calloc((size_t)f, sizeof *s->names);
    double *raw_min = malloc((size_t)f * sizeof *raw_min);
    if (!s->lo || !s->hi || !s->logf || !s->names || !raw_min) {
        free(raw_min);
        netflow_close(s);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    }
    read_field_names(s, path);
    for (int64_t j = 0; j < f; j++)
        raw_min[j] = INFINITY;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < f; j++) {
            float v = s->data[r * f + j];
            if (!isfinite(v)) {
                free(raw_min);
                netflow_close(s);
                /* inf here may be a finite float64 of the file beyond float32's range (3.4e38) */
                lpz_error_set(err, LPZ_EFORMAT, "value %g of record %lld, feature %lld is not finite%s", (double)v,
                              (long long)r, (long long)j, isinf(v) ? " (or beyond float32's range, 3.4e38)" : "");
                lpz_error_where(err, "%s", path);
                return LPZ_EFORMAT;
            }
            if (v < raw_min[j])
                raw_min[j] = v;
        }
    }
    rc = parse_log_features(ctx, s, raw_min, err);
    free(raw_min);
    if (rc != LPZ_OK) {
        netflow_close(s);
        return rc;
    }
    for (int64_t j = 0; j < f; j++) {
        s->lo[j] = INFINITY;
        s->hi[j] = -INFINITY;
    }
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < f; j++) {
            double v = s->data[r * f + j];
            if (s->logf[j])
                v = log1p(v);
            if (v < s->lo[j])
                s->lo[j] = v;
            if (v > s->hi[j])
                s->hi[j] = v;
        }
    }
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < f; j++) {
            double v = s->data[r * f + j];
            if (s->logf[j])
                v = log1p(v);
            double x = s->hi[j] > s->lo[j] ? 2.0 * (v - s->lo[j]) / (s->hi[j] - s->lo[j]) - 1.0 : 0.0;
            s->data[r * f + j] = (float)(x < -1.0 ? -1.0 : x > 1.0 ? 1.0 : x);
        }
    }
    if (ctx->run_dir) {
        rc = write_scaling(ctx->run_dir, s, path, err);
        if (rc != LPZ_OK) {
            netflow_close(s);
            return rc;
        }
    }
    info->sample_shape = lpz_shape_make(2, s->t, s->f, 0, 0);
    info->count = s->n;
    info->n_classes = 0;
    info->kind = LPZ_SAMPLE_SEQUENCE;
    lpz_log(LPZ_LOG_INFO, "network_traffic: %lld sequences of %lld records x %lld features from %s", (long long)s->n,
            (long long)s->t, (long long)s->f, path);
    *state = s;
    return LPZ_OK;
}

static int netflow_read(void *state, int64_t index, float *out, lpz_error *err)
{
    (void)err;
    const netflow_state *s = state;
    memcpy(out, s->data + index * s->t * s->f, (size_t)(s->t * s->f) * sizeof *out);
    return LPZ_OK;
}

static int netflow_to_original(void *state, float *samples, int64_t n, lpz_error *err)
{
    (void)err;
    const netflow_state *s = state;
    int64_t rows = n * s->t;
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t j = 0; j < s->f; j++) {
            double x = samples[r * s->f + j];
            double v = (x + 1.0) * 0.5 * (s->hi[j] - s->lo[j]) + s->lo[j];
            if (s->logf[j])
                v = expm1(v);
            samples[r * s->f + j] = (float)v;
        }
    }
    return LPZ_OK;
}

/* CSV in original units: one row per sample and time step. */
static int netflow_render(void *state, const float *samples, int64_t n, const char *path_base, lpz_error *err)
{
    const netflow_state *s = state;
    int64_t numel = s->t * s->f;
    float *copy = malloc((size_t)(n * numel) * sizeof *copy);
    size_t cap = 64 + (size_t)s->f * 40 + (size_t)(n * s->t) * (32 + (size_t)s->f * 20);
    char *buf = malloc(cap);
    if (!copy || !buf) {
        free(copy);
        free(buf);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory rendering %lld sequences", (long long)n);
    }
    memcpy(copy, samples, (size_t)(n * numel) * sizeof *copy);
    netflow_to_original(state, copy, n, err);
    size_t len = (size_t)snprintf(buf, cap, "sample,t");
    for (int64_t j = 0; j < s->f; j++)
        len += (size_t)snprintf(buf + len, cap - len, ",%s", s->names[j]);
    len += (size_t)snprintf(buf + len, cap - len, "\n");
    for (int64_t i = 0; i < n; i++) {
        for (int64_t t = 0; t < s->t; t++) {
            len += (size_t)snprintf(buf + len, cap - len, "%lld,%lld", (long long)i, (long long)t);
            /* 9 digits read back as the same float32 (samples.npy's value); 7 cut 16777215 to 1.677722e+07 */
            for (int64_t j = 0; j < s->f; j++)
                len += (size_t)snprintf(buf + len, cap - len, ",%.9g", (double)copy[(i * s->t + t) * s->f + j]);
            len += (size_t)snprintf(buf + len, cap - len, "\n");
        }
    }
    free(copy);
    char path[PATH_MAX];
    if (!fmt_path(path, sizeof path, "%s.csv", path_base)) {
        free(buf);
        lpz_error_set(err, LPZ_EINVAL, "output path is too long");
        lpz_error_where(err, "%s", path_base);
        return LPZ_EINVAL;
    }
    int rc = lpz_file_save(path, buf, len, err);
    free(buf);
    return rc;
}

static const lpz_option_spec netflow_options[] = {
    {"path", LPZ_OPT_PATH, NULL, ".npy of (sequences, T, features) or (records, features); required"},
    {"sequence_length", LPZ_OPT_INT, "30",
     "records per sequence when the file holds (records, features); refused for a (sequences, T, features) file "
     "unless equal to T"},
    {"log_features", LPZ_OPT_STRING, "auto",
     "features scaled after log1p: auto (every feature without negative values), none, all, or feature numbers "
     "from 0, like 1,2,3"},
    {NULL, 0, NULL, NULL},
};

static const lpz_dataloader_ops netflow_ops = {
    .size = sizeof(lpz_dataloader_ops),
    .open = netflow_open,
    .close = netflow_close,
    .read = netflow_read,
    .label = NULL,
    .render = netflow_render,
    .to_original_units = netflow_to_original,
    .describe = netflow_describe,
};

static const char *const netflow_aliases[] = {"netflow", NULL};

LPZ_PLUGIN_DEFINE(LPZ_PLUGIN_DATALOADER, "network_traffic", netflow_aliases, "1.0.0",
                  "sequences of network flow records from a .npy, per-feature min-max scaling (after log1p for "
                  "features without negative values)",
                  netflow_options, &netflow_ops);
