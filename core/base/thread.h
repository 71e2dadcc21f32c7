/* core/base/thread.h - the threads lpz starts (cells, their helpers, the
 * batchers' prefetch, servers): pthread_create with an alternate signal
 * stack in the new thread when the process's SIGSEGV handler runs on one
 * (SA_ONSTACK, as the lpz executable's crash report, cli/crash.c), so that
 * a stack overflow there (a plugin's deep recursion or large local array in
 * a cell's thread) is reported as in the main thread instead of killing the
 * process without a word. A thread that already has one (AddressSanitizer
 * gives each its own) keeps it. */
#ifndef LPZ_BASE_THREAD_H
#define LPZ_BASE_THREAD_H

#include <pthread.h>

/* As pthread_create with default attributes: 0 or an error number. */
int lpz_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
