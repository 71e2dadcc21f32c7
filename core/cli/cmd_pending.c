/* core/cli/cmd_pending.c - commands whose implementation has not landed
 * yet. They refuse clearly instead of pretending to work. */
#include "cli/commands.h"

#include <stdio.h>

static int pending(const char *name)
{
    fprintf(stderr, "lpz: error: 'lpz %s' is not available in this version of lpz yet "
                    "(see docs/ and the project's issues for its status)\n", name);
    return 1;
}

int lpz_cmd_generate(const lpz_cli_args *args)
{
    (void)args;
    return pending("generate");
}

int lpz_cmd_score(const lpz_cli_args *args)
{
    (void)args;
    return pending("score");
}
