/* core/cli/cmd_report.c - `lpz report RUN_DIR`: (re)writes the run's
 * report.html from what the folder holds (core/report). */
#include "cli/commands.h"
#include "report/report.h"

#include <stdio.h>

int lpz_cmd_report(const lpz_cli_args *args)
{
    if (args->n_positional != 1) {
        fprintf(stderr, "lpz: error: 'lpz report' needs the run folder: lpz report RUN_DIR "
                        "(the folder 'lpz train' printed after 'results:')\n");
        return 2;
    }
    const char *dir = args->positional[0];
    lpz_error err;
    lpz_error_clear(&err);
    if (lpz_report_write(dir, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        return 1;
    }
    if (!args->quiet)
        printf("report: %s/report.html\n", dir);
    return 0;
}
