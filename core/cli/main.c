/* core/cli/main.c - the lpz executable: the command line lives in liblpz. */
#include <lpz/embed.h>

int main(int argc, char **argv)
{
    return lpz_main(argc, argv);
}
