/* tests/io/io_test_util.h - scratch folders and file helpers for the io
 * tests (static inline: each test is one translation unit). */
#ifndef LPZ_TEST_IO_UTIL_H
#define LPZ_TEST_IO_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh folder under $TMPDIR (or /tmp); path written into buf. */
static inline int io_test_mkdtemp(char *buf, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/lpz-%s-XXXXXX", base && base[0] ? base : "/tmp", tag);
    return mkdtemp(buf) ? 0 : -1;
}

/* Removes a folder and the plain files in it (the tests make no deeper
 * trees except where they clean up themselves). */
static inline void io_test_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p)
            continue;
        if (unlink(p) != 0)
            io_test_rmtree(p);
    }
    closedir(d);
    rmdir(dir);
}

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
