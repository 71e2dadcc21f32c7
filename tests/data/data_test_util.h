/* tests/data/data_test_util.h - scratch folders, file writers and plugin
 * contexts for the data tests (static inline: each test is one unit). */
#ifndef LPZ_TEST_DATA_UTIL_H
#define LPZ_TEST_DATA_UTIL_H

#include "config/options_internal.h"

#include <lpz/lpz.h>

#include "scratch.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static inline int dt_write(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t w = fwrite(data, 1, n, fp);
    return fclose(fp) == 0 && w == n ? 0 : -1;
}

/* A version 1.0 .npy: header dict padded to a multiple of 64 bytes. 0 on
 * success. */
static inline int dt_write_npy(const char *path, const char *descr, const char *fortran, const char *shape,
                               const void *data, size_t n)
{
    char dict[256];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fortran, shape);
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)(len + pad + 1);
    uint8_t *buf = malloc(10 + hlen + n);
    if (!buf)
        return -1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)len);
    memset(buf + 10 + len, ' ', (size_t)pad);
    buf[10 + len + pad] = '\n';
    memcpy(buf + 10 + hlen, data, n);
    int rc = dt_write(path, buf, 10 + hlen + n);
    free(buf);
    return rc;
}

/* Reads a whole text file (malloc'd, NUL-terminated) or NULL. */
static inline char *dt_slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* Number of entries in dir whose name contains `part`. */
static inline int dt_count(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && strstr(e->d_name, part))
            n++;
    closedir(d);
    return n;
}

/* Options of a plugin from "key", "value" pairs ending with NULL, as the
 * core would fill them from a run file. NULL on a rejected value. */
static inline lpz_options *dt_options(const lpz_plugin *p, ...)
{
    lpz_options *o = lpz_options_create(p->options, p->name);
    va_list ap;
    va_start(ap, p);
    const char *k;
    while (o && (k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        lpz_error err;
        if (lpz_options_set(o, k, v, "test.yml:1:1", &err) != LPZ_OK) {
            char buf[2048];
            fprintf(stderr, "option %s: %s\n", k, lpz_error_format(&err, buf, sizeof buf));
            lpz_options_destroy(o);
            o = NULL;
        }
    }
    va_end(ap);
    return o;
}

static inline lpz_dataset_context dt_context(const lpz_options *o, const char *dir)
{
    lpz_dataset_context c;
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    c.options = o;
    c.output_dir = dir;
    c.cache_dir = dir;
    c.config_dir = dir;
    c.run_dir = NULL;
    c.split = LPZ_SPLIT_TRAIN;
    return c;
}

/* Prints an error for the test log and returns its code. */
static inline int dt_show(const lpz_error *err)
{
    char buf[3072];
    printf("# error: %s\n", lpz_error_format(err, buf, sizeof buf));
    return err->code;
}

#endif
