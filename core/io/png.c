/* core/io/png.c - PNG images and grids of samples through libpng.
 * Owns: float [-1, 1] -> 8-bit conversion and grid layout. Calls: libpng,
 * fsutil, lpz_error.
 *
 * libpng reports errors by longjmp; every libpng call happens between a
 * setjmp and the end of write_png(), and nothing allocated there is lost
 * on the jump (the pixel buffers belong to the callers). */
#include "io/png.h"

#include "io/fsutil.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* Larger images are refused: a grid of 64 CelebA samples is ~ 600 px. */
#define PNG_MAX_SIDE 65535

typedef struct png_err_ctx {
    jmp_buf jmp;
    char msg[256];
} png_err_ctx;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_err_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    longjmp(ctx->jmp, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings do not stop the write and the library never prints */
}

static int color_type(int channels)
{
    switch (channels) {
    case 1: return PNG_COLOR_TYPE_GRAY;
    case 2: return PNG_COLOR_TYPE_GRAY_ALPHA;
    case 3: return PNG_COLOR_TYPE_RGB;
    default: return PNG_COLOR_TYPE_RGB_ALPHA;
    }
}

/* Writes the already validated pixels into the open file; 0 or -1 with
 * the libpng message in ctx->msg. */
static int write_png(FILE *fp, const uint8_t *pixels, int channels, int height, int width, png_err_ctx *ctx)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_png_error, on_png_warning);
    if (!png) {
        snprintf(ctx->msg, sizeof ctx->msg, "cannot initialise libpng");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(ctx->msg, sizeof ctx->msg, "cannot initialise libpng");
        return -1;
    }
    if (setjmp(ctx->jmp)) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type(channels), PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++)
        png_write_row(png, (png_const_bytep)(pixels + (size_t)y * stride));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

static int check_dims(int channels, int height, int width, int max_channels, lpz_error *err)
{
    if (channels < 1 || channels > max_channels || (max_channels == 3 && channels == 2))
        return lpz_error_set(err, LPZ_EINVAL, "images have 1 (grey) or 3 (RGB) channels%s, not %d",
                             max_channels == 4 ? " (or 2, 4 with alpha)" : "", channels);
    if (height < 1 || width < 1 || height > PNG_MAX_SIDE || width > PNG_MAX_SIDE)
        return lpz_error_set(err, LPZ_EINVAL, "image size %d x %d is outside 1..%d", height, width, PNG_MAX_SIDE);
    return LPZ_OK;
}

static int write_u8(const char *path, const uint8_t *pixels, int channels, int height, int width, int sync,
                    lpz_error *err)
{
    int rc = check_dims(channels, height, width, 4, err);
    if (!rc && !pixels)
        rc = lpz_error_set(err, LPZ_EINVAL, "no pixels given");
    if (rc) {
        lpz_error_where(err, "%s", path ? path : "(null)");
        return rc;
    }
    lpz_atomic_file f;
    if ((rc = lpz_atomic_open(&f, path, err)))
        return rc;
    f.no_sync = !sync;
    png_err_ctx ctx;
    ctx.msg[0] = '\0';
    if (write_png(f.fp, pixels, channels, height, width, &ctx) != 0) {
        lpz_atomic_abort(&f);
        lpz_error_set(err, LPZ_EIO, "cannot write PNG: %s", ctx.msg);
        lpz_error_where(err, "%s", path);
        return LPZ_EIO;
    }
    return lpz_atomic_commit(&f, err);
}

/* [-1, 1] -> 0..255, rounding to nearest; NaN becomes 0. */
static uint8_t to_u8(float v)
{
    if (!(v > -1.0f))
        return 0;
    if (v >= 1.0f)
        return 255;
    return (uint8_t)lrintf((v + 1.0f) * 127.5f);
}

