/* core/io/npy.c - NumPy .npy reader (any supported dtype -> float32) and
 * float32 writers (whole array, or streamed row by row).
 * Owns: the .npy header grammar and dtype conversion. Calls: fsutil,
 * lpz_error.
 *
 * File layout: "\x93NUMPY", major, minor, header length (uint16 LE for
 * v1, uint32 LE for v2/v3), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by '\n', then the raw C-order data. */
#include "io/npy.h"
#include "base/file.h"

#include "io/fsutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "lpz io assumes a little-endian host");

/* numpy itself refuses headers above 10000 bytes by default; we allow more
 * but still bound what a hostile file can make us allocate. */
#define NPY_MAX_HEADER (1u << 20)
/* Largest dimension we accept: keeps every product check in int64. */
#define NPY_MAX_DIM ((int64_t)1 << 58)

typedef enum { K_F, K_I, K_U, K_B } npy_kind;

typedef struct npy_dtype {
    npy_kind kind;
    int size;  /* bytes per element */
    bool swap; /* big-endian data on our little-endian host */
} npy_dtype;

/* Parses a descr such as "<f4", ">i8", "|u1". */
static int parse_descr(const char *d, npy_dtype *t)
{
    if (strlen(d) != 3)
        return -1;
    char order = d[0], kind = d[1], size = d[2];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return -1;
    switch (kind) {
    case 'f': t->kind = K_F; break;
    case 'i': t->kind = K_I; break;
    case 'u': t->kind = K_U; break;
    case 'b': t->kind = K_B; break;
    default: return -1;
    }
    if (size != '1' && size != '2' && size != '4' && size != '8')
        return -1;
    t->size = size - '0';
    if (t->kind == K_F && t->size != 4 && t->size != 8)
        return -1;
    if (t->kind == K_B && t->size != 1)
        return -1;
    /* '|' means "not applicable": only valid for one-byte types. */
    if (order == '|' && t->size != 1)
        return -1;
    t->swap = order == '>' && t->size > 1;
    return 0;
}

/* ---- the header dict ---------------------------------------------------- */

typedef struct hdr_parser {
    const char *s;
    size_t n, i;
    lpz_error *err;
} hdr_parser;

static void skip_ws(hdr_parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int hdr_fail(hdr_parser *p, const char *what)
{
    return lpz_error_set(p->err, LPZ_EFORMAT, "malformed .npy header at byte %zu of the dict: %s", p->i, what);
}

static int expect(hdr_parser *p, char c)
{
    skip_ws(p);
    if (p->i >= p->n || p->s[p->i] != c) {
        char what[48];
        snprintf(what, sizeof what, "expected '%c'", c);
        return hdr_fail(p, what);
    }
    p->i++;
    return 0;
}

/* A Python string literal in ' or " quotes, without escapes (none of the
 * keys or descrs we accept contain any). */
static int parse_pystr(hdr_parser *p, char *out, size_t cap)
{
    skip_ws(p);
    if (p->i >= p->n || (p->s[p->i] != '\'' && p->s[p->i] != '"'))
        return hdr_fail(p, "expected a quoted string");
    char q = p->s[p->i++];
    size_t len = 0;
    while (p->i < p->n && p->s[p->i] != q) {
        char c = p->s[p->i];
        if (c == '\\' || (unsigned char)c < 0x20)
            return hdr_fail(p, "unsupported character in string");
        if (len + 1 >= cap)
            return hdr_fail(p, "string too long");
        out[len++] = c;
        p->i++;
    }
    if (p->i >= p->n)
        return hdr_fail(p, "unterminated string");
    p->i++;
    out[len] = '\0';
    return 0;
}

static int parse_bool(hdr_parser *p, bool *v)
{
    skip_ws(p);
    if (p->n - p->i >= 4 && memcmp(p->s + p->i, "True", 4) == 0) {
        p->i += 4;
        *v = true;
    } else if (p->n - p->i >= 5 && memcmp(p->s + p->i, "False", 5) == 0) {
        p->i += 5;
        *v = false;
    } else {
        return hdr_fail(p, "fortran_order must be True or False");
    }
    return 0;
}

/* A shape tuple: (), (5,), (3, 4), (3, 4,). "(5)" is not a tuple in Python
 * and is refused like numpy refuses it. */
static int parse_shape(hdr_parser *p, int *ndim, int64_t *shape)
{
    if (expect(p, '('))
        return hdr_fail(p, "shape must be a tuple such as (3, 4)");
    int nd = 0;
    bool trailing_comma = false;
    for (;;) {
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ')') {
            p->i++;
            break;
        }
        if (nd > 0 && !trailing_comma)
            return hdr_fail(p, "expected ',' or ')' in shape");
        if (p->i >= p->n || p->s[p->i] < '0' || p->s[p->i] > '9')
            return hdr_fail(p, "shape entries must be non-negative integers");
        if (nd >= LPZ_NPY_MAX_DIMS) {
            return lpz_error_set(p->err, LPZ_EUNSUPPORTED, "array has more than %d dimensions", LPZ_NPY_MAX_DIMS);
        }
        int64_t v = 0;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            /* NPY_MAX_DIM * 10 + 9 still fits in int64. */
            v = v * 10 + (p->s[p->i++] - '0');
            if (v > NPY_MAX_DIM)
                return hdr_fail(p, "shape entry is too large");
        }
        if (p->i < p->n && p->s[p->i] == 'L') /* Python 2 long literal */
            p->i++;
        shape[nd++] = v;
        skip_ws(p);
        trailing_comma = false;
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            trailing_comma = true;
        }
    }
    if (nd == 1 && !trailing_comma)
        return hdr_fail(p, "a one-element shape needs a trailing comma, as in (5,)");
    *ndim = nd;
    return 0;
}

