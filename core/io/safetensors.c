/* core/io/safetensors.c - safetensors reader (validating) and writer.
 * Owns: the header JSON grammar and its checks. Calls: fsutil, lpz_error.
 *
 * The header is parsed by a small strict JSON parser driven by the schema
 *   {"__metadata__": {str: str, ...},
 *    name: {"dtype": str, "shape": [int, ...], "data_offsets": [int, int]}, ...}
 * so nesting never goes deeper than three levels and no general JSON tree
 * is built. Strict means: RFC 8259 syntax only (no comments, no trailing
 * commas, no leading zeros), valid UTF-8, no duplicate keys, no unknown
 * keys, integers only where integers are expected. As in the reference
 * implementation, the tensors must cover the data area exactly (no
 * overlaps, no holes, no trailing bytes). */
#include "io/safetensors.h"

#include "io/fsutil.h"
#include "io/text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "lpz io assumes a little-endian host");

/* Same limit as the reference implementation. */
#define ST_MAX_HEADER 100000000u
/* Files larger than this are refused before reading (1 TiB). */
#define ST_MAX_FILE ((size_t)1 << 40)
/* Largest dimension: keeps numel * 8 inside int64. */
#define ST_MAX_DIM ((int64_t)1 << 58)

static const struct {
    const char *name;
    lpz_st_dtype dtype;
    int size;
} st_dtypes[] = {
    {"F32", LPZ_ST_F32, 4}, {"F64", LPZ_ST_F64, 8},   {"I64", LPZ_ST_I64, 8}, {"I32", LPZ_ST_I32, 4},
    {"F16", LPZ_ST_F16, 2}, {"BF16", LPZ_ST_BF16, 2}, {"U8", LPZ_ST_U8, 1},   {"BOOL", LPZ_ST_BOOL, 1},
};
#define N_DTYPES (sizeof st_dtypes / sizeof st_dtypes[0])

const char *lpz_st_dtype_name(lpz_st_dtype d)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (st_dtypes[i].dtype == d)
            return st_dtypes[i].name;
    return "?";
}

int lpz_st_dtype_size(lpz_st_dtype d)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (st_dtypes[i].dtype == d)
            return st_dtypes[i].size;
    return 0;
}

/* ---- UTF-8 ------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static bool utf8_valid(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (!k)
            return false;
        i += k;
    }
    return true;
}

/* ---- JSON lexing ---------------------------------------------------------- */

typedef struct jp {
    const unsigned char *s;
    size_t n, i;
    lpz_error *err;
    const char *tensor; /* name of the tensor being parsed, for messages */
} jp;

static void jws(jp *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int jfail(jp *p, const char *what)
{
    const char *at_end = p->i >= p->n ? " (the header ended)" : "";
    if (p->tensor)
        return lpz_error_set(p->err, LPZ_EFORMAT, "safetensors header, tensor \"%.200s\", byte %zu: %s%s", p->tensor,
                             p->i, what, at_end);
    return lpz_error_set(p->err, LPZ_EFORMAT, "safetensors header JSON, byte %zu: %s%s", p->i, what, at_end);
}

static int jexpect(jp *p, char c)
{
    jws(p);
    if (p->i >= p->n || p->s[p->i] != (unsigned char)c) {
        char what[64];
        snprintf(what, sizeof what, "expected '%c'", c);
        return jfail(p, what);
    }
    p->i++;
    return 0;
}

/* Peeks at the next non-space byte (0 at the end). */
static int jpeek(jp *p)
{
    jws(p);
    return p->i < p->n ? p->s[p->i] : 0;
}

static int read_u4(jp *p, unsigned *out)
{
    *out = 0;
    if (p->n - p->i < 4)
        return jfail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int h = lpz_hex_digit((unsigned char)p->s[p->i + k]);
        if (h < 0)
            return jfail(p, "bad \\u escape");
        v = v << 4 | (unsigned)h;
    }
    p->i += 4;
    *out = v;
    return 0;
}

