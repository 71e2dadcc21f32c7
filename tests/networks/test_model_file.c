/* tests/networks/test_model_file.c - model files refuse what is not the
 * network's: truncated files, broken JSON, wrong dtype, wrong shape,
 * offsets past the end, missing and extra tensors, bad metadata; a refused
 * load leaves the model as it was. Uses the MLP plugin (small widths). */
#include "io/safetensors.h"
#include "net_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const lpz_plugin lpz_plugin_descriptor;

typedef struct fixture {
    lpz_options *opts;
    lpz_network *net;
    lpz_model *g;      /* saved to path */
    lpz_model *target; /* loads go here; must stay as it was */
    lpz_model *snapshot;
    const char *path;
    unsigned char *bytes; /* the saved file */
    size_t size;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *pairs[] = {"hidden=8", "latent=4", NULL};
    f->opts = nt_options(pairs);
    f->net = nt_network(f->opts, lpz_shape_make(1, 6, 0, 0, 0), 0);
    f->g = nt_build(f->net, LPZ_ROLE_GENERATOR, 1);
    f->target = nt_build(f->net, LPZ_ROLE_GENERATOR, 2);
    f->snapshot = nt_build(f->net, LPZ_ROLE_GENERATOR, 2);
    f->path = nt_temp_path("g.safetensors");
    lpz_error err;
    assert_int_equal(lpz_model_save(f->path, f->g, f->net, LPZ_ROLE_GENERATOR, NULL, NULL, 0, &err), LPZ_OK);
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    f->size = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->bytes = malloc(f->size);
    assert_int_equal(fread(f->bytes, 1, f->size, fp), f->size);
    fclose(fp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->bytes);
    lpz_model_destroy(f->g);
    lpz_model_destroy(f->target);
    lpz_model_destroy(f->snapshot);
    lpz_network_destroy(f->net);
    lpz_options_destroy(f->opts);
    free(f);
    return 0;
}

static void write_bytes(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, size, fp), size);
    fclose(fp);
}

static uint64_t header_len(const unsigned char *b)
{
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | b[i];
    return n;
}

/* A copy of the saved file with `from` replaced by `to` (first occurrence)
 * in the JSON header, and the header length fixed up. */
static const char *edited(fixture *f, const char *name, const char *from, const char *to)
{
    uint64_t n = header_len(f->bytes);
    char *header = malloc(n + 1);
    memcpy(header, f->bytes + 8, n);
    header[n] = '\0';
    char *at = strstr(header, from);
    if (!at)
        print_error("\"%s\" not in header %s\n", from, header);
    assert_non_null(at);
    size_t nf = strlen(from), nt = strlen(to), nn = n - nf + nt;
    unsigned char *out = malloc(8 + nn + (f->size - 8 - n));
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(nn >> (8 * i));
    size_t pre = (size_t)(at - header);
    memcpy(out + 8, header, pre);
    memcpy(out + 8 + pre, to, nt);
    memcpy(out + 8 + pre + nt, at + nf, n - pre - nf);
    memcpy(out + 8 + nn, f->bytes + 8 + n, f->size - 8 - n);
    const char *path = nt_temp_path(name);
    write_bytes(path, out, 8 + nn + (f->size - 8 - n));
    free(out);
    free(header);
    return path;
}

/* Loading `path` into the target fails with `code` and the model is unchanged. */
static void expect_refused(fixture *f, const char *path, int code, const char *mention)
{
    lpz_error err;
    lpz_error_clear(&err);
    int rc = lpz_model_load_into(path, f->target, &err);
    char buf[2048];
    if (rc != code)
        print_error("load returned %d (%s), expected %d\n", rc, lpz_error_format(&err, buf, sizeof buf),
                    code);
    assert_int_equal(rc, code);
    assert_true(err.message[0] != '\0');
    if (mention)
        nt_expect_error_mentions(&err, mention);
    nt_expect_same_tensors(f->target, f->snapshot);
}

static void test_valid_file_loads(void **state)
{
    fixture *f = *state;
    lpz_error err;
    assert_int_equal(lpz_model_load_into(f->path, f->target, &err), LPZ_OK);
    nt_expect_same_tensors(f->target, f->g);
    /* back to the snapshot for the other tests */
    assert_int_equal(lpz_model_copy_from(f->target, f->snapshot, &err), LPZ_OK);
}