static int parse_dict(hdr_parser *p, char dtype[16], bool *fortran, int *ndim, int64_t *shape)
{
    bool have_descr = false, have_fortran = false, have_shape = false;
    if (expect(p, '{'))
        return hdr_fail(p, "header must start with '{'");
    bool need_sep = false;
    for (;;) {
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == '}') {
            p->i++;
            break;
        }
        if (need_sep)
            return hdr_fail(p, "expected ',' or '}'");
        char key[32];
        int rc = parse_pystr(p, key, sizeof key);
        if (rc)
            return rc;
        if ((rc = expect(p, ':')))
            return rc;
        if (strcmp(key, "descr") == 0) {
            if (have_descr)
                return hdr_fail(p, "duplicate key 'descr'");
            skip_ws(p);
            if (p->i < p->n && p->s[p->i] == '[')
                return lpz_error_set(p->err, LPZ_EUNSUPPORTED, "structured dtypes are not supported");
            if ((rc = parse_pystr(p, dtype, 16)))
                return rc;
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (have_fortran)
                return hdr_fail(p, "duplicate key 'fortran_order'");
            if ((rc = parse_bool(p, fortran)))
                return rc;
            have_fortran = true;
        } else if (strcmp(key, "shape") == 0) {
            if (have_shape)
                return hdr_fail(p, "duplicate key 'shape'");
            if ((rc = parse_shape(p, ndim, shape)))
                return rc;
            have_shape = true;
        } else {
            char what[80];
            snprintf(what, sizeof what, "unknown key '%s'", key);
            return hdr_fail(p, what);
        }
        skip_ws(p);
        need_sep = true;
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            need_sep = false;
        }
    }
    skip_ws(p);
    if (p->i != p->n)
        return hdr_fail(p, "unexpected text after the dict");
    if (!have_descr || !have_fortran || !have_shape)
        return lpz_error_set(p->err, LPZ_EFORMAT, "npy header lacks the key '%s'",
                             !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    return 0;
}

/* Checks magic, version and header length. `avail` bytes of the file are
 * in buf (at least the first 12 when the file has them); file_len is the
 * whole file's length. */
