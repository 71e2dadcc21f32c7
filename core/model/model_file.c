/* core/model/model_file.c - models saved as safetensors with the state_dict
 * layout of the equivalent PyTorch module, and loaded back bit for bit.
 * The file format and metadata keys are described in model.h. */
#include "base/shape.h"
#include "config/options_internal.h"
#include "io/safetensors.h"
#include "model_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tensors are written and read as the host's bytes; safetensors is
 * little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "model files assume a little-endian host");

static const char *const reserved_keys[] = {"format", "lpz_version", "network",      "network_options",
                                            "role",   "critic",      "sample_shape", "latent_shape"};
#define N_RESERVED ((int)(sizeof reserved_keys / sizeof reserved_keys[0]))

static int is_reserved(const char *key)
{
    for (int i = 0; i < N_RESERVED; i++)
        if (strcmp(key, reserved_keys[i]) == 0)
            return 1;
    return 0;
}

/* batch-norm's step counter: a float in the model, int64 [] in the file. */
static int is_counter(const char *name, int trainable)
{
    static const char suffix[] = "num_batches_tracked";
    size_t len = strlen(name), sl = sizeof suffix - 1;
    return !trainable && len >= sl && strcmp(name + len - sl, suffix) == 0;
}

/* ---- small text buffer ---------------------------------------------------- */

typedef struct textbuf {
    char *data;
    size_t len, cap;
    int oom;
} textbuf;

static void tb_putn(textbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void tb_puts(textbuf *b, const char *s)
{
    tb_putn(b, s, strlen(s));
}

/* s as a JSON string literal (quotes, backslashes and control characters
 * escaped; other bytes, including UTF-8, as they are). */
static void tb_json_string(textbuf *b, const char *s)
{
    tb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            tb_putn(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            tb_puts(b, esc);
        } else {
            tb_putn(b, (const char *)&c, 1);
        }
    }
    tb_puts(b, "\"");
}

