/* core/base/file.h - opening a file the user named, for reading, without
 * being caught by what is not a file: a FIFO with no writer blocks open(2)
 * for good, and /dev/zero or /dev/urandom never end. Every reader of a
 * user's input file (run files and their !includes, .npy, safetensors,
 * TLS PEM files, the files of a run folder) opens through here. */
#ifndef LPZ_BASE_FILE_H
#define LPZ_BASE_FILE_H

#include <stdio.h>
#include <sys/stat.h>

/* Opens path for reading if it is a regular file (following symbolic
 * links). The open does not wait on a FIFO (O_NONBLOCK, cleared once the
 * file is known to be regular, so reads block as usual). Returns the
 * descriptor (close-on-exec) with *st filled; -1 with errno set when the
 * open or fstat failed; -2 when it is something else than a regular file,
 * *kind then naming it ("a folder", "a FIFO", "a character
 * device", ...) for messages such as "not a regular file (a FIFO)". */
int lpz_open_regular(const char *path, struct stat *st, const char **kind);

/* The same as a FILE opened "rb": NULL with *kind set (not a regular
 * file) or with errno set (the open, fstat or fdopen failed). */
FILE *lpz_fopen_regular(const char *path, struct stat *st, const char **kind);

/* Opens path for appending, created (0666 less the umask, as fopen) when
 * missing, if it is a regular file that is not a symbolic link: a FIFO (with or without a reader), a folder, a device or a
 * link is refused with *kind naming it
 * ("a symbolic link" for a link), so a run folder's file never blocks the
 * run nor writes through a link into another file. NULL with errno set
 * when the open failed otherwise. */
FILE *lpz_fopen_append_regular(const char *path, const char **kind);

/* What a file of this mode is, for messages ("a regular file", "a folder",
 * "a FIFO", "a character device", "a block device", "a socket", "an
 * unknown kind of file"). */
const char *lpz_file_kind(mode_t mode);

#endif
