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
    int problems = 0;
    if (lpz_report_write_counted(dir, LPZ_REPORT_AUTO, &problems, &err) != LPZ_OK) {
        lpz_cli_print_error(&err);
        return 1;
    }
    if (!args->quiet)
        printf("report: %s/report.html\n", dir);
    if (problems) /* on stderr, also with -q: the page is written, but parts of the run are damaged */
        fprintf(stderr, "lpz: warning: the page lists %d problem%s found while reading the run (its section "
                        "'Problems found while reading the run')\n", problems, problems == 1 ? "" : "s");
    return 0;
}
