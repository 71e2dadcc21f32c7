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

/* Warnings about a table's first line (a header with a number in it,
 * pandas' names of unnamed columns, a column without a name), kept for the
 * caller instead of logged: describe reads the first lines before open
 * reads them again, and says them only when it fails (else open does). */
#define NPY_CSV_MAX_NOTES 4
typedef struct npy_csv_notes {
    int n;
    char *text[NPY_CSV_MAX_NOTES]; /* malloc'd lines */
} npy_csv_notes;
/* Logs the notes as warnings when log is 1, then frees them. */
void npy_csv_notes_flush(npy_csv_notes *notes, int log);

/* npy_csv_parse stopping after the first row: out then holds one row and
 * everything the first lines decide (delimiter, names, columns, the label
 * column), by the same code and with the same errors as the whole parse.
 * more: text is only the start of the file and ends at a line end;
 * running out of it before a row is then not an error (out->rows 0: read
 * more). notes: NULL logs the warnings, else they are kept there. */
int npy_csv_parse_first(char *text, size_t size, const char *path, char delim, int header_mode,
                        const char *label_column, int max_classes, int more, npy_csv_notes *notes, npy_csv *out,
                        lpz_error *err);

/* npy_csv_load reading only as far as the table's first row (and, for a
 * file without one, to its end): its columns before the whole file is read
 * (the npy dataloader's describe). out->rows is then 1, or the error is
 * the one npy_csv_load gives. Undecided (LPZ_OK with out->rows 0): the
 * first row does not end within max_bytes, or the lines up to it hold an
 * error and the file goes on (npy_csv_load would say first that a NUL
 * byte further on makes it no text file). */
int npy_csv_head(const char *path, char delim, int header_mode, const char *label_column, int max_classes,
                 size_t max_bytes, npy_csv_notes *notes, npy_csv *out, lpz_error *err);

/* "commas", "semicolons", "tabs" or "blanks", for messages. */
const char *npy_csv_delim_name(char delim);

/* 1 when the file starts with the .npy magic ("\x93NUMPY"), 0 when not
 * (or when it cannot be read: the loader then says why). */
int npy_is_npy_file(const char *path);

#endif
