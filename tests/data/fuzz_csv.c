/* tests/data/fuzz_csv.c - the npy dataloader's CSV reader on any bytes,
 * with and without a label column. Must never crash, leak or read out of
 * bounds; a table it accepts must be consistent (every value finite and
 * float32, labels in range, names for every column when it has a header),
 * and a refusal must leave nothing allocated and say why. The first row
 * alone (describe's read, npy_csv_parse_first) must agree with the whole
 * parse, on the whole text and on its start cut at a line end. */
#include "../../plugins/dataloaders/npy/csv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The first n bytes of data as a NUL-terminated copy, or NULL. */
static char *copy(const uint8_t *data, size_t n)
{
    char *text = malloc(n + 1);
    if (text && n)
        memcpy(text, data, n);
    if (text)
        text[n] = '\0';
    return text;
}

/* npy_csv_parse_first on the first n bytes (more: the text goes on). */
static int first(const uint8_t *data, size_t n, int more, char delim, int header, const char *label, npy_csv *out,
                 lpz_error *err)
{
    char *text = copy(data, n);
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    if (!text)
        return -1;
    npy_csv_notes notes;
    memset(&notes, 0, sizeof notes);
    int rc = npy_csv_parse_first(text, n, "fuzz.csv", delim, header, label, 16, more, &notes, out, err);
    npy_csv_notes_flush(&notes, 0);
    free(text);
    if (rc == LPZ_OK && out->rows > 1)
        __builtin_trap();
    return rc;
}

/* Two tables agree up to their first row: delimiter, columns, names, the
 * first row's values and label. */
static int same_start(const npy_csv *a, const npy_csv *b)
{
    if (a->delim != b->delim || a->cols != b->cols || !a->names != !b->names || !a->labels != !b->labels ||
        memcmp(a->data, b->data, (size_t)a->cols * sizeof *a->data) || (a->labels && a->labels[0] != b->labels[0]))
        return 0;
    for (int64_t j = 0; a->names && j < a->cols; j++)
        if (strcmp(a->names[j], b->names[j]))
            return 0;
    return 1;
}

static int same_error(const lpz_error *a, const lpz_error *b)
{
    return a->code == b->code && !strcmp(a->message, b->message) && !strcmp(a->where, b->where) &&
           !strcmp(a->hint, b->hint);
}

/* describe's reads agree with open's: the first row of the whole text
 * errs exactly as the whole parse, or agrees with the table it takes; the
 * start of the text up to a line end (more follows) tells the same first
 * row or nothing, and errs as the whole text's first row unless a NUL byte
 * further on makes the whole text's error that instead. */
static void check_first(const uint8_t *data, size_t size, char delim, int header, const char *label, int rc,
                        const npy_csv *whole, const lpz_error *werr)
{
    npy_csv f, p;
    lpz_error ferr, perr;
    int frc = first(data, size, 0, delim, header, label, &f, &ferr);
    if (frc < 0)
        return;
    if ((frc != LPZ_OK && (rc == LPZ_OK || !same_error(&ferr, werr))) ||
        (rc == LPZ_OK && (frc != LPZ_OK || f.rows != 1 || !same_start(&f, whole))))
        __builtin_trap();
    const uint8_t *nl = size > 1 ? memchr(data + size / 2, '\n', size - size / 2) : NULL;
    if (nl && (size_t)(nl - data) + 1 < size) {
        int prc = first(data, (size_t)(nl - data) + 1, 1, delim, header, label, &p, &perr);
        int nul_after = memchr(data, '\0', size) != NULL;
        if (prc == LPZ_OK && p.rows == 1 && frc == LPZ_OK && !same_start(&p, &f))
            __builtin_trap();
        if (prc == LPZ_OK && p.rows == 1 && frc != LPZ_OK && !(nul_after && strstr(ferr.message, "NUL")))
            __builtin_trap();
        if (prc > 0 && !nul_after && (frc == LPZ_OK || !same_error(&perr, &ferr)))
            __builtin_trap();
        npy_csv_free(&p);
    }
    npy_csv_free(&f);
}

static void check(const uint8_t *data, size_t size, char delim, int header, const char *label)
{
    char *text = copy(data, size);
    if (!text)
        return;
    npy_csv c;
    lpz_error err;
    memset(&err, 0, sizeof err);
    int rc = npy_csv_parse(text, size, "fuzz.csv", delim, header, label, 16, &c, &err);
    free(text);
    check_first(data, size, delim, header, label, rc, &c, &err);
    if (rc != LPZ_OK) {
        if (c.data || c.names || c.labels || c.rows || !err.message[0])
            __builtin_trap();
        return;
    }
    if (c.rows < 1 || c.cols < 1 || !c.data || (label && (!c.labels || c.n_classes < 1 || c.n_classes > 16)) ||
        (!label && c.labels))
        __builtin_trap();
    for (int64_t i = 0; i < c.rows * c.cols; i++)
        if (!isfinite(c.data[i]))
            __builtin_trap();
    for (int64_t i = 0; label && i < c.rows; i++)
        if (c.labels[i] < 0 || c.labels[i] >= c.n_classes)
            __builtin_trap();
    for (int64_t j = 0; c.names && j < c.cols; j++)
        if (!c.names[j])
            __builtin_trap();
    npy_csv_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size, 0, -1, NULL);
    check(data, size, ';', 1, "2");
    check(data, size, ' ', 0, NULL);
    check(data, size, '\t', -1, "1");
    check(data, size, 0, -1, "class");
    return 0;
}
