/* core/report/report_internal.h - what the report reads from a run folder
 * (run_data.c) and renders (html.c). Not part of any public API. */
#ifndef LPZ_REPORT_INTERNAL_H
#define LPZ_REPORT_INTERNAL_H

#include <lpz/error.h>
#include <stddef.h>

/* The largest grid lpz trains is 64 x 64 (lpz train --grid). */
#define RP_MAX_CELLS 4096
#define RP_MAX_ITERATION 100000000
#define RP_MAX_NOTICES 12

/* Per-row values of metrics.csv that are drawn as curves, in page order. */
enum {
    RP_G_LOSS,
    RP_D_LOSS,
    RP_G_FITNESS,
    RP_D_FITNESS,
    RP_G_LR,
    RP_D_LR,
    RP_SCORE,
    RP_SECONDS,
    RP_NVALUES
};
extern const char *const rp_value_names[RP_NVALUES];  /* CSV column names */
extern const char *const rp_value_titles[RP_NVALUES]; /* chart titles */

/* One row of metrics.csv; NaN for an empty or missing value. */
typedef struct rp_row {
    int iteration, cell, line;
    double v[RP_NVALUES];
    const char *mix; /* the mixture_weights field inside rp_run.metrics, not NUL-terminated */
    size_t mix_len;
} rp_row;

typedef struct rp_weight {
    int cell;          /* neighbour cell the generator came from; -1 when unknown */
    char name[128];    /* the generator file (mixture.yml) or "cell N" (metrics) */
    double weight;
} rp_weight;

typedef struct rp_cell {
    int *rows; /* indices into rp_run.rows, sorted by iteration, one per iteration */
    int n_rows, cap_rows;
    char sample[4096]; /* latest samples file, "" when none */
    int sample_iteration;
    /* The samples file as read and checked once by rp_run_load: its bytes
     * (NUL-terminated) and *mime ("image/png", "image/jpeg", NULL for text),
     * or why it is not shown (also a notice); both NULL when there is none. */
    char *sample_data;
    size_t sample_size;
    const char *sample_mime;
    char *sample_problem;
    rp_weight *weights; /* mixture weights (final from mixture.yml, else latest row) */
    int n_weights;
    int weights_final;    /* 1: from master/<c>/mixture.yml */
    int weights_iteration; /* iteration of the row they came from (when not final) */
    /* final_scores.csv (master.calculate_score): the cell's row when it is
     * of the cell's latest iteration in metrics.csv (a row of an earlier
     * one scored mixtures the cell has since replaced); final_fid NaN while
     * it is not scored. */
    int final_row;
    double final_fid;
    int final_samples;
} rp_cell;

typedef struct rp_run {
    const char *dir;
    char *metrics; /* whole metrics.csv, NUL-terminated; rows point into it */
    int has_metrics;
    char metrics_problem[64]; /* why metrics.csv gave no header ("is empty", ...), "" when it did */
    int has_value[RP_NVALUES]; /* column present and holding a finite value */
    rp_row *rows;
    int n_rows, cap_rows;
    int max_iteration; /* 0 when no rows */
    char *config;      /* config.yml text (secrets hidden), NULL when absent or unreadable */
    int config_unreadable; /* config.yml is there but could not be read (a notice says why) */
    int config_parsed; /* config.yml read by the config parser */
    int grid_k_config; /* general.grid_size (resolved), 0 when unknown */
    int n_iterations;  /* trainer.n_iterations, 0 when unknown */
    char trainer[64], dataset[128], network[128];
    int n_cells, grid_k;
    rp_cell *cells;
    int best_cell;          /* -1 when no cell has metrics */
    int best_by_score;      /* 1: best score, 0: lowest g_fitness */
    int score_higher;       /* the score column holds inception scores (config.yml): the highest is best */
    int best_by_final;      /* 1: lowest final FID (final_complete), as `lpz train`'s summary names it */
    double best_value;
    int has_final;      /* final_scores.csv read (with its header) */
    int final_rows;     /* cells with a row of their latest iteration */
    int final_scored;   /* of those, cells with a final FID */
    int final_due;      /* cells with a final mixture (master/<c>/mixture.yml), each due a final FID */
    int final_stale;    /* rows of an earlier iteration of their cell (the cells trained on since) */
    int final_complete; /* every cell due a final FID has one, no row is stale: the best is the lowest */
    int finished;
    char notices[RP_MAX_NOTICES][600];
    int n_notices, n_more_notices;
} rp_run;

/* Reads `path`, the file `name` of the run folder (as the page names it,
 * e.g. "metrics.csv"), only when it is a regular file: its type is checked
 * before opening (a symbolic link's target, not the link) and again on the
 * opened descriptor, which is opened non-blocking, so a FIFO, device or
 * folder is never read. Reads at most max_size bytes into a malloc'd buffer
 * with a NUL byte appended (not counted in *size). Returns RP_READ_OK,
 * RP_READ_MISSING (nothing at path, not even a dangling link) or
 * RP_READ_BAD with `msg` saying what is wrong, starting with `name`. */
enum { RP_READ_OK, RP_READ_MISSING, RP_READ_BAD };
int rp_read_file(const char *path, const char *name, size_t max_size, char **data, size_t *size, char *msg,
                 size_t msg_size);

/* Reads everything of run_dir; on failure rp_run_free is still needed. */
int rp_run_load(rp_run *run, const char *run_dir, lpz_error *err);
void rp_run_free(rp_run *run);
/* Adds a problem to show on the page (printf format). */
void rp_notice(rp_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the page to path (atomically). */
int rp_render(const rp_run *run, const char *path, lpz_error *err);

#endif
