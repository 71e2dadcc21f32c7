/* tests/io/test_npy.c - .npy: round trips, every supported dtype and
 * header spelling, every malformed header refused with a clear error, the
 * streaming writer and reader, and atomicity of writes. */
#include "io/fsutil.h"
#include "io/npy.h"
#include "io_test_util.h"
#include "hang_guard.h"

#include <math.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[1024];

static int setup(void **state)
{
    (void)state;
    return lpz_test_mkdtemp(dir, sizeof dir, "npy");
}

static int teardown(void **state)
{
    (void)state;
    lpz_test_rmtree(dir);
    return 0;
}

/* Builds a .npy in buf: preamble of `version`, the dict text verbatim
 * (the caller controls its spelling), then `ndata` data bytes. */
static size_t make_npy(uint8_t *buf, int version, const char *dict, const void *data, size_t ndata)
{
    size_t hl = strlen(dict);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)version;
    buf[7] = 0;
    size_t start;
    if (version == 1) {
        buf[8] = (uint8_t)(hl & 0xff);
        buf[9] = (uint8_t)(hl >> 8);
        start = 10;
    } else {
        buf[8] = (uint8_t)(hl & 0xff);
        buf[9] = (uint8_t)(hl >> 8);
        buf[10] = buf[11] = 0;
        start = 12;
    }
    memcpy(buf + start, dict, hl);
    if (ndata)
        memcpy(buf + start + hl, data, ndata);
    return start + hl + ndata;
}

static void roundtrip(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)i * 0.25f - 3.0f;
    char path[1200];
    snprintf(path, sizeof path, "%s/r%d.npy", dir, ndim);
    lpz_error err;
    assert_int_equal(lpz_npy_write_f32(path, x, ndim, shape, &err), LPZ_OK);
    lpz_npy_array a;
    assert_int_equal(lpz_npy_read(path, &a, &err), LPZ_OK);
    assert_int_equal(a.ndim, ndim);
    assert_int_equal(a.count, n);
    for (int d = 0; d < ndim; d++)
        assert_int_equal(a.shape[d], shape[d]);
    if (n)
        assert_memory_equal(a.data, x, sizeof(float) * (size_t)n);
    lpz_npy_free(&a);
    assert_null(a.data);
    /* numpy aligns the data start to 64 bytes; we do the same. */
    uint8_t head[16];
    assert_true(io_test_read(path, head, sizeof head) >= 10);
    size_t hl = (size_t)head[8] | (size_t)head[9] << 8;
    assert_int_equal((10 + hl) % 64, 0);
    free(x);
}

static void test_roundtrip_shapes(void **state)
{
    (void)state;
    int64_t s0[1] = {0};
    roundtrip(0, s0); /* a 0-d scalar */
    int64_t s1[] = {7};
    roundtrip(1, s1);
    int64_t s2[] = {3, 5};
    roundtrip(2, s2);
    int64_t s4[] = {2, 1, 3, 4};
    roundtrip(4, s4);
    int64_t s8[] = {1, 2, 1, 2, 1, 2, 1, 3};
    roundtrip(8, s8);
    int64_t sz[] = {0, 3};
    roundtrip(2, sz);
}

static void test_written_header_text(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/h.npy", dir);
    int64_t shape[] = {5};
    float x[5] = {0};
    assert_int_equal(lpz_npy_write_f32(path, x, 1, shape, NULL), LPZ_OK);
    char buf[256];
    long n = io_test_read(path, buf, sizeof buf);
    assert_true(n > 64);
    /* Exactly what numpy writes for np.zeros(5, 'f4'). */
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
    assert_memory_equal(buf + 10, want, strlen(want));
    /* 10 + 58 + 1 bytes, padded to 128 */
    assert_int_equal(buf[127], '\n');
    assert_int_equal(buf[126], ' ');
}

