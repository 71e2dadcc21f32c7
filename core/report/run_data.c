/* core/report/run_data.c - reads a run folder for the report: metrics.csv
 * (columns found by their header names, so older files without `seconds`
 * or newer ones with extra columns work), config.yml, the latest samples
 * file of each cell and the mixture weights. Nothing here trusts the files:
 * only regular files are read (a FIFO would block, /dev/zero never ends),
 * sizes are capped, images are checked before they are embedded, numbers
 * and cell indices are range-checked, and a bad row or file becomes a
 * notice on the page instead of a failed report. */
#include "report/report_internal.h"

#include "config/config.h"
#include "io/fsutil.h"
#include "base/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define METRICS_MAX_BYTES ((size_t)1 << 30) /* 1 GiB: ~10 M rows */
#define CONFIG_MAX_BYTES ((size_t)16 << 20)
#define MIXTURE_MAX_BYTES ((size_t)1 << 20)
#define FINAL_MAX_BYTES ((size_t)16 << 20)
#define SAMPLE_MAX_BYTES ((size_t)16 << 20)
#define MAX_COLUMNS 64
#define MAX_WEIGHTS 64

const char *const rp_value_names[RP_NVALUES] = {"g_loss", "d_loss", "g_fitness", "d_fitness",
                                                "g_lr",   "d_lr",   "score",     "seconds"};
const char *const rp_value_titles[RP_NVALUES] = {
    "generator loss",         "discriminator loss",         "generator fitness (best, lower is better)",
    "discriminator fitness (best)", "generator learning rate", "discriminator learning rate",
    "score (FID, lower is better)", "seconds per iteration"};

void rp_notice(rp_run *run, const char *fmt, ...)
{
    if (run->n_notices >= RP_MAX_NOTICES) {
        run->n_more_notices++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->notices[run->n_notices++], sizeof run->notices[0], fmt, ap);
    va_end(ap);
}

/* ---- reading files of the run folder ------------------------------------ */

int rp_read_file(const char *path, const char *name, size_t max_size, char **data, size_t *size, char *msg,
                 size_t msg_size)
{
    *data = NULL;
    *size = 0;
    msg[0] = '\0';
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return RP_READ_MISSING;
        snprintf(msg, msg_size, "%s could not be read: %s", name, strerror(errno));
        return RP_READ_BAD;
    }
    int link = S_ISLNK(st.st_mode);
    if (link && stat(path, &st) != 0) {
        snprintf(msg, msg_size, "%s is a symbolic link to %s; not read", name,
                 errno == ENOENT ? "nothing (its target is missing)" : strerror(errno));
        return RP_READ_BAD;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(msg, msg_size, "%s is not a regular file (%s%s); not read", name, link ? "a symbolic link to " : "",
                 lpz_file_kind(st.st_mode));
        return RP_READ_BAD;
    }
    /* Had the file become a FIFO since the stat, a plain open would wait
     * for a writer: lpz_open_regular decides on what was opened. */
    const char *kind;
    int fd = lpz_open_regular(path, &st, &kind);
    if (fd == -2) {
        snprintf(msg, msg_size, "%s is not a regular file (it changed while being read); not read", name);
        return RP_READ_BAD;
    }
    if (fd < 0) {
        snprintf(msg, msg_size, "%s could not be opened: %s", name, strerror(errno));
        return RP_READ_BAD;
    }
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        snprintf(msg, msg_size, "%s is too large (%lld bytes, the limit is %zu); not read", name,
                 (long long)st.st_size, max_size);
        return RP_READ_BAD;
    }
    /* The size at the fstat: bytes appended meanwhile (a row being
     * written) wait for the next report. */
    size_t want = (size_t)st.st_size, len = 0;
    char *buf = malloc(want + 1);
    if (!buf) {
        close(fd);
        snprintf(msg, msg_size, "%s could not be read: out of memory (%zu bytes)", name, want);
        return RP_READ_BAD;
    }
    while (len < want) {
        ssize_t r = read(fd, buf + len, want - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(msg, msg_size, "%s could not be read: %s", name, strerror(errno));
            free(buf);
            close(fd);
            return RP_READ_BAD;
        }
        if (r == 0) /* shrunk meanwhile */
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return RP_READ_OK;
}

/* ---- samples files -------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int is_png(const unsigned char *p, size_t n)
{
    return n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0;
}

/* What is wrong with a PNG file (into why), or NULL when nothing is: the
 * signature, IHDR first with a non-zero size, every chunk whole with its
 * CRC right, image data, and IEND. Walks the chunks; decodes nothing. */
