/* core/data/sdk_io.c - the exported file helpers of lpz/io.h: plugins
 * may not link core internals, so these forward to core/io. */
#include <lpz/io.h>

#include "io/fsutil.h"
#include "io/npy.h"
#include "io/png.h"

#include <string.h>

/* The array's shape into *out, refused beyond LPZ_ARRAY_MAX_DIMS (the
 * same limit as core/io's today, kept apart should either change). */
static int take_shape(const char *path, int ndim, const int64_t *shape, lpz_array *out, lpz_error *err)
{
    if (ndim > LPZ_ARRAY_MAX_DIMS) {
        lpz_error_set(err, LPZ_EUNSUPPORTED, "array has %d dimensions (at most %d supported)", ndim,
                      LPZ_ARRAY_MAX_DIMS);
        lpz_error_where(err, "%s", path);
        return LPZ_EUNSUPPORTED;
    }
    out->ndim = ndim;
    out->count = 1;
    for (int i = 0; i < ndim; i++) {
        out->shape[i] = shape[i];
        out->count *= shape[i]; /* no overflow: core/io checked the product */
    }
    return LPZ_OK;
}

int lpz_npy_load(const char *path, lpz_array *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_npy_load: no path given");
    lpz_npy_array a;
    memset(&a, 0, sizeof a);
    int rc = lpz_npy_read(path, &a, err);
    if (rc != LPZ_OK)
        return rc;
    if ((rc = take_shape(path, a.ndim, a.shape, out, err)) != LPZ_OK) {
        lpz_npy_free(&a);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->data = a.data; /* malloc'd by core/io; lpz_array_free frees it */
    return LPZ_OK;
}

/* lpz_npy_load up to its first value: the streaming reader's open checks
 * the header and the file's size, as lpz_npy_read's does. */
int lpz_npy_load_header(const char *path, lpz_array *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_npy_load_header: no path given");
    lpz_npy_reader *r;
    int rc = lpz_npy_reader_open(path, &r, err);
    if (rc != LPZ_OK)
        return rc;
    int64_t shape[LPZ_NPY_MAX_DIMS];
    int ndim = lpz_npy_reader_shape(r, shape);
    lpz_npy_reader_close(r);
    if ((rc = take_shape(path, ndim, shape, out, err)) != LPZ_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

void lpz_array_free(lpz_array *a)
{
    if (!a)
        return;
    lpz_npy_array n;
    memset(&n, 0, sizeof n);
    n.data = a->data;
    lpz_npy_free(&n);
    memset(a, 0, sizeof *a);
}

int lpz_npy_save(const char *path, const float *data, int ndim, const int64_t *shape, lpz_error *err)
{
    return lpz_npy_write_f32(path, data, ndim, shape, err);
}

int lpz_png_save_grid(const char *path, const float *images, int64_t n, int channels, int height, int width,
                      int columns, lpz_error *err)
{
    return lpz_png_write_grid(path, images, n, channels, height, width, columns, err);
}

int lpz_file_save(const char *path, const void *data, size_t size, lpz_error *err)
{
    return lpz_write_file_atomic(path, data, size, err);
}
