/* core/report/html.c - renders a loaded run (run_data.c) as one HTML page.
 *
 * Self-contained on purpose: no JavaScript, no fonts, no external files;
 * images are base64 data: URIs and the page's Content-Security-Policy
 * blocks every fetch, so it can be mailed or opened from a copied folder.
 * Curves are inline SVG polylines in a fixed 600 x 230 viewBox, x =
 * iteration, y = value on a linear scale between the metric's minimum and
 * maximum over all cells. */
#include "report/report.h"
#include "report/report_internal.h"

#include "io/fsutil.h"

#include <lpz/common.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_POINTS 600 /* per curve; longer runs are thinned evenly (last point kept) */

/* Chart geometry in SVG user units. */
#define CH_W 600.0
#define CH_H 230.0
#define CH_L 64.0
#define CH_R 12.0
#define CH_T 10.0
#define CH_B 30.0

static void esc(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t')
                fputs("\xef\xbf\xbd", f); /* U+FFFD for control bytes */
            else
                fputc(s[i], f);
        }
    }
}

static void esc_str(FILE *f, const char *s)
{
    esc(f, s, strlen(s));
}

/* A distinct colour per cell: a 10-colour palette, then golden-angle hues. */
static void cell_colour(int cell, char *out, size_t size)
{
    static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    if (cell < 10)
        snprintf(out, size, "%s", palette[cell]);
    else
        snprintf(out, size, "hsl(%d,65%%,42%%)", (int)fmod(cell * 137.508, 360.0));
}

static void base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        buf[k++] = tab[(v >> 18) & 63];
        buf[k++] = tab[(v >> 12) & 63];
        buf[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        buf[k++] = i + 2 < n ? tab[v & 63] : '=';
        if (k + 4 > sizeof buf) {
            fwrite(buf, 1, k, f);
            k = 0;
        }
    }
    fwrite(buf, 1, k, f);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The latest samples of a cell: an image, a text excerpt, or why not (the
 * same problem is listed at the top of the page). */
static void write_samples(FILE *f, const rp_run *run, int cell)
{
    const rp_cell *c = &run->cells[cell];
    if (!c->sample[0]) {
        fputs("<p class=\"empty\">no samples yet</p>\n", f);
        return;
    }
    const char *data = c->sample_data, *mime = c->sample_mime;
    size_t size = c->sample_size;
    if (!data) {
        fputs("<p class=\"empty\">", f);
        esc_str(f, c->sample_problem ? c->sample_problem : "samples could not be read (out of memory)");
        fputs("</p>\n", f);
        return;
    }
    if (mime) {
        fprintf(f, "<img class=\"samples\" alt=\"samples of cell %d after iteration %d\" src=\"data:%s;base64,",
                cell, c->sample_iteration, mime);
        base64(f, (const unsigned char *)data, size);
        fputs("\">\n", f);
    } else {
        /* Text samples (a plugin's CSV of sequences): the first lines. */
        size_t n = 0;
        int lines = 0;
        while (n < size && n < 2000 && lines < 12)
            if (data[n++] == '\n')
                lines++;
        fputs("<pre class=\"samples-text\">", f);
        esc(f, data, n);
        fprintf(f, "%s</pre>\n", n < size ? "\n..." : "");
    }
}

static const rp_row *latest_row(const rp_run *run, int cell)
{
    const rp_cell *c = &run->cells[cell];
    return c->n_rows ? &run->rows[c->rows[c->n_rows - 1]] : NULL;
}

