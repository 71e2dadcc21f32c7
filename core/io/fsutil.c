/* core/io/fsutil.c - atomic writes, mkdir -p, whole-file reads.
 * Owns: the temporary-name-then-rename protocol every lpz writer uses.
 * Calls: libc/POSIX and lpz_error only. */
#include "io/fsutil.h"
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Distinguishes temporary files of several writers of one process. */
static unsigned long tmp_counter;

static int status_for_errno(int e)
{
    return (e == ENOENT || e == ENOTDIR) ? LPZ_ENOTFOUND : LPZ_EIO;
}

/* fsync of the folder holding path, so the rename itself is durable.
 * Best effort: some file systems refuse fsync on directories. */
static void sync_parent_dir(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int lpz_atomic_open(lpz_atomic_file *f, const char *path, lpz_error *err)
{
    if (!f)
        return lpz_error_set(err, LPZ_EINVAL, "no atomic file given");
    f->fp = NULL;
    f->path[0] = f->tmp_path[0] = '\0';
    f->no_sync = 0;
    if (!path || !path[0])
        return lpz_error_set(err, LPZ_EINVAL, "empty output file name");
    size_t n = strlen(path);
    if (n + 48 >= sizeof f->tmp_path) {
        lpz_error_set(err, LPZ_EINVAL, "file name is too long (%zu bytes)", n);
        lpz_error_where(err, "%.200s...", path);
        return LPZ_EINVAL;
    }
    if (path[n - 1] == '/') {
        lpz_error_set(err, LPZ_EINVAL, "output file name ends with '/'");
        lpz_error_where(err, "%s", path);
        return LPZ_EINVAL;
    }
    unsigned long k = __atomic_fetch_add(&tmp_counter, 1, __ATOMIC_RELAXED);
    memcpy(f->path, path, n + 1);
    snprintf(f->tmp_path, sizeof f->tmp_path, "%s.tmp.%ld.%lu", path, (long)getpid(), k);
    /* O_EXCL: never follow or reuse a file someone else put there. */
    int fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        int rc = lpz_error_set(err, status_for_errno(e), "cannot create file: %s", strerror(e));
        lpz_error_where(err, "%s", path);
        if (e == ENOENT)
            lpz_error_hint(err, "the folder must exist");
        f->tmp_path[0] = '\0';
        return rc;
    }
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int e = errno;
        close(fd);
        unlink(f->tmp_path);
        f->tmp_path[0] = '\0';
        lpz_error_set(err, LPZ_EIO, "cannot open file stream: %s", strerror(e));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return LPZ_OK;
}

int lpz_atomic_commit(lpz_atomic_file *f, lpz_error *err)
{
    if (!f || !f->fp)
        return lpz_error_set(err, LPZ_ESTATE, "atomic file is not open");
    int e = 0;
    if (fflush(f->fp) != 0 || ferror(f->fp))
        e = errno ? errno : EIO;
    if (!e && !f->no_sync && fsync(fileno(f->fp)) != 0 && errno != EINVAL && errno != EROFS)
        e = errno;
    if (fclose(f->fp) != 0 && !e)
        e = errno ? errno : EIO;
    f->fp = NULL;
    if (!e && rename(f->tmp_path, f->path) != 0)
        e = errno;
    if (e) {
        unlink(f->tmp_path);
        f->tmp_path[0] = '\0';
        lpz_error_set(err, LPZ_EIO, "cannot write file: %s", strerror(e));
        lpz_error_where(err, "%s", f->path);
        if (e == ENOSPC || e == EDQUOT)
            lpz_error_hint(err, "free some disk space");
        return LPZ_EIO;
    }
    f->tmp_path[0] = '\0';
    if (!f->no_sync)
        sync_parent_dir(f->path);
    return LPZ_OK;
}

int lpz_sync_folder(const char *dir, lpz_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        lpz_error_set(err, status_for_errno(e), "cannot open folder: %s", strerror(e));
        lpz_error_where(err, "%s", dir);
        return err ? err->code : LPZ_EIO;
    }
    int e = 0;
    if (syncfs(fd) != 0 || (fsync(fd) != 0 && errno != EINVAL && errno != EROFS))
        e = errno;
    close(fd);
    if (e) {
        lpz_error_set(err, LPZ_EIO, "cannot flush the files written to disk: %s", strerror(e));
        lpz_error_where(err, "%s", dir);
        return LPZ_EIO;
    }
    return LPZ_OK;
}

void lpz_atomic_abort(lpz_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->tmp_path[0]) {
        unlink(f->tmp_path);
        f->tmp_path[0] = '\0';
    }
}

int lpz_write_file_atomic(const char *path, const void *data, size_t size, lpz_error *err)
{
    lpz_atomic_file f;
    int rc = lpz_atomic_open(&f, path, err);
    if (rc)
        return rc;
    if (size > 0 && fwrite(data, 1, size, f.fp) != size) {
        int e = errno;
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "cannot write file: %s", strerror(e ? e : EIO));
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}