static const char *png_damage(const unsigned char *p, size_t n, char *why, size_t why_size)
{
    if (!is_png(p, n))
        return "no PNG signature";
    int idat = 0;
    for (size_t off = 8;;) {
        if (off == n)
            return "cut short: no IEND chunk";
        if (n - off < 12)
            return "cut short inside a chunk header";
        uint32_t len = be32(p + off);
        const unsigned char *type = p + off + 4;
        for (int i = 0; i < 4; i++)
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z'))) {
                snprintf(why, why_size, "a damaged chunk header at byte %zu", off);
                return why;
            }
        if (off == 8 && (memcmp(type, "IHDR", 4) != 0 || len != 13))
            return "no IHDR chunk at the start";
        if (len > 0x7fffffffu || len > n - off - 12) {
            snprintf(why, why_size, "cut short inside chunk %.4s", (const char *)type);
            return why;
        }
        if (off == 8 && (be32(p + off + 8) == 0 || be32(p + off + 12) == 0))
            return "IHDR gives a width or height of 0";
        if ((uint32_t)crc32(0, type, 4 + len) != be32(p + off + 8 + len)) {
            snprintf(why, why_size, "chunk %.4s has a wrong checksum", (const char *)type);
            return why;
        }
        if (memcmp(type, "IDAT", 4) == 0)
            idat = 1;
        if (memcmp(type, "IEND", 4) == 0)
            return idat ? NULL : "no image data (IDAT chunk)";
        off += 12 + (size_t)len;
    }
}

/* What is wrong with a JPEG file (into why), or NULL: the start-of-image
 * marker, then segments whose lengths stay inside the file, entropy-coded
 * data after each start of scan, and the end-of-image marker (missing when
 * the file is cut short). Walks the markers; decodes nothing. */
static const char *jpeg_damage(const unsigned char *p, size_t n, char *why, size_t why_size)
{
    if (n < 3 || p[0] != 0xff || p[1] != 0xd8 || p[2] != 0xff)
        return "no JPEG start-of-image marker";
    for (size_t off = 2;;) {
        if (off >= n)
            return "cut short: no end-of-image marker";
        if (p[off] != 0xff) {
            snprintf(why, why_size, "no marker at byte %zu", off);
            return why;
        }
        while (off < n && p[off] == 0xff) /* fill bytes */
            off++;
        if (off >= n)
            return "cut short: no end-of-image marker";
        unsigned m = p[off++];
        if (m == 0xd9)
            return NULL;
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd8)) /* markers without a length */
            continue;
        if (n - off < 2)
            return "cut short inside a marker";
        size_t len = (size_t)p[off] << 8 | p[off + 1];
        if (len < 2) {
            snprintf(why, why_size, "a damaged segment at byte %zu", off - 2);
            return why;
        }
        if (len > n - off) {
            snprintf(why, why_size, "cut short inside the segment at byte %zu", off - 2);
            return why;
        }
        off += len;
        if (m == 0xda) /* start of scan: its data runs to the next marker but a restart */
            while (off + 1 < n && !(p[off] == 0xff && p[off + 1] != 0 && !(p[off + 1] >= 0xd0 && p[off + 1] <= 0xd7)))
                off++;
        if (m == 0xda && off + 1 >= n)
            return "cut short inside the image data";
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Reads and checks the latest samples file of a cell (which must have one):
 * a PNG is walked chunk by chunk (signature, IHDR first, every chunk whole
 * with a right CRC, IDAT, IEND), a JPEG marker by marker (start of image,
 * whole segments, scan data, end of image); nothing is decoded. A file
 * named .png or .jpg must be one; other files without NUL bytes are text.
 * Returns 0 with the data (free it) and *mime ("image/png", "image/jpeg",
 * or NULL for text), or -1 with `msg` naming the file and what is wrong. */
static int sample_read(const rp_run *run, int cell, char **data, size_t *size, const char **mime, char *msg,
                       size_t msg_size)
{
    const rp_cell *c = &run->cells[cell];
    char name[400];
    snprintf(name, sizeof name, "samples/cell-%d/%.300s", cell, base_name(c->sample)); /* d_name: <= 255 */
    *mime = NULL;
    int rc = rp_read_file(c->sample, name, SAMPLE_MAX_BYTES, data, size, msg, msg_size);
    if (rc == RP_READ_MISSING)
        snprintf(msg, msg_size, "%s has gone (removed while the report was written); not shown", name);
    if (rc != RP_READ_OK)
        return -1;
    const unsigned char *u = (const unsigned char *)*data;
    const char *ext = strrchr(name, '.');
    int want_png = ext && strcasecmp(ext, ".png") == 0;
    int want_jpeg = ext && (strcasecmp(ext, ".jpg") == 0 || strcasecmp(ext, ".jpeg") == 0);
    const char *bad = NULL;
    char why[96];
    if (*size == 0) {
        snprintf(msg, msg_size, "%s: empty; not shown", name);
    } else if (is_png(u, *size) || (want_png && !(*size >= 3 && u[0] == 0xff && u[1] == 0xd8))) {
        if ((bad = png_damage(u, *size, why, sizeof why)))
            snprintf(msg, msg_size, "%s: not a PNG (truncated or damaged: %s); not shown", name, bad);
        *mime = "image/png";
    } else if ((*size >= 2 && u[0] == 0xff && u[1] == 0xd8) || want_jpeg) {
        if ((bad = jpeg_damage(u, *size, why, sizeof why)))
            snprintf(msg, msg_size, "%s: not a JPEG (truncated or damaged: %s); not shown", name, bad);
        *mime = "image/jpeg";
    } else if (memchr(*data, '\0', *size)) {
        snprintf(msg, msg_size, "%s is neither a PNG nor a JPEG image nor text; not shown", name);
    } else {
        return 0; /* text samples (a plugin's CSV of sequences) */
    }
    if (*size && !bad && *mime)
        return 0;
    free(*data);
    *data = NULL;
    *size = 0;
    *mime = NULL;
    return -1;
}