static void shape_json(const lpz_shape *s, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < s->ndim && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64, i ? ", " : "", s->dim[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* ---- saving ---------------------------------------------------------------- */

int lpz_model_save(const char *path, const lpz_model *model, const lpz_network *net, lpz_role role,
                   const char *const *extra_keys, const char *const *extra_values, int n_extra,
                   lpz_error *err)
{
    if (net && role != LPZ_ROLE_GENERATOR && role != LPZ_ROLE_DISCRIMINATOR)
        return lpz_error_set(err, LPZ_EINVAL, "unknown network role %d for model file %s", (int)role, path);
    if (n_extra < 0 || (n_extra > 0 && (!extra_keys || !extra_values)))
        return lpz_error_set(err, LPZ_EINVAL, "invalid extra metadata for model file %s", path);
    for (int i = 0; i < n_extra; i++) {
        if (!extra_keys[i] || !extra_keys[i][0] || !extra_values[i])
            return lpz_error_set(err, LPZ_EINVAL, "extra metadata pair %d of model file %s is empty", i,
                                 path);
        if (is_reserved(extra_keys[i]))
            return lpz_error_set(err, LPZ_EINVAL, "extra metadata key \"%s\" of model file %s is reserved",
                                 extra_keys[i], path);
        for (int j = 0; j < i; j++)
            if (strcmp(extra_keys[i], extra_keys[j]) == 0)
                return lpz_error_set(err, LPZ_EINVAL,
                                     "extra metadata key \"%s\" given twice for model file %s", extra_keys[i],
                                     path);
    }

    int n = lpz_model_tensor_count(model);
    int rc = LPZ_OK;
    lpz_st_tensor *tensors = calloc((size_t)(n > 0 ? n : 1), sizeof *tensors);
    int64_t *counters = calloc((size_t)(n > 0 ? n : 1), sizeof *counters);
    const char **keys = calloc((size_t)(N_RESERVED + n_extra), sizeof *keys);
    const char **values = calloc((size_t)(N_RESERVED + n_extra), sizeof *values);
    textbuf options = {0};
    if (!tensors || !counters || !keys || !values) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory saving model file %s", path);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        rc = lpz_model_tensor_info(model, i, &name, &shape, &data, &trainable);
        if (rc != LPZ_OK) {
            lpz_error_set(err, rc, "cannot read tensor %d of the model to save it to %s", i, path);
            goto done;
        }
        lpz_st_tensor *t = &tensors[i];
        t->name = (char *)name; /* the writer only reads it */
        if (is_counter(name, trainable)) {
            float v = data[0];
            if (!(v >= 0.0f) || v != floorf(v)) {
                rc = lpz_error_set(err, LPZ_EINVAL, "tensor %s holds %g, not a count", name, (double)v);
                goto done;
            }
            counters[i] = (int64_t)v;
            t->dtype = LPZ_ST_I64;
            t->ndim = 0;
            t->data = &counters[i];
            t->nbytes = sizeof(int64_t);
        } else {
            t->dtype = LPZ_ST_F32;
            t->ndim = shape.ndim;
            for (int d = 0; d < shape.ndim; d++)
                t->shape[d] = shape.dim[d];
            t->data = data;
            t->nbytes = (size_t)lpz_shape_numel(&shape) * sizeof(float);
        }
    }

    int n_meta = 0;
    char role_text[16], critic_text[4], sample_text[128], latent_text[128];
    keys[n_meta] = "format";
    values[n_meta++] = LPZ_MODEL_FORMAT;
    keys[n_meta] = "lpz_version";
    values[n_meta++] = LPZ_VERSION;
    if (net) {
        tb_puts(&options, "{");
        int n_opt = lpz_network_option_count(net), written = 0;
        for (int i = 0; i < n_opt; i++) {
            const char *key;
            char value[1024];
            int orc = lpz_network_option_text(net, i, &key, value, sizeof value, err);
            if (orc == LPZ_ENOTFOUND)
                continue;
            if (orc != LPZ_OK) {
                rc = orc;
                lpz_error_context(err, "saving %s", path);
                goto done;
            }
            tb_puts(&options, written++ ? ", " : "");
            tb_json_string(&options, key);
            tb_puts(&options, ": ");
            tb_json_string(&options, value);
        }
        tb_puts(&options, "}");
        if (options.oom) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory saving model file %s", path);
            goto done;
        }
        lpz_shape sample = lpz_network_sample_shape(net), latent = lpz_network_latent_shape(net);
        snprintf(role_text, sizeof role_text, "%s", lpz_role_name(role));
        snprintf(critic_text, sizeof critic_text, "%d", lpz_network_critic(net));
        shape_json(&sample, sample_text, sizeof sample_text);
        shape_json(&latent, latent_text, sizeof latent_text);
        keys[n_meta] = "network";
        values[n_meta++] = lpz_network_plugin(net)->name;
        keys[n_meta] = "network_options";
        values[n_meta++] = options.data;
        keys[n_meta] = "role";
        values[n_meta++] = role_text;
        keys[n_meta] = "critic";
        values[n_meta++] = critic_text;
        keys[n_meta] = "sample_shape";
        values[n_meta++] = sample_text;
        keys[n_meta] = "latent_shape";
        values[n_meta++] = latent_text;
    }
    for (int i = 0; i < n_extra; i++) {
        keys[n_meta] = extra_keys[i];
        values[n_meta++] = extra_values[i];
    }
    rc = lpz_st_write(path, tensors, n, keys, values, n_meta, err);
done:
    free(tensors);
    free(counters);
    free(keys);
    free(values);
    free(options.data);
    return rc;
}

/* ---- loading --------------------------------------------------------------- */

static int st_shape_matches(const lpz_st_tensor *t, const lpz_shape *s)
{
    if (t->ndim != s->ndim)
        return 0;
    for (int d = 0; d < s->ndim; d++)
        if (t->shape[d] != s->dim[d])
            return 0;
    return 1;
}

