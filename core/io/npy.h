/* core/io/npy.h - NumPy .npy arrays (format versions 1.0, 2.0, 3.0).
 *
 * Reading accepts little- and big-endian float32/float64 and (u)int8..64
 * and bool, C order only (fortran_order True is refused with a clear
 * message), and converts to float32. Writing produces version 1.0 (2.0 for
 * huge headers) little-endian '<f4', C order. Headers are parsed strictly:
 * a missing or malformed key, a shape that does not match the file size, or
 * a header longer than the file is LPZ_EFORMAT with the path in err.
 */
#ifndef LPZ_IO_NPY_H
#define LPZ_IO_NPY_H

#include <lpz/error.h>
#include <stdint.h>

#define LPZ_NPY_MAX_DIMS 8

typedef struct lpz_npy_array {
    int ndim;
    int64_t shape[LPZ_NPY_MAX_DIMS];
    int64_t count; /* product of shape */
    float *data;   /* malloc'd, count floats, converted to float32 */
} lpz_npy_array;

/* Reads a whole .npy file into float32. */
int lpz_npy_read(const char *path, lpz_npy_array *out, lpz_error *err);
void lpz_npy_free(lpz_npy_array *a);

/* Streaming reader: the header and the file's size are checked at open
 * (the same checks as lpz_npy_read), then values are read in C order,
 * converted to float32, as many at a time as the caller asks for. */
typedef struct lpz_npy_reader lpz_npy_reader;
int lpz_npy_reader_open(const char *path, lpz_npy_reader **out, lpz_error *err);
/* The array's shape; returns ndim. */
int lpz_npy_reader_shape(const lpz_npy_reader *r, int64_t shape[LPZ_NPY_MAX_DIMS]);
/* The next n values into dst; asking for more than are left is LPZ_EINVAL. */
int lpz_npy_reader_read(lpz_npy_reader *r, float *dst, int64_t n, lpz_error *err);
void lpz_npy_reader_close(lpz_npy_reader *r);

/* Parses only the header of a .npy held in memory; for fuzzing and for
 * checking files without reading them. `dtype` receives the descr string
 * ("<f4"), data_offset the start of the data. */
int lpz_npy_parse_header(const uint8_t *buf, size_t len, char dtype[16], int *ndim, int64_t shape[LPZ_NPY_MAX_DIMS],
                         size_t *data_offset, lpz_error *err);

/* Decodes a .npy held in memory (same checks as lpz_npy_read). */
int lpz_npy_decode(const uint8_t *buf, size_t len, lpz_npy_array *out, lpz_error *err);

/* Writes float32 data of the given shape, atomically. */
int lpz_npy_write_f32(const char *path, const float *data, int ndim, const int64_t *shape, lpz_error *err);

/* Streaming writer for outputs whose first dimension is not known in
 * advance (lpz-pcap2npy): rows of `row_size` floats are appended and the
 * header is rewritten with the final count on close. */
typedef struct lpz_npy_writer lpz_npy_writer;
int lpz_npy_writer_open(const char *path, int ndim_tail, const int64_t *tail_shape, lpz_npy_writer **out,
                        lpz_error *err);
int lpz_npy_writer_append(lpz_npy_writer *w, const float *rows, int64_t n_rows, lpz_error *err);
/* Finishes the file (atomic rename) and frees the writer. */
int lpz_npy_writer_close(lpz_npy_writer *w, lpz_error *err);
/* Drops the file and frees the writer. */
void lpz_npy_writer_abort(lpz_npy_writer *w);

#endif