/* ---- small parsers ------------------------------------------------------ */

/* A whole field as a double: "" is NaN (a value not computed), else strtod
 * must consume everything. Returns 0 on success. */
static int parse_double(const char *s, size_t n, double *out)
{
    char buf[64];
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n == 0) {
        *out = NAN;
        return 0;
    }
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || end == buf)
        return -1;
    *out = v;
    return 0;
}

/* A whole field as an integer in [lo, hi]. */
static int parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
    double v;
    if (parse_double(s, n, &v) || !isfinite(v) || v != floor(v) || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* "name-<digits>" or "name-<digits>.<ext>" -> digits (at most 9), else -1. */
static long numbered_name(const char *name, const char *prefix, const char **ext)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0)
        return -1;
    const char *p = name + pl;
    long v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 10) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || digits > 9)
        return -1;
    if (ext)
        *ext = p;
    else if (*p)
        return -1;
    return v;
}

/* ---- metrics.csv --------------------------------------------------------- */

static int add_row(rp_run *run, const rp_row *r, lpz_error *err)
{
    if (run->n_rows == run->cap_rows) {
        int cap = run->cap_rows ? run->cap_rows * 2 : 256;
        rp_row *rows = realloc(run->rows, sizeof *rows * (size_t)cap);
        if (!rows)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory reading metrics.csv (%d rows)", run->n_rows);
        run->rows = rows;
        run->cap_rows = cap;
    }
    run->rows[run->n_rows++] = *r;
    return LPZ_OK;
}

