/* core/cli/crash.c - what the lpz executable says when it dies of a fatal
 * signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT): the signal, the file
 * and function the fault is in (a plugin's .so, named as such: most such
 * crashes are a plugin's bug, a NULL state or a write past a buffer), and a
 * backtrace; then the signal's default action (exit status 128 + signal, a
 * core dump where enabled). A plugin that crashed killed lpz without a word.
 *
 * Only the executable installs it (an application embedding liblpz keeps its
 * own handlers), and not under AddressSanitizer, whose report says more.
 * The handler formats with snprintf and calls dladdr and backtrace, which
 * are not async-signal-safe: acceptable on the way out of a process that is
 * already broken; backtrace is called once at install so that it does not
 * load libgcc inside the handler. The handler runs on an alternate stack,
 * this one in the main thread, one of its own in each thread liblpz starts
 * (base/thread.c), so a stack overflow is reported too. */
#include "cli/crash.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define LPZ_CRASH_HANDLER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LPZ_CRASH_HANDLER 0
#endif
#endif
#ifndef LPZ_CRASH_HANDLER
#define LPZ_CRASH_HANDLER 1
#endif

#if LPZ_CRASH_HANDLER
static const void *lpz_bases[2]; /* load addresses of the executable and of liblpz */
static char alt_stack[65536];     /* the main thread's handler runs here after a stack overflow */

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w, n -= (size_t)w;
    }
}

static const char *signal_words(int sig)
{
    switch (sig) {
    case SIGSEGV: return "segmentation fault (SIGSEGV)";
    case SIGBUS: return "bus error (SIGBUS)";
    case SIGFPE: return "arithmetic exception (SIGFPE)";
    case SIGILL: return "illegal instruction (SIGILL)";
    case SIGABRT: return "abort (SIGABRT)";
    default: return "fatal signal";
    }
}

/* A library of the system (libc, OpenBLAS, ...): a fault there is usually
 * its caller's (a NULL pointer given to memcpy), so the headline names the
 * first caller outside them. */
static int system_object(const Dl_info *d)
{
    const char *path = d->dli_fname;
    if (d->dli_fbase == lpz_bases[0] || d->dli_fbase == lpz_bases[1]) /* lpz installed under /usr/lib */
        return 0;
    return path && (!strncmp(path, "/lib/", 5) || !strncmp(path, "/usr/lib/", 9) || !strncmp(path, "/lib64/", 7)) &&
           !strstr(path, "/lpz/");
}

static void on_fatal(int sig, siginfo_t *si, void *ucv)
{
    const void *pc = NULL;
#if defined(__x86_64__)
    pc = (const void *)((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    pc = (const void *)((ucontext_t *)ucv)->uc_mcontext.pc;
#else
    (void)ucv;
#endif
    void *frames[48];
    int n = backtrace(frames, 48);
    /* the headline's place: the faulting instruction, or its first caller outside the system's libraries */
    Dl_info where = {0};
    int found = pc && dladdr(pc, &where) && where.dli_fname;
    if (!found || system_object(&where)) {
        int past_handler = 0;
        for (int i = 0; i < n; i++) {
            Dl_info d = {0};
            if (!dladdr(frames[i], &d) || !d.dli_fname)
                continue;
            if (!past_handler) { /* the frames of this handler and the kernel's trampoline come first */
                past_handler = d.dli_sname && !strcmp(d.dli_sname, "__restore_rt");
                if (!past_handler && system_object(&d))
                    past_handler = 1; /* no named trampoline: take the first system frame as the fault's */
                continue;
            }
            if (!system_object(&d)) {
                where = d;
                pc = frames[i];
                found = 1;
                break;
            }
        }
    }
    char line[1400];
    char addr[64] = "";
    if (sig == SIGSEGV || sig == SIGBUS)
        snprintf(addr, sizeof addr, " at address %p", si ? si->si_addr : NULL);
    if (found) {
        char fn[300] = "";
        if (where.dli_sname)
            snprintf(fn, sizeof fn, " in %s+0x%lx", where.dli_sname,
                     (unsigned long)((uintptr_t)pc - (uintptr_t)where.dli_saddr));
        else
            snprintf(fn, sizeof fn, " at offset 0x%lx", (unsigned long)((uintptr_t)pc - (uintptr_t)where.dli_fbase));
        snprintf(line, sizeof line, "\nlpz: fatal: %s%s%s of %s\n", signal_words(sig), addr, fn, where.dli_fname);
        say(line);
        if (where.dli_fbase == lpz_bases[0] || where.dli_fbase == lpz_bases[1])
            say("lpz: this is a bug in lpz: please report it with the command, the run file and this output\n");
        else {
            snprintf(line, sizeof line,
                     "lpz: most likely a bug in %s (a plugin, or a library it calls), not in lpz: run it under gdb "
                     "(gdb --args lpz ...) or build it with -fsanitize=address (docs/sdk.md)\n",
                     where.dli_fname);
            say(line);
        }
    } else {
        snprintf(line, sizeof line, "\nlpz: fatal: %s%s\n", signal_words(sig), addr);
        say(line);
    }
    say("lpz: backtrace:\n");
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

void lpz_crash_install(void)
{
#if LPZ_CRASH_HANDLER
    Dl_info d;
    if (dladdr((const void *)lpz_crash_install, &d))
        lpz_bases[0] = d.dli_fbase;
    void *lib = dlopen(NULL, RTLD_NOW);
    void *sym = lib ? dlsym(lib, "lpz_main") : NULL;
    if (sym && dladdr(sym, &d))
        lpz_bases[1] = d.dli_fbase;
    void *warm[2];
    backtrace(warm, 2); /* loads libgcc now, not inside the handler */
    stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) /* one report: another fatal signal waits */
        sigaddset(&sa.sa_mask, sigs[i]);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
#endif
}
