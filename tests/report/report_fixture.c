/* tests/report/report_fixture.c - `report_fixture DIR [running]`: writes a
 * synthetic finished (or running) 2x2 run with scores for the script
 * tests (Chromium rendering, the CLI). */
#include "fixture.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: report_fixture DIR [running]\n");
        return 2;
    }
    int running = argc > 2 && strcmp(argv[2], "running") == 0;
    fixture_opts o = {2, 4, 1, !running, running};
    if (fixture_write(argv[1], &o)) {
        fprintf(stderr, "report_fixture: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