int lpz_read_file(const char *path, size_t max_size, char **data, size_t *size, lpz_error *err)
{
    if (!path || !data || !size)
        return lpz_error_set(err, LPZ_EINVAL, "lpz_read_file: missing argument");
    *data = NULL;
    *size = 0;
    /* Regular files only: a FIFO would block the open or the reads, a
     * device such as /dev/zero never end (a model path pointing at one
     * read gigabytes before the size limit stopped it). */
    struct stat st;
    const char *kind;
    int fd = lpz_open_regular(path, &st, &kind);
    if (fd == -2) {
        lpz_error_set(err, LPZ_EIO, "not a regular file (%s)", kind);
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    if (fd < 0) {
        int e = errno;
        lpz_error_set(err, status_for_errno(e), "cannot open file: %s", strerror(e));
        lpz_error_where(err, "%s", path);
        return status_for_errno(e);
    }
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        lpz_error_set(err, LPZ_EFORMAT, "file is too large (%lld bytes, the limit is %zu)", (long long)st.st_size,
                      max_size);
        lpz_error_where(err, "%s", path);
        return LPZ_EFORMAT;
    }
    /* One allocation of the right size; a file that grows meanwhile (or
     * reports size 0, as those of /proc do) grows the buffer, still bounded
     * by max_size. */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
    if (cap > max_size + 1)
        cap = max_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory reading %s (%zu bytes)", path, cap);
    }
    size_t len = 0;
    for (;;) {
        if (len + 1 >= cap) {
            if (len >= max_size) {
                /* Exactly max_size read; one more byte means too large. */
                char probe;
                ssize_t r = read(fd, &probe, 1);
                if (r == 0)
                    break;
                free(buf);
                close(fd);
                lpz_error_set(err, LPZ_EFORMAT, "file is larger than the limit of %zu bytes", max_size);
                lpz_error_where(err, "%s", path);
                return LPZ_EFORMAT;
            }
            size_t ncap = cap * 2 > max_size + 1 ? max_size + 1 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                return lpz_error_set(err, LPZ_ENOMEM, "out of memory reading %s", path);
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            lpz_error_set(err, LPZ_EIO, "cannot read file: %s", strerror(e));
            lpz_error_where(err, "%s", path);
            return LPZ_EIO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return LPZ_OK;
}

int lpz_mkdirs(const char *path, lpz_error *err)
{
    if (!path || !path[0])
        return lpz_error_set(err, LPZ_EINVAL, "empty folder name");
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) {
        lpz_error_set(err, LPZ_EINVAL, "folder name is too long (%zu bytes)", n);
        return LPZ_EINVAL;
    }
    memcpy(buf, path, n + 1);
    /* Create every prefix ending before a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (buf[i - 1] == '/')
            continue; /* "a//b" */
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            lpz_error_set(err, LPZ_EIO, "cannot create folder: %s", strerror(e));
            lpz_error_where(err, "%s", buf);
            return LPZ_EIO;
        }
        if (!lpz_is_dir(buf)) {
            lpz_error_set(err, LPZ_EIO, "exists and is not a folder");
            lpz_error_where(err, "%s", buf);
            return LPZ_EIO;
        }
        buf[i] = saved;
    }
    return LPZ_OK;
}

void lpz_missing_top(const char *path, char *top, size_t size)
{
    if (size)
        top[0] = '\0';
    size_t n = path ? strlen(path) : 0;
    if (!n || n >= size)
        return;
    memcpy(top, path, n + 1);
    /* A path that climbs back out (a/new/../old) would name, after the new
     * folder, one that was there before: nothing to undo then. */
    if (strstr(path, "/..") || !strncmp(path, "../", 3) || !strcmp(path, "..")) {
        top[0] = '\0';
        return;
    }
    /* The prefixes lpz_mkdirs creates, outermost first. */
    for (size_t i = 1; i <= n; i++) {
        if ((top[i] != '/' && top[i] != '\0') || top[i - 1] == '/')
            continue;
        char saved = top[i];
        top[i] = '\0';
        struct stat st;
        if (stat(top, &st) != 0)
            return; /* top is this prefix */
        top[i] = saved;
    }
    top[0] = '\0'; /* path exists */
}

void lpz_rmdirs_empty(const char *path, const char *top)
{
    size_t tn = top ? strlen(top) : 0, n = path ? strlen(path) : 0;
    char buf[4096];
    if (!tn || n >= sizeof buf || tn > n || strncmp(path, top, tn) != 0)
        return;
    memcpy(buf, path, n + 1);
    for (;;) {
        while (n > 1 && buf[n - 1] == '/')
            buf[--n] = '\0';
        if (n < tn || rmdir(buf) != 0)
            return;
        while (n > 0 && buf[n - 1] != '/')
            n--;
        buf[n] = '\0';
    }
}

int lpz_is_file(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int lpz_is_dir(const char *path)
{
    struct stat st;
    return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