static int parse_preamble(const uint8_t *buf, size_t avail, uint64_t file_len, size_t *start, size_t *hlen,
                          lpz_error *err)
{
    if (file_len < 10 || avail < 10)
        return lpz_error_set(err, LPZ_EFORMAT, "file too short for a .npy header (%llu bytes)",
                             (unsigned long long)file_len);
    if (memcmp(buf, "\x93NUMPY", 6) != 0)
        return lpz_error_set(err, LPZ_EFORMAT, "not a .npy file (bad magic)");
    int major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return lpz_error_set(err, LPZ_EUNSUPPORTED, "unsupported .npy format version %d.%d (1.0, 2.0, 3.0 are known)",
                             major, minor);
    if (major == 1) {
        *start = 10;
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    } else {
        if (file_len < 12 || avail < 12)
            return lpz_error_set(err, LPZ_EFORMAT, "file too short for a .npy v%d header", major);
        *start = 12;
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    }
    if (*hlen > NPY_MAX_HEADER)
        return lpz_error_set(err, LPZ_EFORMAT, "npy header length %zu exceeds the limit of %u bytes", *hlen,
                             NPY_MAX_HEADER);
    if (*hlen > file_len - *start)
        return lpz_error_set(err, LPZ_EFORMAT, "npy header length %zu runs past the end of the file (%llu bytes)",
                             *hlen, (unsigned long long)file_len);
    return LPZ_OK;
}

/* Parses the dict text (hlen bytes) and checks dtype and shape; `elems` =
 * product of shape. */
static int parse_header_text(const uint8_t *text, size_t hlen, char dtype[16], npy_dtype *dt, int *ndim,
                             int64_t shape[LPZ_NPY_MAX_DIMS], int64_t *elems, lpz_error *err)
{
    hdr_parser p = {(const char *)text, hlen, 0, err};
    bool fortran = false;
    int rc = parse_dict(&p, dtype, &fortran, ndim, shape);
    if (rc)
        return rc;
    if (parse_descr(dtype, dt) != 0) {
        lpz_error_set(err, LPZ_EUNSUPPORTED, "unsupported npy dtype '%s'", dtype);
        lpz_error_hint(err, "use float32/float64, (u)int8..64 or bool, e.g. arr.astype('<f4')");
        return LPZ_EUNSUPPORTED;
    }
    if (fortran) {
        lpz_error_set(err, LPZ_EUNSUPPORTED, "fortran_order True (column-major) arrays are not supported");
        lpz_error_hint(err, "save with numpy.ascontiguousarray(arr)");
        return LPZ_EUNSUPPORTED;
    }
    /* A zero dimension makes any other size legal (numpy agrees). */
    int64_t n = 1;
    for (int d = 0; d < *ndim; d++)
        if (shape[d] == 0)
            n = 0;
    for (int d = 0; d < *ndim && n; d++) {
        if (n > INT64_MAX / 8 / shape[d])
            return lpz_error_set(err, LPZ_EFORMAT, "npy shape is too large (element count overflows)");
        n *= shape[d];
    }
    *elems = n;
    return LPZ_OK;
}

static int parse_header_full(const uint8_t *buf, size_t len, char dtype[16], npy_dtype *dt, int *ndim,
                             int64_t shape[LPZ_NPY_MAX_DIMS], int64_t *elems, size_t *data_offset, lpz_error *err)
{
    if (!buf && len)
        return lpz_error_set(err, LPZ_EINVAL, "no buffer");
    size_t start = 0, hlen = 0;
    int rc = parse_preamble(buf, len, len, &start, &hlen, err);
    if (rc)
        return rc;
    if ((rc = parse_header_text(buf + start, hlen, dtype, dt, ndim, shape, elems, err)))
        return rc;
    *data_offset = start + hlen;
    return LPZ_OK;
}

int lpz_npy_parse_header(const uint8_t *buf, size_t len, char dtype[16], int *ndim, int64_t shape[LPZ_NPY_MAX_DIMS],
                         size_t *data_offset, lpz_error *err)
{
    npy_dtype dt;
    int64_t elems;
    char dbuf[16];
    int nd = 0;
    int64_t sh[LPZ_NPY_MAX_DIMS] = {0};
    size_t off = 0;
    int rc = parse_header_full(buf, len, dbuf, &dt, &nd, sh, &elems, &off, err);
    if (rc)
        return rc;
    if (dtype)
        memcpy(dtype, dbuf, 16);
    if (ndim)
        *ndim = nd;
    if (shape)
        memcpy(shape, sh, sizeof sh);
    if (data_offset)
        *data_offset = off;
    return LPZ_OK;
}

/* ---- conversion ----------------------------------------------------------- */

static uint64_t load_uint(const uint8_t *p, int size, bool swap)
{
    uint64_t v = 0;
    for (int b = 0; b < size; b++) {
        int k = swap ? size - 1 - b : b;
        v |= (uint64_t)p[k] << (8 * b);
    }
    return v;
}