static void st_shape_text(const lpz_st_tensor *t, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->ndim && d < LPZ_ST_MAX_DIMS && len < size; d++)
        len += (size_t)snprintf(buf + len, size - len, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

static const char *dtype_name(lpz_st_dtype d)
{
    switch (d) {
    case LPZ_ST_F32: return "F32";
    case LPZ_ST_F64: return "F64";
    case LPZ_ST_I64: return "I64";
    case LPZ_ST_I32: return "I32";
    case LPZ_ST_F16: return "F16";
    case LPZ_ST_BF16: return "BF16";
    case LPZ_ST_U8: return "U8";
    case LPZ_ST_BOOL: return "BOOL";
    }
    return "unknown";
}

int lpz_model_load_into(const char *path, lpz_model *model, lpz_error *err)
{
    lpz_st_file f;
    memset(&f, 0, sizeof f);
    int rc = lpz_st_read(path, &f, err);
    if (rc != LPZ_OK)
        return rc;
    int n = lpz_model_tensor_count(model);
    const char *hint = "the file was saved from another network or with other network options: compare "
                       "its metadata (network, network_options, sample_shape) with the run file";
    /* Check everything first, so a refused file leaves the model as it was. */
    for (int i = 0; i < n && rc == LPZ_OK; i++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        rc = lpz_model_tensor_info(model, i, &name, &shape, &data, &trainable);
        if (rc != LPZ_OK) {
            lpz_error_set(err, rc, "cannot inspect tensor %d of the model", i);
            break;
        }
        const lpz_st_tensor *t = lpz_st_find(&f, name);
        char want[96], got[96];
        if (!t) {
            lpz_shape_format(&shape, want, sizeof want);
            rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s %s of the network is missing from the file", name,
                               want);
            lpz_error_hint(err, "%s", hint);
            break;
        }
        int counter = is_counter(name, trainable);
        lpz_st_dtype want_dtype = counter ? LPZ_ST_I64 : LPZ_ST_F32;
        if (t->dtype != want_dtype) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s has dtype %s, expected %s", name,
                               dtype_name(t->dtype), dtype_name(want_dtype));
            lpz_error_hint(err, "save the model in float32 (counters in int64)");
            break;
        }
        lpz_shape want_shape = counter ? lpz_shape_make(0, 0, 0, 0, 0) : shape;
        if (!st_shape_matches(t, &want_shape)) {
            st_shape_text(t, got, sizeof got);
            lpz_shape_format(&want_shape, want, sizeof want);
            rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s has shape %s in the file, the network needs %s",
                               name, got, want);
            lpz_error_hint(err, "%s", hint);
            break;
        }
        size_t need = counter ? sizeof(int64_t) : (size_t)lpz_shape_numel(&shape) * sizeof(float);
        if (t->nbytes != need || (need > 0 && !t->data)) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s holds %zu bytes, expected %zu", name, t->nbytes,
                               need);
            break;
        }
        /* a NaN or infinity would flow silently into every sample (lpz generate wrote NaN images) */
        for (size_t k = 0; !counter && k < need / sizeof(float); k++) {
            float v;
            memcpy(&v, (const char *)t->data + k * sizeof v, sizeof v); /* file data may be unaligned */
            if (!isfinite(v)) {
                rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s holds %g at element %zu", name, (double)v, k);
                lpz_error_hint(err, "a saved network holds finite numbers: the file is damaged, or was saved from a "
                                    "run that diverged");
                break;
            }
        }
        if (counter) {
            int64_t v;
            memcpy(&v, t->data, sizeof v);
            if (v < 0) {
                rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s is negative (%" PRId64 ")", name, v);
                break;
            }
        }
    }
    /* Every model tensor is in the file; anything more is a tensor of
     * another network. */
    for (int j = 0; j < f.n_tensors && rc == LPZ_OK; j++) {
        int found = 0;
        for (int i = 0; i < n && !found; i++) {
            const char *name;
            lpz_shape shape;
            float *data;
            int trainable;
            if (lpz_model_tensor_info(model, i, &name, &shape, &data, &trainable) == LPZ_OK &&
                strcmp(name, f.tensors[j].name) == 0)
                found = 1;
        }
        if (!found) {
            rc = lpz_error_set(err, LPZ_EFORMAT, "tensor %s of the file is not part of the network",
                               f.tensors[j].name);
            lpz_error_hint(err, "%s", hint);
        }
    }
    /* Every name matched both ways, so a count mismatch is a name given twice. */
    if (rc == LPZ_OK && f.n_tensors != n)
        rc = lpz_error_set(err, LPZ_EFORMAT,
                           "the file holds %d tensors for the network's %d (a name appears twice)",
                           f.n_tensors, n);
    if (rc != LPZ_OK) {
        lpz_error_context(err, "%s", path);
        lpz_st_free(&f);
        return rc;
    }
    for (int i = 0; i < n; i++) {
        const char *name;
        lpz_shape shape;
        float *data;
        int trainable;
        lpz_model_tensor_info(model, i, &name, &shape, &data, &trainable);
        const lpz_st_tensor *t = lpz_st_find(&f, name);
        if (is_counter(name, trainable)) {
            int64_t v;
            memcpy(&v, t->data, sizeof v);
            data[0] = (float)v;
        } else if (t->nbytes) {
            memcpy(data, t->data, t->nbytes); /* file data may be unaligned */
        }
    }
    lpz_st_free(&f);
    return LPZ_OK;
}

