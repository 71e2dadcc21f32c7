/* core/io/jpeg.h - JPEG images of samples (general.logging.image_format: jpg).
 *
 * As png.h: samples are float (C, H, W) in [-1, 1] (C = 1 grey or 3 RGB),
 * values outside are clamped, files are written atomically. Baseline JPEG,
 * no chroma subsampling, quality LPZ_JPEG_QUALITY unless given.
 */
#ifndef LPZ_IO_JPEG_H
#define LPZ_IO_JPEG_H

#include <lpz/error.h>
#include <stdint.h>

#define LPZ_JPEG_QUALITY 90

/* Writes n images (each C x H x W) as a grid with `columns` columns
 * (0: a near-square grid) and a 2-pixel border between tiles, the layout
 * of lpz_png_write_grid. */
int lpz_jpeg_write_grid(const char *path, const float *images, int64_t n, int channels, int height, int width,
                        int columns, lpz_error *err);

/* Writes 8-bit pixels (rows of width * channels bytes, 1 or 3 channels) at
 * `quality` 1..100. */
int lpz_jpeg_write_u8(const char *path, const uint8_t *pixels, int channels, int height, int width, int quality,
                      lpz_error *err);

#endif
