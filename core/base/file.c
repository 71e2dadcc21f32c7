/* core/base/file.c - see file.h. */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

const char *lpz_file_kind(mode_t mode)
{
    return S_ISREG(mode)    ? "a regular file"
           : S_ISDIR(mode)  ? "a folder"
           : S_ISFIFO(mode) ? "a FIFO"
           : S_ISCHR(mode)  ? "a character device"
           : S_ISBLK(mode)  ? "a block device"
           : S_ISSOCK(mode) ? "a socket"
                            : "an unknown kind of file";
}

/* open(2) with O_NONBLOCK, then only a regular file is kept (see file.h). */
static int open_checked(const char *path, int flags, struct stat *st, const char **kind)
{
    *kind = NULL;
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0666); /* created: as fopen, less umask */
    if (fd < 0) {
        int e = errno;
        struct stat ls;
        if ((e == ENXIO || e == EISDIR) && stat(path, &ls) == 0 && !S_ISREG(ls.st_mode)) { /* FIFO, folder */
            *kind = lpz_file_kind(ls.st_mode);
            return -2;
        }
        if (e == ELOOP && (flags & O_NOFOLLOW) && lstat(path, &ls) == 0 && S_ISLNK(ls.st_mode)) {
            *kind = "a symbolic link";
            return -2;
        }
        errno = e;
        return -1;
    }
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        *kind = lpz_file_kind(st->st_mode);
        close(fd);
        return -2;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int lpz_open_regular(const char *path, struct stat *st, const char **kind)
{
    return open_checked(path, O_RDONLY, st, kind);
}

/* fdopen, closing fd (errno kept) when it fails; NULL for fd < 0. */
static FILE *stream_of(int fd, const char *mode)
{
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, mode);
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

FILE *lpz_fopen_append_regular(const char *path, const char **kind)
{
    struct stat st;
    int fd = open_checked(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, &st, kind);
    if (fd >= 0)
        (void)lseek(fd, 0, SEEK_END); /* ftell tells the length at once, as after fopen(path, "a") */
    return stream_of(fd, "a");
}

FILE *lpz_fopen_regular(const char *path, struct stat *st, const char **kind)
{
    return stream_of(lpz_open_regular(path, st, kind), "rb");
}
