/* plugins/dataloaders/npy/csv.c - delimited text tables for the npy
 * dataloader. See csv.h. */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <lpz/log.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_NAMES_SHOWN 8

void npy_csv_free(npy_csv *c)
{
    if (c->names)
        for (int64_t j = 0; j < c->cols; j++)
            free(c->names[j]);
    free(c->names);
    free(c->data);
    free(c->labels);
    memset(c, 0, sizeof *c);
}

int npy_is_npy_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) /* a pipe read here would lose its start */
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char m[6];
    int is = fread(m, 1, sizeof m, f) == sizeof m && !memcmp(m, "\x93NUMPY", 6);
    fclose(f);
    return is;
}

/* Opens a table for reading: a regular file only (a pipe read here would
 * lose its start, or never end). */
static int open_text(const char *path, FILE **out, lpz_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        lpz_error_set(err, LPZ_EIO, "not a regular file (%s); lpz reads a table from a file",
                      S_ISDIR(st.st_mode) ? "a folder" : S_ISFIFO(st.st_mode) ? "a pipe" : "a device or socket");
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno, code = e == ENOENT ? LPZ_ENOTFOUND : LPZ_EIO;
        lpz_error_set(err, code, "cannot open: %s", strerror(e));
        lpz_error_where(err, "%s", path);
        return code;
    }
    *out = f;
    return LPZ_OK;
}

static int read_failed(const char *path, lpz_error *err)
{
    lpz_error_set(err, LPZ_EIO, "read error");
    lpz_error_where(err, "%s", path);
    return LPZ_EIO;
}

static int read_all(const char *path, char **out, size_t *size, lpz_error *err)
{
    FILE *f;
    int rc = open_text(path, &f, err);
    if (rc)
        return rc;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            fclose(f);
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory reading %s", path);
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *grown = realloc(buf, cap + 1);
        if (!grown)
            free(buf);
        buf = grown;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return read_failed(path, err);
    }
    buf[n] = '\0';
    *out = buf;
    *size = n;
    return LPZ_OK;
}

/* Splits line (NUL-terminated, no newline) in place into at most max
 * fields (the caller counts the delimiters for max), unquoting them; *n
 * fields. -1 when a quoted field does not end before the delimiter. */
static int split(char *line, char delim, char **fields, int64_t max, int64_t *n)
{
    int64_t k = 0;
    char *p = line;
    if (delim == ' ') { /* runs of blanks */
        for (;;) {
            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p || k == max)
                break;
            fields[k++] = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            if (*p)
                *p++ = '\0';
        }
        *n = k;
        return 0;
    }
    int tab_blank = delim != '\t'; /* a tab is padding unless it delimits */
    for (;;) {
        while (*p == ' ' || (tab_blank && *p == '\t'))
            p++;
        char *start = p;
        int more;
        if (*p == '"') { /* quoted: up to the closing quote, "" is a quote */
            char *w = p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p == ' ' || (tab_blank && *p == '\t'))
                p++;
            if (*p && *p != delim)
                return -1;
            more = *p != '\0';
            *w = '\0'; /* w < p: the field ends before the delimiter */
        } else {
            while (*p && *p != delim)
                p++;
            char *end = p;
            while (end > start && (end[-1] == ' ' || (tab_blank && end[-1] == '\t')))
                end--;
            more = *p != '\0';
            *end = '\0'; /* may overwrite the delimiter itself: `more` remembers it */
        }
        if (k == max)
            return -1; /* cannot happen: max counts every delimiter */
        fields[k++] = start;
        if (!more)
            break;
        p++;
    }
    *n = k;
    return 0;
}

/* A number: the whole field. 1 on success. Plain decimals of at most 15
 * digits ([+-]digits[.digits], the bulk of exported tables) skip strtod:
 * an integer below 2^53 divided by an exact power of ten is the correctly
 * rounded value, the same double strtod gives (Clinger's fast path). */