/* A JSON string, decoded to a malloc'd UTF-8 C string. */
static int jstring(jp *p, char **out)
{
    *out = NULL;
    jws(p);
    if (p->i >= p->n || p->s[p->i] != '"')
        return jfail(p, "expected a string");
    p->i++;
    /* Decoded text is never longer than the raw text. */
    size_t end = p->i;
    while (end < p->n && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->n)
        return jfail(p, "unterminated string");
    char *s = malloc(end - p->i + 1);
    if (!s)
        return lpz_error_set(p->err, LPZ_ENOMEM, "out of memory parsing the safetensors header");
    size_t len = 0;
    while (p->s[p->i] != '"') {
        unsigned c = p->s[p->i];
        if (c < 0x20) {
            free(s);
            return jfail(p, "control character in string");
        }
        if (c != '\\') {
            size_t k = utf8_seq(p->s + p->i, p->n - p->i);
            if (!k) {
                free(s);
                return jfail(p, "invalid UTF-8 in string");
            }
            memcpy(s + len, p->s + p->i, k);
            len += k;
            p->i += k;
            continue;
        }
        p->i++;
        c = p->s[p->i++];
        unsigned cp;
        switch (c) {
        case '"': s[len++] = '"'; continue;
        case '\\': s[len++] = '\\'; continue;
        case '/': s[len++] = '/'; continue;
        case 'b': s[len++] = '\b'; continue;
        case 'f': s[len++] = '\f'; continue;
        case 'n': s[len++] = '\n'; continue;
        case 'r': s[len++] = '\r'; continue;
        case 't': s[len++] = '\t'; continue;
        case 'u':
            if (read_u4(p, &cp)) {
                free(s);
                return LPZ_EFORMAT;
            }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                free(s);
                return jfail(p, "lone low surrogate in \\u escape");
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') {
                    free(s);
                    return jfail(p, "high surrogate not followed by a low surrogate");
                }
                p->i += 2;
                if (read_u4(p, &lo)) {
                    free(s);
                    return LPZ_EFORMAT;
                }
                if (lo < 0xdc00 || lo > 0xdfff) {
                    free(s);
                    return jfail(p, "high surrogate not followed by a low surrogate");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) {
                free(s);
                return jfail(p, "\\u0000 in a string is not supported");
            }
            /* 6 escaped bytes (12 for a pair) always cover <= 4 output bytes */
            if (cp < 0x80) {
                s[len++] = (char)cp;
            } else if (cp < 0x800) {
                s[len++] = (char)(0xc0 | cp >> 6);
                s[len++] = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                s[len++] = (char)(0xe0 | cp >> 12);
                s[len++] = (char)(0x80 | (cp >> 6 & 0x3f));
                s[len++] = (char)(0x80 | (cp & 0x3f));
            } else {
                s[len++] = (char)(0xf0 | cp >> 18);
                s[len++] = (char)(0x80 | (cp >> 12 & 0x3f));
                s[len++] = (char)(0x80 | (cp >> 6 & 0x3f));
                s[len++] = (char)(0x80 | (cp & 0x3f));
            }
            continue;
        default:
            p->i--;
            free(s);
            return jfail(p, "invalid escape in string");
        }
    }
    p->i++;
    s[len] = '\0';
    *out = s;
    return 0;
}

/* A non-negative JSON integer no larger than max. Other JSON numbers are
 * recognised only to say clearly what is wrong. */
static int juint(jp *p, int64_t max, int64_t *out, const char *what)
{
    jws(p);
    char msg[160];
    size_t st = p->i;
    if (p->i < p->n && p->s[p->i] == '-') {
        snprintf(msg, sizeof msg, "%s must be a non-negative integer", what);
        return jfail(p, msg);
    }
    if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9') {
        snprintf(msg, sizeof msg, "%s must be an integer", what);
        return jfail(p, msg);
    }
    int64_t v = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        int d = p->s[p->i++] - '0';
        if (v > (max - d) / 10) {
            snprintf(msg, sizeof msg, "%s is too large", what);
            return jfail(p, msg);
        }
        v = v * 10 + d;
    }
    if (p->i - st > 1 && p->s[st] == '0') {
        p->i = st;
        return jfail(p, "leading zeros are not valid JSON");
    }
    if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        snprintf(msg, sizeof msg, "%s must be an integer", what);
        return jfail(p, msg);
    }
    *out = v;
    return 0;
}

