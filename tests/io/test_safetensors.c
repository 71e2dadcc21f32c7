/* tests/io/test_safetensors.c - safetensors: write/read round trips with
 * metadata, all dtypes to float32, strict JSON and layout checks naming
 * the file and tensor, and atomic replacement. */
#include "io/fsutil.h"
#include "io/safetensors.h"
#include "io_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cmocka.h>

static char dir[1024];

static int setup(void **state)
{
    (void)state;
    return lpz_test_mkdtemp(dir, sizeof dir, "st");
}

static int teardown(void **state)
{
    (void)state;
    lpz_test_rmtree(dir);
    return 0;
}

/* A malloc'd file: 8-byte length of `json`, json, then ndata bytes
 * 0, 1, 2, ... */
static void *make_st(const char *json, size_t ndata, size_t *len)
{
    size_t hl = strlen(json);
    uint8_t *b = malloc(8 + hl + ndata + 1);
    for (int k = 0; k < 8; k++)
        b[k] = (uint8_t)((uint64_t)hl >> (8 * k));
    memcpy(b + 8, json, hl);
    for (size_t i = 0; i < ndata; i++)
        b[8 + hl + i] = (uint8_t)i;
    *len = 8 + hl + ndata;
    return b;
}

static void test_roundtrip_with_metadata(void **state)
{
    (void)state;
    float w[6] = {1.5f, -2, 3, 4, 5, 6e-8f};
    int64_t steps[3] = {1, -2, (int64_t)1 << 40};
    float scalar = 42;
    lpz_st_tensor t[4] = {
        {.name = "gen.w", .dtype = LPZ_ST_F32, .ndim = 2, .shape = {2, 3}, .data = w, .nbytes = sizeof w},
        {.name = "steps", .dtype = LPZ_ST_I64, .ndim = 1, .shape = {3}, .data = steps, .nbytes = sizeof steps},
        {.name = "scalar", .dtype = LPZ_ST_F32, .ndim = 0, .data = &scalar, .nbytes = 4},
        {.name = "empty \"q\" \\ \n é", .dtype = LPZ_ST_F32, .ndim = 2, .shape = {0, 5}, .data = NULL, .nbytes = 0},
    };
    const char *keys[] = {"network", "options", "quote\"d"};
    const char *vals[] = {"mlp", "{\"hidden\": 64}", "tab\there ✓"};
    char path[1200];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    lpz_error err;
    lpz_error_clear(&err);
    assert_int_equal(lpz_st_write(path, t, 4, keys, vals, 3, &err), LPZ_OK);
    assert_int_equal(io_test_count(dir, ".tmp."), 0);

    lpz_st_file f;
    if (lpz_st_read(path, &f, &err))
        fail_msg("%s: %s", err.where, err.message);
    assert_int_equal(f.n_tensors, 4);
    assert_int_equal(f.n_meta, 3);
    /* Header padded so the data starts 8-byte aligned. */
    uint64_t hl;
    memcpy(&hl, f.buffer, 8);
    assert_int_equal((8 + hl) % 8, 0);
    const lpz_st_tensor *g = lpz_st_find(&f, "gen.w");
    assert_non_null(g);
    assert_int_equal(g->dtype, LPZ_ST_F32);
    assert_int_equal(g->ndim, 2);
    assert_int_equal(g->shape[0], 2);
    assert_int_equal(g->shape[1], 3);
    assert_int_equal(g->nbytes, sizeof w);
    assert_memory_equal(g->data, w, sizeof w);
    const lpz_st_tensor *s = lpz_st_find(&f, "steps");
    assert_int_equal(s->dtype, LPZ_ST_I64);
    assert_memory_equal(s->data, steps, sizeof steps);
    const lpz_st_tensor *sc = lpz_st_find(&f, "scalar");
    assert_int_equal(sc->ndim, 0);
    assert_int_equal(sc->nbytes, 4);
    float back;
    assert_int_equal(lpz_st_tensor_to_f32(sc, &back, 1, &err), LPZ_OK);
    assert_true(back == 42);
    const lpz_st_tensor *e = lpz_st_find(&f, "empty \"q\" \\ \n é");
    assert_non_null(e);
    assert_int_equal(e->nbytes, 0);
    assert_null(lpz_st_find(&f, "absent"));
    assert_string_equal(lpz_st_meta(&f, "network"), "mlp");
    assert_string_equal(lpz_st_meta(&f, "options"), "{\"hidden\": 64}");
    assert_string_equal(lpz_st_meta(&f, "quote\"d"), "tab\there ✓");
    assert_null(lpz_st_meta(&f, "nope"));
    /* Tensors keep the order they were written in. */
    assert_string_equal(f.tensors[0].name, "gen.w");
    assert_string_equal(f.tensors[3].name, "empty \"q\" \\ \n é");
    lpz_st_free(&f);
    assert_null(f.buffer);

    /* No tensors and no metadata is a valid (tiny) file. */
    assert_int_equal(lpz_st_write(path, NULL, 0, NULL, NULL, 0, &err), LPZ_OK);
    assert_int_equal(lpz_st_read(path, &f, &err), LPZ_OK);
    assert_int_equal(f.n_tensors, 0);
    assert_int_equal(f.n_meta, 0);
    lpz_st_free(&f);
}