static int number(const char *s, double *v)
{
    static const double pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char *p = s;
    int neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    uint64_t m = 0;
    int digits = 0, frac = 0, dot = 0;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') {
            m = m * 10 + (uint64_t)(*p - '0');
            digits++;
            frac += dot;
        } else if (*p == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (!*p && digits && digits <= 15) {
        double x = (double)m / pow10[frac];
        *v = neg ? -x : x;
        return 1;
    }
    if (!*s || strpbrk(s, "xX")) /* strtod's C hex floats (0x10, 0x1p3): not numbers in a table */
        return 0;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end)
        return 0;
    *v = x;
    return 1;
}

/* The delimiter of a line: the most frequent of ',', ';', tab outside
 * quotes; none: ' ' when the line has blanks between fields, else ','. */
static char find_delim(const char *line)
{
    int64_t counts[3] = {0, 0, 0};
    int quoted = 0;
    for (const char *p = line; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (!quoted)
            counts[0] += *p == ',', counts[1] += *p == ';', counts[2] += *p == '\t';
    }
    if (counts[0] >= counts[1] && counts[0] >= counts[2] && counts[0] > 0)
        return ',';
    if (counts[1] >= counts[2] && counts[1] > 0)
        return ';';
    if (counts[2] > 0)
        return '\t';
    const char *p = line;
    while (*p == ' ')
        p++;
    while (*p && *p != ' ')
        p++;
    while (*p == ' ')
        p++;
    return *p ? ' ' : ',';
}

/* 1 when s is a number written with thousands separators: 1,500 or -12,345,678.25 */
static int thousands(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    int lead = 0;
    while (s[lead] >= '0' && s[lead] <= '9')
        lead++;
    if (lead < 1 || lead > 3 || s[lead] != ',')
        return 0;
    s += lead;
    while (*s == ',') {
        for (int k = 1; k <= 3; k++)
            if (s[k] < '0' || s[k] > '9')
                return 0;
        s += 4;
    }
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    return !*s;
}

const char *npy_csv_delim_name(char d)
{
    return d == ',' ? "commas" : d == ';' ? "semicolons" : d == '\t' ? "tabs" : "blanks";
}

void npy_csv_notes_flush(npy_csv_notes *notes, int log)
{
    for (int i = 0; i < notes->n; i++) {
        if (log)
            lpz_log(LPZ_LOG_WARN, "%s", notes->text[i]);
        free(notes->text[i]);
    }
    memset(notes, 0, sizeof *notes);
}

/* A warning about the first line: logged, or kept in notes. */
static void note(npy_csv_notes *notes, const char *fmt, ...) LPZ_PRINTF(2, 3);
static void note(npy_csv_notes *notes, const char *fmt, ...)
{
    char line[2048]; /* as long as lpz_log's lines */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!notes)
        lpz_log(LPZ_LOG_WARN, "%s", line);
    else if (notes->n < NPY_CSV_MAX_NOTES && (notes->text[notes->n] = strdup(line)))
        notes->n++;
}

static int line_error(lpz_error *err, const char *path, int64_t line, int code, const char *fmt, ...)
    LPZ_PRINTF(5, 6);
static int line_error(lpz_error *err, const char *path, int64_t line, int code, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lpz_error_set(err, code, "%s", msg);
    lpz_error_where(err, "%s:%lld", path, (long long)line);
    return code;
}