/* ---- the file index ----------------------------------------------------------- */

static void free_index(lpz_st_file *f)
{
    for (int i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    f->tensors = NULL;
    f->meta_keys = f->meta_values = NULL;
    f->n_tensors = f->n_meta = 0;
}

void lpz_st_free(lpz_st_file *f)
{
    if (!f)
        return;
    free_index(f);
    free(f->buffer);
    memset(f, 0, sizeof *f);
}

typedef struct tinfo {
    int64_t begin, end;
} tinfo;

typedef struct parse_state {
    lpz_st_file *f;
    tinfo *off;   /* data_offsets per tensor */
    int cap_t;    /* capacity of f->tensors and off */
    int cap_m;    /* capacity of meta arrays */
    bool have_meta;
} parse_state;

static int grow_tensors(parse_state *ps, lpz_error *err)
{
    if (ps->f->n_tensors < ps->cap_t)
        return 0;
    if (ps->cap_t >= (1 << 28))
        return lpz_error_set(err, LPZ_EFORMAT, "too many tensors in the safetensors header");
    int nc = ps->cap_t ? ps->cap_t * 2 : 16;
    lpz_st_tensor *t = realloc(ps->f->tensors, sizeof *t * (size_t)nc);
    if (t)
        ps->f->tensors = t;
    tinfo *o = realloc(ps->off, sizeof *o * (size_t)nc);
    if (o)
        ps->off = o;
    if (!t || !o)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory parsing the safetensors header");
    ps->cap_t = nc;
    return 0;
}

static int parse_metadata(jp *p, parse_state *ps)
{
    lpz_st_file *f = ps->f;
    int rc = jexpect(p, '{');
    if (rc)
        return jfail(p, "__metadata__ must be an object of strings");
    if (jpeek(p) == '}') {
        p->i++;
        return 0;
    }
    for (;;) {
        char *k = NULL, *v = NULL;
        if ((rc = jstring(p, &k)))
            return rc;
        if ((rc = jexpect(p, ':'))) {
            free(k);
            return rc;
        }
        if (jpeek(p) != '"') {
            char msg[300];
            snprintf(msg, sizeof msg, "__metadata__ value of \"%.200s\" is not a string", k);
            free(k);
            return jfail(p, msg);
        }
        if ((rc = jstring(p, &v))) {
            free(k);
            return rc;
        }
        if (f->n_meta == ps->cap_m) {
            int nc = ps->cap_m ? ps->cap_m * 2 : 8;
            char **nk = realloc(f->meta_keys, sizeof(char *) * (size_t)nc);
            if (nk)
                f->meta_keys = nk;
            char **nv = realloc(f->meta_values, sizeof(char *) * (size_t)nc);
            if (nv)
                f->meta_values = nv;
            if (!nk || !nv || ps->cap_m >= (1 << 26)) {
                free(k);
                free(v);
                return lpz_error_set(p->err, LPZ_ENOMEM, "out of memory parsing __metadata__");
            }
            ps->cap_m = nc;
        }
        f->meta_keys[f->n_meta] = k;
        f->meta_values[f->n_meta] = v;
        f->n_meta++;
        int c = jpeek(p);
        if (c == ',') {
            p->i++;
            continue;
        }
        if (c == '}') {
            p->i++;
            return 0;
        }
        return jfail(p, "expected ',' or '}' in __metadata__");
    }
}

static int parse_tensor(jp *p, parse_state *ps, char *name)
{
    int rc = grow_tensors(ps, p->err);
    if (rc) {
        free(name);
        return rc;
    }
    lpz_st_tensor *t = &ps->f->tensors[ps->f->n_tensors];
    tinfo *o = &ps->off[ps->f->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = name;
    ps->f->n_tensors++; /* owned by the index from here on */
    p->tensor = name;
    bool have_dtype = false, have_shape = false, have_off = false;
    if (jexpect(p, '{'))
        return jfail(p, "tensor entry must be an object");
    if (jpeek(p) == '}')
        return jfail(p, "tensor entry is empty");
    for (;;) {
        char *key = NULL;
        if ((rc = jstring(p, &key)))
            return rc;
        if ((rc = jexpect(p, ':'))) {
            free(key);
            return rc;
        }
        if (strcmp(key, "dtype") == 0) {
            free(key);
            if (have_dtype)
                return jfail(p, "duplicate key \"dtype\"");
            have_dtype = true;
            char *d = NULL;
            if ((rc = jstring(p, &d)))
                return rc;
            size_t k = 0;
            while (k < N_DTYPES && strcmp(st_dtypes[k].name, d) != 0)
                k++;
            if (k == N_DTYPES) {
                rc = lpz_error_set(p->err, LPZ_EUNSUPPORTED, "tensor \"%.200s\": unsupported dtype \"%.40s\"", name,
                                   d);
                lpz_error_hint(p->err, "supported: F32 F64 I64 I32 F16 BF16 U8 BOOL");
                free(d);
                return rc;
            }
            free(d);
            t->dtype = st_dtypes[k].dtype;
        } else if (strcmp(key, "shape") == 0) {
            free(key);
            if (have_shape)
                return jfail(p, "duplicate key \"shape\"");
            have_shape = true;
            if (jexpect(p, '['))
                return jfail(p, "shape must be an array of integers");
            if (jpeek(p) == ']') {
                p->i++;
            } else {
                for (;;) {
                    if (t->ndim >= LPZ_ST_MAX_DIMS)
                        return lpz_error_set(p->err, LPZ_EUNSUPPORTED, "tensor \"%.200s\" has more than %d dimensions",
                                             name, LPZ_ST_MAX_DIMS);
                    if ((rc = juint(p, ST_MAX_DIM, &t->shape[t->ndim], "shape entry")))
                        return rc;
                    t->ndim++;
                    int c = jpeek(p);
                    p->i++;
                    if (c == ']')
                        break;
                    if (c != ',') {
                        p->i--;
                        return jfail(p, "expected ',' or ']' in shape");
                    }
                }
            }
        } else if (strcmp(key, "data_offsets") == 0) {
            free(key);
            if (have_off)
                return jfail(p, "duplicate key \"data_offsets\"");
            have_off = true;
            if ((rc = jexpect(p, '[')))
                return jfail(p, "data_offsets must be [begin, end]");
            if ((rc = juint(p, INT64_MAX, &o->begin, "data_offsets begin")))
                return rc;
            if ((rc = jexpect(p, ',')))
                return jfail(p, "data_offsets must be [begin, end]");
            if ((rc = juint(p, INT64_MAX, &o->end, "data_offsets end")))
                return rc;
            if ((rc = jexpect(p, ']')))
                return jfail(p, "data_offsets must be [begin, end]");
        } else {
            char msg[120];
            snprintf(msg, sizeof msg, "unknown key \"%.60s\"", key);
            free(key);
            return jfail(p, msg);
        }
        int c = jpeek(p);
        if (c == ',') {
            p->i++;
            continue;
        }
        if (c == '}') {
            p->i++;
            break;
        }
        return jfail(p, "expected ',' or '}'");
    }
    if (!have_dtype || !have_shape || !have_off)
        return jfail(p, !have_dtype ? "missing \"dtype\"" : !have_shape ? "missing \"shape\"" : "missing \"data_offsets\"");
    p->tensor = NULL;
    return 0;
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Index of a tensor sorted by its data range. */
typedef struct span {
    int64_t begin, end;
    int idx;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* Duplicate names among n strings (sorted copy, O(n log n) so a hostile
 * header with millions of keys stays fast). Returns the duplicate or NULL;
 * -1 in *oom on allocation failure. */
static const char *find_duplicate(char *const *names, int n, int *oom)
{
    *oom = 0;
    if (n < 2)
        return NULL;
    char **copy = malloc(sizeof(char *) * (size_t)n);
    if (!copy) {
        *oom = 1;
        return NULL;
    }
    memcpy(copy, names, sizeof(char *) * (size_t)n);
    qsort(copy, (size_t)n, sizeof *copy, cmp_str_ptr);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (strcmp(copy[i - 1], copy[i]) == 0)
            dup = copy[i];
    free(copy);
    return dup;
}

/* Checks sizes, bounds and coverage of the data area; sets data pointers. */
static int check_layout(parse_state *ps, const uint8_t *data, uint64_t data_size, lpz_error *err)
{
    lpz_st_file *f = ps->f;
    int n = f->n_tensors;
    for (int i = 0; i < n; i++) {
        lpz_st_tensor *t = &f->tensors[i];
        tinfo o = ps->off[i];
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++)
            if (t->shape[d] == 0)
                numel = 0;
        for (int d = 0; d < t->ndim && numel; d++) {
            if (numel > INT64_MAX / 8 / t->shape[d])
                return lpz_error_set(err, LPZ_EFORMAT, "tensor \"%.200s\": shape is too large", t->name);
            numel *= t->shape[d];
        }
        int64_t need = numel * lpz_st_dtype_size(t->dtype);
        if (o.begin > o.end)
            return lpz_error_set(err, LPZ_EFORMAT, "tensor \"%.200s\": data_offsets [%lld, %lld] end before they begin",
                                 t->name, (long long)o.begin, (long long)o.end);
        if ((uint64_t)o.end > data_size)
            return lpz_error_set(err, LPZ_EFORMAT,
                                 "tensor \"%.200s\": data_offsets [%lld, %lld] run past the end of the data (%llu bytes)",
                                 t->name, (long long)o.begin, (long long)o.end, (unsigned long long)data_size);
        if (o.end - o.begin != need)
            return lpz_error_set(err, LPZ_EFORMAT,
                                 "tensor \"%.200s\": data_offsets span %lld bytes but %s with %lld elements needs %lld",
                                 t->name, (long long)(o.end - o.begin), lpz_st_dtype_name(t->dtype),
                                 (long long)numel, (long long)need);
        t->data = data + o.begin;
        t->nbytes = (size_t)need;
    }
    span *sp = malloc(sizeof *sp * (n > 0 ? (size_t)n : 1));
    if (!sp)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory checking the safetensors layout");
    for (int i = 0; i < n; i++)
        sp[i] = (span){ps->off[i].begin, ps->off[i].end, i};
    qsort(sp, (size_t)n, sizeof *sp, cmp_span);
    int64_t pos = 0;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        if (sp[i].begin < pos)
            rc = lpz_error_set(err, LPZ_EFORMAT, "tensors \"%.200s\" and \"%.200s\" overlap in the data area",
                               f->tensors[sp[i - 1].idx].name, f->tensors[sp[i].idx].name);
        else if (sp[i].begin > pos)
            rc = lpz_error_set(err, LPZ_EFORMAT, "%lld unused bytes before tensor \"%.200s\" in the data area",
                               (long long)(sp[i].begin - pos), f->tensors[sp[i].idx].name);
        pos = sp[i].end;
    }
    free(sp);
    if (!rc && (uint64_t)pos != data_size)
        rc = lpz_error_set(err, LPZ_EFORMAT, "%llu bytes after the last tensor are not described by the header",
                           (unsigned long long)(data_size - (uint64_t)pos));
    return rc;
}

int lpz_st_parse(void *buf, size_t len, lpz_st_file *out, lpz_error *err)
{
    if (!out) {
        free(buf);
        return lpz_error_set(err, LPZ_EINVAL, "no output");
    }
    memset(out, 0, sizeof *out);
    if (!buf && len) {
        return lpz_error_set(err, LPZ_EINVAL, "no buffer");
    }
    out->buffer = buf;
    out->buffer_size = len;
    const uint8_t *b = buf;
    int rc = 0;
    parse_state ps = {out, NULL, 0, 0, false};
    if (len < 8) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "file too short for a safetensors header (%zu bytes)", len);
        goto fail;
    }
    uint64_t hn = 0;
    for (int k = 0; k < 8; k++)
        hn |= (uint64_t)b[k] << (8 * k);
    /* PyTorch's own files (the original Lipizzaner's .pkl generators): a zip archive from torch.save, or a
     * pickle from an older torch.save. Their first bytes read as a header length of petabytes. Only a file
     * that is no safetensors file is taken for one: a header of 896 bytes starts 0x80 0x03 as a pickle does. */
    int header_ok = hn <= ST_MAX_HEADER && hn <= len - 8 && hn >= 2 && b[8] == '{';
    int zip = b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4, pickle = b[0] == 0x80 && b[1] >= 2 && b[1] <= 5;
    if (!header_ok && (zip || pickle)) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "not a safetensors file but %s", zip ? "a zip archive (as PyTorch's "
                           "torch.save writes)" : "a Python pickle (as an older PyTorch's torch.save writes)");
        lpz_error_hint(err, "lpz reads safetensors files: load it in PyTorch and save its tensors as safetensors "
                            "(docs/howto/coming-from-lipizzaner.md shows it for a generator)");
        goto fail;
    }
    if (hn > ST_MAX_HEADER) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "safetensors header length %llu exceeds the limit of %u bytes",
                           (unsigned long long)hn, ST_MAX_HEADER);
        goto fail;
    }
    if (hn > len - 8) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "safetensors header length %llu runs past the end of the file (%zu bytes)",
                           (unsigned long long)hn, len);
        goto fail;
    }
    if (hn < 2 || b[8] != '{') {
        rc = lpz_error_set(err, LPZ_EFORMAT, "safetensors header must be a JSON object starting with '{'");
        goto fail;
    }
    jp p = {b + 8, (size_t)hn, 0, err, NULL};
    p.i = 1;
    if (jpeek(&p) == '}') {
        p.i++;
    } else {
        for (;;) {
            char *key = NULL;
            if ((rc = jstring(&p, &key)))
                goto fail;
            if ((rc = jexpect(&p, ':'))) {
                free(key);
                goto fail;
            }
            if (strcmp(key, "__metadata__") == 0) {
                free(key);
                if (ps.have_meta) {
                    rc = jfail(&p, "duplicate key \"__metadata__\"");
                    goto fail;
                }
                ps.have_meta = true;
                if ((rc = parse_metadata(&p, &ps)))
                    goto fail;
            } else if ((rc = parse_tensor(&p, &ps, key))) {
                goto fail;
            }
            int c = jpeek(&p);
            if (c == ',') {
                p.i++;
                continue;
            }
            if (c == '}') {
                p.i++;
                break;
            }
            rc = jfail(&p, "expected ',' or '}' after a top-level entry");
            goto fail;
        }
    }
    jws(&p);
    if (p.i != p.n) {
        rc = jfail(&p, "text after the JSON object");
        goto fail;
    }
    /* Duplicate tensor names and metadata keys. */
    int oom = 0;
    const char *dup = NULL;
    if (out->n_tensors > 1) {
        char **names = malloc(sizeof(char *) * (size_t)out->n_tensors);
        if (!names) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
            goto fail;
        }
        for (int i = 0; i < out->n_tensors; i++)
            names[i] = out->tensors[i].name;
        dup = find_duplicate(names, out->n_tensors, &oom);
        if (dup)
            rc = lpz_error_set(err, LPZ_EFORMAT, "duplicate tensor name \"%.200s\" in the safetensors header", dup);
        free(names);
        if (rc)
            goto fail;
    }
    if (!oom && (dup = find_duplicate(out->meta_keys, out->n_meta, &oom))) {
        rc = lpz_error_set(err, LPZ_EFORMAT, "duplicate __metadata__ key \"%.200s\"", dup);
        goto fail;
    }
    if (oom) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = check_layout(&ps, b + 8 + hn, len - 8 - hn, err)))
        goto fail;
    free(ps.off);
    return LPZ_OK;