static void write_grid(FILE *f, const rp_run *run)
{
    fprintf(f, "<section id=\"grid\"><h2>Grid (%d x %d)</h2>\n", run->grid_k, run->grid_k);
    fputs("<p class=\"note\">Each tile shows the latest samples of the cell's best generator. Cells are "
          "numbered row by row; the torus wraps at the edges.</p>\n",
          f);
    /* Tiles at most 340 px wide: sample grids stay legible without filling a wide screen. */
    fprintf(f, "<div class=\"grid\" style=\"grid-template-columns:repeat(%d,minmax(0,1fr));max-width:%dpx\">\n",
            run->grid_k, 340 * run->grid_k);
    for (int i = 0; i < run->n_cells; i++) {
        char colour[32];
        cell_colour(i, colour, sizeof colour);
        int best = i == run->best_cell;
        const rp_cell *cell = &run->cells[i];
        int final = cell->final_row && !isnan(cell->final_fid);
        fprintf(f, "<div class=\"cell%s\" data-cell=\"%d\" data-row=\"%d\" data-col=\"%d\"", best ? " best" : "",
                i, i / run->grid_k, i % run->grid_k);
        if (final) /* as final_scores.csv holds it, to the last bit */
            fprintf(f, " data-final-fid=\"%.17g\"", cell->final_fid);
        fputs(">\n", f);
        fprintf(f, "<div class=\"cell-head\"><span class=\"swatch\" style=\"background:%s\"></span>cell %d "
                   "<span class=\"pos\">(row %d, column %d)</span>%s</div>\n",
                colour, i, i / run->grid_k, i % run->grid_k, best ? " <strong class=\"badge\">best</strong>" : "");
        write_samples(f, run, i);
        const rp_row *r = latest_row(run, i);
        if (r) {
            fprintf(f, "<p class=\"cell-stats\">iteration %d &middot; G fitness %.4g &middot; D fitness %.4g",
                    r->iteration, r->v[RP_G_FITNESS], r->v[RP_D_FITNESS]);
            if (isfinite(r->v[RP_SCORE]))
                fprintf(f, " &middot; score %.4g", r->v[RP_SCORE]);
            if (final)
                fprintf(f, " &middot; <span class=\"final-fid\">final FID %.4f (%d samples)</span>", cell->final_fid,
                        cell->final_samples);
            fputs("</p>\n", f);
        } else {
            fputs("<p class=\"cell-stats\">no metrics yet</p>\n", f);
        }
        fputs("</div>\n", f);
    }
    fputs("</div></section>\n", f);
}

static void write_chart(FILE *f, const rp_run *run, int m)
{
    double lo = INFINITY, hi = -INFINITY;
    int it_lo = RP_MAX_ITERATION, it_hi = 0;
    for (int i = 0; i < run->n_rows; i++) {
        double v = run->rows[i].v[m];
        if (!isfinite(v))
            continue;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        int it = run->rows[i].iteration;
        it_lo = it < it_lo ? it : it_lo;
        it_hi = it > it_hi ? it : it_hi;
    }
    if (!(lo <= hi))
        return;
    if (hi - lo < 1e-12 * (fabs(hi) + fabs(lo)) || hi == lo) {
        double pad = fabs(hi) > 0 ? fabs(hi) * 0.05 : 1.0;
        lo -= pad;
        hi += pad;
    }
    double pw = CH_W - CH_L - CH_R, ph = CH_H - CH_T - CH_B;
    double xspan = it_hi > it_lo ? (double)(it_hi - it_lo) : 1.0;
#define X(it) (CH_L + (it_hi > it_lo ? ((it) - it_lo) / xspan * pw : pw / 2))
#define Y(v) (CH_T + (1.0 - ((v) - lo) / (hi - lo)) * ph)
    const char *title = m == RP_SCORE && run->score_higher ? "score (inception score, higher is better)"
                                                            : rp_value_titles[m];
    fprintf(f, "<figure class=\"chart\" data-metric=\"%s\"><figcaption>%s <code>%s</code></figcaption>\n",
            rp_value_names[m], title, rp_value_names[m]);
    fprintf(f, "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s per iteration and cell\">\n", CH_W, CH_H,
            title);
    for (int t = 0; t <= 2; t++) {
        double v = lo + (hi - lo) * t / 2.0, y = Y(v);
        fprintf(f, "<line class=\"gridline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                   "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
                CH_L, y, CH_W - CH_R, y, CH_L - 4, y + 4, v);
    }
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\">%d</text>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d</text>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">iteration</text>\n",
            CH_L, CH_H - 8, it_lo, CH_W - CH_R, CH_H - 8, it_hi, CH_L + pw / 2, CH_H - 8);
    for (int c = 0; c < run->n_cells; c++) {
        const rp_cell *cell = &run->cells[c];
        int n = 0;
        for (int j = 0; j < cell->n_rows; j++)
            n += isfinite(run->rows[cell->rows[j]].v[m]);
        if (!n)
            continue;
        int stride = (n + MAX_POINTS - 1) / MAX_POINTS, k = 0;
        char colour[32];
        cell_colour(c, colour, sizeof colour);
        fprintf(f, "<polyline class=\"curve%s\" data-metric=\"%s\" data-cell=\"%d\" stroke=\"%s\" points=\"",
                c == run->best_cell ? " best" : "", rp_value_names[m], c, colour);
        double lx = 0, ly = 0;
        for (int j = 0; j < cell->n_rows; j++) {
            const rp_row *r = &run->rows[cell->rows[j]];
            if (!isfinite(r->v[m]))
                continue;
            int last = ++k == n;
            if ((k - 1) % stride && !last)
                continue;
            lx = X(r->iteration);
            ly = Y(r->v[m]);
            fprintf(f, "%.1f,%.1f ", lx, ly);
        }
        fputs("\"><title>cell ", f);
        fprintf(f, "%d</title></polyline>\n", c);
        if (n == 1) /* a single point draws no line */
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", lx, ly, colour);
    }
