/* Fuzz target: any bytes as a run file. The parser must never crash, hang
 * or leak; and whatever it accepts and validates must dump to YAML that
 * loads and validates again to the same dump (traps otherwise). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static char *dump(const lpz_config *cfg, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    lpz_error err;
    int rc = lpz_config_dump(cfg, f, &err);
    fclose(f);
    if (rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lpz_config cfg, again;
    lpz_error err;
    if (lpz_config_load_buffer((const char *)data, size, "fuzz.yml", &cfg, &err) == LPZ_OK &&
        lpz_config_validate(&cfg, &err) == LPZ_OK) {
        size_t len1 = 0, len2 = 0;
        char *first = dump(&cfg, &len1);
        if (!first)
            __builtin_trap();
        if (lpz_config_load_buffer(first, len1, "fuzz.yml", &again, &err) != LPZ_OK ||
            lpz_config_validate(&again, &err) != LPZ_OK)
            __builtin_trap();
        char *second = dump(&again, &len2);
        /* The dumps' comments name where values came from, which differs
         * (fuzz.yml lines); compare the values only, line by line. */
        for (char *a = first, *b = second; a && b && *a && *b;) {
            size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
            char *ca = memchr(a, '#', la), *cb = memchr(b, '#', lb);
            size_t va = ca ? (size_t)(ca - a) : la, vb = cb ? (size_t)(cb - b) : lb;
            while (va && a[va - 1] == ' ')
                va--;
            while (vb && b[vb - 1] == ' ')
                vb--;
            if (a != first && (va != vb || memcmp(a, b, va)))
                __builtin_trap();
            a += la + (a[la] == '\n');
            b += lb + (b[lb] == '\n');
        }
        free(first);
        free(second);
        lpz_config_destroy(&again);
    }
    lpz_config_destroy(&cfg);
    return 0;
}
