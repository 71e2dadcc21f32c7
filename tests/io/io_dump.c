/* tests/io/io_dump.c - a tiny command-line view of core/io for the Python
 * cross-check (crosscheck.py). Not installed.
 *
 *   io_dump npy-read FILE            prints "ndim d0 d1 ...", then values
 *   io_dump npy-write FILE d0 d1 ... writes value i = i * 0.25 - 3 (float32)
 *   io_dump npy-stream FILE ROWS d1 ...  same values, streamed row by row
 *   io_dump st-read FILE             prints "meta KEY VALUE" lines (VALUE with
 *                                    \\ and \n escaped), then per
 *                                    tensor "tensor NAME DTYPE ndim d..."
 *                                    and its values as float32
 *   io_dump st-write FILE            writes a fixed model (see below)
 *
 * Values print with %.9g (exact for float32). Errors go to stderr as the
 * CLI would print them, with exit status 1. */
#include "io/npy.h"
#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const lpz_error *err)
{
    char buf[2048];
    fprintf(stderr, "io_dump: error: %s\n", lpz_error_format(err, buf, sizeof buf));
    return 1;
}

static float value(int64_t i)
{
    return (float)i * 0.25f - 3.0f;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: io_dump npy-read|npy-write|npy-stream|st-read|st-write FILE [dims]\n");
        return 2;
    }
    const char *cmd = argv[1], *path = argv[2];
    lpz_error err;
    lpz_error_clear(&err);
    if (!strcmp(cmd, "npy-read")) {
        lpz_npy_array a;
        if (lpz_npy_read(path, &a, &err))
            return fail(&err);
        printf("%d", a.ndim);
        for (int d = 0; d < a.ndim; d++)
            printf(" %lld", (long long)a.shape[d]);
        printf("\n");
        for (int64_t i = 0; i < a.count; i++)
            printf("%.9g\n", a.data[i]);
        lpz_npy_free(&a);
        return 0;
    }
    if (!strcmp(cmd, "npy-write") || !strcmp(cmd, "npy-stream")) {
        int ndim = argc - 3;
        int64_t shape[LPZ_NPY_MAX_DIMS] = {0}, n = 1;
        if (ndim > LPZ_NPY_MAX_DIMS)
            return 2;
        for (int d = 0; d < ndim; d++) {
            shape[d] = strtoll(argv[3 + d], NULL, 10);
            n *= shape[d];
        }
        float *x = malloc(sizeof(float) * (size_t)(n ? n : 1));
        for (int64_t i = 0; i < n; i++)
            x[i] = value(i);
        int rc;
        if (cmd[4] == 'w') {
            rc = lpz_npy_write_f32(path, x, ndim, shape, &err);
        } else {
            lpz_npy_writer *w;
            rc = ndim < 1 ? 2 : lpz_npy_writer_open(path, ndim - 1, shape + 1, &w, &err);
            int64_t row = ndim > 0 && shape[0] ? n / shape[0] : 0;
            for (int64_t r = 0; !rc && r < shape[0]; r++)
                rc = lpz_npy_writer_append(w, x + r * row, 1, &err);
            if (!rc)
                rc = lpz_npy_writer_close(w, &err);
        }
        free(x);
        return rc ? fail(&err) : 0;
    }
    if (!strcmp(cmd, "st-read")) {
        lpz_st_file f;
        if (lpz_st_read(path, &f, &err))
            return fail(&err);
        for (int i = 0; i < f.n_meta; i++) {
            /* one line each: backslash and newline escaped as \\ and \n */
            printf("meta %s ", f.meta_keys[i]);
            for (const char *c = f.meta_values[i]; *c; c++)
                fputs(*c == '\\' ? "\\\\" : *c == '\n' ? "\\n" : (char[2]){*c, 0}, stdout);
            printf("\n");
        }
        for (int i = 0; i < f.n_tensors; i++) {
            const lpz_st_tensor *t = &f.tensors[i];
            printf("tensor %s %s %d", t->name, lpz_st_dtype_name(t->dtype), t->ndim);
            for (int d = 0; d < t->ndim; d++)
                printf(" %lld", (long long)t->shape[d]);
            printf("\n");
            size_t count = t->nbytes / (size_t)lpz_st_dtype_size(t->dtype);
            float *v = malloc(sizeof(float) * (count ? count : 1));
            if (lpz_st_tensor_to_f32(t, v, count, &err)) {
                free(v);
                lpz_st_free(&f);
                return fail(&err);
            }
            for (size_t k = 0; k < count; k++)
                printf("%.9g\n", v[k]);
            free(v);
        }
        lpz_st_free(&f);
        return 0;
    }
    if (!strcmp(cmd, "st-write")) {
        /* "w": F32 (3, 4) of value(i); "b": F32 (4,) of -value(i);
         * "step": I64 () = 123456789012; "none": F32 (0, 2). */
        float w[12], b[4];
        for (int i = 0; i < 12; i++)
            w[i] = value(i);
        for (int i = 0; i < 4; i++)
            b[i] = -value(i);
        int64_t step = 123456789012LL;
        lpz_st_tensor t[4] = {
            {.name = "w", .dtype = LPZ_ST_F32, .ndim = 2, .shape = {3, 4}, .data = w, .nbytes = sizeof w},
            {.name = "b", .dtype = LPZ_ST_F32, .ndim = 1, .shape = {4}, .data = b, .nbytes = sizeof b},
            {.name = "step", .dtype = LPZ_ST_I64, .ndim = 0, .data = &step, .nbytes = 8},
            {.name = "none", .dtype = LPZ_ST_F32, .ndim = 2, .shape = {0, 2}, .nbytes = 0},
        };
        const char *keys[] = {"network", "note"};
        const char *vals[] = {"mlp", "quote \" backslash \\ newline \n unicode \xc3\xa9"};
        if (lpz_st_write(path, t, 4, keys, vals, 2, &err))
            return fail(&err);
        return 0;
    }
    fprintf(stderr, "io_dump: unknown command %s\n", cmd);
    return 2;
}