static void test_truncated_files_are_refused(void **state)
{
    fixture *f = *state;
    size_t cuts[] = {0, 4, 8 + 10, 8 + (size_t)header_len(f->bytes), f->size - 4, f->size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *p = nt_temp_path("truncated.safetensors");
        write_bytes(p, f->bytes, cuts[i]);
        expect_refused(f, p, LPZ_EFORMAT, NULL);
    }
}

static void test_missing_file_is_refused(void **state)
{
    fixture *f = *state;
    lpz_error err;
    assert_int_not_equal(lpz_model_load_into(nt_temp_path("does-not-exist.safetensors"), f->target, &err),
                         LPZ_OK);
    nt_expect_error_mentions(&err, "does-not-exist");
}

static void test_bad_json_is_refused(void **state)
{
    fixture *f = *state;
    expect_refused(f, edited(f, "badjson.safetensors", "\"dtype\"", "\"dtype"), LPZ_EFORMAT, NULL);
    expect_refused(f, edited(f, "badjson2.safetensors", "{", "["), LPZ_EFORMAT, NULL);
}

static void test_a_tensor_named_twice_is_refused(void **state)
{
    fixture *f = *state;
    /* 2.bias and 0.bias have the same shape [8]: rename one as the other. */
    expect_refused(f, edited(f, "twice.safetensors", "\"2.bias\"", "\"0.bias\""), LPZ_EFORMAT, NULL);
}

static void test_huge_header_length_is_refused(void **state)
{
    fixture *f = *state;
    unsigned char *copy = malloc(f->size);
    memcpy(copy, f->bytes, f->size);
    copy[6] = 0x10; /* header length ~ 2^52 */
    const char *p = nt_temp_path("hugeheader.safetensors");
    write_bytes(p, copy, f->size);
    free(copy);
    expect_refused(f, p, LPZ_EFORMAT, NULL);
}

static void test_wrong_dtype_is_refused(void **state)
{
    fixture *f = *state;
    /* I32 has F32's size, so the file is valid safetensors; only the dtype
     * is not the network's. */
    expect_refused(f, edited(f, "dtype.safetensors", "\"F32\"", "\"I32\""), LPZ_EFORMAT, "I32");
}

static void test_shape_mismatch_is_refused(void **state)
{
    fixture *f = *state;
    /* A network with another hidden width: same names, other shapes. */
    const char *pairs[] = {"hidden=16", "latent=4", NULL};
    lpz_options *opts = nt_options(pairs);
    lpz_network *wide = nt_network(opts, lpz_shape_make(1, 6, 0, 0, 0), 0);
    lpz_model *w = nt_build(wide, LPZ_ROLE_GENERATOR, 1);
    const char *p = nt_temp_path("wide.safetensors");
    assert_int_equal(lpz_model_save(p, w, wide, LPZ_ROLE_GENERATOR, NULL, NULL, 0, NULL), LPZ_OK);
    expect_refused(f, p, LPZ_EFORMAT, "0.weight");
    lpz_model_destroy(w);
    lpz_network_destroy(wide);
    lpz_options_destroy(opts);

    /* A discriminator file into a generator. */
    lpz_model *d = nt_build(f->net, LPZ_ROLE_DISCRIMINATOR, 1);
    p = nt_temp_path("d.safetensors");
    assert_int_equal(lpz_model_save(p, d, f->net, LPZ_ROLE_DISCRIMINATOR, NULL, NULL, 0, NULL), LPZ_OK);
    expect_refused(f, p, LPZ_EFORMAT, "shape");
    lpz_model_destroy(d);
}

static void test_offsets_past_the_end_are_refused(void **state)
{
    fixture *f = *state;
    /* The last tensor (4.bias, 6 floats) ends at the end of the data; move
     * its end 4 bytes further and keep the file as it is. */
    uint64_t n = header_len(f->bytes);
    size_t data = f->size - 8 - (size_t)n;
    char from[64], to[64];
    snprintf(from, sizeof from, "%zu]", data);
    snprintf(to, sizeof to, "%zu]", data + 4);
    expect_refused(f, edited(f, "offset.safetensors", from, to), LPZ_EFORMAT, NULL);
    /* and data cut short under an intact header */
    const char *p = nt_temp_path("short.safetensors");
    write_bytes(p, f->bytes, f->size - 8);
    expect_refused(f, p, LPZ_EFORMAT, NULL);
}

