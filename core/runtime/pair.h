/* core/runtime/pair.h - one helper thread that runs the second half of a
 * job while the calling thread runs the first (core-internal).
 *
 * For a data-parallel training step of a single cell on a machine with a
 * spare core: lpz_pair_run(p, fn, arg) calls fn(arg, 1) on the helper and
 * fn(arg, 0) on the caller and returns when both have returned. Jobs come
 * about every millisecond during training, so both sides spin briefly
 * before sleeping (a futex wake-up per job would cost tens of
 * microseconds); between training phases (fitness, FID) the helper
 * sleeps on a condition variable and uses no CPU. When the helper has not
 * started a part by the time the caller finished its own, the caller runs
 * it too: on a machine busy with other work a job never waits for the
 * helper to be scheduled (fn must not care which thread runs a part).
 */
#ifndef LPZ_CORE_RUNTIME_PAIR_H
#define LPZ_CORE_RUNTIME_PAIR_H

#include <lpz/error.h>

typedef struct lpz_pair lpz_pair;

int lpz_pair_create(lpz_pair **out, lpz_error *err);
void lpz_pair_run(lpz_pair *p, void (*fn)(void *arg, int part), void *arg);
/* Stops and joins the helper; NULL is fine. */
void lpz_pair_destroy(lpz_pair *p);

#endif