static int load_metrics(rp_run *run, lpz_error *err)
{
    char path[4200], msg[sizeof run->notices[0]];
    snprintf(path, sizeof path, "%s/metrics.csv", run->dir);
    size_t size;
    int rc = rp_read_file(path, "metrics.csv", METRICS_MAX_BYTES, &run->metrics, &size, msg, sizeof msg);
    if (rc == RP_READ_MISSING) {
        snprintf(run->metrics_problem, sizeof run->metrics_problem, "is missing");
        rp_notice(run, "metrics.csv: missing");
        return LPZ_OK;
    }
    if (rc != RP_READ_OK) {
        snprintf(run->metrics_problem, sizeof run->metrics_problem, "could not be read");
        rp_notice(run, "%s", msg);
        return LPZ_OK;
    }
    run->has_metrics = 1;
    char *text = run->metrics;
    char *nl = memchr(text, '\n', size);
    if (!nl) {
        /* Damaged: the trainer writes the header when it opens the file. */
        snprintf(run->metrics_problem, sizeof run->metrics_problem, "%s", size ? "has no header row" : "is empty");
        rp_notice(run, "%s", size ? "metrics.csv: no header row (the file ends inside its first line)"
                                  : "metrics.csv: empty (no header row)");
        return LPZ_OK;
    }

    /* The header: which column holds what. */
    int col_of[RP_NVALUES], col_it = -1, col_cell = -1, col_mix = -1, n_cols = 0;
    for (int i = 0; i < RP_NVALUES; i++)
        col_of[i] = -1;
    for (char *p = text; p <= nl; n_cols++) {
        char *e = p;
        while (e < nl && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        if (n && p[n - 1] == '\r')
            n--;
        if (n_cols >= MAX_COLUMNS) { /* damaged, as below: listed on the page, not fatal (cli.md) */
            snprintf(run->metrics_problem, sizeof run->metrics_problem, "has no lpz header row");
            rp_notice(run, "metrics.csv:1: more than %d columns in the header: not lpz's metrics file; its rows "
                      "are not shown", MAX_COLUMNS);
            return LPZ_OK;
        }
#define IS(name) (n == strlen(name) && memcmp(p, name, n) == 0)
        if (IS("iteration"))
            col_it = n_cols;
        else if (IS("cell"))
            col_cell = n_cols;
        else if (IS("mixture_weights"))
            col_mix = n_cols;
        for (int i = 0; i < RP_NVALUES; i++)
            if (IS(rp_value_names[i]))
                col_of[i] = n_cols;
#undef IS
        p = e + 1;
    }
    char cfg_path[4200];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.yml", run->dir);
    if ((col_it < 0 || col_cell < 0) && !lpz_is_file(cfg_path)) { /* nothing of lpz's here: not a run folder */
        lpz_error_set(err, LPZ_EFORMAT, "the header has no '%s' column, so this is not lpz's metrics file, and the "
                      "folder has no config.yml either",
                      col_it < 0 ? "iteration" : "cell");
        lpz_error_where(err, "%s:1", path);
        lpz_error_hint(err, "pass a run folder of lpz train; its metrics.csv starts iteration,cell,g_loss,...");
        return LPZ_EFORMAT;
    }
    if (col_it < 0 || col_cell < 0) { /* a run folder with a damaged metrics.csv: listed on the page (cli.md) */
        snprintf(run->metrics_problem, sizeof run->metrics_problem, "has no lpz header row");
        rp_notice(run, "metrics.csv:1: the header has no '%s' column, so this is not lpz's metrics file (the first "
                  "line must be the column names: iteration,cell,g_loss,...); its rows are not shown",
                  col_it < 0 ? "iteration" : "cell");
        return LPZ_OK;
    }

    int line = 2; /* the header is line 1 */
    for (char *p = nl + 1; p < text + size; line++) {
        char *eol = memchr(p, '\n', (size_t)(text + size - p));
        if (!eol) /* the row being written: leave it for the next report */
            break;
        char *next = eol + 1;
        if (eol > p && eol[-1] == '\r')
            eol--;
        if (eol == p) {
            p = next;
            continue;
        }
        const char *field[MAX_COLUMNS];
        size_t len[MAX_COLUMNS];
        int nf = 0;
        for (char *f = p;; nf++) {
            char *e = f;
            while (e < eol && *e != ',')
                e++;
            if (nf < MAX_COLUMNS) {
                field[nf] = f;
                len[nf] = (size_t)(e - f);
            }
            if (e >= eol) {
                nf++;
                break;
            }
            f = e + 1;
        }
        p = next;
        if (nf != n_cols) {
            rp_notice(run, "metrics.csv:%d: %d fields where the header has %d; row skipped", line, nf, n_cols);
            continue;
        }
        rp_row r;
        memset(&r, 0, sizeof r);
        r.line = line;
        if (parse_int(field[col_it], len[col_it], 0, RP_MAX_ITERATION, &r.iteration)) {
            rp_notice(run, "metrics.csv:%d: iteration '%.*s' is not a whole number from 0 to %d; row skipped",
                      line, (int)(len[col_it] > 40 ? 40 : len[col_it]), field[col_it], RP_MAX_ITERATION);
            continue;
        }
        if (parse_int(field[col_cell], len[col_cell], 0, RP_MAX_CELLS - 1, &r.cell)) {
            rp_notice(run, "metrics.csv:%d: cell '%.*s' is not a whole number from 0 to %d; row skipped", line,
                      (int)(len[col_cell] > 40 ? 40 : len[col_cell]), field[col_cell], RP_MAX_CELLS - 1);
            continue;
        }
        int bad = -1;
        for (int i = 0; i < RP_NVALUES; i++) {
            r.v[i] = NAN;
            if (col_of[i] >= 0 && parse_double(field[col_of[i]], len[col_of[i]], &r.v[i]) && bad < 0)
                bad = i;
        }
        if (bad >= 0) {
            rp_notice(run, "metrics.csv:%d: %s '%.*s' is not a number; row skipped", line, rp_value_names[bad],
                      (int)(len[col_of[bad]] > 40 ? 40 : len[col_of[bad]]), field[col_of[bad]]);
            continue;
        }
        if (col_mix >= 0) {
            r.mix = field[col_mix];
            r.mix_len = len[col_mix];
        }
        int rc2 = add_row(run, &r, err);
        if (rc2)
            return rc2;
        for (int i = 0; i < RP_NVALUES; i++)
            if (isfinite(r.v[i]))
                run->has_value[i] = 1;
        if (r.iteration > run->max_iteration)
            run->max_iteration = r.iteration;
    }
    return LPZ_OK;
}

/* ---- config.yml ---------------------------------------------------------- */

/* Replaces the values of keys that hold secrets (general.secret,
 * general.losswise.api_key) by "(hidden)": a report is made to be shared. */
static void hide_secrets(char *text)
{
    static const char *const secret_keys[] = {"secret", "api_key"};
    for (char *line = text; *line;) {
        char *eol = strchr(line, '\n');
        char *end = eol ? eol : line + strlen(line);
        char *k = line;
        while (k < end && *k == ' ')
            k++;
        for (size_t i = 0; i < sizeof secret_keys / sizeof secret_keys[0]; i++) {
            size_t n = strlen(secret_keys[i]);
            if ((size_t)(end - k) > n && memcmp(k, secret_keys[i], n) == 0 && k[n] == ':') {
                /* The value runs to a " #" comment or the end of the line. */
                char *v = k + n + 1, *ve = v;
                while (ve < end && !(ve[0] == ' ' && ve + 1 < end && ve[1] == '#'))
                    ve++;
                char *vs = v;
                while (vs < ve && *vs == ' ')
                    vs++;
                while (ve > vs && ve[-1] == ' ')
                    ve--;
                int empty = vs == ve || (ve - vs == 2 && (memcmp(vs, "\"\"", 2) == 0 || memcmp(vs, "''", 2) == 0));
                if (!empty)
                    for (char *c = vs; c < ve; c++)
                        *c = '*';
            }
        }
        line = eol ? eol + 1 : end;
    }
}

static void load_config(rp_run *run)
{
    char path[4200], msg[sizeof run->notices[0]];
    snprintf(path, sizeof path, "%s/config.yml", run->dir);
    size_t size;
    int rc = rp_read_file(path, "config.yml", CONFIG_MAX_BYTES, &run->config, &size, msg, sizeof msg);
    if (rc == RP_READ_MISSING)
        return;
    if (rc != RP_READ_OK) {
        run->config_unreadable = 1;
        rp_notice(run, "%s", msg);
        return;
    }
    lpz_error e;
    lpz_error_clear(&e);
    lpz_config cfg;
    lpz_config_init_defaults(&cfg);
    if (lpz_config_load_resolved(run->config, size, "config.yml", &cfg, &e) == LPZ_OK) {
        run->config_parsed = 1;
        run->grid_k_config = lpz_config_grid_size(&cfg);
        run->n_iterations = cfg.trainer.n_iterations;
        snprintf(run->trainer, sizeof run->trainer, "%s", lpz_config_enum_text("trainer.name", cfg.trainer.name));
        snprintf(run->dataset, sizeof run->dataset, "%s", cfg.dataloader.dataset_name);
        snprintf(run->network, sizeof run->network, "%s", cfg.network.name);
        run->score_higher = cfg.trainer.params.score.enabled && cfg.trainer.params.score.type == LPZ_SCORE_INCEPTION;
    } else {
        char buf[2600];
        rp_notice(run, "config.yml could not be read as an lpz configuration (%s); shown as text",
                  lpz_error_format(&e, buf, sizeof buf));
    }
    lpz_config_destroy(&cfg);
    hide_secrets(run->config);
}

/* ---- cells: rows, samples, mixtures -------------------------------------- */

/* Largest cell index named by the folders samples/cell-<c> and master/<c>. */
static int max_cell_in(const char *dir, const char *prefix)
{
    int max = -1;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        long c = numbered_name(e->d_name, prefix, NULL);
        if (c >= 0 && c < RP_MAX_CELLS && c > max)
            max = (int)c;
    }
    closedir(d);
    return max;
}

