/* core/base/liblpz.c - the one source file of liblpz.so itself; the
 * library's content comes whole from the per-folder static libraries. */
#include <lpz/embed.h>

const char *lpz_version(void)
{
    return LPZ_VERSION;
}