#undef X
#undef Y
    fputs("</svg></figure>\n", f);
}

static void write_curves(FILE *f, const rp_run *run)
{
    fputs("<section id=\"curves\"><h2>Curves per cell</h2>\n", f);
    if (!run->n_rows) {
        fputs("<p class=\"empty\">no finished iteration yet</p></section>\n", f);
        return;
    }
    fputs("<p class=\"legend\">", f);
    for (int c = 0; c < run->n_cells; c++) {
        char colour[32];
        cell_colour(c, colour, sizeof colour);
        fprintf(f, "<span class=\"key\"><span class=\"swatch\" style=\"background:%s\"></span>cell %d%s</span> ",
                colour, c, c == run->best_cell ? " (best)" : "");
    }
    fputs("</p>\n<div class=\"charts\">\n", f);
    for (int m = 0; m < RP_NVALUES; m++)
        if (run->has_value[m])
            write_chart(f, run, m);
    fputs("</div></section>\n", f);
}

static void write_mixtures(FILE *f, const rp_run *run)
{
    fputs("<section id=\"mixtures\"><h2>Mixture weights</h2>\n<p class=\"note\">Each cell's final model is a "
          "mixture of the generators of its neighbourhood; the weights are the probabilities of drawing a sample "
          "from each.</p>\n<div class=\"mixtures\">\n",
          f);
    for (int i = 0; i < run->n_cells; i++) {
        const rp_cell *c = &run->cells[i];
        if (!c->n_weights) {
            fprintf(f, "<p class=\"empty\" data-cell=\"%d\">cell %d: no mixture weights yet</p>\n", i, i);
            continue;
        }
        fprintf(f, "<table class=\"mixture%s\" data-cell=\"%d\"><caption>cell %d &mdash; ",
                i == run->best_cell ? " best" : "", i, i);
        if (c->weights_final)
            fprintf(f, "final (master/%d/mixture.yml)", i);
        else
            fprintf(f, "after iteration %d", c->weights_iteration);
        fputs("</caption>\n<tr><th>generator</th><th>from cell</th><th>weight</th><th></th></tr>\n", f);
        for (int j = 0; j < c->n_weights; j++) {
            const rp_weight *w = &c->weights[j];
            fputs("<tr><td>", f);
            esc_str(f, w->name);
            if (w->cell >= 0)
                fprintf(f, "</td><td>%d", w->cell);
            else
                fputs("</td><td>?", f);
            double pct = w->weight * 100.0;
            pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
            fprintf(f, "</td><td>%.4f</td><td class=\"barcell\"><span class=\"bar\" style=\"width:%.1f%%\"></span>"
                       "</td></tr>\n",
                    w->weight, pct);
        }
        fputs("</table>\n", f);
    }
    fputs("</div></section>\n", f);
}

