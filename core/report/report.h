/* core/report/report.h - the run report: <run_dir>/report.html.
 *
 * Owns: reading what a run leaves in its result folder (metrics.csv,
 * config.yml, samples/cell-<c>/iteration-<NNNN>.<ext>, master/<c>/mixture.yml,
 * final_scores.csv) and writing one self-contained HTML page from it: the
 * grid as a picture with each cell's latest samples (best cell
 * highlighted), curves per cell over iterations as inline SVG, the mixture
 * weights, the best cell and the configuration. With final_scores.csv
 * (master.calculate_score) of the cells' latest iteration, each cell shows
 * its final FID and sample count, and once every cell with a final
 * mixture has one, the best cell is the lowest final FID, as `lpz train`'s
 * summary names it; else the best cell is the lowest score of each cell's
 * latest metrics row (the lowest generator fitness without scores). No
 * JavaScript, no network: images are data: URIs and a
 * Content-Security-Policy forbids every fetch.
 * Calls: config (to read config.yml), io (atomic writes, whole-file reads),
 * base (errors). Called by the CLI (`lpz report`), the trainer (after
 * every grid iteration and at the end) and the local run (again after the
 * final scoring).
 *
 * Cost: one call reads metrics.csv, config.yml, one sample file per cell
 * and the mixture files, and writes the page (for the 2x2 quick start about
 * 250 KB in a few milliseconds). It keeps no state between calls; calls for
 * one run folder must come from one thread at a time (they share the
 * temporary-file protocol of core/io, so a reader never sees half a page).
 *
 * Stable markers for tests and scripts (attributes of the page):
 *   <main data-cells="N" data-grid="K" data-best-cell="B" data-state="running|finished">
 *   <div class="cell" data-cell="c" ...>      one per grid cell (class "cell best" for the best;
 *                                              data-final-fid="v" with a final FID, %.17g)
 *   <polyline class="curve" data-metric="g_loss" data-cell="c">  one per cell and metric
 *   <figure class="chart" data-metric="...">  one per metric with data
 *   <table class="mixture" data-cell="c">      mixture weights of cell c
 *   <pre class="config">                        the configuration, HTML-escaped
 */
#ifndef LPZ_REPORT_REPORT_H
#define LPZ_REPORT_REPORT_H

#include <lpz/error.h>

/* Whether the run is still going: a running run's page reloads itself
 * every 10 seconds (<meta http-equiv="refresh">). */
typedef enum lpz_report_state {
    LPZ_REPORT_AUTO = -1,    /* finished when every cell has master/<c>/mixture.yml */
    LPZ_REPORT_RUNNING = 0,
    LPZ_REPORT_FINISHED = 1
} lpz_report_state;

/* Writes <run_dir>/report.html atomically. `state` is an lpz_report_state.
 * Fails (LPZ_ENOTFOUND) for a folder that holds neither metrics.csv nor
 * config.yml, and (LPZ_EFORMAT) for a metrics.csv whose header lacks the
 * iteration and cell columns. Smaller problems do not fail: they are
 * listed on the page, naming file and line: a malformed row; a metrics.csv
 * that is missing, empty or cut inside its header (the status line then
 * says the number of iterations is not known); a samples file that is
 * empty, a damaged or cut-short PNG or JPEG (not embedded), or neither an
 * image nor text; an empty or bad mixture.yml; any of these files that is
 * not a regular file. A FIFO, device or folder in their place (also behind
 * a symbolic link) is never read. A last line without its newline (a row
 * being written) is left out silently. */
int lpz_report_write_ex(const char *run_dir, int state, lpz_error *err);

/* lpz_report_write_ex; *problems (when not NULL) receives how many
 * problems the page lists (0 when it fails). */
int lpz_report_write_counted(const char *run_dir, int state, int *problems, lpz_error *err);

/* lpz_report_write_ex(run_dir, LPZ_REPORT_AUTO, err). */
int lpz_report_write(const char *run_dir, lpz_error *err);

#endif
