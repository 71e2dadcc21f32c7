/* tests/report/fixture.h - writes a synthetic run folder shaped like the
 * trainer's (config.yml, metrics.csv, samples/cell-<c>/iteration-<NNNN>.png,
 * master/<c>/mixture.yml) with known values, for the report tests. */
#ifndef LPZ_TESTS_REPORT_FIXTURE_H
#define LPZ_TESTS_REPORT_FIXTURE_H

typedef struct fixture_opts {
    int k;             /* grid side: k x k cells */
    int iterations;    /* rows per cell in metrics.csv, samples per cell */
    int with_score;    /* fill the score column (else empty, as without FID) */
    int with_mixtures; /* write master/<c>/mixture.yml (a finished run) */
    int partial_row;   /* end metrics.csv with a row lacking its newline */
} fixture_opts;

/* The cell with the lowest score (with_score) or lowest g_fitness in the
 * last iteration: the report must call it the best. */
#define FIXTURE_BEST_CELL 2
/* A secret in config.yml that the report must not show. */
#define FIXTURE_SECRET "s3cr3t-token-42"

/* Creates dir (and parents) and fills it; returns 0 on success. */
int fixture_write(const char *dir, const fixture_opts *o);

#endif