/* ---- metadata parsing ------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

/* "[1, 28, 28]" -> shape; 0 on malformed text or out-of-range sizes. */
static int parse_shape(const char *text, lpz_shape *out)
{
    lpz_shape s = lpz_shape_make(0, 0, 0, 0, 0);
    const char *p = skip_ws(text);
    if (*p++ != '[')
        return 0;
    p = skip_ws(p);
    if (*p != ']') {
        for (;;) {
            if (s.ndim == LPZ_MAX_DIMS || *p < '0' || *p > '9')
                return 0;
            int64_t v = 0;
            while (*p >= '0' && *p <= '9') {
                v = v * 10 + (*p++ - '0');
                if (v > ((int64_t)1 << 31))
                    return 0;
            }
            if (v < 1)
                return 0;
            s.dim[s.ndim++] = v;
            p = skip_ws(p);
            if (*p == ']')
                break;
            if (*p++ != ',')
                return 0;
            p = skip_ws(p);
        }
    }
    p = skip_ws(p + 1);
    if (*p)
        return 0;
    *out = s;
    return 1;
}

static void put_utf8(textbuf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    tb_putn(b, u, n);
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* A JSON string starting at *pp (at the opening quote) into a malloc'd
 * C string; advances *pp past the closing quote. NULL when malformed (or
 * when it contains a NUL character). */
static char *parse_json_string(const char **pp)
{
    const char *p = *pp;
    if (*p++ != '"')
        return NULL;
    textbuf b = {0};
    tb_puts(&b, "");
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c == '\0' || c < 0x20)
            goto fail;
        if (c != '\\') {
            tb_putn(&b, p++, 1);
            continue;
        }
        p++;
        char e = *p++;
        switch (e) {
        case '"': tb_puts(&b, "\""); break;
        case '\\': tb_puts(&b, "\\"); break;
        case '/': tb_puts(&b, "/"); break;
        case 'b': tb_puts(&b, "\b"); break;
        case 'f': tb_puts(&b, "\f"); break;
        case 'n': tb_puts(&b, "\n"); break;
        case 'r': tb_puts(&b, "\r"); break;
        case 't': tb_puts(&b, "\t"); break;
        case 'u': {
            unsigned cp;
            if (!hex4(p, &cp))
                goto fail;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                    goto fail;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
                goto fail;
            }
            put_utf8(&b, cp);
            break;
        }
        default: goto fail;
        }
    }
    if (b.oom)
        goto fail;
    *pp = p + 1;
    return b.data;
fail:
    free(b.data);
    return NULL;
}

static void free_pairs(char **keys, char **values, int n)
{
    for (int i = 0; i < n; i++) {
        if (keys)
            free(keys[i]);
        if (values)
            free(values[i]);
    }
    free(keys);
    free(values);
}