/* The label column's index from its name or number; -1 with an error. */
static int64_t label_index(const npy_csv *c, int64_t cols, const char *want, const char *path, lpz_error *err)
{
    int64_t found = -1;
    for (int64_t j = 0; c->names && j < cols; j++)
        if (!strcmp(c->names[j], want)) {
            if (found >= 0) {
                lpz_error_set(err, LPZ_EINVAL, "label_column '%s' names columns %lld and %lld of the header", want,
                              (long long)(found + 1), (long long)(j + 1));
                lpz_error_where(err, "%s", path);
                return -1;
            }
            found = j;
        }
    if (found >= 0)
        return found;
    char *end;
    errno = 0;
    long long v = strtoll(want, &end, 10);
    if (end != want && !*end && !errno && v >= 1 && v <= cols)
        return v - 1;
    char names[512] = "";
    size_t len = 0;
    for (int64_t j = 0; c->names && j < cols && j < MAX_NAMES_SHOWN; j++)
        len += (size_t)snprintf(names + len, sizeof names - len, "%s%.40s", j ? ", " : "", c->names[j]);
    if (c->names && cols > MAX_NAMES_SHOWN)
        snprintf(names + len, sizeof names - len, ", ...");
    if (c->names)
        lpz_error_set(err, LPZ_EINVAL, "label_column '%s' is neither a column of the header (%s) nor a column "
                      "number from 1 to %lld", want, names, (long long)cols);
    else
        lpz_error_set(err, LPZ_EINVAL, "label_column '%s' is not a column number from 1 to %lld (the file has no "
                      "header line to name columns)", want, (long long)cols);
    lpz_error_where(err, "%s", path);
    return -1;
}

/* Room for one more row (of at most max_rows, when not 0). */
static int grow_rows(npy_csv *c, int64_t *cap, int64_t max_rows, int want_labels, lpz_error *err)
{
    if (c->rows < *cap)
        return LPZ_OK;
    int64_t first = ((int64_t)1 << 20) / (c->cols > 0 ? c->cols : 1); /* about 4 MB, however wide the rows */
    int64_t nc = *cap ? *cap * 2 : first < 1 ? 1 : first > 1024 ? 1024 : first;
    if (max_rows > 0 && nc > max_rows)
        nc = max_rows;
    float *d = realloc(c->data, (size_t)(nc * (c->cols > 0 ? c->cols : 1)) * sizeof *d);
    if (!d)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld rows of %lld values", (long long)nc,
                             (long long)c->cols);
    c->data = d;
    if (want_labels) {
        int32_t *l = realloc(c->labels, (size_t)nc * sizeof *l);
        if (!l)
            return lpz_error_set(err, LPZ_ENOMEM, "out of memory for %lld rows of %lld values", (long long)nc,
                             (long long)c->cols);
        c->labels = l;
    }
    *cap = nc;
    return LPZ_OK;
}

int npy_csv_load(const char *path, char delim, int header_mode, const char *label_column, int max_classes,
                 npy_csv *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t size = 0;
    int rc = read_all(path, &text, &size, err);
    if (rc)
        return rc;
    rc = npy_csv_parse(text, size, path, delim, header_mode, label_column, max_classes, out, err);
    free(text);
    return rc;
}

/* The parser of npy_csv_parse and npy_csv_parse_first: stops after
 * max_rows rows (0: every row); more and notes as npy_csv_parse_first. */