/* Converts n elements of type dt at src (any alignment) to float32. */
static void convert(const uint8_t *src, npy_dtype dt, int64_t n, float *dst)
{
    if (dt.kind == K_F && dt.size == 4 && !dt.swap) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    for (int64_t i = 0; i < n; i++, src += dt.size) {
        uint64_t u = load_uint(src, dt.size, dt.swap);
        float v;
        switch (dt.kind) {
        case K_F:
            if (dt.size == 4) {
                uint32_t w = (uint32_t)u;
                memcpy(&v, &w, 4);
            } else {
                double x;
                memcpy(&x, &u, 8);
                v = (float)x;
            }
            break;
        case K_I: {
            int shift = 64 - 8 * dt.size; /* sign-extend */
            int64_t s = (int64_t)(u << shift) >> shift;
            v = (float)s;
            break;
        }
        case K_U: v = (float)u; break;
        default: v = u ? 1.0f : 0.0f; break;
        }
        dst[i] = v;
    }
}

static int alloc_out(lpz_npy_array *out, int ndim, const int64_t *shape, int64_t n, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    if ((uint64_t)n > SIZE_MAX / sizeof(float))
        return lpz_error_set(err, LPZ_ENOMEM, "array of %lld elements does not fit in memory", (long long)n);
    /* malloc(0) may return NULL: always allocate at least one float so that
     * data != NULL means success. */
    out->data = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!out->data)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld floats", (long long)n);
    out->ndim = ndim;
    memcpy(out->shape, shape, sizeof(int64_t) * LPZ_NPY_MAX_DIMS);
    out->count = n;
    return LPZ_OK;
}

int lpz_npy_decode(const uint8_t *buf, size_t len, lpz_npy_array *out, lpz_error *err)
{
    if (!out)
        return lpz_error_set(err, LPZ_EINVAL, "no output array");
    memset(out, 0, sizeof *out);
    char dtype[16];
    npy_dtype dt;
    int ndim = 0;
    int64_t shape[LPZ_NPY_MAX_DIMS] = {0}, n = 0;
    size_t off = 0;
    int rc = parse_header_full(buf, len, dtype, &dt, &ndim, shape, &n, &off, err);
    if (rc)
        return rc;
    uint64_t want = (uint64_t)n * (uint64_t)dt.size; /* no overflow: n <= INT64_MAX / 8 */
    if (want != len - off)
        return lpz_error_set(err, LPZ_EFORMAT,
                             "npy data size mismatch: shape and dtype '%s' need %llu bytes, the file has %zu", dtype,
                             (unsigned long long)want, len - off);
    if ((rc = alloc_out(out, ndim, shape, n, err)))
        return rc;
    convert(buf + off, dt, n, out->data);
    return LPZ_OK;
}

static int read_exact(FILE *fp, void *dst, size_t n)
{
    return fread(dst, 1, n, fp) == n ? 0 : -1;
}

struct lpz_npy_reader {
    FILE *fp;
    npy_dtype dt;
    char dtype[16];
    int ndim;
    int64_t shape[LPZ_NPY_MAX_DIMS];
    int64_t count; /* values in the file */
    int64_t done;  /* values read so far */
    uint8_t *chunk; /* conversion buffer for dtypes other than '<f4' */
    char path[4096];
};

#define NPY_READ_CHUNK 65536 /* values converted at a time */