/* {"key": "value", ...} -> pairs (all strings, keys unique and non-empty). */
static int parse_options(const char *text, lpz_model_info *info, lpz_error *err)
{
    const char *p = skip_ws(text);
    int cap = 0;
    if (*p++ != '{')
        goto bad;
    p = skip_ws(p);
    if (*p == '}') {
        p++;
    } else {
        for (;;) {
            char *key = parse_json_string(&p);
            if (!key)
                goto bad;
            p = skip_ws(p);
            char *value = NULL;
            if (*p == ':') {
                p = skip_ws(p + 1);
                value = parse_json_string(&p);
            }
            if (!value || !key[0]) {
                free(key);
                free(value);
                goto bad;
            }
            for (int i = 0; i < info->n_options; i++)
                if (strcmp(info->option_keys[i], key) == 0) {
                    lpz_error_set(err, LPZ_EFORMAT, "metadata network_options names option \"%s\" twice",
                                  key);
                    free(key);
                    free(value);
                    return LPZ_EFORMAT;
                }
            if (info->n_options == cap) {
                int ncap = cap ? cap * 2 : 8;
                char **k = realloc(info->option_keys, (size_t)ncap * sizeof *k);
                if (k)
                    info->option_keys = k;
                char **v = k ? realloc(info->option_values, (size_t)ncap * sizeof *v) : NULL;
                if (v)
                    info->option_values = v;
                if (!k || !v) {
                    free(key);
                    free(value);
                    return lpz_error_set(err, LPZ_ENOMEM, "out of memory reading model metadata");
                }
                cap = ncap;
            }
            info->option_keys[info->n_options] = key;
            info->option_values[info->n_options++] = value;
            p = skip_ws(p);
            if (*p == '}') {
                p++;
                break;
            }
            if (*p++ != ',')
                goto bad;
            p = skip_ws(p);
        }
    }
    if (*skip_ws(p))
        goto bad;
    return LPZ_OK;
bad:
    lpz_error_set(err, LPZ_EFORMAT, "metadata network_options is not a JSON object of strings: %.200s", text);
    return LPZ_EFORMAT;
}

static int need_meta(const lpz_st_file *f, const char *key, const char **out, lpz_error *err)
{
    *out = lpz_st_meta(f, key);
    if (!*out)
        return lpz_error_set(err, LPZ_EFORMAT, "metadata key \"%s\" is missing (it records the network)",
                             key);
    return LPZ_OK;
}