static int parse_table(char *text, size_t size, const char *path, char delim, int header_mode,
                       const char *label_column, int max_classes, int64_t max_rows, int more, npy_csv_notes *notes,
                       npy_csv *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = LPZ_OK;
    npy_csv *c = out;
    char **fields = NULL;
    int64_t cap_fields = 0, width = -1, lab = -1, cap_rows = 0, line = 0, first_line = 0;
    char col[128];
    if (memchr(text, '\0', size)) {
        lpz_error_set(err, LPZ_EFORMAT, "not a text file (it holds NUL bytes); expected a .npy or a CSV table");
        lpz_error_where(err, "%s", path);
        rc = LPZ_EFORMAT;
        goto done;
    }
    if (memchr(text, '\r', size) && !memchr(text, '\n', size)) {
        lpz_error_set(err, LPZ_EFORMAT, "its lines end in a bare carriage return (CR, classic Mac OS), which lpz "
                      "does not split at");
        lpz_error_where(err, "%s", path);
        lpz_error_hint(err, "convert the line endings to LF or CRLF (tr '\\r' '\\n' < in.csv > out.csv)");
        rc = LPZ_EFORMAT;
        goto done;
    }
    char *p = text;
    if (!strncmp(p, "\xEF\xBB\xBF", 3)) /* the UTF-8 byte-order mark spreadsheets write */
        p += 3;
    for (char *next; *p; p = next) {
        line++;
        char *nl = strchr(p, '\n');
        next = nl ? nl + 1 : p + strlen(p);
        if (nl) {
            *nl = '\0';
            if (nl > p && nl[-1] == '\r')
                nl[-1] = '\0';
        }
        char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (!*q || *q == '#')
            continue;
        if (!delim)
            delim = find_delim(q);
        if (delim == '\t') /* leading tabs are empty fields, not padding */
            for (q = p; *q == ' ';)
                q++;
        int64_t bound = 1; /* fields at most: delimiters + 1 */
        for (const char *r = q; *r; r++)
            bound += delim == ' ' ? (*r == ' ' || *r == '\t') : *r == delim;
        if (bound > cap_fields) {
            free(fields);
            cap_fields = bound;
            if (!(fields = malloc((size_t)bound * sizeof *fields))) {
                rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
                goto done;
            }
        }
        int64_t n;
        if (split(q, delim, fields, cap_fields, &n) < 0) {
            rc = line_error(err, path, line, LPZ_EFORMAT, "a quoted field does not end on its line (lpz reads one "
                            "record per line, and a closing quote must be followed by the delimiter)");
            goto done;
        }
        if (width < 0) { /* the first line: the header, or the first row */
            int header = header_mode > 0;
            double v;
            for (int64_t j = 0; j < n && !header && header_mode < 0; j++)
                header = !number(fields[j], &v) && fields[j][0];
            /* A first row with a missing value ("1.5,NA") looks like a header: said, since it would be
             * dropped as one, naming its columns "1.5" and "NA" */
            for (int64_t j = 0; j < n && header && header_mode < 0; j++)
                if (number(fields[j], &v)) {
                    note(notes, "%s: the first line is read as the header, but its field %lld ('%s') is a number; "
                         "if the line is a row of data (with a missing value or text), set dataloader.header: "
                         "false, and if it is the header, header: true", path, (long long)(j + 1), fields[j]);
                    break;
                }
            if (header_mode < 0 && !header && n > 1) { /* pandas' names of unnamed columns: 0,1,...,n-1 */
                int64_t j = 0;
                while (j < n && number(fields[j], &v) && v == (double)j)
                    j++;
                if (j == n)
                    note(notes, "%s: the first line (0,1,...,%lld) is read as a row of numbers; if it is the "
                         "column names pandas writes for unnamed columns, set dataloader.header: true", path,
                         (long long)(n - 1));
            }
            width = n;
            first_line = line;
            if (label_column && n < 2) {
                rc = line_error(err, path, line, LPZ_EFORMAT, "one column (split at %s), and label_column takes "
                                "it: no values are left", npy_csv_delim_name(delim));
                goto done;
            }
            if (header) {
                if (!(c->names = calloc((size_t)n, sizeof *c->names))) {
                    rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
                    goto done;
                }
                c->cols = n; /* for npy_csv_free, until the label column is known */
                for (int64_t j = 0; j < n; j++)
                    if (!(c->names[j] = strdup(fields[j]))) {
                        rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory");
                        goto done;
                    }
            }
            if (c->names && !c->names[0][0] && n > 1)
                note(notes, "%s: column 1 has no name (pandas' index, written without index=False?); it is read "
                     "as values like the others", path);
            if (label_column && (lab = label_index(c, n, label_column, path, err)) < 0) {
                rc = LPZ_EINVAL;
                goto done;
            }
            if (c->names && lab >= 0) { /* the label's name goes; the values keep theirs */
                free(c->names[lab]);
                memmove(c->names + lab, c->names + lab + 1, (size_t)(n - lab - 1) * sizeof *c->names);
            }
            c->cols = n - (lab >= 0);
            if (header)
                continue;
        }
        if (n != width) {
            rc = line_error(err, path, line, LPZ_EFORMAT, "%lld field%s (split at %s); %s has %lld", (long long)n,
                            n == 1 ? "" : "s", npy_csv_delim_name(delim), c->names ? "the header" : "the first row",
                            (long long)width);
            if (n == width + 1 && !fields[n - 1][0]) /* "1\t2\t" under "x\ty": numpy/spreadsheet exports do it */
                lpz_error_hint(err, "its last field is empty, as a delimiter at the end of a line makes: remove "
                               "the %s ending the rows, or end line %lld with one too",
                               npy_csv_delim_name(delim), (long long)first_line);
            else
                lpz_error_hint(err, "every line needs one value per column, as line %lld has (%s)",
                               (long long)first_line, c->names ? "the header" : "the first row");
            goto done;
        }
        if ((rc = grow_rows(c, &cap_rows, max_rows, lab >= 0, err)))
            goto done;
        float *row = c->data + c->rows * c->cols;
        for (int64_t j = 0, k = 0; j < n; j++) {
            double v;
            int64_t jj = j; /* the column among the values, for messages */
            if (lab >= 0 && j > lab)
                jj = j - 1;
            int ok = fields[j][0] && number(fields[j], &v) && isfinite(v) && fabs(v) <= 3.4028234663852886e38;
            if (ok && j != lab) {
                row[k++] = (float)v;
                continue;
            }
            /* a label, or a field to complain about (named only then: per field it took half the time) */
            if (j == lab)
                snprintf(col, sizeof col, "column %lld (the label column)", (long long)(j + 1));
            else if (c->names)
                snprintf(col, sizeof col, "column %lld ('%.64s')", (long long)(j + 1), c->names[jj]);
            else
                snprintf(col, sizeof col, "column %lld", (long long)(j + 1));
            if (!fields[j][0]) {
                rc = line_error(err, path, line, LPZ_EFORMAT, "%s is empty (a missing value)", col);
                if (j == n - 1 && n > 1)
                    lpz_error_hint(err, "fill or drop the rows with missing values before training (pandas: "
                                        "df.dropna()); a delimiter at the end of every line makes an empty last "
                                        "column: remove it");
                else
                    lpz_error_hint(err, "fill or drop the rows with missing values before training (pandas: "
                                        "df.dropna())");
                goto done;
            }
            if (!number(fields[j], &v)) {
                rc = line_error(err, path, line, LPZ_EFORMAT, "%s: '%.64s' is not a number", col, fields[j]);
                /* "1.5,2.5" read at semicolons: the table's delimiter is another (it read "a decimal comma") */
                char others[4] = "", *o = others;
                for (const char *d = ",;\t"; *d; d++)
                    if (*d != delim)
                        *o++ = *d;
                const char *other = strpbrk(fields[j], others);
                const char *word = !other ? NULL : *other == ',' ? "comma" : *other == ';' ? "semicolon" : "tab";
                const char *comma = strchr(fields[j], ',');
                int one_comma = comma && !strchr(comma + 1, ',') && !strchr(fields[j], '.');
                if (thousands(fields[j]) && !(one_comma && delim == ';')) /* 1,500 at semicolons: 1.5 */
                    lpz_error_hint(err, "thousands separators need removing (1,500 as 1500; pandas: read_csv(..., "
                                   "thousands=',') then to_csv)");
                else if (other && !(*other == ',' && one_comma && delim == ';'))
                    lpz_error_hint(err, "the field holds a %s, and the table is read split at %s: if it is split at "
                                   "%ss, set dataloader.delimiter: %s (or auto)", word, npy_csv_delim_name(delim),
                                   word, word);
                else if (line == first_line)
                    lpz_error_hint(err, "a header line must be the first line; text columns (categories, dates) "
                                        "need encoding as numbers first");
                else
                    lpz_error_hint(err, "text columns (categories, dates) need encoding as numbers first; a "
                                        "decimal comma needs converting to a point");
                goto done;
            }
            if (!isfinite(v) || fabs(v) > 3.4028234663852886e38) {
                rc = line_error(err, path, line, LPZ_EFORMAT, "%s: '%.64s' is not a finite float32 number", col,
                                fields[j]);
                goto done;
            }
            if (j == lab) {
                if (!(v >= 0 && v < max_classes) || v != floor(v)) {
                    rc = line_error(err, path, line, LPZ_EFORMAT, "label '%.64s' in %s is not a whole number from "
                                    "0 to %d", fields[j], col, max_classes - 1);
                    goto done;
                }
                c->labels[c->rows] = (int32_t)v;
                if ((int32_t)v + 1 > c->n_classes)
                    c->n_classes = (int32_t)v + 1;
            }
        }
        if (++c->rows == max_rows)
            break;
    }
    if (!c->rows && more) /* the rest of the file may hold the first row */
        goto done;
    if (!c->rows) {
        lpz_error_set(err, LPZ_EFORMAT, "no rows of numbers%s", c->names ? " below the header" : "");
        lpz_error_where(err, "%s", path);
        rc = LPZ_EFORMAT;
        goto done;
    }
    c->delim = delim;
done:
    free(fields);
    if (rc)
        npy_csv_free(c);
    return rc;
}