int lpz_image_grid_u8(const float *images, int64_t n, int channels, int height, int width, int columns, int border,
                      uint8_t **pixels, int *grid_height, int *grid_width, lpz_error *err)
{
    *pixels = NULL;
    *grid_height = *grid_width = 0;
    int rc = check_dims(channels, height, width, 3, err);
    if (!rc && (n < 1 || n > 1000000))
        rc = lpz_error_set(err, LPZ_EINVAL, "a grid holds 1 to 1000000 images, not %lld", (long long)n);
    if (!rc && columns < 0)
        rc = lpz_error_set(err, LPZ_EINVAL, "negative column count %d", columns);
    if (!rc && border < 0)
        rc = lpz_error_set(err, LPZ_EINVAL, "negative border %d", border);
    if (!rc && !images)
        rc = lpz_error_set(err, LPZ_EINVAL, "no images given");
    if (rc)
        return rc;
    int64_t cols = columns;
    if (cols == 0) { /* near-square: ceil(sqrt(n)) */
        cols = (int64_t)sqrt((double)n);
        while (cols * cols < n)
            cols++;
    }
    if (cols > n)
        cols = n;
    int64_t rows = (n + cols - 1) / cols;
    int64_t gw = cols * (width + border) + border;
    int64_t gh = rows * (height + border) + border;
    if (gw > PNG_MAX_SIDE || gh > PNG_MAX_SIDE)
        return lpz_error_set(err, LPZ_EINVAL, "grid of %lld x %lld pixels is too large (limit %d)", (long long)gh,
                             (long long)gw, PNG_MAX_SIDE);
    uint8_t *px = calloc((size_t)(gw * gh * channels), 1); /* border stays black */
    if (!px)
        return lpz_error_set(err, LPZ_ENOMEM, "out of memory for a %lld x %lld image", (long long)gh, (long long)gw);
    size_t plane = (size_t)height * (size_t)width;
    for (int64_t i = 0; i < n; i++) {
        const float *img = images + (size_t)i * plane * (size_t)channels;
        int64_t x0 = border + (i % cols) * (width + border), y0 = border + (i / cols) * (height + border);
        for (int y = 0; y < height; y++) {
            uint8_t *dst = px + ((size_t)(y0 + y) * (size_t)gw + (size_t)x0) * (size_t)channels;
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    dst[(size_t)x * (size_t)channels + (size_t)c] =
                        to_u8(img[(size_t)c * plane + (size_t)y * (size_t)width + (size_t)x]);
        }
    }
    *pixels = px;
    *grid_height = (int)gh;
    *grid_width = (int)gw;
    return LPZ_OK;
}

/* Lays n CHW images out in `columns` columns with `border` black pixels
 * around and between tiles, converts to 8 bits and writes the PNG. */
int lpz_png_write_u8(const char *path, const uint8_t *pixels, int channels, int height, int width, lpz_error *err)
{
    return write_u8(path, pixels, channels, height, width, 1, err);
}

static int write_tiles(const char *path, const float *images, int64_t n, int channels, int height, int width,
                       int columns, int border, int sync, lpz_error *err)
{
    uint8_t *px;
    int gh = 0, gw = 0;
    int rc = lpz_image_grid_u8(images, n, channels, height, width, columns, border, &px, &gh, &gw, err);
    if (rc) {
        lpz_error_where(err, "%s", path ? path : "(null)");
        return rc;
    }
    rc = write_u8(path, px, channels, gh, gw, sync, err);
    free(px);
    return rc;
}

int lpz_png_write_image(const char *path, const float *chw, int channels, int height, int width, lpz_error *err)
{
    return write_tiles(path, chw, 1, channels, height, width, 1, 0, 1, err);
}

int lpz_png_write_image_nosync(const char *path, const float *chw, int channels, int height, int width,
                               lpz_error *err)
{
    return write_tiles(path, chw, 1, channels, height, width, 1, 0, 0, err);
}

int lpz_png_write_grid(const char *path, const float *images, int64_t n, int channels, int height, int width,
                       int columns, lpz_error *err)
{
    /* A 2-pixel border around and between tiles, as torchvision's make_grid. */
    return write_tiles(path, images, n, channels, height, width, columns, 2, 1, err);
}
