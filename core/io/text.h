/* core/io/text.h - small pieces of the text formats lpz reads and writes
 * (JSON sidecars and records, hex fields of checkpoints and headers). */
#ifndef LPZ_IO_TEXT_H
#define LPZ_IO_TEXT_H

#include <stdio.h>

/* Writes s as a JSON string: quoted, with '"' and '\\' escaped and control
 * bytes as \u00XX; other bytes (UTF-8 included) as they are. */
void lpz_json_put_string(FILE *fp, const char *s);

/* The value of one hex digit (0-9, a-f, A-F), -1 for any other byte. */
int lpz_hex_digit(int c);

#endif
