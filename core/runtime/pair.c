/* core/runtime/pair.c - a helper thread for two-way jobs; see pair.h. */
#include "runtime/pair.h"

#include "base/thread.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

/* Spin iterations (each a pause, ~40 ns on Skylake-X) before sleeping:
 * about 100 us, longer than the gaps between the jobs of a training step
 * and far shorter than a fitness evaluation. */
#define SPINS 2500

struct lpz_pair {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned posted;  /* jobs posted (atomic) */
    unsigned claimed; /* the last job whose part 1 someone took (atomic) */
    unsigned done;    /* the last job the helper finished (atomic) */
    int sleeping;    /* helper waits on cond (under lock) */
    int quit;
    void (*fn)(void *, int);
    void *arg;
};

static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *helper_main(void *arg)
{
    lpz_pair *p = arg;
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (__atomic_load_n(&p->posted, __ATOMIC_ACQUIRE) == seen && spins < SPINS) {
            cpu_pause();
            spins++;
        }
        if (__atomic_load_n(&p->posted, __ATOMIC_ACQUIRE) == seen) {
            pthread_mutex_lock(&p->lock);
            p->sleeping = 1;
            while (__atomic_load_n(&p->posted, __ATOMIC_ACQUIRE) == seen && !p->quit)
                pthread_cond_wait(&p->cond, &p->lock);
            p->sleeping = 0;
            int quit = p->quit;
            pthread_mutex_unlock(&p->lock);
            if (quit)
                return NULL;
        }
        /* Only the newest job can be unclaimed: the caller runs part 1
         * itself when the helper is late (descheduled on a busy machine),
         * so jobs never wait for this thread to be scheduled. */
        seen = __atomic_load_n(&p->posted, __ATOMIC_ACQUIRE);
        unsigned prev = seen - 1;
        if (!__atomic_compare_exchange_n(&p->claimed, &prev, seen, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        p->fn(p->arg, 1);
        __atomic_store_n(&p->done, seen, __ATOMIC_RELEASE);
    }
}

int lpz_pair_create(lpz_pair **out, lpz_error *err)
{
    *out = NULL;
    lpz_pair *p = calloc(1, sizeof *p);
    if (!p)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory");
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    if (lpz_thread_create(&p->thread, helper_main, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p);
        return lpz_error_set(err, LPZ_ENOMEM, "cannot start a helper thread");
    }
    *out = p;
    return LPZ_OK;
}

void lpz_pair_run(lpz_pair *p, void (*fn)(void *, int), void *arg)
{
    p->fn = fn;
    p->arg = arg;
    unsigned job = __atomic_add_fetch(&p->posted, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&p->lock);
    if (p->sleeping)
        pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    fn(arg, 0);
    unsigned prev = job - 1;
    if (__atomic_compare_exchange_n(&p->claimed, &prev, job, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        fn(arg, 1); /* the helper has not started: do its part here */
        return;
    }
    /* The helper is running part 1, which takes about as long as part 0:
     * spin, and yield the core only when it is late. */
    for (int spins = 0; __atomic_load_n(&p->done, __ATOMIC_ACQUIRE) != job; spins++) {
        cpu_pause();
        if (spins > SPINS)
            sched_yield();
    }
}

void lpz_pair_destroy(lpz_pair *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->quit = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}
