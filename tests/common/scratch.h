/* tests/common/scratch.h - scratch folders for the tests (static inline:
 * each test is one translation unit). lpz_add_test puts tests/common on
 * the include path. */
#ifndef LPZ_TEST_SCRATCH_H
#define LPZ_TEST_SCRATCH_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh folder under $TMPDIR (or /tmp) named lpz-<tag>-XXXXXX; its path
 * is written into buf. Returns 0, or -1 when it cannot be made. */
static inline int lpz_test_mkdtemp(char *buf, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, cap, "%s/lpz-%s-XXXXXX", base && base[0] ? base : "/tmp", tag);
    return mkdtemp(buf) ? 0 : -1;
}

/* Removes a folder tree. */
static inline void lpz_test_rmtree(const char *dir)
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
            lpz_test_rmtree(p);
    }
    closedir(d);
    rmdir(dir);
}

#endif
