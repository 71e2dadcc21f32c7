/* core/cli/crash.h - the lpz executable's last words on a fatal signal. */
#ifndef LPZ_CLI_CRASH_H
#define LPZ_CLI_CRASH_H

/* Installs handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that
 * name the signal, the file and function of the fault (a plugin's .so said
 * to be the likely culprit) and print a backtrace, then die of the signal
 * as before. Nothing under AddressSanitizer. */
void lpz_crash_install(void);

#endif