typedef struct row_key {
    int cell, iteration, index;
} row_key;

static int cmp_row_key(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    if (x->cell != y->cell)
        return x->cell < y->cell ? -1 : 1;
    if (x->iteration != y->iteration)
        return x->iteration < y->iteration ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Each cell's rows sorted by iteration; of two rows for one iteration (a
 * resumed run repeats one) the later line wins. */
static int index_rows(rp_run *run, lpz_error *err)
{
    row_key *keys = malloc(sizeof *keys * (size_t)(run->n_rows ? run->n_rows : 1));
    if (!keys)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory indexing %d metrics rows", run->n_rows);
    for (int i = 0; i < run->n_rows; i++)
        keys[i] = (row_key){run->rows[i].cell, run->rows[i].iteration, i};
    qsort(keys, (size_t)run->n_rows, sizeof *keys, cmp_row_key);
    for (int j = 0; j < run->n_rows; j++) {
        int i = keys[j].index;
        rp_cell *c = &run->cells[run->rows[i].cell];
        if (c->n_rows && run->rows[c->rows[c->n_rows - 1]].iteration == run->rows[i].iteration) {
            c->rows[c->n_rows - 1] = i;
            continue;
        }
        if (c->n_rows == c->cap_rows) {
            int cap = c->cap_rows ? c->cap_rows * 2 : 16;
            int *rows = realloc(c->rows, sizeof *rows * (size_t)cap);
            if (!rows) {
                free(keys);
                return lpz_error_set(err, LPZ_ENOMEM, "out of memory indexing metrics rows");
            }
            c->rows = rows;
            c->cap_rows = cap;
        }
        c->rows[c->n_rows++] = i;
    }
    free(keys);
    return LPZ_OK;
}

static int image_ext(const char *ext)
{
    return !strcasecmp(ext, ".png") || !strcasecmp(ext, ".jpg") || !strcasecmp(ext, ".jpeg");
}

static struct timespec mtime_of(DIR *d, const char *name)
{
    struct stat st;
    struct timespec never = {0, 0};
    return fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mtim : never;
}

