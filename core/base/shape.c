#include "base/shape.h"

#include <stdio.h>

static char *format(const lpz_shape *s, char *buf, size_t size, const char *open, const char *sep,
                    const char *close)
{
    if (size == 0)
        return buf;
    size_t n = 0;
    buf[0] = '\0';
    int w = snprintf(buf, size, "%s", open);
    n = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < s->ndim && i < LPZ_MAX_DIMS && n < size; i++) {
        w = snprintf(buf + n, size - n, "%s%lld", i ? sep : "", (long long)s->dim[i]);
        if (w < 0)
            return buf;
        n += (size_t)w;
    }
    if (n < size)
        snprintf(buf + n, size - n, "%s", close);
    return buf;
}

char *lpz_shape_format(const lpz_shape *s, char *buf, size_t size)
{
    return format(s, buf, size, "(", ", ", ")");
}

char *lpz_shape_format_x(const lpz_shape *s, char *buf, size_t size)
{
    return format(s, buf, size, "", "x", "");
}