int lpz_npy_reader_open(const char *path, lpz_npy_reader **out, lpz_error *err)
{
    if (!out)
        return lpz_error_set(err, LPZ_EINVAL, "no reader pointer");
    *out = NULL;
    if (!path)
        return lpz_error_set(err, LPZ_EINVAL, "no file name");
    lpz_npy_reader *r = calloc(1, sizeof *r);
    if (!r)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    snprintf(r->path, sizeof r->path, "%s", path);
    struct stat st;
    const char *kind;
    r->fp = lpz_fopen_regular(path, &st, &kind); /* a FIFO is refused, not waited on */
    if (!r->fp) {
        int e = errno;
        free(r);
        if (kind)
            lpz_error_set(err, LPZ_EIO, "not a regular file (%s)", kind);
        else
            lpz_error_set(err, e == ENOENT ? LPZ_ENOTFOUND : LPZ_EIO, "cannot open .npy file: %s", strerror(e));
        lpz_error_where(err, "%s", path);
        return err ? err->code : LPZ_EIO;
    }
    int rc = LPZ_OK;
    uint8_t *hdr = NULL;
    size_t fsize = (size_t)st.st_size;
    uint8_t pre[12];
    size_t npre = fsize < 12 ? fsize : 12;
    if (read_exact(r->fp, pre, npre)) {
        rc = lpz_error_set(err, LPZ_EIO, "cannot read the file");
        goto done;
    }
    size_t start = 0, hlen = 0;
    if ((rc = parse_preamble(pre, npre, fsize, &start, &hlen, err)))
        goto done;
    hdr = malloc(hlen ? hlen : 1);
    if (!hdr) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
    /* The preamble may have read some header bytes already (v1: 2). */
    if (fseek(r->fp, (long)start, SEEK_SET) != 0 || read_exact(r->fp, hdr, hlen)) {
        rc = lpz_error_set(err, LPZ_EIO, "cannot read the file");
        goto done;
    }
    if ((rc = parse_header_text(hdr, hlen, r->dtype, &r->dt, &r->ndim, r->shape, &r->count, err)))
        goto done;
    size_t off = start + hlen;
    uint64_t want = (uint64_t)r->count * (uint64_t)r->dt.size;
    if (want != fsize - off) {
        rc = lpz_error_set(err, LPZ_EFORMAT,
                           "npy data size mismatch: shape and dtype '%s' need %llu bytes, the file has %zu", r->dtype,
                           (unsigned long long)want, fsize - off);
        if (want > fsize - off)
            lpz_error_hint(err, "the file is truncated");
        goto done;
    }
    if (!(r->dt.kind == K_F && r->dt.size == 4 && !r->dt.swap) &&
        !(r->chunk = malloc((size_t)NPY_READ_CHUNK * (size_t)r->dt.size))) {
        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
        goto done;
    }
done:
    free(hdr);
    if (rc) {
        lpz_error_where(err, "%s", path);
        lpz_npy_reader_close(r);
        return rc;
    }
    *out = r;
    return LPZ_OK;
}

int lpz_npy_reader_shape(const lpz_npy_reader *r, int64_t shape[LPZ_NPY_MAX_DIMS])
{
    memcpy(shape, r->shape, sizeof r->shape);
    return r->ndim;
}

int lpz_npy_reader_read(lpz_npy_reader *r, float *dst, int64_t n, lpz_error *err)
{
    if (!r)
        return lpz_error_set(err, LPZ_EINVAL, "no reader");
    if (n < 0 || n > r->count - r->done || (n > 0 && !dst)) {
        lpz_error_set(err, LPZ_EINVAL, "cannot read %lld values: %lld of the array's %lld are left", (long long)n,
                      (long long)(r->count - r->done), (long long)r->count);
        lpz_error_where(err, "%s", r->path);
        return LPZ_EINVAL;
    }
    /* '<f4' straight into dst; other dtypes converted a chunk at a time, so
     * a big file is never held twice in memory */
    for (int64_t i = 0; i < n;) {
        int64_t k = r->chunk ? (n - i < NPY_READ_CHUNK ? n - i : NPY_READ_CHUNK) : n - i;
        if (read_exact(r->fp, r->chunk ? (void *)r->chunk : (void *)(dst + i), (size_t)k * (size_t)r->dt.size)) {
            lpz_error_set(err, LPZ_EIO, "cannot read the array data%s", ferror(r->fp) ? "" : ": the file shrank");
            lpz_error_where(err, "%s", r->path);
            return LPZ_EIO;
        }
        if (r->chunk)
            convert(r->chunk, r->dt, k, dst + i);
        i += k;
        r->done += k;
    }
    return LPZ_OK;
}

void lpz_npy_reader_close(lpz_npy_reader *r)
{
    if (!r)
        return;
    if (r->fp)
        fclose(r->fp);
    free(r->chunk);
    free(r);
}

