/* core/base/thread.c - see thread.h. */
#include "base/thread.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#define ALT_STACK_SIZE (64 * 1024) /* as the main thread's (cli/crash.c): the report formats and backtraces */

typedef struct start {
    void *(*fn)(void *);
    void *arg;
} start;

/* An alternate stack for this thread when the SIGSEGV handler wants one and the thread has none; NULL otherwise
 * (or without memory: the thread runs as before). */
static void *alt_stack_begin(void)
{
    struct sigaction sa;
    stack_t cur;
    if (sigaction(SIGSEGV, NULL, &sa) || !(sa.sa_flags & SA_ONSTACK) || sigaltstack(NULL, &cur) ||
        !(cur.ss_flags & SS_DISABLE))
        return NULL;
    void *mem = malloc(ALT_STACK_SIZE);
    stack_t ss = {.ss_sp = mem, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    if (mem && sigaltstack(&ss, NULL)) {
        free(mem);
        mem = NULL;
    }
    return mem;
}

static void alt_stack_end(void *mem)
{
    if (!mem)
        return;
    stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    free(mem);
}

static void *trampoline(void *arg)
{
    start s = *(start *)arg;
    free(arg);
    void *mem = alt_stack_begin();
    void *result = s.fn(s.arg);
    alt_stack_end(mem);
    return result;
}

int lpz_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    start *s = malloc(sizeof *s);
    if (!s)
        return ENOMEM;
    s->fn = fn;
    s->arg = arg;
    int rc = pthread_create(thread, NULL, trampoline, s);
    if (rc)
        free(s);
    return rc;
}
