/* tests/fuzz/fuzz_npy.c - .npy header parsing and decoding on any bytes.
 * Must never crash, leak or read out of bounds; what it accepts must be
 * self-consistent (checked with __builtin_trap so the driver reports it). */
#include "io/npy.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dtype[16];
    int ndim = -1;
    int64_t shape[LPZ_NPY_MAX_DIMS];
    size_t off = 0;
    lpz_error err;
    int hdr = lpz_npy_parse_header(data, size, dtype, &ndim, shape, &off, &err);
    if (hdr == LPZ_OK && (off > size || ndim < 0 || ndim > LPZ_NPY_MAX_DIMS || strlen(dtype) != 3))
        __builtin_trap();
    lpz_npy_array a;
    int rc = lpz_npy_decode(data, size, &a, &err);
    if (rc == LPZ_OK) {
        /* decode accepts only what parse_header accepts, with that shape */
        if (hdr != LPZ_OK || a.ndim != ndim || !a.data)
            __builtin_trap();
        int64_t n = 1;
        for (int d = 0; d < a.ndim; d++) {
            if (a.shape[d] != shape[d] || a.shape[d] < 0)
                __builtin_trap();
            n *= a.shape[d];
        }
        if (n != a.count)
            __builtin_trap();
        volatile float sink = 0;
        for (int64_t i = 0; i < a.count; i++)
            sink += a.data[i]; /* every element is readable */
        (void)sink;
        lpz_npy_free(&a);
    } else if (a.data || !err.message[0]) {
        __builtin_trap(); /* failures leave nothing allocated and say why */
    }
    return 0;
}
