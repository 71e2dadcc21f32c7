/* lpz/common.h - versions, export macro, status codes and shapes.
 *
 * Every other SDK header includes this one. It has no functions, only the
 * definitions a plugin and the core must agree on byte for byte.
 */
#ifndef LPZ_COMMON_H
#define LPZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of lpz itself (the program and library). */
#define LPZ_VERSION "0.1.0"

/* ABI of the plugin interface. A plugin records the values it was built
 * with in its descriptor. The loader refuses a plugin whose major differs
 * from the core's; a plugin with a smaller minor still loads (function
 * tables only grow at their end, and their first field is their size). */
#define LPZ_ABI_MAJOR 1
#define LPZ_ABI_MINOR 4

/* Marks a symbol that liblpz exports. Everything else in the core is built
 * with hidden visibility and is invisible to plugins. */
#if defined(LPZ_BUILDING_CORE)
#define LPZ_API __attribute__((visibility("default")))
#else
#define LPZ_API
#endif

#if defined(__GNUC__)
#define LPZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LPZ_PRINTF(a, b)
#endif

/* Status codes. Every fallible SDK function returns one of these (0 is
 * success) and fills an lpz_error (see lpz/error.h) with the details. */
typedef enum lpz_status {
    LPZ_OK = 0,
    LPZ_EINVAL = 1,       /* invalid argument or value */
    LPZ_ENOMEM = 2,       /* out of memory */
    LPZ_EIO = 3,          /* a file could not be read or written */
    LPZ_EFORMAT = 4,      /* input is malformed (bad magic, truncated, ...) */
    LPZ_ENOTFOUND = 5,    /* a file, key, plugin or name does not exist */
    LPZ_EUNSUPPORTED = 6, /* valid but not supported (dtype, link type, ...) */
    LPZ_ESTATE = 7,       /* called in the wrong state */
    LPZ_ECANCELED = 8,    /* interrupted by the user */
    LPZ_ETIMEOUT = 9,     /* a peer did not answer in time */
    LPZ_ENET = 10,        /* network or protocol failure */
    LPZ_EABI = 11         /* plugin built for another ABI */
} lpz_status;

/* The shape of one sample or one activation, without the batch dimension.
 * Images are (C, H, W); sequences are (T, F); vectors are (F). */
#define LPZ_MAX_DIMS 4
typedef struct lpz_shape {
    int ndim;
    int64_t dim[LPZ_MAX_DIMS];
} lpz_shape;

/* Number of elements of a shape (1 for ndim == 0). */
static inline int64_t lpz_shape_numel(const lpz_shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->dim[i];
    return n;
}

/* Builds a shape from up to four dimensions; pass ndim and the sizes. */
static inline lpz_shape lpz_shape_make(int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
    lpz_shape s = {ndim, {d0, d1, d2, d3}};
    for (int i = ndim; i < LPZ_MAX_DIMS; i++)
        s.dim[i] = 0;
    return s;
}

#ifdef __cplusplus
}
#endif
#endif