static void test_all_dtypes_to_f32(void **state)
{
    (void)state;
    /* Data: F64 2.5,-1 | I32 -7,9 | F16 1.0,-2.0,subnormal | BF16 3.0 | U8 200 | BOOL 0,1 */
    uint8_t data[64];
    size_t pos = 0;
    double d[2] = {2.5, -1};
    memcpy(data + pos, d, 16);
    pos += 16;
    int32_t i32[2] = {-7, 9};
    memcpy(data + pos, i32, 8);
    pos += 8;
    uint16_t f16[3] = {0x3c00, 0xc000, 0x0001};
    memcpy(data + pos, f16, 6);
    pos += 6;
    uint16_t bf16 = 0x4040;
    memcpy(data + pos, &bf16, 2);
    pos += 2;
    data[pos++] = 200;
    data[pos++] = 0;
    data[pos++] = 1;
    const char *json = "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                       "\"b\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[16,24]},"
                       "\"c\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[24,30]},"
                       "\"d\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[30,32]},"
                       "\"e\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[32,33]},"
                       "\"f\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[33,35]}}";
    size_t len;
    uint8_t *b = make_st(json, 0, &len);
    b = realloc(b, len + pos);
    memcpy(b + len, data, pos);
    lpz_st_file f;
    lpz_error err;
    lpz_error_clear(&err);
    if (lpz_st_parse(b, len + pos, &f, &err))
        fail_msg("%s", err.message);
    float out[3];
    assert_int_equal(lpz_st_tensor_to_f32(lpz_st_find(&f, "a"), out, 2, &err), LPZ_OK);
    assert_true(out[0] == 2.5f && out[1] == -1.0f);
    assert_int_equal(lpz_st_tensor_to_f32(lpz_st_find(&f, "b"), out, 2, &err), LPZ_OK);
    assert_true(out[0] == -7.0f && out[1] == 9.0f);
    assert_int_equal(lpz_st_tensor_to_f32(lpz_st_find(&f, "c"), out, 3, &err), LPZ_OK);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == 0x1p-24f);
    assert_int_equal(lpz_st_tensor_to_f32(lpz_st_find(&f, "d"), out, 1, &err), LPZ_OK);
    assert_true(out[0] == 3.0f);
    assert_int_equal(lpz_st_tensor_to_f32(lpz_st_find(&f, "e"), out, 1, &err), LPZ_OK);
    assert_true(out[0] == 200.0f);
    assert_int_equal(lpz_st_tensor_to_f32(lpz_st_find(&f, "f"), out, 2, &err), LPZ_OK);
    assert_true(out[0] == 0.0f && out[1] == 1.0f);
    /* The caller's count must match. */
    assert_int_equal(lpz_st_tensor_to_f32(lpz_st_find(&f, "f"), out, 3, &err), LPZ_EINVAL);
    assert_string_equal(lpz_st_dtype_name(LPZ_ST_BF16), "BF16");
    assert_int_equal(lpz_st_dtype_size(LPZ_ST_I64), 8);
    lpz_st_free(&f);
}

