/* tests/common/hang_guard.h - turns a hang into a failure: what a test
 * expects to return at once (a FIFO refused, not waited on) runs between
 * lpz_test_hang_guard(seconds) and lpz_test_hang_guard(0); past the
 * seconds the test process says so and exits 1. */
#ifndef LPZ_TEST_HANG_GUARD_H
#define LPZ_TEST_HANG_GUARD_H

#include <signal.h>
#include <unistd.h>

static void lpz_test_on_hang(int sig)
{
    (void)sig;
    static const char msg[] = "a call that should have returned at once blocked (hang guard)\n";
    if (write(2, msg, sizeof msg - 1) < 0)
        _exit(2);
    _exit(1);
}

static inline void lpz_test_hang_guard(unsigned seconds)
{
    signal(SIGALRM, lpz_test_on_hang);
    alarm(seconds);
}

#endif
