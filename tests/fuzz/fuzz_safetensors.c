/* tests/fuzz/fuzz_safetensors.c - safetensors parsing on any bytes. Must
 * never crash, leak or read out of bounds; an accepted file must be
 * self-consistent (tensors inside the buffer, names findable). */
#include "io/safetensors.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    lpz_st_file f;
    lpz_error err;
    if (lpz_st_parse(buf, size, &f, &err) != LPZ_OK) { /* buf freed by the parser */
        if (f.buffer || !err.message[0])
            __builtin_trap();
        return 0;
    }
    const uint8_t *lo = f.buffer, *hi = lo + f.buffer_size;
    float tmp[64];
    for (int i = 0; i < f.n_tensors; i++) {
        const lpz_st_tensor *t = &f.tensors[i];
        const uint8_t *p = t->data;
        /* lpz_st_find is linear: check names on the first tensors only */
        if (p < lo || p + t->nbytes > hi || (i < 64 && lpz_st_find(&f, t->name) != t))
            __builtin_trap();
        size_t count = t->nbytes / (size_t)lpz_st_dtype_size(t->dtype);
        if (count <= 64 && lpz_st_tensor_to_f32(t, tmp, count, &err) != LPZ_OK)
            __builtin_trap();
    }
    for (int i = 0; i < f.n_meta; i++)
        if (strcmp(lpz_st_meta(&f, f.meta_keys[i]), f.meta_values[i]) != 0)
            __builtin_trap();
    lpz_st_free(&f);
    return 0;
}