static int fill_info(const lpz_st_file *f, lpz_model_info *info, lpz_error *err)
{
    const char *v;
    info->n_tensors = f->n_tensors;
    for (int i = 0; i < f->n_tensors; i++)
        info->n_values += (int64_t)(f->tensors[i].nbytes / (size_t)lpz_st_dtype_size(f->tensors[i].dtype));
    if ((v = lpz_st_meta(f, "format")))
        snprintf(info->format, sizeof info->format, "%s", v);
    if ((v = lpz_st_meta(f, "lpz_version")))
        snprintf(info->lpz_version, sizeof info->lpz_version, "%s", v);
    if (info->format[0] && strcmp(info->format, LPZ_MODEL_FORMAT) != 0) {
        lpz_error_set(err, LPZ_EUNSUPPORTED, "model file format \"%s\" is not supported (this lpz reads %s)",
                      info->format, LPZ_MODEL_FORMAT);
        lpz_error_hint(err, "use the lpz version that wrote it (%s)",
                       info->lpz_version[0] ? info->lpz_version : "unknown");
        return LPZ_EUNSUPPORTED;
    }
    const char *network = lpz_st_meta(f, "network");
    if (network) {
        int rc;
        if (strlen(network) == 0 || strlen(network) >= sizeof info->network)
            return lpz_error_set(err, LPZ_EFORMAT, "metadata network has an invalid name");
        snprintf(info->network, sizeof info->network, "%s", network);
        info->has_network = 1;
        if ((rc = need_meta(f, "role", &v, err)))
            return rc;
        if (strcmp(v, "generator") == 0)
            info->role = LPZ_ROLE_GENERATOR;
        else if (strcmp(v, "discriminator") == 0)
            info->role = LPZ_ROLE_DISCRIMINATOR;
        else
            return lpz_error_set(err, LPZ_EFORMAT,
                                 "metadata role is \"%.100s\", expected \"generator\" or \"discriminator\"",
                                 v);
        if ((rc = need_meta(f, "critic", &v, err)))
            return rc;
        if (strcmp(v, "0") && strcmp(v, "1"))
            return lpz_error_set(err, LPZ_EFORMAT, "metadata critic is \"%.100s\", expected \"0\" or \"1\"",
                                 v);
        info->critic = v[0] == '1';
        if ((rc = need_meta(f, "sample_shape", &v, err)))
            return rc;
        if (!parse_shape(v, &info->sample_shape) || info->sample_shape.ndim == 0)
            return lpz_error_set(
                err, LPZ_EFORMAT,
                "metadata sample_shape \"%.100s\" is not a list of 1 to %d sizes like [1, 28, 28]", v,
                LPZ_MAX_DIMS);
        if ((rc = need_meta(f, "latent_shape", &v, err)))
            return rc;
        if (!parse_shape(v, &info->latent_shape) || info->latent_shape.ndim == 0)
            return lpz_error_set(err, LPZ_EFORMAT,
                                 "metadata latent_shape \"%.100s\" is not a list of 1 to %d sizes like [64]",
                                 v, LPZ_MAX_DIMS);
        if ((rc = need_meta(f, "network_options", &v, err)))
            return rc;
        if ((rc = parse_options(v, info, err)))
            return rc;
    }
    int n_extra = 0;
    for (int i = 0; i < f->n_meta; i++)
        n_extra += !is_reserved(f->meta_keys[i]);
    if (n_extra) {
        info->extra_keys = calloc((size_t)n_extra, sizeof(char *));
        info->extra_values = calloc((size_t)n_extra, sizeof(char *));
        if (!info->extra_keys || !info->extra_values)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory reading model metadata");
        for (int i = 0; i < f->n_meta; i++) {
            if (is_reserved(f->meta_keys[i]))
                continue;
            char *k = strdup(f->meta_keys[i]), *val = strdup(f->meta_values[i]);
            if (!k || !val) {
                free(k);
                free(val);
                return lpz_error_set(err, LPZ_ENOMEM, "out of memory reading model metadata");
            }
            info->extra_keys[info->n_extra] = k;
            info->extra_values[info->n_extra++] = val;
        }
    }
    return LPZ_OK;
}

int lpz_model_file_info(const char *path, lpz_model_info *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    lpz_st_file f;
    memset(&f, 0, sizeof f);
    int rc = lpz_st_read(path, &f, err);
    if (rc != LPZ_OK)
        return rc;
    rc = fill_info(&f, out, err);
    lpz_st_free(&f);
    if (rc != LPZ_OK) {
        lpz_error_context(err, "%s", path);
        lpz_model_info_free(out);
    }
    return rc;
}

void lpz_model_info_free(lpz_model_info *info)
{
    if (!info)
        return;
    free_pairs(info->option_keys, info->option_values, info->n_options);
    free_pairs(info->extra_keys, info->extra_values, info->n_extra);
    memset(info, 0, sizeof *info);
}

const char *lpz_model_info_extra(const lpz_model_info *info, const char *key)
{
    for (int i = 0; i < info->n_extra; i++)
        if (strcmp(info->extra_keys[i], key) == 0)
            return info->extra_values[i];
    return NULL;
}

/* ---- rebuilding from a file ------------------------------------------------- */

static int plugin_answers_to(const lpz_plugin *plugin, const char *name)
{
    if (plugin->name && strcmp(plugin->name, name) == 0)
        return 1;
    for (int i = 0; plugin->aliases && plugin->aliases[i]; i++)
        if (strcmp(plugin->aliases[i], name) == 0)
            return 1;
    return 0;
}

