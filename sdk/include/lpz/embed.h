/* lpz/embed.h - running lpz from another program.
 *
 * The `lpz` executable is `return lpz_main(argc, argv);` after installing
 * its crash report (what a fatal signal says): the whole command line lives
 * in liblpz, so a program (or a test harness) can run any lpz command
 * in-process.
 */
#ifndef LPZ_EMBED_H
#define LPZ_EMBED_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runs the lpz command line with these arguments (argv[0] is the program
 * name; it is used to find the plugins of a build tree). Returns the exit
 * status: 0 success, 1 failure, 2 usage error. */
LPZ_API int lpz_main(int argc, char **argv);

/* The version of the liblpz that is running ("0.1.0"), against LPZ_VERSION,
 * the version of the headers a program or plugin was compiled with. */
LPZ_API const char *lpz_version(void);

#ifdef __cplusplus
}
#endif
#endif
