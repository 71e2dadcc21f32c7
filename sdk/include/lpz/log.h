/* lpz/log.h - log lines from the core and from plugins.
 *
 * Plugins report progress and counted problems (e.g. "skipped 3 corrupt
 * images") with lpz_log. The CLI decides where lines go (terminal, log
 * file) and which levels show (-q, -v). Thread-safe.
 */
#ifndef LPZ_LOG_H
#define LPZ_LOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lpz_log_level {
    LPZ_LOG_ERROR = 0,
    LPZ_LOG_WARN = 1,
    LPZ_LOG_INFO = 2,
    LPZ_LOG_DEBUG = 3
} lpz_log_level;

/* Logs one line (no trailing newline needed). */
LPZ_API void lpz_log(lpz_log_level level, const char *fmt, ...) LPZ_PRINTF(2, 3);

/* The most verbose level that is currently shown; plugins may skip
 * expensive debug work when it is lower than LPZ_LOG_DEBUG. */
LPZ_API lpz_log_level lpz_log_get_level(void);

/* Where log lines go. The default sink writes "lpz: <level>: <text>" to
 * stderr. Set by the program embedding lpz (the CLI); plugins do not call
 * these. `sink` may be NULL to restore the default. */
typedef void (*lpz_log_sink)(void *user, lpz_log_level level, const char *line);
LPZ_API void lpz_log_set_sink(lpz_log_sink sink, void *user);
LPZ_API void lpz_log_set_level(lpz_log_level level);

#ifdef __cplusplus
}
#endif
#endif