static void test_header_spellings(void **state)
{
    (void)state;
    float v[6] = {1, 2, 3, 4, 5, 6};
    const char *dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n",
        "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}\n",
        "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(2,3,)}",
        "  {  'fortran_order' :False ,'shape':( 2 ,3 ) ,  'descr' : '<f4' ,}  \n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n",
    };
    for (int version = 1; version <= 3; version++) {
        for (size_t k = 0; k < sizeof dicts / sizeof *dicts; k++) {
            uint8_t buf[512];
            size_t len = make_npy(buf, version, dicts[k], v, sizeof v);
            lpz_npy_array a;
            lpz_error err;
            lpz_error_clear(&err);
            int rc = lpz_npy_decode(buf, len, &a, &err);
            if (rc)
                fail_msg("v%d dict %zu: %s", version, k, err.message);
            assert_int_equal(a.ndim, 2);
            assert_int_equal(a.shape[0], 2);
            assert_int_equal(a.shape[1], 3);
            assert_memory_equal(a.data, v, sizeof v);
            lpz_npy_free(&a);
            char dtype[16];
            int ndim;
            int64_t shape[LPZ_NPY_MAX_DIMS];
            size_t off;
            /* The header alone (data cut off) still parses. */
            assert_int_equal(lpz_npy_parse_header(buf, len - sizeof v, dtype, &ndim, shape, &off, &err), LPZ_OK);
            assert_string_equal(dtype, "<f4");
            assert_int_equal(off, len - sizeof v);
        }
    }
}

/* Every dtype: the bytes of {-2, 0, 1, 100} (or {0,1,1,0} for bool) in
 * that dtype and byte order decode to the same floats. */
static void test_all_dtypes(void **state)
{
    (void)state;
    const double vals[4] = {-2, 0, 1, 100};
    const char *descrs[] = {"<f4", ">f4", "<f8", ">f8", "|u1", "|i1", "<i2", ">i2", "<u2", ">u2", "<i4",
                            ">i4", "<u4", ">u4", "<i8", ">i8", "<u8", ">u8", "|b1", "<u1", ">i1"};
    for (size_t k = 0; k < sizeof descrs / sizeof *descrs; k++) {
        const char *d = descrs[k];
        int size = d[2] - '0';
        bool big = d[0] == '>';
        bool is_signed = d[1] == 'i' || d[1] == 'f';
        uint8_t data[32];
        float want[4];
        for (int i = 0; i < 4; i++) {
            double x = vals[i];
            if (!is_signed && x < 0)
                x = 2; /* unsigned types get 2 instead of -2 */
            if (d[1] == 'b')
                x = (i == 1 || i == 2) ? 1 : 0;
            want[i] = (float)x;
            uint64_t u;
            if (d[1] == 'f' && size == 4) {
                float f = (float)x;
                uint32_t w;
                memcpy(&w, &f, 4);
                u = w;
            } else if (d[1] == 'f') {
                memcpy(&u, &x, 8);
            } else {
                u = (uint64_t)(int64_t)x;
            }
            for (int b = 0; b < size; b++) {
                int pos = big ? size - 1 - b : b;
                data[i * size + pos] = (uint8_t)(u >> (8 * b));
            }
        }
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (4,), }\n", d);
        uint8_t buf[256];
        size_t len = make_npy(buf, 1, dict, data, (size_t)(4 * size));
        lpz_npy_array a;
        lpz_error err;
        lpz_error_clear(&err);
        if (lpz_npy_decode(buf, len, &a, &err))
            fail_msg("%s: %s", d, err.message);
        for (int i = 0; i < 4; i++)
            if (a.data[i] != want[i])
                fail_msg("%s[%d] = %g, want %g", d, i, a.data[i], want[i]);
        lpz_npy_free(&a);
        /* And from a file (chunked conversion path). */
        char path[1200];
        snprintf(path, sizeof path, "%s/d%zu.npy", dir, k);
        assert_int_equal(io_test_write(path, buf, len), 0);
        assert_int_equal(lpz_npy_read(path, &a, &err), LPZ_OK);
        assert_memory_equal(a.data, want, sizeof want);
        lpz_npy_free(&a);
    }
}

