/* tools/pcap2npy/paths.c - whether two path names are the same file, so
 * that main.c can refuse an output that would overwrite the input or
 * another output before anything is read or written.
 */
#include "p2n.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The real folder of path (symbolic links, "." and ".." resolved) joined
 * with its last component, malloc'd; NULL when the folder cannot be
 * resolved or the last component is not a file name. */
static char *canonical_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return NULL;
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL;
    free(dir);
    if (!real)
        return NULL;
    size_t n = strlen(real) + strlen(base) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s%s", real, strcmp(real, "/") == 0 ? "" : "/", base);
    free(real);
    return out;
}

int p2n_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb) /* one exists, the other does not (yet) */
        return 0;
    char *ca = canonical_name(a), *cb = canonical_name(b);
    int same = ca && cb ? strcmp(ca, cb) == 0 : strcmp(a, b) == 0;
    free(ca);
    free(cb);
    return same;
}
