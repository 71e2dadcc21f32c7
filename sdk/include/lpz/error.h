/* lpz/error.h - error reports.
 *
 * Functions never print, exit or abort. A fallible function takes an
 * `lpz_error *err` (which may be NULL), returns an lpz_status, and on
 * failure fills err with: where it happened (file:line:column, a key path,
 * a sample index, ...), what went wrong, and how to fix it. The CLI prints
 * this as
 *     lpz: error: <where>: <what went wrong> (<how to fix it>)
 *
 * Typical use inside a plugin:
 *     if (magic != 2051)
 *         return lpz_error_set(err, LPZ_EFORMAT, "bad magic number %u", magic);
 * and a caller that knows more adds context:
 *     lpz_error_where(err, "%s", path);
 *     lpz_error_hint(err, "re-download the file");
 */
#ifndef LPZ_ERROR_H
#define LPZ_ERROR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lpz_error {
    int code;           /* an lpz_status; LPZ_OK when nothing failed */
    char where[512];    /* empty when unknown */
    char message[1024]; /* what went wrong */
    char hint[512];     /* how to fix it; empty when there is no advice */
} lpz_error;

/* Resets err to "no error". */
LPZ_API void lpz_error_clear(lpz_error *err);

/* Sets code and message (printf format), clears where and hint, and
 * returns code so that `return lpz_error_set(...)` works. err may be NULL. */
LPZ_API int lpz_error_set(lpz_error *err, int code, const char *fmt, ...) LPZ_PRINTF(3, 4);

/* Sets where (replacing it when already set). err may be NULL. */
LPZ_API void lpz_error_where(lpz_error *err, const char *fmt, ...) LPZ_PRINTF(2, 3);

/* Prefixes where with more context: "outer: inner". err may be NULL. */
LPZ_API void lpz_error_context(lpz_error *err, const char *fmt, ...) LPZ_PRINTF(2, 3);

/* Sets the fix hint (replacing it). err may be NULL. */
LPZ_API void lpz_error_hint(lpz_error *err, const char *fmt, ...) LPZ_PRINTF(2, 3);

/* Formats "where: message (hint)" into buf (always NUL-terminated) and
 * returns buf. */
LPZ_API char *lpz_error_format(const lpz_error *err, char *buf, size_t size);

/* A short text for a status code ("invalid argument", ...). */
LPZ_API const char *lpz_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
