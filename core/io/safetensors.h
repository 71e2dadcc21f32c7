/* core/io/safetensors.h - safetensors files (models, classifier weights).
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
 *  ..., "__metadata__": {"key": "value", ...}}, then the data. Offsets are
 * relative to the end of the header. We write F32 and I64 tensors in the
 * order given, 8-byte aligned header (padded with spaces), atomically.
 *
 * Reading checks everything: header length within the file and below a
 * limit, JSON validity, known dtype, shape product times dtype size equal
 * to the offset span, offsets inside the data and not overlapping, metadata
 * values strings. Any failure is LPZ_EFORMAT naming the file and the
 * tensor.
 */
#ifndef LPZ_IO_SAFETENSORS_H
#define LPZ_IO_SAFETENSORS_H

#include <lpz/common.h>
#include <lpz/error.h>

typedef enum lpz_st_dtype {
    LPZ_ST_F32 = 1,
    LPZ_ST_F64 = 2,
    LPZ_ST_I64 = 3,
    LPZ_ST_I32 = 4,
    LPZ_ST_F16 = 5,
    LPZ_ST_BF16 = 6,
    LPZ_ST_U8 = 7,
    LPZ_ST_BOOL = 8
} lpz_st_dtype;

#define LPZ_ST_MAX_DIMS 8

typedef struct lpz_st_tensor {
    char *name;
    lpz_st_dtype dtype;
    int ndim;
    int64_t shape[LPZ_ST_MAX_DIMS];
    const void *data; /* points into the file's buffer (read) or the caller's data (write) */
    size_t nbytes;
} lpz_st_tensor;

typedef struct lpz_st_file {
    int n_tensors;
    lpz_st_tensor *tensors;
    int n_meta;
    char **meta_keys;
    char **meta_values;
    void *buffer; /* whole file */
    size_t buffer_size;
} lpz_st_file;

/* Reads and validates a file. */
int lpz_st_read(const char *path, lpz_st_file *out, lpz_error *err);
/* Validates and indexes a file held in memory; takes ownership of buf
 * (malloc'd) on success and on failure. */
int lpz_st_parse(void *buf, size_t len, lpz_st_file *out, lpz_error *err);
void lpz_st_free(lpz_st_file *f);

const lpz_st_tensor *lpz_st_find(const lpz_st_file *f, const char *name);
const char *lpz_st_meta(const lpz_st_file *f, const char *key);

/* Name ("F32") and element size in bytes of a dtype ("?" and 0 when
 * unknown). */
const char *lpz_st_dtype_name(lpz_st_dtype d);
int lpz_st_dtype_size(lpz_st_dtype d);

/* Converts a tensor of any supported dtype to `count` float32 values (count
 * must equal its element count). Tensor data in a file need not be aligned,
 * so use this (or memcpy) rather than casting t->data. */
int lpz_st_tensor_to_f32(const lpz_st_tensor *t, float *out, size_t count, lpz_error *err);

/* Writes tensors (name, dtype F32 or I64, shape, data, nbytes) and string
 * metadata (n_meta pairs) atomically. Any dtype of lpz_st_dtype is
 * accepted; the data bytes are written as given (little-endian host). */
int lpz_st_write(const char *path, const lpz_st_tensor *tensors, int n_tensors, const char *const *meta_keys,
                 const char *const *meta_values, int n_meta, lpz_error *err);

#endif