int npy_csv_parse(char *text, size_t size, const char *path, char delim, int header_mode, const char *label_column,
                  int max_classes, npy_csv *out, lpz_error *err)
{
    return parse_table(text, size, path, delim, header_mode, label_column, max_classes, 0, 0, NULL, out, err);
}

int npy_csv_parse_first(char *text, size_t size, const char *path, char delim, int header_mode,
                        const char *label_column, int max_classes, int more, npy_csv_notes *notes, npy_csv *out,
                        lpz_error *err)
{
    return parse_table(text, size, path, delim, header_mode, label_column, max_classes, 1, more, notes, out, err);
}

/* Reads the file's start in growing pieces and parses its complete lines
 * again each time (a copy: parsing splits in place), until they hold the
 * first row or the file ends: everything up to that row is decided by
 * those lines. The checks of the whole text come first in a whole parse:
 * bare CR line ends cannot be found in a start that ends at a line end,
 * but a NUL byte further on can, and is then the whole parse's error
 * instead of one found in the start's lines: such an error is therefore
 * said only when the start is the whole file, else left undecided. Each
 * piece doubles, so the parsing is at most twice the bytes read. */
int npy_csv_head(const char *path, char delim, int header_mode, const char *label_column, int max_classes,
                 size_t max_bytes, npy_csv_notes *notes, npy_csv *out, lpz_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f;
    int rc = open_text(path, &f, err);
    if (rc)
        return rc;
    size_t cap = max_bytes < ((size_t)1 << 16) ? max_bytes : (size_t)1 << 16, n = 0;
    char *buf = NULL, *work = NULL;
    for (;;) {
        char *grown = realloc(buf, cap + 1), *grown_work = grown ? realloc(work, cap + 1) : NULL;
        buf = grown ? grown : buf;
        work = grown_work ? grown_work : work;
        if (!grown || !grown_work) {
            rc = lpz_error_set(err, LPZ_ENOMEM, "out of memory reading %s", path);
            break;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            rc = read_failed(path, err);
            break;
        }
        int end = n < cap; /* a regular file's fread stops short only at its end */
        size_t use = n;
        if (!end) /* complete lines only */
            for (use = n; use > 0 && buf[use - 1] != '\n'; use--)
                ;
        memcpy(work, buf, use);
        work[use] = '\0';
        if (notes)
            npy_csv_notes_flush(notes, 0);
        rc = npy_csv_parse_first(work, use, path, delim, header_mode, label_column, max_classes, !end, notes, out,
                                 err);
        if (rc && !end) { /* undecided: a NUL byte in the rest would be said first */
            lpz_error_clear(err);
            rc = LPZ_OK;
            break;
        }
        if (rc || out->rows > 0 || end || cap >= max_bytes) /* the last: undecided, out->rows 0 */
            break;
        cap = cap > max_bytes / 2 ? max_bytes : cap * 2;
    }
    fclose(f);
    free(buf);
    free(work);
    return rc;
}