/* Hand-made models: linear "0" then "2", optionally "4". */
static lpz_model *chain(int with_third)
{
    lpz_shape in = lpz_shape_make(1, 3, 0, 0, 0);
    lpz_model *m = NULL;
    assert_int_equal(lpz_model_create(&in, 1, &m, NULL), LPZ_OK);
    assert_int_equal(lpz_model_add_linear(m, "0", 5, 1, NULL), LPZ_OK);
    assert_int_equal(lpz_model_add_relu(m, NULL), LPZ_OK);
    assert_int_equal(lpz_model_add_linear(m, "2", 5, 1, NULL), LPZ_OK);
    if (with_third)
        assert_int_equal(lpz_model_add_linear(m, "4", 2, 1, NULL), LPZ_OK);
    return m;
}

static void test_missing_and_extra_tensors_are_refused(void **state)
{
    (void)state;
    lpz_model *two = chain(0), *three = chain(1);
    const char *p2 = nt_temp_path("two.safetensors"), *p3 = nt_temp_path("three.safetensors");
    assert_int_equal(lpz_model_save(p2, two, NULL, LPZ_ROLE_GENERATOR, NULL, NULL, 0, NULL), LPZ_OK);
    assert_int_equal(lpz_model_save(p3, three, NULL, LPZ_ROLE_GENERATOR, NULL, NULL, 0, NULL), LPZ_OK);
    lpz_error err;
    assert_int_equal(lpz_model_load_into(p2, three, &err), LPZ_EFORMAT);
    nt_expect_error_mentions(&err, "4.weight");
    nt_expect_error_mentions(&err, "missing");
    assert_int_equal(lpz_model_load_into(p3, two, &err), LPZ_EFORMAT);
    nt_expect_error_mentions(&err, "4.");
    nt_expect_error_mentions(&err, "not part of the network");
    /* a file without network metadata still loads and says so */
    lpz_model_info info;
    assert_int_equal(lpz_model_file_info(p2, &info, &err), LPZ_OK);
    assert_false(info.has_network);
    assert_string_equal(info.format, LPZ_MODEL_FORMAT);
    lpz_model_info_free(&info);
    lpz_model_destroy(two);
    lpz_model_destroy(three);
}

/* Writes the generator's tensors but tensor `skip` (-1: none) with the
 * given metadata to path. */
static int write_tensors_with_metadata(fixture *f, const char *path, const char *const *keys,
                                       const char *const *values, int n_meta, int skip)
{
    int n = lpz_model_tensor_count(f->g), w = 0;
    lpz_st_tensor t[8];
    assert_true(n <= 8);
    for (int j = 0; j < n; j++) {
        if (j == skip)
            continue;
        int i = w++;
        const char *tn;
        lpz_shape s;
        float *data;
        int trainable;
        assert_int_equal(lpz_model_tensor_info(f->g, j, &tn, &s, &data, &trainable), LPZ_OK);
        memset(&t[i], 0, sizeof t[i]);
        t[i].name = (char *)tn;
        t[i].dtype = LPZ_ST_F32;
        t[i].ndim = s.ndim;
        for (int d = 0; d < s.ndim; d++)
            t[i].shape[d] = s.dim[d];
        t[i].data = data;
        t[i].nbytes = (size_t)lpz_shape_numel(&s) * sizeof(float);
    }
    lpz_error err;
    return lpz_st_write(path, t, w, keys, values, n_meta, &err);
}

static int write_with_metadata(fixture *f, const char *path, const char *const *keys,
                               const char *const *values, int n_meta)
{
    return write_tensors_with_metadata(f, path, keys, values, n_meta, -1);
}

/* A new file with the generator's tensors and the given metadata. */
static const char *with_metadata(fixture *f, const char *name, const char *const *keys,
                                 const char *const *values, int n_meta)
{
    const char *p = nt_temp_path(name);
    assert_int_equal(write_with_metadata(f, p, keys, values, n_meta), LPZ_OK);
    return p;
}