int lpz_npy_read(const char *path, lpz_npy_array *out, lpz_error *err)
{
    if (!out)
        return lpz_error_set(err, LPZ_EINVAL, "no output array");
    memset(out, 0, sizeof *out);
    lpz_npy_reader *r;
    int rc = lpz_npy_reader_open(path, &r, err);
    if (rc)
        return rc;
    if (!(rc = alloc_out(out, r->ndim, r->shape, r->count, err)))
        rc = lpz_npy_reader_read(r, out->data, r->count, err);
    if (rc) {
        lpz_npy_free(out);
        if (err && err->code == LPZ_ENOMEM)
            lpz_error_where(err, "%s", path);
    }
    lpz_npy_reader_close(r);
    return rc;
}

void lpz_npy_free(lpz_npy_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- writing -------------------------------------------------------------- */

/* Formats a v1 header for '<f4' into buf; the dict is padded with spaces so
 * that the data starts at a multiple of 64 and at least `min_total` bytes
 * (used to leave room for a longer first dimension). Returns the total
 * header size (preamble + dict) or 0 when it does not fit. */
static size_t format_header(char *buf, size_t cap, int ndim, const int64_t *shape, size_t min_total)
{
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int d = 0; d < ndim; d++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld%s", (long long)shape[d],
                        ndim == 1 ? "," : d + 1 < ndim ? ", " : "");
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    size_t total = 10 + (size_t)len + 1; /* + '\n' */
    if (total < min_total)
        total = min_total;
    total = (total + 63) / 64 * 64;
    if (total > cap || total - 10 > 65535)
        return 0;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    size_t hlen = total - 10;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
    buf[total - 1] = '\n';
    return total;
}

static int check_shape(int ndim, const int64_t *shape, int64_t *count, lpz_error *err)
{
    if (ndim < 0 || ndim > LPZ_NPY_MAX_DIMS)
        return lpz_error_set(err, LPZ_EINVAL, "npy arrays have 0 to %d dimensions, not %d", LPZ_NPY_MAX_DIMS, ndim);
    if (ndim > 0 && !shape)
        return lpz_error_set(err, LPZ_EINVAL, "no shape given");
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || shape[d] > NPY_MAX_DIM)
            return lpz_error_set(err, LPZ_EINVAL, "bad dimension %lld", (long long)shape[d]);
        if (shape[d] == 0)
            n = 0;
    }
    for (int d = 0; d < ndim && n; d++) {
        if (n > INT64_MAX / 4 / shape[d])
            return lpz_error_set(err, LPZ_EINVAL, "shape is too large");
        n *= shape[d];
    }
    *count = n;
    return LPZ_OK;
}

int lpz_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape, lpz_error *err)
{
    int64_t n;
    int rc = check_shape(ndim, shape, &n, err);
    if (rc) {
        lpz_error_where(err, "%s", path ? path : "(null)");
        return rc;
    }
    if (n > 0 && !data)
        return lpz_error_set(err, LPZ_EINVAL, "no data given for %lld floats", (long long)n);
    char hdr[1024];
    size_t hsize = format_header(hdr, sizeof hdr, ndim, shape, 0);
    lpz_atomic_file f;
    if ((rc = lpz_atomic_open(&f, path, err)))
        return rc;
    if (fwrite(hdr, 1, hsize, f.fp) != hsize || (n > 0 && fwrite(data, sizeof(float), (size_t)n, f.fp) != (size_t)n)) {
        int e = errno;
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "cannot write .npy file: %s", strerror(e ? e : EIO));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}

struct lpz_npy_writer {
    lpz_atomic_file file;
    int ndim;                         /* 1 + ndim_tail */
    int64_t shape[LPZ_NPY_MAX_DIMS];  /* shape[0] = rows written so far */
    int64_t row_size;                 /* floats per row */
    size_t header_size;               /* fixed at open; rewritten on close */
    int failed;                       /* an append failed: close aborts */
};