fail:
    free(ps.off);
    lpz_st_free(out);
    return rc;
}

int lpz_st_read(const char *path, lpz_st_file *out, lpz_error *err)
{
    if (!out)
        return lpz_error_set(err, LPZ_EINVAL, "no output");
    memset(out, 0, sizeof *out);
    char *data = NULL;
    size_t size = 0;
    int rc = lpz_read_file(path, ST_MAX_FILE, &data, &size, err);
    if (rc)
        return rc;
    rc = lpz_st_parse(data, size, out, err);
    if (rc)
        lpz_error_where(err, "%s", path);
    return rc;
}

const lpz_st_tensor *lpz_st_find(const lpz_st_file *f, const char *name)
{
    if (!f || !name)
        return NULL;
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *lpz_st_meta(const lpz_st_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_values[i];
    return NULL;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            bits = sign | exp << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0xff << 23 | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int lpz_st_tensor_to_f32(const lpz_st_tensor *t, float *out, size_t count, lpz_error *err)
{
    if (!t || (!out && count))
        return lpz_error_set(err, LPZ_EINVAL, "no tensor or output");
    int size = lpz_st_dtype_size(t->dtype);
    if (!size)
        return lpz_error_set(err, LPZ_EUNSUPPORTED, "tensor \"%.200s\": unknown dtype", t->name ? t->name : "");
    if (t->nbytes != count * (size_t)size)
        return lpz_error_set(err, LPZ_EINVAL, "tensor \"%.200s\" has %zu elements, the caller expects %zu",
                             t->name ? t->name : "", t->nbytes / (size_t)size, count);
    /* Element by element through memcpy: tensor data need not be aligned. */
    const uint8_t *s = t->data;
    for (size_t i = 0; i < count; i++, s += size) {
        switch (t->dtype) {
        case LPZ_ST_F32: memcpy(&out[i], s, 4); break;
        case LPZ_ST_F64: {
            double v;
            memcpy(&v, s, 8);
            out[i] = (float)v;
            break;
        }
        case LPZ_ST_I64: {
            int64_t v;
            memcpy(&v, s, 8);
            out[i] = (float)v;
            break;
        }
        case LPZ_ST_I32: {
            int32_t v;
            memcpy(&v, s, 4);
            out[i] = (float)v;
            break;
        }
        case LPZ_ST_F16: {
            uint16_t v;
            memcpy(&v, s, 2);
            out[i] = half_to_float(v);
            break;
        }
        case LPZ_ST_BF16: {
            uint16_t v;
            memcpy(&v, s, 2);
            uint32_t bits = (uint32_t)v << 16;
            memcpy(&out[i], &bits, 4);
            break;
        }
        case LPZ_ST_U8: out[i] = (float)s[0]; break;
        case LPZ_ST_BOOL: out[i] = s[0] ? 1.0f : 0.0f; break;
        }
    }
    return LPZ_OK;
}

/* ---- writing ----------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, long long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    sb_put(b, tmp, (size_t)n);
}

/* A JSON string literal; s is valid UTF-8 (checked by the caller). */
static void sb_json(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            sb_put(b, e, 2);
        } else if (*c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", *c);
            sb_put(b, e, 6);
        } else {
            sb_put(b, (const char *)c, 1);
        }
    }
    sb_put(b, "\"", 1);
}

