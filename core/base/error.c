/* core/base/error.c - lpz_error: where, what and how to fix it.
 * Owns: formatting of error reports. Calls: nothing but libc. */
#include <lpz/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lpz_error_clear(lpz_error *err)
{
    if (!err)
        return;
    err->code = LPZ_OK;
    err->where[0] = err->message[0] = err->hint[0] = '\0';
}

int lpz_error_set(lpz_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->where[0] = err->hint[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

void lpz_error_where(lpz_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->where, sizeof err->where, fmt, ap);
    va_end(ap);
}

void lpz_error_context(lpz_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char outer[sizeof err->where];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(outer, sizeof outer, fmt, ap);
    va_end(ap);
    if (err->where[0]) {
        char inner[sizeof err->where];
        memcpy(inner, err->where, sizeof inner);
        /* Keep both parts readable when the total is too long: the outer
         * context takes at most half. */
        size_t n = strlen(outer);
        if (n > sizeof outer / 2)
            n = sizeof outer / 2;
        memcpy(err->where, outer, n);
        err->where[n] = '\0';
        strncat(err->where, ": ", sizeof err->where - strlen(err->where) - 1);
        strncat(err->where, inner, sizeof err->where - strlen(err->where) - 1);
    } else {
        memcpy(err->where, outer, sizeof err->where);
    }
}

void lpz_error_hint(lpz_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
}

char *lpz_error_format(const lpz_error *err, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    if (!err) {
        snprintf(buf, size, "unknown error");
        return buf;
    }
    const char *msg = err->message[0] ? err->message : lpz_strerror(err->code);
    if (err->where[0] && err->hint[0])
        snprintf(buf, size, "%s: %s (%s)", err->where, msg, err->hint);
    else if (err->where[0])
        snprintf(buf, size, "%s: %s", err->where, msg);
    else if (err->hint[0])
        snprintf(buf, size, "%s (%s)", msg, err->hint);
    else
        snprintf(buf, size, "%s", msg);
    return buf;
}

const char *lpz_strerror(int code)
{
    switch (code) {
    case LPZ_OK: return "no error";
    case LPZ_EINVAL: return "invalid argument";
    case LPZ_ENOMEM: return "out of memory";
    case LPZ_EIO: return "input/output error";
    case LPZ_EFORMAT: return "malformed input";
    case LPZ_ENOTFOUND: return "not found";
    case LPZ_EUNSUPPORTED: return "not supported";
    case LPZ_ESTATE: return "wrong state";
    case LPZ_ECANCELED: return "interrupted";
    case LPZ_ETIMEOUT: return "timed out";
    case LPZ_ENET: return "network error";
    case LPZ_EABI: return "incompatible plugin ABI";
    default: return "unknown error";
    }
}