static void expect_info_refused(const char *path, const char *mention)
{
    lpz_model_info info;
    lpz_error err;
    assert_int_equal(lpz_model_file_info(path, &info, &err), LPZ_EFORMAT);
    nt_expect_error_mentions(&err, mention);
}

static void test_bad_metadata_is_refused_by_info(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"network", "role", "critic", "sample_shape", "latent_shape", "network_options"};
    const char *good[] = {"four_layer_perceptron", "generator", "0", "[6]", "[4]", "{\"hidden\": \"8\"}"};
    const char *values[6];
    lpz_model_info info;
    assert_int_equal(lpz_model_file_info(with_metadata(f, "meta_ok.safetensors", keys, good, 6), &info, NULL),
                     LPZ_OK);
    assert_int_equal(info.n_options, 1);
    lpz_model_info_free(&info);

    struct {
        int key;
        const char *value;
        const char *mention;
    } cases[] = {
        {1, "painter", "role"},
        {2, "yes", "critic"},
        {3, "[6, -1]", "sample_shape"},
        {3, "6", "sample_shape"},
        {3, "[1, 2, 3, 4, 5]", "sample_shape"},
        {4, "[]", "latent_shape"},
        {5, "{\"hidden\": 8}", "network_options"},
        {5, "{\"hidden\": \"8\",}", "network_options"},
        {5, "{\"hidden\": \"8\", \"hidden\": \"9\"}", "twice"},
        {5, "not json", "network_options"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(values, good, sizeof values);
        values[cases[c].key] = cases[c].value;
        expect_info_refused(with_metadata(f, "meta_bad.safetensors", keys, values, 6), cases[c].mention);
    }
    /* a network without its role */
    expect_info_refused(with_metadata(f, "meta_norole.safetensors", keys, good, 1), "role");
}

static void test_options_json_escapes_round_trip(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"network", "role", "critic", "sample_shape", "latent_shape", "network_options"};
    const char *values[] = {"x",           "discriminator",
                            "1",           "[3, 64, 64]",
                            "[100, 1, 1]", "{\"path\": \"a\\\"b\\\\c\\u00e9\\n\", \"k\": \"\"}"};
    lpz_model_info info;
    lpz_error err;
    assert_int_equal(
        lpz_model_file_info(with_metadata(f, "meta_esc.safetensors", keys, values, 6), &info, &err), LPZ_OK);
    assert_int_equal(info.role, LPZ_ROLE_DISCRIMINATOR);
    assert_int_equal(info.critic, 1);
    assert_int_equal(info.sample_shape.ndim, 3);
    assert_int_equal(info.sample_shape.dim[2], 64);
    assert_int_equal(info.n_options, 2);
    assert_string_equal(info.option_values[0], "a\"b\\c\xc3\xa9\n");
    assert_string_equal(info.option_values[1], "");
    lpz_model_info_free(&info);
}

/* Metadata that describes a far larger network than the file's tensors
 * hold is refused before the network is built: hidden "40000" in a file of
 * a few hundred bytes had lpz allocate and initialise 6 GB (20 s) before it
 * compared the first tensor. A network a little larger (one width too
 * many) is built within a small bound and refused by the tensor check,
 * naming the tensor; one too few likewise; and so is a file with a tensor
 * missing (it said the network was larger than the file, not which tensor
 * was missing). */
static void test_metadata_larger_than_tensors_is_refused_before_building(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"network", "role", "critic", "sample_shape", "latent_shape", "network_options"};
    const char *values[] = {"four_layer_perceptron", "generator", "0", "[6]", "[4]", NULL};
    const char *options[] = {"{\"hidden\": \"40000\", \"latent\": \"4\"}", "{\"hidden\": \"9\", \"latent\": \"4\"}",
                             "{\"hidden\": \"7\", \"latent\": \"4\"}"};
    char held[64];
    snprintf(held, sizeof held, "tensors hold %lld values", (long long)lpz_model_param_count(f->g));
    for (int i = 0; i < 3; i++) {
        values[5] = options[i];
        const char *path = with_metadata(f, "meta_big.safetensors", keys, values, 6);
        lpz_loaded_model lm;
        lpz_error err;
        assert_int_equal(lpz_model_open(path, &lpz_plugin_descriptor, &lm, &err), LPZ_EFORMAT);
        if (i < 1) {
            nt_expect_error_mentions(&err, "parameters and buffers");
            nt_expect_error_mentions(&err, held);
        } else {
            nt_expect_error_mentions(&err, "0.weight");
        }
        lpz_loaded_model_close(&lm);
    }
    values[5] = "{\"hidden\": \"8\", \"latent\": \"4\"}";
    int last = lpz_model_tensor_count(f->g) - 1;
    const char *path = nt_temp_path("missing.safetensors");
    assert_int_equal(write_tensors_with_metadata(f, path, keys, values, 6, last), LPZ_OK);
    lpz_loaded_model lm;
    lpz_error err;
    assert_int_equal(lpz_model_open(path, &lpz_plugin_descriptor, &lm, &err), LPZ_EFORMAT);
    nt_expect_error_mentions(&err, "is missing from the file");
    lpz_loaded_model_close(&lm);
}

