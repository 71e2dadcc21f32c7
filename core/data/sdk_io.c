/* core/data/sdk_io.c - the exported file helpers of lpz/io.h: plugins
 * may not link core internals, so these forward to core/io. */
#include <lpz/io.h>

#include "io/fsutil.h"
#include "io/npy.h"
#include "io/png.h"

#include <string.h>

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
    if (a.ndim > LPZ_ARRAY_MAX_DIMS) {
        lpz_npy_free(&a);
        lpz_error_set(err, LPZ_EUNSUPPORTED, "array has %d dimensions (at most %d supported)", a.ndim,
                      LPZ_ARRAY_MAX_DIMS);
        lpz_error_where(err, "%s", path);
        return LPZ_EUNSUPPORTED;
    }
    out->ndim = a.ndim;
    for (int i = 0; i < a.ndim; i++)
        out->shape[i] = a.shape[i];
    out->count = a.count;
    out->data = a.data; /* malloc'd by core/io; lpz_array_free frees it */
    return LPZ_OK;
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