/* The summary's line on master.calculate_score's final scores
 * (final_scores.csv), none without the file. */
static void write_final_summary(FILE *f, const rp_run *run)
{
    if (!run->has_final)
        return;
    fputs("<dt>final scoring</dt><dd class=\"final-scoring\">", f);
    if (run->final_complete)
        fprintf(f, "every cell's final mixture scored (FID, lower is better; final_scores.csv)");
    else if (!run->final_rows && run->final_stale)
        fputs("final_scores.csv holds the scores of earlier mixtures (the cells trained on since): not shown", f);
    else
        fprintf(f, "incomplete: %d of %d cells scored (final_scores.csv; <code>lpz train --resume</code> scores the "
                   "others); the best cell is named by the last iteration",
                run->final_scored, run->final_due ? run->final_due : run->n_cells);
    fputs("</dd>", f);
}

static const char style[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}"
    "main{max-width:1280px;margin:0 auto;padding:16px 24px}"
    "h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #d0d4da}"
    "section{margin-bottom:8px}.note{color:#555;margin:4px 0 10px}"
    "dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}"
    "dl.summary dt{color:#555}dl.summary dd{margin:0}"
    ".status.running{color:#8a5a00}.status.finished{color:#146c2e}"
    ".notices{background:#fff4e5;border:1px solid #f0c36d;padding:4px 14px}"
    ".grid{display:grid;gap:10px}"
    ".cell{background:#fff;border:2px solid #d0d4da;border-radius:6px;padding:6px;min-width:0}"
    ".cell.best{border-color:#d4a000;box-shadow:0 0 0 3px #ffe28a}"
    ".cell-head{font-weight:600;margin-bottom:4px}.pos{font-weight:400;color:#666}"
    ".badge{background:#d4a000;color:#fff;border-radius:3px;padding:0 6px;font-size:12px}"
    ".samples{width:100%;height:auto;image-rendering:pixelated;display:block;background:#000}"
    ".samples-text{font-size:11px;overflow:auto;max-height:220px;background:#f0f0f0;margin:0}"
    ".cell-stats{font-size:12px;color:#444;margin:4px 0 0}.empty{color:#777;font-style:italic}"
    ".final-fid{font-weight:600}"
    ".swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}"
    ".legend .key{margin-right:12px;white-space:nowrap}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:12px}"
    ".chart{background:#fff;border:1px solid #d0d4da;border-radius:6px;margin:0;padding:6px}"
    ".chart figcaption{font-weight:600;margin-bottom:2px}.chart svg{width:100%;height:auto;display:block}"
    ".curve{fill:none;stroke-width:1.6;stroke-linejoin:round}.curve.best{stroke-width:3}"
    ".gridline{stroke:#e3e6ea;stroke-width:1}.tick{font-size:11px;fill:#555}"
    ".mixtures{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}"
    "table.mixture{background:#fff;border:1px solid #d0d4da;border-collapse:collapse;width:100%}"
    "table.mixture.best{border:2px solid #d4a000}"
    "table.mixture caption{text-align:left;font-weight:600;padding:2px 0}"
    "table.mixture td,table.mixture th{padding:2px 6px;text-align:left;border-top:1px solid #eceef1}"
    ".barcell{width:35%}.bar{display:block;height:10px;background:#4a7fc1;border-radius:2px}"
    "pre.config{background:#fff;border:1px solid #d0d4da;padding:10px;overflow:auto;font-size:12px}"
    "footer{color:#777;font-size:12px;margin:24px 0}";