typedef struct bad_case {
    const char *dict; /* NULL: raw bytes below */
    size_t ndata;     /* data bytes appended */
    int code;
    const char *msg;  /* a substring of the error message */
} bad_case;

static void test_malformed_headers(void **state)
{
    (void)state;
    const bad_case cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20, LPZ_EFORMAT, "size mismatch"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 28, LPZ_EFORMAT, "size mismatch"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24, LPZ_EUNSUPPORTED, "fortran_order"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n", 24, LPZ_EUNSUPPORTED, "dtype '<c8'"},
        {"{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }\n", 6, LPZ_EUNSUPPORTED, "dtype"},
        {"{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }\n", 12, LPZ_EUNSUPPORTED, "dtype"},
        {"{'descr': '<f4x', 'fortran_order': False, 'shape': (3,), }\n", 12, LPZ_EUNSUPPORTED, "dtype"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }\n", 12, LPZ_EUNSUPPORTED,
         "structured"},
        {"{'descr': '<f4', 'shape': (3,), }\n", 12, LPZ_EFORMAT, "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False}\n", 4, LPZ_EFORMAT, "shape"},
        {"{'fortran_order': False, 'shape': (3,), }\n", 12, LPZ_EFORMAT, "descr"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 12, LPZ_EFORMAT, "duplicate"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", 12, LPZ_EFORMAT, "unknown key"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3), }\n", 12, LPZ_EFORMAT, "trailing comma"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }\n", 12, LPZ_EFORMAT, "non-negative"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [3], }\n", 12, LPZ_EFORMAT, "tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3 4), }\n", 48, LPZ_EFORMAT, "expected ','"},
        {"{'descr': '<f4', 'fortran_order': false, 'shape': (3,), }\n", 12, LPZ_EFORMAT, "True or False"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (3,), }\n", 12, LPZ_EFORMAT, "expected ','"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } x\n", 12, LPZ_EFORMAT, "after the dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), \n", 12, LPZ_EFORMAT, "quoted string"},
        {"{'descr: '<f4', 'fortran_order': False, 'shape': (3,)}\n", 12, LPZ_EFORMAT, "malformed"},
        {"'descr': '<f4', 'fortran_order': False, 'shape': (3,)}\n", 12, LPZ_EFORMAT, "'{'"},
        {"", 0, LPZ_EFORMAT, "malformed"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,2,3,4,5,6,7,8,9), }\n", 4 * 362880,
         LPZ_EUNSUPPORTED, "dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", 0, LPZ_EFORMAT,
         "too large"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (144115188075855872, 144115188075855872), }\n", 0, LPZ_EFORMAT,
         "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (144115188075855872, 0), }\n", 0, LPZ_OK, ""},
    };
    static uint8_t buf[4 * 362880 + 512];
    static uint8_t zeros[4 * 362880];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        size_t len = make_npy(buf, 1, cases[k].dict, zeros, cases[k].ndata);
        lpz_npy_array a;
        lpz_error err;
        lpz_error_clear(&err);
        int rc = lpz_npy_decode(buf, len, &a, &err);
        if (rc != cases[k].code || !strstr(err.message, cases[k].msg))
            fail_msg("case %zu (%s): rc %d msg '%s'", k, cases[k].dict, rc, err.message);
        if (rc == LPZ_OK)
            lpz_npy_free(&a);
        else
            assert_null(a.data);
        /* The file reader reports the same and names the file. */
        char path[1200];
        snprintf(path, sizeof path, "%s/bad%zu.npy", dir, k);
        assert_int_equal(io_test_write(path, buf, len), 0);
        lpz_error_clear(&err);
        rc = lpz_npy_read(path, &a, &err);
        if (rc != cases[k].code || !strstr(err.message, cases[k].msg))
            fail_msg("file case %zu: rc %d msg '%s'", k, rc, err.message);
        if (rc == LPZ_OK)
            lpz_npy_free(&a);
        else
            assert_non_null(strstr(err.where, path));
    }
}