static int later(struct timespec a, struct timespec b)
{
    return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

/* The samples file of a cell's latest iteration: of files of the same
 * iteration an image (.png, .jpg or .jpeg: general.logging.image_format)
 * before any other (a plugin's text), and of two images (a resume that
 * changed the format and redid the iteration) the one modified last. */
static void find_latest_sample(rp_run *run, int cell)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/samples/cell-%d", run->dir, cell);
    DIR *d = opendir(dir);
    if (!d)
        return;
    rp_cell *c = &run->cells[cell];
    long best = -1;
    int best_image = 0;
    struct timespec best_mtime = {0, 0};
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *ext;
        long it = numbered_name(e->d_name, "iteration-", &ext);
        if (it < 0 || (*ext && *ext != '.') || strstr(ext, ".tmp."))
            continue; /* not a samples file, or a temporary one being written */
        int image = image_ext(ext);
        if (it < best || (it == best && !image))
            continue;
        struct timespec mtime = image ? mtime_of(d, e->d_name) : (struct timespec){0, 0};
        if (it == best && best_image && !later(mtime, best_mtime))
            continue;
        if ((size_t)snprintf(c->sample, sizeof c->sample, "%s/%s", dir, e->d_name) >= sizeof c->sample) {
            c->sample[0] = '\0';
            continue;
        }
        best = it;
        best_image = image;
        best_mtime = mtime;
        c->sample_iteration = (int)it;
    }
    closedir(d);
}

static int add_weight(rp_cell *c, int cell, const char *name, double w)
{
    if (c->n_weights >= MAX_WEIGHTS)
        return -1;
    rp_weight *x = &c->weights[c->n_weights++];
    x->cell = cell;
    snprintf(x->name, sizeof x->name, "%s", name);
    x->weight = w;
    return 0;
}

/* master/<c>/mixture.yml: "generator-<n>.safetensors: <weight>" lines and
 * comments. Returns 1 when weights were read. */
static int load_mixture_file(rp_run *run, int cell)
{
    char path[4200], name[64], msg[sizeof run->notices[0]];
    snprintf(path, sizeof path, "%s/master/%d/mixture.yml", run->dir, cell);
    snprintf(name, sizeof name, "master/%d/mixture.yml", cell);
    char *text;
    size_t size;
    int rc = rp_read_file(path, name, MIXTURE_MAX_BYTES, &text, &size, msg, sizeof msg);
    if (rc == RP_READ_MISSING)
        return 0;
    if (rc != RP_READ_OK) {
        rp_notice(run, "%s", msg);
        return 0;
    }
    rp_cell *c = &run->cells[cell];
    c->n_weights = 0;
    if (memchr(text, '\0', size)) {
        rp_notice(run, "%s: damaged (it holds NUL bytes); not read", name);
        free(text);
        return 0;
    }
    int line = 0, ok = 1;
    for (char *p = text; *p && ok; line++) {
        char *eol = strchr(p, '\n');
        char *end = eol ? eol : p + strlen(p);
        char *next = eol ? eol + 1 : end;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end || *p == '#') {
            p = next;
            continue;
        }
        char *colon = memchr(p, ':', (size_t)(end - p));
        double w;
        char name[128];
        size_t kn = colon ? (size_t)(colon - p) : 0;
        while (kn && (p[kn - 1] == ' ' || p[kn - 1] == '"' || p[kn - 1] == '\''))
            kn--;
        const char *k = p;
        while (kn && (*k == '"' || *k == '\'')) {
            k++;
            kn--;
        }
        if (!colon || !kn || kn >= sizeof name || parse_double(colon + 1, (size_t)(end - colon - 1), &w) ||
            !isfinite(w) || w < 0) {
            rp_notice(run, "master/%d/mixture.yml:%d: expected 'generator-N.safetensors: weight' with a weight >= 0",
                      cell, line + 1);
            ok = 0;
            break;
        }
        memcpy(name, k, kn);
        name[kn] = '\0';
        long from = -1;
        const char *ext;
        from = numbered_name(name, "generator-", &ext);
        if (add_weight(c, from >= 0 && from < RP_MAX_CELLS ? (int)from : -1, name, w)) {
            rp_notice(run, "master/%d/mixture.yml: more than %d generators; the rest are not shown", cell,
                      MAX_WEIGHTS);
            break;
        }
        p = next;
    }
    free(text);
    if (ok && !c->n_weights)
        rp_notice(run, size ? "%s: no generator weights (only comments or blank lines)" : "%s: empty", name);
    if (!ok)
        c->n_weights = 0;
    c->weights_final = ok && c->n_weights > 0;
    return c->weights_final;
}

/* The mixture_weights field of a row: "cell:weight;cell:weight". */
static void weights_from_row(rp_run *run, rp_cell *c, const rp_row *r)
{
    c->n_weights = 0;
    c->weights_iteration = r->iteration;
    const char *p = r->mix, *end = r->mix + r->mix_len;
    while (p && p < end) {
        const char *e = memchr(p, ';', (size_t)(end - p));
        if (!e)
            e = end;
        const char *colon = memchr(p, ':', (size_t)(e - p));
        int from;
        double w;
        if (!colon || parse_int(p, (size_t)(colon - p), 0, RP_MAX_CELLS - 1, &from) ||
            parse_double(colon + 1, (size_t)(e - colon - 1), &w) || !isfinite(w)) {
            rp_notice(run, "metrics.csv:%d: mixture_weights '%.*s' is not 'cell:weight;...'", r->line,
                      (int)(r->mix_len > 60 ? 60 : r->mix_len), r->mix);
            c->n_weights = 0;
            return;
        }
        char name[32];
        snprintf(name, sizeof name, "cell %d", from);
        if (add_weight(c, from, name, w))
            break;
        p = e + 1;
    }
}

