/* core/io/png.h - PNG images of samples.
 *
 * Samples are float (C, H, W) in [-1, 1] (C = 1 grey or 3 RGB); values
 * outside are clamped. Files are written atomically.
 */
#ifndef LPZ_IO_PNG_H
#define LPZ_IO_PNG_H

#include <lpz/error.h>
#include <stdint.h>

/* Writes one image of channels x height x width floats. */
int lpz_png_write_image(const char *path, const float *chw, int channels, int height, int width, lpz_error *err);
/* The same without the per-file fsyncs (still written to a temporary name
 * and renamed): for many small files, made durable by one lpz_sync_folder. */
int lpz_png_write_image_nosync(const char *path, const float *chw, int channels, int height, int width,
                               lpz_error *err);

/* Writes n images (each C x H x W) as a grid with `columns` columns
 * (0: a near-square grid) and a 2-pixel border between tiles. */
int lpz_png_write_grid(const char *path, const float *images, int64_t n, int channels, int height, int width,
                       int columns, lpz_error *err);

/* Writes 8-bit pixels (rows of width * channels bytes). */
int lpz_png_write_u8(const char *path, const uint8_t *pixels, int channels, int height, int width, lpz_error *err);

/* The grid of lpz_png_write_grid as 8-bit pixels (*pixels: rows of
 * *grid_width * channels bytes; free it), with `border` black pixels around
 * and between tiles; for writers of other formats (jpeg.c). */
int lpz_image_grid_u8(const float *images, int64_t n, int channels, int height, int width, int columns, int border,
                      uint8_t **pixels, int *grid_height, int *grid_width, lpz_error *err);

#endif
