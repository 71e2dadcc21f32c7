/* core/cli/main.c - the lpz executable: the command line lives in liblpz;
 * the executable adds what a crash says (cli/crash.c). */
#include "cli/crash.h"

#include <lpz/embed.h>

int main(int argc, char **argv)
{
    lpz_crash_install();
    return lpz_main(argc, argv);
}
