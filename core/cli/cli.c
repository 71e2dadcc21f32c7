/* core/cli/cli.c - the lpz command line (temporary skeleton). */
#include <lpz/embed.h>
#include <lpz/error.h>

#include <stdio.h>
#include <string.h>

int lpz_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("lpz %s\n", LPZ_VERSION);
        return 0;
    }
    fprintf(stderr, "usage: lpz <command> [options]\n");
    return 2;
}