static void test_bad_preamble(void **state)
{
    (void)state;
    uint8_t buf[256];
    float v[3] = {1, 2, 3};
    size_t len = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", v, sizeof v);
    lpz_npy_array a;
    lpz_error err;
    struct {
        size_t off;
        uint8_t val;
        size_t trunc;
        int code;
        const char *msg;
    } cases[] = {
        {0, 0x92, 0, LPZ_EFORMAT, "bad magic"},
        {3, 'x', 0, LPZ_EFORMAT, "bad magic"},
        {6, 4, 0, LPZ_EUNSUPPORTED, "version 4.0"},
        {6, 0, 0, LPZ_EUNSUPPORTED, "version 0.0"},
        {7, 1, 0, LPZ_EUNSUPPORTED, "version 1.1"},
        {9, 0x10, 0, LPZ_EFORMAT, "past the end"}, /* header length 4096+ */
        {8, 0xff, 0, LPZ_EFORMAT, ""},             /* header length 255: eats data */
        {0, 0x93, 9, LPZ_EFORMAT, "too short"},
        {0, 0x93, 5, LPZ_EFORMAT, "too short"},
        {0, 0x93, 0 + 1, LPZ_EFORMAT, "too short"},
        {0, 0x93, 0 + 20, LPZ_EFORMAT, "malformed"}, /* truncated in the header */
        {0, 0x93, len - 1, LPZ_EFORMAT, "truncated"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        uint8_t b[256];
        memcpy(b, buf, len);
        b[cases[k].off] = cases[k].val;
        size_t n = cases[k].trunc ? cases[k].trunc : len;
        if (cases[k].trunc == 20) {
            /* keep the header length field but cut the file in the dict:
             * that is "past the end"; so instead shrink the length field */
            b[8] = 10;
            b[9] = 0;
            n = len;
        }
        lpz_error_clear(&err);
        char path[1200];
        snprintf(path, sizeof path, "%s/pre%zu.npy", dir, k);
        assert_int_equal(io_test_write(path, b, n), 0);
        int rc = lpz_npy_read(path, &a, &err);
        char full[2048];
        lpz_error_format(&err, full, sizeof full);
        if (rc != cases[k].code || !strstr(full, cases[k].msg))
            fail_msg("preamble case %zu: rc %d '%s'", k, rc, full);
        assert_int_equal(lpz_npy_decode(b, n, &a, &err), cases[k].code);
    }
    assert_int_equal(lpz_npy_read("/nonexistent/x.npy", &a, &err), LPZ_ENOTFOUND);
    assert_int_equal(lpz_npy_decode(buf, 0, &a, &err), LPZ_EFORMAT);
}

static void test_streaming_writer(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/s.npy", dir);
    int64_t tail[2] = {2, 3};
    lpz_npy_writer *w;
    lpz_error err;
    assert_int_equal(lpz_npy_writer_open(path, 2, tail, &w, &err), LPZ_OK);
    assert_false(lpz_is_file(path)); /* only the temp exists until close */
    float rows[6 * 5];
    for (int i = 0; i < 30; i++)
        rows[i] = (float)i;
    int64_t total = 0;
    for (int r = 0; r < 2000; r++) { /* 2000 rows: first dim has 4 digits */
        assert_int_equal(lpz_npy_writer_append(w, rows, 5, &err), LPZ_OK);
        total += 5;
    }
    assert_int_equal(lpz_npy_writer_append(w, rows, 0, &err), LPZ_OK);
    assert_int_equal(lpz_npy_writer_close(w, &err), LPZ_OK);
    assert_int_equal(io_test_count(dir, ".tmp."), 0);
    lpz_npy_array a;
    assert_int_equal(lpz_npy_read(path, &a, &err), LPZ_OK);
    assert_int_equal(a.ndim, 3);
    assert_int_equal(a.shape[0], total);
    assert_int_equal(a.shape[1], 2);
    assert_int_equal(a.shape[2], 3);
    for (int64_t i = 0; i < a.count; i++)
        assert_true(a.data[i] == (float)(i % 30));
    lpz_npy_free(&a);

    /* No rows at all: a valid (0, 2, 3) array. */
    assert_int_equal(lpz_npy_writer_open(path, 2, tail, &w, &err), LPZ_OK);
    assert_int_equal(lpz_npy_writer_close(w, &err), LPZ_OK);
    assert_int_equal(lpz_npy_read(path, &a, &err), LPZ_OK);
    assert_int_equal(a.shape[0], 0);
    assert_int_equal(a.count, 0);
    lpz_npy_free(&a);

    /* Scalars per row (ndim_tail 0): a 1-d array. */
    assert_int_equal(lpz_npy_writer_open(path, 0, NULL, &w, &err), LPZ_OK);
    assert_int_equal(lpz_npy_writer_append(w, rows, 4, &err), LPZ_OK);
    assert_int_equal(lpz_npy_writer_close(w, &err), LPZ_OK);
    assert_int_equal(lpz_npy_read(path, &a, &err), LPZ_OK);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], 4);
    lpz_npy_free(&a);
}

