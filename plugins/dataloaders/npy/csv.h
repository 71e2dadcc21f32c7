/* plugins/dataloaders/npy/csv.h - the npy dataloader's reader of CSV (and
 * other delimited text) files: a table of numbers, one sample per line.
 * Plugin-internal (tests/data/test_npy.c compiles it in). */
#ifndef LPZ_PLUGIN_NPY_CSV_H
#define LPZ_PLUGIN_NPY_CSV_H

#include <lpz/lpz.h>

typedef struct npy_csv {
    float *data;      /* rows x cols values, by row (the label column left out) */
    int64_t rows, cols;
    char **names;     /* cols names from the header line, or NULL when the file has none */
    int32_t *labels;  /* rows class numbers when a label column was asked for, else NULL */
    int32_t n_classes; /* the largest label + 1 */
    char delim;       /* the delimiter used: ',', ';', '\t' or ' ' (runs of blanks) */
} npy_csv;

/* Reads path: blank lines and lines starting with '#' (numpy.savetxt's
 * header) are skipped, a UTF-8 byte-order mark too; the first other line
 * is a header when one of its fields is not a number; every other line is
 * one sample of as many numbers. Fields may be "quoted" ("" for a quote);
 * a record does not span lines. header_mode: -1 as above, 1 the first line
 * is a header, 0 it is a row (a warning names a first line 0,1,...,n-1,
 * pandas' names of unnamed columns). Only regular files are read (a pipe
 * or device is refused). delim: 0 finds it on the first line (the
 * most frequent of ',', ';' and tab outside quotes; none: blanks, or a
 * single column), else ',', ';', '\t' or ' '. label_column (NULL: none):
 * the header name, or the number counted from 1, of a column of whole
 * numbers 0..max_classes-1 taken as labels and left out of the values.
 * Errors name the file, line and column. On failure *out holds nothing. */
int npy_csv_load(const char *path, char delim, int header_mode, const char *label_column, int max_classes,
                 npy_csv *out, lpz_error *err);
/* The same on the file's bytes: text[size] must be '\0'; text is written
 * into (fields are split in place). path names the table in messages. */
int npy_csv_parse(char *text, size_t size, const char *path, char delim, int header_mode, const char *label_column,
                  int max_classes, npy_csv *out, lpz_error *err);
void npy_csv_free(npy_csv *c);

/* "commas", "semicolons", "tabs" or "blanks", for messages. */
const char *npy_csv_delim_name(char delim);

/* 1 when the file starts with the .npy magic ("\x93NUMPY"), 0 when not
 * (or when it cannot be read: the loader then says why). */
int npy_is_npy_file(const char *path);

#endif