int lpz_model_open(const char *path, const lpz_plugin *plugin, lpz_loaded_model *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = lpz_model_file_info(path, &out->info, err);
    if (rc != LPZ_OK)
        return rc;
    const lpz_model_info *info = &out->info;
    if (!info->has_network) {
        lpz_error_set(err, LPZ_EFORMAT, "the file does not name the network that wrote it");
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "%s", LPZ_MODEL_METADATA_HINT);
        return LPZ_EFORMAT;
    }
    if (!plugin || !plugin_answers_to(plugin, info->network)) {
        lpz_error_set(err, LPZ_EINVAL, "the file was written by network %s, not %s", info->network,
                      plugin && plugin->name ? plugin->name : "(none)");
        lpz_error_where(err, "%s", path);
        return LPZ_EINVAL;
    }
    out->options = lpz_options_create(plugin->options, plugin->name);
    if (!out->options)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory creating the options of %s", plugin->name);
    char where[4200];
    snprintf(where, sizeof where, "%s: metadata network_options", path);
    for (int i = 0; i < info->n_options; i++) {
        rc = lpz_options_set(out->options, info->option_keys[i], info->option_values[i], where, err);
        if (rc != LPZ_OK) {
            lpz_error_hint(err, "the file was written by another version of the %s plugin", plugin->name);
            return rc;
        }
    }
    rc = lpz_network_create(plugin, out->options, &info->sample_shape, info->critic, &out->net, err);
    if (rc != LPZ_OK) {
        lpz_error_context(err, "%s", path);
        return rc;
    }
    lpz_shape latent = lpz_network_latent_shape(out->net);
    if (!lpz_mdl_shape_equal(&latent, &info->latent_shape)) {
        char a[96], b[96];
        lpz_shape_format(&latent, a, sizeof a);
        lpz_shape_format(&info->latent_shape, b, sizeof b);
        lpz_error_set(err, LPZ_EFORMAT, "network %s now takes latent shape %s, the file records %s",
                      plugin->name, a, b);
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "the file was written by another version of the %s plugin", plugin->name);
        return LPZ_EFORMAT;
    }
    /* The file's tensors must fill the model exactly (load_into checks):
     * metadata asking for a larger network is refused before it allocates
     * (hidden: "40000" in a file of 1 KB asked for 6 GB, for 20 s). */
    int64_t limit = info->n_values > 0 ? info->n_values : 1;
    rc = lpz_network_build_within(out->net, info->role, 0, limit, &out->model, err);
    if (rc == LPZ_EFORMAT) {
        /* A little larger than the file holds (up to twice, or 16 M values more: parameters and gradients of
         * 128 MB) is most often a tensor missing from the file, which load_into then names; a network far
         * larger stays refused unbuilt. */
        int64_t more = limit < ((int64_t)16 << 20) ? limit + ((int64_t)16 << 20) : 2 * limit;
        lpz_error e2;
        lpz_error_clear(&e2);
        if (lpz_network_build_within(out->net, info->role, 0, more, &out->model, &e2) == LPZ_OK) {
            rc = LPZ_OK;
            lpz_error_clear(err);
        }
    }
    if (rc != LPZ_OK) {
        lpz_error_context(err, "%s", path);
        if (rc == LPZ_EFORMAT)
            lpz_error_hint(err, "the file's %d tensors hold %lld values: its network_options or sample_shape "
                           "describe a larger network than the one saved", info->n_tensors,
                           (long long)info->n_values);
        return rc;
    }
    rc = lpz_model_load_into(path, out->model, err);
    if (rc != LPZ_OK)
        return rc;
    lpz_model_set_training(out->model, 0);
    return LPZ_OK;
}

void lpz_loaded_model_close(lpz_loaded_model *lm)
{
    if (!lm)
        return;
    lpz_model_destroy(lm->model);
    lpz_network_destroy(lm->net);
    if (lm->options)
        lpz_options_destroy(lm->options);
    lpz_model_info_free(&lm->info);
    memset(lm, 0, sizeof *lm);
}