int rp_render(const rp_run *run, const char *path, lpz_error *err)
{
    lpz_atomic_file af;
    int rc = lpz_atomic_open(&af, path, err);
    if (rc)
        return rc;
    FILE *f = af.fp;
    char name[512];
    snprintf(name, sizeof name, "%s", run->dir);
    size_t nl = strlen(name);
    while (nl > 1 && name[nl - 1] == '/')
        name[--nl] = '\0';
    const char *title = base_name(name);

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'\">\n",
          f);
    if (!run->finished)
        fputs("<meta http-equiv=\"refresh\" content=\"10\">\n", f);
    fprintf(f, "<meta name=\"generator\" content=\"lpz %s\">\n<title>lpz run ", LPZ_VERSION);
    esc_str(f, title);
    fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n", style);
    /* Done (every final mixture there, or the trainer says so) before trainer.n_iterations, by the cell furthest
     * behind: a Ctrl-C, which writes the mixtures too (it said "Finished after 23 iterations" of 40), and in the
     * last iteration the rows of the cells that finished it */
    int least = run->n_cells > 0 ? run->max_iteration : 0;
    for (int i = 0; i < run->n_cells; i++) {
        const rp_cell *c = &run->cells[i];
        int last = c->n_rows ? run->rows[c->rows[c->n_rows - 1]].iteration : 0;
        least = last < least ? last : least;
    }
    int stopped = run->finished && !run->metrics_problem[0] && run->n_iterations > 0 && least < run->n_iterations;
    fprintf(f, "<main data-cells=\"%d\" data-grid=\"%d\" data-best-cell=\"%d\" data-state=\"%s\" "
               "data-iteration=\"%d\">\n",
            run->n_cells, run->grid_k, run->best_cell, stopped ? "stopped" : run->finished ? "finished" : "running",
            run->max_iteration);

    fputs("<header><h1>lpz run ", f);
    esc_str(f, title);
    fputs("</h1>\n", f);
    if (run->metrics_problem[0] && run->finished)
        fprintf(f, "<p class=\"status finished\">Finished; the number of iterations is not known: metrics.csv %s "
                   "(see the problems below).</p>\n",
                run->metrics_problem);
    else if (run->metrics_problem[0])
        fprintf(f, "<p class=\"status running\">In progress (or stopped); the number of iterations done is not known: "
                   "metrics.csv %s (see the problems below). This page reloads every 10 seconds.</p>\n",
                run->metrics_problem);
    else if (stopped)
        fprintf(f, "<p class=\"status running\">Stopped after %d of %d iterations%s (<code>lpz train --resume</code> "
                   "with this folder continues it).</p>\n", least, run->n_iterations,
                least < run->max_iteration ? " (some cells one more)" : "");
    else if (run->finished)
        fprintf(f, "<p class=\"status finished\">Finished after %d iteration%s.</p>\n", run->max_iteration,
                run->max_iteration == 1 ? "" : "s");
    else if (run->n_iterations > 0)
        fprintf(f, "<p class=\"status running\">In progress (or stopped): %d of %d iterations done. This page "
                   "reloads every 10 seconds.</p>\n",
                run->max_iteration, run->n_iterations);
    else
        fprintf(f, "<p class=\"status running\">In progress (or stopped): %d iterations done. This page reloads "
                   "every 10 seconds.</p>\n",
                run->max_iteration);
    fputs("<dl class=\"summary\">", f);
    if (run->config_parsed) {
        fputs("<dt>trainer</dt><dd>", f);
        esc_str(f, run->trainer);
        fputs("</dd><dt>dataset</dt><dd>", f);
        esc_str(f, run->dataset);
        fputs("</dd><dt>network</dt><dd>", f);
        esc_str(f, run->network);
        fputs("</dd>", f);
    }
    fprintf(f, "<dt>grid</dt><dd>%d x %d (%d cells)</dd>", run->grid_k, run->grid_k, run->n_cells);
    fputs("<dt>best cell</dt><dd class=\"best-cell\">", f);
    if (run->best_cell < 0)
        fputs("not known yet", f);
    else if (run->best_by_final)
        fprintf(f, "%d (lowest final FID: %.4f over %d samples)", run->best_cell, run->best_value,
                run->cells[run->best_cell].final_samples);
    else if (run->best_by_score)
        fprintf(f, "%d (%s: %.6g)", run->best_cell, run->score_higher ? "highest inception score" : "lowest score",
                run->best_value);
    else
        fprintf(f, "%d (lowest generator fitness: %.6g; no scores computed)", run->best_cell, run->best_value);
    fputs("</dd>", f);
    write_final_summary(f, run);
    fputs("<dt>folder</dt><dd><code>", f);
    esc_str(f, run->dir);
    fputs("</code></dd></dl></header>\n", f);

    if (run->n_notices) {
        fputs("<section class=\"notices\"><h2>Problems found while reading the run</h2><ul>\n", f);
        for (int i = 0; i < run->n_notices; i++) {
            fputs("<li>", f);
            esc_str(f, run->notices[i]);
            fputs("</li>\n", f);
        }
        if (run->n_more_notices)
            fprintf(f, "<li>... and %d more</li>\n", run->n_more_notices);
        fputs("</ul></section>\n", f);
    }

    if (run->n_cells)
        write_grid(f, run);
    else
        fputs("<section id=\"grid\"><h2>Grid</h2><p class=\"empty\">no cell has reported yet</p></section>\n", f);
    write_curves(f, run);
    if (run->n_cells)
        write_mixtures(f, run);

    fputs("<section id=\"config\"><h2>Configuration</h2>\n", f);
    if (run->config) {
        fputs("<p class=\"note\">config.yml: the fully resolved configuration of the run (secrets masked).</p>\n"
              "<pre class=\"config\">",
              f);
        esc_str(f, run->config);
        fputs("</pre>\n", f);
    } else if (run->config_unreadable) {
        fputs("<p class=\"empty\">config.yml could not be read (see the problems above)</p>\n", f);
    } else {
        fputs("<p class=\"empty\">config.yml is missing from the run folder</p>\n", f);
    }
    fputs("</section>\n", f);

    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm);
    fprintf(f, "<footer>Written by lpz %s on %s from metrics.csv, config.yml, samples/%s master/. "
               "Regenerate with <code>lpz report RUN_DIR</code>.</footer>\n</main>\n</body></html>\n",
            LPZ_VERSION, when, run->has_final ? ", final_scores.csv and" : " and");
    if (ferror(f)) {
        lpz_atomic_abort(&af);
        lpz_error_set(err, LPZ_EIO, "writing the report failed");
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "check the free space of the run folder's file system");
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&af, err);
}

int lpz_report_write_ex(const char *run_dir, int state, lpz_error *err)
{
    return lpz_report_write_counted(run_dir, state, NULL, err);
}

int lpz_report_write_counted(const char *run_dir, int state, int *problems, lpz_error *err)
{
    if (problems)
        *problems = 0;
    rp_run run;
    int rc = rp_run_load(&run, run_dir, err);
    if (!rc) {
        if (state == LPZ_REPORT_RUNNING || state == LPZ_REPORT_FINISHED)
            run.finished = state == LPZ_REPORT_FINISHED;
        char path[4200];
        if ((size_t)snprintf(path, sizeof path, "%s/report.html", run_dir) >= sizeof path) {
            rc = lpz_error_set(err, LPZ_EINVAL, "run folder name is too long");
        } else {
            rc = rp_render(&run, path, err);
        }
        if (!rc && problems)
            *problems = run.n_notices + run.n_more_notices;
    }
    rp_run_free(&run);
    return rc;
}

int lpz_report_write(const char *run_dir, lpz_error *err)
{
    return lpz_report_write_ex(run_dir, LPZ_REPORT_AUTO, err);
}