static void test_json_spellings_accepted(void **state)
{
    (void)state;
    const char *ok[] = {
        " {\"x\" : { \"shape\" : [ 2 ] , \"data_offsets\":[0,8],\"dtype\":\"F32\"} }   ",
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{}}\t\n\r ",
        "{\"\\u0078\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"k\":\"\\ud83d\\ude00 \\/\"}}",
    };
    for (size_t k = 0; k < sizeof ok / sizeof *ok; k++) {
        size_t len;
        /* the first case starts with a space: not allowed by the spec, so
         * strip it; the rest of its spacing stays */
        const char *j = ok[k][0] == ' ' ? ok[k] + 1 : ok[k];
        void *b = make_st(j, 8, &len);
        lpz_st_file f;
        lpz_error err;
        lpz_error_clear(&err);
        if (lpz_st_parse(b, len, &f, &err))
            fail_msg("case %zu: %s", k, err.message);
        assert_non_null(lpz_st_find(&f, "x"));
        if (k == 3)
            assert_string_equal(lpz_st_meta(&f, "k"), "\xf0\x9f\x98\x80 /");
        lpz_st_free(&f);
    }
}

typedef struct bad_case {
    const char *json;
    size_t ndata;
    int code;
    const char *msg;
} bad_case;

#define T(x) "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}" x "}"

static void test_malformed(void **state)
{
    (void)state;
    const bad_case cases[] = {
        {T(""), 7, LPZ_EFORMAT, "past the end"},
        {T(""), 9, LPZ_EFORMAT, "1 bytes after the last tensor"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "needs 12"},
        {"{\"t\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "F64"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, LPZ_EFORMAT, "end before"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,9]}}", 8, LPZ_EFORMAT, "past the end"},
        {T(",\"u\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}"), 8, LPZ_EFORMAT, "overlap"},
        {T(",\"u\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}"), 8, LPZ_EFORMAT, "overlap"},
        {T(",\"u\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}"), 16, LPZ_EFORMAT, "unused bytes"},
        {T(",\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}"), 12, LPZ_EFORMAT, "duplicate tensor"},
        {T(",\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}"), 8, LPZ_EFORMAT, "duplicate __metadata__ key"},
        {T(",\"__metadata__\":{},\"__metadata__\":{}"), 8, LPZ_EFORMAT, "duplicate key"},
        {T(",\"__metadata__\":{\"a\":1}"), 8, LPZ_EFORMAT, "not a string"},
        {T(",\"__metadata__\":{\"a\":{\"b\":\"c\"}}"), 8, LPZ_EFORMAT, "not a string"},
        {T(",\"__metadata__\":[]"), 8, LPZ_EFORMAT, "object of strings"},
        {"{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT,
         "duplicate key \"dtype\""},
        {"{\"t\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, LPZ_EUNSUPPORTED, "dtype \"C64\""},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, LPZ_EFORMAT, "unknown key"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, LPZ_EFORMAT, "missing \"data_offsets\""},
        {"{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "missing \"dtype\""},
        {"{\"t\":{}}", 0, LPZ_EFORMAT, "empty"},
        {"{\"t\":3}", 0, LPZ_EFORMAT, "must be an object"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "must be an integer"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "non-negative"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "must be an integer"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "leading zeros"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1e1],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT, "integer"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8, LPZ_EFORMAT,
         "too large"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8, LPZ_EFORMAT, "[begin, end]"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, LPZ_EFORMAT, "[begin, end]"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8, LPZ_EUNSUPPORTED,
         "dimensions"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[268435456,268435456,268435456],\"data_offsets\":[0,8]}}", 8,
         LPZ_EFORMAT, "too large"},
        {T(","), 8, LPZ_EFORMAT, "expected a string"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}", 8, LPZ_EFORMAT, "expected a string"},
        {"{\"t\" {\"dtype\":\"F32\"}}", 8, LPZ_EFORMAT, "expected ':'"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, LPZ_EFORMAT, "the header ended"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}x", 8, LPZ_EFORMAT, "after the JSON"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}{}", 8, LPZ_EFORMAT, "after the JSON"},
        {"{\"t", 0, LPZ_EFORMAT, "unterminated"},
        {"{\"t\\", 0, LPZ_EFORMAT, "unterminated"},
        {"{\"t\\x\":1}", 0, LPZ_EFORMAT, "invalid escape"},
        {"{\"t\\u12\":1}", 0, LPZ_EFORMAT, "escape"},
        {"{\"t\\ud800\":1}", 0, LPZ_EFORMAT, "surrogate"},
        {"{\"t\\udc00\":1}", 0, LPZ_EFORMAT, "surrogate"},
        {"{\"t\\u0000\":1}", 0, LPZ_EFORMAT, "\\u0000"},
        {"{\"t\x01\":1}", 0, LPZ_EFORMAT, "control character"},
        {"{\"t\xff\":1}", 0, LPZ_EFORMAT, "UTF-8"},
        {"{\"t\xc0\xaf\":1}", 0, LPZ_EFORMAT, "UTF-8"},
        {"{\"t\xed\xa0\x80\":1}", 0, LPZ_EFORMAT, "UTF-8"},
        {"{'t':1}", 0, LPZ_EFORMAT, "expected a string"},
        {"[]", 0, LPZ_EFORMAT, "starting with '{'"},
        {" {}", 0, LPZ_EFORMAT, "starting with '{'"},
        {"{", 0, LPZ_EFORMAT, "starting with '{'"},
        {"", 0, LPZ_EFORMAT, "starting with '{'"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        size_t len;
        void *b = make_st(cases[k].json, cases[k].ndata, &len);
        lpz_st_file f;
        lpz_error err;
        lpz_error_clear(&err);
        int rc = lpz_st_parse(b, len, &f, &err); /* frees b on failure */
        if (rc != cases[k].code || !strstr(err.message, cases[k].msg))
            fail_msg("case %zu (%s): rc %d '%s'", k, cases[k].json, rc, err.message);
        assert_null(f.buffer);
        assert_int_equal(f.n_tensors, 0);
    }
}

