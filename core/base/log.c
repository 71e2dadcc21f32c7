/* core/base/log.c - the log sink shared by the core and plugins.
 * Owns: level filtering and the sink pointer. Thread-safe: a line is
 * formatted on the caller's stack and handed to the sink under a lock. */
#include <lpz/log.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static lpz_log_sink log_sink;
static void *log_user;
static lpz_log_level log_level = LPZ_LOG_INFO;

static const char *level_name(lpz_log_level level)
{
    switch (level) {
    case LPZ_LOG_ERROR: return "error";
    case LPZ_LOG_WARN: return "warning";
    case LPZ_LOG_INFO: return "info";
    default: return "debug";
    }
}

void lpz_log(lpz_log_level level, const char *fmt, ...)
{
    if (level > __atomic_load_n(&log_level, __ATOMIC_RELAXED))
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    if (log_sink)
        log_sink(log_user, level, line);
    else
        fprintf(stderr, "lpz: %s: %s\n", level_name(level), line);
    pthread_mutex_unlock(&log_lock);
}

lpz_log_level lpz_log_get_level(void)
{
    return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void lpz_log_set_sink(lpz_log_sink sink, void *user)
{
    pthread_mutex_lock(&log_lock);
    log_sink = sink;
    log_user = user;
    pthread_mutex_unlock(&log_lock);
}

void lpz_log_set_level(lpz_log_level level)
{
    __atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}