/* final_scores.csv, written by master.calculate_score (runtime/run.h):
 * "cell,iterations,samples,fid", fid and samples empty while a cell is not
 * scored. After the cells' mixtures are read (a cell with one is due a
 * final FID). */
static void load_final_scores(rp_run *run)
{
    char path[4200], msg[sizeof run->notices[0]];
    snprintf(path, sizeof path, "%s/final_scores.csv", run->dir);
    char *text;
    size_t size;
    int rc = rp_read_file(path, "final_scores.csv", FINAL_MAX_BYTES, &text, &size, msg, sizeof msg);
    if (rc == RP_READ_MISSING)
        return;
    if (rc != RP_READ_OK) {
        rp_notice(run, "%s", msg);
        return;
    }
    int col[4] = {-1, -1, -1, -1}, n_cols = 0, line = 0, bad = 0;
    static const char *const names[4] = {"cell", "iterations", "samples", "fid"};
    for (char *p = text, *next; *p; p = next, line++) {
        char *eol = strchr(p, '\n');
        next = eol ? eol + 1 : p + strlen(p);
        char *end = eol ? eol : next;
        const char *f[8];
        size_t fl[8];
        int n = 0;
        for (const char *q = p; n < 8;) {
            const char *c = memchr(q, ',', (size_t)(end - q));
            f[n] = q;
            fl[n++] = (size_t)((c ? c : end) - q);
            if (!c)
                break;
            q = c + 1;
        }
        if (line == 0) { /* the header */
            n_cols = n;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < 4; k++)
                    if (fl[i] - (fl[i] && f[i][fl[i] - 1] == '\r') == strlen(names[k]) &&
                        !memcmp(f[i], names[k], strlen(names[k])))
                        col[k] = i;
            if (col[0] < 0 || col[1] < 0 || col[2] < 0 || col[3] < 0) {
                rp_notice(run, "final_scores.csv: no header 'cell,iterations,samples,fid'; its scores are not shown");
                free(text);
                return;
            }
            run->has_final = 1;
            continue;
        }
        if (p == end)
            continue;
        /* fid empty (not scored yet) with samples empty, else a FID >= 0 over >= 2 samples */
        int cell, it, samples = 0;
        double fid, no_samples;
        int ok = n == n_cols && !parse_int(f[col[0]], fl[col[0]], 0, RP_MAX_CELLS - 1, &cell) &&
                 cell < run->n_cells && !parse_int(f[col[1]], fl[col[1]], 0, RP_MAX_ITERATION, &it) &&
                 !parse_double(f[col[3]], fl[col[3]], &fid);
        if (ok && isnan(fid))
            ok = !parse_double(f[col[2]], fl[col[2]], &no_samples) && isnan(no_samples);
        else if (ok)
            ok = isfinite(fid) && fid >= 0 && !parse_int(f[col[2]], fl[col[2]], 2, 2000000000, &samples);
        if (!ok) {
            if (!bad++)
                rp_notice(run, "final_scores.csv:%d: not a row 'cell,iterations,samples,fid' of this %d-cell run; "
                          "left out", line + 1, run->n_cells);
            continue;
        }
        rp_cell *c = &run->cells[cell];
        int latest = c->n_rows ? run->rows[c->rows[c->n_rows - 1]].iteration : 0;
        if (it != latest) {
            run->final_stale++;
            continue;
        }
        if (!c->final_row)
            run->final_rows++;
        if (isnan(c->final_fid) && !isnan(fid))
            run->final_scored++;
        else if (!isnan(c->final_fid) && isnan(fid))
            run->final_scored--;
        c->final_row = 1;
        c->final_fid = fid;
        c->final_samples = samples;
    }
    free(text);
    if (!run->has_final) /* an empty file */
        rp_notice(run, "final_scores.csv: empty (no header row)");
}

static void choose_best(rp_run *run)
{
    run->best_cell = -1;
    if (run->final_complete) { /* as lpz train names it after a final scoring (runtime/run.h) */
        run->best_by_final = 1;
        for (int i = 0; i < run->n_cells; i++) {
            double v = run->cells[i].final_fid;
            if (run->cells[i].final_row && !isnan(v) && (run->best_cell < 0 || v < run->best_value)) {
                run->best_cell = i;
                run->best_value = v;
            }
        }
        return;
    }
    run->best_by_score = run->has_value[RP_SCORE];
    int what = run->best_by_score ? RP_SCORE : RP_G_FITNESS;
    for (int i = 0; i < run->n_cells; i++) {
        const rp_cell *c = &run->cells[i];
        /* The cell's latest finite value. */
        for (int j = c->n_rows - 1; j >= 0; j--) {
            double v = run->rows[c->rows[j]].v[what];
            if (isfinite(v)) {
                int better = run->best_by_score && run->score_higher ? v > run->best_value : v < run->best_value;
                if (run->best_cell < 0 || better) {
                    run->best_cell = i;
                    run->best_value = v;
                }
                break;
            }
        }
    }
}

