/* tests/io/io_test_util.h - scratch folders and file helpers for the io
 * tests (static inline: each test is one translation unit). */
#ifndef LPZ_TEST_IO_UTIL_H
#define LPZ_TEST_IO_UTIL_H

#include "scratch.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* Number of entries in dir whose name contains `part` (NULL: all). */
static inline int io_test_count(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!part || strstr(e->d_name, part))
            n++;
    }
    closedir(d);
    return n;
}

static inline int io_test_write(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t w = fwrite(data, 1, n, fp);
    fclose(fp);
    return w == n ? 0 : -1;
}

/* Reads up to cap bytes; returns the count or -1. */
static inline long io_test_read(const char *path, void *data, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    size_t r = fread(data, 1, cap, fp);
    fclose(fp);
    return (long)r;
}

#endif