static void test_errors_name_file_and_tensor(void **state)
{
    (void)state;
    size_t len;
    void *b = make_st("{\"layer1.weight\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, &len);
    char path[1200];
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    assert_int_equal(io_test_write(path, b, len), 0);
    free(b);
    lpz_st_file f;
    lpz_error err;
    assert_int_equal(lpz_st_read(path, &f, &err), LPZ_EFORMAT);
    char full[2048];
    lpz_error_format(&err, full, sizeof full);
    assert_non_null(strstr(full, path));
    assert_non_null(strstr(full, "layer1.weight"));
    /* JSON errors inside a tensor entry name it too. */
    b = make_st("{\"enc.bias\":{\"dtype\":\"F32\",\"shape\":[x]}}", 0, &len);
    assert_int_equal(lpz_st_parse(b, len, &f, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "enc.bias"));
    assert_int_equal(lpz_st_read("/nonexistent/m.safetensors", &f, &err), LPZ_ENOTFOUND);
}

static void test_header_limits(void **state)
{
    (void)state;
    uint8_t b[16] = {0};
    lpz_st_file f;
    lpz_error err;
    /* Length field above 100 MB: refused before anything is allocated. */
    uint64_t big = 100000001;
    memcpy(b, &big, 8);
    void *m = malloc(16);
    memcpy(m, b, 16);
    assert_int_equal(lpz_st_parse(m, 16, &f, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "limit"));
    big = UINT64_MAX;
    memcpy(b, &big, 8);
    m = malloc(16);
    memcpy(m, b, 16);
    assert_int_equal(lpz_st_parse(m, 16, &f, &err), LPZ_EFORMAT);
    m = malloc(4);
    memcpy(m, b, 4);
    assert_int_equal(lpz_st_parse(m, 4, &f, &err), LPZ_EFORMAT);
    assert_non_null(strstr(err.message, "too short"));
    assert_int_equal(lpz_st_parse(NULL, 0, &f, &err), LPZ_EFORMAT);
}

/* PyTorch's torch.save files (the original Lipizzaner's .pkl generators) are named as such; a safetensors file
 * whose header length starts with the same bytes as a pickle (0x80, then 2 to 5: headers of 640 to 1535 bytes)
 * is still read (the first version of the check took a 896-byte header for a pickle). */
static void test_pytorch_files_named_and_lookalike_headers_read(void **state)
{
    (void)state;
    lpz_st_file f;
    lpz_error err;
    for (size_t want = 0x280; want <= 0x580; want += 0x100) {
        char json[2048];
        int n = snprintf(json, sizeof json, "{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                         "\"__metadata__\":{\"pad\":\"");
        while ((size_t)n < want - 3)
            json[n++] = 'x';
        snprintf(json + n, sizeof json - (size_t)n, "\"}}");
        assert_int_equal(strlen(json), want);
        size_t len;
        void *b = make_st(json, 8, &len);
        assert_int_equal(((uint8_t *)b)[0], 0x80);
        if (lpz_st_parse(b, len, &f, &err) != LPZ_OK)
            fail_msg("a header of %zu bytes: %s", want, err.message);
        assert_int_equal(f.n_tensors, 1);
        lpz_st_free(&f);
    }
    static const uint8_t zip[] = {'P', 'K', 3, 4, 0, 0, 8, 8, 0, 0, 'a', 'r', 'c', 'h', 'i', 'v', 'e', '/'};
    static const uint8_t pickle[] = {0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50};
    const struct {
        const uint8_t *bytes;
        size_t n;
        const char *what;
    } torch[] = {{zip, sizeof zip, "not a safetensors file but a zip archive (as PyTorch's torch.save writes)"},
                 {pickle, sizeof pickle, "not a safetensors file but a Python pickle"}};
    for (int i = 0; i < 2; i++) {
        void *m = malloc(torch[i].n);
        memcpy(m, torch[i].bytes, torch[i].n);
        assert_int_equal(lpz_st_parse(m, torch[i].n, &f, &err), LPZ_EFORMAT);
        if (!strstr(err.message, torch[i].what))
            fail_msg("expected \"%s\" in \"%s\"", torch[i].what, err.message);
        assert_non_null(strstr(err.hint, "load it in PyTorch"));
    }
}

static void test_failed_write_keeps_old_file(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/keep.safetensors", dir);
    float w[2] = {1, 2};
    lpz_st_tensor t = {.name = "w", .dtype = LPZ_ST_F32, .ndim = 1, .shape = {2}, .data = w, .nbytes = 8};
    lpz_error err;
    assert_int_equal(lpz_st_write(path, &t, 1, NULL, NULL, 0, &err), LPZ_OK);
    lpz_st_tensor bad[2] = {t, t};
    bad[1].nbytes = 4; /* does not match shape */
    bad[1].name = "v";
    assert_int_equal(lpz_st_write(path, bad, 2, NULL, NULL, 0, &err), LPZ_EINVAL);
    assert_non_null(strstr(err.message, "\"v\""));
    bad[1] = t; /* duplicate name */
    assert_int_equal(lpz_st_write(path, bad, 2, NULL, NULL, 0, &err), LPZ_EINVAL);
    const char *k[] = {"a", "a"}, *v[] = {"1", "2"};
    assert_int_equal(lpz_st_write(path, &t, 1, k, v, 2, &err), LPZ_EINVAL);
    const char *badutf[] = {"\xff"};
    assert_int_equal(lpz_st_write(path, &t, 1, badutf, v, 1, &err), LPZ_EINVAL);
    lpz_st_tensor meta_name = t;
    meta_name.name = "__metadata__";
    assert_int_equal(lpz_st_write(path, &meta_name, 1, NULL, NULL, 0, &err), LPZ_EINVAL);
    snprintf(path + strlen(path), 20, "/sub");
    assert_int_not_equal(lpz_st_write(path, &t, 1, NULL, NULL, 0, &err), LPZ_OK);
    snprintf(path, sizeof path, "%s/keep.safetensors", dir);
    lpz_st_file f;
    assert_int_equal(lpz_st_read(path, &f, &err), LPZ_OK);
    assert_int_equal(f.n_tensors, 1);
    assert_memory_equal(lpz_st_find(&f, "w")->data, w, 8);
    lpz_st_free(&f);
    assert_int_equal(io_test_count(dir, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_with_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_dtypes_to_f32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_spellings_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_file_and_tensor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pytorch_files_named_and_lookalike_headers_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_keeps_old_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