static void test_reserved_extra_keys_are_refused(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"role"};
    const char *values[] = {"x"};
    lpz_error err;
    assert_int_equal(lpz_model_save(nt_temp_path("reserved.safetensors"), f->g, f->net, LPZ_ROLE_GENERATOR,
                                    keys, values, 1, &err),
                     LPZ_EINVAL);
    nt_expect_error_mentions(&err, "reserved");
}

/* Seeded mutations of every metadata value the reader parses (the writer
 * keeps the JSON valid, so they reach lpz's own parsers): each file is
 * either refused with a format error or yields a sane description, and
 * rebuilding it either fails cleanly or gives a working model. */
static void mutate(char *buf, size_t cap, lpz_rng *rng)
{
    static const char alphabet[] = "[]{},:\"\\ 0123456789-.abcdefghijklmnopqrstuvwxyzu\x01\x7f\xc3\xa9";
    size_t len = strlen(buf);
    int edits = 1 + (int)lpz_rng_below(rng, 4);
    for (int e = 0; e < edits; e++) {
        switch (lpz_rng_below(rng, 4)) {
        case 0: /* replace */
            if (len)
                buf[lpz_rng_below(rng, len)] = alphabet[lpz_rng_below(rng, sizeof alphabet - 1)];
            break;
        case 1: /* insert */
            if (len + 1 < cap) {
                size_t at = lpz_rng_below(rng, len + 1);
                memmove(buf + at + 1, buf + at, len - at + 1);
                buf[at] = alphabet[lpz_rng_below(rng, sizeof alphabet - 1)];
                len++;
            }
            break;
        case 2: /* delete */
            if (len) {
                size_t at = lpz_rng_below(rng, len);
                memmove(buf + at, buf + at + 1, len - at);
                len--;
            }
            break;
        default: /* truncate */ len = lpz_rng_below(rng, len + 1); buf[len] = '\0';
        }
    }
}

/* A network plugin's LPZ_OPT_PATH option is saved with the model as a
 * string option (saving refused "an unknown type 5", even unset). */
static void test_a_path_option_is_saved(void **state)
{
    (void)state;
    lpz_option_spec spec[32];
    int n = 0;
    for (const lpz_option_spec *s = lpz_plugin_descriptor.options; s && s->name && n < 28; s++)
        spec[n++] = *s;
    spec[n++] = (lpz_option_spec){"init_file", LPZ_OPT_PATH, NULL, "a file the network starts from"};
    spec[n++] = (lpz_option_spec){"unset_file", LPZ_OPT_PATH, NULL, "never given"};
    spec[n] = (lpz_option_spec){NULL, 0, NULL, NULL};
    lpz_plugin p = lpz_plugin_descriptor;
    p.options = spec;
    lpz_error err;
    lpz_error_clear(&err);
    lpz_options *o = lpz_options_create(spec, p.name);
    assert_non_null(o);
    assert_int_equal(lpz_options_set(o, "hidden", "8", "test", &err), LPZ_OK);
    assert_int_equal(lpz_options_set(o, "latent", "4", "test", &err), LPZ_OK);
    assert_int_equal(lpz_options_set(o, "init_file", "/tmp/a b.bin", "test", &err), LPZ_OK);
    lpz_network *net = NULL;
    lpz_shape shape = lpz_shape_make(1, 6, 0, 0, 0);
    assert_int_equal(lpz_network_create(&p, o, &shape, 0, &net, &err), LPZ_OK);
    lpz_model *g = nt_build(net, LPZ_ROLE_GENERATOR, 1);
    const char *path = nt_temp_path("path-option.safetensors");
    int rc = lpz_model_save(path, g, net, LPZ_ROLE_GENERATOR, NULL, NULL, 0, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.message);
    assert_int_equal(rc, LPZ_OK);
    lpz_model_info info;
    assert_int_equal(lpz_model_file_info(path, &info, &err), LPZ_OK);
    int found = 0;
    for (int i = 0; i < info.n_options; i++)
        if (!strcmp(info.option_keys[i], "init_file")) {
            assert_string_equal(info.option_values[i], "/tmp/a b.bin");
            found = 1;
        }
    assert_true(found);
    lpz_model_info_free(&info);
    remove(path);
    lpz_model_destroy(g);
    lpz_network_destroy(net);
    lpz_options_destroy(o);
}