int lpz_st_write(const char *path, const lpz_st_tensor *tensors, int n_tensors, const char *const *meta_keys,
                 const char *const *meta_values, int n_meta, lpz_error *err)
{
    if (n_tensors < 0 || n_meta < 0 || (n_tensors && !tensors) || (n_meta && (!meta_keys || !meta_values)))
        return lpz_error_set(err, LPZ_EINVAL, "bad tensor or metadata list");
    int rc = LPZ_OK;
    sbuf h = {0};
    /* Validate everything before creating the file. */
    for (int i = 0; i < n_meta && !rc; i++) {
        if (!meta_keys[i] || !meta_values[i])
            rc = lpz_error_set(err, LPZ_EINVAL, "metadata entry %d is NULL", i);
        else if (!utf8_valid(meta_keys[i]) || !utf8_valid(meta_values[i]))
            rc = lpz_error_set(err, LPZ_EINVAL, "metadata \"%.200s\" is not valid UTF-8", meta_keys[i]);
        for (int j = 0; j < i && !rc; j++)
            if (strcmp(meta_keys[i], meta_keys[j]) == 0)
                rc = lpz_error_set(err, LPZ_EINVAL, "duplicate metadata key \"%.200s\"", meta_keys[i]);
    }
    for (int i = 0; i < n_tensors && !rc; i++) {
        const lpz_st_tensor *t = &tensors[i];
        const char *name = t->name ? t->name : "";
        int size = lpz_st_dtype_size(t->dtype);
        int64_t numel = 1;
        if (!name[0] || strcmp(name, "__metadata__") == 0 || !utf8_valid(name)) {
            rc = lpz_error_set(err, LPZ_EINVAL, "invalid tensor name \"%.200s\"", name);
            break;
        }
        if (!size) {
            rc = lpz_error_set(err, LPZ_EINVAL, "tensor \"%.200s\": unknown dtype %d", name, (int)t->dtype);
            break;
        }
        if (t->ndim < 0 || t->ndim > LPZ_ST_MAX_DIMS) {
            rc = lpz_error_set(err, LPZ_EINVAL, "tensor \"%.200s\": %d dimensions", name, t->ndim);
            break;
        }
        for (int d = 0; d < t->ndim && !rc; d++) {
            if (t->shape[d] < 0 || t->shape[d] > ST_MAX_DIM)
                rc = lpz_error_set(err, LPZ_EINVAL, "tensor \"%.200s\": bad dimension %lld", name,
                                   (long long)t->shape[d]);
            else if (numel && t->shape[d] && numel > INT64_MAX / 8 / t->shape[d])
                rc = lpz_error_set(err, LPZ_EINVAL, "tensor \"%.200s\": shape too large", name);
            else
                numel *= t->shape[d];
        }
        if (!rc && (uint64_t)t->nbytes != (uint64_t)numel * (uint64_t)size)
            rc = lpz_error_set(err, LPZ_EINVAL, "tensor \"%.200s\": nbytes %zu but %s with %lld elements is %lld bytes",
                               name, t->nbytes, lpz_st_dtype_name(t->dtype), (long long)numel,
                               (long long)(numel * size));
        if (!rc && t->nbytes && !t->data)
            rc = lpz_error_set(err, LPZ_EINVAL, "tensor \"%.200s\": no data", name);
        for (int j = 0; j < i && !rc; j++)
            if (strcmp(name, tensors[j].name) == 0)
                rc = lpz_error_set(err, LPZ_EINVAL, "duplicate tensor name \"%.200s\"", name);
    }
    if (rc) {
        lpz_error_where(err, "%s", path ? path : "(null)");
        return rc;
    }
    /* Header: metadata first (as torch writes it), then tensors in order. */
    sb_str(&h, "{");
    if (n_meta) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i)
                sb_str(&h, ",");
            sb_json(&h, meta_keys[i]);
            sb_str(&h, ":");
            sb_json(&h, meta_values[i]);
        }
        sb_str(&h, "}");
    }
    uint64_t pos = 0;
    for (int i = 0; i < n_tensors; i++) {
        const lpz_st_tensor *t = &tensors[i];
        if (i || n_meta)
            sb_str(&h, ",");
        sb_json(&h, t->name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, lpz_st_dtype_name(t->dtype));
        sb_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++)
            sb_printf(&h, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%lld,", (long long)pos);
        pos += t->nbytes;
        sb_printf(&h, "%lld]}", (long long)pos);
    }
    sb_str(&h, "}");
    /* Spaces so the data starts 8-byte aligned (8 + len is a multiple of 8). */
    while (!h.oom && h.len % 8)
        sb_str(&h, " ");
    if (h.oom) {
        free(h.s);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory building the safetensors header");
    }
    if (h.len > ST_MAX_HEADER) {
        free(h.s);
        rc = lpz_error_set(err, LPZ_EINVAL, "safetensors header would be %zu bytes (limit %u)", h.len, ST_MAX_HEADER);
        lpz_error_where(err, "%s", path);
        return rc;
    }
    lpz_atomic_file f;
    if ((rc = lpz_atomic_open(&f, path, err))) {
        free(h.s);
        return rc;
    }
    uint8_t lenbuf[8];
    for (int k = 0; k < 8; k++)
        lenbuf[k] = (uint8_t)((uint64_t)h.len >> (8 * k));
    bool ok = fwrite(lenbuf, 1, 8, f.fp) == 8 && fwrite(h.s, 1, h.len, f.fp) == h.len;
    for (int i = 0; i < n_tensors && ok; i++)
        ok = tensors[i].nbytes == 0 || fwrite(tensors[i].data, 1, tensors[i].nbytes, f.fp) == tensors[i].nbytes;
    free(h.s);
    if (!ok) {
        int e = errno;
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "cannot write safetensors file: %s", strerror(e ? e : EIO));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}
