/* core/io/fsutil.h - files written safely, folders made, whole files read.
 *
 * Every file lpz writes goes to "<path>.tmp.<pid>.<n>" first and is renamed
 * over <path> when complete, so a crash never leaves a half-written model,
 * metrics file or report behind.
 */
#ifndef LPZ_IO_FSUTIL_H
#define LPZ_IO_FSUTIL_H

#include <lpz/error.h>
#include <stdio.h>

/* An open temporary file that becomes `path` on commit. */
typedef struct lpz_atomic_file {
    FILE *fp;
    char path[4096];
    char tmp_path[4096];
    int no_sync; /* 0 from open; set to 1 to skip commit's fsyncs (many small files: lpz_sync_folder once after) */
} lpz_atomic_file;

/* Opens a temporary file next to path (the folder must exist). */
int lpz_atomic_open(lpz_atomic_file *f, const char *path, lpz_error *err);
/* Flushes, fsyncs and renames onto path. Closes in every case. */
int lpz_atomic_commit(lpz_atomic_file *f, lpz_error *err);
/* Closes and removes the temporary file (after a failure). */
void lpz_atomic_abort(lpz_atomic_file *f);

/* Makes what was written into the folder durable: syncfs of its file
 * system, then fsync of the folder (after commits with no_sync: one call
 * instead of two fsyncs per file, which took 0.4 ms a file here). */
int lpz_sync_folder(const char *dir, lpz_error *err);

/* Writes `size` bytes as the whole content of path, atomically. */
int lpz_write_file_atomic(const char *path, const void *data, size_t size, lpz_error *err);

/* Reads the whole file (at most max_size bytes, else LPZ_EFORMAT) into a
 * malloc'd buffer with a NUL byte appended (not counted in *size). */
int lpz_read_file(const char *path, size_t max_size, char **data, size_t *size, lpz_error *err);

/* mkdir -p; existing folders are fine. */
int lpz_mkdirs(const char *path, lpz_error *err);

/* The outermost folder lpz_mkdirs(path) would create (the first prefix of
 * path that does not exist) into top; "" when path exists or climbs back
 * out with ".." (a/new/../old: undoing would not be safe). */
void lpz_missing_top(const char *path, char *top, size_t size);

/* Undoes lpz_mkdirs(path) where nothing was put: removes path, then its
 * parents up to and including top (lpz_missing_top before the mkdirs), while
 * they are empty (rmdir: a folder holding anything stays, and so do its
 * parents). top "" removes nothing. */
void lpz_rmdirs_empty(const char *path, const char *top);

/* 1 when path is an existing regular file / directory. */
int lpz_is_file(const char *path);
int lpz_is_dir(const char *path);

#endif