int rp_run_load(rp_run *run, const char *run_dir, lpz_error *err)
{
    memset(run, 0, sizeof *run);
    run->dir = run_dir;
    run->best_cell = -1;
    if (!run_dir || !*run_dir)
        return lpz_error_set(err, LPZ_EINVAL, "no run folder given");
    if (!lpz_is_dir(run_dir)) {
        lpz_error_set(err, LPZ_ENOTFOUND, "%s", lpz_is_file(run_dir) ? "is a file, not a run folder" : "no such folder");
        lpz_error_where(err, "%s", run_dir);
        lpz_error_hint(err, "pass the folder 'lpz train' printed after 'results:', "
                            "e.g. output/lipizzaner_gan/<timestamp>");
        return LPZ_ENOTFOUND;
    }
    /* Either file counts, whatever its type: a damaged one is listed on the page. */
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    int has_metrics = lstat(path, &st) == 0;
    snprintf(path, sizeof path, "%s/config.yml", run_dir);
    if (!has_metrics && lstat(path, &st) != 0) {
        lpz_error_set(err, LPZ_ENOTFOUND, "not an lpz run folder: it has neither metrics.csv nor config.yml");
        lpz_error_where(err, "%s", run_dir);
        lpz_error_hint(err, "pass the folder 'lpz train' printed after 'results:' "
                            "(<output_dir>/<trainer>/<timestamp>), not the output folder above it");
        return LPZ_ENOTFOUND;
    }
    int rc = load_metrics(run, err);
    if (rc)
        return rc;
    load_config(run);

    int max_cell = -1;
    for (int i = 0; i < run->n_rows; i++)
        if (run->rows[i].cell > max_cell)
            max_cell = run->rows[i].cell;
    snprintf(path, sizeof path, "%s/samples", run_dir);
    int m = max_cell_in(path, "cell-");
    max_cell = m > max_cell ? m : max_cell;
    snprintf(path, sizeof path, "%s/master", run_dir);
    m = max_cell_in(path, "");
    max_cell = m > max_cell ? m : max_cell;
    run->n_cells = max_cell + 1;
    if (run->grid_k_config > 0 && (long)run->grid_k_config * run->grid_k_config > run->n_cells &&
        (long)run->grid_k_config * run->grid_k_config <= RP_MAX_CELLS)
        run->n_cells = run->grid_k_config * run->grid_k_config;
    run->grid_k = 1;
    while (run->grid_k * run->grid_k < run->n_cells)
        run->grid_k++;
    if (run->n_cells == 0)
        return LPZ_OK;

    run->cells = calloc((size_t)run->n_cells, sizeof *run->cells);
    if (!run->cells)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %d cells", run->n_cells);
    for (int i = 0; i < run->n_cells; i++) {
        run->cells[i].weights = calloc(MAX_WEIGHTS, sizeof(rp_weight));
        if (!run->cells[i].weights)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %d cells", run->n_cells);
    }
    if ((rc = index_rows(run, err)))
        return rc;
    int all_final = 1;
    for (int i = 0; i < run->n_cells; i++) {
        rp_cell *c = &run->cells[i];
        c->final_fid = NAN;
        find_latest_sample(run, i);
        if (c->sample[0]) { /* read once: listed here when bad, embedded by html.c when good */
            char msg[sizeof run->notices[0]];
            if (sample_read(run, i, &c->sample_data, &c->sample_size, &c->sample_mime, msg, sizeof msg)) {
                rp_notice(run, "%s", msg);
                c->sample_problem = strdup(msg);
            }
        }
        if (!load_mixture_file(run, i)) {
            all_final = 0;
            for (int j = c->n_rows - 1; j >= 0; j--)
                if (run->rows[c->rows[j]].mix_len) {
                    weights_from_row(run, c, &run->rows[c->rows[j]]);
                    break;
                }
        }
    }
    run->finished = all_final;
    load_final_scores(run);
    if (run->has_final) {
        int missing = 0;
        for (int i = 0; i < run->n_cells; i++) {
            snprintf(path, sizeof path, "%s/master/%d/mixture.yml", run_dir, i);
            if (lstat(path, &st) != 0)
                continue; /* no final mixture (a lost cell): not scored */
            run->final_due++;
            missing += !run->cells[i].final_row || isnan(run->cells[i].final_fid);
        }
        run->final_complete = !missing && !run->final_stale && run->final_scored > 0;
    }
    choose_best(run);
    return LPZ_OK;
}

void rp_run_free(rp_run *run)
{
    if (run->cells)
        for (int i = 0; i < run->n_cells; i++) {
            free(run->cells[i].rows);
            free(run->cells[i].weights);
            free(run->cells[i].sample_data);
            free(run->cells[i].sample_problem);
        }
    free(run->cells);
    free(run->rows);
    free(run->metrics);
    free(run->config);
    memset(run, 0, sizeof *run);
}