static void test_mutated_metadata_never_crashes(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"network", "role", "critic", "sample_shape", "latent_shape", "network_options"};
    const char *good[] = {
        "four_layer_perceptron", "generator", "0", "[6]", "[4]", "{\"hidden\": \"8\", \"latent\": \"4\"}"};
    lpz_rng rng;
    lpz_rng_seed(&rng, 2024, 1);
    int accepted = 0, opened = 0;
    const char *path = nt_temp_path("fuzz.safetensors");
    for (int iter = 0; iter < 1500; iter++) {
        char values[6][96];
        const char *v[6];
        for (int k = 0; k < 6; k++) {
            snprintf(values[k], sizeof values[k], "%s", good[k]);
            v[k] = values[k];
        }
        int k = 1 + (int)lpz_rng_below(&rng, 5);
        mutate(values[k], sizeof values[k], &rng);
        if (write_with_metadata(f, path, keys, v, 6) != LPZ_OK)
            continue; /* the writer refuses some bytes (not UTF-8): nothing to read */
        lpz_model_info info;
        lpz_error err;
        int rc = lpz_model_file_info(path, &info, &err);
        if (rc != LPZ_OK) {
            assert_int_equal(rc, LPZ_EFORMAT);
            assert_true(err.message[0] != '\0');
            continue;
        }
        accepted++;
        assert_true(info.sample_shape.ndim >= 1 && info.sample_shape.ndim <= LPZ_MAX_DIMS);
        assert_true(info.latent_shape.ndim >= 1 && info.latent_shape.ndim <= LPZ_MAX_DIMS);
        lpz_model_info_free(&info);
        lpz_loaded_model lm;
        rc = lpz_model_open(path, &lpz_plugin_descriptor, &lm, &err);
        if (rc == LPZ_OK) {
            opened++;
            float z[4] = {0.1f, -0.2f, 0.3f, 0.4f};
            assert_non_null(lpz_model_forward(lm.model, z, 1, &err));
        } else {
            assert_true(err.message[0] != '\0');
        }
        lpz_loaded_model_close(&lm);
    }
    print_message("mutated metadata: %d of 1500 files described, %d rebuilt into working models\n", accepted,
                  opened);
    /* Some mutated files must stay valid, or only refusals were checked. */
    assert_true(accepted > 10);
    assert_true(opened > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_file_loads),
        cmocka_unit_test(test_truncated_files_are_refused),
        cmocka_unit_test(test_missing_file_is_refused),
        cmocka_unit_test(test_bad_json_is_refused),
        cmocka_unit_test(test_a_tensor_named_twice_is_refused),
        cmocka_unit_test(test_huge_header_length_is_refused),
        cmocka_unit_test(test_wrong_dtype_is_refused),
        cmocka_unit_test(test_shape_mismatch_is_refused),
        cmocka_unit_test(test_offsets_past_the_end_are_refused),
        cmocka_unit_test(test_missing_and_extra_tensors_are_refused),
        cmocka_unit_test(test_bad_metadata_is_refused_by_info),
        cmocka_unit_test(test_options_json_escapes_round_trip),
        cmocka_unit_test(test_metadata_larger_than_tensors_is_refused_before_building),
        cmocka_unit_test(test_reserved_extra_keys_are_refused),
        cmocka_unit_test(test_a_path_option_is_saved),
        cmocka_unit_test(test_mutated_metadata_never_crashes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