static void test_streaming_abort_keeps_old_file(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/keep.npy", dir);
    float x[2] = {7, 8};
    int64_t shape[1] = {2};
    lpz_error err;
    assert_int_equal(lpz_npy_write_f32(path, x, 1, shape, &err), LPZ_OK);
    lpz_npy_writer *w;
    int64_t tail[1] = {4};
    assert_int_equal(lpz_npy_writer_open(path, 1, tail, &w, &err), LPZ_OK);
    float rows[8] = {0};
    assert_int_equal(lpz_npy_writer_append(w, rows, 2, &err), LPZ_OK);
    lpz_npy_writer_abort(w);
    assert_int_equal(io_test_count(dir, ".tmp."), 0);
    lpz_npy_array a;
    assert_int_equal(lpz_npy_read(path, &a, &err), LPZ_OK);
    assert_int_equal(a.count, 2);
    assert_true(a.data[0] == 7 && a.data[1] == 8);
    lpz_npy_free(&a);
    /* A refused write (bad shape) leaves the old file too. */
    int64_t bad[1] = {-1};
    assert_int_equal(lpz_npy_write_f32(path, x, 1, bad, &err), LPZ_EINVAL);
    assert_int_equal(lpz_npy_writer_open(path, 1, bad, &w, &err), LPZ_EINVAL);
    assert_null(w);
    assert_int_equal(lpz_npy_writer_open(path, 2, NULL, &w, &err), LPZ_EINVAL);
    assert_int_equal(lpz_npy_writer_open(path, 8, tail, &w, &err), LPZ_EINVAL); /* 9 dims */
    assert_int_equal(lpz_npy_write_f32(path, x, 9, shape, &err), LPZ_EINVAL);
    assert_int_equal(lpz_npy_read(path, &a, &err), LPZ_OK);
    assert_int_equal(a.count, 2);
    lpz_npy_free(&a);
    assert_int_equal(io_test_count(dir, NULL), 1);
}

/* The streaming reader: any piece sizes give lpz_npy_read's values,
 * across the conversion chunks of other dtypes; reading past the end is
 * refused; a file cut short after open is an I/O error, not garbage. */
