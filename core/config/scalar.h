/* core/config/scalar.h - YAML scalar text to typed values, and "did you
 * mean" suggestions. Shared by the run-file parser (config.c) and plugin
 * options (options.c); lpz_closest also gives the CLI's (core/cli) and
 * lpz-pcap2npy's suggestions for misspelt options. */
#ifndef LPZ_CONFIG_SCALAR_H
#define LPZ_CONFIG_SCALAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 1 and *out set when text is a YAML 1.1 boolean as the original Python
 * system wrote them: true/false, True/False, TRUE/FALSE, yes/no, on/off. */
int lpz_scalar_bool(const char *text, int *out);

/* 1 and *out set when text is a whole decimal number (optional sign) that
 * fits in int64. "1.0", "1e3", "" and trailing text are refused. */
int lpz_scalar_int(const char *text, int64_t *out);

/* 1 and *out set when text is a finite number ("0.0002", "2e-4", "5").
 * nan and inf are refused. */
int lpz_scalar_float(const char *text, double *out);

/* 1 when text is YAML's null as a plain scalar: "", "~", "null", "Null", "NULL". */
int lpz_scalar_is_null(const char *text);

/* Levenshtein distance, case-insensitive; strings longer than 127 bytes
 * compare as far apart. */
int lpz_edit_distance(const char *a, const char *b);

/* Index of the candidate closest to `name` when it is close enough to be a
 * plausible typo (distance <= max(2, len/3)), else -1. */
int lpz_closest(const char *name, const char *const *candidates, size_t n);

/* A value quoted in a message, for "'%.*s%s'": at most LPZ_SHOWN_MAX
 * characters of it, then "...". A value can be a whole file (a scalar
 * !include'd) or thousands of digits; the message names the key and the
 * place either way. */
#define LPZ_SHOWN_MAX 60
#define LPZ_SHOWN(text) (strlen(text) > LPZ_SHOWN_MAX ? LPZ_SHOWN_MAX : (int)strlen(text)), (text), \
                        (strlen(text) > LPZ_SHOWN_MAX ? "..." : "")

#endif
