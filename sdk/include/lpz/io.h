/* lpz/io.h - file formats a plugin may need, without writing its own parser.
 *
 * These are thin, exported wrappers over the core's readers and writers
 * (core/io), so every plugin gets the same strict checking and the same
 * atomic writes (a temporary file renamed over the target: a crash never
 * leaves half a file behind).
 */
#ifndef LPZ_IO_H
#define LPZ_IO_H

#include "common.h"
#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LPZ_ARRAY_MAX_DIMS 8

/* A dense array of float32 in C order. */
typedef struct lpz_array {
    int ndim;
    int64_t shape[LPZ_ARRAY_MAX_DIMS];
    int64_t count; /* product of shape */
    float *data;   /* count floats; release with lpz_array_free */
} lpz_array;

/* Reads a NumPy .npy file (format 1.0-3.0; float32/float64, (u)int8..64 or
 * bool, either byte order, C order only) and converts it to float32.
 * Malformed headers, fortran order, unsupported dtypes and truncated data
 * are errors naming the file. On failure *out is left zeroed. */
LPZ_API int lpz_npy_load(const char *path, lpz_array *out, lpz_error *err);

/* The shape of a .npy without its values (ABI 1.4): fills ndim, shape and
 * count and leaves data NULL, after every check lpz_npy_load makes before
 * reading the values (magic, version, header, dtype, C order, a file size
 * that holds the shape: a truncated file is refused), with its messages.
 * Reads the header alone, so a dataloader's describe can tell the shape of
 * a file of any size at once. On failure *out is left zeroed. */
LPZ_API int lpz_npy_load_header(const char *path, lpz_array *out, lpz_error *err);

/* Releases the data of an array filled by lpz_npy_load (or lpz_npy_load_header:
 * no data, nothing to release); zeroes *a. */
LPZ_API void lpz_array_free(lpz_array *a);

/* Writes float32 data of the given shape as a little-endian C-order .npy. */
LPZ_API int lpz_npy_save(const char *path, const float *data, int ndim, const int64_t *shape, lpz_error *err);

/* Writes n images, each channels x height x width floats in [-1, 1]
 * (values outside are clamped; channels 1 or 3), as one PNG grid with
 * `columns` columns (0: near-square) and a 2-pixel border. */
LPZ_API int lpz_png_save_grid(const char *path, const float *images, int64_t n, int channels, int height, int width,
                              int columns, lpz_error *err);

/* Writes `size` bytes as the whole content of path, atomically (for small
 * text outputs such as CSV or JSON that a plugin builds in memory). */
LPZ_API int lpz_file_save(const char *path, const void *data, size_t size, lpz_error *err);

#ifdef __cplusplus
}
#endif
#endif