int lpz_npy_writer_open(const char *path, int ndim_tail, const int64_t *tail_shape, lpz_npy_writer **out,
                        lpz_error *err)
{
    if (!out)
        return lpz_error_set(err, LPZ_EINVAL, "no writer pointer");
    *out = NULL;
    if (ndim_tail < 0 || ndim_tail + 1 > LPZ_NPY_MAX_DIMS)
        return lpz_error_set(err, LPZ_EINVAL, "a streamed npy row has 0 to %d dimensions, not %d",
                             LPZ_NPY_MAX_DIMS - 1, ndim_tail);
    lpz_npy_writer *w = calloc(1, sizeof *w);
    if (!w)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    int64_t row;
    int rc = check_shape(ndim_tail, tail_shape, &row, err);
    if (rc) {
        free(w);
        lpz_error_where(err, "%s", path ? path : "(null)");
        return rc;
    }
    w->ndim = ndim_tail + 1;
    for (int d = 0; d < ndim_tail; d++)
        w->shape[d + 1] = tail_shape[d];
    w->row_size = row;
    /* Placeholder header sized for the largest possible row count, so the
     * final header fits in exactly the same bytes. */
    char hdr[1024];
    int64_t big[LPZ_NPY_MAX_DIMS];
    memcpy(big, w->shape, sizeof big);
    big[0] = INT64_MAX;
    size_t room = format_header(hdr, sizeof hdr, w->ndim, big, 0);
    w->header_size = format_header(hdr, sizeof hdr, w->ndim, w->shape, room);
    if ((rc = lpz_atomic_open(&w->file, path, err))) {
        free(w);
        return rc;
    }
    if (fwrite(hdr, 1, w->header_size, w->file.fp) != w->header_size) {
        int e = errno;
        lpz_atomic_abort(&w->file);
        free(w);
        lpz_error_set(err, LPZ_EIO, "cannot write .npy file: %s", strerror(e ? e : EIO));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    *out = w;
    return LPZ_OK;
}

int lpz_npy_writer_append(lpz_npy_writer *w, const float *rows, int64_t n_rows, lpz_error *err)
{
    if (!w)
        return lpz_error_set(err, LPZ_EINVAL, "no writer");
    if (w->failed)
        return lpz_error_set(err, LPZ_ESTATE, "an earlier write to this .npy file failed");
    if (n_rows < 0 || (n_rows > 0 && !rows))
        return lpz_error_set(err, LPZ_EINVAL, "bad rows (%lld)", (long long)n_rows);
    /* shape[0] stays within the bound, so the subtraction cannot wrap. */
    int64_t max_rows = w->row_size > 0 ? INT64_MAX / 4 / w->row_size : NPY_MAX_DIM;
    if (n_rows > max_rows - w->shape[0])
        return lpz_error_set(err, LPZ_EINVAL, "npy file would be too large");
    size_t nf = (size_t)(n_rows * w->row_size);
    if (nf > 0 && fwrite(rows, sizeof(float), nf, w->file.fp) != nf) {
        int e = errno;
        w->failed = 1;
        lpz_error_set(err, LPZ_EIO, "cannot write .npy file: %s", strerror(e ? e : EIO));
        lpz_error_where(err, "%s", w->file.path);
        return LPZ_EIO;
    }
    w->shape[0] += n_rows;
    return LPZ_OK;
}

int lpz_npy_writer_close(lpz_npy_writer *w, lpz_error *err)
{
    if (!w)
        return lpz_error_set(err, LPZ_EINVAL, "no writer");
    if (w->failed) {
        char path[sizeof w->file.path];
        memcpy(path, w->file.path, sizeof path);
        lpz_npy_writer_abort(w);
        lpz_error_set(err, LPZ_ESTATE, "an earlier write to this .npy file failed; nothing was written");
        lpz_error_where(err, "%s", path);
        return LPZ_ESTATE;
    }
    char hdr[1024];
    size_t hs = format_header(hdr, sizeof hdr, w->ndim, w->shape, w->header_size);
    int rc = LPZ_OK;
    if (hs != w->header_size || fflush(w->file.fp) != 0 || fseek(w->file.fp, 0, SEEK_SET) != 0 ||
        fwrite(hdr, 1, hs, w->file.fp) != hs) {
        int e = errno;
        lpz_error_set(err, LPZ_EIO, "cannot finish .npy file: %s", strerror(e ? e : EIO));
        lpz_error_where(err, "%s", w->file.path);
        lpz_atomic_abort(&w->file);
        rc = LPZ_EIO;
    } else {
        rc = lpz_atomic_commit(&w->file, err);
    }
    free(w);
    return rc;
}

void lpz_npy_writer_abort(lpz_npy_writer *w)
{
    if (!w)
        return;
    lpz_atomic_abort(&w->file);
    free(w);
}
