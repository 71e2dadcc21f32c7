/* core/config/scalar.c - typed scalar parsing and closest-name search.
 * Owns: nothing but pure functions. Calls: libc only. */
#include "config/scalar.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int lpz_scalar_bool(const char *text, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    /* YAML 1.1 allows only all-lower, Capitalised or ALL-UPPER spellings. */
    for (int pass = 0; pass < 2; pass++) {
        const char *const *words = pass == 0 ? yes : no;
        for (int i = 0; i < 3; i++) {
            const char *w = words[i];
            size_t n = strlen(w);
            if (strlen(text) != n || strcasecmp(text, w) != 0)
                continue;
            int lower = 1, upper = 1;
            for (size_t k = 0; k < n; k++) {
                if (text[k] != w[k])
                    lower = 0;
                if (text[k] != toupper((unsigned char)w[k]))
                    upper = 0;
            }
            int cap = text[0] == toupper((unsigned char)w[0]) && strcmp(text + 1, w + 1) == 0;
            if (lower || upper || cap) {
                *out = pass == 0;
                return 1;
            }
        }
    }
    return 0;
}

int lpz_scalar_int(const char *text, int64_t *out)
{
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return 0;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return 0;
    errno = 0;
    long long v = strtoll(text, NULL, 10);
    if (errno == ERANGE)
        return 0;
    *out = (int64_t)v;
    return 1;
}

int lpz_scalar_float(const char *text, double *out)
{
    if (!*text || isspace((unsigned char)*text))
        return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v))
        return 0;
    /* strtod also reads hexadecimal floats; YAML does not. */
    if (strchr(text, 'x') || strchr(text, 'X'))
        return 0;
    *out = v;
    return 1;
}

int lpz_scalar_is_null(const char *text)
{
    return !*text || !strcmp(text, "~") || !strcmp(text, "null") || !strcmp(text, "Null") ||
           !strcmp(text, "NULL");
}

int lpz_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 127 || lb > 127)
        return 1000;
    int row[128];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

int lpz_closest(const char *name, const char *const *candidates, size_t n)
{
    int best = -1, best_d = 1 << 20;
    for (size_t i = 0; i < n; i++) {
        int d = lpz_edit_distance(name, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = (int)i;
        }
    }
    int limit = (int)strlen(name) / 3;
    if (limit < 2)
        limit = 2;
    return best_d <= limit ? best : -1;
}