static void test_streaming_reader(void **state)
{
    (void)state;
    const int64_t n = 150001; /* > 2 conversion chunks of 65536 */
    const char *descrs[] = {"<f4", ">i2", "<f8"};
    for (int k = 0; k < 3; k++) {
        int size = descrs[k][2] - '0';
        uint8_t *buf = malloc((size_t)(n * size) + 256);
        uint8_t *data = malloc((size_t)(n * size));
        assert_non_null(buf);
        assert_non_null(data);
        for (int64_t i = 0; i < n; i++) {
            double x = (double)((i * 7919) % 20001 - 10000);
            uint64_t u;
            if (k == 0) {
                float f = (float)x;
                uint32_t w;
                memcpy(&w, &f, 4);
                u = w;
            } else if (k == 2) {
                memcpy(&u, &x, 8);
            } else {
                u = (uint64_t)(int64_t)x;
            }
            for (int b = 0; b < size; b++)
                data[i * size + (descrs[k][0] == '>' ? size - 1 - b : b)] = (uint8_t)(u >> (8 * b));
        }
        char dict[128];
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, 1), }\n", descrs[k],
                 (long long)n);
        size_t len = make_npy(buf, 1, dict, data, (size_t)(n * size));
        char path[1200];
        snprintf(path, sizeof path, "%s/r%d.npy", dir, k);
        assert_int_equal(io_test_write(path, buf, len), 0);
        lpz_error err;
        lpz_error_clear(&err);
        lpz_npy_array whole;
        assert_int_equal(lpz_npy_read(path, &whole, &err), LPZ_OK);
        lpz_npy_reader *r;
        assert_int_equal(lpz_npy_reader_open(path, &r, &err), LPZ_OK);
        int64_t shape[LPZ_NPY_MAX_DIMS];
        assert_int_equal(lpz_npy_reader_shape(r, shape), 2);
        assert_true(shape[0] == n && shape[1] == 1);
        float *got = malloc((size_t)n * sizeof *got);
        assert_non_null(got);
        const int64_t pieces[] = {1, 0, 7, 65535, 70001};
        int64_t at = 0;
        for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++) {
            assert_int_equal(lpz_npy_reader_read(r, got + at, pieces[p], &err), LPZ_OK);
            at += pieces[p];
        }
        assert_int_equal(lpz_npy_reader_read(r, got + at, n - at, &err), LPZ_OK);
        assert_memory_equal(got, whole.data, (size_t)n * sizeof *got);
        assert_true(got[1] == -2081.0f); /* (7919 % 20001) - 10000: the values are what was written */
        assert_int_equal(lpz_npy_reader_read(r, got, 1, &err), LPZ_EINVAL);
        assert_non_null(strstr(err.message, "0 of the array's 150001 are left"));
        lpz_npy_reader_close(r);
        /* cut short after the header was checked */
        assert_int_equal(lpz_npy_reader_open(path, &r, &err), LPZ_OK);
        assert_int_equal(truncate(path, (off_t)(len / 2)), 0);
        lpz_error_clear(&err);
        assert_int_equal(lpz_npy_reader_read(r, got, n, &err), LPZ_EIO);
        assert_non_null(strstr(err.message, "shrank"));
        assert_non_null(strstr(err.where, "r"));
        lpz_npy_reader_close(r);
        lpz_npy_free(&whole);
        free(got), free(buf), free(data);
    }
    lpz_npy_reader_close(NULL);
}

/* A FIFO or a device is refused at once, by the whole-file and the
 * streaming reader alike (--latent and --samples of a FIFO used to block
 * in open for good; the hang guard turns a hang into a failure). */
static void test_special_files_refused(void **state)
{
    (void)state;
    char fifo[1200];
    snprintf(fifo, sizeof fifo, "%s/fifo.npy", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    lpz_test_hang_guard(10);
    const char *paths[] = {fifo, "/dev/zero"};
    const char *kinds[] = {"not a regular file (a FIFO)", "not a regular file (a character device)"};
    for (int i = 0; i < 2; i++) {
        lpz_npy_array a;
        lpz_npy_reader *r = NULL;
        lpz_error err;
        assert_int_not_equal(lpz_npy_read(paths[i], &a, &err), LPZ_OK);
        assert_non_null(strstr(err.message, kinds[i]));
        assert_int_not_equal(lpz_npy_reader_open(paths[i], &r, &err), LPZ_OK);
        assert_null(r);
        assert_non_null(strstr(err.message, kinds[i]));
        assert_string_equal(err.where, paths[i]);
    }
    lpz_test_hang_guard(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_written_header_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_dtypes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_preamble, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_abort_keeps_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_special_files_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
